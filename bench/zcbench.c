// SPDX-License-Identifier: GPL-2.0
/*
 * zcbench: zcdev against what users would pick instead, side by side.
 *
 * Runs inside the QEMU test guests (vm/init's environment, see
 * selftests/README.md).  Every method sends the same warm page-cache file
 * range over the same TCP connection to a receiver thread that discards
 * with recv(MSG_TRUNC):
 *
 *   rw        pread 2 x 32 KiB, then writev 64 KiB (nginx "sendfile off;
 *             output_buffers 2 32k")
 *   sendfile  sendfile(2)
 *   splice    splice(2) file -> pipe -> socket (one pipe per connection)
 *   msgzc     mmap(MAP_POPULATE) + send(MSG_ZEROCOPY), completions read
 *             from the error queue (once per transfer, all at the end)
 *   zcdev     ZCDEV_IOC_SENDFILE on /dev/zcdev
 *   libzc     zc_sendfile_all() of libzc (linked statically)
 *
 * Cells: file system (tmpfs, ext4, and an overlayfs on the ext4 whose
 * file stays in the lower layer) x network x connections x transfer size.  In a cell
 * every repetition runs each method once, in turn (A B C ... A B C ...);
 * a measurement is "iters" back-to-back transfers of the range [0, size)
 * on each of "conns" connections at once, timed until the receivers have
 * every byte.  Figures per method: throughput, sender CPU time (user+sys of
 * the sending threads) per byte and per transfer, measured with
 * CLOCK_THREAD_CPUTIME_ID: getrusage(RUSAGE_THREAD) gives the same total but
 * tick-sampled and scaled by cputime_adjust(), which never lets a value go
 * backwards, so over a few milliseconds its delta can be 0 or a multiple of
 * the truth; it is kept for the user/system split (usr_pct) and the context
 * switch counts,
 * syscalls per transfer (counted in the method code), voluntary and
 * involuntary context switches per transfer, the path report (zcdev,
 * libzc; msgzc: completions the kernel reported as copied), and ratios
 * against sendfile(2) and the rw loop from the same repetition (paired:
 * the methods of one repetition ran seconds apart).
 *
 * Output on stdout: CSV lines starting with "zcb," (a header line first),
 * and a human table per cell, then a goals summary.  See BENCHMARKS.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/zcdev.h>
#include "zc.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif

#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

#define MAX_CONNS	16
#define MAX_SIZES	16
#define MAX_REPS	64
#define PORT_BASE	7600

/* ---- methods ------------------------------------------------------------ */

enum method {
	M_RW, M_SENDFILE, M_SPLICE, M_MSGZC, M_ZCDEV, M_LIBZC,
	/* --suite hdr: one HTTP-like response (header + file body) per transfer */
	M_CORK, M_HMORE, M_ZCMORE, M_SENDV, M_LIBZCV,
	M_ZCDEVX, M_NR
};

/*
 * zcdevx is not one of the six: it is an experimental build of the module
 * loaded next to zcdev as /dev/zcdevx (bench/exp.sh), for A/B comparisons
 * of engine changes in one guest run.  Only used when asked for by name.
 */
static const char *const method_name[M_NR] = {
	"rw", "sendfile", "splice", "msgzc", "zcdev", "libzc",
	"cork", "more", "zcmore", "sendv", "libzcv", "zcdevx",
};

/*
 * The response methods (--suite hdr).  Each sends a header from memory,
 * the file range, and optionally a trailer from memory:
 *   cork    setsockopt(TCP_CORK, 1), writev(header), sendfile(body),
 *           [write(trailer)], setsockopt(TCP_CORK, 0) (nginx tcp_nopush)
 *   more    send(header, MSG_MORE), sendfile(body), [send(trailer)]
 *   zcmore  send(header, MSG_MORE), ZCDEV_IOC_SENDFILE(body) (with
 *           ZCDEV_SEND_MORE when a trailer follows), [send(trailer)]
 *   sendv   ZCDEV_IOC_SENDV: [memory header, file body, memory trailer]
 *   libzcv  the same segments with libzc's zc_sendv_all()
 */
static bool is_hdr_method(int m)
{
	return m >= M_CORK && m <= M_LIBZCV;
}

/* ---- file systems and networks ---------------------------------------- */

struct fsdef {
	const char *name;
	const char *dir;
	int fd;
	void *map;		/* msgzc: the whole file, MAP_POPULATE */
	bool overlay;		/* dir is an overlay mount made by make_file() */
};

/*
 * overlay: an overlayfs mounted on OVL_DIR by zcbench itself, after the
 * file is in its lower directory (so it is never copied up): lower
 * OVL_LOWER on the ext4, upper and work directories on the tmpfs.  The
 * lower file is a hard link to the ext4 cell's file when that cell runs
 * too (same inode, same page cache: memory for full mode's 1 GiB files),
 * else a file of its own.  Every method reads it through the overlay.
 */
#define OVL_DIR		"/mnt/overlay"
#define OVL_LOWER	"/mnt/ext4/zcbench-ovl-lower"
#define OVL_UPPER	"/mnt/tmpfs/zcbench-ovl/upper"
#define OVL_WORK	"/mnt/tmpfs/zcbench-ovl/work"
#define OVERLAYFS_MAGIC	0x794c7630

static struct fsdef fss[] = {
	{ "tmpfs", "/mnt/tmpfs", -1, NULL, false },
	{ "ext4", "/mnt/ext4", -1, NULL, false },
	{ "overlay", OVL_DIR, -1, NULL, true },
};
#define NR_FS (sizeof(fss) / sizeof(fss[0]))

struct netdef {
	const char *name;
	const char *netns;	/* receiver's namespace; NULL: root */
	const char *addr;
};

static const struct netdef nets[] = {
	{ "lo", NULL, "127.0.0.1" },
	{ "veth", "/run/netns/veth", "198.51.100.2" },
	{ "nosg", "/run/netns/nosg", "203.0.113.2" },
	/*
	 * --suite nic: two emulated e1000e NICs of the guest back to back on a
	 * QEMU hub, B in netns nic1 (vm/run-guest.sh NICS=1, vm/init
	 * setup.nics; bench/guest.sh checks that hub 1 is the e1000e pair)
	 */
	{ "e1000e", "/run/netns/nic1", "10.77.1.2" },
};
#define NR_NET (sizeof(nets) / sizeof(nets[0]))

/* ---- options ------------------------------------------------------------- */

static struct {
	uint64_t sizes[MAX_SIZES];
	int nr_sizes;
	bool fs_on[NR_FS];
	bool net_on[NR_NET];
	int conns[4];
	int nr_conns;
	bool m_on[M_NR];
	int reps;
	uint64_t target;	/* bytes per measurement per connection (min) */
	uint64_t max_iters;
	uint64_t max_bytes;	/* skip cells whose size x conns exceeds it */
	int pipe_size;
	bool csv, table;
	bool no_warmup;
	int vs;			/* the table's second ratio column (default rw) */
	int base;		/* the ratios' reference (default sendfile) */
	bool hdr;		/* --suite hdr */
	bool nic;		/* --suite nic: the file methods over a NIC pair */
	size_t hdr_len, trl_len;	/* --suite hdr: header and trailer bytes */
	const char *tag;	/* CSV line prefix: zcb (file suite), zch (hdr), zcn (nic) */
	char kernel[64];
	const char *mode;
} opt;

/* ---- small helpers -------------------------------------------------------- */

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "zcbench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= KiB; break;
	case 'm': case 'M': v *= MiB; break;
	case 'g': case 'G': v *= GiB; break;
	case '\0': break;
	default: die("bad size '%s'", s);
	}
	if (v < 1)
		die("bad size '%s'", s);
	return (uint64_t)v;
}

static const char *size_str(uint64_t v, char *buf, size_t n)
{
	if (v >= GiB && v % GiB == 0)
		snprintf(buf, n, "%" PRIu64 "G", v / GiB);
	else if (v >= MiB && v % MiB == 0)
		snprintf(buf, n, "%" PRIu64 "M", v / MiB);
	else if (v >= KiB && v % KiB == 0)
		snprintf(buf, n, "%" PRIu64 "K", v / KiB);
	else
		snprintf(buf, n, "%" PRIu64, v);
	return buf;
}

/* ---- receivers ------------------------------------------------------------ */

