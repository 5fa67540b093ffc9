// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_badinput: every kind of descriptor, on both sides of the ioctl,
 * the way LTP's splice07 walks them for splice(2) - plus argument-struct
 * hostility: odd alignments, wrong _IOC direction/type/size, and proof
 * that every out field is written by the kernel (nothing left over from
 * the caller or from kernel memory).
 *
 * Each failing call must give its documented errno and send nothing (a
 * marker written afterwards must be the first thing the receiver reads).
 * The same walks cover ZCDEV_IOC_SENDV (every fd kind as a segment's file
 * and as the socket, the segment array's pointer) and ZCDEV_IOC_PROBE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "zc_util.h"

struct kind {
	const char *name;
	int (*open)(void);
	/* errnos acceptable with this fd as the file (0: the call succeeds) */
	int file_errno[3];
	/* errnos acceptable with this fd as the socket */
	int sock_errno[3];
};

static char payload_path[256];

static int o_payload_wronly(void)
{
	return open(payload_path, O_WRONLY | O_CLOEXEC);
}

static int o_payload_opath(void)
{
	return open(payload_path, O_PATH | O_CLOEXEC);
}

static int o_dir(void)
{
	return open(zc_tmpfs_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int o_devzero(void)
{
	return open("/dev/zero", O_RDONLY | O_CLOEXEC);
}

static int o_proc_maps(void)
{
	return open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
}

static int o_pipe_r(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -1;
	close(p[1]);
	return p[0];
}

static int o_pipe_w(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -1;
	close(p[0]);
	return p[1];
}

static int o_tcp_unconn(void)
{
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int o_tcp_listen(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && listen(fd, 1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int o_udp(void)
{
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static int o_unix_dgram(void)
{
	int p[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p))
		return -1;
	close(p[1]);
	return p[0];
}

static int o_unix_seqpacket(void)
{
	int p[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p))
		return -1;
	close(p[1]);
	return p[0];
}

static int o_unix_unconn(void)
{
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int o_epoll(void)
{
	return epoll_create1(EPOLL_CLOEXEC);
}

static int o_eventfd(void)
{
	return eventfd(0, EFD_CLOEXEC);
}

static int o_signalfd(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	return signalfd(-1, &s, SFD_CLOEXEC);
}

static int o_timerfd(void)
{
	return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
}

static int o_pidfd(void)
{
	return syscall(SYS_pidfd_open, getpid(), 0);
}

static int o_inotify(void)
{
	return inotify_init1(IN_CLOEXEC);
}

static int o_memfd_secret(void)
{
	int fd = syscall(SYS_memfd_secret, 0);

	/* secretmem is off unless booted with secretmem.enable=1 */
	if (fd < 0)
		return -2;
	if (ftruncate(fd, 4096)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int o_io_uring(void)
{
	struct io_uring_params p = { 0 };

	int fd = syscall(__NR_io_uring_setup, 2, &p);

	return fd < 0 ? -2 : fd;	/* may be disabled by sysctl */
}

static int o_perf(void)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_DUMMY,
	};

	/*
	 * A CPU-wide event, not one on this task: a task event switches on
	 * the perf_sched_events static key, whose text patching (int3 into
	 * __schedule() on every CPU) TCG's multi-threaded vCPUs have been
	 * seen to trip over (a 6.12 guest died with "Oops: int3" in
	 * __schedule() here).  The descriptor is the same kind either way.
	 */
	int fd = syscall(__NR_perf_event_open, &a, -1, 0, -1, 0);

	return fd < 0 ? -2 : fd;
}

static int o_zcdev(void)
{
	return zc_open_dev();
}

static int o_closed(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

#define E(...) { __VA_ARGS__ }

static const struct kind kinds[] = {
	/* name		  open		   as file		     as socket */
	{ "wronly_file",  o_payload_wronly, E(EBADF),		     E(ENOTSOCK) },
	{ "o_path",	  o_payload_opath,  E(EBADF),		     E(EBADF, ENOTSOCK) },
	{ "directory",	  o_dir,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "dev_zero",	  o_devzero,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "proc_maps",	  o_proc_maps,	    E(0, EINVAL),	     E(ENOTSOCK) },
	{ "pipe_r",	  o_pipe_r,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "pipe_w",	  o_pipe_w,	    E(EBADF, EINVAL),	     E(ENOTSOCK) },
	{ "tcp_unconn",	  o_tcp_unconn,	    E(EINVAL),		     E(ENOTCONN) },
	{ "tcp6_listen",  o_tcp_listen,	    E(EINVAL),		     E(ENOTCONN) },
	{ "udp",	  o_udp,	    E(EINVAL),		     E(EINVAL) },
	{ "unix_dgram",	  o_unix_dgram,	    E(EINVAL),		     E(EINVAL) },
	{ "unix_seqpacket", o_unix_seqpacket, E(EINVAL),	     E(EINVAL) },
	{ "unix_unconn",  o_unix_unconn,    E(EINVAL),		     E(ENOTCONN) },
	{ "epoll",	  o_epoll,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "eventfd",	  o_eventfd,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "signalfd",	  o_signalfd,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "timerfd",	  o_timerfd,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "pidfd",	  o_pidfd,	    E(EINVAL, EBADF),	     E(ENOTSOCK) },
	{ "inotify",	  o_inotify,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "memfd_secret", o_memfd_secret,   E(EINVAL),		     E(ENOTSOCK) },
	{ "io_uring",	  o_io_uring,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "perf_event",	  o_perf,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "zcdev",	  o_zcdev,	    E(EINVAL),		     E(ENOTSOCK) },
	{ "closed",	  o_closed,	    E(EBADF),		     E(EBADF) },
};

static bool errno_in(const int *set, int e)
{
	for (int i = 0; i < 3; i++)
		if (set[i] == e && (e || i == 0))
			return true;
	return false;
}

FIXTURE(walk) {
	int dev;
	int file;
	struct zc_pair p;
};

FIXTURE_SETUP(walk)
{
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev);
	self->file = zc_make_payload_file(zc_tmpfs_dir(), 64 * 1024,
					  payload_path, sizeof(payload_path));
	ASSERT_LE(0, self->file) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(walk)
{
	zc_pair_close(&self->p);
	unlink(payload_path);
	close(self->file);
	close(self->dev);
}

/* Every kind of descriptor as the file: its errno, and nothing sent. */
TEST_F(walk, every_fd_as_file)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind *k = &kinds[i];
		struct zcdev_sendfile a;
		int fd = k->open(), ret, e;

		if (fd == -2) {
			TH_LOG("%s: not available on this kernel", k->name);
			continue;
		}
		ASSERT_TRUE(fd >= 0 || !strcmp(k->name, "closed"))
			TH_LOG("%s: %s", k->name, strerror(errno));
		ret = zc_sendfile_args(self->dev, fd, self->p.snd, 0, 4096, 0, &a);
		e = ret ? errno : 0;
		EXPECT_TRUE(errno_in(k->file_errno, e))
			TH_LOG("%s as file: got %s", k->name, e ? strerror(e) : "success");
		if (!ret) {
			struct zcdev_sendfile in = zc_sendfile_in(fd, self->p.snd,
								  0, 4096, 0);

			EXPECT_EQ(0, zc_report_check(&in, &a, 4096))
				TH_LOG("%s: %s", k->name, zc_errmsg());
			/* what it sent is readable: drain it */
			if (a.sent) {
				char buf[4096];

				ASSERT_EQ((ssize_t)a.sent,
					  zc_recv_exact(self->p.rcv, buf, a.sent, 5000));
			}
		}
		ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
			TH_LOG("%s: %s", k->name, zc_errmsg());
		if (fd >= 0)
			close(fd);
	}
}

/* Every kind of descriptor as the socket: its errno. */
TEST_F(walk, every_fd_as_socket)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind *k = &kinds[i];
		struct zcdev_sendfile a;
		int fd = k->open(), ret, e;

		if (fd == -2)
			continue;
		ret = zc_sendfile_args(self->dev, self->file, fd, 0, 4096, 0, &a);
		e = ret ? errno : 0;
		EXPECT_TRUE(errno_in(k->sock_errno, e))
			TH_LOG("%s as socket: got %s", k->name,
			       e ? strerror(e) : "success");
		if (fd >= 0)
			close(fd);
	}
}

/* Descriptors out of range and of the wrong sign. */
TEST_F(walk, fd_numbers)
{
	static const int bad[] = { -1, -100, INT_MIN, INT_MAX, 1 << 20 };
	struct zcdev_sendfile a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, zc_sendfile_args(self->dev, bad[i], self->p.snd,
					       0, 1, 0, &a));
		EXPECT_EQ(EBADF, errno);
		EXPECT_EQ(-1, zc_sendfile_args(self->dev, self->file, bad[i],
					       0, 1, 0, &a));
		EXPECT_EQ(EBADF, errno);
	}
}

/*
 * The argument at every alignment within 16 bytes: same result, out
 * fields written in place.
 */
TEST_F(walk, odd_alignments)
{
	static unsigned char raw[256] __attribute__((aligned(64)));
	struct zcdev_sendfile in = {
		.file_fd = self->file, .sock_fd = self->p.snd,
		.offset = 100, .len = 1000,
	};
	char buf[1000];

	for (int off = 0; off < 16; off++) {
		struct zcdev_sendfile out = in;

		memset(raw, 0xcc, sizeof(raw));
		zc_poison_out(&out);
		memcpy(raw + off, &out, sizeof(out));
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDFILE, raw + off))
			TH_LOG("alignment %d: %s", off, strerror(errno));
		memcpy(&out, raw + off, sizeof(out));
		ASSERT_EQ(1000ULL, out.sent) TH_LOG("alignment %d", off);
		ASSERT_EQ(0, zc_report_check(&in, &out, 1000))
			TH_LOG("alignment %d: %s", off, zc_errmsg());
		/* bytes around the struct untouched */
		for (int j = 0; j < off; j++)
			ASSERT_EQ(0xcc, raw[j]);
		for (size_t j = off + sizeof(out); j < sizeof(raw); j++)
			ASSERT_EQ(0xcc, raw[j]);
		ASSERT_EQ(1000, zc_recv_exact(self->p.rcv, buf, 1000, 5000));
		ASSERT_EQ(-1, zc_verify(buf, 1000, 100)) TH_LOG("%s", zc_errmsg());
	}
}

