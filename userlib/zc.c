// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
/*
 * libzc: handles and sends.
 *
 * Every exported function saves errno on entry and restores it before
 * returning, so callers see errors only through the negative return value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* the fallback's off_t (sendfile(2), fstat) is 64 bits on 32-bit too */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <stddef.h>

#include "zc.h"

#define ZC_EXPORT __attribute__((visibility("default")))

/* struct zc_result never grows, and 1.0's fields never move. */
_Static_assert(sizeof(struct zc_result) == 80, "struct zc_result size");
_Static_assert(offsetof(struct zc_result, sent) == 0, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, zc_bytes) == 8, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, copied_bytes) == 16, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, unknown_bytes) == 24, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, path) == 32, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, why) == 36, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, calls) == 40, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, status) == 44, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, notify_id) == 48, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, seg_index) == 56, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, seg_sent) == 64, "zc_result ABI");
_Static_assert(offsetof(struct zc_result, resv) == 72, "zc_result ABI");
_Static_assert(sizeof(struct zc_probe_result) == 32, "zc_probe_result size");

/* What a module older than ZCDEV_IOC_PROBE knows (the 1.0 ABI). */
#define ZC_V0_SEND_FLAGS (ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE | \
			  ZCDEV_SEND_STRICT)
#define ZC_V0_WHY	((ZCDEV_WHY_HOLE << 1) - 1)
/* Send flags that only the module can honour: no emulation exists. */
#define ZC_MODULE_ONLY_FLAGS (ZCDEV_SEND_CACHED_ONLY | ZCDEV_SEND_NOTIFY)
/* What the sendfile(2) fallback can honour (STRICT always refuses). */
#define ZC_FALLBACK_SEND_FLAGS (ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE)

struct zc {
	int fd;			/* /dev/zcdev, or -1 in fallback mode */
	unsigned int flags;	/* zc_open() flags */
	/*
	 * What the module answered to ZCDEV_IOC_PROBE at open time; fixed
	 * for the handle's life (the open file pins the module).
	 */
	int probe_ok;		/* the module has PROBE, SENDV, VER1 sends */
	uint32_t send_flags;	/* ZCDEV_SEND_* the module honours */
	uint32_t why_known;	/* ZCDEV_WHY_* the module reports */
};

/* Ask the module once what it supports; an old one answers -ENOTTY. */
static void zc_probe_module(struct zc *zc)
{
	struct zcdev_probe p;

	memset(&p, 0, sizeof(p));
	p.sock_fd = -1;
	p.file_fd = -1;
	if (ioctl(zc->fd, ZCDEV_IOC_PROBE, &p) == 0) {
		zc->probe_ok = 1;
		zc->send_flags = p.send_flags;
		zc->why_known = p.why_known;
	} else {
		zc->probe_ok = 0;
		zc->send_flags = ZC_V0_SEND_FLAGS;
		zc->why_known = ZC_V0_WHY;
	}
}