struct conn {
	int idx;
	const struct netdef *net;
	int port;
	/* receiver */
	pthread_t rthread;
	int lfd;
	int ready;		/* 1 listening, -1 failed */
	char err[160];
	_Atomic uint64_t got;
	uint64_t want;		/* under lock */
	double done_at;		/* when got reached want */
	/* sender */
	pthread_t sthread;
	int sfd;
	int pipe[2];
	char *buf[2];		/* rw: 2 x 32 KiB */
	char *hdr, *trl;	/* --suite hdr: the response header and trailer */
	/* msgzc: ids of successful MSG_ZEROCOPY sends and completions */
	uint32_t zc_sent, zc_done, zc_copied_ids;
	/* per-measurement results */
	struct res {
		double t0, t1;		/* wall, sender side */
		double cpu;		/* CLOCK_THREAD_CPUTIME_ID: user+sys, exact */
		double utime, stime;	/* RUSAGE_THREAD: tick-sampled split */
		long nvcsw, nivcsw;
		uint64_t syscalls;
		uint64_t bytes;
		uint64_t zc_bytes, copied_bytes, unknown_bytes;
		uint32_t why;
		uint32_t zc_ids, zc_copied;	/* msgzc completions */
		int err;			/* errno of a failure */
		char errmsg[120];
	} r;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void *receiver(void *arg)
{
	struct conn *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	int one = 1, fd, cfd;
	char *buf;
	size_t bufsz = 4 * MiB;

	if (c->net->netns) {
		fd = open(c->net->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			snprintf(c->err, sizeof(c->err), "setns %s: %s", c->net->netns,
				 strerror(errno));
			goto fail;
		}
		close(fd);
	}
	inet_pton(AF_INET, c->net->addr, &sa.sin_addr);
	c->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->lfd >= 0)
		setsockopt(c->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (c->lfd < 0 || bind(c->lfd, (void *)&sa, sizeof(sa)) < 0 ||
	    listen(c->lfd, 1) < 0) {
		snprintf(c->err, sizeof(c->err), "listen %s:%d: %s", c->net->addr,
			 c->port, strerror(errno));
		goto fail;
	}
	pthread_mutex_lock(&lock);
	c->ready = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);

	cfd = accept(c->lfd, NULL, NULL);
	close(c->lfd);
	if (cfd < 0)
		return NULL;
	/* MSG_TRUNC on TCP discards without copying; the buffer is not touched */
	buf = malloc(bufsz);
	for (;;) {
		ssize_t n = recv(cfd, buf, bufsz, MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		uint64_t got = atomic_fetch_add(&c->got, (uint64_t)n) + (uint64_t)n;

		pthread_mutex_lock(&lock);
		if (c->want && got >= c->want && !c->done_at) {
			c->done_at = now_s();
			pthread_cond_broadcast(&cond);
		}
		pthread_mutex_unlock(&lock);
	}
	free(buf);
	close(cfd);
	return NULL;
fail:
	pthread_mutex_lock(&lock);
	c->ready = -1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* ---- the methods ------------------------------------------------------------ */

struct job {
	enum method m;
	struct fsdef *fs;
	uint64_t size;
	uint64_t iters;
};

static struct job job;
static pthread_barrier_t bar_start, bar_done;
static volatile int quit;
static int zcdev_fd = -1, zcdevx_fd = -1;
static struct zc *zch;

#define FAIL(c, e, ...) do { \
	(c)->r.err = (e); \
	snprintf((c)->r.errmsg, sizeof((c)->r.errmsg), __VA_ARGS__); \
	return -1; \
} while (0)

static int xfer_rw(struct conn *c, int ffd, uint64_t size)
{
	const size_t bs = 32 * KiB;
	uint64_t off = 0;

	while (off < size) {
		struct iovec iov[2];
		int niov = 0, i;
		size_t total = 0;

		for (i = 0; i < 2 && off + total < size; i++) {
			size_t want = size - off - total < bs ? size - off - total : bs;
			ssize_t n = pread(ffd, c->buf[i], want, off + total);

			c->r.syscalls++;
			if (n <= 0)
				FAIL(c, n < 0 ? errno : EIO, "pread: %s", n < 0 ? strerror(errno) : "EOF");
			iov[niov].iov_base = c->buf[i];
			iov[niov].iov_len = n;
			niov++;
			total += n;
		}
		/* writev until the 64 KiB are out (a blocking socket takes it all) */
		struct iovec *v = iov;
		size_t left = total;

		while (left) {
			ssize_t n = writev(c->sfd, v, niov);

			c->r.syscalls++;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				FAIL(c, errno, "writev: %s", strerror(errno));
			}
			left -= n;
			while (niov && (size_t)n >= v->iov_len) {
				n -= v->iov_len;
				v++;
				niov--;
			}
			if (niov) {
				v->iov_base = (char *)v->iov_base + n;
				v->iov_len -= n;
			}
		}
		off += total;
		c->r.bytes += total;
	}
	return 0;
}

static int xfer_sendfile(struct conn *c, int ffd, uint64_t size)
{
	off_t off = 0;

	while ((uint64_t)off < size) {
		ssize_t n = sendfile(c->sfd, ffd, &off, size - off);

		c->r.syscalls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			FAIL(c, n < 0 ? errno : EIO, "sendfile: %s", n < 0 ? strerror(errno) : "0");
		c->r.bytes += n;
	}
	return 0;
}

static int xfer_splice(struct conn *c, int ffd, uint64_t size)
{
	loff_t off = 0;

	while ((uint64_t)off < size) {
		size_t want = size - off;
		unsigned int fl = SPLICE_F_MOVE;
		ssize_t n;

		if (want > (size_t)opt.pipe_size)
			want = opt.pipe_size;
		if ((uint64_t)off + want < size)
			fl |= SPLICE_F_MORE;
		n = splice(ffd, &off, c->pipe[1], NULL, want, fl);
		c->r.syscalls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			FAIL(c, n < 0 ? errno : EIO, "splice in: %s", n < 0 ? strerror(errno) : "0");
		if ((uint64_t)off < size)
			fl |= SPLICE_F_MORE;
		while (n > 0) {
			ssize_t m = splice(c->pipe[0], NULL, c->sfd, NULL, n, fl);

			c->r.syscalls++;
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				FAIL(c, m < 0 ? errno : EIO, "splice out: %s", m < 0 ? strerror(errno) : "0");
			n -= m;
			c->r.bytes += m;
		}
	}
	return 0;
}

/*
 * Read MSG_ZEROCOPY completions.  block: wait (poll) until every
 * successful send has completed, at most 10 s.
 */
static int msgzc_reap(struct conn *c, bool block)
{
	char control[128];

	while (c->zc_done != c->zc_sent) {
		struct msghdr msg = { .msg_control = control,
				      .msg_controllen = sizeof(control) };
		struct sock_extended_err *serr;
		struct cmsghdr *cm;
		ssize_t n;

		n = recvmsg(c->sfd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		c->r.syscalls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				FAIL(c, errno, "recvmsg(MSG_ERRQUEUE): %s", strerror(errno));
			if (!block)
				return 0;
			struct pollfd pfd = { .fd = c->sfd, .events = 0 };
			int p = poll(&pfd, 1, 10000);

			c->r.syscalls++;
			if (p == 0)
				FAIL(c, ETIMEDOUT, "MSG_ZEROCOPY: %u of %u completions after 10 s",
				     c->zc_done, c->zc_sent);
			continue;
		}
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
				continue;
			serr = (void *)CMSG_DATA(cm);
			if (serr->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				FAIL(c, serr->ee_errno ? serr->ee_errno : EIO,
				     "error queue: origin %u errno %u", serr->ee_origin,
				     serr->ee_errno);
			uint32_t ids = serr->ee_data - serr->ee_info + 1;

			c->zc_done += ids;
			c->r.zc_ids += ids;
			if (serr->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				c->r.zc_copied += ids;
		}
	}
	return 0;
}

static int xfer_msgzc(struct conn *c, const char *map, uint64_t size)
{
	uint64_t off = 0;

	while (off < size) {
		ssize_t n = send(c->sfd, map + off, size - off, MSG_ZEROCOPY);

		c->r.syscalls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* optmem full of pending notifications: reap, retry */
				if (msgzc_reap(c, true))
					return -1;
				continue;
			}
			FAIL(c, errno, "send(MSG_ZEROCOPY): %s", strerror(errno));
		}
		if (n > 0)
			c->zc_sent++;
		off += n;
		c->r.bytes += n;
	}
	/* like a server that polls its error queue once per response */
	return msgzc_reap(c, false);
}

static int xfer_zcdev(struct conn *c, int dev, int ffd, uint64_t size)
{
	uint64_t off = 0;

	while (off < size) {
		struct zcdev_sendfile a = {
			.file_fd = ffd, .sock_fd = c->sfd,
			.offset = off, .len = size - off,
		};

		c->r.syscalls++;
		if (ioctl(dev, ZCDEV_IOC_SENDFILE, &a) < 0) {
			if (errno == EINTR)
				continue;
			FAIL(c, errno, "ZCDEV_IOC_SENDFILE: %s", strerror(errno));
		}
		if (!a.sent)
			FAIL(c, EIO, "ZCDEV_IOC_SENDFILE sent 0");
		off += a.sent;
		c->r.bytes += a.sent;
		c->r.zc_bytes += a.zc_bytes;
		c->r.copied_bytes += a.copied_bytes;
		c->r.why |= a.why;
	}
	return 0;
}