/*
 * Every out field is written by the kernel: two calls whose out fields
 * start from different garbage end with identical structs.  (Also
 * catches uninitialised kernel bytes copied out: they would differ.)
 */
TEST_F(walk, out_fields_fully_written)
{
	static const unsigned char garbage[] = { 0x00, 0xcc, 0xff, 0x5a };
	struct zcdev_sendfile first, a;
	char buf[4096];

	for (size_t g = 0; g < sizeof(garbage); g++) {
		memset(&a, garbage[g], sizeof(a));
		a.file_fd = self->file;
		a.sock_fd = self->p.snd;
		a.offset = 4096;
		a.len = 4000;
		a.flags = 0;
		a.reserved = 0;
		a.reserved1 = 0;
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &a));
		if (!g)
			first = a;
		ASSERT_EQ(0, memcmp(&first, &a, sizeof(a)))
			TH_LOG("garbage %#x shows through", garbage[g]);
		ASSERT_EQ(4000, zc_recv_exact(self->p.rcv, buf, 4000, 5000));
	}
	/* and on the STRICT refusal path too, against a copying source */
	{
		int proc = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

		ASSERT_LE(0, proc);
		for (size_t g = 0; g < sizeof(garbage); g++) {
			memset(&a, garbage[g], sizeof(a));
			a.file_fd = proc;
			a.sock_fd = self->p.snd;
			a.offset = 0;
			a.len = 100;
			a.flags = ZCDEV_SEND_STRICT;
			a.reserved = 0;
			a.reserved1 = 0;
			ASSERT_EQ(-1, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &a));
			ASSERT_EQ(EOPNOTSUPP, errno);
			if (!g)
				first = a;
			ASSERT_EQ(0, memcmp(&first, &a, sizeof(a)));
			ASSERT_EQ(0ULL, a.sent);
			ASSERT_EQ((unsigned int)ZCDEV_WHY_NO_PAGECACHE, a.why);
		}
		close(proc);
	}
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
		TH_LOG("%s", zc_errmsg());
}

