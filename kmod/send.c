// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev send engine: file range -> socket, by page-cache reference where it
 * can be done, by copy where it cannot, and an exact account of which bytes
 * went which way.
 *
 * A call is a loop of batches.  A batch is up to ZC_BATCH_PAGES pages of
 * one kind: page-cache folios looked up (and read in) in bulk, or pages the
 * module owns and filled by reading the file.  Each batch goes to the socket
 * in one sendmsg(MSG_SPLICE_PAGES), or, where ->sendpage() still exists, in
 * one sendpage per page.  The socket takes its own page references; the
 * batch's references are dropped as soon as the send returns.
 *
 * Whether a batch is zero copy is decided when it is sent, from what really
 * copies bytes later on: the egress device of the socket's cached route
 * (TCP always advertises NETIF_F_SG in sk_route_caps, and the copy then
 * happens in validate_xmit_skb()), kTLS, the socket type, and the source.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/netdevice.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/dst.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "compat.h"
#include "zcdev.h"

/* pages per batch: one socket call, one lookup round, one report unit */
#define ZC_BATCH_PAGES	256

struct zc_batch {
	/* both arrays have room for @cap entries (<= ZC_BATCH_PAGES) */
	struct bio_vec	*bv;
	/* page-cache folios whose references this batch holds */
	struct folio	**folios;
	unsigned int	cap;
	unsigned int	nr_bv;
	unsigned int	nr_folios;
	size_t		len;
	/* bv[] pages were allocated by the module (copy) */
	bool		owned;
	/* ZCDEV_WHY_* that the source adds (copy batches) */
	u32		why;
};

struct zc_call {
	struct file		*file;
	struct inode		*inode;
	struct address_space	*mapping;
	struct socket		*sock;
	loff_t			pos;
	loff_t			end;
	int			msg_flags;
	bool			caller_more;
	bool			strict;
	/* the file's page cache can be lent */
	bool			lend;
	/* the file's page cache can be read in through ->read_folio() */
	bool			readable_cache;
	/* the socket can hold page references */
	bool			sock_by_ref;
	struct zc_batch		b;
};

static void zc_batch_release(struct zc_batch *b)
{
	unsigned int i;

	if (b->owned) {
		for (i = 0; i < b->nr_bv; i++)
			__free_page(b->bv[i].bv_page);
	}
	for (i = 0; i < b->nr_folios; i++)
		folio_put(b->folios[i]);
	b->nr_bv = 0;
	b->nr_folios = 0;
	b->len = 0;
	b->owned = false;
	b->why = 0;
}

/* kTLS: does the TX side encrypt into new buffers? */
static u32 zc_ktls_why(struct sock *sk)
{
	const struct tcp_ulp_ops *ulp;
	struct tls_context *ctx;
	u32 why = 0;

	if (!READ_ONCE(inet_csk(sk)->icsk_ulp_ops))
		return 0;

	lock_sock(sk);
	ulp = inet_csk(sk)->icsk_ulp_ops;
	if (ulp && !strcmp(ulp->name, "tls")) {
		ctx = tls_get_ctx(sk);
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
	}
	release_sock(sk);
	return why;
}

/*
 * The egress device of the socket's cached route decides whether shared
 * fragments survive transmit: without SG they are linearized, without a
 * checksum offload for the protocol skb_checksum_help() copies them.  Upper
 * devices (vlan, bond, bridge) report their own features, not the NIC's.
 */
static u32 zc_route_why(struct sock *sk)
{
	netdev_features_t features, csum;
	struct dst_entry *dst;
	u32 why = 0;

	dst = sk_dst_get(sk);
	if (!dst)
		return 0;
	if (dst_xfrm(dst))
		why |= ZCDEV_WHY_XFRM;
	if (dst->dev) {
		features = READ_ONCE(dst->dev->features);
		csum = NETIF_F_HW_CSUM;
		csum |= dst->ops->family == AF_INET6 ? NETIF_F_IPV6_CSUM :
						       NETIF_F_IP_CSUM;
		if (!(features & NETIF_F_SG))
			why |= ZCDEV_WHY_NO_SG;
		if (!(features & csum))
			why |= ZCDEV_WHY_NO_CSUM;
	}
	dst_release(dst);
	return why;
}

static bool zc_sock_is_tcp(const struct sock *sk)
{
	return (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_protocol == IPPROTO_TCP;
}

/* Why bytes sent now on @c's socket would be copied (0: they would not). */
static u32 zc_sock_why(struct zc_call *c)
{
	struct sock *sk = c->sock->sk;

	if (!c->sock_by_ref)
		return ZCDEV_WHY_SOCKET;
	if (sk->sk_family == AF_UNIX)
		return 0;
	return zc_ktls_why(sk) | zc_route_why(sk);
}

static int zc_check_socket(struct socket *sock, bool *by_ref)
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
		*by_ref = true;
	} else {
		*by_ref = sk->sk_family == AF_UNIX;
	}
	return 0;
}