static int xfer_libzc(struct conn *c, int ffd, uint64_t size)
{
	struct zc_result res;
	ssize_t n = zc_sendfile_all(zch, c->sfd, ffd, 0, size, 0, &res);

	c->r.syscalls += res.calls;
	if (n < 0 || (uint64_t)n != size)
		FAIL(c, n < 0 ? (int)-n : EIO, "zc_sendfile_all: %zd", n);
	c->r.bytes += res.sent;
	c->r.zc_bytes += res.zc_bytes;
	c->r.copied_bytes += res.copied_bytes;
	c->r.unknown_bytes += res.unknown_bytes;
	c->r.why |= res.why;
	return 0;
}

/* ---- the response methods (--suite hdr) ------------------------------------ */

/* send all of buf with flags (a blocking socket takes it in one call) */
static int send_all(struct conn *c, const char *buf, size_t len, int flags)
{
	while (len) {
		ssize_t n = send(c->sfd, buf, len, flags);

		c->r.syscalls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			FAIL(c, n < 0 ? errno : EIO, "send: %s", n < 0 ? strerror(errno) : "0");
		buf += n;
		len -= n;
		c->r.bytes += n;
		c->r.copied_bytes += n;	/* memory is copied, for every method */
		c->r.why |= ZCDEV_WHY_MEMORY;
	}
	return 0;
}

static int cork(struct conn *c, int on)
{
	c->r.syscalls++;
	if (setsockopt(c->sfd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) < 0)
		FAIL(c, errno, "TCP_CORK %d: %s", on, strerror(errno));
	return 0;
}

static int xfer_cork(struct conn *c, int ffd, uint64_t size)
{
	struct iovec iov = { .iov_base = c->hdr, .iov_len = opt.hdr_len };
	ssize_t n;

	if (cork(c, 1))
		return -1;
	/* nginx writev()s the header, then sendfile()s the body */
	n = writev(c->sfd, &iov, 1);
	c->r.syscalls++;
	if (n != (ssize_t)opt.hdr_len)
		FAIL(c, n < 0 ? errno : EIO, "writev(header): %s", n < 0 ? strerror(errno) : "short");
	c->r.bytes += n;
	c->r.copied_bytes += n;
	c->r.why |= ZCDEV_WHY_MEMORY;
	if (xfer_sendfile(c, ffd, size))
		return -1;
	if (opt.trl_len && send_all(c, c->trl, opt.trl_len, 0))
		return -1;
	return cork(c, 0);
}

static int xfer_hmore(struct conn *c, int ffd, uint64_t size)
{
	if (send_all(c, c->hdr, opt.hdr_len, MSG_MORE) || xfer_sendfile(c, ffd, size))
		return -1;
	return opt.trl_len ? send_all(c, c->trl, opt.trl_len, 0) : 0;
}

static int xfer_zcmore(struct conn *c, int ffd, uint64_t size)
{
	uint64_t off = 0;

	if (send_all(c, c->hdr, opt.hdr_len, MSG_MORE))
		return -1;
	while (off < size) {
		struct zcdev_sendfile a = {
			.file_fd = ffd, .sock_fd = c->sfd,
			.offset = off, .len = size - off,
			.flags = opt.trl_len ? ZCDEV_SEND_MORE : 0,
		};

		c->r.syscalls++;
		if (ioctl(zcdev_fd, ZCDEV_IOC_SENDFILE, &a) < 0) {
			if (errno == EINTR)
				continue;
			FAIL(c, errno, "ZCDEV_IOC_SENDFILE: %s", strerror(errno));
		}
		if (!a.sent)
			FAIL(c, EIO, "ZCDEV_IOC_SENDFILE sent 0");
		off += a.sent;
		c->r.bytes += a.sent;
		c->r.zc_bytes += a.zc_bytes;
		c->r.copied_bytes += a.copied_bytes;
		c->r.why |= a.why;
	}
	return opt.trl_len ? send_all(c, c->trl, opt.trl_len, 0) : 0;
}

static int xfer_sendv(struct conn *c, int ffd, uint64_t size)
{
	struct zcdev_seg seg[3] = {
		{ .type = ZCDEV_SEG_MEM, .addr = (uintptr_t)c->hdr, .len = opt.hdr_len },
		{ .type = ZCDEV_SEG_FILE, .file_fd = ffd, .offset = 0, .len = size },
		{ .type = ZCDEV_SEG_MEM, .addr = (uintptr_t)c->trl, .len = opt.trl_len },
	};
	unsigned int first = 0, nr = opt.trl_len ? 3 : 2;

	while (first < nr) {
		struct zcdev_sendv a = {
			.segs = (uintptr_t)&seg[first], .nr_segs = nr - first,
			.sock_fd = c->sfd,
		};

		c->r.syscalls++;
		if (ioctl(zcdev_fd, ZCDEV_IOC_SENDV, &a) < 0) {
			if (errno == EINTR)
				continue;
			FAIL(c, errno, "ZCDEV_IOC_SENDV: %s", strerror(errno));
		}
		if (!a.sent)
			FAIL(c, EIO, "ZCDEV_IOC_SENDV sent 0 (status %#x)", a.status);
		if (a.zc_bytes + a.copied_bytes != a.sent)
			FAIL(c, EIO, "ZCDEV_IOC_SENDV: zc %llu + copied %llu != sent %llu",
			     (unsigned long long)a.zc_bytes,
			     (unsigned long long)a.copied_bytes, (unsigned long long)a.sent);
		c->r.bytes += a.sent;
		c->r.zc_bytes += a.zc_bytes;
		c->r.copied_bytes += a.copied_bytes;
		c->r.why |= a.why;
		/* resume at segment seg_index, seg_sent bytes in */
		first += a.seg_index;
		if (first < nr) {
			struct zcdev_seg *g = &seg[first];

			if (a.seg_sent > g->len)
				FAIL(c, EIO, "ZCDEV_IOC_SENDV: seg_sent %llu > len %llu",
				     (unsigned long long)a.seg_sent, (unsigned long long)g->len);
			if (g->type == ZCDEV_SEG_MEM)
				g->addr += a.seg_sent;
			else
				g->offset += a.seg_sent;
			g->len -= a.seg_sent;
		}
	}
	return 0;
}

static int xfer_libzcv(struct conn *c, int ffd, uint64_t size)
{
	struct zcdev_seg seg[3];
	unsigned int nr = opt.trl_len ? 3 : 2;
	struct zc_result res;
	ssize_t n;

	zc_seg_mem(&seg[0], c->hdr, opt.hdr_len);
	zc_seg_file(&seg[1], ffd, 0, size);
	zc_seg_mem(&seg[2], c->trl, opt.trl_len);
	n = zc_sendv_all(zch, c->sfd, seg, nr, 0, &res);
	c->r.syscalls += res.calls;
	if (n < 0 || (uint64_t)n != opt.hdr_len + size + opt.trl_len)
		FAIL(c, n < 0 ? (int)-n : EIO, "zc_sendv_all: %zd", n);
	c->r.bytes += res.sent;
	c->r.zc_bytes += res.zc_bytes;
	c->r.copied_bytes += res.copied_bytes;
	c->r.unknown_bytes += res.unknown_bytes;
	c->r.why |= res.why;
	return 0;
}

static int run_xfer(struct conn *c, const struct job *j)
{
	switch (j->m) {
	case M_RW: return xfer_rw(c, j->fs->fd, j->size);
	case M_SENDFILE: return xfer_sendfile(c, j->fs->fd, j->size);
	case M_SPLICE: return xfer_splice(c, j->fs->fd, j->size);
	case M_MSGZC: return xfer_msgzc(c, j->fs->map, j->size);
	case M_ZCDEV: return xfer_zcdev(c, zcdev_fd, j->fs->fd, j->size);
	case M_ZCDEVX: return xfer_zcdev(c, zcdevx_fd, j->fs->fd, j->size);
	case M_LIBZC: return xfer_libzc(c, j->fs->fd, j->size);
	case M_CORK: return xfer_cork(c, j->fs->fd, j->size);
	case M_HMORE: return xfer_hmore(c, j->fs->fd, j->size);
	case M_ZCMORE: return xfer_zcmore(c, j->fs->fd, j->size);
	case M_SENDV: return xfer_sendv(c, j->fs->fd, j->size);
	case M_LIBZCV: return xfer_libzcv(c, j->fs->fd, j->size);
	default: return -1;
	}
}