int ZC_EXPORT zc_open(struct zc **zcp, const char *path, unsigned int flags)
{
	int saved_errno = errno;
	struct zc *zc;
	int ret = 0;

	if (!zcp)
		return -EINVAL;
	*zcp = NULL;
	if ((flags & ~ZC_OPEN_FLAGS_ALL) ||
	    (flags & ZC_OPEN_FLAGS_ALL) == ZC_OPEN_FLAGS_ALL)
		return -EINVAL;

	zc = calloc(1, sizeof(*zc));
	if (!zc) {
		ret = -ENOMEM;
		goto out;
	}
	zc->fd = -1;
	zc->flags = flags;

	if (!(flags & ZC_OPEN_FALLBACK)) {
		/*
		 * O_NONBLOCK: only read(2) of completions looks at it (the
		 * sends follow the socket's mode and ZCDEV_SEND_NONBLOCK), and
		 * zc_read_completions() must never block without being asked,
		 * whatever other threads read.
		 */
		zc->fd = open(path ? path : ZC_DEFAULT_DEVICE,
			      O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (zc->fd < 0) {
			int err = errno;

			/* The module is not loaded (or no node was made). */
			if ((err != ENOENT && err != ENODEV && err != ENXIO) ||
			    (flags & ZC_OPEN_NOFALLBACK)) {
				free(zc);
				ret = -err;
				goto out;
			}
			zc->fd = -1;
		}
	}
	if (zc->fd >= 0)
		zc_probe_module(zc);
	*zcp = zc;
out:
	errno = saved_errno;
	return ret;
}

int ZC_EXPORT zc_close(struct zc *zc)
{
	int saved_errno = errno;
	int ret = 0;

	if (!zc)
		return 0;
	/* Linux releases the descriptor even when close(2) says EINTR. */
	if (zc->fd >= 0 && close(zc->fd) < 0 && errno != EINTR)
		ret = -errno;
	free(zc);
	errno = saved_errno;
	return ret;
}

int ZC_EXPORT zc_fd(const struct zc *zc)
{
	if (!zc)
		return -EINVAL;
	return zc->fd >= 0 ? zc->fd : -ENODEV;
}

int ZC_EXPORT zc_is_fallback(const struct zc *zc)
{
	if (!zc)
		return -EINVAL;
	return zc->fd < 0;
}

/* The path of a sum of calls, from its byte counts. */
static uint32_t derive_path(const struct zc_result *r)
{
	if (!r->sent)
		return ZCDEV_PATH_NONE;
	if (r->unknown_bytes)
		return ZC_PATH_UNKNOWN;
	if (!r->copied_bytes)
		return ZCDEV_PATH_ZEROCOPY;
	if (!r->zc_bytes)
		return ZCDEV_PATH_COPY;
	return ZCDEV_PATH_MIXED;
}

/*
 * Add one call's report to a sum: counts added, reasons or'ed, the path
 * derived; status, notify_id and the segment position are the later
 * call's (they say where it stopped).
 */
static void result_add(struct zc_result *acc, const struct zc_result *r)
{
	acc->sent += r->sent;
	acc->zc_bytes += r->zc_bytes;
	acc->copied_bytes += r->copied_bytes;
	acc->unknown_bytes += r->unknown_bytes;
	acc->why |= r->why;
	acc->calls += r->calls;
	acc->status = r->status;
	acc->notify_id = r->notify_id;
	acc->seg_index = r->seg_index;
	acc->seg_sent = r->seg_sent;
	if (r->path != ZCDEV_PATH_NONE) {
		if (acc->path == ZCDEV_PATH_NONE)
			acc->path = r->path;
		else if (acc->path != r->path)
			acc->path = derive_path(acc);
	}
}

int ZC_EXPORT zc_result_add(struct zc_result *acc, const struct zc_result *r)
{
	if (!acc || !r)
		return -EINVAL;
	result_add(acc, r);
	return 0;
}

/* Whether the kernel wrote the out fields back with error @ret. */
static int report_on_error(int ret, unsigned int flags)
{
	return (ret == -EOPNOTSUPP && (flags & ZCDEV_SEND_STRICT)) ||
	       (ret == -EBUSY && (flags & ZCDEV_SEND_CACHED_ONLY));
}

/*
 * Flags the library knows but the module in use does not: they cannot be
 * emulated, so the send is refused with -EOPNOTSUPP rather than letting an
 * old module's -EINVAL look like a bad argument.  Bits libzc does not know
 * go to the kernel, which knows better.
 */
static int device_flags_ok(const struct zc *zc, unsigned int flags)
{
	return !(flags & ZCDEV_SEND_FLAGS_ALL & ~zc->send_flags);
}

static ssize_t device_send(const struct zc *zc, int sock_fd, int file_fd,
			   uint64_t offset, uint64_t len, unsigned int flags,
			   struct zc_result *res)
{
	struct zcdev_sendfile arg;
	int ret;

	if (!device_flags_ok(zc, flags))
		return -EOPNOTSUPP;

	/*
	 * Always the VER1 struct: a module older than VER1 takes it too (its
	 * extra bytes are the zeroed status, reserved1 and notify_id).
	 */
	memset(&arg, 0, sizeof(arg));
	arg.file_fd = file_fd;
	arg.sock_fd = sock_fd;
	arg.offset = offset;
	arg.len = len;
	arg.flags = flags;

	ret = ioctl(zc->fd, ZCDEV_IOC_SENDFILE, &arg);
	if (ret < 0)
		ret = -errno;
	res->calls = 1;
	/*
	 * The out fields are valid on success, on -EOPNOTSUPP from
	 * ZCDEV_SEND_STRICT (sent is 0, why says what would have copied)
	 * and on -EBUSY from ZCDEV_SEND_CACHED_ONLY (sent is 0, status says
	 * NOT_CACHED).
	 */
	if (ret == 0 || report_on_error(ret, flags)) {
		res->path = arg.path;
		res->why = arg.why;
		res->status = arg.status;
		res->sent = ret ? 0 : arg.sent;
		res->zc_bytes = ret ? 0 : arg.zc_bytes;
		res->copied_bytes = ret ? 0 : arg.copied_bytes;
		res->notify_id = ret ? 0 : arg.notify_id;
	}
	return ret ? ret : (ssize_t)arg.sent;
}

/*
 * sendfile(2) raises SIGPIPE on a socket whose peer is gone; the device
 * never does.  Keep the fallback's behaviour identical without touching the
 * process's signal disposition: block SIGPIPE in this thread around the call
 * and consume the one the call raised (unless one was already pending, in
 * which case ours merged with it and must stay).
 */
struct sigpipe_guard {
	sigset_t old;
	int active;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;

	g->active = 0;
	sigemptyset(&pending);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		return;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old) == 0)
		g->active = 1;
}

