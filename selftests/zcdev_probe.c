// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_probe: kselftest-harness tests of ZCDEV_IOC_PROBE (issue 7).
 *
 *   basic.*   the module-only probe (sock_fd -1), the struct ABI, every
 *             error, and that a probe never sends a byte
 *   agree.*   per network (lo4/lo6/unix/veth4/veth6/nosg4/nosg6/kTLS):
 *             what the probe predicts for a tmpfs, ext4, procfs and
 *             O_DIRECT file (and for no file) is what a real send made
 *             right after reports, and what the network must give; NOTIFY
 *             adds ZCDEV_WHY_NOTIFY exactly where the send copies for it
 *
 * Runs only inside the QEMU guests (vm/), never on the host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define IDLE_MS 10000
#define DEV_WHY (ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM)

static const struct zc_pair_opts big_bufs = {
	.rcvbuf = 16 * MiB, .sndbuf = 16 * MiB,
};

/* every out field of a successful probe: known values only, no poison */
static int probe_sane(const struct zcdev_probe *in, const struct zcdev_probe *p)
{
	if (p->sock_fd != in->sock_fd || p->file_fd != in->file_fd ||
	    p->flags != in->flags || p->reserved != in->reserved) {
		zc_seterr(false, "in fields changed: %s", zc_probe_str(p));
		return -1;
	}
	if (p->send_flags != ZCDEV_SEND_FLAGS_ALL ||
	    p->why_known != ZCDEV_WHY_ALL) {
		zc_seterr(false, "send_flags/why_known: %s", zc_probe_str(p));
		return -1;
	}
	if (p->why & ~ZCDEV_WHY_ALL) {
		zc_seterr(false, "unknown why bits: %s", zc_probe_str(p));
		return -1;
	}
	if (p->sock_fd == -1) {
		if (p->path != ZCDEV_PATH_NONE || p->why) {
			zc_seterr(false, "no socket, yet a path: %s",
				  zc_probe_str(p));
			return -1;
		}
		return 0;
	}
	if (p->path == ZCDEV_PATH_ZEROCOPY && !p->why)
		return 0;
	if (p->path == ZCDEV_PATH_COPY && p->why)
		return 0;
	zc_seterr(false, "path and why disagree: %s", zc_probe_str(p));
	return -1;
}

#define PROBE_OK(sk_, fl_, fg_, out_) do {				\
	struct zcdev_probe __in = { .sock_fd = (sk_), .file_fd = (fl_), \
				    .flags = (fg_) };			\
	ASSERT_EQ(0, zc_probe_args(self->dev, (sk_), (fl_), (fg_), (out_))) \
		TH_LOG("probe sock %d file %d flags 0x%x: errno %d (%s)", \
		       (sk_), (fl_), (fg_), errno, strerror(errno)); \
	ASSERT_EQ(0, probe_sane(&__in, (out_))) TH_LOG("%s", zc_errmsg()); \
} while (0)

/* ===================================================================== */
/* basic                                                                  */
/* ===================================================================== */

FIXTURE(basic) {
	int dev;
	int fd;
	char path[PATH_MAX];
	struct zc_pair p;
};

FIXTURE_SETUP(basic)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), 64 * KiB, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(basic)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

#define ASSERT_NOTHING_SENT() \
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS)) \
		TH_LOG("%s", zc_errmsg())

TEST_F(basic, struct_layout)
{
	ASSERT_EQ(32U, sizeof(struct zcdev_probe));
	ASSERT_EQ((unsigned)ZCDEV_PROBE_SIZE_VER0, sizeof(struct zcdev_probe));
	ASSERT_EQ(0U, offsetof(struct zcdev_probe, sock_fd));
	ASSERT_EQ(4U, offsetof(struct zcdev_probe, file_fd));
	ASSERT_EQ(8U, offsetof(struct zcdev_probe, flags));
	ASSERT_EQ(12U, offsetof(struct zcdev_probe, path));
	ASSERT_EQ(16U, offsetof(struct zcdev_probe, why));
	ASSERT_EQ(20U, offsetof(struct zcdev_probe, send_flags));
	ASSERT_EQ(24U, offsetof(struct zcdev_probe, why_known));
	ASSERT_EQ(28U, offsetof(struct zcdev_probe, reserved));
	ASSERT_EQ((unsigned long)ZCDEV_IOC_PROBE,
		  (unsigned long)ZC_IOC_PROBE_SIZED(32));
}