static void *sender(void *arg)
{
	struct conn *c = arg;

	for (;;) {
		struct rusage ru0, ru1;
		double c0;
		uint64_t i;

		pthread_barrier_wait(&bar_start);
		if (quit)
			break;
		memset(&c->r, 0, sizeof(c->r));
		getrusage(RUSAGE_THREAD, &ru0);
		c0 = thread_cpu_s();
		c->r.t0 = now_s();
		for (i = 0; i < job.iters; i++)
			if (run_xfer(c, &job))
				break;
		if (job.m == M_MSGZC && !c->r.err)
			msgzc_reap(c, true);
		c->r.t1 = now_s();
		c->r.cpu = thread_cpu_s() - c0;
		getrusage(RUSAGE_THREAD, &ru1);
		c->r.utime = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime);
		c->r.stime = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
		c->r.nvcsw = ru1.ru_nvcsw - ru0.ru_nvcsw;
		c->r.nivcsw = ru1.ru_nivcsw - ru0.ru_nivcsw;
		pthread_barrier_wait(&bar_done);
	}
	return NULL;
}

/* ---- a group: one network, N connections ------------------------------------ */

static struct conn conns[MAX_CONNS];
static int nconns;

/* an HTTP/1.1 response header of exactly len bytes (padded with X-Pad) */
static char *http_header(size_t len)
{
	static const char h[] = "HTTP/1.1 200 OK\r\nServer: zcbench\r\n"
		"Date: Tue, 24 Nov 2026 12:00:00 GMT\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Last-Modified: Mon, 23 Nov 2026 08:00:00 GMT\r\n"
		"Connection: keep-alive\r\nETag: \"5f3e-1a2b3c\"\r\n"
		"Accept-Ranges: bytes\r\n";
	char *b = malloc(len + 1);
	size_t n = strlen(h);

	memset(b, 'x', len);
	if (len >= n + 12) {
		memcpy(b, h, n);
		memcpy(b + n, "X-Pad: ", 7);
		memcpy(b + len - 4, "\r\n\r\n", 4);
	}
	b[len] = 0;
	return b;
}

static void group_open(const struct netdef *net, int n, int port_base)
{
	int i, one = 1;

	nconns = n;
	quit = 0;
	for (i = 0; i < n; i++) {
		struct conn *c = &conns[i];

		memset(c, 0, sizeof(*c));
		c->idx = i;
		c->net = net;
		c->port = port_base + i;
		c->lfd = -1;
		if (pthread_create(&c->rthread, NULL, receiver, c))
			die("pthread_create");
		pthread_mutex_lock(&lock);
		while (!c->ready)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		if (c->ready < 0)
			die("receiver: %s", c->err);

		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };

		inet_pton(AF_INET, net->addr, &sa.sin_addr);
		c->sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->sfd < 0 || connect(c->sfd, (void *)&sa, sizeof(sa)) < 0)
			die("connect %s:%d: %s", net->addr, c->port, strerror(errno));
		/* as servers that send files do (nginx tcp_nodelay on) */
		setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (setsockopt(c->sfd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0)
			die("SO_ZEROCOPY: %s", strerror(errno));
		if (pipe2(c->pipe, O_CLOEXEC) < 0)
			die("pipe: %s", strerror(errno));
		if (opt.pipe_size != 65536 &&
		    fcntl(c->pipe[1], F_SETPIPE_SZ, opt.pipe_size) < 0)
			die("F_SETPIPE_SZ %d: %s", opt.pipe_size, strerror(errno));
		c->buf[0] = aligned_alloc(4096, 32 * KiB);
		c->buf[1] = aligned_alloc(4096, 32 * KiB);
		memset(c->buf[0], 1, 32 * KiB);
		memset(c->buf[1], 1, 32 * KiB);
		if (opt.hdr) {
			c->hdr = http_header(opt.hdr_len);
			c->trl = malloc(opt.trl_len + 1);
			/* a chunked body's last chunk and end, padded */
			memset(c->trl, ' ', opt.trl_len);
			memcpy(c->trl, "\r\n0\r\n\r\n", opt.trl_len < 7 ? opt.trl_len : 7);
		}
	}
	pthread_barrier_init(&bar_start, NULL, n + 1);
	pthread_barrier_init(&bar_done, NULL, n + 1);
	for (i = 0; i < n; i++)
		if (pthread_create(&conns[i].sthread, NULL, sender, &conns[i]))
			die("pthread_create");
}

static void group_close(void)
{
	int i;

	quit = 1;
	pthread_barrier_wait(&bar_start);
	for (i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		pthread_join(c->sthread, NULL);
		shutdown(c->sfd, SHUT_WR);
		pthread_join(c->rthread, NULL);
		close(c->sfd);
		close(c->pipe[0]);
		close(c->pipe[1]);
		free(c->buf[0]);
		free(c->buf[1]);
		free(c->hdr);
		free(c->trl);
	}
	pthread_barrier_destroy(&bar_start);
	pthread_barrier_destroy(&bar_done);
}

/* One measurement: result summed over the connections. */
struct meas {
	double wall, cpu, usr, rus;
	double bytes, xfers;
	double syscalls, nvcsw, nivcsw;
	uint64_t zc_bytes, copied_bytes, unknown_bytes;
	uint32_t why;
	uint32_t zc_ids, zc_copied;
	bool failed;
};

/* bytes on the wire per transfer of a size-byte file range */
static uint64_t wire_bytes(uint64_t size)
{
	return opt.hdr ? opt.hdr_len + size + opt.trl_len : size;
}

static int measure(enum method m, struct fsdef *fs, uint64_t size, uint64_t iters,
		   struct meas *out)
{
	double t0 = 1e30, t1 = 0;
	int i;

	job.m = m;
	job.fs = fs;
	job.size = size;
	job.iters = iters;
	pthread_mutex_lock(&lock);
	for (i = 0; i < nconns; i++) {
		conns[i].want = atomic_load(&conns[i].got) + wire_bytes(size) * iters;
		conns[i].done_at = 0;
	}
	pthread_mutex_unlock(&lock);

	pthread_barrier_wait(&bar_start);
	pthread_barrier_wait(&bar_done);

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		if (c->r.err) {
			fprintf(stderr, "zcbench: %s conn %d: %s\n", method_name[m], i,
				c->r.errmsg);
			out->failed = true;
		}
	}
	/* wait for the receivers to have every byte (they may never: error) */
	pthread_mutex_lock(&lock);
	for (i = 0; i < nconns && !out->failed; i++) {
		struct conn *c = &conns[i];
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 30;
		while (!c->done_at) {
			if (pthread_cond_timedwait(&cond, &lock, &dl) == ETIMEDOUT) {
				fprintf(stderr, "zcbench: %s: receiver %d got %" PRIu64
					" of %" PRIu64 " after 30 s\n", method_name[m], i,
					atomic_load(&c->got), c->want);
				out->failed = true;
				break;
			}
		}
	}
	for (i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		if (c->r.t0 < t0)
			t0 = c->r.t0;
		if (c->done_at > t1)
			t1 = c->done_at;
		if (c->r.t1 > t1)
			t1 = c->r.t1;
		c->want = 0;
		out->cpu += c->r.cpu;
		out->usr += c->r.utime;
		out->rus += c->r.utime + c->r.stime;
		out->bytes += (double)c->r.bytes;
		out->syscalls += (double)c->r.syscalls;
		out->nvcsw += c->r.nvcsw;
		out->nivcsw += c->r.nivcsw;
		out->zc_bytes += c->r.zc_bytes;
		out->copied_bytes += c->r.copied_bytes;
		out->unknown_bytes += c->r.unknown_bytes;
		out->why |= c->r.why;
		out->zc_ids += c->r.zc_ids;
		out->zc_copied += c->r.zc_copied;
	}
	pthread_mutex_unlock(&lock);
	out->xfers = (double)iters * nconns;
	out->wall = t1 - t0;
	return out->failed ? -1 : 0;
}

/*
 * TCP receive-queue pruning and collapsing copy the payload on the receiving
 * side (which runs in the sender's softirq on lo and veth): when they occur,
 * a cell's figures include copies no sender method asked for.
 */
static void tcp_ext(uint64_t *prune, uint64_t *collapse)
{
	char hdr[8192], val[8192];
	FILE *f = fopen("/proc/net/netstat", "r");

	*prune = *collapse = 0;
	if (!f)
		return;
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		char *hs, *vs, *h, *v;

		if (strncmp(hdr, "TcpExt:", 7))
			continue;
		h = strtok_r(hdr, " \n", &hs);
		v = strtok_r(val, " \n", &vs);
		while (h && v) {
			if (!strcmp(h, "PruneCalled"))
				*prune = strtoull(v, NULL, 10);
			else if (!strcmp(h, "TCPRcvCollapsed"))
				*collapse = strtoull(v, NULL, 10);
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
	}
	fclose(f);
}

