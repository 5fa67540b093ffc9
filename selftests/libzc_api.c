// SPDX-License-Identifier: GPL-2.0
/*
 * libzc_api: libzc end to end, in the guest.
 *
 *  - zc_sendfile_all() byte-exact over tcp4/tcp6/unix (loopback) and tcp4/
 *    tcp6 into the veth namespaces, random ranges including EOF clamps;
 *  - every field of libzc's result equals the module's own report for the
 *    same send (a direct ZCDEV_IOC_SENDFILE on an identical socket pair),
 *    strict sends too;
 *  - nonblocking sends in an event loop (flag and O_NONBLOCK), nothing lost;
 *  - negative-errno returns, errno never touched, results zeroed on errors;
 *  - with the module unloaded: the sendfile(2) fallback, byte-exact, path
 *    "unknown" / reason "module absent", strict failing with -EOPNOTSUPP.
 *    The module is loaded again by the fixture's teardown (in the parent, so
 *    it runs even when the test fails) and, as a last resort, at exit.
 *
 * libzc is linked in from userlib/'s objects (selftests/Makefile builds
 * them with the same static toolchain as the programs).
 */
#include "zc_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "../userlib/zc.h"

#include "kselftest_harness.h"

#define IDLE_MS		10000
#define PAYLOAD_SIZE	(3ULL * 1024 * 1024 + 1234)

/* ---- the module: unload for the fallback tests, always load again ------ */

static const char *module_path(void)
{
	const char *s = getenv("ZC_MODULE");

	return s && *s ? s : "/zcdev.ko";
}

static bool module_loaded(void)
{
	return access("/sys/module/zcdev", F_OK) == 0;
}

static bool wait_dev(bool present, int ms)
{
	for (; ms > 0; ms -= 50) {
		if ((access("/dev/zcdev", F_OK) == 0) == present)
			return true;
		usleep(50 * 1000);
	}
	return (access("/dev/zcdev", F_OK) == 0) == present;
}

static int module_unload(void)
{
	if (syscall(SYS_delete_module, "zcdev", O_NONBLOCK))
		return -errno;
	return wait_dev(false, 3000) ? 0 : -ETIMEDOUT;
}

static int module_load(void)
{
	int fd, ret = 0;

	if (module_loaded())
		return wait_dev(true, 3000) ? 0 : -ETIMEDOUT;
	fd = open(module_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)
		ret = -errno;
	close(fd);
	if (!ret && !wait_dev(true, 3000))
		ret = -ETIMEDOUT;
	return ret;
}

/* Last resort: the harness may have killed a test before its teardown. */
static pid_t main_pid;
static void __attribute__((constructor)) remember_pid(void)
{
	main_pid = getpid();
}
static void __attribute__((destructor)) reload_at_exit(void)
{
	if (getpid() == main_pid && !module_loaded()) {
		int ret = module_load();

		fprintf(stderr, "# libzc_api: zcdev was left unloaded; "
			"reloaded: %s\n", ret ? strerror(-ret) : "ok");
	}
}

/* ---- helpers ------------------------------------------------------------- */

static int payload(char *path, size_t len)
{
	return zc_make_payload_file(zc_tmpfs_dir(), PAYLOAD_SIZE, path, len);
}

/* The invariants of any libzc result that came from the device. */
static int check_device_result(struct __test_metadata *_metadata,
			       const struct zc_result *r, uint64_t want_sent)
{
	EXPECT_EQ(want_sent, r->sent);
	EXPECT_EQ(r->sent, r->zc_bytes + r->copied_bytes);
	EXPECT_EQ(0ULL, r->unknown_bytes);
	EXPECT_EQ(0U, r->resv32);
	EXPECT_EQ(0ULL, r->resv[0] | r->resv[1] | r->resv[2] | r->resv[3]);
	EXPECT_EQ(0U, r->why & ZC_WHY_LIB_MASK);
	EXPECT_EQ(!r->copied_bytes, !r->why) TH_LOG("copied %" PRIu64
		  " why %#x", r->copied_bytes, r->why);
	if (!r->sent) {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, r->path);
	} else if (!r->copied_bytes) {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r->path);
	} else if (!r->zc_bytes) {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_COPY, r->path);
	} else {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_MIXED, r->path);
	}
	return _metadata->exit_code;
}

