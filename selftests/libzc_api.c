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
 *  - libzc 1.1: zc_sendv()/zc_sendv_all() against raw ZCDEV_IOC_SENDV
 *    (every field), exact resume positions in an event loop, more segments
 *    than one call takes, resumes after signals; zc_probe() against the
 *    raw ioctl and against what a send then reports; ZCDEV_SEND_NOTIFY ids
 *    read back with zc_read_completions() (and the file modified after the
 *    completion never changes what the peer receives); CACHED_ONLY on a
 *    cold ext4 file (-EBUSY with status NOT_CACHED, partial sends, the
 *    *_all loops stopping there);
 *  - with the module unloaded: the sendfile(2) fallback, byte-exact, path
 *    "unknown" / reason "module absent", strict failing with -EOPNOTSUPP,
 *    zc_sendv() emulated, CACHED_ONLY/NOTIFY refused, the probe saying
 *    "unknown".
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
#include <pthread.h>
#include <sys/ioctl.h>
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
	EXPECT_EQ(0U, r->resv32b);
	EXPECT_EQ(0ULL, r->resv[0]);
	EXPECT_EQ(0ULL, r->notify_id);
	EXPECT_EQ(0U, r->status & ~(uint32_t)ZCDEV_STATUS_EOF);
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
		ZC_NEED(return, "%s", zc_errmsg());
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
		EXPECT_EQ(a.status, r.status);
		EXPECT_EQ(0ULL, r.notify_id);
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
	EXPECT_EQ(0U, r.status);
	EXPECT_EQ(0ULL, r.resv[0]);
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

/* ---- 1.1: vectored sends ------------------------------------------------ */

static const char http_hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\n";
static const char http_trl[] = "\r\n--end--\r\n";

/* header, a file range, an empty segment, a trailer, a second range */
static unsigned int build_response(struct zcdev_seg *segs, int fd)
{
	zc_seg_mem(&segs[0], http_hdr, sizeof(http_hdr) - 1);
	zc_seg_file(&segs[1], fd, 4097, 1024 * 1024 + 3);
	zc_seg_mem(&segs[2], http_trl, 0);
	zc_seg_mem(&segs[3], http_trl, sizeof(http_trl) - 1);
	zc_seg_file(&segs[4], fd, 10, 5000);
	return 5;
}

/* The bytes @segs carry (files are payload files), into a new buffer. */
static uint8_t *expected_stream(const struct zcdev_seg *segs, unsigned int nr,
				size_t *len)
{
	size_t n = 0, i;
	uint8_t *buf;

	for (i = 0; i < nr; i++)
		n += segs[i].len;
	buf = malloc(n ? n : 1);
	*len = n;
	n = 0;
	for (i = 0; i < nr && buf; i++) {
		if (segs[i].type == ZCDEV_SEG_MEM)
			memcpy(buf + n, (const void *)(uintptr_t)segs[i].addr,
			       segs[i].len);
		else
			zc_payload_fill(buf + n, segs[i].offset, segs[i].len);
		n += segs[i].len;
	}
	return buf;
}

static uint64_t mem_bytes(const struct zcdev_seg *segs, unsigned int nr)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (segs[i].type == ZCDEV_SEG_MEM)
			n += segs[i].len;
	return n;
}

/*
 * One response through zc_sendv() and the same through a raw
 * ZCDEV_IOC_SENDV on an identical pair: every field agrees, both streams
 * are exact, and the split is what the path allows (memory copied, the
 * file by reference unless the egress copies).
 */