/* sock_fd -1: only the module's capabilities */
TEST_F(basic, module_only)
{
	const uint32_t flags[] = { 0, ZCDEV_SEND_NOTIFY, ZCDEV_SEND_FLAGS_ALL };
	struct zcdev_probe p;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		PROBE_OK(-1, -1, flags[i], &p);
		ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, p.path) TH_LOG("%s", zc_probe_str(&p));
		ASSERT_EQ(0U, p.why) TH_LOG("%s", zc_probe_str(&p));
		ASSERT_EQ((uint32_t)ZCDEV_SEND_FLAGS_ALL, p.send_flags);
		ASSERT_EQ((uint32_t)ZCDEV_WHY_ALL, p.why_known);
	}
	/* a file without a socket is not a question the probe answers */
	ASSERT_EQ(-1, zc_probe_args(self->dev, -1, self->fd, 0, &p))
		TH_LOG("sock -1 with a file accepted: %s", zc_probe_str(&p));
	ASSERT_EQ(EINVAL, errno);
}

/* struct sizes: as the other ioctls */
TEST_F(basic, struct_sizes)
{
	const struct { unsigned int size; int at; int err; } c[] = {
		{ 0, -1, EINVAL }, { 16, -1, EINVAL }, { 31, -1, EINVAL },
		{ 32, -1, 0 }, { 40, -1, 0 }, { 4096, -1, 0 },
		{ 40, 32, E2BIG }, { 40, 39, E2BIG }, { 4096, 4095, E2BIG },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		unsigned int sz = c[i].size;
		uint8_t *b = calloc(1, sz + 64 + sizeof(struct zcdev_probe));
		struct zcdev_probe a = { .sock_fd = self->p.snd, .file_fd = self->fd },
				   in = a, r;
		int ret;

		ASSERT_NE(NULL, b);
		zc_poison_probe_out(&a);
		memcpy(b, &a, sizeof(a));
		if (c[i].at >= 0)
			b[c[i].at] = 1;
		memset(b + sz, 0xa5, 64);
		ret = ioctl(self->dev, ZC_IOC_PROBE_SIZED(sz), b);
		for (unsigned int j = sz; j < sz + 64; j++) {
			ASSERT_EQ(0xa5, b[j]) TH_LOG("size %u: byte %u after the struct written",
						     sz, j);
		}
		if (c[i].err) {
			EXPECT_EQ(-1, ret) TH_LOG("size %u accepted", sz);
			if (ret == -1) {
				EXPECT_EQ(c[i].err, errno) TH_LOG("size %u: errno %d (%s)",
								  sz, errno, strerror(errno));
			}
		} else {
			ASSERT_EQ(0, ret) TH_LOG("size %u: errno %d (%s)", sz, errno,
						 strerror(errno));
			memcpy(&r, b, sizeof(r));
			ASSERT_EQ(0, probe_sane(&in, &r)) TH_LOG("size %u: %s", sz,
								 zc_errmsg());
			ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path);
			for (unsigned int j = sizeof(r); j < sz; j++) {
				ASSERT_EQ(0, b[j]) TH_LOG("size %u: tail byte %u written",
							  sz, j);
			}
		}
		free(b);
	}
	ASSERT_NOTHING_SENT();
}