/* ---- ZCDEV_IOC_SENDV and ZCDEV_IOC_PROBE ----------------------------------- */

static int sendv_args(int dev, int sock, const struct zcdev_seg *segs,
		      unsigned int n, uint32_t flags, struct zcdev_sendv *r)
{
	memset(r, 0, sizeof(*r));
	r->segs = (uint64_t)(uintptr_t)segs;
	r->nr_segs = n;
	r->sock_fd = sock;
	r->flags = flags;
	return zct_sendv(dev, r);
}

static char hdr[64] = "HTTP/1.1 200 OK\r\n";

/*
 * Every kind of descriptor as the file of a SENDV segment that follows a
 * good memory segment: the file's errno, and the memory segment was not
 * sent either (validation comes first).
 */
TEST_F(walk, every_fd_as_segment_file)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind *k = &kinds[i];
		struct zcdev_sendv a;
		int fd = k->open(), ret, e;
		struct zcdev_seg segs[2] = {
			zct_seg_mem(hdr, sizeof(hdr)),
			zct_seg_file(fd, 0, 4096),
		};

		if (fd == -2)
			continue;
		ASSERT_TRUE(fd >= 0 || !strcmp(k->name, "closed"))
			TH_LOG("%s: %s", k->name, strerror(errno));
		ret = sendv_args(self->dev, self->p.snd, segs, 2, 0, &a);
		e = ret ? errno : 0;
		EXPECT_TRUE(errno_in(k->file_errno, e))
			TH_LOG("%s as segment file: got %s", k->name,
			       e ? strerror(e) : "success");
		if (!ret && a.sent) {
			char buf[4096 + sizeof(hdr)];

			ASSERT_EQ((ssize_t)a.sent,
				  zc_recv_exact(self->p.rcv, buf, a.sent, 5000));
			ASSERT_EQ(0, memcmp(buf, hdr, sizeof(hdr)));
		}
		ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
			TH_LOG("%s: %s", k->name, zc_errmsg());
		if (fd >= 0)
			close(fd);
	}
}