/* ---- with the module: sends over every kind of socket --------------------- */

FIXTURE(send) {
	struct zc *zc;
	int dev;
	int fd;
	char path[256];
};

FIXTURE_VARIANT(send) {
	enum zc_fam fam;
	enum zc_net net;
};

FIXTURE_VARIANT_ADD(send, tcp4_lo) { .fam = ZC_TCP4, .net = ZC_NET_LO };
FIXTURE_VARIANT_ADD(send, tcp6_lo) { .fam = ZC_TCP6, .net = ZC_NET_LO };
FIXTURE_VARIANT_ADD(send, unix_lo) { .fam = ZC_UNIX, .net = ZC_NET_LO };
FIXTURE_VARIANT_ADD(send, tcp4_veth) { .fam = ZC_TCP4, .net = ZC_NET_VETH };
FIXTURE_VARIANT_ADD(send, tcp6_veth) { .fam = ZC_TCP6, .net = ZC_NET_VETH };
FIXTURE_VARIANT_ADD(send, tcp4_nosg) { .fam = ZC_TCP4, .net = ZC_NET_NOSG };
FIXTURE_VARIANT_ADD(send, tcp6_nosg) { .fam = ZC_TCP6, .net = ZC_NET_NOSG };

FIXTURE_SETUP(send)
{
	int ret;

	self->zc = NULL;
	self->dev = -1;
	self->fd = -1;
	if (variant->net != ZC_NET_LO && zc_net_available(variant->net))
		SKIP(return, "%s", zc_errmsg());
	ret = zc_open(&self->zc, NULL, ZC_OPEN_NOFALLBACK);
	ASSERT_EQ(0, ret) TH_LOG("zc_open: %s (is zcdev loaded?)",
				 strerror(-ret));
	ASSERT_EQ(0, zc_is_fallback(self->zc));
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	self->fd = payload(self->path, sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(send)
{
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
	if (self->dev >= 0)
		close(self->dev);
	zc_close(self->zc);
}

static void open_pair(struct __test_metadata *_metadata,
		      const FIXTURE_VARIANT(send) *variant, struct zc_pair *p,
		      int rcvbuf)
{
	struct zc_pair_opts o = { .rcvbuf = rcvbuf };

	ASSERT_EQ(0, zc_pair_open(p, variant->fam, variant->net, &o))
		TH_LOG("%s", zc_errmsg());
}

TEST_F(send, all_byte_exact)
{
	struct zc_rng rng = { zc_seed_for(zc_base_seed(), "all_byte_exact") };
	int i;

	TH_LOG("seed %#" PRIx64 " (ZC_SEED)", zc_base_seed());
	for (i = 0; i < 6; i++) {
		uint64_t off = zc_rng_range(&rng, 0, PAYLOAD_SIZE);
		uint64_t len = zc_rng_range(&rng, 0, PAYLOAD_SIZE - off + 9000);
		uint64_t want;
		struct zc_result r;
		struct zc_pair p;
		struct zc_rx rx = { 0 };
		ssize_t n;

		if (i == 0)
			off = 0, len = UINT64_MAX;	/* the whole file */
		if (i == 1)
			off = PAYLOAD_SIZE - 1, len = 5;	/* last byte */
		want = PAYLOAD_SIZE - off < len ? PAYLOAD_SIZE - off : len;

		open_pair(_metadata, variant, &p, 0);
		ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, want, IDLE_MS));
		errno = EDOM;
		n = zc_sendfile_all(self->zc, p.snd, self->fd, off, len, 0, &r);
		EXPECT_EQ(EDOM, errno);
		shutdown(p.snd, SHUT_WR);
		EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ((ssize_t)want, n) TH_LOG("off %" PRIu64 " len %"
			  PRIu64 ": %s", off, len, n < 0 ? strerror(-n) : "");
		EXPECT_EQ(want, rx.len);
		EXPECT_EQ(0ULL, rx.extra);
		EXPECT_EQ(-1, zc_verify(rx.buf, rx.len, off))
			TH_LOG("%s", zc_errmsg());
		check_device_result(_metadata, &r, want);
		EXPECT_LE(1U, r.calls);
		zc_rx_free(&rx);
		zc_pair_close(&p);
		if (_metadata->exit_code)
			break;
	}
}