TEST_F(send, sendv_matches_ioctl)
{
	const unsigned int flagsets[] = { 0, ZCDEV_SEND_MORE,
					  ZCDEV_SEND_STRICT };
	struct zcdev_seg segs[5];
	unsigned int nr = build_response(segs, self->fd), k;
	size_t want;
	uint8_t *exp = expected_stream(segs, nr, &want);
	uint64_t mem = mem_bytes(segs, nr);

	ASSERT_NE(NULL, exp);
	for (k = 0; k < sizeof(flagsets) / sizeof(flagsets[0]); k++) {
		unsigned int flags = flagsets[k];
		struct zcdev_sendv a;
		struct zc_result r;
		struct zc_pair pa, pb;
		struct zc_rx rxa = { 0 }, rxb = { 0 };
		int ret, err;
		ssize_t n;

		TH_LOG("flags %#x", flags);
		open_pair(_metadata, variant, &pa, 4 << 20);
		open_pair(_metadata, variant, &pb, 4 << 20);
		ASSERT_EQ(0, zc_rx_start(&rxa, pa.rcv, want, IDLE_MS));
		ASSERT_EQ(0, zc_rx_start(&rxb, pb.rcv, want, IDLE_MS));

		memset(&a, 0, sizeof(a));
		a.segs = (uintptr_t)segs;
		a.nr_segs = nr;
		a.sock_fd = pa.snd;
		a.flags = flags;
		ret = ioctl(self->dev, ZCDEV_IOC_SENDV, &a);
		err = ret ? errno : 0;
		errno = EDOM;
		n = zc_sendv(self->zc, pb.snd, segs, nr, flags, &r);
		EXPECT_EQ(EDOM, errno);

		shutdown(pa.snd, SHUT_WR);
		shutdown(pb.snd, SHUT_WR);
		EXPECT_EQ(0, zc_rx_join(&rxa)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(0, zc_rx_join(&rxb)) TH_LOG("%s", zc_errmsg());

		if (err) {
			/* only a strict refusal may fail, and it sends nothing */
			EXPECT_EQ(EOPNOTSUPP, err);
			EXPECT_NE(0U, flags & ZCDEV_SEND_STRICT);
			EXPECT_EQ(-err, n);
			EXPECT_EQ(0ULL, r.sent);
			EXPECT_EQ(0ULL, rxa.len);
			EXPECT_EQ(0ULL, rxb.len);
			EXPECT_NE(0U, r.why & (ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM));
			EXPECT_EQ(variant->net, ZC_NET_NOSG);
		} else {
			EXPECT_EQ((ssize_t)a.sent, n) TH_LOG("lib %s",
				  n < 0 ? strerror(-n) : "ok");
			EXPECT_EQ(want, a.sent);
			EXPECT_EQ(a.sent, r.sent);
			EXPECT_EQ(a.zc_bytes, r.zc_bytes);
			EXPECT_EQ(a.copied_bytes, r.copied_bytes);
			EXPECT_EQ(a.seg_index, r.seg_index);
			EXPECT_EQ(a.seg_sent, r.seg_sent);
			EXPECT_EQ(nr, r.seg_index);
			EXPECT_EQ(0ULL, r.seg_sent);
			EXPECT_EQ(want, rxa.len);
			EXPECT_EQ(want, rxb.len);
			EXPECT_EQ(0, memcmp(rxb.buf, exp, want));
			EXPECT_EQ(0, memcmp(rxa.buf, exp, want));
			EXPECT_NE(0U, r.why & ZCDEV_WHY_MEMORY);
			if (variant->net == ZC_NET_NOSG) {
				EXPECT_EQ(want, r.copied_bytes);
				EXPECT_EQ((uint32_t)ZCDEV_PATH_COPY, r.path);
				EXPECT_NE(0U, r.why & ZCDEV_WHY_NO_SG);
			} else {
				EXPECT_EQ(mem, r.copied_bytes);
				EXPECT_EQ(want - mem, r.zc_bytes);
				EXPECT_EQ((uint32_t)ZCDEV_PATH_MIXED, r.path);
				EXPECT_EQ((uint32_t)ZCDEV_WHY_MEMORY, r.why);
			}
			check_device_result(_metadata, &r, want);
		}
		EXPECT_EQ(a.path, r.path);
		EXPECT_EQ(a.why, r.why);
		EXPECT_EQ(a.status, r.status);
		EXPECT_EQ(1U, r.calls);
		zc_rx_free(&rxa);
		zc_rx_free(&rxb);
		zc_pair_close(&pa);
		zc_pair_close(&pb);
		if (_metadata->exit_code)
			break;
	}
	free(exp);
}

/*
 * An event loop over one response: ZCDEV_SEND_NONBLOCK without a reader
 * until -EAGAIN, resuming from seg_index/seg_sent each time.  The stream
 * must be exact, and at least one call must have stopped inside a segment.
 */
TEST_F(send, sendv_nonblock_resume)
{
	uint8_t hdr[333], trl[77];
	struct zcdev_seg segs[3], cur[3];
	struct zc_rx rx = { 0 };
	struct zc_result sum = { 0 };
	unsigned int first = 0, mid = 0, eagain = 0, rounds = 0, i;
	bool started = false;
	size_t want;
	uint8_t *exp;

	for (i = 0; i < sizeof(hdr); i++)
		hdr[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < sizeof(trl); i++)
		trl[i] = (uint8_t)(i * 13 + 5);
	zc_seg_mem(&segs[0], hdr, sizeof(hdr));
	zc_seg_file(&segs[1], self->fd, 12345, PAYLOAD_SIZE - 12345);
	zc_seg_mem(&segs[2], trl, sizeof(trl));
	exp = expected_stream(segs, 3, &want);
	ASSERT_NE(NULL, exp);
	memcpy(cur, segs, sizeof(segs));
	{
		struct zc_pair p;

		open_pair(_metadata, variant, &p, 0);
		while (first < 3 && rounds++ < 1000000) {
			struct zc_result r;
			ssize_t n;

			n = zc_sendv(self->zc, p.snd, cur + first, 3 - first,
				     ZCDEV_SEND_NONBLOCK, &r);
			if (n == -EAGAIN) {
				struct pollfd pfd = { p.snd, POLLOUT, 0 };

				eagain++;
				EXPECT_EQ(0ULL, r.sent);
				if (!started) {
					ASSERT_EQ(0, zc_rx_start(&rx, p.rcv,
								 want, IDLE_MS));
					started = true;
				}
				ASSERT_EQ(1, poll(&pfd, 1, IDLE_MS));
				continue;
			}
			ASSERT_LT(0, n) TH_LOG("segment %u: %s", first,
					       strerror(-n));
			zc_result_add(&sum, &r);
			/* the report places the stop exactly */
			EXPECT_LE(r.seg_index, 3 - first);
			if (r.seg_index + first < 3 && r.seg_sent)
				mid++;
			first += r.seg_index;
			if (first < 3) {
				ASSERT_LT(r.seg_sent, cur[first].len);
				if (cur[first].type == ZCDEV_SEG_MEM)
					cur[first].addr += r.seg_sent;
				else
					cur[first].offset += r.seg_sent;
				cur[first].len -= r.seg_sent;
			}
		}
		if (!started)
			ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, want, IDLE_MS));
		shutdown(p.snd, SHUT_WR);
		EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
		zc_pair_close(&p);
	}
	EXPECT_EQ(3U, first);
	EXPECT_LE(1U, eagain);
	EXPECT_LE(1U, mid) TH_LOG("no call stopped inside a segment");
	EXPECT_EQ(want, sum.sent);
	EXPECT_EQ(sum.sent, sum.zc_bytes + sum.copied_bytes);
	EXPECT_LE(sizeof(hdr) + sizeof(trl), sum.copied_bytes);
	EXPECT_EQ(want, rx.len);
	EXPECT_EQ(0, memcmp(rx.buf, exp, want));
	zc_rx_free(&rx);
	free(exp);
}