/* Every kind of descriptor as the SENDV socket: the socket side's errno. */
TEST_F(walk, every_fd_as_sendv_socket)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind *k = &kinds[i];
		struct zcdev_seg segs[2] = {
			zct_seg_mem(hdr, sizeof(hdr)),
			zct_seg_file(self->file, 0, 4096),
		};
		struct zcdev_sendv a;
		int fd = k->open(), ret, e;

		if (fd == -2)
			continue;
		ret = sendv_args(self->dev, fd, segs, 2, 0, &a);
		e = ret ? errno : 0;
		EXPECT_TRUE(errno_in(k->sock_errno, e))
			TH_LOG("%s as sendv socket: got %s", k->name,
			       e ? strerror(e) : "success");
		if (fd >= 0)
			close(fd);
	}
}

/* Every kind of descriptor as the probe's file and as its socket. */
TEST_F(walk, every_fd_in_probe)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind *k = &kinds[i];
		struct zcdev_probe pr;
		int fd = k->open(), ret, e;

		if (fd == -2)
			continue;
		ret = zc_probe_args(self->dev, self->p.snd, fd, 0, &pr);
		e = ret ? errno : 0;
		EXPECT_TRUE(errno_in(k->file_errno, e))
			TH_LOG("%s as probe file: got %s", k->name,
			       e ? strerror(e) : "success");
		if (!ret) {
			EXPECT_TRUE(pr.path == ZCDEV_PATH_ZEROCOPY ||
				    pr.path == ZCDEV_PATH_COPY)
				TH_LOG("%s: %s", k->name, zc_probe_str(&pr));
		}
		ret = zc_probe_args(self->dev, fd, -1, 0, &pr);
		e = ret ? errno : 0;
		EXPECT_TRUE(errno_in(k->sock_errno, e))
			TH_LOG("%s as probe socket: got %s", k->name,
			       e ? strerror(e) : "success");
		if (fd >= 0)
			close(fd);
	}
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
		TH_LOG("%s", zc_errmsg());
}