/*
 * The same send twice, on two identical fresh pairs: once through libzc,
 * once as a raw ioctl.  Every field must agree.
 */
TEST_F(send, matches_ioctl)
{
	const uint64_t off = 4097, len = 1024 * 1024 + 3;
	const unsigned int flagsets[] = { 0, ZCDEV_SEND_MORE,
					  ZCDEV_SEND_STRICT };
	unsigned int k;

	for (k = 0; k < sizeof(flagsets) / sizeof(flagsets[0]); k++) {
		unsigned int flags = flagsets[k];
		struct zcdev_sendfile a;
		struct zc_result r;
		struct zc_pair pa, pb;
		struct zc_rx rxa = { 0 }, rxb = { 0 };
		int ret, err;
		ssize_t n;

		TH_LOG("flags %#x", flags);
		open_pair(_metadata, variant, &pa, 4 << 20);
		open_pair(_metadata, variant, &pb, 4 << 20);
		ASSERT_EQ(0, zc_rx_start(&rxa, pa.rcv, len, IDLE_MS));
		ASSERT_EQ(0, zc_rx_start(&rxb, pb.rcv, len, IDLE_MS));

		ret = zc_sendfile_args(self->dev, self->fd, pa.snd, off, len,
				       flags, &a);
		err = ret ? errno : 0;
		n = zc_sendfile(self->zc, pb.snd, self->fd, off, len, flags,
				&r);

		shutdown(pa.snd, SHUT_WR);
		shutdown(pb.snd, SHUT_WR);
		EXPECT_EQ(0, zc_rx_join(&rxa)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(0, zc_rx_join(&rxb)) TH_LOG("%s", zc_errmsg());

		if (err) {
			/* only a strict refusal may fail here */
			EXPECT_EQ(EOPNOTSUPP, err);
			EXPECT_NE(0U, flags & ZCDEV_SEND_STRICT);
			EXPECT_EQ(-err, n);
			EXPECT_EQ(0ULL, r.sent);
			EXPECT_EQ(0ULL, rxa.len);
			EXPECT_EQ(0ULL, rxb.len);
		} else {
			EXPECT_EQ((ssize_t)a.sent, n) TH_LOG("lib %s",
				  n < 0 ? strerror(-n) : "ok");
			EXPECT_EQ(a.sent, r.sent);
			EXPECT_EQ(a.zc_bytes, r.zc_bytes);
			EXPECT_EQ(a.copied_bytes, r.copied_bytes);
			EXPECT_EQ(a.sent, rxa.len);
			EXPECT_EQ(r.sent, rxb.len);
			EXPECT_EQ(-1, zc_verify(rxb.buf, rxb.len, off))
				TH_LOG("%s", zc_errmsg());
			check_device_result(_metadata, &r, a.sent);
		}
		EXPECT_EQ(a.path, r.path);
		EXPECT_EQ(a.why, r.why) TH_LOG("ioctl why %#x lib why %#x",
					       a.why, r.why);
		EXPECT_EQ(0ULL, r.unknown_bytes);
		EXPECT_EQ(1U, r.calls);
		zc_rx_free(&rxa);
		zc_rx_free(&rxb);
		zc_pair_close(&pa);
		zc_pair_close(&pb);
		if (_metadata->exit_code)
			break;
	}
}

/*
 * An event loop: fill the socket without a reader until -EAGAIN, then let
 * the receiver run and finish with poll(POLLOUT) + zc_sendfile().  Once
 * with ZCDEV_SEND_NONBLOCK on a blocking socket, once with O_NONBLOCK.
 */
TEST_F(send, nonblock_event_loop)
{
	int mode;

	for (mode = 0; mode < 2; mode++) {
		unsigned int flags = mode ? 0 : ZCDEV_SEND_NONBLOCK;
		struct zc_result sum = { 0 }, r;
		uint64_t off = 0, eagain = 0;
		struct zc_rx rx = { 0 };
		struct zc_pair p;
		bool started = false;
		ssize_t n;
		int rounds = 0;

		TH_LOG("%s", mode ? "O_NONBLOCK" : "ZCDEV_SEND_NONBLOCK");
		open_pair(_metadata, variant, &p, 0);
		if (mode)
			ASSERT_EQ(0, zc_set_nonblock(p.snd, true));
		while (off < PAYLOAD_SIZE && rounds++ < 1000000) {
			n = zc_sendfile(self->zc, p.snd, self->fd, off,
					PAYLOAD_SIZE - off, flags, &r);
			sum.sent += r.sent;
			sum.zc_bytes += r.zc_bytes;
			sum.copied_bytes += r.copied_bytes;
			if (n == -EAGAIN) {
				struct pollfd pfd = { p.snd, POLLOUT, 0 };

				eagain++;
				EXPECT_EQ(0ULL, r.sent);
				if (!started) {
					ASSERT_EQ(0, zc_rx_start(&rx, p.rcv,
						PAYLOAD_SIZE, IDLE_MS));
					started = true;
				}
				ASSERT_EQ(1, poll(&pfd, 1, IDLE_MS));
				continue;
			}
			ASSERT_LT(0, n) TH_LOG("at %" PRIu64 ": %s", off,
					       strerror(-n));
			off += (uint64_t)n;
		}
		EXPECT_LE(1ULL, eagain) TH_LOG("never saw EAGAIN");
		if (!started)
			ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, PAYLOAD_SIZE,
						 IDLE_MS));
		shutdown(p.snd, SHUT_WR);
		EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(PAYLOAD_SIZE, off);
		EXPECT_EQ(PAYLOAD_SIZE, sum.sent);
		EXPECT_EQ(sum.sent, sum.zc_bytes + sum.copied_bytes);
		EXPECT_EQ(PAYLOAD_SIZE, rx.len);
		EXPECT_EQ(-1, zc_verify(rx.buf, rx.len, 0))
			TH_LOG("%s", zc_errmsg());
		zc_rx_free(&rx);
		zc_pair_close(&p);
	}
}

