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

#include <linux/bvec.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/net.h>
#include <linux/page-flags.h>
#include <linux/socket.h>
#include <linux/swiotlb.h>
#include <linux/uio.h>

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
#else
static inline int zc_sendpages(struct socket *sock, const struct bio_vec *bv,
			       unsigned int nr, size_t len, int flags)
{
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, nr, len);
	return sock_sendmsg(sock, &msg);
}
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

#endif /* _ZCDEV_COMPAT_H */
