// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev send engine: file range -> socket, by page-cache reference where it
 * can be done, by copy where it cannot, and an exact account of which bytes
 * went which way.
 *
 * A call is a loop of batches.  A batch is up to ZC_BATCH_PAGES pages of
 * one kind, filled by the file's source (source.c): page-cache pages lent,
 * or pages filled for the occasion and so copied.  Each batch goes to the socket
 * in one sendmsg(MSG_SPLICE_PAGES), or, where ->sendpage() still exists, in
 * one sendpage per page.  The socket takes its own page references; the
 * batch's references are dropped as soon as the send returns.  A
 * nonblocking batch to plain TCP holds about what the send buffer can
 * take (zc_batch_room()), so a full socket costs a page lookup, not 256.
 *
 * Whether a batch is zero copy is decided when it is sent, from what really
 * copies bytes later on (route.c): the socket's send path, kTLS, the route
 * as the stack validates it and the devices that transmit; and from the
 * source: what kind of pages the batch holds.
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
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/dst.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "compat.h"
#include "engine.h"
#include "stats.h"
#include "zcdev.h"

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
		      GFP_KERNEL_ACCOUNT);
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
 * @sock_why: zc_sock_why() for this batch.  A ULP or sockmap attached
 * since the call began (another thread's setsockopt) shows there: such a
 * send path takes no msg_ubuf (kTLS refuses MSG_ZEROCOPY), so the batch
 * goes without it, and zc_account() marks the completion copied.
 */
static int zc_send_batch(struct zc_req *req, bool more, u32 sock_why)
{
	struct zc_batch *b = &req->b;
	int flags = req->msg_flags;
	struct msghdr msg = { };

	if (more || req->caller_more)
		flags |= MSG_MORE;
	if (req->notif && !req->notify_copy && req->sock_by_ref &&
	    !(sock_why & (ZCDEV_WHY_KTLS | ZCDEV_WHY_SOCKET))) {
		/* TCP: MSG_ZEROCOPY with our ubuf_info, like io_uring */
		flags |= MSG_ZEROCOPY;
		msg.msg_ubuf = zc_notif_ubuf(req->notif);
	} else if (req->sock_by_ref && !req->notif) {
		return zc_sendpages(req->sock, b->bv, b->nr_bv, b->len, flags);
	}
	/*
	 * Else copied: a NOTIFY send whose socket takes no msg_ubuf (kTLS
	 * attached mid-call) is not lent either, or a record kTLS leaves
	 * open would hold the file's pages past the completion.
	 */
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
 * Bytes worth reading for the next batch.  A nonblocking send to plain
 * TCP takes what fits in the send buffer, and at most one more segment
 * (tcp_sendmsg_locked() starts a new skb while sk_stream_memory_free()):
 * pages beyond that would be looked up and put back for nothing, and a
 * call on a full socket would look up a whole batch to get -EAGAIN.  TCP
 * still decides what it takes; this only sizes what is read for it.
 * kTLS TX gets batches of ZC_KTLS_BATCH bytes.
 */
#define ZC_ROOM_SLACK	SZ_64K

static u64 zc_batch_room(struct zc_req *req, u32 sock_why)
{
	struct sock *sk = req->sock->sk;
	int space;

	if (sock_why & ZCDEV_WHY_KTLS)
		return ZC_KTLS_BATCH;
	if (!(req->msg_flags & MSG_DONTWAIT) || !zc_sk_plain_tcp(sk))
		return U64_MAX;
	space = sk_stream_wspace(sk);
	if (space <= 0)
		return PAGE_SIZE;
	return (u64)space + ZC_ROOM_SLACK;
}

/* zc_src_fill() of at most @room bytes */
static int zc_fill_room(struct zc_req *req, struct zc_src *src, u64 room)
{
	loff_t end = src->end;
	int ret;

	if (room < (u64)(end - src->pos))
		src->end = src->pos + room;
	ret = zc_src_fill(req, src);
	src->end = end;
	return ret;
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
		struct sock *sk = req->sock->sk;
		const struct proto *prot;
		u32 why, sock_why;
		bool batch_more;
		size_t len;
		int n;

		if (req->sent && signal_pending(current))
			break;

		/* what is known before reading anything */
		prot = READ_ONCE(sk->sk_prot);
		sock_why = zc_sock_why(req);
		why = sock_why;
		if (src->kind == ZC_SRC_READ)
			why |= ZCDEV_WHY_NO_PAGECACHE;
		if (why && req->strict) {
			ret = zc_refuse(req, why);
			break;
		}

		ret = zc_fill_room(req, src, zc_batch_room(req, sock_why));
		if (ret == ZC_NOT_CACHED) {
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
		/*
		 * The fill may have slept (a read from disk): a ULP or sockmap
		 * that another thread attached meanwhile changed the send path.
		 */
		if (READ_ONCE(sk->sk_prot) != prot) {
			prot = READ_ONCE(sk->sk_prot);
			sock_why = zc_sock_why(req);
		}
		/* what the source gave: holes, pages it filled itself */
		if ((b->why | sock_why) && req->strict) {
			ret = zc_refuse(req, b->why | sock_why);
			break;
		}

		why = b->why | sock_why;
		batch_more = more || src->pos + len < src->end;
		/*
		 * MSG_MORE of our own only where stopping early can undo it:
		 * TCP's ->splice_eof() pushes its queue, kTLS's closes only an
		 * open record, so kTLS TX records handed to TCP with MSG_MORE
		 * stay corked there (6.1: a nonblocking call that met a full
		 * socket left them unsent and POLLOUT never came).
		 */
		if (sock_why & (ZCDEV_WHY_KTLS | ZCDEV_WHY_SOCKET))
			batch_more = false;
		n = zc_send_batch(req, batch_more, sock_why);
		zc_batch_release(b);
		if (n < 0) {
			ret = n;
			break;
		}
		/*
		 * Attached during the send: which path took the bytes is not
		 * known, so they are not reported as lent.
		 */
		if (READ_ONCE(sk->sk_prot) != prot)
			why |= zc_sock_why(req) ?: ZCDEV_WHY_SOCKET;
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

static int zc_check_file(struct file *file, u32 flags)
{
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	if (!S_ISREG(file_inode(file)->i_mode))
		return -EINVAL;
	/*
	 * Everything is read through ->read_iter(), ->splice_read() or the
	 * page cache they fill.  This also keeps out files whose pages must
	 * not be touched through the direct map (memfd_secret, guest_memfd).
	 */
	if (!file->f_op->read_iter || !(file->f_mode & FMODE_CAN_READ))
		return -EINVAL;
	if (!(file->f_mode & FMODE_PREAD))
		return -ESPIPE;
	/*
	 * CACHED_ONLY needs a page cache the module reads itself: direct
	 * I/O never reads from the cache, and another filesystem's read
	 * path cannot be asked not to wait for I/O.
	 */
	if ((flags & ZCDEV_SEND_CACHED_ONLY) &&
	    zc_src_kind(file) != ZC_SRC_CACHE)
		return -EINVAL;
	return 0;
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

/*
 * ZC_KF_NOWAIT_IO without ZCDEV_SEND_CACHED_ONLY: the module's own
 * cached-only stop is not the caller's.  Nothing sent: the call is retried
 * where waiting for the disk is allowed (the readahead it started is what
 * that call will wait for).  Something sent: a short send, as a
 * non-blocking socket gives.
 */
static int zc_nowait_io_result(struct zc_req *req, int ret,
			       bool own_cached_only)
{
	if (!(req->status & ZCDEV_STATUS_NOT_CACHED))
		return ret;
	if (own_cached_only) {
		req->status &= ~ZCDEV_STATUS_NOT_CACHED;
		return req->sent ? 0 : ZC_RETRY_BLOCKING;
	}
	/*
	 * The caller's CACHED_ONLY stopped at a page whose read only a
	 * worker may start: that issue starts it and gives the -EBUSY, so
	 * that a later call finds the page (nothing sent yet only).
	 */
	return !req->sent && req->read_deferred ? ZC_RETRY_BLOCKING : ret;
}

/**
 * zcdev_sendfile() - send a file range to a socket, by reference if possible
 * @ctx: the /dev/zcdev file's context (completions of NOTIFY sends)
 * @args: the caller's request; the out fields are filled in
 * @kflags: ZC_KF_* - how this call may wait (0 for the ioctl)
 *
 * Return: 0 if anything was sent or there was nothing to send; -EOPNOTSUPP
 * with @args->why set if %ZCDEV_SEND_STRICT refused to copy; -EBUSY with
 * @args->status set if %ZCDEV_SEND_CACHED_ONLY found nothing cached;
 * %ZC_RETRY_BLOCKING (only with %ZC_KF_NOWAIT_IO) if nothing was sent
 * because the file would have to be read from the disk; another -errno if
 * nothing was sent.
 */
int zcdev_sendfile(struct zcdev_ctx *ctx, struct zcdev_sendfile *args,
		   u32 kflags)
{
	bool own_cached_only = false;
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
	/* only the page cache the module reads itself can be read nowait */
	if ((kflags & ZC_KF_NOWAIT_IO) && zc_src_kind(file) != ZC_SRC_CACHE) {
		ret = ZC_RETRY_BLOCKING;
		goto out;
	}

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
	if (kflags & ZC_KF_DONTWAIT)
		req->msg_flags |= MSG_DONTWAIT;
	req->nowait_io = kflags & ZC_KF_NOWAIT_IO;
	if (req->nowait_io && !req->cached_only) {
		req->cached_only = true;
		own_cached_only = true;
	}

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
	ret = args->len ? zc_src_at_eof(&src) : 0;
	if (ret > 0) {
		req->status |= ZCDEV_STATUS_EOF;
		ret = 0;
	} else if (!ret) {
		ret = zc_send_range(req, &src, false);
	}
	zc_req_uncork(req);
	zc_src_accessed(&src, pos);
	args->notify_id = zc_req_notify_finish(req);

	if (req->nowait_io)
		ret = zc_nowait_io_result(req, ret, own_cached_only);
	if (ret != ZC_RETRY_BLOCKING)
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
	/* a call retried elsewhere is counted there */
	if (ret != ZC_RETRY_BLOCKING)
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
	u64 budget;
	int ret;

	sv->seg = seg;
	sv->last = -1;
	sv->files = kcalloc(nr, sizeof(*sv->files), GFP_KERNEL_ACCOUNT);
	if (!sv->files)
		return -ENOMEM;
	/* zc_segs_put() puts what is in files[] */
	sv->nr = nr;
	budget = ZCDEV_MAX_SEND;

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
			 * Mapped and readable now, as far as this call can
			 * send (another thread may still unmap it during the
			 * send: then the call stops there, like write(2)
			 * would).  The whole range must be a valid user
			 * range; only what the call's budget reaches is
			 * faulted in.
			 */
			if (!access_ok(u64_to_user_ptr(s->addr), count))
				return -EFAULT;
			count = min(count, budget);
			if (fault_in_readable(u64_to_user_ptr(s->addr), count))
				return -EFAULT;
			budget -= count;
			cond_resched();
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
			budget -= min(count, budget);
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

/*
 * STRICT refuses up front: ask each file segment's source now (after the
 * nowait check: a source read through its filesystem reads a page).
 */
static void zc_segs_probe(struct zc_segs *sv)
{
	unsigned int i;

	for (i = 0; i < sv->nr; i++) {
		const struct zcdev_seg *s = &sv->seg[i];

		if (sv->files[i] && s->len && s->offset < LLONG_MAX)
			sv->src_why |= zc_src_probe_why(sv->files[i],
							s->offset);
	}
}

/* every file segment's bytes are page cache the module reads itself */
static bool zc_segs_cache_only(const struct zc_segs *sv)
{
	unsigned int i;

	for (i = 0; i < sv->nr; i++)
		if (sv->files[i] && zc_src_kind(sv->files[i]) != ZC_SRC_CACHE)
			return false;
	return true;
}

/**
 * zcdev_sendv() - send a list of memory and file segments to a socket
 * @ctx: the /dev/zcdev file's context (completions of NOTIFY sends)
 * @args: the caller's request; the out fields are filled in
 * @segs: @args->nr_segs segments, already copied from user space
 * @kflags: ZC_KF_* - how this call may wait (0 for the ioctl)
 *
 * Return: as zcdev_sendfile(); @args->seg_index and @args->seg_sent say
 * where the call stopped.
 */
int zcdev_sendv(struct zcdev_ctx *ctx, struct zcdev_sendv *args,
		const struct zcdev_seg *segs, u32 kflags)
{
	bool own_cached_only = false;
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
	/* only the page cache the module reads itself can be read nowait */
	if ((kflags & ZC_KF_NOWAIT_IO) && !zc_segs_cache_only(&sv)) {
		ret = ZC_RETRY_BLOCKING;
		goto out_put_segs;
	}
	if (args->flags & ZCDEV_SEND_STRICT)
		zc_segs_probe(&sv);
	budget = min_t(u64, sv.asked, ZCDEV_MAX_SEND);

	req = zc_req_alloc(sv.cap);
	if (!req) {
		ret = -ENOMEM;
		goto out_put_segs;
	}
	ret = zc_req_setup(req, sock, args->flags);
	if (ret)
		goto out_free;
	if (kflags & ZC_KF_DONTWAIT)
		req->msg_flags |= MSG_DONTWAIT;
	req->nowait_io = kflags & ZC_KF_NOWAIT_IO;
	if (req->nowait_io && !req->cached_only) {
		req->cached_only = true;
		own_cached_only = true;
	}
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
			ret = zc_src_at_eof(&src);
			if (ret > 0) {
				req->status |= ZCDEV_STATUS_EOF;
				ret = 0;
			} else if (!ret) {
				ret = zc_send_range(req, &src, more);
			}
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
	if (req->nowait_io)
		ret = zc_nowait_io_result(req, ret, own_cached_only);
	if (ret != ZC_RETRY_BLOCKING)
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
	/* a call retried elsewhere is counted there */
	if (ret != ZC_RETRY_BLOCKING)
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
		why |= zc_src_probe_why(file, 0);
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
