// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev's socket side: would bytes handed to this socket now be copied
 * later on, and why?
 *
 * TCP always advertises NETIF_F_SG in sk_route_caps; the copy happens in
 * validate_xmit_skb() on the device that transmits.  So the answer comes
 * from:
 *  - the socket's send path: plain TCP (tcp_prot/tcpv6_prot), kTLS over
 *    plain TCP (its TX mode), AF_UNIX.  Anything else (sockmap/BPF's
 *    tcp_bpf_prots, other ULPs, MPTCP, SCTP) is not known to keep page
 *    references: ZCDEV_WHY_SOCKET, and the bytes are copied;
 *  - the route, validated the way the stack validates it before a transmit
 *    (the dst's check with the socket's cookie; a missing or stale route is
 *    rebuilt with the socket's own ->rebuild_header() under the socket
 *    lock).  No valid route: ZCDEV_WHY_ROUTE;
 *  - the route's device and, for vlan and macvlan, each device below it:
 *    features (SG, checksum offload for the family).  Devices whose
 *    transmit the module cannot judge from features (tunnels, WireGuard,
 *    macsec, bond, bridge, team, anything else virtual): ZCDEV_WHY_DEVICE.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/if_macvlan.h>
#include <linux/if_vlan.h>
#include <linux/inetdevice.h>
#include <linux/netdevice.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <net/dst.h>
#include <net/addrconf.h>
#include <net/inet_connection_sock.h>
#include <net/ipv6.h>
#include <net/lwtunnel.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>
#include <net/transp_v6.h>
#include <xen/xen.h>

#include "compat.h"
#include "engine.h"

/* devices below a vlan/macvlan followed at most */
#define ZC_DEV_DEPTH	8

static bool zc_sock_is_tcp(const struct sock *sk)
{
	return (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_protocol == IPPROTO_TCP;
}

/* TCP's own protocol operations, not replaced by sockmap/BPF */
static bool zc_tcp_prot(const struct proto *prot)
{
	if (prot == &tcp_prot)
		return true;
#if IS_ENABLED(CONFIG_IPV6)
	if (prot == &tcpv6_prot)
		return true;
#endif
	return false;
}

/**
 * zc_sk_plain_tcp() - is @sk TCP with TCP's own protocol operations?
 * @sk: any socket (AF_UNIX too)
 *
 * The protocol is looked at first: only a socket whose sk_prot is TCP's
 * is an inet_connection_sock whose icsk_ulp_ops may be read (an AF_UNIX
 * sock is smaller than that field's offset).
 *
 * Return: false for other protocols, and when a ULP (kTLS) or
 * sockmap/BPF replaced TCP's operations.
 */
bool zc_sk_plain_tcp(struct sock *sk)
{
	return zc_tcp_prot(READ_ONCE(sk->sk_prot)) &&
	       !READ_ONCE(inet_csk(sk)->icsk_ulp_ops);
}

/*
 * kTLS over plain TCP.  Called with the socket locked or for a first look
 * (the answer is taken again under the lock for each batch).
 */
static bool zc_ulp_is_tls(struct sock *sk)
{
	const struct tcp_ulp_ops *ulp = READ_ONCE(inet_csk(sk)->icsk_ulp_ops);

	return ulp && !strcmp(ulp->name, "tls");
}

/*
 * Why would this TCP socket's send path copy?  ZCDEV_WHY_SOCKET when its
 * protocol operations are not known (sockmap/BPF, a ULP other than kTLS,
 * kTLS over such operations); ZCDEV_WHY_KTLS when kTLS TX encrypts into
 * new buffers.
 */
static u32 zc_tcp_path_why(struct sock *sk)
{
	struct tls_context *ctx;
	u32 why = 0;

	if (!READ_ONCE(inet_csk(sk)->icsk_ulp_ops))
		return zc_tcp_prot(READ_ONCE(sk->sk_prot)) ? 0 : ZCDEV_WHY_SOCKET;

	lock_sock(sk);
	ctx = zc_ulp_is_tls(sk) ? tls_get_ctx(sk) : NULL;
	if (!ctx || !zc_tcp_prot(ctx->sk_proto))
		why |= ZCDEV_WHY_SOCKET;
	if (ctx) {
		switch (ctx->tx_conf) {
		case TLS_BASE:
			break;
		case TLS_HW:
			/* the NIC encrypts from our pages only with this */
			if (!ctx->zerocopy_sendfile)
				why |= ZCDEV_WHY_KTLS;
			break;
		default:
			why |= ZCDEV_WHY_KTLS;
			break;
		}
	}
	release_sock(sk);
	return why;
}

/*
 * Devices judged by their features: loopback, veth and devices with a bus
 * parent (NICs).  Upper devices that only pass skbs down (vlan, macvlan)
 * are followed to their lower device.  Everything else may transform or
 * re-linearize the payload out of sight of its features.
 */
static bool zc_dev_is_veth(const struct net_device *dev)
{
	return dev->rtnl_link_ops && !strcmp(dev->rtnl_link_ops->kind, "veth");
}

/*
 * Is @daddr (the socket's peer address) one of @peer's namespace's own?
 * Then the peer's stack delivers the skb; else it would forward it.
 */
static bool zc_addr_local(const struct net_device *peer, const struct sock *sk,
			  int family)
{
	struct net *net = dev_net(peer);

#if IS_ENABLED(CONFIG_IPV6)
	if (family == AF_INET6)
		return ipv6_chk_addr(net, &sk->sk_v6_daddr, NULL, 0);
#endif
	/* (a v4-mapped IPv6 socket has its IPv4 peer here too) */
	return inet_addr_type(net, sk->sk_daddr) == RTN_LOCAL;
}

/* IP forwarding is on for @dev (its namespace's setting per device) */
static bool zc_dev_forwards(struct net_device *dev, int family)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (family == AF_INET6) {
		struct inet6_dev *idev = __in6_dev_get(dev);

		return idev && READ_ONCE(idev->cnf.forwarding);
	}
#endif
	{
		struct in_device *in_dev = __in_dev_get_rcu(dev);

		return in_dev && IN_DEV_FORWARD(in_dev);
	}
}