/* Descriptor numbers out of range, in segments, as sockets, in probes. */
TEST_F(walk, fd_numbers_sendv_probe)
{
	static const int bad[] = { -1, -100, INT_MIN, INT_MAX, 1 << 20 };
	struct zcdev_sendv a;
	struct zcdev_probe pr;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct zcdev_seg segs[2] = {
			zct_seg_mem(hdr, 10),
			zct_seg_file(bad[i], 0, 1),
		};

		EXPECT_EQ(-1, sendv_args(self->dev, self->p.snd, segs, 2, 0, &a));
		EXPECT_EQ(EBADF, errno) TH_LOG("segment file_fd %d", bad[i]);
		segs[1] = zct_seg_file(self->file, 0, 1);
		EXPECT_EQ(-1, sendv_args(self->dev, bad[i], segs, 2, 0, &a));
		EXPECT_EQ(EBADF, errno) TH_LOG("sendv sock_fd %d", bad[i]);
		if (bad[i] != -1) {
			EXPECT_EQ(-1, zc_probe_args(self->dev, bad[i], -1, 0, &pr));
			EXPECT_EQ(EBADF, errno) TH_LOG("probe sock_fd %d", bad[i]);
		}
		EXPECT_EQ(-1, zc_probe_args(self->dev, self->p.snd, bad[i] == -1 ?
					    -2 : bad[i], 0, &pr));
		EXPECT_EQ(EBADF, errno) TH_LOG("probe file_fd %d", bad[i]);
	}
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
		TH_LOG("%s", zc_errmsg());
}

/*
 * SENDV's struct and its segment array at every alignment within 16
 * bytes: same result, out fields written in place, nothing around them.
 */
TEST_F(walk, sendv_odd_alignments)
{
	static unsigned char raw[256] __attribute__((aligned(64)));
	static unsigned char segraw[3 * sizeof(struct zcdev_seg) + 16]
		__attribute__((aligned(64)));
	struct zcdev_seg segs[3] = {
		zct_seg_mem(hdr, 17),
		zct_seg_file(self->file, 100, 1000),
		zct_seg_mem(hdr + 20, 3),
	};
	char buf[1020], exp[1020];

	memcpy(exp, hdr, 17);
	zc_payload_fill(exp + 17, 100, 1000);
	memcpy(exp + 1017, hdr + 20, 3);
	for (int off = 0; off < 16; off++) {
		int soff = 15 - off;
		struct zcdev_sendv in = {
			.segs = (uint64_t)(uintptr_t)(segraw + soff),
			.nr_segs = 3, .sock_fd = self->p.snd,
		}, out = in;

		memset(raw, 0xcc, sizeof(raw));
		memset(segraw, 0xcc, sizeof(segraw));
		memcpy(segraw + soff, segs, sizeof(segs));
		zc_poison_sendv_out(&out);
		memcpy(raw + off, &out, sizeof(out));
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDV, raw + off))
			TH_LOG("alignment %d/%d: %s", off, soff, strerror(errno));
		memcpy(&out, raw + off, sizeof(out));
		ASSERT_EQ(0, zc_sendv_report_check(&in, &out, segs, 1020))
			TH_LOG("alignment %d/%d: %s", off, soff, zc_errmsg());
		ASSERT_EQ(1020ULL, out.sent);
		for (int j = 0; j < off; j++)
			ASSERT_EQ(0xcc, raw[j]);
		for (size_t j = off + sizeof(out); j < sizeof(raw); j++)
			ASSERT_EQ(0xcc, raw[j]);
		/* the segment array is only read */
		ASSERT_EQ(0, memcmp(segraw + soff, segs, sizeof(segs)));
		ASSERT_EQ(1020, zc_recv_exact(self->p.rcv, buf, 1020, 5000));
		ASSERT_EQ(0, memcmp(buf, exp, 1020));
	}
}

