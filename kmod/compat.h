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
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/uio.h>

#ifdef MSG_SENDPAGE_NOTLAST
/**
 * zc_sendpages() - send bio_vecs by page reference
 * @sock: socket to send to
 * @bv: pages to send; each entry lies within one page
 * @nr: number of entries in @bv
 * @len: total bytes in @bv
 * @flags: MSG_* flags for the whole batch (MSG_MORE: more follows it)
 *
 * Return: bytes the socket accepted (may be short), or -errno if none.
 */
static inline int zc_sendpages(struct socket *sock, const struct bio_vec *bv,
			       unsigned int nr, size_t len, int flags)
{
	int sent = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		int pflags = flags;
		int ret;

		if (i + 1 < nr)
			pflags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
		else if (flags & MSG_MORE)
			pflags |= MSG_SENDPAGE_NOTLAST;
		ret = kernel_sendpage(sock, bv[i].bv_page, bv[i].bv_offset,
				      bv[i].bv_len, pflags);
		if (ret < 0)
			return sent ? sent : ret;
		sent += ret;
		if (ret < bv[i].bv_len)
			break;
	}
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

#endif /* _ZCDEV_COMPAT_H */