TEST_F(send, errors_and_errno)
{
	struct zc_result r;
	struct zc_pair p;
	ssize_t n;
	int wfd;

	open_pair(_metadata, variant, &p, 0);
	wfd = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wfd);

	errno = EDOM;
	memset(&r, 0xa5, sizeof(r));
	n = zc_sendfile(self->zc, 1000, self->fd, 0, 100, 0, &r);
	EXPECT_EQ(-EBADF, n);
	EXPECT_EQ(0ULL, r.sent);
	EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	EXPECT_EQ(0U, r.why);
	EXPECT_EQ(0ULL, r.resv[3]);
	EXPECT_EQ(-EBADF, zc_sendfile(self->zc, p.snd, wfd, 0, 100, 0, &r));
	EXPECT_EQ(-EBADF, zc_sendfile(self->zc, p.snd, 1000, 0, 100, 0, &r));
	EXPECT_EQ(-ENOTSOCK, zc_sendfile(self->zc, self->fd, self->fd, 0, 100,
					 0, &r));
	EXPECT_EQ(-EINVAL, zc_sendfile(self->zc, p.snd, self->fd, 0, 100,
				       1U << 20, &r));
	EXPECT_EQ(-EINVAL, zc_sendfile(self->zc, p.snd, self->fd,
				       (uint64_t)LLONG_MAX + 1, 100, 0, &r));
	EXPECT_EQ(-EINVAL, zc_sendfile(NULL, p.snd, self->fd, 0, 100, 0, &r));
	EXPECT_EQ(-EBADF, zc_sendfile_all(self->zc, 1000, self->fd, 0, 100, 0,
					  &r));
	EXPECT_EQ(0ULL, r.sent);
	EXPECT_EQ(EDOM, errno);

	/* nothing to send: 0 and path none */
	EXPECT_EQ(0, zc_sendfile(self->zc, p.snd, self->fd, PAYLOAD_SIZE, 100,
				 0, &r));
	EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	EXPECT_EQ(0ULL, r.sent);
	EXPECT_EQ(0, zc_sendfile(self->zc, p.snd, self->fd, 0, 0, 0, &r));
	EXPECT_EQ(0, zc_sendfile_all(self->zc, p.snd, self->fd,
				     PAYLOAD_SIZE + 4096, UINT64_MAX, 0, &r));
	EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	EXPECT_EQ(EDOM, errno);
	/* and nothing at all went out */
	EXPECT_EQ(0, zc_marker_check(p.snd, p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());

	/* a dead peer: -EPIPE (or -ECONNRESET), never SIGPIPE */
	zc_sigpipe_guard();
	close(p.rcv);
	p.rcv = -1;
	usleep(100 * 1000);
	errno = EDOM;
	n = zc_sendfile_all(self->zc, p.snd, self->fd, 0, PAYLOAD_SIZE, 0, &r);
	EXPECT_TRUE(n == -EPIPE || n == -ECONNRESET) TH_LOG("n %zd", n);
	EXPECT_EQ(0, zc_sigpipe_count());
	EXPECT_EQ(EDOM, errno);
	close(wfd);
	zc_pair_close(&p);
}

