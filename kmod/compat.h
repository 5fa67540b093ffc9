/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels zcdev builds against lives here, so
 * that the rest of the module reads like mainline.  Feature probes are
 * preferred to version numbers where a probe is reliable.
 *
 * Sending pages by reference:
 *  - up to 6.4 a socket takes page references through ->sendpage(), one page
 *    per call; MSG_SENDPAGE_NOTLAST tells it more pages follow.
 *  - from 6.5 ->sendpage() is gone; sendmsg() with MSG_SPLICE_PAGES takes
 *    references to the pages of a bio_vec iterator, many per call.
 *
 *  The probe is MSG_SENDPAGE_NOTLAST, which was removed together with
 *  ->sendpage().  MSG_SPLICE_PAGES itself is NOT a usable probe: Debian's 6.1
 *  defines it (a partial stable backport) while 6.1 TCP ignores it and
 *  silently copies.
 */
#ifndef _ZCDEV_COMPAT_H
#define _ZCDEV_COMPAT_H

#include <linux/build_bug.h>
#include <linux/bvec.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/net.h>
#include <linux/netdevice.h>
#include <linux/page-flags.h>
#include <linux/socket.h>
#include <linux/swiotlb.h>
#include <linux/uio.h>
#include <linux/zcdev.h>

/* route.c: the socket's protocol operations are TCP's own (no ULP, BPF) */
struct sock;
bool zc_sk_plain_tcp(struct sock *sk);

#ifdef MSG_SENDPAGE_NOTLAST
#include <net/sock.h>
#include <net/tcp.h>
#include <net/transp_v6.h>

/**
 * zc_sendpages() - send bio_vecs by page reference
 * @sock: socket to send to
 * @bv: pages to send; each entry lies within one page
 * @nr: number of entries in @bv
 * @len: total bytes in @bv
 * @flags: MSG_* flags for the whole batch (MSG_MORE: more follows it)
 *
 * Plain TCP (checked again under the lock): one lock_sock()/release_sock()
 * for the whole batch (incoming
 * ACKs wait in the backlog meanwhile, as they do during one tcp_sendmsg()),
 * instead of one per page.  Anything else: kernel_sendpage() per page.
 *
 * Return: bytes the socket accepted (may be short), or -errno if none.
 */
static inline int zc_sendpages(struct socket *sock, const struct bio_vec *bv,
			       unsigned int nr, size_t len, int flags)
{
	struct sock *sk = sock->sk;
	bool batch = zc_sk_plain_tcp(sk);
	int sent = 0;
	unsigned int i;

	if (batch) {
		sock_rps_record_flow(sk);
		lock_sock(sk);
		/* a ULP or sockmap may have come in before the lock */
		if (!zc_sk_plain_tcp(sk)) {
			release_sock(sk);
			batch = false;
		}
	}
	for (i = 0; i < nr; i++) {
		int pflags = flags;
		int ret;

		if (i + 1 < nr)
			pflags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
		else if (flags & MSG_MORE)
			pflags |= MSG_SENDPAGE_NOTLAST;
		/*
		 * tcp_sendpage_locked() may sleep for memory with the lock
		 * dropped, and a ULP or sockmap come in meanwhile: the pages
		 * after that go through the new send path.
		 */
		if (batch && i && !zc_sk_plain_tcp(sk)) {
			release_sock(sk);
			batch = false;
		}
		if (batch)
			ret = tcp_sendpage_locked(sk, bv[i].bv_page,
						  bv[i].bv_offset,
						  bv[i].bv_len, pflags);
		else
			ret = kernel_sendpage(sock, bv[i].bv_page,
					      bv[i].bv_offset, bv[i].bv_len,
					      pflags);
		if (ret < 0) {
			if (!sent)
				sent = ret;
			break;
		}
		sent += ret;
		if (ret < bv[i].bv_len)
			break;
	}
	if (batch)
		release_sock(sk);
	return sent;
}

/* kTLS TX takes the pages one sendpage call at a time here: no bound */
#define ZC_KTLS_BATCH	U64_MAX
#else
static inline int zc_sendpages(struct socket *sock, const struct bio_vec *bv,
			       unsigned int nr, size_t len, int flags)
{
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, nr, len);
	return sock_sendmsg(sock, &msg);
}

/*
 * Bytes per sendmsg() to a kTLS TX socket: what splice_to_socket() hands
 * it (16 pages).  kTLS encrypts a whole sendmsg() under the socket lock;
 * in 1 MiB batches zchttpd spent 1.12x nginx's CPU per 1 MiB HTTPS
 * response on 6.12 (icount), in 64 KiB batches 0.97x.
 */
#define ZC_KTLS_BATCH	SZ_64K
#endif

/*
 * Completion of a send whose pages the stack references (msg_ubuf):
 *  - from 6.10 a ubuf_info points to a const struct ubuf_info_ops;
 *  - before, it holds the completion callback itself.
 * The probe (Kbuild) looks for struct ubuf_info_ops in the kernel's
 * <linux/skbuff.h>; older kernels get the struct from here, so the module
 * declares its ops the mainline way.
 */