/* ---- 1.1: probe ------------------------------------------------------------ */

/*
 * zc_probe() equals the raw ioctl, and says what a send then does: the same
 * path and reasons (a tmpfs file without holes, nothing changes between).
 */
TEST_F(send, probe_matches_send)
{
	const unsigned int flagsets[] = { 0, ZCDEV_SEND_NOTIFY };
	unsigned int k;

	for (k = 0; k < 2; k++) {
		unsigned int flags = flagsets[k];
		struct zc_probe_result pr;
		struct zcdev_probe raw;
		struct zc_result r;
		struct zc_rx rx = { 0 };
		struct zc_pair p;
		int ret;
		ssize_t n;

		TH_LOG("flags %#x", flags);
		open_pair(_metadata, variant, &p, 4 << 20);
		memset(&pr, 0xa5, sizeof(pr));
		errno = EDOM;
		ret = zc_probe(self->zc, p.snd, self->fd, flags, &pr);
		EXPECT_EQ(EDOM, errno);
		ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
		memset(&raw, 0, sizeof(raw));
		raw.sock_fd = p.snd;
		raw.file_fd = self->fd;
		raw.flags = flags;
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_PROBE, &raw));
		EXPECT_EQ(raw.path, pr.path);
		EXPECT_EQ(raw.why, pr.why);
		EXPECT_EQ(raw.send_flags, pr.send_flags);
		EXPECT_EQ(raw.why_known, pr.why_known);
		EXPECT_EQ(0U, pr.resv[0] | pr.resv[1] | pr.resv[2] | pr.resv[3]);
		EXPECT_EQ((uint32_t)ZCDEV_SEND_FLAGS_ALL, pr.send_flags);
		EXPECT_EQ((uint32_t)ZCDEV_WHY_ALL, pr.why_known);

		if (variant->net == ZC_NET_NOSG) {
			EXPECT_EQ((uint32_t)ZCDEV_PATH_COPY, pr.path);
			EXPECT_NE(0U, pr.why & ZCDEV_WHY_NO_SG);
		} else if (variant->fam == ZC_UNIX && flags) {
			EXPECT_EQ((uint32_t)ZCDEV_PATH_COPY, pr.path);
			EXPECT_EQ((uint32_t)ZCDEV_WHY_NOTIFY, pr.why);
		} else {
			EXPECT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, pr.path);
			EXPECT_EQ(0U, pr.why);
		}

		/* nothing was sent by the probe */
		EXPECT_EQ(0, zc_marker_check(p.snd, p.rcv, IDLE_MS))
			TH_LOG("%s", zc_errmsg());

		ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, 65536, IDLE_MS));
		n = zc_sendfile(self->zc, p.snd, self->fd, 0, 65536, flags, &r);
		shutdown(p.snd, SHUT_WR);
		EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(65536, n);
		EXPECT_EQ(pr.path, r.path);
		EXPECT_EQ(pr.why, r.why);
		if (flags) {
			struct zcdev_completion c;
			struct pollfd pfd = { zc_fd(self->zc), POLLIN, 0 };

			/* drain this send's completion: the fixture is shared */
			EXPECT_NE(0ULL, r.notify_id);
			EXPECT_EQ(1, poll(&pfd, 1, IDLE_MS));
			EXPECT_EQ(1, zc_read_completions(self->zc, &c, 1, 0));
			EXPECT_EQ(r.notify_id, c.id);
		}
		zc_rx_free(&rx);
		zc_pair_close(&p);
		if (_metadata->exit_code)
			break;
	}
}