#define EXPECT_PROBE_ERR(err, sock, file, flg, what) do {		\
	struct zcdev_probe __p;						\
	int __ret = zc_probe_args(self->dev, (sock), (file), (flg), &__p); \
	int __e = errno;						\
	EXPECT_EQ(-1, __ret) TH_LOG("%s: expected %s, succeeded: %s",	\
				    what, #err, zc_probe_str(&__p));	\
	if (__ret == -1) {						\
		EXPECT_EQ(err, __e) TH_LOG("%s: expected %s, got %d (%s)", \
					   what, #err, __e, strerror(__e)); \
	}								\
} while (0)

TEST_F(basic, errors)
{
	int closed, wronly, opath, dir, pfd[2], sv[2];
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int t4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int t6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int un = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = self->p.snd, f = self->fd;

	ASSERT_LE(0, udp);
	ASSERT_LE(0, t4);
	ASSERT_LE(0, t6);
	ASSERT_LE(0, lst);
	ASSERT_LE(0, un);
	ASSERT_EQ(0, bind(lst, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(lst, 1));
	closed = fcntl(self->fd, F_DUPFD_CLOEXEC, 900);
	ASSERT_LE(900, closed);
	close(closed);
	wronly = zc_reopen(self->fd, O_WRONLY);
	ASSERT_LE(0, wronly);
	opath = open(self->path, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, opath);
	dir = open(zc_tmpfs_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dir);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));

	/* the socket */
	EXPECT_PROBE_ERR(EBADF, -2, -1, 0, "sock_fd -2");
	EXPECT_PROBE_ERR(EBADF, closed, -1, 0, "closed sock_fd");
	EXPECT_PROBE_ERR(EBADF, INT_MAX, -1, 0, "sock_fd INT_MAX");
	EXPECT_PROBE_ERR(EBADF, INT_MIN, -1, 0, "sock_fd INT_MIN");
	EXPECT_PROBE_ERR(ENOTSOCK, f, -1, 0, "regular file as socket");
	EXPECT_PROBE_ERR(ENOTSOCK, pfd[1], -1, 0, "pipe as socket");
	EXPECT_PROBE_ERR(ENOTSOCK, self->dev, -1, 0, "/dev/zcdev as socket");
	EXPECT_PROBE_ERR(EINVAL, udp, -1, 0, "UDP socket");
	EXPECT_PROBE_ERR(EINVAL, sv[0], -1, 0, "unix datagram socket");
	EXPECT_PROBE_ERR(ENOTCONN, t4, -1, 0, "unconnected tcp4");
	EXPECT_PROBE_ERR(ENOTCONN, t6, -1, 0, "unconnected tcp6");
	EXPECT_PROBE_ERR(ENOTCONN, lst, -1, 0, "listening tcp4");
	EXPECT_PROBE_ERR(ENOTCONN, un, -1, 0, "unconnected unix");
	/* the file */
	EXPECT_PROBE_ERR(EBADF, s, -2, 0, "file_fd -2");
	EXPECT_PROBE_ERR(EBADF, s, closed, 0, "closed file_fd");
	EXPECT_PROBE_ERR(EBADF, s, wronly, 0, "write-only file");
	EXPECT_PROBE_ERR(EBADF, s, opath, 0, "O_PATH file");
	EXPECT_PROBE_ERR(EINVAL, s, dir, 0, "directory as file");
	EXPECT_PROBE_ERR(EINVAL, s, pfd[0], 0, "pipe as file");
	EXPECT_PROBE_ERR(EINVAL, s, self->p.rcv, 0, "socket as file");
	/* flags and reserved */
	EXPECT_PROBE_ERR(EINVAL, s, f, 1U << 5, "flags 1<<5");
	EXPECT_PROBE_ERR(EINVAL, s, f, 1U << 31, "flags 1<<31");
	EXPECT_PROBE_ERR(EINVAL, s, f, ~ZCDEV_SEND_FLAGS_ALL, "flags ~ALL");
	EXPECT_PROBE_ERR(EINVAL, -1, -1, 1U << 9, "module-only, bad flags");
	{
		const uint32_t res[] = { 1, 0x80000000U, 0xffffffffU };

		for (unsigned int i = 0; i < ARRAY_SIZE(res); i++) {
			struct zcdev_probe p = { .sock_fd = s, .file_fd = f,
						 .reserved = res[i] };
			int ret;

			zc_poison_probe_out(&p);
			ret = ioctl(self->dev, ZCDEV_IOC_PROBE, &p);
			EXPECT_EQ(-1, ret) TH_LOG("reserved 0x%x accepted", res[i]);
			if (ret == -1) {
				EXPECT_EQ(EINVAL, errno);
			}
		}
	}
	/* and the pointer */
	EXPECT_EQ(-1, ioctl(self->dev, ZCDEV_IOC_PROBE, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(udp);
	close(t4);
	close(t6);
	close(lst);
	close(un);
	close(wronly);
	close(opath);
	close(dir);
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(0, zc_sigpipe_count());
	ASSERT_NOTHING_SENT();
}

/* many probes with every flag: not one byte reaches the receiver */
TEST_F(basic, sends_nothing)
{
	const uint32_t flags[] = { 0, ZCDEV_SEND_MORE, ZCDEV_SEND_NOTIFY,
				   ZCDEV_SEND_STRICT, ZCDEV_SEND_FLAGS_ALL };
	struct zcdev_probe p;

	for (int k = 0; k < 20; k++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
			PROBE_OK(self->p.snd, self->fd, flags[i], &p);
			PROBE_OK(self->p.snd, -1, flags[i], &p);
		}
	}
	ASSERT_EQ(0, zc_outq(self->p.snd));
	ASSERT_EQ(0, zc_inq(self->p.rcv));
	ASSERT_NOTHING_SENT();
}

/* ===================================================================== */
/* agree: the probe's prediction is what a send reports right after       */
/* ===================================================================== */

FIXTURE(agree) {
	int dev;
	int tmpfs_fd;
	int ext4_fd;
	int direct_fd;
	int proc_fd;
	char tmpfs_path[PATH_MAX];
	char ext4_path[PATH_MAX];
	struct zc_pair p;
	uint8_t *buf;
};

FIXTURE_VARIANT(agree) {
	enum zc_fam fam;
	enum zc_net net;
	bool ktls;
	uint32_t net_why;	/* what the network makes the file bytes copy for */
	bool notify_copies;	/* NOTIFY sends copy on this socket */
	/*
	 * kTLS copies anyway: whether NOTIFY is named as a reason too is
	 * left open (the probe and the send must still agree)
	 */
	bool notify_optional;
};

FIXTURE_VARIANT_ADD(agree, lo4) { .fam = ZC_TCP4, .net = ZC_NET_LO };
FIXTURE_VARIANT_ADD(agree, lo6) { .fam = ZC_TCP6, .net = ZC_NET_LO };
FIXTURE_VARIANT_ADD(agree, unix) {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .notify_copies = true };
FIXTURE_VARIANT_ADD(agree, veth4) { .fam = ZC_TCP4, .net = ZC_NET_VETH };
FIXTURE_VARIANT_ADD(agree, veth6) { .fam = ZC_TCP6, .net = ZC_NET_VETH };
FIXTURE_VARIANT_ADD(agree, nosg4) {
	.fam = ZC_TCP4, .net = ZC_NET_NOSG, .net_why = DEV_WHY };
FIXTURE_VARIANT_ADD(agree, nosg6) {
	.fam = ZC_TCP6, .net = ZC_NET_NOSG, .net_why = DEV_WHY };
FIXTURE_VARIANT_ADD(agree, ktls4) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ktls = true,
	.net_why = ZCDEV_WHY_KTLS, .notify_copies = true,
	.notify_optional = true };