/*
 * What a receiving device runs on the skb before the stack delivers it:
 * an rx_handler (a bridge, bond, macvlan, ipvlan, team or openvswitch
 * port), an XDP program (generic XDP linearizes: a copy of every skb) or
 * tc on ingress (a program or action may pull or rewrite payload).  Under
 * rcu_read_lock().
 */
static bool zc_dev_rx_hooks(struct net_device *dev)
{
	return rcu_access_pointer(dev->rx_handler) || dev_xdp_prog_count(dev) ||
	       zc_dev_tc_ingress(dev);
}

/*
 * A veth hands the skb to its peer's receive path (veth_xmit() ->
 * __dev_forward_skb()): the bytes stay lent only as far as the peer's
 * stack delivers them itself.  What can take them on to a device the
 * module does not see, or copy them, gives ZCDEV_WHY_DEVICE: the peer's
 * receive hooks (zc_dev_rx_hooks()), or IP forwarding of an address that
 * is not the peer namespace's own (a container's veth into a routed
 * host).  Under rcu_read_lock().
 */
static u32 zc_veth_peer_why(struct net_device *dev, const struct sock *sk,
			    int family)
{
	struct net_device *peer = NULL;

	if (dev->netdev_ops->ndo_get_peer_dev)
		peer = dev->netdev_ops->ndo_get_peer_dev(dev);
	if (!peer)
		return ZCDEV_WHY_DEVICE;
	if (zc_dev_rx_hooks(peer))
		return ZCDEV_WHY_DEVICE;
	if (zc_dev_forwards(peer, family) && !zc_addr_local(peer, sk, family))
		return ZCDEV_WHY_DEVICE;
	return 0;
}

static bool zc_dev_known(const struct net_device *dev)
{
	if (dev->flags & IFF_LOOPBACK)
		return true;
	if (dev->priv_flags & (IFF_BONDING | IFF_EBRIDGE | IFF_TEAM |
			       IFF_MACSEC | IFF_OPENVSWITCH |
			       IFF_L3MDEV_MASTER))
		return false;
	if (dev->rtnl_link_ops)
		return zc_dev_is_veth(dev);
	return !!dev->dev.parent;
}

/*
 * The device whose streaming DMA mappings carry @ndev's transmit, for
 * zc_dma_bounces(); NULL if it maps none.  A NIC's bus parent, except:
 *  - a virtio device maps through the DMA API only when vring_use_dma_api()
 *    says so (virtio_has_dma_quirk(): no VIRTIO_F_ACCESS_PLATFORM, and not
 *    Xen): the host then reads guest memory itself and nothing bounces
 *    (confidential guests always negotiate the feature);
 *  - the device that maps is the first with a DMA mask: virtio_ring maps
 *    with the transport (vdev->dev.parent), an auxiliary device's driver
 *    with its PCI function.  A parent without a mask has only the 32-bit
 *    default, which said "bounce" on every virtio NIC of a guest with
 *    memory above 4 GiB.
 * (The virtio bus is matched by name: is_virtio_device() would make the
 * module depend on virtio.ko.)
 */