/* ---- statistics and output --------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stats(const double *v, int n)
{
	double s[MAX_REPS];
	struct stat3 r = { 0, 0, 0 };

	if (n <= 0)
		return r;
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

static bool csv_header_done;

static void csv_header(void)
{
	if (!opt.csv || csv_header_done)
		return;
	csv_header_done = true;
	/* the reference's columns: _sf_ for sendfile (the file suite) */
	const char *b = opt.base == M_SENDFILE ? "sf" : method_name[opt.base];

	printf("%s,kernel,fs,net,conns,size,method,reps,iters,"
	       "thr_MiBps_med,thr_MiBps_min,thr_MiBps_max,"
	       "cpu_nspB_med,cpu_nspB_min,cpu_nspB_max,"
	       "cpu_us_xfer_med,usr_pct,sys_xfer,vcsw_xfer,ivcsw_xfer,"
	       "thr_x_%s_med,thr_x_%s_min,thr_x_%s_max,"
	       "cpu_x_%s_med,cpu_x_%s_min,cpu_x_%s_max,"
	       "cpu_x_%s_med,cpu_x_%s_min,cpu_x_%s_max,"
	       "path,zc_pct,why\n", opt.tag, b, b, b, b, b, b, method_name[opt.vs],
	       method_name[opt.vs], method_name[opt.vs]);
}

/* path report of a method over all repetitions */
static void path_report(enum method m, const struct meas *ms, int n, char *path,
			size_t psz, double *zc_pct, char *why, size_t wsz)
{
	uint64_t zc = 0, cp = 0, unk = 0;
	uint32_t w = 0, ids = 0, idc = 0;
	int i;

	for (i = 0; i < n; i++) {
		zc += ms[i].zc_bytes;
		cp += ms[i].copied_bytes;
		unk += ms[i].unknown_bytes;
		w |= ms[i].why;
		ids += ms[i].zc_ids;
		idc += ms[i].zc_copied;
	}
	*zc_pct = -1;
	snprintf(why, wsz, "-");
	if (m == M_ZCDEV || m == M_LIBZC || m == M_ZCDEVX || m == M_ZCMORE || m == M_SENDV ||
	    m == M_LIBZCV) {
		uint64_t all = zc + cp + unk;

		if (unk)
			snprintf(path, psz, "unknown");
		else if (!cp)
			snprintf(path, psz, "zerocopy");
		else if (!zc)
			snprintf(path, psz, "copy");
		else
			snprintf(path, psz, "mixed");
		*zc_pct = all ? 100.0 * zc / all : 0;
		if (w) {
			size_t len = 0;

			/* names from libzc; the issue 7 bits if it does not know them */
			why[0] = 0;
			for (int b = 0; b < 32; b++) {
				uint32_t bit = 1U << b;
				const char *nm = zc_why_name(bit);
				char hex[16];

				if (!(w & bit))
					continue;
				if (!nm)
					nm = bit == ZCDEV_WHY_MEMORY ? "memory" :
					     bit == ZCDEV_WHY_NOTIFY ? "notify" : NULL;
				if (!nm) {
					snprintf(hex, sizeof(hex), "0x%x", bit);
					nm = hex;
				}
				/* "|" between names keeps the CSV simple */
				len += snprintf(why + len, len < wsz ? wsz - len : 0, "%s%s",
						len ? "|" : "", nm);
			}
		}
	} else if (m == M_MSGZC) {
		/* the kernel's per-send verdict: COPIED = it copied after all */
		if (!ids)
			snprintf(path, psz, "-");
		else if (!idc)
			snprintf(path, psz, "zerocopy");
		else if (idc == ids)
			snprintf(path, psz, "copy");
		else
			snprintf(path, psz, "mixed");
		*zc_pct = ids ? 100.0 * (ids - idc) / ids : 0;
		if (idc)
			snprintf(why, wsz, "kernel-copied");
	} else if (m == M_RW) {
		snprintf(path, psz, "copy");
		*zc_pct = 0;
	} else {
		snprintf(path, psz, "unreported");	/* the kernel does not say */
	}
}

struct cellres {
	struct meas ms[M_NR][MAX_REPS];
	int n[M_NR];
};

static void print_cell(const char *fsname, const char *netname, int nc,
		       uint64_t size, uint64_t iters, struct cellres *cr)
{
	char sz[32];
	int m, r;

	size_str(size, sz, sizeof(sz));
	if (opt.table) {
		printf("\n== %s  %s  %s  conns=%d  size=%s  (%" PRIu64 " transfers x %d reps)\n",
		       opt.kernel, fsname, netname, nc, sz, iters, opt.reps);
		char vs[16], bs[16];

		snprintf(vs, sizeof(vs), "x %.4s", method_name[opt.vs]);
		snprintf(bs, sizeof(bs), "x %.4s", opt.base == M_SENDFILE ? "sf" :
			 method_name[opt.base]);
		printf("%-9s %8s %17s %6s %8s %15s %6s %6s %9s %6s %5s %5s  %s\n",
		       "method", "MiB/s", "[min-max]", bs, "ns/B", "[min-max]",
		       bs, vs, opt.hdr ? "us/resp" : "us/xfer", "sys/x", "vcs/x", "ivc/x",
		       "path");
	}
	for (m = 0; m < M_NR; m++) {
		double thr[MAX_REPS], cpu[MAX_REPS], usx[MAX_REPS];
		double rthr[MAX_REPS], rcpu[MAX_REPS], rrw[MAX_REPS];
		double sys = 0, vcs = 0, ivc = 0, usr = 0, rus = 0;
		int n = cr->n[m], nsf = 0, nrw = 0;
		char path[32], why[200];
		double zc_pct;

		if (!opt.m_on[m])
			continue;
		for (r = 0; r < n; r++) {
			const struct meas *x = &cr->ms[m][r];

			thr[r] = x->bytes / MiB / x->wall;
			cpu[r] = x->cpu * 1e9 / x->bytes;
			usx[r] = x->cpu * 1e6 / x->xfers;
			sys += x->syscalls / x->xfers;
			vcs += x->nvcsw / x->xfers;
			ivc += x->nivcsw / x->xfers;
			usr += x->usr;
			rus += x->rus;
			if (opt.m_on[opt.base] && r < cr->n[opt.base]) {
				const struct meas *s = &cr->ms[opt.base][r];

				rthr[nsf] = (x->bytes / x->wall) / (s->bytes / s->wall);
				rcpu[nsf] = (x->cpu / x->bytes) / (s->cpu / s->bytes);
				nsf++;
			}
			if (opt.m_on[opt.vs] && r < cr->n[opt.vs]) {
				const struct meas *s = &cr->ms[opt.vs][r];

				rrw[nrw++] = (x->cpu / x->bytes) / (s->cpu / s->bytes);
			}
		}
		if (!n) {
			if (opt.table)
				printf("%-9s  (failed or skipped)\n", method_name[m]);
			continue;
		}
		struct stat3 st = stats(thr, n), sc = stats(cpu, n), su = stats(usx, n);
		struct stat3 qt = stats(rthr, nsf), qc = stats(rcpu, nsf), qr = stats(rrw, nrw);

		sys /= n;
		vcs /= n;
		ivc /= n;
		path_report(m, cr->ms[m], n, path, sizeof(path), &zc_pct, why, sizeof(why));
		if (opt.csv) {
			printf("%s,%s,%s,%s,%d,%" PRIu64 ",%s,%d,%" PRIu64 ","
			       "%.2f,%.2f,%.2f,%.4f,%.4f,%.4f,%.2f,%.1f,%.2f,%.3f,%.3f,",
			       opt.tag, opt.kernel, fsname, netname, nc, size, method_name[m], n, iters,
			       st.med, st.min, st.max, sc.med, sc.min, sc.max, su.med,
			       rus > 0 ? 100 * usr / rus : 0, sys, vcs, ivc);
			if (nsf)
				printf("%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,", qt.med, qt.min, qt.max,
				       qc.med, qc.min, qc.max);
			else
				printf(",,,,,,");
			if (nrw)
				printf("%.3f,%.3f,%.3f,", qr.med, qr.min, qr.max);
			else
				printf(",,,");
			if (zc_pct >= 0)
				printf("%s,%.1f,%s\n", path, zc_pct, why);
			else
				printf("%s,,%s\n", path, why);
		}
		if (opt.table) {
			char a[24], b[24], pr[256];

			snprintf(a, sizeof(a), "[%.0f-%.0f]", st.min, st.max);
			snprintf(b, sizeof(b), "[%.2f-%.2f]", sc.min, sc.max);
			if (zc_pct >= 0 && strcmp(why, "-"))
				snprintf(pr, sizeof(pr), "%s %.0f%% zc (%s)", path, zc_pct, why);
			else if (zc_pct >= 0)
				snprintf(pr, sizeof(pr), "%s %.0f%% zc", path, zc_pct);
			else
				snprintf(pr, sizeof(pr), "%s", path);
			printf("%-9s %8.1f %17s %6.2f %8.3f %15s %6.2f %6.2f %9.1f %6.2f %5.2f %5.2f  %s\n",
			       method_name[m], st.med, a, nsf ? qt.med : 0, sc.med, b,
			       nsf ? qc.med : 0, nrw ? qr.med : 0, su.med, sys, vcs, ivc, pr);
		}
	}
	fflush(stdout);
}

