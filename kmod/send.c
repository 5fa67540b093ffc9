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
 *
 * A request (struct zc_req) is one ioctl: one socket, a report, a batch.
 * ZCDEV_IOC_SENDFILE sends one file range (struct zc_src) through it,
 * ZCDEV_IOC_SENDV a list of file ranges and user-memory segments.
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
#include "stats.h"
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

/* one ioctl: the socket side, the flags and the report */
struct zc_req {
	struct socket		*sock;
	int			msg_flags;
	bool			caller_more;
	bool			strict;
	bool			cached_only;
	/* the socket can hold page references */
	bool			sock_by_ref;
	/* NOTIFY on a socket that cannot report releases: send by copy */
	bool			notify_copy;
	/* the last send said MSG_MORE on the module's own account */
	bool			corked;
	struct zc_notif		*notif;
	/* the report */
	u64			sent;
	u64			zc_bytes;
	u64			copied_bytes;
	u32			why;
	u32			status;
	struct zc_batch		b;
};

/* one file range */
struct zc_src {
	struct file		*file;
	struct inode		*inode;
	struct address_space	*mapping;
	loff_t			pos;
	loff_t			end;
	/* the file's page cache can be lent */
	bool			lend;
	/* the file's page cache can be read in through ->read_folio() */
	bool			readable_cache;
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

/*
 * A request with batch arrays for @cap pages (0 for memory-only requests):
 * sized to what the call needs, since with init_on_alloc every byte of the
 * allocation is zeroed on every call.
 */
static struct zc_req *zc_req_alloc(unsigned int cap)
{
	struct zc_req *req;