static struct device *zc_dma_dev(const struct net_device *ndev)
{
	struct device *dev = ndev->dev.parent;

	if (dev && dev->bus && dev->bus->name &&
	    !strcmp(dev->bus->name, "virtio") &&
	    virtio_has_dma_quirk(dev_to_virtio(dev)) && !xen_domain())
		return NULL;
	while (dev && !dev->dma_mask)
		dev = dev->parent;
	return dev;
}

/*
 * @exthdrs: IPv6 extension headers go out with the payload; a device whose
 * checksum offload is NETIF_F_IPV6_CSUM alone does not take those skbs,
 * the stack checksums (copies) them in software.
 */
static u32 zc_dev_why(struct net_device *dev, const struct sock *sk,
		      int family, bool exthdrs)
{
	netdev_features_t features, csum;
	unsigned int depth, tags = 0;
	struct device *dma;
	u32 why = 0;

	csum = NETIF_F_HW_CSUM;
	if (family == AF_INET6 && !exthdrs)
		csum |= NETIF_F_IPV6_CSUM;
	else if (family == AF_INET)
		csum |= NETIF_F_IP_CSUM;
	for (depth = 0; dev; depth++) {
		if (depth == ZC_DEV_DEPTH)
			return why | ZCDEV_WHY_DEVICE;
		features = READ_ONCE(dev->features);
		/*
		 * Below a vlan the skb is tagged: the device applies only
		 * its vlan_features (netif_skb_features()), and with two
		 * tags only HW_CSUM checksums (vlan_features_check()).
		 */
		if (tags)
			features = netdev_intersect_features(features,
							     READ_ONCE(dev->vlan_features));
		if (tags > 1)
			features &= ~(NETIF_F_IP_CSUM | NETIF_F_IPV6_CSUM);
		if (!(features & NETIF_F_SG))
			why |= ZCDEV_WHY_NO_SG;
		if (!(features & csum))
			why |= ZCDEV_WHY_NO_CSUM;
		/* its programs and actions may pull or rewrite payload */
		if (zc_dev_tc_egress(dev))
			why |= ZCDEV_WHY_DEVICE;
		if (is_vlan_dev(dev)) {
			tags++;
			dev = vlan_dev_real_dev(dev);
			continue;
		}
#if IS_ENABLED(CONFIG_MACVLAN)
		if (netif_is_macvlan(dev)) {
			dev = macvlan_dev_real_dev(dev);
			continue;
		}
#endif
		if (!zc_dev_known(dev))
			why |= ZCDEV_WHY_DEVICE;
		else if (zc_dev_is_veth(dev))
			why |= zc_veth_peer_why(dev, sk, family);
		else if ((dev->flags & IFF_LOOPBACK) && zc_dev_rx_hooks(dev))
			why |= ZCDEV_WHY_DEVICE;	/* lo receives its own skbs */
		dma = zc_dma_dev(dev);
		if (dma && zc_dma_bounces(dma))
			why |= ZCDEV_WHY_BOUNCE;
		break;
	}
	return why;
}

/*
 * The socket's cached route if the stack would still use it: the check
 * __sk_dst_check() makes (dst->ops->check() with the socket's cookie),
 * without resetting anything.  Under rcu_read_lock().
 */
static struct dst_entry *zc_dst_valid(struct sock *sk)
{
	struct dst_entry *dst = __sk_dst_get(sk);
	u32 cookie = 0;

	if (!dst)
		return NULL;
	if (!READ_ONCE(dst->obsolete))
		return dst;
#if IS_ENABLED(CONFIG_IPV6)
	if (dst->ops->family == AF_INET6)
		cookie = inet6_sk(sk)->dst_cookie;
#endif
	return dst->ops->check(dst, cookie);
}

/* IPv6 extension headers set on the socket (under rcu_read_lock()) */
static bool zc_ipv6_exthdrs(struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	const struct ipv6_txoptions *opt;

	if (sk->sk_family != AF_INET6)
		return false;
	opt = rcu_dereference(inet6_sk(sk)->opt);
	return opt && (opt->opt_flen || opt->opt_nflen);
#else
	return false;
#endif
}