TEST(probe_module_and_errors)
{
	struct zc_probe_result pr;
	struct zc_pair p;
	struct zc *zc;
	char path[256];
	int fd, wfd;

	ASSERT_EQ(0, zc_open(&zc, NULL, ZC_OPEN_NOFALLBACK));
	memset(&pr, 0xa5, sizeof(pr));
	ASSERT_EQ(0, zc_probe(zc, -1, -1, 0, &pr));
	EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, pr.path);
	EXPECT_EQ(0U, pr.why);
	EXPECT_EQ((uint32_t)ZCDEV_SEND_FLAGS_ALL, pr.send_flags);
	EXPECT_EQ((uint32_t)ZCDEV_WHY_ALL, pr.why_known);

	fd = payload(path, sizeof(path));
	ASSERT_LE(0, fd);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL));
	EXPECT_EQ(-EINVAL, zc_probe(zc, -1, fd, 0, &pr));
	EXPECT_EQ(-EINVAL, zc_probe(zc, p.snd, fd, 1U << 20, &pr));
	EXPECT_EQ(-EBADF, zc_probe(zc, 1000, -1, 0, &pr));
	EXPECT_EQ(-ENOTSOCK, zc_probe(zc, fd, -1, 0, &pr));
	EXPECT_EQ(-EBADF, zc_probe(zc, p.snd, wfd, 0, &pr));
	EXPECT_EQ(-EINVAL, zc_probe(zc, p.snd, -1, 0, NULL));
	/* a file without page cache to lend is a source reason */
	{
		int pfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
		int ret;

		ASSERT_LE(0, pfd);
		ret = zc_probe(zc, p.snd, pfd, 0, &pr);
		if (ret == -EINVAL) {
			TH_LOG("procfs files are refused by this module");
		} else {
			EXPECT_EQ(0, ret);
			EXPECT_EQ((uint32_t)ZCDEV_PATH_COPY, pr.path);
			EXPECT_NE(0U, pr.why & ZCDEV_WHY_NO_PAGECACHE);
		}
		close(pfd);
	}
	zc_pair_close(&p);
	close(wfd);
	close(fd);
	unlink(path);
	zc_close(zc);
}

/* ---- 1.1: completions -------------------------------------------------------- */

/*
 * ZCDEV_SEND_NOTIFY: every send that sent something gets a distinct id;
 * zc_read_completions() returns each once, from this handle only; after a
 * completion the file may change without changing what the peer gets.
 * Local receivers make the stack copy, so completions carry
 * ZCDEV_COMPL_COPIED here.
 */
TEST_F(send, notify_completions)
{
	const uint64_t len = 256 * 1024;
	uint64_t ids[3] = { 0 };
	struct zcdev_completion c[8];
	struct zc_result r;
	struct zc_rx rx = { 0 };
	struct zc_pair p;
	struct zc *other;
	unsigned int got = 0, k, i;
	int n, copied = 0;
	ssize_t sent;

	ASSERT_EQ(0, zc_open(&other, NULL, ZC_OPEN_NOFALLBACK));
	open_pair(_metadata, variant, &p, 4 << 20);
	/* nothing queued: 0 at once */
	EXPECT_EQ(0, zc_read_completions(self->zc, c, 8, 0));

	for (k = 0; k < 3; k++) {
		errno = EDOM;
		sent = zc_sendfile(self->zc, p.snd, self->fd, k * len, len,
				   ZCDEV_SEND_NOTIFY, &r);
		EXPECT_EQ(EDOM, errno);
		ASSERT_EQ((ssize_t)len, sent) TH_LOG("%s",
			  sent < 0 ? strerror(-sent) : "short");
		EXPECT_NE(0ULL, r.notify_id);
		for (i = 0; i < k; i++)
			EXPECT_NE(ids[i], r.notify_id);
		ids[k] = r.notify_id;
		if (variant->fam == ZC_UNIX) {
			/* by copy, completed before the call returned */
			EXPECT_EQ((uint32_t)ZCDEV_WHY_NOTIFY, r.why);
			EXPECT_EQ(len, r.copied_bytes);
		} else if (variant->net != ZC_NET_NOSG) {
			EXPECT_EQ(len, r.zc_bytes);
		}
	}
	/* a NOTIFY send that sends nothing gets no id */
	sent = zc_sendfile(self->zc, p.snd, self->fd, PAYLOAD_SIZE, 10,
			   ZCDEV_SEND_NOTIFY, &r);
	EXPECT_EQ(0, sent);
	EXPECT_EQ(0ULL, r.notify_id);

	/* all three come back (in completion order), each once */
	while (got < 3) {
		struct pollfd pfd = { zc_fd(self->zc), POLLIN, 0 };

		ASSERT_EQ(1, poll(&pfd, 1, IDLE_MS))
			TH_LOG("%u of 3 completions", got);
		n = zc_read_completions(self->zc, c, 8, 0);
		ASSERT_LE(0, n) TH_LOG("%s", strerror(-n));
		for (i = 0; i < (unsigned int)n; i++) {
			for (k = 0; k < 3; k++)
				if (ids[k] && ids[k] == c[i].id)
					break;
			ASSERT_GT(3U, k) TH_LOG("unknown id %llu",
				  (unsigned long long)c[i].id);
			ids[k] = 0;
			EXPECT_EQ(0U, c[i].reserved);
			EXPECT_EQ(0U, c[i].flags & ~(uint32_t)ZCDEV_COMPL_COPIED);
			copied += !!(c[i].flags & ZCDEV_COMPL_COPIED);
			got++;
		}
	}
	EXPECT_EQ(3, copied) TH_LOG("local receivers and copies complete "
				    "with ZCDEV_COMPL_COPIED");
	EXPECT_EQ(0, zc_read_completions(self->zc, c, 8, 0));
	EXPECT_EQ(0, zc_read_completions(other, c, 8, 0));

	/*
	 * The oracle: after the completion, flip the file; the peer (which
	 * has not read anything yet) must still get the original bytes.
	 */
	ASSERT_EQ(0, zc_flip_range(self->fd, 0, 3 * len));
	ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, 3 * len, IDLE_MS));
	shutdown(p.snd, SHUT_WR);
	EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_flip_range(self->fd, 0, 3 * len));
	EXPECT_EQ(3 * len, rx.len);
	EXPECT_EQ(-1, zc_verify(rx.buf, rx.len, 0)) TH_LOG("%s", zc_errmsg());
	zc_rx_free(&rx);
	zc_pair_close(&p);
	zc_close(other);
}

