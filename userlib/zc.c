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

#include "zc.h"

#define ZC_EXPORT __attribute__((visibility("default")))

struct zc {
	int fd;			/* /dev/zcdev, or -1 in fallback mode */
	unsigned int flags;	/* zc_open() flags */
};

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
		zc->fd = open(path ? path : ZC_DEFAULT_DEVICE,
			      O_RDONLY | O_CLOEXEC | O_NOCTTY);
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

static ssize_t device_send(const struct zc *zc, int sock_fd, int file_fd,
			   uint64_t offset, uint64_t len, unsigned int flags,
			   struct zc_result *res)
{
	struct zcdev_sendfile arg;
	int ret;

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
	 * The out fields are valid on success, and on -EOPNOTSUPP from
	 * ZCDEV_SEND_STRICT (sent is 0, why says what would have copied).
	 */
	if (ret == 0 ||
	    (ret == -EOPNOTSUPP && (flags & ZCDEV_SEND_STRICT))) {
		res->path = arg.path;
		res->why = arg.why;
		res->sent = ret ? 0 : arg.sent;
		res->zc_bytes = ret ? 0 : arg.zc_bytes;
		res->copied_bytes = ret ? 0 : arg.copied_bytes;
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
	int64_t room;

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
	return (uint64_t)room < count ? room : (int64_t)count;
}

static ssize_t fallback_send(int sock_fd, int file_fd, uint64_t offset,
			     uint64_t len, unsigned int flags,
			     struct zc_result *res)
{
	struct sigpipe_guard guard;
	struct stat st;
	uint64_t count;
	off_t off;
	ssize_t n;
	int fl;

	if (flags & ~ZCDEV_SEND_FLAGS_ALL)
		return -EINVAL;
	if (offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	if (flags & ZCDEV_SEND_STRICT) {
		/* Without the module nothing can be promised. */
		res->why = ZC_WHY_NO_MODULE;
		return -EOPNOTSUPP;
	}
	/* The device takes only sockets; sendfile(2) would take files too. */
	if (fstat(sock_fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;

	count = len < ZCDEV_MAX_SEND ? len : ZCDEV_MAX_SEND;
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
	res->calls = 1;
	sigpipe_block(&guard);
	n = sendfile(sock_fd, file_fd, &off, count);
	if (n < 0)
		n = -errno;
	sigpipe_unblock(&guard, n == -EPIPE);
	if (n > 0) {
		res->sent = (uint64_t)n;
		res->unknown_bytes = (uint64_t)n;
		res->path = ZC_PATH_UNKNOWN;
		res->why = ZC_WHY_NO_MODULE;
	}
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

ssize_t ZC_EXPORT zc_sendfile_all(struct zc *zc, int sock_fd, int file_fd,
				  uint64_t offset, uint64_t len,
				  unsigned int flags, struct zc_result *res)
{
	struct zc_result acc, r;
	uint64_t total = 0;
	ssize_t n, ret = 0;

	memset(&acc, 0, sizeof(acc));
	if (!zc) {
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
		acc.sent += r.sent;
		acc.zc_bytes += r.zc_bytes;
		acc.copied_bytes += r.copied_bytes;
		acc.unknown_bytes += r.unknown_bytes;
		acc.why |= r.why;
		acc.calls += r.calls;
		if (r.path != ZCDEV_PATH_NONE) {
			if (acc.path == ZCDEV_PATH_NONE)
				acc.path = r.path;
			else if (acc.path != r.path)
				acc.path = derive_path(&acc);
		}
		if (n == -EINTR)
			continue;
		if (n < 0) {
			ret = n;
			break;
		}
		if (n == 0)	/* EOF */
			break;
		total += (uint64_t)n;
	}
	if (res)
		*res = acc;
	return ret < 0 ? ret : (ssize_t)total;
}