/*
 * Read up to one batch of the file at c->pos into pages the module owns:
 * the source for files whose page cache cannot be lent.  vfs_iter_read()
 * does the permission hook and fsnotify itself.
 */
static int zc_fill_copy(struct zc_call *c, size_t max, u32 why)
{
	struct zc_batch *b = &c->b;
	struct iov_iter iter;
	unsigned int nr, i;
	size_t want;
	loff_t pos = c->pos;
	ssize_t ret;

	want = min_t(u64, max, c->end - c->pos);
	want = min_t(size_t, want, (size_t)b->cap * PAGE_SIZE);
	nr = DIV_ROUND_UP(want, PAGE_SIZE);

	b->owned = true;
	b->why = why;
	for (i = 0; i < nr; i++) {
		struct page *page = alloc_page(GFP_KERNEL);

		if (!page)
			return -ENOMEM;
		bvec_set_page(&b->bv[i], page, PAGE_SIZE, 0);
		b->nr_bv++;
	}
	b->bv[nr - 1].bv_len = want - (size_t)(nr - 1) * PAGE_SIZE;

	iov_iter_bvec(&iter, ITER_DEST, b->bv, nr, want);
	ret = vfs_iter_read(c->file, &iter, &pos, 0);
	if (ret < 0)
		return ret;

	/* trim to what was read; free the pages that got nothing */
	b->len = ret;
	nr = DIV_ROUND_UP(ret, PAGE_SIZE);
	for (i = nr; i < b->nr_bv; i++)
		__free_page(b->bv[i].bv_page);
	b->nr_bv = nr;
	if (nr)
		b->bv[nr - 1].bv_len = ret - (size_t)(nr - 1) * PAGE_SIZE;
	return 0;
}

/* Read the folio at @index in, waiting for I/O; returns it referenced. */
static struct folio *zc_read_folio(struct zc_call *c, pgoff_t index,
				   pgoff_t last)
{
	DEFINE_READAHEAD(ractl, c->file, &c->file->f_ra, c->mapping, index);

	page_cache_sync_ra(&ractl, last - index + 1);
	return read_mapping_folio(c->mapping, index, c->file);
}

/*
 * Collect referenced, uptodate page-cache folios from c->pos on, at most one
 * batch.  Returns 0 (b->nr_folios may be 0 at EOF), -ENODATA when the first
 * page is not in the cache and cannot be read into it (a tmpfs hole), or
 * -errno.
 */
static int zc_get_folios(struct zc_call *c, loff_t end)
{
	struct zc_batch *b = &c->b;
	pgoff_t index = c->pos >> PAGE_SHIFT;
	pgoff_t last = (end - 1) >> PAGE_SHIFT;
	struct folio_batch fbatch;
	struct folio *folio;
	unsigned int i, nr;
	bool miss;

	last = min_t(pgoff_t, last, index + b->cap - 1);
	folio_batch_init(&fbatch);

	while (index <= last && b->nr_folios < b->cap) {
		pgoff_t next = index;

		nr = filemap_get_folios_contig(c->mapping, &next, last, &fbatch);
		miss = !nr;
		for (i = 0; i < nr; i++) {
			folio = fbatch.folios[i];
			if (!folio_test_uptodate(folio) ||
			    folio->mapping != c->mapping)
				miss = true;
			if (miss || b->nr_folios == b->cap) {
				folio_put(folio);
				continue;
			}
			if (folio_test_readahead(folio)) {
				DEFINE_READAHEAD(ractl, c->file, &c->file->f_ra,
						 c->mapping, folio->index);

				page_cache_async_ra(&ractl, folio,
						    last - folio->index + 1);
			}
			b->folios[b->nr_folios++] = folio;
			index = folio->index + folio_nr_pages(folio);
		}
		folio_batch_init(&fbatch);
		if (!miss)
			continue;
		/* send what we have; the next batch starts at the miss */
		if (b->nr_folios)
			break;
		if (!c->readable_cache)
			return -ENODATA;

		folio = zc_read_folio(c, index, last);
		if (IS_ERR(folio))
			return PTR_ERR(folio);
		if (folio->mapping != c->mapping) {
			/* truncated under us: look again */
			folio_put(folio);
			if (fatal_signal_pending(current))
				return -EINTR;
			continue;
		}
		b->folios[b->nr_folios++] = folio;
		index = folio->index + folio_nr_pages(folio);
	}
	return 0;
}