FIXTURE_VARIANT_ADD(agree, ktls6) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .ktls = true,
	.net_why = ZCDEV_WHY_KTLS, .notify_copies = true,
	.notify_optional = true };

#define ASIZE (256 * KiB)

FIXTURE_SETUP(agree)
{
	self->tmpfs_fd = self->ext4_fd = self->direct_fd = self->proc_fd = -1;
	self->tmpfs_path[0] = self->ext4_path[0] = 0;
	self->p.snd = self->p.rcv = -1;
	self->buf = malloc(ASIZE);
	ASSERT_NE(NULL, self->buf);
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_net_available(variant->net))
		ZC_NEED(return, "%s", zc_errmsg());
	ASSERT_EQ(0, zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC)) TH_LOG("%s", zc_errmsg());
	self->tmpfs_fd = zc_make_payload_file(zc_tmpfs_dir(), ASIZE,
					      self->tmpfs_path,
					      sizeof(self->tmpfs_path));
	ASSERT_LE(0, self->tmpfs_fd) TH_LOG("%s", zc_errmsg());
	self->ext4_fd = zc_make_payload_file(zc_ext4_dir(), ASIZE,
					     self->ext4_path,
					     sizeof(self->ext4_path));
	ASSERT_LE(0, self->ext4_fd) TH_LOG("%s", zc_errmsg());
	self->direct_fd = zc_reopen(self->ext4_fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, self->direct_fd) TH_LOG("O_DIRECT: %s", strerror(errno));
	self->proc_fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->proc_fd);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, variant->net, &big_bufs))
		TH_LOG("%s", zc_errmsg());
	if (variant->ktls && zc_ktls_setup(&self->p)) {
		if (zc_ktls_unavailable(errno))
			ZC_NEED(return, "kTLS unavailable: %s", zc_errmsg());
		ASSERT_TRUE(false) TH_LOG("kTLS: %s", zc_errmsg());
	}
}