	req = kzalloc(sizeof(*req) + cap * (sizeof(struct bio_vec) +
					    sizeof(struct folio *)),
		      GFP_KERNEL);
	if (!req)
		return NULL;
	req->b.cap = cap;
	req->b.bv = (struct bio_vec *)(req + 1);
	req->b.folios = (struct folio **)(req->b.bv + cap);
	return req;
}

/* pages a batch needs for @len bytes at @offset, at most ZC_BATCH_PAGES */
static unsigned int zc_batch_pages(u64 offset, u64 len)
{
	u64 nr = DIV_ROUND_UP_ULL(len + offset_in_page(offset), PAGE_SIZE);

	return clamp_t(u64, nr, 1, ZC_BATCH_PAGES);
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

	/*
	 * Only fields are read: RCU keeps the dst and its device alive
	 * (dst_release() frees through call_rcu(), and the dst holds the
	 * device until then), so no reference is taken - two atomic
	 * operations less per batch.
	 */
	rcu_read_lock();
	dst = __sk_dst_get(sk);
	if (dst) {
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
	}
	rcu_read_unlock();
	return why;
}

static bool zc_sock_is_tcp(const struct sock *sk)
{
	return (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_protocol == IPPROTO_TCP;
}

/*
 * Can the socket tell when it drops its page references (ZCDEV_SEND_NOTIFY
 * through msg_ubuf)?  Plain TCP can; a ULP (kTLS) keeps or copies pages
 * on its own, AF_UNIX queues them at the receiver.
 */
static bool zc_sock_can_notify(struct socket *sock)
{
	struct sock *sk = sock->sk;

	return zc_sock_is_tcp(sk) && !READ_ONCE(inet_csk(sk)->icsk_ulp_ops);
}

/* Why bytes sent now on @req's socket would be copied (0: they would not). */
static u32 zc_sock_why(struct zc_req *req)
{
	struct sock *sk = req->sock->sk;
	u32 why;

	if (!req->sock_by_ref)
		return ZCDEV_WHY_SOCKET;
	if (sk->sk_family == AF_UNIX)
		return req->notify_copy ? ZCDEV_WHY_NOTIFY : 0;
	why = zc_ktls_why(sk) | zc_route_why(sk);
	if (req->notify_copy && !(why & ZCDEV_WHY_KTLS))
		why |= ZCDEV_WHY_NOTIFY;
	return why;
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

/* Look the socket up and set the socket side of @req from @flags. */
static int zc_req_setup(struct zc_req *req, struct socket *sock, u32 flags)
{
	int ret;

	ret = zc_check_socket(sock, &req->sock_by_ref);
	if (ret)
		return ret;
	req->sock = sock;
	req->caller_more = flags & ZCDEV_SEND_MORE;
	req->strict = flags & ZCDEV_SEND_STRICT;
	req->cached_only = flags & ZCDEV_SEND_CACHED_ONLY;
	req->notify_copy = (flags & ZCDEV_SEND_NOTIFY) && req->sock_by_ref &&
			   !zc_sock_can_notify(sock);
	req->msg_flags = MSG_NOSIGNAL;
	if ((flags & ZCDEV_SEND_NONBLOCK) || (sock->file->f_flags & O_NONBLOCK))
		req->msg_flags |= MSG_DONTWAIT;
	return 0;
}

static int zc_req_notify(struct zc_req *req, struct zcdev_ctx *ctx, u32 flags)
{
	struct zc_notif *n;

	if (!(flags & ZCDEV_SEND_NOTIFY))
		return 0;
	n = zc_notif_alloc(ctx);
	if (IS_ERR(n))
		return PTR_ERR(n);
	req->notif = n;
	return 0;
}

/* The call is over: its notif completes once the stack lets go. */
static u64 zc_req_notify_finish(struct zc_req *req)
{
	if (!req->notif)
		return 0;
	return zc_notif_finish(req->notif, req->sent);
}

/*
 * Read up to one batch of the file at src->pos into pages the module owns:
 * the source for files whose page cache cannot be lent.  vfs_iter_read()
 * does the permission hook and fsnotify itself.
 */
static int zc_fill_copy(struct zc_req *req, struct zc_src *src, size_t max,
			u32 why)
{
	struct zc_batch *b = &req->b;
	struct iov_iter iter;
	unsigned int nr, i;
	size_t want;
	loff_t pos = src->pos;
	ssize_t ret;

	want = min_t(u64, max, src->end - src->pos);
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
	ret = vfs_iter_read(src->file, &iter, &pos, 0);
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

/* A folio with the readahead mark: start reading the next window. */
static void zc_async_readahead(struct zc_src *src, struct folio *folio,
			       pgoff_t last)
{
	DEFINE_READAHEAD(ractl, src->file, &src->file->f_ra, src->mapping,
			 folio->index);

	if (folio_test_readahead(folio))
		page_cache_async_ra(&ractl, folio, last - folio->index + 1);
}

/* A page that is not cached: start reading [@index, @last], don't wait. */
static void zc_start_readahead(struct zc_src *src, pgoff_t index,
			       pgoff_t last)
{
	DEFINE_READAHEAD(ractl, src->file, &src->file->f_ra, src->mapping,
			 index);

	page_cache_sync_ra(&ractl, last - index + 1);
}

/* Read the folio at @index in, waiting for I/O; returns it referenced. */
static struct folio *zc_read_folio(struct zc_src *src, pgoff_t index,
				   pgoff_t last)
{
	zc_start_readahead(src, index, last);
	return read_mapping_folio(src->mapping, index, src->file);
}

/* tmpfs: is the page at @index swapped out (rather than a hole)? */
static bool zc_swapped_out(struct zc_src *src, pgoff_t index)
{
	void *entry;

	rcu_read_lock();
	entry = xa_load(&src->mapping->i_pages, index);
	rcu_read_unlock();
	return xa_is_value(entry);
}

/*
 * Collect referenced, uptodate page-cache folios from src->pos on, at most
 * one batch.  Returns 0 (b->nr_folios may be 0 at EOF), -ENODATA when the
 * first page is not in the cache and cannot be read into it (a tmpfs hole),
 * -EWOULDBLOCK when it is not in the cache and the request is CACHED_ONLY,
 * or -errno.
 */
static int zc_get_folios(struct zc_req *req, struct zc_src *src, loff_t end)
{
	struct zc_batch *b = &req->b;
	pgoff_t index = src->pos >> PAGE_SHIFT;
	pgoff_t last = (end - 1) >> PAGE_SHIFT;
	struct folio_batch fbatch;
	struct folio *folio;
	unsigned int i, nr;
	bool miss;

	last = min_t(pgoff_t, last, index + b->cap - 1);
	folio_batch_init(&fbatch);

	while (index <= last && b->nr_folios < b->cap) {
		pgoff_t next = index;

		nr = filemap_get_folios_contig(src->mapping, &next, last,
					       &fbatch);
		miss = !nr;
		for (i = 0; i < nr; i++) {
			folio = fbatch.folios[i];
			if (!folio_test_uptodate(folio) ||
			    folio->mapping != src->mapping)
				miss = true;
			if (miss || b->nr_folios == b->cap) {
				folio_put(folio);
				continue;
			}
			zc_async_readahead(src, folio, last);
			b->folios[b->nr_folios++] = folio;
			index = folio->index + folio_nr_pages(folio);
		}
		folio_batch_init(&fbatch);
		if (!miss)
			continue;
		/* send what we have; the next batch starts at the miss */
		if (b->nr_folios)
			break;
		if (req->cached_only) {
			if (src->readable_cache) {
				zc_start_readahead(src, index, last);
				return -EWOULDBLOCK;
			}
			/* tmpfs: swap-in is disk I/O, a hole is not */
			if (zc_swapped_out(src, index))
				return -EWOULDBLOCK;
		}
		if (!src->readable_cache)
			return -ENODATA;

		folio = zc_read_folio(src, index, last);
		if (IS_ERR(folio))
			return PTR_ERR(folio);
		if (folio->mapping != src->mapping) {
			/* truncated under us: look again */
			folio_put(folio);
			if (fatal_signal_pending(current))
				return -EINTR;
			continue;
		}
		/* the window behind it starts now, as filemap_read() does */
		zc_async_readahead(src, folio, last);
		b->folios[b->nr_folios++] = folio;
		index = folio->index + folio_nr_pages(folio);
	}
	return 0;
}

/*
 * Fill req->b with page-cache pages from src->pos.  i_size is read after
 * the folios are uptodate, and nothing past it is sent: the tail of the
 * last page never leaves.
 */
static int zc_fill_cache(struct zc_req *req, struct zc_src *src)
{
	struct zc_batch *b = &req->b;
	loff_t end, pos = src->pos;
	unsigned int i;
	int ret;

	end = min_t(loff_t, src->end, i_size_read(src->inode));
	if (pos >= end)
		return 0;

	ret = zc_get_folios(req, src, end);
	if (ret)
		return ret;

	end = min_t(loff_t, src->end, i_size_read(src->inode));
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
	b->len = pos - src->pos;
	return 0;
}

static int zc_send_batch(struct zc_req *req, bool more)
{
	struct zc_batch *b = &req->b;
	int flags = req->msg_flags;
	struct msghdr msg = { };

	if (more || req->caller_more)
		flags |= MSG_MORE;
	if (req->notif && !req->notify_copy && req->sock_by_ref) {
		/* TCP: MSG_ZEROCOPY with our ubuf_info, like io_uring */
		flags |= MSG_ZEROCOPY;
		msg.msg_ubuf = zc_notif_ubuf(req->notif);
	} else if (req->sock_by_ref && !req->notify_copy) {
		return zc_sendpages(req->sock, b->bv, b->nr_bv, b->len, flags);
	}
	msg.msg_flags = flags;
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, b->bv, b->nr_bv, b->len);
	return sock_sendmsg(req->sock, &msg);
}

static void zc_account(struct zc_req *req, u32 why, size_t n)
{
	req->sent += n;
	if (why) {
		req->copied_bytes += n;
		req->why |= why;
		/* the completion speaks of the file's pages, not the caller's */
		if (req->notif && (why & ~ZCDEV_WHY_MEMORY))
			zc_notif_mark_copied(req->notif);
	} else {
		req->zc_bytes += n;
	}
	zcdev_stats_bytes(why, n);
}

/*
 * ZCDEV_SEND_STRICT and bytes that would be copied: the call stops here.
 * If nothing was sent yet it fails and @why says what would have copied;
 * otherwise it returns what it sent (why stays 0: nothing was copied) and
 * the next call reports the reason.
 */
static int zc_refuse(struct zc_req *req, u32 why)
{
	if (!req->sent)
		req->why = why;
	return -EOPNOTSUPP;
}

/*
 * Send the file range @src (src->pos advances by what was sent); @more:
 * more bytes of this call follow it.  Returns 0 or -errno; the range was
 * sent completely if src->pos reached src->end, else the call stops (EOF,
 * a short send, a signal, an uncached page) and req->status may say why.
 */
static int zc_send_range(struct zc_req *req, struct zc_src *src, bool more)
{
	struct zc_batch *b = &req->b;
	int ret = 0;

	while (src->pos < src->end) {
		u32 why, sock_why;
		bool batch_more;
		size_t len;
		int n;

		if (req->sent && signal_pending(current))
			break;

		/* what is known before reading anything */
		sock_why = zc_sock_why(req);
		why = sock_why | (src->lend ? 0 : ZCDEV_WHY_NO_PAGECACHE);
		if (why && req->strict) {
			ret = zc_refuse(req, why);
			break;
		}

		if (src->lend) {
			ret = zc_fill_cache(req, src);
			if (ret == -ENODATA) {
				/* a tmpfs hole: copy its zeros, a page at a time */
				if (req->strict) {
					ret = zc_refuse(req, ZCDEV_WHY_HOLE);
					break;
				}
				ret = zc_fill_copy(req, src,
						   PAGE_SIZE - offset_in_page(src->pos),
						   ZCDEV_WHY_HOLE);
			}
		} else {
			ret = zc_fill_copy(req, src, SIZE_MAX,
					   ZCDEV_WHY_NO_PAGECACHE);
		}
		if (ret == -EWOULDBLOCK) {
			req->status |= ZCDEV_STATUS_NOT_CACHED;
			ret = -EBUSY;
			break;
		}
		len = b->len;
		if (ret)
			break;
		if (!len) {
			req->status |= ZCDEV_STATUS_EOF;
			break;
		}

		why = b->why | sock_why;
		batch_more = more || src->pos + len < src->end;
		n = zc_send_batch(req, batch_more);
		zc_batch_release(b);
		if (n < 0) {
			ret = n;
			break;
		}
		req->corked = batch_more && !req->caller_more && n > 0;
		zc_account(req, why, n);
		src->pos += n;
		if (n < len)
			break;
		cond_resched();
	}
	zc_batch_release(b);
	return ret;
}

/* Send @len bytes of user memory at @addr (always copied). */
static int zc_send_mem(struct zc_req *req, u64 addr, u64 len, bool more,
		       u64 *done)
{
	struct msghdr msg = { };
	int n;

	msg.msg_flags = req->msg_flags;
	if (more || req->caller_more)
		msg.msg_flags |= MSG_MORE;
	iov_iter_ubuf(&msg.msg_iter, ITER_SOURCE, u64_to_user_ptr(addr), len);
	n = sock_sendmsg(req->sock, &msg);
	if (n < 0)
		return n;
	req->corked = more && !req->caller_more && n > 0;
	zc_account(req, ZCDEV_WHY_MEMORY, n);
	*done = n;
	return 0;
}

/* Stopped before the end after a send that promised more: push. */
static void zc_req_uncork(struct zc_req *req)
{
	if (req->corked && req->sock->ops->splice_eof)
		req->sock->ops->splice_eof(req->sock);
}

static u32 zc_req_path(const struct zc_req *req)
{
	if (!req->sent)
		return ZCDEV_PATH_NONE;
	if (!req->copied_bytes)
		return ZCDEV_PATH_ZEROCOPY;
	if (!req->zc_bytes)
		return ZCDEV_PATH_COPY;
	return ZCDEV_PATH_MIXED;
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

static int zc_check_file(struct file *file, u32 flags)
{
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	/* direct I/O never reads from the cache: it would never be sent */
	if ((flags & ZCDEV_SEND_CACHED_ONLY) && (file->f_flags & O_DIRECT))
		return -EINVAL;
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

static void zc_src_init(struct zc_src *src, struct file *file, loff_t pos,
			u64 count)
{
	src->file = file;
	src->inode = file_inode(file);
	src->mapping = file->f_mapping;
	src->pos = pos;
	src->end = pos + count;
	src->lend = zc_can_lend(file, src->inode);
	src->readable_cache = src->lend && src->mapping->a_ops->read_folio;
}

/* The range was read from the page cache: what read(2) would note. */
static void zc_src_accessed(struct zc_src *src, loff_t start)
{
	if (src->pos > start && src->lend) {
		fsnotify_access(src->file);
		file_accessed(src->file);
	}
}

/*
 * The call's result: an error only if nothing was sent, except that STRICT
 * refusals and CACHED_ONLY stops with nothing sent keep their errno with
 * the report filled in.
 */
static int zc_req_result(struct zc_req *req, int ret)
{
	if (req->sent)
		return 0;
	if (!ret && (req->status & ZCDEV_STATUS_NOT_CACHED))
		return -EBUSY;
	return ret;
}

/**
 * zcdev_sendfile() - send a file range to a socket, by reference if possible
 * @ctx: the /dev/zcdev file's context (completions of NOTIFY sends)
 * @args: the caller's request; the out fields are filled in
 *
 * Return: 0 if anything was sent or there was nothing to send; -EOPNOTSUPP
 * with @args->why set if %ZCDEV_SEND_STRICT refused to copy; -EBUSY with
 * @args->status set if %ZCDEV_SEND_CACHED_ONLY found nothing cached;
 * another -errno if nothing was sent.
 */
int zcdev_sendfile(struct zcdev_ctx *ctx, struct zcdev_sendfile *args)
{
	struct socket *sock = NULL;
	struct file *file = NULL;
	struct zc_req *req;
	struct zc_src src;
	loff_t pos;
	u64 count;
	int ret;

	args->path = ZCDEV_PATH_NONE;
	args->why = 0;
	args->status = 0;
	args->sent = 0;
	args->zc_bytes = 0;
	args->copied_bytes = 0;
	args->notify_id = 0;

	ret = -EINVAL;
	if (args->offset > LLONG_MAX)
		goto out;

	ret = -EBADF;
	file = fget(args->file_fd);
	if (!file)
		goto out;
	ret = zc_check_file(file, args->flags);
	if (ret)
		goto out;

	sock = sockfd_lookup(args->sock_fd, &ret);
	if (!sock)
		goto out;

	count = min_t(u64, args->len, ZCDEV_MAX_SEND);
	count = min_t(u64, count, LLONG_MAX - args->offset);
	req = zc_req_alloc(zc_batch_pages(args->offset, count));
	if (!req) {
		ret = -ENOMEM;
		goto out;
	}
	ret = zc_req_setup(req, sock, args->flags);
	if (ret)
		goto out_free;

	pos = args->offset;
	ret = rw_verify_area(READ, file, &pos, count);
	if (ret)
		goto out_free;
	ret = rw_verify_area(WRITE, sock->file, NULL, count);
	if (ret)
		goto out_free;

	ret = zc_req_notify(req, ctx, args->flags);
	if (ret)
		goto out_free;

	zc_src_init(&src, file, pos, count);
	/* (files read through ->read_iter() find their EOF by reading) */
	if (args->len && src.lend && pos >= i_size_read(src.inode))
		req->status |= ZCDEV_STATUS_EOF;
	else
		ret = zc_send_range(req, &src, false);
	zc_req_uncork(req);
	zc_src_accessed(&src, pos);
	args->notify_id = zc_req_notify_finish(req);

	ret = zc_req_result(req, ret);
	args->path = zc_req_path(req);
	args->why = req->why;
	args->status = req->status;
	args->sent = req->sent;
	args->zc_bytes = req->zc_bytes;
	args->copied_bytes = req->copied_bytes;
out_free:
	kfree(req);
out:
	zcdev_stats_sendfile(file, sock, args, ret);
	if (sock)
		sockfd_put(sock);
	if (file)
		fput(file);
	return ret;
}

/* the segments, checked, with a reference to each file */
struct zc_segs {
	const struct zcdev_seg	*seg;
	struct file		**files;
	unsigned int		nr;
	/* index of the last segment with bytes to send, -1 if none */
	int			last;
	/* bytes asked for, saturated at U64_MAX */
	u64			asked;
	/* pages the largest file segment needs in a batch, 0 if none */
	unsigned int		cap;
	/* ZCDEV_WHY_* that the file segments' sources add */
	u32			src_why;
};

static void zc_segs_put(struct zc_segs *sv)
{
	unsigned int i;

	for (i = 0; i < sv->nr; i++) {
		if (sv->files[i])
			fput(sv->files[i]);
	}
	kfree(sv->files);
}

/* Check every segment before anything is sent. */
static int zc_segs_get(struct zc_segs *sv, const struct zcdev_seg *seg,
		       unsigned int nr, u32 flags)
{
	unsigned int i;
	int ret;

	sv->seg = seg;
	sv->nr = nr;
	sv->last = -1;
	sv->files = kcalloc(nr, sizeof(*sv->files), GFP_KERNEL);
	if (!sv->files)
		return -ENOMEM;

	for (i = 0; i < nr; i++) {
		const struct zcdev_seg *s = &seg[i];
		u64 count = min_t(u64, s->len, ZCDEV_MAX_SEND);
		struct file *file;
		loff_t pos;

		switch (s->type) {
		case ZCDEV_SEG_MEM:
			if (s->file_fd || s->offset)
				return -EINVAL;
			/*
			 * Mapped and readable now (another thread may still
			 * unmap it during the send: then the call stops
			 * there, like write(2) would).
			 */
			if (!access_ok(u64_to_user_ptr(s->addr), count) ||
			    fault_in_readable(u64_to_user_ptr(s->addr), count))
				return -EFAULT;
			break;
		case ZCDEV_SEG_FILE:
			if (s->addr || s->offset > LLONG_MAX)
				return -EINVAL;
			file = fget(s->file_fd);
			if (!file)
				return -EBADF;
			sv->files[i] = file;
			ret = zc_check_file(file, flags);
			if (ret)
				return ret;
			count = min_t(u64, count, LLONG_MAX - s->offset);
			pos = s->offset;
			ret = rw_verify_area(READ, file, &pos, count);
			if (ret)
				return ret;
			if (count)
				sv->cap = max(sv->cap,
					      zc_batch_pages(s->offset, count));
			if (count && !zc_can_lend(file, file_inode(file)))
				sv->src_why |= ZCDEV_WHY_NO_PAGECACHE;
			break;
		default:
			return -EINVAL;
		}
		if (s->len)
			sv->last = i;
		if (check_add_overflow(sv->asked, s->len, &sv->asked))
			sv->asked = U64_MAX;
	}
	return 0;
}

/**
 * zcdev_sendv() - send a list of memory and file segments to a socket
 * @ctx: the /dev/zcdev file's context (completions of NOTIFY sends)
 * @args: the caller's request; the out fields are filled in
 * @segs: @args->nr_segs segments, already copied from user space
 *
 * Return: as zcdev_sendfile(); @args->seg_index and @args->seg_sent say
 * where the call stopped.
 */
int zcdev_sendv(struct zcdev_ctx *ctx, struct zcdev_sendv *args,
		const struct zcdev_seg *segs)
{
	struct zc_segs sv = { };
	struct socket *sock;
	struct zc_req *req;
	u64 budget, done = 0;
	unsigned int i;
	int ret;

	args->path = ZCDEV_PATH_NONE;
	args->why = 0;
	args->status = 0;
	args->sent = 0;
	args->zc_bytes = 0;
	args->copied_bytes = 0;
	args->seg_index = 0;
	args->seg_sent = 0;
	args->notify_id = 0;

	sock = sockfd_lookup(args->sock_fd, &ret);
	if (!sock)
		goto out;

	ret = zc_segs_get(&sv, segs, args->nr_segs, args->flags);
	if (ret)
		goto out_put_segs;
	budget = min_t(u64, sv.asked, ZCDEV_MAX_SEND);

	req = zc_req_alloc(sv.cap);
	if (!req) {
		ret = -ENOMEM;
		goto out_put_segs;
	}
	ret = zc_req_setup(req, sock, args->flags);
	if (ret)
		goto out_free;
	ret = rw_verify_area(WRITE, sock->file, NULL, budget);
	if (ret)
		goto out_free;

	/* STRICT: refuse before sending anything if a file segment would copy */
	if (req->strict && sv.cap) {
		u32 why = zc_sock_why(req) | sv.src_why;

		if (why) {
			ret = zc_refuse(req, why);
			goto out_report;
		}
	}

	ret = zc_req_notify(req, ctx, args->flags);
	if (ret)
		goto out_free;

	for (i = 0; i < sv.nr; i++) {
		const struct zcdev_seg *s = &segs[i];
		u64 want = min(s->len, budget);
		bool more = (int)i < sv.last && want == s->len;
		struct zc_src src;

		done = 0;
		if (!s->len)
			continue;
		if (!want || (req->sent && signal_pending(current)))
			break;

		if (s->type == ZCDEV_SEG_MEM) {
			ret = zc_send_mem(req, s->addr, want, more, &done);
		} else {
			want = min_t(u64, want, LLONG_MAX - s->offset);
			zc_src_init(&src, sv.files[i], s->offset, want);
			if (src.lend && src.pos >= i_size_read(src.inode))
				req->status |= ZCDEV_STATUS_EOF;
			else
				ret = zc_send_range(req, &src, more);
			done = src.pos - s->offset;
			zc_src_accessed(&src, s->offset);
		}
		budget -= done;
		if (ret || done < s->len)
			break;
	}
	args->seg_index = i;
	args->seg_sent = i < sv.nr ? done : 0;
	zc_req_uncork(req);
	args->notify_id = zc_req_notify_finish(req);
	ret = zc_req_result(req, ret);
out_report:
	args->path = zc_req_path(req);
	args->why = req->why;
	args->status = req->status;
	args->sent = req->sent;
	args->zc_bytes = req->zc_bytes;
	args->copied_bytes = req->copied_bytes;
out_free:
	kfree(req);
out_put_segs:
	zc_segs_put(&sv);
out:
	zcdev_stats_sendv(sock, args, sv.asked, ret);
	if (sock)
		sockfd_put(sock);
	return ret;
}

/**
 * zcdev_probe() - how would a send on this socket travel now?
 * @args: the caller's question; the out fields are filled in
 *
 * Return: 0, or -errno for a descriptor a send would refuse.
 */
int zcdev_probe(struct zcdev_probe *args)
{
	struct zc_req req = { };
	struct socket *sock = NULL;
	struct file *file = NULL;
	u32 why;
	int ret;

	args->path = ZCDEV_PATH_NONE;
	args->why = 0;
	args->send_flags = ZCDEV_SEND_FLAGS_ALL;
	args->why_known = ZCDEV_WHY_ALL;

	if (args->sock_fd == -1) {
		ret = args->file_fd == -1 ? 0 : -EINVAL;
		goto out;
	}

	sock = sockfd_lookup(args->sock_fd, &ret);
	if (!sock)
		goto out;
	ret = zc_req_setup(&req, sock, args->flags);
	if (ret)
		goto out;

	why = zc_sock_why(&req);
	if (args->file_fd != -1) {
		ret = -EBADF;
		file = fget(args->file_fd);
		if (!file)
			goto out;
		ret = zc_check_file(file, args->flags);
		if (ret)
			goto out;
		if (!zc_can_lend(file, file_inode(file)))
			why |= ZCDEV_WHY_NO_PAGECACHE;
	}
	args->why = why;
	args->path = why ? ZCDEV_PATH_COPY : ZCDEV_PATH_ZEROCOPY;
out:
	zcdev_stats_probe(ret);
	if (file)
		fput(file);
	if (sock)
		sockfd_put(sock);
	return ret;
}