/* zc_sendv() with NOTIFY, and ZC_COMPL_WAIT blocking until it completes. */
TEST_F(send, notify_sendv_wait)
{
	struct zcdev_seg segs[5];
	unsigned int nr = build_response(segs, self->fd);
	struct zcdev_completion c[2];
	struct zc_result r;
	struct zc_rx rx = { 0 };
	struct zc_pair p;
	size_t want;
	uint8_t *exp = expected_stream(segs, nr, &want);
	ssize_t n;

	ASSERT_NE(NULL, exp);
	open_pair(_metadata, variant, &p, 4 << 20);
	ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, want, IDLE_MS));
	n = zc_sendv(self->zc, p.snd, segs, nr, ZCDEV_SEND_NOTIFY, &r);
	ASSERT_EQ((ssize_t)want, n) TH_LOG("%s", n < 0 ? strerror(-n) : "");
	EXPECT_NE(0ULL, r.notify_id);
	EXPECT_EQ(1, zc_read_completions(self->zc, c, 2, ZC_COMPL_WAIT));
	EXPECT_EQ(r.notify_id, c[0].id);
	/* memory segments are copied: the completion says so */
	EXPECT_NE(0U, c[0].flags & ZCDEV_COMPL_COPIED);
	shutdown(p.snd, SHUT_WR);
	EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(want, rx.len);
	EXPECT_EQ(0, memcmp(rx.buf, exp, want));
	/* NOTIFY in the loops: one id per call cannot be returned */
	EXPECT_EQ(-EINVAL, zc_sendv_all(self->zc, p.snd, segs, nr,
					ZCDEV_SEND_NOTIFY, &r));
	EXPECT_EQ(-EINVAL, zc_sendfile_all(self->zc, p.snd, self->fd, 0, 10,
					   ZCDEV_SEND_NOTIFY, &r));
	zc_rx_free(&rx);
	zc_pair_close(&p);
	free(exp);
}

/* ---- 1.1: more segments than a call takes, resumed after signals ------------ */

static void on_usr1(int sig)
{
	(void)sig;
}

struct pester {
	pthread_t target, thread;
	volatile bool stop;
	unsigned int sent;
};

static void *pester_fn(void *arg)
{
	struct pester *p = arg;

	while (!p->stop) {
		pthread_kill(p->target, SIGUSR1);
		p->sent++;
		usleep(2000);
	}
	return NULL;
}

FIXTURE(many) {
	int unused;
};

FIXTURE_SETUP(many)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(many)
{
}