/* The handle: modes, the descriptor, a raw ioctl through zc_fd(). */
TEST(handle)
{
	struct zcdev_sendfile a;
	struct zc *zc, *fb;
	struct zc_pair p;
	char path[256];
	int fd, ret;

	ret = zc_open(&zc, NULL, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
	EXPECT_EQ(0, zc_is_fallback(zc));
	ASSERT_LE(0, zc_fd(zc));
	ret = zc_open(&fb, NULL, ZC_OPEN_FALLBACK);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(1, zc_is_fallback(fb));
	EXPECT_EQ(-ENODEV, zc_fd(fb));

	fd = payload(path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&p, ZC_UNIX, ZC_NET_LO, NULL));
	EXPECT_EQ(0, zc_sendfile_args(zc_fd(zc), fd, p.snd, 0, 1000, 0, &a));
	EXPECT_EQ(1000ULL, a.sent);
	shutdown(p.snd, SHUT_WR);
	{
		char buf[1000];

		EXPECT_EQ(1000, zc_recv_exact(p.rcv, buf, sizeof(buf),
					      IDLE_MS));
		EXPECT_EQ(-1, zc_verify(buf, sizeof(buf), 0));
	}
	zc_pair_close(&p);
	close(fd);
	unlink(path);
	EXPECT_EQ(0, zc_close(fb));
	EXPECT_EQ(0, zc_close(zc));
	/* the device's absence is tolerated, a bad path is not hidden */
	ret = zc_open(&zc, "/proc/self/status/x", 0);
	EXPECT_EQ(-ENOTDIR, ret);
	ret = zc_open(&zc, "/nonexistent-zcdev", 0);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(1, zc_is_fallback(zc));
	zc_close(zc);
}

/* ---- without the module: the fallback ------------------------------------ */

FIXTURE(nomod) {
	bool unloaded;
	int unload_err;
};

FIXTURE_VARIANT(nomod) {
	enum zc_fam fam;
};