TEST_F(walk, probe_odd_alignments)
{
	static unsigned char raw[128] __attribute__((aligned(64)));

	for (int off = 0; off < 16; off++) {
		struct zcdev_probe in = { .sock_fd = self->p.snd,
					  .file_fd = self->file }, out = in;

		memset(raw, 0xcc, sizeof(raw));
		zc_poison_probe_out(&out);
		memcpy(raw + off, &out, sizeof(out));
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_PROBE, raw + off))
			TH_LOG("alignment %d: %s", off, strerror(errno));
		memcpy(&out, raw + off, sizeof(out));
		ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, out.path)
			TH_LOG("alignment %d: %s", off, zc_probe_str(&out));
		ASSERT_EQ(0U, out.why);
		ASSERT_EQ((uint32_t)ZCDEV_SEND_FLAGS_ALL, out.send_flags);
		ASSERT_EQ((uint32_t)ZCDEV_WHY_ALL, out.why_known);
		ASSERT_EQ(0, memcmp(&in, &out, offsetof(struct zcdev_probe, path)));
		for (int j = 0; j < off; j++)
			ASSERT_EQ(0xcc, raw[j]);
		for (size_t j = off + sizeof(out); j < sizeof(raw); j++)
			ASSERT_EQ(0xcc, raw[j]);
	}
}

/*
 * SENDV's and PROBE's out fields are written by the kernel: calls whose
 * out fields start from different garbage end with identical structs -
 * on success, on a partial (EOF) send, and on STRICT's refusal.
 */
TEST_F(walk, sendv_probe_out_fields_fully_written)
{
	static const unsigned char garbage[] = { 0x00, 0xcc, 0xff, 0x5a };
	int proc = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	struct zcdev_seg ok[2] = {
		zct_seg_mem(hdr, 10), zct_seg_file(self->file, 4096, 4000),
	};
	struct zcdev_seg eof[3] = {
		zct_seg_mem(hdr, 10), zct_seg_file(self->file, 64 * 1024 - 5, 100),
		zct_seg_mem(hdr, 10),
	};
	struct zcdev_seg refused[2] = {
		zct_seg_mem(hdr, 10), zct_seg_file(proc, 0, 100),
	};
	const struct {
		const char *what;
		struct zcdev_seg *segs;
		unsigned int n;
		uint32_t flags;
		int ret, err;
		uint64_t sent;
	} c[] = {
		{ "success", ok, 2, 0, 0, 0, 4010 },
		{ "EOF", eof, 3, 0, 0, 0, 15 },
		{ "STRICT refusal", refused, 2, ZCDEV_SEND_STRICT, -1, EOPNOTSUPP, 0 },
	};
	char buf[4096 + 16];

	ASSERT_LE(0, proc);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct zcdev_sendv first, a;

		for (size_t g = 0; g < sizeof(garbage); g++) {
			int ret;

			memset(&a, garbage[g], sizeof(a));
			a.segs = (uint64_t)(uintptr_t)c[i].segs;
			a.nr_segs = c[i].n;
			a.sock_fd = self->p.snd;
			a.flags = c[i].flags;
			a.reserved = 0;
			ret = ioctl(self->dev, ZCDEV_IOC_SENDV, &a);
			ASSERT_EQ(c[i].ret, ret) TH_LOG("%s: errno %d (%s)",
							c[i].what, errno,
							strerror(errno));
			if (ret) {
				ASSERT_EQ(c[i].err, errno) TH_LOG("%s", c[i].what);
			}
			if (!g)
				first = a;
			ASSERT_EQ(0, memcmp(&first, &a, sizeof(a)))
				TH_LOG("%s: garbage %#x shows through: %s",
				       c[i].what, garbage[g],
				       zc_sendv_report_str(&a));
			ASSERT_EQ(c[i].sent, a.sent) TH_LOG("%s: %s", c[i].what,
							    zc_sendv_report_str(&a));
			if (a.sent) {
				ASSERT_EQ((ssize_t)a.sent,
					  zc_recv_exact(self->p.rcv, buf, a.sent, 5000));
			}
		}
	}
	for (size_t g = 0; g < sizeof(garbage); g++) {
		struct zcdev_probe first, pr;

		memset(&pr, garbage[g], sizeof(pr));
		pr.sock_fd = self->p.snd;
		pr.file_fd = proc;
		pr.flags = 0;
		pr.reserved = 0;
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_PROBE, &pr));
		if (!g)
			first = pr;
		ASSERT_EQ(0, memcmp(&first, &pr, sizeof(pr)))
			TH_LOG("probe: garbage %#x shows through: %s", garbage[g],
			       zc_probe_str(&pr));
		ASSERT_EQ((uint32_t)ZCDEV_WHY_NO_PAGECACHE, pr.why);
	}
	close(proc);
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
		TH_LOG("%s", zc_errmsg());
}