TEST_F_TIMEOUT(many, sendv_all_resumed, 120)
{
	const unsigned int nr = 2 * ZCDEV_SENDV_MAX_SEGS + 101;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct zcdev_seg *segs = calloc(nr, sizeof(*segs));
	struct pester pe = { 0 };
	struct zc_pair_opts po = { .sndbuf = 16384, .rcvbuf = 16384 };
	uint8_t *mem = malloc(nr * 64);
	struct zc_rx rx = { 0 };
	struct zc_result r;
	struct zc_pair p;
	struct zc *zc;
	char path[256];
	unsigned int i;
	size_t want;
	uint8_t *exp;
	ssize_t n;
	int fd;

	ASSERT_NE(NULL, segs);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, zc_open(&zc, NULL, ZC_OPEN_NOFALLBACK));
	fd = payload(path, sizeof(path));
	ASSERT_LE(0, fd);
	for (i = 0; i < nr * 64; i++)
		mem[i] = (uint8_t)(i * 31 + (i >> 9));
	for (i = 0; i < nr; i++) {
		if (i % 3 == 0)
			zc_seg_mem(&segs[i], mem + i * 64, 1 + i % 64);
		else if (i % 3 == 1)
			zc_seg_file(&segs[i], fd, (i * 4099ULL) % (1 << 20),
				    i % 7 ? 1 + (i * 977) % 8192 : 0);
		else
			zc_seg_file(&segs[i], fd, i, i % 5 ? 3 : 0);
	}
	/* a large range in the middle, for the signals to cut */
	zc_seg_file(&segs[nr / 2], fd, 0, PAYLOAD_SIZE);
	exp = expected_stream(segs, nr, &want);
	ASSERT_NE(NULL, exp);

	ASSERT_EQ(0, zc_pair_open(&p, ZC_UNIX, ZC_NET_LO, &po));
	rx.chunk = 4096;
	ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, want, IDLE_MS));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	pe.target = pthread_self();
	ASSERT_EQ(0, pthread_create(&pe.thread, NULL, pester_fn, &pe));
	errno = EDOM;
	n = zc_sendv_all(zc, p.snd, segs, nr, 0, &r);
	pe.stop = true;
	pthread_join(pe.thread, NULL);
	EXPECT_EQ(EDOM, errno);
	shutdown(p.snd, SHUT_WR);
	EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ((ssize_t)want, n) TH_LOG("%s", n < 0 ? strerror(-n) : "");
	EXPECT_EQ(want, rx.len);
	EXPECT_EQ(0, memcmp(rx.buf, exp, want));
	check_device_result(_metadata, &r, want);
	EXPECT_EQ(nr, r.seg_index);
	EXPECT_EQ(0ULL, r.seg_sent);
	EXPECT_EQ(mem_bytes(segs, nr), r.copied_bytes);
	/* three windows at least, and the signals made it resume */
	EXPECT_LT(3U, r.calls) TH_LOG("%u signals", pe.sent);
	TH_LOG("%u calls, %u signals", r.calls, pe.sent);
	signal(SIGUSR1, SIG_DFL);
	zc_rx_free(&rx);
	zc_pair_close(&p);
	close(fd);
	unlink(path);
	zc_close(zc);
	free(exp);
	free(mem);
	free(segs);
}

/* ---- 1.1: cached-only on a cold ext4 file ---------------------------------- */

FIXTURE(cold) {
	struct zc *zc;
	int fd;
	char path[256];
	struct zc_pair p;
};

FIXTURE_SETUP(cold)
{
	int64_t left;

	self->zc = NULL;
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	if (zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	ASSERT_EQ(0, zc_open(&self->zc, NULL, ZC_OPEN_NOFALLBACK));
	self->fd = zc_make_payload_file(zc_ext4_dir(), PAYLOAD_SIZE,
					self->path, sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	left = zc_make_cold(self->fd);
	ASSERT_EQ(0, left) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(cold)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
	zc_close(self->zc);
}

/*
 * Cache exactly [0, @half) of the cold file: read it, then drop what the
 * read brought in beyond it.  0, or -1 with a message.
 */
#define HALF	(1024 * 1024)
static int warm_half(int fd)
{
	static uint8_t buf[HALF];
	int64_t in = -1, out = -1;
	int i, rfd;

	/*
	 * Read through a POSIX_FADV_RANDOM descriptor: exactly the pages
	 * asked for come in, with no readahead mark among them.  (A mark
	 * would let the send itself start the next window, and on a busy
	 * machine that I/O can finish before the send looks beyond the half.)
	 */
	rfd = zc_reopen(fd, O_RDONLY);
	if (rfd < 0)
		return -1;
	if (posix_fadvise(rfd, 0, 0, POSIX_FADV_RANDOM) ||
	    pread(rfd, buf, HALF, 0) != HALF) {
		zc_seterr(true, "pread");
		close(rfd);
		return -1;
	}
	close(rfd);
	for (i = 0; i < 100; i++) {
		posix_fadvise(fd, HALF, 0, POSIX_FADV_DONTNEED);
		in = zc_resident_pages(fd, 0, HALF);
		out = zc_resident_pages(fd, HALF, PAYLOAD_SIZE - HALF);
		if (in == HALF / 4096 && out == 0)
			return 0;
		zc_sleep_ms(20);
	}
	zc_seterr(false, "%" PRId64 " pages in the first half, %" PRId64
		  " after it", in, out);
	return -1;
}

/*
 * Half cached: zc_sendfile_all() with CACHED_ONLY returns exactly the
 * cached half, with NOT_CACHED; the rest follows as readahead brings it in
 * (each loop stopping where the cache ends, or -EBUSY).
 */
TEST_F_TIMEOUT(cold, sendfile_all_stops_where_cache_ends, 120)
{
	struct zc_result r;
	struct zc_rx rx = { 0 };
	ssize_t n;

	ASSERT_EQ(0, warm_half(self->fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, PAYLOAD_SIZE, IDLE_MS));
	n = zc_sendfile_all(self->zc, self->p.snd, self->fd, 0, PAYLOAD_SIZE,
			    ZCDEV_SEND_CACHED_ONLY, &r);
	EXPECT_EQ(HALF, n) TH_LOG("%s", n < 0 ? strerror(-n) : "");
	EXPECT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status);
	EXPECT_EQ((uint64_t)HALF, r.sent);
	EXPECT_EQ((uint64_t)HALF, r.zc_bytes);
	EXPECT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path);
	{
		uint64_t off = HALF;
		unsigned int rounds = 0;

		while (off < PAYLOAD_SIZE && rounds++ < 20000) {
			usleep(1000);
			n = zc_sendfile_all(self->zc, self->p.snd, self->fd,
					    off, PAYLOAD_SIZE - off,
					    ZCDEV_SEND_CACHED_ONLY, &r);
			if (n == -EBUSY) {
				EXPECT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED,
					  r.status);
				continue;
			}
			ASSERT_LT(0, n) TH_LOG("%s", strerror(-n));
			off += (uint64_t)n;
			EXPECT_EQ(off < PAYLOAD_SIZE ?
				  (uint32_t)ZCDEV_STATUS_NOT_CACHED : 0U,
				  r.status);
		}
		EXPECT_EQ(PAYLOAD_SIZE, off);
	}
	shutdown(self->p.snd, SHUT_WR);
	EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(PAYLOAD_SIZE, rx.len);
	EXPECT_EQ(-1, zc_verify(rx.buf, rx.len, 0)) TH_LOG("%s", zc_errmsg());
	zc_rx_free(&rx);
}