FIXTURE_VARIANT_ADD(nomod, tcp4) { .fam = ZC_TCP4 };
FIXTURE_VARIANT_ADD(nomod, tcp6) { .fam = ZC_TCP6 };
FIXTURE_VARIANT_ADD(nomod, unix) { .fam = ZC_UNIX };

FIXTURE_SETUP(nomod)
{
	/* Nothing may fail after the unload: teardown needs setup done. */
	self->unload_err = module_unload();
	self->unloaded = self->unload_err == 0;
}

/* In the parent, after the test process is gone: runs even on failure. */
FIXTURE_TEARDOWN_PARENT(nomod)
{
	int ret = module_load();

	EXPECT_EQ(0, ret) TH_LOG("insmod %s: %s", module_path(),
				 strerror(-ret));
}

TEST_F(nomod, fallback)
{
	struct zc_result r;
	struct zc_rx rx = { 0 };
	struct zc_pair p;
	struct zc *zc;
	char path[256];
	int fd, ret;
	ssize_t n;

	ASSERT_TRUE(self->unloaded) TH_LOG("rmmod zcdev: %s",
					   strerror(-self->unload_err));
	ASSERT_FALSE(module_loaded());

	zc = (struct zc *)1;
	ret = zc_open(&zc, NULL, ZC_OPEN_NOFALLBACK);
	EXPECT_EQ(-ENOENT, ret);
	EXPECT_EQ(NULL, zc);
	errno = EDOM;
	ret = zc_open(&zc, NULL, 0);
	EXPECT_EQ(EDOM, errno);
	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
	EXPECT_EQ(1, zc_is_fallback(zc));
	EXPECT_EQ(-ENODEV, zc_fd(zc));

	fd = payload(path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());

	/* strict: refused, reason "module absent", nothing sent */
	ASSERT_EQ(0, zc_pair_open(&p, variant->fam, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	errno = EDOM;
	n = zc_sendfile(zc, p.snd, fd, 0, 4096, ZCDEV_SEND_STRICT, &r);
	EXPECT_EQ(EDOM, errno);
	EXPECT_EQ(-EOPNOTSUPP, n);
	EXPECT_EQ(ZC_WHY_NO_MODULE, r.why);
	EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	EXPECT_EQ(0ULL, r.sent);
	n = zc_sendfile_all(zc, p.snd, fd, 0, 4096, ZCDEV_SEND_STRICT, &r);
	EXPECT_EQ(-EOPNOTSUPP, n);
	EXPECT_EQ(0, zc_marker_check(p.snd, p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());

	/* byte-exact through sendfile(2), reported as unknown */
	ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, PAYLOAD_SIZE - 333, IDLE_MS));
	errno = EDOM;
	n = zc_sendfile_all(zc, p.snd, fd, 333, UINT64_MAX, ZCDEV_SEND_MORE,
			    &r);
	EXPECT_EQ(EDOM, errno);
	shutdown(p.snd, SHUT_WR);
	EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ((ssize_t)(PAYLOAD_SIZE - 333), n);
	EXPECT_EQ(PAYLOAD_SIZE - 333, rx.len);
	EXPECT_EQ(-1, zc_verify(rx.buf, rx.len, 333)) TH_LOG("%s",
							     zc_errmsg());
	EXPECT_EQ(ZC_PATH_UNKNOWN, r.path);
	EXPECT_EQ(ZC_WHY_NO_MODULE, r.why);
	EXPECT_EQ(r.sent, r.unknown_bytes);
	EXPECT_EQ(0ULL, r.zc_bytes + r.copied_bytes);
	EXPECT_STREQ("unknown", zc_path_name(r.path));
	EXPECT_STREQ("no_module", zc_why_name(r.why));
	zc_rx_free(&rx);
	zc_pair_close(&p);

	close(fd);
	unlink(path);
	zc_close(zc);
}

TEST_HARNESS_MAIN