/* Why would the route copy?  -EAGAIN: no valid route is cached. */
static int zc_route_judge(struct sock *sk, u32 *why)
{
	struct dst_entry *dst;
	int ret = 0;

	/*
	 * Only fields are read: RCU keeps the dst and its devices alive
	 * (dst_release() frees through call_rcu(), and the dst holds its
	 * device until then), so no reference is taken.
	 */
	rcu_read_lock();
	dst = zc_dst_valid(sk);
	if (!dst) {
		ret = -EAGAIN;
	} else {
		*why = 0;
		if (dst_xfrm(dst))
			*why |= ZCDEV_WHY_XFRM;
		/*
		 * A lightweight tunnel that takes over output or transmit
		 * (MPLS, seg6, BPF, ioam6...) encapsulates or routes again:
		 * the device's own features no longer say what happens.
		 */
		if (dst->lwtstate && (lwtunnel_output_redirect(dst->lwtstate) ||
				      lwtunnel_xmit_redirect(dst->lwtstate)))
			*why |= ZCDEV_WHY_DEVICE;
		if (dst->dev)
			*why |= zc_dev_why(dst->dev, sk, dst->ops->family,
					   zc_ipv6_exthdrs(sk));
		else
			*why |= ZCDEV_WHY_ROUTE;
	}
	rcu_read_unlock();
	return ret;
}

static u32 zc_route_why(struct sock *sk)
{
	u32 why;

	if (!zc_route_judge(sk, &why))
		return why;

	/*
	 * Reset (a socket option called sk_dst_reset()) or stale (the route
	 * changed): rebuild it as TCP's retransmit does, under the socket
	 * lock.  This is what the next transmit would do anyway.
	 */
	lock_sock(sk);
	if (sk->sk_state != TCP_LISTEN && sk->sk_state != TCP_CLOSE)
		inet_csk(sk)->icsk_af_ops->rebuild_header(sk);
	release_sock(sk);
	if (!zc_route_judge(sk, &why))
		return why;
	return ZCDEV_WHY_ROUTE;
}

/**
 * zc_sock_can_notify() - can the socket say when it drops page references?
 * @sock: the socket
 *
 * ZCDEV_SEND_NOTIFY goes through msg_ubuf: plain TCP can; a ULP (kTLS)
 * keeps or copies pages on its own, AF_UNIX queues them at the receiver.
 *
 * Return: true for plain TCP.
 */
bool zc_sock_can_notify(struct socket *sock)
{
	struct sock *sk = sock->sk;

	return zc_sock_is_tcp(sk) && !READ_ONCE(inet_csk(sk)->icsk_ulp_ops) &&
	       zc_tcp_prot(READ_ONCE(sk->sk_prot));
}

/**
 * zc_sock_why() - why bytes sent now on the request's socket would be copied
 * @req: the request
 *
 * Return: ZCDEV_WHY_* bits, 0 if they would not be copied.
 */
u32 zc_sock_why(struct zc_req *req)
{
	struct sock *sk = req->sock->sk;
	u32 why;

	if (!req->sock_by_ref)
		return ZCDEV_WHY_SOCKET;
	if (sk->sk_family == AF_UNIX)
		return req->notify_copy ? ZCDEV_WHY_NOTIFY : 0;
	/* sock_by_ref means TCP or AF_UNIX: no TCP fields of another kind */
	if (!zc_sock_is_tcp(sk))
		return ZCDEV_WHY_SOCKET;
	why = zc_tcp_path_why(sk) | zc_route_why(sk);
	if (req->notify_copy && !(why & ZCDEV_WHY_KTLS))
		why |= ZCDEV_WHY_NOTIFY;
	return why;
}

/**
 * zc_check_socket() - is @sock one the engine can send to?
 * @sock: the socket
 * @by_ref: set to whether the socket may be given page references
 *
 * Return: 0, -EINVAL (not a stream socket), -EBADF (not open for writing)
 * or -ENOTCONN.
 */
int zc_check_socket(struct socket *sock, bool *by_ref)
{
	struct sock *sk = sock->sk;

	if (!sk || sock->type != SOCK_STREAM)
		return -EINVAL;
	if (!(sock->file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (zc_sock_is_tcp(sk)) {
		int state = READ_ONCE(sk->sk_state);

		/* never connected: TCP itself would only say EPIPE */
		if (state == TCP_LISTEN ||
		    (state == TCP_CLOSE && !READ_ONCE(sk->sk_shutdown) &&
		     !READ_ONCE(sk->sk_err)))
			return -ENOTCONN;
		*by_ref = !(zc_tcp_path_why(sk) & ZCDEV_WHY_SOCKET);
	} else if (sk->sk_family == AF_UNIX) {
		/* AF_UNIX keeps TCP's state names: a stream is established */
		if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
			return -ENOTCONN;
		*by_ref = true;
	} else {
		*by_ref = false;
	}
	return 0;
}
