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

	int fd = syscall(__NR_perf_event_open, &a, 0, -1, -1, 0);

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
			EXPECT_EQ(0, zc_report_check(&a, &a, 4096))
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
		_IOWR(ZCDEV_IOC_MAGIC, 0xff, struct zcdev_sendfile),
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
		struct zcdev_sendfile a;
		int ret = zc_sendfile_args(self->dev, self->file, self->p.snd,
					   c[i].off, c[i].len, 0, &a);

		if (c[i].err) {
			EXPECT_EQ(-1, ret) TH_LOG("case %zu", i);
			EXPECT_EQ(c[i].err, errno) TH_LOG("case %zu", i);
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("case %zu: %s", i, strerror(errno));
		ASSERT_EQ(c[i].sent, a.sent) TH_LOG("case %zu", i);
		ASSERT_EQ(0, zc_report_check(&a, &a, c[i].sent)) TH_LOG("%s", zc_errmsg());
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