/*
 * Bad argument pointers: the SENDV and PROBE structs unreadable (NULL,
 * PROT_NONE, unmapped, straddling into PROT_NONE) or not writable
 * (read-only: the report could not be returned, so nothing may be sent),
 * and SENDV's segment array unreadable.  All -EFAULT, nothing sent.
 */
TEST_F(walk, sendv_probe_bad_pointers)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct zcdev_seg segs[2] = {
		zct_seg_mem(hdr, 10), zct_seg_file(self->file, 0, 100),
	};
	struct zcdev_sendv sv = {
		.segs = (uint64_t)(uintptr_t)segs, .nr_segs = 2,
		.sock_fd = self->p.snd,
	};
	struct zcdev_probe pr = { .sock_fd = self->p.snd, .file_fd = self->file };
	uint8_t *ro;

	ASSERT_NE(MAP_FAILED, map);
	/* page 0 rw, page 1 PROT_NONE, page 2 unmapped, page 3 read-only */
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));
	ASSERT_EQ(0, munmap(map + 2 * pg, pg));
	ro = map + 3 * pg;
	memcpy(ro, &sv, sizeof(sv));
	memcpy(ro + 256, &pr, sizeof(pr));
	ASSERT_EQ(0, mprotect(ro, pg, PROT_READ));
	memcpy(map + pg - 40, &sv, 40);
	{
		const struct { const char *what; unsigned long cmd; void *p; } c[] = {
			{ "sendv NULL", ZCDEV_IOC_SENDV, NULL },
			{ "sendv PROT_NONE", ZCDEV_IOC_SENDV, map + pg },
			{ "sendv unmapped", ZCDEV_IOC_SENDV, map + 2 * pg },
			{ "sendv straddling", ZCDEV_IOC_SENDV, map + pg - 40 },
			{ "sendv read-only", ZCDEV_IOC_SENDV, ro },
			{ "sendv kernel", ZCDEV_IOC_SENDV, (void *)0xffff888000000000UL },
			{ "probe NULL", ZCDEV_IOC_PROBE, NULL },
			{ "probe PROT_NONE", ZCDEV_IOC_PROBE, map + pg },
			{ "probe unmapped", ZCDEV_IOC_PROBE, map + 2 * pg },
			{ "probe straddling", ZCDEV_IOC_PROBE, map + pg - 16 },
			{ "probe read-only", ZCDEV_IOC_PROBE, ro + 256 },
		};

		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			int ret = ioctl(self->dev, c[i].cmd, c[i].p);

			EXPECT_EQ(-1, ret) TH_LOG("%s: succeeded", c[i].what);
			if (ret == -1) {
				EXPECT_EQ(EFAULT, errno) TH_LOG("%s: errno %d (%s)",
								c[i].what, errno,
								strerror(errno));
			}
			ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
				TH_LOG("%s: %s", c[i].what, zc_errmsg());
		}
	}
	/* the segment array: unreadable, or running into PROT_NONE */
	{
		struct zcdev_seg *edge = (struct zcdev_seg *)(map + pg) - 1;
		const struct { const char *what; void *segs; unsigned int n; } c[] = {
			{ "segs NULL", NULL, 1 },
			{ "segs PROT_NONE", map + pg, 2 },
			{ "segs unmapped", map + 2 * pg, 2 },
			{ "segs into PROT_NONE", edge, 2 },
			{ "segs kernel", (void *)0xffff888000000000UL, 1 },
			{ "segs misaligned into PROT_NONE", (uint8_t *)edge - 3, 2 },
		};

		*edge = segs[0];
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			struct zcdev_sendv a;
			int ret = sendv_args(self->dev, self->p.snd, c[i].segs,
					     c[i].n, 0, &a);

			EXPECT_EQ(-1, ret) TH_LOG("%s: succeeded", c[i].what);
			if (ret == -1) {
				EXPECT_EQ(EFAULT, errno) TH_LOG("%s: errno %d (%s)",
								c[i].what, errno,
								strerror(errno));
			}
			ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
				TH_LOG("%s: %s", c[i].what, zc_errmsg());
		}
	}
	munmap(map, 2 * pg);
	munmap(ro, pg);
}