/*
 * Nothing cached: -EBUSY with status NOT_CACHED and nothing sent, then
 * retries as readahead brings pages in; the *_all loop stops (partial
 * count or -EBUSY) at each uncached page; the stream is exact.
 */
TEST_F_TIMEOUT(cold, sendfile_cached_only, 120)
{
	struct zc_result r;
	struct zc_rx rx = { 0 };
	uint64_t off = 0;
	unsigned int busy = 0, partial = 0, rounds = 0;
	ssize_t n;

	errno = EDOM;
	memset(&r, 0xa5, sizeof(r));
	n = zc_sendfile(self->zc, self->p.snd, self->fd, 0, PAYLOAD_SIZE,
			ZCDEV_SEND_CACHED_ONLY, &r);
	EXPECT_EQ(EDOM, errno);
	ASSERT_EQ(-EBUSY, n) TH_LOG("a cold file: %zd", n);
	EXPECT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status);
	EXPECT_EQ(0ULL, r.sent);
	EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	EXPECT_EQ(1U, r.calls);
	EXPECT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());

	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, PAYLOAD_SIZE, IDLE_MS));
	while (off < PAYLOAD_SIZE && rounds++ < 100000) {
		n = zc_sendfile_all(self->zc, self->p.snd, self->fd, off,
				    PAYLOAD_SIZE - off,
				    ZCDEV_SEND_CACHED_ONLY, &r);
		if (n == -EBUSY) {
			busy++;
			EXPECT_EQ(0ULL, r.sent);
			EXPECT_NE(0U, r.status & ZCDEV_STATUS_NOT_CACHED);
			usleep(1000);
			continue;
		}
		ASSERT_LT(0, n) TH_LOG("at %" PRIu64 ": %s", off,
				       strerror(-n));
		EXPECT_EQ((uint64_t)n, r.sent);
		EXPECT_EQ(r.sent, r.zc_bytes);
		off += (uint64_t)n;
		if (off < PAYLOAD_SIZE) {
			/* the loop stops only where the cache ends */
			EXPECT_NE(0U, r.status & ZCDEV_STATUS_NOT_CACHED);
			partial++;
			usleep(1000);
		} else {
			EXPECT_EQ(0U, r.status);
		}
	}
	shutdown(self->p.snd, SHUT_WR);
	EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(PAYLOAD_SIZE, off);
	EXPECT_EQ(PAYLOAD_SIZE, rx.len);
	EXPECT_EQ(-1, zc_verify(rx.buf, rx.len, 0)) TH_LOG("%s", zc_errmsg());
	TH_LOG("%u -EBUSY, %u partial stops", busy, partial);
	zc_rx_free(&rx);
}