#include <linux/skbuff.h>

#ifdef ZC_HAVE_UBUF_INFO_OPS
static inline void zc_ubuf_set_ops(struct ubuf_info *uarg,
				   const struct ubuf_info_ops *ops)
{
	uarg->ops = ops;
}
#else
struct ubuf_info_ops {
	void (*complete)(struct sk_buff *skb, struct ubuf_info *uarg,
			 bool zerocopy_success);
};

static inline void zc_ubuf_set_ops(struct ubuf_info *uarg,
				   const struct ubuf_info_ops *ops)
{
	uarg->callback = ops->complete;
}
#endif

/*
 * Does the filesystem's ->splice_read() give what ->read_iter() gives?
 *  - up to 6.4 FUSE's splice_read was generic_file_splice_read(), which
 *    reads through ->read_iter() (so FOPEN_DIRECT_IO files go to the
 *    server, as read(2) does);
 *  - from 6.5 (generic_file_splice_read() is gone) it reads the page cache
 *    whatever the open flags: sendfile(2) on a FOPEN_DIRECT_IO file can
 *    return bytes read(2) does not (measured in zcdev_world).  The module
 *    cannot see FUSE's open flags, so FUSE files are read through
 *    ->read_iter() there.
 * The probe (Kbuild) is generic_file_splice_read() in <linux/fs.h>.
 */
static inline bool zc_splice_reads_as_read(const struct super_block *sb)
{
#ifdef ZC_HAVE_GENERIC_FILE_SPLICE_READ
	return true;
#else
	return sb->s_magic != FUSE_SUPER_MAGIC;
#endif
}

/*
 * PG_error went away in 6.12 (errors are !uptodate alone); before, a read
 * retried after an error clears it first, as filemap_read_folio() does.
 * The probe (Kbuild) is PG_error in <linux/page-flags.h>.
 */
#ifdef ZC_HAVE_PG_ERROR
static inline void zc_folio_clear_error(struct folio *folio)
{
	folio_clear_error(folio);
}
#else
static inline void zc_folio_clear_error(struct folio *folio)
{
}
#endif

/*
 * __assign_str() lost its source argument in 6.10 (it is taken from
 * __string()); Kbuild probes which one this kernel has (for the object
 * that defines the tracepoint).
 */
#ifdef ZC_ASSIGN_STR_ONE_ARG
#define zc_assign_str(dst, src)	do { __assign_str(dst); (void)(src); } while (0)
#else
#define zc_assign_str(dst, src)	__assign_str(dst, src)
#endif

/*
 * Whether @dev's streaming DMA goes through bounce buffers, asked the way
 * the DMA API itself decides it (dma_direct_map_page()): swiotlb forced
 * for the device, or a DMA mask that cannot reach all memory.  Both
 * helpers exist on every supported kernel (is_swiotlb_force_bounce() is an
 * inline with a !CONFIG_SWIOTLB stub; dma_addressing_limited() an inline
 * before 6.11 and exported since): no probe is needed.
 */
static inline bool zc_dma_bounces(struct device *dev)
{
	return is_swiotlb_force_bounce(dev) || dma_addressing_limited(dev);
}

/*
 * Whether @dev runs tc on ingress (a clsact or ingress qdisc, tcx
 * programs): from 6.6 the tcx_ingress entry (CONFIG_NET_XGRESS), before it
 * the ingress qdisc's miniq_ingress (CONFIG_NET_INGRESS).  The fields exist
 * exactly with their options.  Under rcu_read_lock().
 */
static inline bool zc_dev_tc_ingress(const struct net_device *dev)
{
#if defined(CONFIG_NET_XGRESS)
	return rcu_access_pointer(dev->tcx_ingress);
#elif defined(CONFIG_NET_INGRESS)
	return rcu_access_pointer(dev->miniq_ingress);
#else
	return false;
#endif
}

/*
 * Whether @dev runs tc on egress (a clsact qdisc, tcx programs): the test
 * sch_handle_egress() makes, on tcx_egress from 6.6 (CONFIG_NET_XGRESS),
 * before it on miniq_egress (CONFIG_NET_EGRESS; set while a filter is
 * attached).  Under rcu_read_lock().
 */
static inline bool zc_dev_tc_egress(const struct net_device *dev)
{
#if defined(CONFIG_NET_XGRESS)
	return rcu_access_pointer(dev->tcx_egress);
#elif defined(CONFIG_NET_EGRESS)
	return rcu_access_pointer(dev->miniq_egress);
#else
	return false;
#endif
}