/* Wrong direction, type or number: ENOTTY, nothing touched. */
TEST_F(walk, wrong_ioc)
{
	struct zcdev_sendfile a = {
		.file_fd = self->file, .sock_fd = self->p.snd, .len = 10,
	};
	static const unsigned long cmds[] = {
		_IOR(ZCDEV_IOC_MAGIC, 0x01, struct zcdev_sendfile),
		_IOW(ZCDEV_IOC_MAGIC, 0x01, struct zcdev_sendfile),
		_IO(ZCDEV_IOC_MAGIC, 0x01),
		_IOWR(ZCDEV_IOC_MAGIC, 0x00, struct zcdev_sendfile),
		_IOWR(ZCDEV_IOC_MAGIC, 0x04, struct zcdev_sendfile),
		_IOWR(ZCDEV_IOC_MAGIC, 0xff, struct zcdev_sendfile),
		/* PROBE and SENDV in the wrong direction */
		_IOR(ZCDEV_IOC_MAGIC, 0x02, struct zcdev_probe),
		_IOW(ZCDEV_IOC_MAGIC, 0x02, struct zcdev_probe),
		_IO(ZCDEV_IOC_MAGIC, 0x02),
		_IOR(ZCDEV_IOC_MAGIC, 0x03, struct zcdev_sendv),
		_IOW(ZCDEV_IOC_MAGIC, 0x03, struct zcdev_sendv),
		_IO(ZCDEV_IOC_MAGIC, 0x03),
		_IOWR(ZCDEV_IOC_MAGIC + 1, 0x01, struct zcdev_sendfile),
		_IOWR('T', 0x01, struct zcdev_sendfile),
		TCGETS, FIONREAD, 0,	/* (FIONBIO & co. are the VFS's, not ours) */
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct zcdev_sendfile b = a;

		EXPECT_EQ(-1, ioctl(self->dev, cmds[i], &b));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx: %s", cmds[i],
						strerror(errno));
		EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));
	}
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
		TH_LOG("%s", zc_errmsg());
}

/* Offsets and lengths at the edges of the types. */
TEST_F(walk, offset_len_edges)
{
	static const struct {
		uint64_t off, len;
		int err;		/* 0: success */
		uint64_t sent;
	} c[] = {
		{ 0, 0, 0, 0 },
		{ 64 * 1024, 1, 0, 0 },			/* at EOF */
		{ 64 * 1024 + 1, UINT64_MAX, 0, 0 },	/* past EOF */
		{ (uint64_t)LLONG_MAX, UINT64_MAX, 0, 0 },
		{ (uint64_t)LLONG_MAX + 1, 1, EINVAL, 0 },
		{ UINT64_MAX, 1, EINVAL, 0 },
		{ UINT64_MAX, 0, EINVAL, 0 },
		{ 65535, UINT64_MAX, 0, 1 },		/* clamped at EOF */
		{ 1, UINT64_MAX - 1, 0, 64 * 1024 - 1 },
	};
	char buf[64 * 1024];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct zcdev_sendfile a, in;
		int ret = zc_sendfile_args(self->dev, self->file, self->p.snd,
					   c[i].off, c[i].len, 0, &a);

		if (c[i].err) {
			EXPECT_EQ(-1, ret) TH_LOG("case %zu", i);
			EXPECT_EQ(c[i].err, errno) TH_LOG("case %zu", i);
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("case %zu: %s", i, strerror(errno));
		ASSERT_EQ(c[i].sent, a.sent) TH_LOG("case %zu", i);
		in = zc_sendfile_in(self->file, self->p.snd, c[i].off, c[i].len, 0);
		ASSERT_EQ(0, zc_report_check(&in, &a, c[i].sent)) TH_LOG("%s", zc_errmsg());
		if (a.sent) {
			ASSERT_EQ((ssize_t)a.sent,
				  zc_recv_exact(self->p.rcv, buf, a.sent, 5000));
			ASSERT_EQ(-1, zc_verify(buf, a.sent, c[i].off))
				TH_LOG("%s", zc_errmsg());
		}
	}
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, 5000))
		TH_LOG("%s", zc_errmsg());
}

TEST_HARNESS_MAIN