/* A header goes out even when the file is cold: a partial count. */
TEST_F_TIMEOUT(cold, sendv_cached_only, 120)
{
	struct zcdev_seg segs[3];
	struct zc_result r;
	struct zc_rx rx = { 0 };
	size_t want;
	uint8_t *exp;
	ssize_t n;

	zc_seg_mem(&segs[0], http_hdr, sizeof(http_hdr) - 1);
	zc_seg_file(&segs[1], self->fd, 0, PAYLOAD_SIZE);
	zc_seg_mem(&segs[2], http_trl, sizeof(http_trl) - 1);
	exp = expected_stream(segs, 3, &want);
	ASSERT_NE(NULL, exp);
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, want, IDLE_MS));

	/* the file alone: -EBUSY from the loop too, nothing sent */
	n = zc_sendv_all(self->zc, self->p.snd, &segs[1], 1,
			 ZCDEV_SEND_CACHED_ONLY, &r);
	if (n != -EBUSY)
		TH_LOG("readahead was already done: %zd", n);
	ASSERT_EQ(-EBUSY, n);
	EXPECT_EQ(0ULL, r.sent);
	EXPECT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status);
	EXPECT_EQ(0U, r.seg_index);
	EXPECT_EQ(0ULL, r.seg_sent);

	/* cold again, header first: the header goes, then a stop */
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	n = zc_sendv(self->zc, self->p.snd, segs, 3, ZCDEV_SEND_CACHED_ONLY,
		     &r);
	EXPECT_EQ((ssize_t)(sizeof(http_hdr) - 1), n);
	EXPECT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status);
	EXPECT_EQ(1U, r.seg_index);
	EXPECT_EQ(0ULL, r.seg_sent);
	EXPECT_EQ(n, (ssize_t)r.copied_bytes);
	EXPECT_EQ((uint32_t)ZCDEV_WHY_MEMORY, r.why);

	/* half cached: the loop stops inside the file segment */
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, warm_half(self->fd)) TH_LOG("%s", zc_errmsg());
	n = zc_sendv_all(self->zc, self->p.snd, &segs[1], 2,
			 ZCDEV_SEND_CACHED_ONLY, &r);
	EXPECT_EQ(HALF, n) TH_LOG("%s", n < 0 ? strerror(-n) : "");
	EXPECT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status);
	EXPECT_EQ(0U, r.seg_index);
	EXPECT_EQ((uint64_t)HALF, r.seg_sent);
	EXPECT_EQ((uint64_t)HALF, r.zc_bytes);

	/* finish without CACHED_ONLY from where it stopped */
	segs[1].offset += HALF;
	segs[1].len -= HALF;
	n = zc_sendv_all(self->zc, self->p.snd, &segs[1], 2, 0, &r);
	EXPECT_EQ((ssize_t)(want - sizeof(http_hdr) + 1 - HALF), n);
	shutdown(self->p.snd, SHUT_WR);
	EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(want, rx.len);
	EXPECT_EQ(0, memcmp(rx.buf, exp, want));
	zc_rx_free(&rx);
	free(exp);
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

	/* 1.1: what cannot be emulated is refused, the rest is emulated */
	ASSERT_EQ(0, zc_pair_open(&p, variant->fam, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	{
		struct zcdev_seg segs[5];
		unsigned int nr = build_response(segs, fd);
		struct zc_probe_result pr;
		struct zcdev_completion c;
		size_t want;
		uint8_t *exp = expected_stream(segs, nr, &want);

		ASSERT_NE(NULL, exp);
		EXPECT_EQ(-EOPNOTSUPP, zc_sendfile(zc, p.snd, fd, 0, 10,
					ZCDEV_SEND_CACHED_ONLY, &r));
		EXPECT_EQ(ZC_WHY_NO_MODULE, r.why);
		EXPECT_EQ(-EOPNOTSUPP, zc_sendv(zc, p.snd, segs, nr,
						ZCDEV_SEND_NOTIFY, &r));
		EXPECT_EQ(-EOPNOTSUPP, zc_read_completions(zc, &c, 1,
							   ZC_COMPL_WAIT));
		ASSERT_EQ(0, zc_probe(zc, -1, -1, 0, &pr));
		EXPECT_EQ((uint32_t)(ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE),
			  pr.send_flags);
		EXPECT_EQ(ZC_WHY_NO_MODULE, pr.why);
		ASSERT_EQ(0, zc_probe(zc, p.snd, fd, 0, &pr));
		EXPECT_EQ(ZC_PATH_UNKNOWN, pr.path);
		EXPECT_EQ(0, zc_marker_check(p.snd, p.rcv, IDLE_MS))
			TH_LOG("%s", zc_errmsg());

		ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, want, IDLE_MS));
		errno = EDOM;
		n = zc_sendv_all(zc, p.snd, segs, nr, 0, &r);
		EXPECT_EQ(EDOM, errno);
		shutdown(p.snd, SHUT_WR);
		EXPECT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ((ssize_t)want, n);
		EXPECT_EQ(want, rx.len);
		EXPECT_EQ(0, memcmp(rx.buf, exp, want));
		EXPECT_EQ(ZC_PATH_UNKNOWN, r.path);
		EXPECT_EQ(ZC_WHY_NO_MODULE | ZCDEV_WHY_MEMORY, r.why);
		EXPECT_EQ(mem_bytes(segs, nr), r.copied_bytes);
		EXPECT_EQ(want - mem_bytes(segs, nr), r.unknown_bytes);
		EXPECT_EQ(nr, r.seg_index);
		zc_rx_free(&rx);
		free(exp);
	}
	zc_pair_close(&p);

	close(fd);
	unlink(path);
	zc_close(zc);
}

TEST_HARNESS_MAIN