static void sigpipe_unblock(struct sigpipe_guard *g, int got_epipe)
{
	static const struct timespec zero;
	sigset_t pipe_set;

	if (!g->active)
		return;
	if (got_epipe) {
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/*
 * Bytes a TCP socket takes before its unsent bytes reach its
 * TCP_NOTSENT_LOWAT (the socket's, else net.ipv4.tcp_notsent_lowat), at
 * which tcp_sendmsg() waits for room however empty the send buffer is; -1
 * when no such limit applies (or not TCP).
 */
static int64_t tcp_notsent_room(int sock_fd)
{
	int lowat = 0, unsent = 0;
	socklen_t optlen = sizeof(lowat);
	int64_t limit;

	if (getsockopt(sock_fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
		       &optlen) < 0)
		return -1;
	limit = (unsigned int)lowat;
	if (!limit) {
		char buf[32] = "";
		int fd = open("/proc/sys/net/ipv4/tcp_notsent_lowat",
			      O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		limit = n > 0 ? strtoll(buf, NULL, 10) : 0;
		if (limit <= 0 || limit >= UINT_MAX)
			return -1;
	}
	if (ioctl(sock_fd, SIOCOUTQNSD, &unsent) < 0)
		return -1;
	return unsent < limit ? limit - unsent : 0;
}

/*
 * ZCDEV_SEND_NONBLOCK on a blocking socket, emulated: fail with -EAGAIN
 * unless the socket polls writable, and then send no more than half of the
 * free send-buffer space so that sendfile(2) does not wait for memory.
 * Returns the byte count to use, or -EAGAIN.
 */
static int64_t nonblock_budget(int sock_fd, uint64_t count)
{
	struct pollfd pfd = { .fd = sock_fd, .events = POLLOUT };
	int sndbuf = 0, outq = 0;
	socklen_t optlen = sizeof(sndbuf);
	int64_t room, lowat;

	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT))
		return pfd.revents & (POLLERR | POLLHUP) ? (int64_t)count :
							   -EAGAIN;
	if (getsockopt(sock_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen) < 0 ||
	    ioctl(sock_fd, SIOCOUTQ, &outq) < 0)
		room = 65536;
	else
		room = ((int64_t)sndbuf - outq) / 2;
	if (room < 4096)
		room = 4096;
	/* TCP also waits once its unsent bytes reach TCP_NOTSENT_LOWAT */
	lowat = tcp_notsent_room(sock_fd);
	if (lowat >= 0 && lowat < room)
		room = lowat ? lowat : 1;
	return (uint64_t)room < count ? room : (int64_t)count;
}

/*
 * 0 if @fd is a socket the device would send to, else its errno: -EBADF,
 * -ENOTSOCK, -EINVAL (not a stream socket), -ENOTCONN (listening, an
 * AF_UNIX stream that is not connected, a TCP socket that never sent a
 * segment).  A TCP connection that ended keeps sendfile(2)'s own error.
 */
static int check_socket(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	struct tcp_info ti;
	int type = 0, listening = 0;
	struct stat st;

	/* The device takes only sockets; sendfile(2) would take files too. */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	if (type != SOCK_STREAM)
		return -EINVAL;
	len = sizeof(listening);
	if (!getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) &&
	    listening)
		return -ENOTCONN;
	len = sizeof(ss);
	if (!getpeername(fd, (struct sockaddr *)&ss, &len) || errno != ENOTCONN)
		return 0;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_UNIX)
		return -ENOTCONN;
	/* TCP: never connected (the device's test), not reset or refused */
	len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if ((ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
	    !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	    len >= offsetof(struct tcp_info, tcpi_segs_in) && !ti.tcpi_segs_out)
		return -ENOTCONN;
	return 0;
}