/* ---- goals summary (zcdev vs sendfile and rw, from the same run) ------------ */

struct goalrow {
	char cell[64];
	uint64_t size;
	double cpu_sf, cpu_rw, thr_sf;
	bool have;
};

static struct goalrow goals[1024];
static int ngoals;

static void record_goal(const char *fsname, const char *netname, int nc, uint64_t size,
			struct cellres *cr)
{
	double rc[MAX_REPS], rr[MAX_REPS], rt[MAX_REPS];
	int r, n = cr->n[M_ZCDEV], k = 0, j = 0;

	if (!opt.m_on[M_ZCDEV] || !opt.m_on[M_SENDFILE] || ngoals >= 1024)
		return;
	for (r = 0; r < n && r < cr->n[M_SENDFILE]; r++) {
		const struct meas *z = &cr->ms[M_ZCDEV][r], *s = &cr->ms[M_SENDFILE][r];

		rc[k] = (z->cpu / z->bytes) / (s->cpu / s->bytes);
		rt[k] = (z->bytes / z->wall) / (s->bytes / s->wall);
		k++;
		if (opt.m_on[M_RW] && r < cr->n[M_RW]) {
			const struct meas *w = &cr->ms[M_RW][r];

			rr[j++] = (z->cpu / z->bytes) / (w->cpu / w->bytes);
		}
	}
	if (!k)
		return;
	struct goalrow *g = &goals[ngoals++];

	snprintf(g->cell, sizeof(g->cell), "%s/%s/c%d", fsname, netname, nc);
	g->size = size;
	g->cpu_sf = stats(rc, k).med;
	g->thr_sf = stats(rt, k).med;
	g->cpu_rw = j ? stats(rr, j).med : 0;
	g->have = true;
}

static void print_goals(void)
{
	int i;
	char sz[32];

	if (!opt.table || !ngoals)
		return;
	printf("\n== goals, %s: zcdev vs sendfile(2) / rw loop, paired medians\n", opt.kernel);
	printf("   >= 1 MiB: CPU/B x sf <= 0.60 (overlay 0.75), CPU/B x rw <= 0.25,"
	       " MiB/s x sf >= 1.5 (issue 11; issue 6: 0.75, 1.25);"
	       " 4-64 KiB: CPU/xfer x sf <= 1.00\n");
	printf("%-22s %6s %9s %9s %9s  %s\n", "cell", "size", "cpu x sf", "cpu x rw",
	       "thr x sf", "verdict");
	for (i = 0; i < ngoals; i++) {
		struct goalrow *g = &goals[i];
		char v[64] = "";

		if (g->size >= MiB) {
			bool ovl = !strncmp(g->cell, "overlay/", 8);

			snprintf(v, sizeof(v), "%s %s %s",
				 g->cpu_sf <= (ovl ? 0.75 : 0.60) ? "cpu-sf:ok" : "cpu-sf:MISS",
				 !g->cpu_rw ? "cpu-rw:n/a" :
				 g->cpu_rw <= 0.25 ? "cpu-rw:ok" : "cpu-rw:MISS",
				 ovl ? "thr:n/a" : g->thr_sf >= 1.5 ? "thr:ok" : "thr:MISS");
		} else if (g->size >= 4 * KiB && g->size <= 64 * KiB) {
			snprintf(v, sizeof(v), "%s", g->cpu_sf <= 1.0 ? "per-call:ok" : "per-call:MISS");
		}
		printf("%-22s %6s %9.2f %9.2f %9.2f  %s\n", g->cell,
		       size_str(g->size, sz, sizeof(sz)), g->cpu_sf, g->cpu_rw, g->thr_sf, v);
	}
}

/* ---- files ------------------------------------------------------------------ */

static void mkdirs(const char *path)
{
	char d[256], *p;

	snprintf(d, sizeof(d), "%s", path);
	for (p = d + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(d, 0755) < 0 && errno != EEXIST)
				die("mkdir %s: %s", d, strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
}

/*
 * overlay: the lower file (a hard link to the ext4 cell's file when that
 * one was made, else written by write_file()), then a fresh overlay mount
 * on OVL_DIR (ovl_mount(), once the lower file is written).
 */
static void ovl_prepare(uint64_t size, bool *linked)
{
	char lower[256];
	struct stat st;

	*linked = false;
	umount2(OVL_DIR, MNT_DETACH);	/* an earlier zcbench's, if any */
	mkdirs(OVL_LOWER);
	mkdirs(OVL_UPPER);
	mkdirs(OVL_WORK);
	mkdirs(OVL_DIR);
	snprintf(lower, sizeof(lower), "%s/zcbench.dat", OVL_LOWER);
	unlink(lower);
	/* an upper copy from an earlier run would hide the lower file */
	unlink(OVL_UPPER "/zcbench.dat");
	if (!stat("/mnt/ext4/zcbench.dat", &st) && (uint64_t)st.st_size == size &&
	    fss[1].fd >= 0 && !link("/mnt/ext4/zcbench.dat", lower))
		*linked = true;
}

static bool ovl_mount(void)
{
	if (mount("overlay", OVL_DIR, "overlay", 0,
		  "lowerdir=" OVL_LOWER ",upperdir=" OVL_UPPER ",workdir=" OVL_WORK) < 0) {
		printf("# overlay: mount on %s failed: %s (is overlay.ko loaded?)\n",
		       OVL_DIR, strerror(errno));
		return false;
	}
	return true;
}

/* overlay: after the cells, the file must still be the lower one */
static void ovl_check(const struct fsdef *fs)
{
	struct stat st;

	if (!fs->overlay || fs->fd < 0 || !opt.table)
		return;
	if (stat(OVL_UPPER "/zcbench.dat", &st) == 0)
		printf("# overlay: WARNING: the file was copied up to %s during the run\n",
		       OVL_UPPER);
	else
		printf("# overlay: after the cells the file is still not copied up"
		       " (nothing in %s)\n", OVL_UPPER);
}

/* Returns false if the file system is not available (overlay only). */
static bool make_file(struct fsdef *fs, uint64_t size)
{
	char path[256];
	const size_t chunk = MiB;
	uint64_t off;
	char *buf;
	ssize_t n;
	int fd;
	bool linked = false;

	if (fs->overlay) {
		ovl_prepare(size, &linked);
		snprintf(path, sizeof(path), "%s/zcbench.dat", OVL_LOWER);
	} else {
		snprintf(path, sizeof(path), "%s/zcbench.dat", fs->dir);
	}
	if (linked)
		goto open_it;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	buf = malloc(chunk);
	for (off = 0; off < size; off += chunk) {
		size_t i, want = size - off < chunk ? size - off : chunk;

		/* every 8-byte word holds its own offset (like the selftests) */
		for (i = 0; i + 8 <= want; i += 8) {
			uint64_t w = off + i;

			memcpy(buf + i, &w, 8);
		}
		n = pwrite(fd, buf, want, off);
		if (n != (ssize_t)want)
			die("write %s: %s", path, n < 0 ? strerror(errno) : "short");
	}
	free(buf);
	if (fsync(fd) < 0)
		die("fsync %s: %s", path, strerror(errno));
	close(fd);
open_it:
	if (fs->overlay) {
		struct statfs sfs;

		if (!ovl_mount())
			return false;
		snprintf(path, sizeof(path), "%s/zcbench.dat", fs->dir);
		/* read-only: an overlay file opened for reading is not copied up */
		fs->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fs->fd < 0)
			die("open %s: %s", path, strerror(errno));
		if (fstatfs(fs->fd, &sfs) < 0 || sfs.f_type != OVERLAYFS_MAGIC)
			die("%s is not on an overlayfs", path);
		if (opt.table)
			printf("# overlay: %s, lower %s (on ext4%s), upper and work on tmpfs;"
			       " not copied up\n", path, OVL_LOWER,
			       linked ? ", a hard link to the ext4 cell's file" : "");
	} else {
		/* reopen read-only, as a server would */
		fs->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fs->fd < 0)
			die("open %s: %s", path, strerror(errno));
	}
	/* warm: every page in the cache, clean; the mapping populated */
	posix_fadvise(fs->fd, 0, size, POSIX_FADV_WILLNEED);
	fs->map = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fs->fd, 0);
	if (fs->map == MAP_FAILED)
		die("mmap %s: %s", path, strerror(errno));
	volatile uint64_t sum = 0;

	for (off = 0; off < size; off += 4096)
		sum += ((const volatile char *)fs->map)[off];
	(void)sum;
	return true;
}