/*
 * Fill c->b with page-cache pages from c->pos.  i_size is read after the
 * folios are uptodate, and nothing past it is sent: the tail of the last
 * page never leaves.
 */
static int zc_fill_cache(struct zc_call *c)
{
	struct zc_batch *b = &c->b;
	loff_t end, pos = c->pos;
	unsigned int i;
	int ret;

	end = min_t(loff_t, c->end, i_size_read(c->inode));
	if (pos >= end)
		return 0;

	ret = zc_get_folios(c, end);
	if (ret)
		return ret;

	end = min_t(loff_t, c->end, i_size_read(c->inode));
	for (i = 0; i < b->nr_folios && pos < end; i++) {
		struct folio *folio = b->folios[i];
		loff_t fpos = folio_pos(folio);
		loff_t fend = fpos + folio_size(folio);

		if (pos < fpos || pos >= fend)
			break;
		while (pos < fend && pos < end && b->nr_bv < b->cap) {
			size_t off = offset_in_page(pos);
			size_t len = min_t(loff_t, PAGE_SIZE - off, end - pos);
			struct page *page;

			page = folio_page(folio, (pos - fpos) >> PAGE_SHIFT);
			bvec_set_page(&b->bv[b->nr_bv++], page, len, off);
			pos += len;
		}
	}
	b->len = pos - c->pos;
	return 0;
}

static int zc_send_batch(struct zc_call *c, bool more)
{
	struct zc_batch *b = &c->b;
	int flags = c->msg_flags;
	struct msghdr msg = { };

	if (more || c->caller_more)
		flags |= MSG_MORE;
	if (c->sock_by_ref)
		return zc_sendpages(c->sock, b->bv, b->nr_bv, b->len, flags);

	msg.msg_flags = flags;
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, b->bv, b->nr_bv, b->len);
	return sock_sendmsg(c->sock, &msg);
}

static void zc_account(struct zcdev_sendfile *args, u32 why, size_t n)
{
	args->sent += n;
	if (why) {
		args->copied_bytes += n;
		args->why |= why;
	} else {
		args->zc_bytes += n;
	}
}

/*
 * ZCDEV_SEND_STRICT and bytes that would be copied: the call stops here.
 * If nothing was sent yet it fails and @why says what would have copied;
 * otherwise it returns what it sent (why stays 0: nothing was copied) and
 * the next call reports the reason.
 */
static int zc_refuse(struct zcdev_sendfile *args, u32 why)
{
	if (!args->sent)
		args->why = why;
	return -EOPNOTSUPP;
}

static int zc_send_loop(struct zc_call *c, struct zcdev_sendfile *args)
{
	struct zc_batch *b = &c->b;
	bool corked = false;
	int ret = 0;

	while (c->pos < c->end) {
		u32 why, sock_why;
		size_t len;
		bool more;
		int n;

		if (args->sent && signal_pending(current))
			break;

		/* what is known before reading anything */
		sock_why = zc_sock_why(c);
		why = sock_why | (c->lend ? 0 : ZCDEV_WHY_NO_PAGECACHE);
		if (why && c->strict) {
			ret = zc_refuse(args, why);
			break;
		}

		if (c->lend) {
			ret = zc_fill_cache(c);
			if (ret == -ENODATA) {
				/* a tmpfs hole: copy its zeros, a page at a time */
				if (c->strict) {
					ret = zc_refuse(args, ZCDEV_WHY_HOLE);
					break;
				}
				ret = zc_fill_copy(c, PAGE_SIZE - offset_in_page(c->pos),
						   ZCDEV_WHY_HOLE);
			}
		} else {
			ret = zc_fill_copy(c, SIZE_MAX, ZCDEV_WHY_NO_PAGECACHE);
		}
		len = b->len;
		if (ret || !len)
			break;

		why = b->why | sock_why;
		more = c->pos + len < c->end;
		n = zc_send_batch(c, more);
		zc_batch_release(b);
		if (n < 0) {
			ret = n;
			break;
		}
		corked = more && !c->caller_more && n > 0;
		zc_account(args, why, n);
		c->pos += n;
		if (n < len)
			break;
		cond_resched();
	}
	zc_batch_release(b);

	/* stopped before the end after a send that promised more: push */
	if (corked && c->sock->ops->splice_eof)
		c->sock->ops->splice_eof(c->sock);

	return args->sent ? 0 : ret;
}