/*
 * io_uring commands (uring.c; the facts behind this are in kmod/URING.md):
 *  - from 6.6 the driver interface lives in <linux/io_uring/cmd.h>; a
 *    command's driver-defined area is io_uring_sqe_cmd(cmd->sqe);
 *  - before, it is in <linux/io_uring.h>, and cmd->cmd points at it.
 *  Both kernels take io_uring_cmd_done(cmd, res, res2, issue_flags) (the
 *  issue_flags argument is mainline 6.3, backported to Debian's 6.1) and
 *  define IO_URING_F_NONBLOCK and IO_URING_F_IOWQ.
 *
 * When ->uring_cmd() returns -EAGAIN, io_uring copies the SQE and an io-wq
 * worker issues the command again.  6.1 points cmd->cmd at that copy.
 * 6.12 (Debian's 6.12.117 too) copies it but leaves cmd->sqe pointing at
 * the SQ ring entry, which user space may have reused by then (mainline
 * fixed it in 6.14, "io_uring/uring_cmd: switch sqe to async_data on
 * EAGAIN").  So there the command area is kept in cmd->pdu when -EAGAIN is
 * returned, with the SQE pointer it was read from: a worker's issue whose
 * cmd->sqe is still that pointer reads the kept copy.  A first issue from
 * a worker (IOSQE_ASYNC) has cmd->sqe pointing at io_uring's own copy,
 * never at a ring entry, so a stale pdu cannot match it; a kernel that
 * switches the pointer never matches and reads its own copy.
 * The probe (Kbuild) is io_uring_sqe_cmd() in <linux/io_uring/cmd.h>.
 */
#ifdef ZC_HAVE_IO_URING_CMD_H
#include <linux/io_uring/cmd.h>

struct zc_uring_pdu {
	const struct io_uring_sqe	*sqe;
	struct zcdev_uring_cmd		uc;
	/* uring.c: the pending send's wait, NULL when none */
	void				*wait;
};

static inline struct zc_uring_pdu *zc_uring_pdu(struct io_uring_cmd *cmd)
{
	BUILD_BUG_ON(sizeof(struct zc_uring_pdu) > sizeof(cmd->pdu));
	return (struct zc_uring_pdu *)cmd->pdu;
}

/* *@kept: the copy an earlier issue of this request checked and kept */
static inline const struct zcdev_uring_cmd *
zc_uring_cmd_area(struct io_uring_cmd *cmd, unsigned int issue_flags,
		  bool *kept)
{
	struct zc_uring_pdu *pdu = zc_uring_pdu(cmd);

	*kept = (issue_flags & IO_URING_F_IOWQ) && pdu->sqe == cmd->sqe;
	if (*kept)
		return &pdu->uc;
	return io_uring_sqe_cmd(cmd->sqe);
}

/* -EAGAIN is returned: keep what the worker's issue must read */
static inline void zc_uring_cmd_keep(struct io_uring_cmd *cmd,
				     const struct zcdev_uring_cmd *uc)
{
	struct zc_uring_pdu *pdu = zc_uring_pdu(cmd);

	pdu->uc = *uc;
	pdu->sqe = cmd->sqe;
}

/* the command completes: no later issue of this request may match */
static inline void zc_uring_cmd_forget(struct io_uring_cmd *cmd)
{
	zc_uring_pdu(cmd)->sqe = NULL;
}
#else
#include <linux/io_uring.h>

struct zc_uring_pdu {
	void				*wait;
};

static inline struct zc_uring_pdu *zc_uring_pdu(struct io_uring_cmd *cmd)
{
	BUILD_BUG_ON(sizeof(struct zc_uring_pdu) > sizeof(cmd->pdu));
	return (struct zc_uring_pdu *)cmd->pdu;
}

static inline const struct zcdev_uring_cmd *
zc_uring_cmd_area(struct io_uring_cmd *cmd, unsigned int issue_flags,
		  bool *kept)
{
	*kept = false;
	return cmd->cmd;
}

static inline void zc_uring_cmd_keep(struct io_uring_cmd *cmd,
				     const struct zcdev_uring_cmd *uc)
{
}

static inline void zc_uring_cmd_forget(struct io_uring_cmd *cmd)
{
}
#endif

/*
 * A command may stay pending on a full socket only where io_uring can
 * cancel it (ring teardown, process exit): io_uring_cmd_mark_cancelable()
 * and IO_URING_F_CANCEL, mainline 6.7, so 6.12 and not 6.1.  Without them
 * a send waiting on a socket whose peer never reads would keep the ring's
 * teardown and the task's exit waiting for ever; there a full socket
 * completes the command with -EAGAIN.  Task work of a task that is exiting
 * gets IO_URING_F_TASK_DEAD (6.12).  The probe (Kbuild) is
 * io_uring_cmd_mark_cancelable() in <linux/io_uring/cmd.h>.
 */
#ifdef ZC_HAVE_URING_CMD_CANCEL
#define ZC_URING_CAN_PEND	true
#else
#define ZC_URING_CAN_PEND	false
#define IO_URING_F_CANCEL	0
#define IO_URING_F_TASK_DEAD	0
static inline void io_uring_cmd_mark_cancelable(struct io_uring_cmd *cmd,
						unsigned int issue_flags)
{
}
#endif

#endif /* _ZCDEV_COMPAT_H */