/* ---- calibration: what TCG makes expensive -------------------------------------- */

/*
 * Under TCG a memory copy costs far more, relative to other instructions,
 * than on hardware: print the guest's memcpy speed and null-syscall cost so
 * the copy-heavy methods (rw, msgzc) can be read with that in mind.
 */
static void calibrate(void)
{
	const size_t sz = 4 * MiB;
	char *a = malloc(sz), *b = malloc(sz);
	double t0, t1, best_cp = 1e30, best_sc = 1e30;
	int r, i;

	memset(a, 1, sz);
	memset(b, 2, sz);
	for (r = 0; r < 5; r++) {
		t0 = now_s();
		for (i = 0; i < 8; i++) {
			memcpy(b, a, sz);
			__asm__ volatile("" : : "r"(b) : "memory");
		}
		t1 = now_s();
		if (t1 - t0 < best_cp)
			best_cp = t1 - t0;
		t0 = now_s();
		for (i = 0; i < 20000; i++)
			syscall(SYS_getppid);
		t1 = now_s();
		if (t1 - t0 < best_sc)
			best_sc = t1 - t0;
	}
	printf("# calibration: memcpy %.0f MiB/s (4 MiB blocks), null syscall %.2f us"
	       " (so one 4 KiB copy ~ %.1f syscalls)\n",
	       8.0 * sz / MiB / best_cp, best_sc / 20000 * 1e6,
	       (4096.0 / (8.0 * sz / best_cp)) / (best_sc / 20000));
	free(a);
	free(b);
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(void)
{
	printf(
"usage: zcbench [--quick|--full] [options]\n"
"  --sizes LIST     transfer sizes, e.g. 4K,64K,1M (quick: 4K,64K,1M,16M;\n"
"                   full: 4K,16K,...,1G, powers of 4)\n"
"  --fs LIST        tmpfs,ext4,overlay (default all three; hdr: ext4, full\n"
"                   tmpfs,ext4); overlay: an overlayfs zcbench mounts on\n"
"                   /mnt/overlay, lower dir on the ext4 (file not copied up),\n"
"                   upper and work on the tmpfs; needs overlay.ko\n"
"  --net LIST       lo,veth,nosg,e1000e (default lo,veth; nic: e1000e)\n"
"  --conns LIST     concurrent connections per cell (default 1,4)\n"
"  --methods LIST   rw,sendfile,splice,msgzc,zcdev,libzc (default all six);\n"
"                   zcdevx: an experimental module on /dev/zcdevx (bench/exp.sh)\n"
"  --reps N         repetitions per cell (quick 7, full 5)\n"
"  --bytes SIZE     least bytes per measurement per connection (quick 2M, full 8M;\n"
"                   nic: 16M, full 64M)\n"
"  --max-iters N    most transfers per measurement (default 2048)\n"
"  --max-bytes SIZE skip cells where size x conns exceeds SIZE (full: 1G, so\n"
"                   4 connections stop at 256M; quick: no limit)\n"
"  --pipe-size N    splice pipe size (default 64K, the sendfile internal pipe's)\n"
"  --kernel NAME    label for the CSV (default: uname -r)\n"
"  --vs METHOD      the second CPU ratio column (default rw; CSV: cpu_x_METHOD_*)\n"
"  --suite file|hdr|nic  file (default): the methods above send a file range;\n"
"                   hdr: one HTTP-like response per transfer, header + body\n"
"                   (+ trailer), methods cork,more,zcmore,sendv,libzcv, ratios\n"
"                   against cork; bodies 4K,64K,1M (full: 4K..1M, x4), 1 conn\n"
"                   (full: 1,4), ext4 (full: tmpfs,ext4); CSV lines: zch\n"
"                   nic: the file methods over the guest's e1000e NIC pair\n"
"                   (vm/run-guest.sh NICS=1), tmpfs,ext4, 1 conn, sizes 64K,1M\n"
"                   (full: 64K,1M,16M); CSV lines: zcn\n"
"  --hdr-len N      hdr: header bytes (default 320)\n"
"  --trailer N      hdr: trailer bytes after the body (default 0)\n"
"  --no-warmup      no unmeasured 1 MiB transfer per method before the cells\n"
"  --calibrate      print memcpy speed and syscall cost, then exit (safe on any host)\n"
"  --csv-only | --table-only\n");
}

static void parse_list(const char *s, void (*fn)(const char *))
{
	char *d = strdup(s), *tok, *save;

	for (tok = strtok_r(d, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		fn(tok);
	free(d);
}

static void add_size(const char *t)
{
	if (opt.nr_sizes == MAX_SIZES)
		die("too many sizes");
	opt.sizes[opt.nr_sizes++] = parse_size(t);
}

static void add_fs(const char *t)
{
	size_t i;

	for (i = 0; i < NR_FS; i++)
		if (!strcmp(t, fss[i].name)) {
			opt.fs_on[i] = true;
			return;
		}
	die("unknown fs '%s'", t);
}

static void add_net(const char *t)
{
	size_t i;

	for (i = 0; i < NR_NET; i++)
		if (!strcmp(t, nets[i].name)) {
			opt.net_on[i] = true;
			return;
		}
	die("unknown net '%s'", t);
}

static void add_conns(const char *t)
{
	int n = atoi(t);

	if (n < 1 || n > MAX_CONNS || opt.nr_conns == 4)
		die("bad conns '%s'", t);
	opt.conns[opt.nr_conns++] = n;
}

static void add_method(const char *t)
{
	int m;

	for (m = 0; m < M_NR; m++)
		if (!strcmp(t, method_name[m])) {
			opt.m_on[m] = true;
			return;
		}
	die("unknown method '%s'", t);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "full", no_argument, NULL, 'f' },
		{ "sizes", required_argument, NULL, 's' },
		{ "fs", required_argument, NULL, 'F' },
		{ "net", required_argument, NULL, 'n' },
		{ "conns", required_argument, NULL, 'c' },
		{ "methods", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "max-iters", required_argument, NULL, 'I' },
		{ "max-bytes", required_argument, NULL, 'B' },
		{ "pipe-size", required_argument, NULL, 'p' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "csv-only", no_argument, NULL, 'C' },
		{ "table-only", no_argument, NULL, 'T' },
		{ "calibrate", no_argument, NULL, 'K' },
		{ "no-warmup", no_argument, NULL, 'W' },
		{ "vs", required_argument, NULL, 'V' },
		{ "suite", required_argument, NULL, 'S' },
		{ "hdr-len", required_argument, NULL, 'H' },
		{ "trailer", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	bool full = false, any_fs = false, any_net = false, any_m = false, vs_set = false;
	bool fs_default = false;
	uint64_t maxsize = 0;
	struct utsname un;
	int ch, i, reps = 0;
	uint64_t target = 0;
	size_t f, nt;

	opt.csv = opt.table = true;
	opt.max_iters = 2048;
	opt.pipe_size = 65536;
	opt.mode = "quick";
	uname(&un);
	snprintf(opt.kernel, sizeof(opt.kernel), "%.63s", un.release);
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'q': full = false; break;
		case 'f': full = true; break;
		case 's': parse_list(optarg, add_size); break;
		case 'F': parse_list(optarg, add_fs); break;
		case 'n': parse_list(optarg, add_net); break;
		case 'c': parse_list(optarg, add_conns); break;
		case 'm': parse_list(optarg, add_method); break;
		case 'r': reps = atoi(optarg); break;
		case 'b': target = parse_size(optarg); break;
		case 'I': opt.max_iters = strtoull(optarg, NULL, 0); break;
		case 'B': opt.max_bytes = parse_size(optarg); break;
		case 'p': opt.pipe_size = (int)parse_size(optarg); break;
		case 'k': snprintf(opt.kernel, sizeof(opt.kernel), "%s", optarg); break;
		case 'C': opt.table = false; break;
		case 'T': opt.csv = false; break;
		case 'K': calibrate(); return 0;
		case 'W': opt.no_warmup = true; break;
		case 'V':
			for (opt.vs = 0; opt.vs < M_NR; opt.vs++)
				if (!strcmp(optarg, method_name[opt.vs]))
					break;
			if (opt.vs == M_NR)
				die("unknown method '%s'", optarg);
			vs_set = true;
			break;
		case 'S':
			if (!strcmp(optarg, "hdr"))
				opt.hdr = true;
			else if (!strcmp(optarg, "nic"))
				opt.nic = true;
			else if (strcmp(optarg, "file"))
				die("unknown suite '%s' (file, hdr, nic)", optarg);
			break;
		case 'H': opt.hdr_len = parse_size(optarg); break;
		case 'L': opt.trl_len = strtoul(optarg, NULL, 0); break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	opt.mode = full ? "full" : "quick";
	opt.tag = opt.hdr ? "zch" : opt.nic ? "zcn" : "zcb";
	opt.base = opt.hdr ? M_CORK : M_SENDFILE;
	if (opt.hdr && !vs_set)
		opt.vs = M_HMORE;
	if (!opt.hdr_len)
		opt.hdr_len = 320;
	if (opt.hdr_len < 64 || opt.hdr_len > 64 * KiB || opt.trl_len > 64 * KiB)
		die("--hdr-len 64..64K, --trailer 0..64K");
	if (!opt.max_bytes)
		opt.max_bytes = full ? GiB : UINT64_MAX;
	if (!opt.nr_sizes) {
		if (full) {
			uint64_t s;

			for (s = 4 * KiB; s <= GiB; s *= 4)
				opt.sizes[opt.nr_sizes++] = s;
		} else {
			static const uint64_t q[] = { 4 * KiB, 64 * KiB, MiB, 16 * MiB };

			for (i = 0; i < 4; i++)
				opt.sizes[opt.nr_sizes++] = q[i];
		}
		if (opt.hdr) {
			/* response bodies: 4K..1M (full: powers of 4) */
			opt.nr_sizes = 0;
			for (uint64_t s = 4 * KiB; s <= MiB; s *= full ? 4 : 16)
				opt.sizes[opt.nr_sizes++] = s;
		}
		if (opt.nic) {
			/* the emulated NIC is slow: 64K and 1M (full: 16M too) */
			opt.nr_sizes = 0;
			for (uint64_t s = 64 * KiB; s <= (full ? 16 * MiB : MiB); s *= 16)
				opt.sizes[opt.nr_sizes++] = s;
		}
	}
	for (f = 0; f < NR_FS; f++)
		any_fs |= opt.fs_on[f];
	if (!any_fs) {
		/* hdr quick: ext4 only (what servers serve from), to stay short */
		opt.fs_on[0] = !opt.hdr || full;
		opt.fs_on[1] = true;
		/* the file suite: overlay too, if it can be mounted */
		opt.fs_on[2] = !opt.hdr && !opt.nic;
		fs_default = true;
	}
	for (f = 0; f < NR_NET; f++)
		any_net |= opt.net_on[f];
	if (!any_net && opt.nic)
		opt.net_on[3] = true;
	else if (!any_net)
		opt.net_on[0] = opt.net_on[1] = true;
	if (!opt.nr_conns) {
		opt.conns[0] = 1;
		opt.conns[1] = 4;
		opt.nr_conns = (opt.hdr && !full) || opt.nic ? 1 : 2;
	}
	for (i = 0; i < M_NR; i++) {
		any_m |= opt.m_on[i];
		if (opt.m_on[i] && is_hdr_method(i) != opt.hdr)
			die("method %s belongs to --suite %s", method_name[i],
			    opt.hdr ? "file" : "hdr");
	}
	if (!any_m)
		for (i = 0; i < M_NR; i++)
			opt.m_on[i] = i != M_ZCDEVX && is_hdr_method(i) == opt.hdr;

	opt.reps = reps > 0 ? reps : full ? 5 : 7;
	if (opt.reps > MAX_REPS)
		opt.reps = MAX_REPS;
	opt.target = target ? target : full ? 8 * MiB : 2 * MiB;
	/* nic: the device's pace makes 2 MiB a few ms; CPU time needs more */
	if (opt.nic && !target)
		opt.target = full ? 64 * MiB : 16 * MiB;
	for (i = 0; i < opt.nr_sizes; i++)
		if (opt.sizes[i] > maxsize)
			maxsize = opt.sizes[i];

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (opt.m_on[M_ZCDEV] || opt.m_on[M_LIBZC] || opt.m_on[M_ZCMORE] || opt.m_on[M_SENDV] ||
	    opt.m_on[M_LIBZCV]) {
		zcdev_fd = open("/dev/" ZCDEV_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
		int e = zc_open(&zch, NULL, ZC_OPEN_NOFALLBACK);

		if (zcdev_fd < 0 || e < 0) {
			fprintf(stderr, "zcbench: /dev/zcdev: %s: zcdev and libzc skipped\n",
				strerror(errno));
			opt.m_on[M_ZCDEV] = opt.m_on[M_LIBZC] = false;
			opt.m_on[M_ZCMORE] = opt.m_on[M_SENDV] = opt.m_on[M_LIBZCV] = false;
		}
	}

	if (opt.m_on[M_ZCDEVX]) {
		zcdevx_fd = open("/dev/zcdevx", O_RDONLY | O_CLOEXEC);
		if (zcdevx_fd < 0)
			die("/dev/zcdevx: %s (bench/exp.sh loads it)", strerror(errno));
	}

	printf("# zcbench %s: kernel %s (%s), %d cpus, reps %d, >= %" PRIu64
	       " bytes/measurement/conn, pipe %d\n", opt.mode, opt.kernel, un.release,
	       (int)sysconf(_SC_NPROCESSORS_ONLN), opt.reps, opt.target, opt.pipe_size);
	if (opt.hdr)
		printf("# suite hdr: one response per transfer = %zu-byte header + file body"
		       " of the cell's size + %zu-byte trailer; ratios against cork"
		       " (writev + sendfile under TCP_CORK)\n", opt.hdr_len, opt.trl_len);
	double tstart = now_s();

	for (f = 0; f < NR_FS; f++) {
		if (opt.fs_on[f] && !make_file(&fss[f], maxsize)) {
			if (!fs_default)
				die("%s: not available", fss[f].name);
			printf("# %s: not available, its cells skipped\n", fss[f].name);
			opt.fs_on[f] = false;
		}
	}
	calibrate();
	printf("# files ready (%.1f s)\n", now_s() - tstart);
	csv_header();

	int port = PORT_BASE;

	for (nt = 0; nt < NR_NET; nt++) {
		if (!opt.net_on[nt])
			continue;
		for (int ci = 0; ci < opt.nr_conns; ci++) {
			int nc = opt.conns[ci];

			group_open(&nets[nt], nc, port);
			port += nc;
			for (f = 0; f < NR_FS; f++) {
				if (!opt.fs_on[f])
					continue;
				struct meas w;
				int m;

				/* warm-up: every method once, 1 MiB, unmeasured */
				for (m = 0; m < M_NR && !opt.no_warmup; m++)
					if (opt.m_on[m])
						measure(m, &fss[f], maxsize < MiB ? maxsize : MiB, 1, &w);
				for (i = 0; i < opt.nr_sizes; i++) {
					uint64_t size = opt.sizes[i];
					uint64_t iters = opt.target / size;
					static struct cellres cr;
					int r;

					if (size * nc > opt.max_bytes) {
						if (opt.table)
							printf("\n== %s  %s  %s  conns=%d  size=%s: skipped"
							       " (size x conns > --max-bytes)\n", opt.kernel,
							       fss[f].name, nets[nt].name, nc,
							       size_str(size, (char[32]){ 0 }, 32));
						continue;
					}
					if (iters < 1)
						iters = 1;
					if (iters > opt.max_iters)
						iters = opt.max_iters;
					uint64_t pr0, co0, pr1, co1;

					memset(&cr, 0, sizeof(cr));
					tcp_ext(&pr0, &co0);
					for (r = 0; r < opt.reps; r++) {
						for (m = 0; m < M_NR; m++) {
							struct meas x;

							if (!opt.m_on[m])
								continue;
							if (measure(m, &fss[f], size, iters, &x) == 0)
								cr.ms[m][cr.n[m]++] = x;
						}
					}
					tcp_ext(&pr1, &co1);
					print_cell(fss[f].name, nets[nt].name, nc, size, iters, &cr);
					if (opt.table && (pr1 != pr0 || co1 != co0))
						printf("note: the receive side pruned its queue %" PRIu64
						       " times and collapsed %" PRIu64 " segments (copies)"
						       " during this cell\n", pr1 - pr0, co1 - co0);
					if (!opt.hdr && !opt.nic)
						record_goal(fss[f].name, nets[nt].name, nc, size, &cr);
				}
			}
			group_close();
		}
	}
	for (f = 0; f < NR_FS; f++)
		if (opt.fs_on[f])
			ovl_check(&fss[f]);
	print_goals();
	printf("# zcbench done in %.1f s (suite %s)\n", now_s() - tstart,
	       opt.hdr ? "hdr" : opt.nic ? "nic" : "file");
	return 0;
}