FIXTURE_TEARDOWN(agree)
{
	zc_pair_close(&self->p);
	if (self->direct_fd >= 0)
		close(self->direct_fd);
	if (self->proc_fd >= 0)
		close(self->proc_fd);
	if (self->tmpfs_fd >= 0)
		close(self->tmpfs_fd);
	if (self->ext4_fd >= 0)
		close(self->ext4_fd);
	if (self->tmpfs_path[0])
		unlink(self->tmpfs_path);
	if (self->ext4_path[0])
		unlink(self->ext4_path);
	free(self->buf);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * Probe, then send @len bytes of @send_fd (the file the probe was asked
 * about, or a tmpfs file for file_fd -1), then receive them: the probe's
 * path and why are the send's, and both are what this network and file
 * must give (@want_why; 0 = zero copy).
 */
static void agree_one(struct __test_metadata *_metadata,
		      FIXTURE_DATA(agree) *self, const char *what,
		      int probe_fd, int send_fd, uint64_t off, uint64_t len,
		      uint32_t flags, uint32_t want_why, bool payload)
{
	struct zcdev_probe p;
	struct zcdev_sendfile r;
	char w1[128], w2[128];
	ssize_t got;

	PROBE_OK(self->p.snd, probe_fd, flags, &p);
	ASSERT_EQ(0, zc_sendfile_args(self->dev, send_fd, self->p.snd, off, len,
				      flags, &r))
		TH_LOG("%s: send: errno %d (%s)", what, errno, strerror(errno));
	{
		struct zcdev_sendfile in = { .file_fd = send_fd,
					     .sock_fd = self->p.snd,
					     .offset = off, .len = len,
					     .flags = flags };

		ASSERT_EQ(0, zc_report_check(&in, &r, len)) TH_LOG("%s: %s", what,
								   zc_errmsg());
	}
	ASSERT_LT(0ULL, r.sent) TH_LOG("%s: %s", what, zc_report_str(&r));
	TH_LOG("%s: probe %s / send %s", what, zc_probe_str(&p), zc_report_str(&r));
	/* the prediction is what happened */
	if (r.copied_bytes) {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_COPY, p.path) TH_LOG("%s", what);
		EXPECT_EQ(r.why, p.why) TH_LOG("%s: probe why %s, send why %s",
					       what, zct_why_str(p.why, w1, sizeof(w1)),
					       zct_why_str(r.why, w2, sizeof(w2)));
	} else {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, p.path) TH_LOG("%s", what);
		EXPECT_EQ(0U, p.why) TH_LOG("%s", what);
	}
	/* and what this network and file must give */
	if (want_why) {
		EXPECT_EQ(r.sent, r.copied_bytes) TH_LOG("%s: %s", what, zc_report_str(&r));
		/* the device reasons: at least one of them */
		if (want_why & DEV_WHY) {
			EXPECT_NE(0U, p.why & DEV_WHY) TH_LOG("%s", what);
		}
		EXPECT_EQ(want_why & ~DEV_WHY, p.why & ~DEV_WHY)
			TH_LOG("%s: why %s, want %s", what,
			       zct_why_str(p.why, w1, sizeof(w1)),
			       zct_why_str(want_why, w2, sizeof(w2)));
		EXPECT_EQ(0U, p.why & ~want_why) TH_LOG("%s", what);
	} else {
		EXPECT_EQ(r.sent, r.zc_bytes) TH_LOG("%s: %s", what, zc_report_str(&r));
	}
	got = zc_recv_exact(self->p.rcv, self->buf, r.sent, IDLE_MS);
	ASSERT_EQ((ssize_t)r.sent, got) TH_LOG("%s: %s", what, zc_errmsg());
	if (payload) {
		ASSERT_EQ(-1, zc_verify(self->buf, r.sent, off))
			TH_LOG("%s: %s", what, zc_errmsg());
	}
}