/*
 * One sendfile(2) of at most @count bytes at @offset, with the device's
 * promises: no SIGPIPE, ZCDEV_SEND_NONBLOCK on a blocking socket.  Returns
 * the bytes sent or -errno.
 */
static ssize_t fallback_file(int sock_fd, int file_fd, uint64_t offset,
			     uint64_t count, unsigned int flags)
{
	struct sigpipe_guard guard;
	off_t off;
	ssize_t n;
	int fl;

	if (count && (flags & ZCDEV_SEND_NONBLOCK)) {
		fl = fcntl(sock_fd, F_GETFL);
		if (fl < 0)
			return -errno;
		if (!(fl & O_NONBLOCK)) {
			int64_t budget = nonblock_budget(sock_fd, count);

			if (budget < 0)
				return budget;
			count = (uint64_t)budget;
		}
	}
	/* ZCDEV_SEND_MORE is a hint; sendfile(2) has no way to pass it. */

	off = (off_t)offset;
	sigpipe_block(&guard);
	n = sendfile(sock_fd, file_fd, &off, count);
	if (n < 0)
		n = -errno;
	sigpipe_unblock(&guard, n == -EPIPE);
	return n;
}

/* Did the regular file @fd end before @want bytes at @offset were read? */
static int file_ended(int fd, uint64_t offset, uint64_t done, uint64_t want)
{
	struct stat st;

	if (done >= want || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return offset + done >= (uint64_t)st.st_size;
}

/*
 * In fallback mode nothing can be promised: ZCDEV_SEND_STRICT refuses, and
 * CACHED_ONLY and NOTIFY have no sendfile(2) equivalent.  All three fail
 * with -EOPNOTSUPP and why = ZC_WHY_NO_MODULE, like a strict refusal.
 */
#define ZC_FALLBACK_REFUSED (ZCDEV_SEND_STRICT | ZC_MODULE_ONLY_FLAGS)

static ssize_t fallback_send(int sock_fd, int file_fd, uint64_t offset,
			     uint64_t len, unsigned int flags,
			     struct zc_result *res)
{
	uint64_t count;
	ssize_t n;
	int ret;

	if (flags & ~ZCDEV_SEND_FLAGS_ALL)
		return -EINVAL;
	if (offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	if (flags & ZC_FALLBACK_REFUSED) {
		res->why = ZC_WHY_NO_MODULE;
		return -EOPNOTSUPP;
	}
	ret = check_socket(sock_fd);
	if (ret)
		return ret;

	count = len < ZCDEV_MAX_SEND ? len : ZCDEV_MAX_SEND;
	res->calls = 1;
	n = fallback_file(sock_fd, file_fd, offset, count, flags);
	if (n > 0) {
		res->sent = (uint64_t)n;
		res->unknown_bytes = (uint64_t)n;
		res->path = ZC_PATH_UNKNOWN;
		res->why = ZC_WHY_NO_MODULE;
	}
	if (n >= 0 && file_ended(file_fd, offset, (uint64_t)n, count))
		res->status = ZCDEV_STATUS_EOF;
	return n;
}

ssize_t ZC_EXPORT zc_sendfile(struct zc *zc, int sock_fd, int file_fd,
			      uint64_t offset, uint64_t len,
			      unsigned int flags, struct zc_result *res)
{
	int saved_errno = errno;
	struct zc_result local;
	ssize_t ret;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!zc)
		return -EINVAL;

	if (zc->fd >= 0)
		ret = device_send(zc, sock_fd, file_fd, offset, len, flags,
				  res);
	else
		ret = fallback_send(sock_fd, file_fd, offset, len, flags, res);
	errno = saved_errno;
	return ret;
}

ssize_t ZC_EXPORT zc_sendfile_all(struct zc *zc, int sock_fd, int file_fd,
				  uint64_t offset, uint64_t len,
				  unsigned int flags, struct zc_result *res)
{
	struct zc_result acc, r;
	uint64_t total = 0;
	ssize_t n, ret = 0;

	memset(&acc, 0, sizeof(acc));
	/* One id per kernel call: a loop would have several to return. */
	if (!zc || (flags & ZCDEV_SEND_NOTIFY)) {
		if (res)
			*res = acc;
		return -EINVAL;
	}
	/* The return value must fit: "to EOF" is any len >= the file size. */
	if (len > (uint64_t)SSIZE_MAX)
		len = SSIZE_MAX;

	while (total < len) {
		if (offset + total < offset) {	/* wrapped: let it fail */
			ret = -EINVAL;
			break;
		}
		n = zc_sendfile(zc, sock_fd, file_fd, offset + total,
				len - total, flags, &r);
		result_add(&acc, &r);
		if (n == -EINTR)
			continue;
		if (n == -EBUSY && (flags & ZCDEV_SEND_CACHED_ONLY) &&
		    (r.status & ZCDEV_STATUS_NOT_CACHED)) {
			/* not an error once something was sent */
			if (!total)
				ret = n;
			break;
		}
		if (n < 0) {
			ret = n;
			break;
		}
		total += (uint64_t)n;
		/* EOF, or CACHED_ONLY met an uncached page: stop here */
		if (n == 0 || (r.status & (ZCDEV_STATUS_EOF |
					   ZCDEV_STATUS_NOT_CACHED)))
			break;
	}
	if (res)
		*res = acc;
	return ret < 0 ? ret : (ssize_t)total;
}

/* ---- vectored sends -------------------------------------------------- */

static ssize_t device_sendv(const struct zc *zc, int sock_fd,
			    const struct zcdev_seg *segs, unsigned int nr_segs,
			    unsigned int flags, struct zc_result *res)
{
	struct zcdev_sendv arg;
	int ret;

	if (!device_flags_ok(zc, flags))
		return -EOPNOTSUPP;
	memset(&arg, 0, sizeof(arg));
	arg.segs = (uint64_t)(uintptr_t)segs;
	arg.nr_segs = nr_segs;
	arg.sock_fd = sock_fd;
	arg.flags = flags;

	ret = ioctl(zc->fd, ZCDEV_IOC_SENDV, &arg);
	if (ret < 0)
		ret = -errno;
	res->calls = 1;
	if (ret == 0 || report_on_error(ret, flags)) {
		res->path = arg.path;
		res->why = arg.why;
		res->status = arg.status;
		res->sent = ret ? 0 : arg.sent;
		res->zc_bytes = ret ? 0 : arg.zc_bytes;
		res->copied_bytes = ret ? 0 : arg.copied_bytes;
		res->notify_id = ret ? 0 : arg.notify_id;
		res->seg_index = arg.seg_index;
		res->seg_sent = ret ? 0 : arg.seg_sent;
	}
	return ret ? ret : (ssize_t)arg.sent;
}

/* Check a segment as ZCDEV_IOC_SENDV does, before anything is sent. */
static int check_seg(const struct zcdev_seg *s)
{
	struct stat st;
	int fl;

	switch (s->type) {
	case ZCDEV_SEG_MEM:
		if (s->file_fd || s->offset)
			return -EINVAL;
		if (s->len && !s->addr)
			return -EFAULT;
		return 0;
	case ZCDEV_SEG_FILE:
		if (s->addr || s->offset > (uint64_t)LLONG_MAX)
			return -EINVAL;
		fl = fcntl(s->file_fd, F_GETFL);
		if (fl < 0)
			return -errno;
		if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
			return -EBADF;
		if (fstat(s->file_fd, &st) < 0)
			return -errno;
		return S_ISREG(st.st_mode) ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/*
 * ZCDEV_IOC_SENDV emulated, for a module older than it (file segments
 * through ZCDEV_IOC_SENDFILE, reported by the module) or for no module
 * (file segments through sendfile(2), reported as unknown).  Memory
 * segments go through send(2) with MSG_MORE, and are reported as copied
 * (ZCDEV_WHY_MEMORY), as the module reports them.  The rules are the
 * kernel's: every segment checked first, at most ZCDEV_MAX_SEND bytes,
 * stop at the first short send, an error only when nothing was sent, and
 * the exact position in seg_index/seg_sent.
 */
static ssize_t emulated_sendv(const struct zc *zc, int sock_fd,
			      const struct zcdev_seg *segs,
			      unsigned int nr_segs, unsigned int flags,
			      struct zc_result *res)
{
	const int device = zc->fd >= 0;
	uint64_t budget = 0, done = 0;
	int last = -1, ret = 0, has_file = 0;
	unsigned int i;

	if (flags & ~ZCDEV_SEND_FLAGS_ALL)
		return -EINVAL;
	if (device && !device_flags_ok(zc, flags))
		return -EOPNOTSUPP;
	if (!device && (flags & ZC_MODULE_ONLY_FLAGS)) {
		res->why = ZC_WHY_NO_MODULE;
		return -EOPNOTSUPP;
	}
	ret = check_socket(sock_fd);
	if (ret)
		return ret;
	for (i = 0; i < nr_segs; i++) {
		ret = check_seg(&segs[i]);
		if (ret)
			return ret;
		if (segs[i].len) {
			last = (int)i;
			if (segs[i].type == ZCDEV_SEG_FILE)
				has_file = 1;
		}
		budget = budget + segs[i].len < budget ? UINT64_MAX :
			 budget + segs[i].len;
	}
	/* STRICT applies to file segments; memory is always copied. */
	if (!device && (flags & ZCDEV_SEND_STRICT) && has_file) {
		res->why = ZC_WHY_NO_MODULE;
		return -EOPNOTSUPP;
	}
	if (budget > ZCDEV_MAX_SEND)
		budget = ZCDEV_MAX_SEND;

	ret = 0;
	for (i = 0; i < nr_segs; i++) {
		const struct zcdev_seg *s = &segs[i];
		uint64_t want = s->len < budget ? s->len : budget;
		int more = ((int)i < last && want == s->len) ||
			   (flags & ZCDEV_SEND_MORE);
		struct zc_result r;
		ssize_t n;

		done = 0;
		if (!s->len)
			continue;
		if (!want)
			break;
		memset(&r, 0, sizeof(r));
		if (s->type == ZCDEV_SEG_MEM) {
			int mflags = MSG_NOSIGNAL | (more ? MSG_MORE : 0) |
				     ((flags & ZCDEV_SEND_NONBLOCK) ?
				      MSG_DONTWAIT : 0);

			n = send(sock_fd, (const void *)(uintptr_t)s->addr,
				 want, mflags);
			if (n < 0) {
				n = -errno;
			} else {
				r.sent = r.copied_bytes = (uint64_t)n;
				r.why = n ? ZCDEV_WHY_MEMORY : 0;
				r.path = n ? ZCDEV_PATH_COPY : ZCDEV_PATH_NONE;
			}
			r.calls = 1;
		} else if (device) {
			unsigned int f = (flags & ~ZCDEV_SEND_MORE) |
					 (more ? ZCDEV_SEND_MORE : 0);

			n = device_send(zc, sock_fd, s->file_fd, s->offset,
					want, f, &r);
		} else {
			n = fallback_file(sock_fd, s->file_fd, s->offset, want,
					  flags);
			r.calls = 1;
			if (n > 0) {
				r.sent = r.unknown_bytes = (uint64_t)n;
				r.path = ZC_PATH_UNKNOWN;
				r.why = ZC_WHY_NO_MODULE;
			}
		}
		if (n < 0) {
			res->calls += r.calls;
			/* a refusal says why, if it is what we return */
			if (!res->sent) {
				res->why |= r.why;
				res->status |= r.status;
			}
			ret = (int)n;
			break;
		}
		r.status = 0;
		result_add(res, &r);
		done = (uint64_t)n;
		budget -= done;
		if (s->type == ZCDEV_SEG_FILE &&
		    file_ended(s->file_fd, s->offset, done, want))
			res->status |= ZCDEV_STATUS_EOF;
		if (done < s->len)
			break;
	}
	res->notify_id = 0;
	if (ret < 0 && !res->sent) {
		/* as the kernel: no position with an error */
		res->seg_index = 0;
		res->seg_sent = 0;
		return ret;
	}
	res->seg_index = i;
	res->seg_sent = i < nr_segs ? done : 0;
	return (ssize_t)res->sent;
}

ssize_t ZC_EXPORT zc_sendv(struct zc *zc, int sock_fd,
			   const struct zcdev_seg *segs, unsigned int nr_segs,
			   unsigned int flags, struct zc_result *res)
{
	int saved_errno = errno;
	struct zc_result local;
	ssize_t ret;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!zc || !nr_segs || nr_segs > ZCDEV_SENDV_MAX_SEGS)
		return -EINVAL;
	if (!segs)
		return -EFAULT;

	if (zc->probe_ok)
		ret = device_sendv(zc, sock_fd, segs, nr_segs, flags, res);
	else
		ret = emulated_sendv(zc, sock_fd, segs, nr_segs, flags, res);
	errno = saved_errno;
	return ret;
}

/*
 * Send segments [i, nr) of @segs, the first one advanced by @skip bytes,
 * in one call.  A segment array is never copied: a partly sent segment is
 * sent alone (with ZCDEV_SEND_MORE when more follows), then the rest of the
 * caller's array from the next segment on.  *@window gets the number of
 * caller segments the call covered.
 */
static ssize_t sendv_from(struct zc *zc, int sock_fd,
			  const struct zcdev_seg *segs, unsigned int nr_segs,
			  unsigned int i, uint64_t skip, unsigned int last,
			  unsigned int flags, unsigned int *window,
			  struct zc_result *r)
{
	unsigned int w = nr_segs - i;

	if (skip) {
		struct zcdev_seg one = segs[i];

		if (one.type == ZCDEV_SEG_MEM)
			one.addr += skip;
		else
			one.offset += skip;
		one.len -= skip;
		*window = 1;
		if (i < last)
			flags |= ZCDEV_SEND_MORE;
		return zc_sendv(zc, sock_fd, &one, 1, flags, r);
	}
	if (w > ZCDEV_SENDV_MAX_SEGS)
		w = ZCDEV_SENDV_MAX_SEGS;
	*window = w;
	if (i + w - 1 < last)
		flags |= ZCDEV_SEND_MORE;
	return zc_sendv(zc, sock_fd, segs + i, w, flags, r);
}

ssize_t ZC_EXPORT zc_sendv_all(struct zc *zc, int sock_fd,
			       const struct zcdev_seg *segs,
			       unsigned int nr_segs, unsigned int flags,
			       struct zc_result *res)
{
	uint64_t total = 0, asked = 0, skip = 0;
	unsigned int i, window, last = 0;
	struct zc_result acc, r;
	ssize_t n, ret = 0;

	memset(&acc, 0, sizeof(acc));
	if (res)
		*res = acc;
	if (!zc || !nr_segs || (flags & ZCDEV_SEND_NOTIFY))
		return -EINVAL;
	if (!segs)
		return -EFAULT;
	/* The total must fit the return value, as for writev(2). */
	for (i = 0; i < nr_segs; i++) {
		if (segs[i].len > (uint64_t)SSIZE_MAX - asked)
			return -EINVAL;
		asked += segs[i].len;
		if (segs[i].len)
			last = i;
	}

	i = 0;
	while (i < nr_segs) {
		unsigned int at = i;

		n = sendv_from(zc, sock_fd, segs, nr_segs, i, skip, last,
			       flags, &window, &r);
		result_add(&acc, &r);
		if (n == -EINTR)
			continue;
		if (n == -EBUSY && (flags & ZCDEV_SEND_CACHED_ONLY) &&
		    (r.status & ZCDEV_STATUS_NOT_CACHED)) {
			if (!total)
				ret = n;
			break;
		}
		if (n < 0) {
			ret = n;
			break;
		}
		total += (uint64_t)n;
		/* where the call stopped, in the caller's array */
		if (r.seg_index >= window) {
			i += window;
			skip = 0;
		} else if (r.seg_index == 0) {
			skip += r.seg_sent;
		} else {
			i += r.seg_index;
			skip = r.seg_sent;
		}
		if (r.status & (ZCDEV_STATUS_EOF | ZCDEV_STATUS_NOT_CACHED))
			break;
		if (!n && i == at && r.seg_index < window)
			break;		/* no progress: never spin */
	}
	acc.seg_index = i;
	acc.seg_sent = i < nr_segs ? skip : 0;
	acc.notify_id = 0;
	if (res)
		*res = acc;
	return ret < 0 ? ret : (ssize_t)total;
}

/* ---- probe ----------------------------------------------------------- */

int ZC_EXPORT zc_probe(struct zc *zc, int sock_fd, int file_fd,
		       unsigned int flags, struct zc_probe_result *res)
{
	int saved_errno = errno;
	struct zcdev_probe p;
	int ret = 0;

	if (!zc || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));

	if (zc->probe_ok) {
		memset(&p, 0, sizeof(p));
		p.sock_fd = sock_fd;
		p.file_fd = file_fd;
		p.flags = flags;
		if (ioctl(zc->fd, ZCDEV_IOC_PROBE, &p) < 0) {
			ret = -errno;
		} else {
			res->path = p.path;
			res->why = p.why;
			res->send_flags = p.send_flags;
			res->why_known = p.why_known;
		}
		errno = saved_errno;
		return ret;
	}

	if (flags & ~ZCDEV_SEND_FLAGS_ALL)
		return -EINVAL;
	if (sock_fd == -1 && file_fd != -1)
		return -EINVAL;
	if (zc->fd >= 0) {
		/* a module older than ZCDEV_IOC_PROBE: sendv is emulated */
		res->send_flags = zc->send_flags;
		res->why_known = zc->why_known | ZCDEV_WHY_MEMORY;
		return sock_fd == -1 ? 0 : -EOPNOTSUPP;
	}

	/* fallback: sendfile(2), which says nothing */
	res->send_flags = ZC_FALLBACK_SEND_FLAGS;
	res->why_known = ZC_WHY_NO_MODULE | ZCDEV_WHY_MEMORY;
	res->why = ZC_WHY_NO_MODULE;
	if (sock_fd != -1) {
		struct zcdev_seg s;

		ret = check_socket(sock_fd);
		if (!ret && file_fd != -1) {
			zc_seg_file(&s, file_fd, 0, 0);
			ret = check_seg(&s);
		}
		if (ret) {
			memset(res, 0, sizeof(*res));
			errno = saved_errno;
			return ret;
		}
		res->path = ZC_PATH_UNKNOWN;
	}
	errno = saved_errno;
	return 0;
}

/* ---- completions ------------------------------------------------------ */

int ZC_EXPORT zc_read_completions(struct zc *zc, struct zcdev_completion *out,
				  unsigned int nr, unsigned int flags)
{
	int saved_errno = errno;
	const size_t rec = sizeof(*out);
	struct pollfd pfd;
	ssize_t n;
	int ret;

	if (!zc || !out || !nr || (flags & ~ZC_COMPL_FLAGS_ALL))
		return -EINVAL;
	if (zc->fd < 0 || !(zc->send_flags & ZCDEV_SEND_NOTIFY))
		return -EOPNOTSUPP;
	if (nr > INT_MAX / rec)
		nr = INT_MAX / rec;

	/* The descriptor is O_NONBLOCK: wait in poll(2), never in read(2). */
	for (;;) {
		n = read(zc->fd, out, nr * rec);
		if (n >= 0) {
			ret = (int)((size_t)n / rec);
			break;
		}
		ret = -errno;
		if (ret != -EAGAIN)
			break;
		if (!(flags & ZC_COMPL_WAIT)) {
			ret = 0;
			break;
		}
		pfd.fd = zc->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) < 0) {
			ret = -errno;
			break;
		}
	}
	errno = saved_errno;
	return ret;
}