static bool zc_can_lend(struct file *file, struct inode *inode)
{
	if (IS_DAX(inode) || (file->f_flags & O_DIRECT))
		return false;
	/* tmpfs: pages are lent where present; holes are copied */
	if (inode->i_sb->s_magic == TMPFS_MAGIC)
		return true;
	return file->f_mapping->a_ops->read_folio;
}

static int zc_check_file(struct file *file)
{
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	if (!S_ISREG(file_inode(file)->i_mode))
		return -EINVAL;
	/*
	 * Everything is read through ->read_iter() or the page cache it
	 * fills.  This also keeps out files whose pages must not be touched
	 * through the direct map (memfd_secret, guest_memfd).
	 */
	if (!file->f_op->read_iter || !(file->f_mode & FMODE_CAN_READ))
		return -EINVAL;
	if (!(file->f_mode & FMODE_PREAD))
		return -ESPIPE;
	return 0;
}

/**
 * zcdev_sendfile() - send a file range to a socket, by reference if possible
 * @args: the caller's request; the out fields are filled in
 *
 * Return: 0 if anything was sent or there was nothing to send; -EOPNOTSUPP
 * with @args->why set if %ZCDEV_SEND_STRICT refused to copy; another -errno
 * if nothing was sent.
 */
int zcdev_sendfile(struct zcdev_sendfile *args)
{
	struct zc_call *c;
	struct file *file;
	struct socket *sock;
	loff_t pos;
	u64 count, nr_pages;
	int ret;

	args->path = ZCDEV_PATH_NONE;
	args->why = 0;
	args->sent = 0;
	args->zc_bytes = 0;
	args->copied_bytes = 0;

	if (args->offset > LLONG_MAX)
		return -EINVAL;

	file = fget(args->file_fd);
	if (!file)
		return -EBADF;
	ret = zc_check_file(file);
	if (ret)
		goto out_put_file;

	sock = sockfd_lookup(args->sock_fd, &ret);
	if (!sock)
		goto out_put_file;

	/*
	 * The batch arrays are sized to the request (a 4 KiB send needs one
	 * entry, not ZC_BATCH_PAGES): with init_on_alloc every byte of the
	 * allocation is zeroed on every call.
	 */
	count = min_t(u64, args->len, ZCDEV_MAX_SEND);
	count = min_t(u64, count, LLONG_MAX - args->offset);
	nr_pages = min_t(u64, ZC_BATCH_PAGES,
			 DIV_ROUND_UP(count + offset_in_page(args->offset), PAGE_SIZE));
	nr_pages = max_t(u64, nr_pages, 1);
	c = kzalloc(sizeof(*c) + nr_pages * (sizeof(struct bio_vec) +
					      sizeof(struct folio *)), GFP_KERNEL);
	if (!c) {
		ret = -ENOMEM;
		goto out_put_sock;
	}
	c->b.cap = nr_pages;
	c->b.bv = (struct bio_vec *)(c + 1);
	c->b.folios = (struct folio **)(c->b.bv + nr_pages);
	ret = zc_check_socket(sock, &c->sock_by_ref);
	if (ret)
		goto out_free;

	count = min_t(u64, args->len, ZCDEV_MAX_SEND);
	count = min_t(u64, count, LLONG_MAX - args->offset);
	pos = args->offset;
	ret = rw_verify_area(READ, file, &pos, count);
	if (ret)
		goto out_free;
	ret = rw_verify_area(WRITE, sock->file, NULL, count);
	if (ret)
		goto out_free;

	c->file = file;
	c->inode = file_inode(file);
	c->mapping = file->f_mapping;
	c->sock = sock;
	c->pos = pos;
	c->end = pos + count;
	c->caller_more = args->flags & ZCDEV_SEND_MORE;
	c->strict = args->flags & ZCDEV_SEND_STRICT;
	c->lend = zc_can_lend(file, c->inode);
	c->readable_cache = c->lend && c->mapping->a_ops->read_folio;
	c->msg_flags = MSG_NOSIGNAL;
	if ((args->flags & ZCDEV_SEND_NONBLOCK) ||
	    (sock->file->f_flags & O_NONBLOCK))
		c->msg_flags |= MSG_DONTWAIT;

	ret = zc_send_loop(c, args);

	if (args->sent) {
		if (c->lend) {
			fsnotify_access(file);
			file_accessed(file);
		}
		if (!args->copied_bytes)
			args->path = ZCDEV_PATH_ZEROCOPY;
		else if (!args->zc_bytes)
			args->path = ZCDEV_PATH_COPY;
		else
			args->path = ZCDEV_PATH_MIXED;
	}
out_free:
	kfree(c);
out_put_sock:
	sockfd_put(sock);
out_put_file:
	fput(file);
	return ret;
}