TEST_F_TIMEOUT(agree, probe_matches_send, 60)
{
	uint32_t nw = variant->net_why;

	agree_one(_metadata, self, "no file", -1, self->tmpfs_fd, 0, 64 * KiB, 0,
		  nw, true);
	agree_one(_metadata, self, "tmpfs", self->tmpfs_fd, self->tmpfs_fd, 4096,
		  64 * KiB, 0, nw, true);
	agree_one(_metadata, self, "ext4", self->ext4_fd, self->ext4_fd, 100,
		  64 * KiB, 0, nw, true);
	agree_one(_metadata, self, "ext4 O_DIRECT", self->direct_fd,
		  self->direct_fd, 0, 64 * KiB, 0,
		  nw | ZCDEV_WHY_NO_PAGECACHE, true);
	agree_one(_metadata, self, "procfs", self->proc_fd, self->proc_fd, 0,
		  200, 0, nw | ZCDEV_WHY_NO_PAGECACHE, false);
	/* nothing but what the sends sent */
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * NOTIFY: sockets that cannot say when they release pages (unix, kTLS)
 * copy for it, and the probe says so; TCP sockets do not change.
 */
TEST_F_TIMEOUT(agree, probe_notify, 60)
{
	uint32_t nw = variant->net_why;
	uint32_t nn = variant->notify_copies ? ZCDEV_WHY_NOTIFY : 0;
	struct zcdev_probe p0, p1;

	PROBE_OK(self->p.snd, self->tmpfs_fd, 0, &p0);
	PROBE_OK(self->p.snd, self->tmpfs_fd, ZCDEV_SEND_NOTIFY, &p1);
	if (variant->notify_optional) {
		TH_LOG("kTLS with NOTIFY: why %s",
		       p1.why & ZCDEV_WHY_NOTIFY ? "names NOTIFY" : "is KTLS alone");
		nn = p1.why & ZCDEV_WHY_NOTIFY;
	}
	{
		char w0[128];

		ASSERT_EQ(p0.why | nn, p1.why)
			TH_LOG("why without NOTIFY %s; with NOTIFY: %s",
			       zct_why_str(p0.why, w0, sizeof(w0)),
			       zc_probe_str(&p1));
	}
	agree_one(_metadata, self, "tmpfs, NOTIFY", self->tmpfs_fd,
		  self->tmpfs_fd, 0, 64 * KiB, ZCDEV_SEND_NOTIFY, nw | nn, true);
	agree_one(_metadata, self, "no file, NOTIFY", -1, self->tmpfs_fd,
		  64 * KiB, 64 * KiB, ZCDEV_SEND_NOTIFY, nw | nn, true);
	agree_one(_metadata, self, "O_DIRECT, NOTIFY", self->direct_fd,
		  self->direct_fd, 0, 8 * KiB, ZCDEV_SEND_NOTIFY,
		  nw | nn | ZCDEV_WHY_NO_PAGECACHE, true);
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

TEST_HARNESS_MAIN
