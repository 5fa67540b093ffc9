// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_cached: ZCDEV_SEND_CACHED_ONLY and ZCDEV_STATUS_* (issue 7).
 *
 *   cached.abi_*          the flag needs the VER1 (80-byte) struct
 *   cached.cold_*         a cold ext4 file: -EBUSY with the report written
 *                         back, and readahead started where the call stopped
 *   cached.prefix_*       a cached prefix is sent exactly, then NOT_CACHED
 *   cached.warm_*         a fully cached file is sent whole, status 0
 *   cached.retry_*        retrying from where it stopped delivers the whole
 *                         file byte-exact, each call quick
 *   cached.tmpfs_holes    holes are not "uncached": zeros copied (WHY_HOLE)
 *   cached.eof_*          ZCDEV_STATUS_EOF, with and without CACHED_ONLY
 *   cached.nonblock_*     a full socket is -EAGAIN, an uncached page -EBUSY
 *   cached.tmpfs_swapped_out  swapped-out tmpfs pages are swapped in and
 *                         lent; CACHED_ONLY starts the swap-in
 *   cached.truncate_during_swapin  a truncate that lands while a blocking
 *                         send waits for a tmpfs page to come back from swap:
 *                         the send stops at the new EOF, as read(2) would
 *   cached.event_loop_*   a poll() loop serving a cold file never blocks;
 *                         with the disk slowed down by a cgroup io.max
 *                         throttle, while a plain send of the same data does
 *                         block for seconds
 *
 * Cold files: POSIX_FADV_DONTNEED (+ drop_caches) until mincore() shows no
 * page resident.  Partially cached files: a prefix read with pread() on a
 * POSIX_FADV_RANDOM descriptor (no readahead), checked with mincore().
 * Runs only inside the QEMU guests (vm/), never on the host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#include "zc_util.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define PG 4096ULL

/* how long any single wait may take before the test fails (TCG is slow) */
#define IDLE_MS 10000
/*
 * The longest one CACHED_ONLY call may take.  It never waits for the disk,
 * but under TCG one call that sends a 1 MiB batch over loopback can take
 * tens of milliseconds; a call that waited for the throttled disk of the
 * event_loop_slow_disk test would take seconds.
 */
#define CALL_BOUND_MS 500
/*
 * Under zc.timeout_scale (the debug kernel) every call is that many times
 * slower: the bound grows by the scale, and the throttled disks of the
 * tests that use it become as many times slower, so that a call that
 * waited for the disk still takes longer than the bound.
 */
#define call_bound_ms() ((uint64_t)zc_scaled_ms(CALL_BOUND_MS))
#define slow_bps(bps) ((uint64_t)(bps) / zc_timeout_scale())

/* ---- local helpers ---------------------------------------------------- */

/* poison every out field, VER1 ones included, then call */
static int sf_call(int dev, struct zcdev_sendfile *a)
{
	zc_poison_out(a);
	memset(&a->status, 0xcc, sizeof(a->status));
	memset(&a->notify_id, 0xcc, sizeof(a->notify_id));
	return ioctl(dev, ZCDEV_IOC_SENDFILE, a);
}

/* zc_report_check + the VER1 fields (no NOTIFY here: notify_id is 0) */
static int report_check1(const struct zcdev_sendfile *in,
			 const struct zcdev_sendfile *out, uint64_t max_sent)
{
	if (zc_report_check(in, out, max_sent))
		return -1;
	if (out->reserved1 != in->reserved1) {
		zc_seterr(false, "reserved1 changed: 0x%x", out->reserved1);
		return -1;
	}
	if (out->status & ~ZCDEV_STATUS_ALL) {
		zc_seterr(false, "unknown status bits 0x%x", out->status);
		return -1;
	}
	if (out->notify_id) {
		zc_seterr(false, "notify_id %" PRIu64 " without NOTIFY",
			  (uint64_t)out->notify_id);
		return -1;
	}
	return 0;
}

static const char *rep(const struct zcdev_sendfile *r)
{
	static __thread char s[320];

	snprintf(s, sizeof(s), "%s status=0x%x notify_id=%" PRIu64,
		 zc_report_str(r), r->status, (uint64_t)r->notify_id);
	return s;
}

/*
 * Cache exactly pages [0, npages) of a cold file: pread on a descriptor with
 * POSIX_FADV_RANDOM, which reads what is asked and no more.
 */
static int cache_prefix(int fd, uint64_t npages)
{
	int rfd = zc_reopen(fd, O_RDONLY);
	uint8_t *buf = malloc(npages * PG);
	int ret = -1;

	if (rfd < 0 || !buf) {
		zc_seterr(true, "open/malloc");
		goto out;
	}
	if (posix_fadvise(rfd, 0, 0, POSIX_FADV_RANDOM)) {
		zc_seterr(false, "POSIX_FADV_RANDOM failed");
		goto out;
	}
	if (pread(rfd, buf, npages * PG, 0) != (ssize_t)(npages * PG)) {
		zc_seterr(true, "pread of the prefix");
		goto out;
	}
	ret = 0;
out:
	free(buf);
	if (rfd >= 0)
		close(rfd);
	return ret;
}

/* wait until at least @want pages of the range are resident */
static int64_t wait_resident(int fd, uint64_t off, uint64_t len, int64_t want,
			     int timeout_ms)
{
	uint64_t deadline = zc_now_ms() + timeout_ms;
	int64_t n;

	for (;;) {
		n = zc_resident_pages(fd, off, len);
		if (n < 0 || n >= want || zc_now_ms() > deadline)
			return n;
		zc_sleep_ms(10);
	}
}

/* ---- a slow disk: cgroup v2 io.max read throttle ------------------------ */

#define CG_ROOT "/sys/fs/cgroup"

struct throttle {
	char dir[128];
	bool active;
};

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

/*
 * 1: the io controller is not available (skip); 0: this process is in a
 * new cgroup whose reads from @file_fd's device are limited to @bps; -1:
 * error (message in zc_errmsg()).
 */
static int throttle_start(struct throttle *t, int file_fd, uint64_t bps)
{
	char buf[128], path[192];
	struct stat st;

	t->active = false;
	if (access(CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("none", CG_ROOT, "cgroup2", 0, NULL)) {
		zc_seterr(true, "mount cgroup2");
		return 1;
	}
	if (!file_has_word(CG_ROOT "/cgroup.controllers", "io")) {
		zc_seterr(false, "no io controller in cgroup2");
		return 1;
	}
	if (!file_has_word(CG_ROOT "/cgroup.subtree_control", "io") &&
	    write_str(CG_ROOT "/cgroup.subtree_control", "+io")) {
		zc_seterr(true, "enable +io");
		return -1;
	}
	snprintf(t->dir, sizeof(t->dir), CG_ROOT "/zct-cached-%d", getpid());
	if (mkdir(t->dir, 0755) && errno != EEXIST) {
		zc_seterr(true, "mkdir %s", t->dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/io.max", t->dir);
	if (access(path, F_OK)) {
		zc_seterr(false, "no io.max (kernel without blk-throttle)");
		rmdir(t->dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", t->dir);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (write_str(path, buf)) {
		zc_seterr(true, "join %s", t->dir);
		rmdir(t->dir);
		return -1;
	}
	t->active = true;
	if (fstat(file_fd, &st)) {
		zc_seterr(true, "fstat");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/io.max", t->dir);
	snprintf(buf, sizeof(buf), "%u:%u rbps=%" PRIu64, major(st.st_dev),
		 minor(st.st_dev), bps);
	if (write_str(path, buf)) {
		zc_seterr(true, "write '%s' to io.max", buf);
		return -1;
	}
	return 0;
}

static void throttle_stop(struct throttle *t)
{
	char buf[32];

	if (!t->active)
		return;
	snprintf(buf, sizeof(buf), "%d", getpid());
	write_str(CG_ROOT "/cgroup.procs", buf);
	rmdir(t->dir);
	t->active = false;
}

/* ===================================================================== */

FIXTURE(cached) {
	int dev;
	int fd;		/* O_RDWR payload file */
	int ro;		/* O_RDONLY: the one we send from */
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	struct zc_rx rx;
	uint8_t *buf;
	struct throttle thr;
	char defer_max[32];
};

FIXTURE_VARIANT(cached) {
	enum zc_fam fam;
};

FIXTURE_VARIANT_ADD(cached, tcp4) { .fam = ZC_TCP4 };
FIXTURE_VARIANT_ADD(cached, tcp6) { .fam = ZC_TCP6 };
FIXTURE_VARIANT_ADD(cached, unix) { .fam = ZC_UNIX };

/* big buffers: what is sent sits in the receiver's queue, unread */
static const struct zc_pair_opts big_bufs = {
	.rcvbuf = 16 * MiB, .sndbuf = 16 * MiB, .sndtimeo_ms = 3000,
};

/* small buffers, so the socket fills up */
static const struct zc_pair_opts small_bufs = {
	.rcvbuf = 16 * KiB, .sndbuf = 16 * KiB, .sndtimeo_ms = 3000,
};

FIXTURE_SETUP(cached)
{
	self->fd = self->ro = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	self->thr.active = false;
	self->defer_max[0] = 0;
	memset(&self->rx, 0, sizeof(self->rx));
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	zc_cold_prepare(self->defer_max, sizeof(self->defer_max));
}

FIXTURE_TEARDOWN(cached)
{
	throttle_stop(&self->thr);
	if (self->p.snd >= 0)
		shutdown(self->p.snd, SHUT_RDWR);
	if (self->p.rcv >= 0)
		shutdown(self->p.rcv, SHUT_RDWR);
	zc_rx_free(&self->rx);
	zc_pair_close(&self->p);
	if (self->ro >= 0)
		close(self->ro);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	zc_cold_restore(self->defer_max);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/* a payload file of @size bytes on ext4 (or tmpfs), and the socket pair */
static void make_file(struct __test_metadata *_metadata,
		      FIXTURE_DATA(cached) *self,
		      const FIXTURE_VARIANT(cached) *variant, bool ext4,
		      uint64_t size, const struct zc_pair_opts *o)
{
	const char *dir = ext4 ? zc_ext4_dir() : zc_tmpfs_dir();

	if (zc_check_fs(dir, ext4 ? ZC_EXT4_MAGIC : ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = size;
	self->fd = zc_make_payload_file(dir, size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->ro);
	self->buf = malloc(size + 64 * KiB);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, o))
		TH_LOG("%s", zc_errmsg());
}

static void make_cold(struct __test_metadata *_metadata,
		      FIXTURE_DATA(cached) *self)
{
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("file not cold: %s",
						     zc_errmsg());
	ASSERT_EQ(0, zc_resident_pages(self->ro, 0, self->size));
}

/*
 * The truth oracle for a send reported ZEROCOPY whose @len bytes from file
 * offset @off sit unread at the peer: flip the file's range, read, flip
 * back.  Bytes lent by reference come out flipped, copies would not.
 */
static void recv_all_lent(struct __test_metadata *_metadata,
			  FIXTURE_DATA(cached) *self, uint64_t off,
			  uint64_t len)
{
	uint64_t flipped = 0, same = 0;
	socklen_t sl = sizeof(int);
	int dom = 0;

	/* TCP: every byte acknowledged, so in the peer's queue (AF_UNIX
	 * queues at the peer at once; its SIOCOUTQ counts unread bytes) */
	ASSERT_EQ(0, getsockopt(self->p.snd, SOL_SOCKET, SO_DOMAIN, &dom, &sl));
	if (dom != AF_UNIX)
		ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_flip_range(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->p.rcv, self->buf, len,
					      IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_flip_range(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_classify(self->buf, len, off, &flipped, &same))
		TH_LOG("not the payload: %s", zc_errmsg());
	ASSERT_EQ(len, flipped) TH_LOG("reported zero copy, but %" PRIu64
				       " of %" PRIu64 " bytes were copied",
				       same, len);
}

/* nothing (more) arrived: a write(2) marker is the next thing read */
#define ASSERT_NOTHING_MORE() \
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS)) \
		TH_LOG("%s", zc_errmsg())

/* ---- abi --------------------------------------------------------------- */

/* CACHED_ONLY needs the VER1 struct: 64 (and 72) bytes are -EINVAL */
TEST_F(cached, abi_needs_ver1)
{
	const unsigned int small[] = { ZCDEV_SENDFILE_SIZE_VER0, 72 };
	uint8_t b[128];
	struct zcdev_sendfile a, r;
	unsigned int i;

	make_file(_metadata, self, variant, false, 64 * KiB, &big_bufs);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(80U, sizeof(struct zcdev_sendfile));
	ASSERT_EQ((unsigned int)ZCDEV_SENDFILE_SIZE_VER1,
		  sizeof(struct zcdev_sendfile));
	ASSERT_EQ(64U, offsetof(struct zcdev_sendfile, status));
	ASSERT_EQ(68U, offsetof(struct zcdev_sendfile, reserved1));
	ASSERT_EQ(72U, offsetof(struct zcdev_sendfile, notify_id));

	for (i = 0; i < ARRAY_SIZE(small); i++) {
		a = zc_sendfile_in(self->ro, self->p.snd, 0, 1000,
			    ZCDEV_SEND_CACHED_ONLY);
		zc_poison_out(&a);
		memset(b, 0, sizeof(b));
		memcpy(b, &a, small[i]);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->dev,
				    ZC_IOC_SENDFILE_SIZED(small[i]), b))
			TH_LOG("size %u with CACHED_ONLY accepted", small[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %u: errno %d (%s)",
						small[i], errno,
						strerror(errno));
	}
	ASSERT_NOTHING_MORE();

	/* the same 64-byte call without the flag works: it was the flag */
	a = zc_sendfile_in(self->ro, self->p.snd, 0, 1000, 0);
	memcpy(b, &a, 64);
	ASSERT_EQ(0, ioctl(self->dev, ZC_IOC_SENDFILE_SIZED(64), b))
		TH_LOG("errno %d (%s)", errno, strerror(errno));
	memcpy(&r, b, 64);
	ASSERT_EQ(1000ULL, r.sent);
	/* and an 80-byte (or larger, zero tail) one with the flag too */
	memset(b, 0, sizeof(b));
	a = zc_sendfile_in(self->ro, self->p.snd, 1000, 1000, ZCDEV_SEND_CACHED_ONLY);
	zc_poison_out(&a);
	memcpy(b, &a, sizeof(a));
	ASSERT_EQ(0, ioctl(self->dev, ZC_IOC_SENDFILE_SIZED(sizeof(b)), b))
		TH_LOG("errno %d (%s)", errno, strerror(errno));
	memcpy(&r, b, sizeof(r));
	ASSERT_EQ(0, report_check1(&a, &r, 1000)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(1000ULL, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0U, r.status) TH_LOG("%s", rep(&r));
	for (i = sizeof(r); i < sizeof(b); i++)
		ASSERT_EQ(0, b[i]) TH_LOG("tail byte %u written", i);
	ASSERT_EQ(2000, zc_recv_exact(self->p.rcv, self->buf, 2000, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, 2000, 0)) TH_LOG("%s", zc_errmsg());
	ASSERT_NOTHING_MORE();
}

/* ---- cold ---------------------------------------------------------------- */

/*
 * A cold file: -EBUSY, the report written back (sent 0, NOT_CACHED), nothing
 * sent, and readahead started at the offset asked for: pages there become
 * resident while nobody reads, pages before it stay out.
 */
TEST_F_TIMEOUT(cached, cold_ebusy_starts_readahead, 60)
{
	const uint64_t off = 1 * MiB + 123;
	struct zcdev_sendfile in, r;
	int64_t n, before;

	make_file(_metadata, self, variant, true, 4 * MiB, &big_bufs);
	if (_metadata->exit_code)
		return;
	make_cold(_metadata, self);

	in = zc_sendfile_in(self->ro, self->p.snd, off, 64 * KiB,
		     ZCDEV_SEND_CACHED_ONLY);
	r = in;
	errno = 0;
	ASSERT_EQ(-1, sf_call(self->dev, &r)) TH_LOG("cold file sent: %s",
						     rep(&r));
	ASSERT_EQ(EBUSY, errno) TH_LOG("errno %d (%s)", errno, strerror(errno));
	/* the out fields are written back with -EBUSY */
	ASSERT_EQ(0ULL, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0ULL, r.zc_bytes) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0ULL, r.copied_bytes) TH_LOG("%s", rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0U, r.why) TH_LOG("%s", rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status)
		TH_LOG("%s", rep(&r));
	ASSERT_EQ(0ULL, r.notify_id) TH_LOG("%s", rep(&r));
	ASSERT_EQ(in.offset, r.offset);
	ASSERT_EQ(in.len, r.len);
	ASSERT_EQ(in.flags, r.flags);
	ASSERT_EQ(0U, r.reserved1);

	before = zc_resident_pages(self->ro, off, 64 * KiB);
	TH_LOG("right after -EBUSY: %" PRId64 " of 17 pages resident", before);
	/* nobody reads: the readahead the call started brings pages in */
	n = wait_resident(self->ro, off, 1, 1, IDLE_MS);
	ASSERT_EQ(1, n) TH_LOG("the page at the offset never became resident");
	n = wait_resident(self->ro, off, 64 * KiB, 17, IDLE_MS);
	ASSERT_EQ(17, n) TH_LOG("readahead did not cover the range asked");
	/* nothing before the offset was read */
	ASSERT_EQ(0, zc_resident_pages(self->ro, 0, off & ~(PG - 1)));
	ASSERT_NOTHING_MORE();

	/* now it is cached: the same call sends it, status 0 */
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
	ASSERT_EQ(0, report_check1(&in, &r, in.len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(in.len, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0U, r.status) TH_LOG("%s", rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path) TH_LOG("%s", rep(&r));
	ASSERT_EQ((ssize_t)in.len, zc_recv_exact(self->p.rcv, self->buf,
						 in.len, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, in.len, off)) TH_LOG("%s", zc_errmsg());
	ASSERT_NOTHING_MORE();
}

/* without CACHED_ONLY the same cold file is read and sent (the contrast) */
TEST_F_TIMEOUT(cached, cold_without_flag_waits, 60)
{
	struct zcdev_sendfile in, r;

	make_file(_metadata, self, variant, true, 1 * MiB, &big_bufs);
	if (_metadata->exit_code)
		return;
	make_cold(_metadata, self);
	in = zc_sendfile_in(self->ro, self->p.snd, 0, self->size, 0);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
	ASSERT_EQ(0, report_check1(&in, &r, in.len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(self->size, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0U, r.status) TH_LOG("%s", rep(&r));
	ASSERT_EQ((ssize_t)self->size, zc_recv_exact(self->p.rcv, self->buf,
						     self->size, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, self->size, 0))
		TH_LOG("%s", zc_errmsg());
}

/* ---- partially cached ------------------------------------------------- */

/*
 * Pages [0, npages) cached, the rest cold: a CACHED_ONLY call from @off
 * sends exactly up to the first uncached page, returns 0 with NOT_CACHED.
 */
static void prefix_case(struct __test_metadata *_metadata,
			FIXTURE_DATA(cached) *self, uint64_t npages,
			uint64_t off, uint64_t len)
{
	uint64_t want = npages * PG - off;
	struct zcdev_sendfile in, r;

	make_cold(_metadata, self);
	ASSERT_EQ(0, cache_prefix(self->fd, npages)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((int64_t)npages, zc_resident_pages(self->ro, 0, npages * PG))
		TH_LOG("prefix not cached");
	ASSERT_EQ(0, zc_resident_pages(self->ro, npages * PG,
				       self->size - npages * PG))
		TH_LOG("pages after the prefix were read too");

	in = zc_sendfile_in(self->ro, self->p.snd, off, len, ZCDEV_SEND_CACHED_ONLY);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
	ASSERT_EQ(0, report_check1(&in, &r, want)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(want, r.sent) TH_LOG("cached prefix %" PRIu64 " pages: %s",
				       npages, rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status)
		TH_LOG("%s", rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path) TH_LOG("%s", rep(&r));
	recv_all_lent(_metadata, self, off, want);
	if (_metadata->exit_code)
		return;
	ASSERT_NOTHING_MORE();
	/* and readahead was started at the first uncached page */
	ASSERT_EQ(1, wait_resident(self->ro, npages * PG, 1, 1, IDLE_MS))
		TH_LOG("no readahead at page %" PRIu64, npages);
}

TEST_F_TIMEOUT(cached, prefix_sent_exactly, 60)
{
	make_file(_metadata, self, variant, true, 2 * MiB + 777, &big_bufs);
	if (_metadata->exit_code)
		return;
	prefix_case(_metadata, self, 5, 0, self->size);
	prefix_case(_metadata, self, 9, 100, UINT64_MAX);	/* unaligned */
	prefix_case(_metadata, self, 1, 4095, 1 * MiB);	/* one byte */
	prefix_case(_metadata, self, 300, 0, self->size);	/* > a batch */
}

/* ---- warm ---------------------------------------------------------------- */

TEST_F_TIMEOUT(cached, warm_whole_file, 60)
{
	struct zcdev_sendfile in, r;

	make_file(_metadata, self, variant, true, 3 * MiB + 5003, &big_bufs);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("%s", zc_errmsg());	/* reads it all in */
	ASSERT_EQ((int64_t)((self->size + PG - 1) / PG),
		  zc_resident_pages(self->ro, 0, self->size));
	in = zc_sendfile_in(self->ro, self->p.snd, 0, self->size,
		     ZCDEV_SEND_CACHED_ONLY);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
	ASSERT_EQ(0, report_check1(&in, &r, in.len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(self->size, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0U, r.status) TH_LOG("%s", rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path) TH_LOG("%s", rep(&r));
	recv_all_lent(_metadata, self, 0, self->size);
	if (_metadata->exit_code)
		return;
	ASSERT_NOTHING_MORE();
}

/*
 * O_DIRECT reads never come from the cache, so CACHED_ONLY could never send
 * from such a file (a retry loop would spin): -EINVAL, nothing sent, for
 * SENDFILE, SENDV and PROBE; without the flag the file is sent (copied).
 */
TEST_F_TIMEOUT(cached, o_direct_einval, 60)
{
	struct zcdev_sendfile in, r;
	struct zcdev_seg seg;
	struct zcdev_sendv v;
	struct zcdev_probe pr;
	int dfd;

	make_file(_metadata, self, variant, true, 64 * KiB, &big_bufs);
	if (_metadata->exit_code)
		return;
	dfd = zc_reopen(self->fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, dfd) TH_LOG("O_DIRECT: %s", strerror(errno));

	in = zc_sendfile_in(dfd, self->p.snd, 0, self->size, ZCDEV_SEND_CACHED_ONLY);
	r = in;
	EXPECT_EQ(-1, sf_call(self->dev, &r));
	EXPECT_EQ(EINVAL, errno);

	memset(&seg, 0, sizeof(seg));
	seg.type = ZCDEV_SEG_FILE;
	seg.file_fd = dfd;
	seg.len = self->size;
	memset(&v, 0, sizeof(v));
	v.segs = (uintptr_t)&seg;
	v.nr_segs = 1;
	v.sock_fd = self->p.snd;
	v.flags = ZCDEV_SEND_CACHED_ONLY;
	EXPECT_EQ(-1, ioctl(self->dev, ZCDEV_IOC_SENDV, &v));
	EXPECT_EQ(EINVAL, errno);

	memset(&pr, 0, sizeof(pr));
	pr.sock_fd = self->p.snd;
	pr.file_fd = dfd;
	pr.flags = ZCDEV_SEND_CACHED_ONLY;
	EXPECT_EQ(-1, ioctl(self->dev, ZCDEV_IOC_PROBE, &pr));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_NOTHING_MORE();

	in = zc_sendfile_in(dfd, self->p.snd, 0, self->size, 0);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d", errno);
	EXPECT_EQ(self->size, r.sent) TH_LOG("%s", rep(&r));
	EXPECT_EQ((uint32_t)ZCDEV_WHY_NO_PAGECACHE, r.why) TH_LOG("%s", rep(&r));
	ASSERT_EQ((ssize_t)self->size, zc_recv_exact(self->p.rcv, self->buf,
						     self->size, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, self->size, 0))
		TH_LOG("%s", zc_errmsg());
	close(dfd);
}

/* ---- retry until done -------------------------------------------------- */

struct retry_stats {
	unsigned int calls, ebusy, partial, full;
	uint64_t max_ms;
};

/*
 * Send [0, size) with CACHED_ONLY, retrying from where each call stopped
 * after a short sleep: never a blocking wait, every byte exactly once.
 */
static void retry_loop(struct __test_metadata *_metadata,
		       FIXTURE_DATA(cached) *self, uint32_t flags,
		       struct retry_stats *st)
{
	uint64_t done = 0, deadline = zc_now_ms() + zc_scaled_ms(60000);

	memset(st, 0, sizeof(*st));
	while (done < self->size) {
		struct zcdev_sendfile in = zc_sendfile_in(self->ro, self->p.snd, done,
						   self->size - done,
						   flags), r = in;
		uint64_t t0 = zc_now_ms(), ms;
		int ret = sf_call(self->dev, &r);
		int e = errno;

		ms = zc_now_ms() - t0;
		st->calls++;
		if (ms > st->max_ms)
			st->max_ms = ms;
		ASSERT_GT(call_bound_ms(), ms) TH_LOG("call %u took %" PRIu64
						    " ms: %s", st->calls, ms,
						    rep(&r));
		ASSERT_GT(deadline, zc_now_ms()) TH_LOG("no end after %u calls, "
			"%" PRIu64 " sent", st->calls, done);
		if (ret) {
			ASSERT_EQ(EBUSY, e) TH_LOG("errno %d (%s)", e, strerror(e));
			ASSERT_EQ(0ULL, r.sent);
			ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status)
				TH_LOG("%s", rep(&r));
			st->ebusy++;
			zc_sleep_ms(5);
			continue;
		}
		ASSERT_EQ(0, report_check1(&in, &r, in.len))
			TH_LOG("%s", zc_errmsg());
		ASSERT_LT(0ULL, r.sent) TH_LOG("0 without -EBUSY: %s", rep(&r));
		ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path) TH_LOG("%s", rep(&r));
		if (r.sent < in.len) {
			/* stopped early: only at an uncached page */
			ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status)
				TH_LOG("short send: %s", rep(&r));
			ASSERT_EQ(0ULL, (in.offset + r.sent) % PG)
				TH_LOG("stopped inside a page: %s", rep(&r));
			st->partial++;
		} else {
			ASSERT_EQ(0U, r.status) TH_LOG("%s", rep(&r));
			st->full++;
		}
		done += r.sent;
	}
	ASSERT_EQ(self->size, done);
}

static void retry_check_rx(struct __test_metadata *_metadata,
			   FIXTURE_DATA(cached) *self)
{
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&self->rx)) TH_LOG("%s", zc_errmsg());
	ASSERT_TRUE(self->rx.eof);
	ASSERT_EQ(0ULL, self->rx.extra) TH_LOG("more bytes than sent");
	ASSERT_EQ(self->size, (uint64_t)self->rx.len);
	ASSERT_EQ(-1, zc_verify(self->rx.buf, self->rx.len, 0))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("file changed: %s", zc_errmsg());
}

TEST_F_TIMEOUT(cached, retry_until_done, 90)
{
	struct retry_stats st;

	make_file(_metadata, self, variant, true, 3 * MiB + 5003, &big_bufs);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(0, zc_rx_start(&self->rx, self->p.rcv, self->size + 64 * KiB,
				 IDLE_MS)) TH_LOG("%s", zc_errmsg());
	make_cold(_metadata, self);
	retry_loop(_metadata, self, ZCDEV_SEND_CACHED_ONLY, &st);
	if (_metadata->exit_code)
		return;
	TH_LOG("%u calls: %u -EBUSY, %u partial (NOT_CACHED), %u complete; "
	       "slowest %" PRIu64 " ms", st.calls, st.ebusy, st.partial,
	       st.full, st.max_ms);
	/* a cold file: the first call cannot have found anything cached */
	ASSERT_LE(1U, st.ebusy);
	ASSERT_EQ(1U, st.full);
	retry_check_rx(_metadata, self);
}

/*
 * The same with the disk slowed down to 1 MiB/s for this process (cgroup
 * io.max): reading the file takes seconds, each call still returns at once.
 */
TEST_F_TIMEOUT(cached, retry_slow_disk, 120)
{
	struct retry_stats st;
	int ret;

	make_file(_metadata, self, variant, true, 3 * MiB + 5003, &big_bufs);
	if (_metadata->exit_code)
		return;
	ret = throttle_start(&self->thr, self->fd, slow_bps(1 * MiB));
	if (ret > 0)
		ZC_NEED(return, "no disk throttle: %s", zc_errmsg());
	ASSERT_EQ(0, ret) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_rx_start(&self->rx, self->p.rcv, self->size + 64 * KiB,
				 IDLE_MS)) TH_LOG("%s", zc_errmsg());
	make_cold(_metadata, self);
	retry_loop(_metadata, self, ZCDEV_SEND_CACHED_ONLY, &st);
	if (_metadata->exit_code)
		return;
	TH_LOG("%u calls: %u -EBUSY, %u partial (NOT_CACHED), %u complete; "
	       "slowest %" PRIu64 " ms", st.calls, st.ebusy, st.partial,
	       st.full, st.max_ms);
	/* 3 MiB at 1 MiB/s: many calls found the disk still reading */
	ASSERT_LE(10U, st.ebusy);
	retry_check_rx(_metadata, self);
}

/* ---- tmpfs holes ---------------------------------------------------------- */

/*
 * tmpfs: present pages are lent, holes are copied as zeros (WHY_HOLE) - a
 * hole is not "not cached": no NOT_CACHED, no -EBUSY.
 */
TEST_F(cached, tmpfs_holes)
{
	/* data in [64 KiB + 100, 128 KiB + 100): pages 16..32 exist */
	const uint64_t size = 256 * KiB, doff = 64 * KiB + 100, dlen = 64 * KiB;
	const uint64_t data_pages = 17, hole_pages = size / PG - data_pages;
	struct zcdev_sendfile in, r;
	uint8_t *exp = calloc(1, size);
	char w[128];
	int ro;

	ASSERT_NE(NULL, exp);
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->buf = malloc(size);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
	self->fd = zc_make_sparse_file(zc_tmpfs_dir(), size, doff, dlen,
				       self->path, sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, ro);
	zc_payload_fill(exp + doff, doff, dlen);
	ASSERT_EQ((int64_t)data_pages, zc_resident_pages(ro, 0, size));

	/* starting in a hole: not -EBUSY */
	in = zc_sendfile_in(ro, self->p.snd, 0, size, ZCDEV_SEND_CACHED_ONLY);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s): %s", errno,
						    strerror(errno), rep(&r));
	ASSERT_EQ(0, report_check1(&in, &r, size)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(size, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0U, r.status) TH_LOG("holes reported as not cached: %s",
				       rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_WHY_HOLE, r.why)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	ASSERT_EQ(hole_pages * PG, r.copied_bytes) TH_LOG("%s", rep(&r));
	ASSERT_EQ(data_pages * PG, r.zc_bytes) TH_LOG("%s", rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_MIXED, r.path);
	ASSERT_EQ((ssize_t)size, zc_recv_exact(self->p.rcv, self->buf, size,
					       IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify_buf(self->buf, exp, size, 0))
		TH_LOG("%s", zc_errmsg());
	/* reading the holes did not fill them */
	ASSERT_EQ((int64_t)data_pages, zc_resident_pages(ro, 0, size));
	close(ro);
	free(exp);
	ASSERT_NOTHING_MORE();
}

/* ---- tmpfs pages in swap ----------------------------------------------------- */

/* kB of swap in use, from /proc/meminfo; -1 if it cannot be read */
static long swap_used_kb(void)
{
	long total = zc_meminfo_kb("SwapTotal");
	long free_kb = zc_meminfo_kb("SwapFree");

	return total < 0 || free_kb < 0 ? -1 : total - free_kb;
}

/*
 * A fresh 16 MiB swapfile on the ext4 disk, swapped on (any left over from
 * an aborted case first off); its path in @path.  0 or -1 with a message.
 */
static int swap_on(char *path, size_t len)
{
	char cmd[5 * 256 + 128];

	snprintf(path, len, "%s/zc-swapfile", zc_ext4_dir());
	snprintf(cmd, sizeof(cmd),
		 "swapoff %s 2>/dev/null; dd if=/dev/zero of=%s bs=1M count=16 2>/dev/null && chmod 600 %s && "
		 "mkswap %s >/dev/null && swapon %s", path, path, path, path, path);
	if (system(cmd)) {
		zc_seterr(false, "%s failed", cmd);
		return -1;
	}
	return 0;
}

/*
 * Push every page of a tmpfs file out to swap (MADV_PAGEOUT on a shared
 * mapping, repeated until the swap in use has grown by the file's size).
 * 0, or -1 with a message.
 */
static int push_to_swap(int fd, uint64_t size, long base_kb)
{
	void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	int i;

	if (m == MAP_FAILED) {
		zc_seterr(true, "mmap");
		return -1;
	}
	for (i = 0; i < 100; i++) {
		/* MADV_PAGEOUT walks page tables: map every page first */
		for (uint64_t o = 0; o < size; o += PG)
			(void)*(volatile const char *)((const char *)m + o);
		if (madvise(m, size, MADV_PAGEOUT)) {
			zc_seterr(true, "madvise(MADV_PAGEOUT)");
			break;
		}
		if (swap_used_kb() - base_kb >= (long)(size / KiB)) {
			munmap(m, size);
			return 0;
		}
		zc_sleep_ms(20);
	}
	if (i == 100)
		zc_seterr(false, "only %ld of %llu kB reached swap",
			  swap_used_kb() - base_kb,
			  (unsigned long long)(size / KiB));
	munmap(m, size);
	return -1;
}

/*
 * A tmpfs file whose pages are in swap is not a file of holes: the blocking
 * send swaps them in and lends them (zero copy, no "hole"), and a
 * CACHED_ONLY send that finds them swapped out starts the swap-in and says
 * NOT_CACHED, so that retrying gets the whole file - it never stays -EBUSY.
 */
TEST_F_TIMEOUT(cached, tmpfs_swapped_out, 90)
{
	const uint64_t size = 1 * MiB;
	char swapfile[256], cmd[5 * 256 + 128], w[128];
	struct zcdev_sendfile in, r;
	uint64_t off = 0, calls = 0, end;
	long base;
	int ro;

	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	ASSERT_EQ(0, swap_on(swapfile, sizeof(swapfile))) TH_LOG("%s", zc_errmsg());
	base = swap_used_kb();
	ASSERT_LE(0, base);

	self->buf = malloc(size);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, ro);

	/* blocking: swapped in, lent */
	ASSERT_EQ(0, push_to_swap(self->fd, size, base)) TH_LOG("%s", zc_errmsg());
	in = zc_sendfile_in(ro, self->p.snd, 0, size, 0);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d: %s", errno, rep(&r));
	ASSERT_EQ(0, report_check1(&in, &r, size)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(size, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0U, r.why) TH_LOG("swapped-out pages reported as %s",
				    zct_why_str(r.why, w, sizeof(w)));
	ASSERT_EQ(size, r.zc_bytes) TH_LOG("%s", rep(&r));
	ASSERT_EQ((ssize_t)size, zc_recv_exact(self->p.rcv, self->buf, size,
					       IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, size, 0)) TH_LOG("%s", zc_errmsg());

	/* CACHED_ONLY: NOT_CACHED first, then the whole file by retrying */
	ASSERT_EQ(0, push_to_swap(self->fd, size, base)) TH_LOG("%s", zc_errmsg());
	end = zc_now_ms() + 10000;
	while (off < size && zc_now_ms() < end) {
		int ret;

		in = zc_sendfile_in(ro, self->p.snd, off, size - off,
			     ZCDEV_SEND_CACHED_ONLY);
		r = in;
		ret = sf_call(self->dev, &r);
		calls++;
		if (ret) {
			ASSERT_EQ(EBUSY, errno) TH_LOG("%s", rep(&r));
			ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status);
			zc_sleep_ms(5);
			continue;
		}
		ASSERT_EQ(0, report_check1(&in, &r, size - off))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(r.sent, r.zc_bytes) TH_LOG("%s", rep(&r));
		off += r.sent;
	}
	ASSERT_EQ(size, off) TH_LOG("after %llu calls in 10 s, %llu of %llu bytes",
				    (unsigned long long)calls,
				    (unsigned long long)off,
				    (unsigned long long)size);
	ASSERT_LT(1ULL, calls) TH_LOG("the swapped-out file was sent in one call");
	ASSERT_EQ((ssize_t)size, zc_recv_exact(self->p.rcv, self->buf, size,
					       IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, size, 0)) TH_LOG("%s", zc_errmsg());
	close(ro);
	snprintf(cmd, sizeof(cmd), "swapoff %s", swapfile);
	EXPECT_EQ(0, system(cmd));
	unlink(swapfile);
	ASSERT_NOTHING_MORE();
}

/* ---- a truncate while a page comes back from swap ------------------------ */

/*
 * Swap-cache copies out too: MADV_PAGEOUT leaves each page in the swap
 * cache (a swap-in would find it there, with no I/O).  The file is
 * created from a memory cgroup of its own, so memory.reclaim there frees
 * exactly its pages; mincore() (which counts swap-cache pages of tmpfs as
 * resident) must reach 0.  @cg: the cgroup's directory (created, removed
 * by the caller).  0 or -1 with a message.
 */
static int memcg_make(char *cg, size_t len)
{
	if (access(CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("none", CG_ROOT, "cgroup2", 0, NULL)) {
		zc_seterr(true, "mount cgroup2");
		return -1;
	}
	if (!file_has_word(CG_ROOT "/cgroup.subtree_control", "memory") &&
	    write_str(CG_ROOT "/cgroup.subtree_control", "+memory")) {
		zc_seterr(true, "enable +memory");
		return -1;
	}
	snprintf(cg, len, CG_ROOT "/zct-mem-%d", getpid());
	if (mkdir(cg, 0755) && errno != EEXIST) {
		zc_seterr(true, "mkdir %s", cg);
		return -1;
	}
	return 0;
}

static int memcg_join(const char *cg)
{
	char path[192], buf[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (write_str(path, buf)) {
		zc_seterr(true, "join %s", cg);
		return -1;
	}
	return 0;
}

static int swap_cache_drop(const char *cg, int fd, uint64_t size)
{
	char path[192];
	int i;

	snprintf(path, sizeof(path), "%s/memory.reclaim", cg);
	for (i = 0; i < 100; i++) {
		/* -EAGAIN when less was reclaimable: look, and again */
		write_str(path, "16M");
		if (!zc_resident_pages(fd, 0, size))
			return 0;
		zc_sleep_ms(20);
	}
	zc_seterr(false, "%" PRId64 " pages still in memory (swap cache) after memory.reclaim",
		  zc_resident_pages(fd, 0, size));
	return -1;
}


struct blocked_send {
	int dev;
	struct zcdev_sendfile a;
	int ret, err;
	int done;
};

static void *blocked_send_fn(void *p)
{
	struct blocked_send *b = p;

	b->ret = ioctl(b->dev, ZCDEV_IOC_SENDFILE, &b->a);
	b->err = errno;
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A truncate that lands while a blocking send waits for its first page:
 * the send stops at the new EOF, as read(2) does (filemap_read() reads
 * i_size again once it has its folios).  Made deterministic with a slow
 * swap-in: the tmpfs file's pages are in a swapfile on the ext4 disk and
 * this process's reads from that disk are throttled to 2 KiB/s (cgroup
 * io.max), so page 0 takes about two seconds to come back (and not from the
 * swap cache: memory.reclaim in the file's own memory cgroup empties it).  A child forked
 * before the throttle (outside the cgroup) truncates the file to 1000
 * bytes meanwhile: shmem writes i_size first, with no lock the waiting
 * send holds.  The premise is checked, not assumed: the new size is
 * visible (fstat) while the send still waits.  A module that kept the
 * i_size it read before it had the page sends all of page 0 (4096 bytes).
 */
TEST_F_TIMEOUT(cached, truncate_during_swapin, 90)
{
	const uint64_t size = 256 * KiB, cut = 1000;
	char swapfile[256], cmd[5 * 256 + 128], memcg[128] = "";
	struct blocked_send b = { 0 };
	uint64_t t0, t_cut = 0;
	int go[2], status, ret, swfd, rx_ret;
	bool premise = false;
	struct stat st;
	pthread_t th;
	uint8_t *exp;
	long base;
	pid_t pid;
	char c = 0;

	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	ASSERT_EQ(0, swap_on(swapfile, sizeof(swapfile))) TH_LOG("%s", zc_errmsg());
	base = swap_used_kb();
	ASSERT_LE(0, base);
	swfd = open(swapfile, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, swfd);

	self->buf = NULL;
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
	self->size = size;
	exp = malloc(cut);
	ASSERT_NE(NULL, exp);
	/*
	 * The file's pages are charged to a memory cgroup of their own: a
	 * child in it writes the file and exits, so that nothing of this
	 * process (its heap) is reclaimed with them and swapped in later at
	 * the throttled rate.
	 */
	ASSERT_EQ(0, memcg_make(memcg, sizeof(memcg))) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[0]);
		if (memcg_join(memcg))
			_exit(1);
		if (zc_make_payload_file(zc_tmpfs_dir(), size, self->path,
					 sizeof(self->path)) < 0)
			_exit(2);
		_exit(write(go[1], self->path, sizeof(self->path)) ==
		      (ssize_t)sizeof(self->path) ? 0 : 3);
	}
	close(go[1]);
	ASSERT_EQ((ssize_t)sizeof(self->path), read(go[0], self->path,
						     sizeof(self->path)));
	close(go[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("making the file in %s: status %#x", memcg, status);
	self->fd = open(self->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", self->path, strerror(errno));
	self->ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->ro);
	ASSERT_EQ((ssize_t)cut, pread(self->fd, exp, cut, 0));
	ASSERT_EQ(0, push_to_swap(self->fd, size, base)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, swap_cache_drop(memcg, self->ro, size)) TH_LOG("%s", zc_errmsg());

	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(ftruncate(self->fd, cut) ? 1 : 0);
	}
	close(go[0]);
	ret = throttle_start(&self->thr, swfd, 2 * KiB);
	if (ret > 0) {
		close(go[1]);
		waitpid(pid, &status, 0);
		ZC_NEED(return, "no disk throttle: %s", zc_errmsg());
	}
	ASSERT_EQ(0, ret) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_rx_start(&self->rx, self->p.rcv, size + 64 * KiB,
				 IDLE_MS)) TH_LOG("%s", zc_errmsg());

	b.dev = self->dev;
	b.a = zc_sendfile_in(self->ro, self->p.snd, 0, size, 0);
	t0 = zc_now_ms();
	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_send_fn, &b));
	zc_sleep_ms(200);
	if (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE)) {
		ASSERT_EQ(1, write(go[1], &c, 1));
		/* the new i_size is visible while the send still waits */
		while (zc_now_ms() - t0 < 30000) {
			ASSERT_EQ(0, fstat(self->fd, &st));
			if ((uint64_t)st.st_size == cut) {
				t_cut = zc_now_ms() - t0;
				premise = !__atomic_load_n(&b.done, __ATOMIC_ACQUIRE);
				break;
			}
			zc_sleep_ms(1);
		}
	}
	close(go[1]);
	pthread_join(th, NULL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	throttle_stop(&self->thr);
	TH_LOG("send returned after %" PRIu64 " ms, i_size cut at %" PRIu64
	       " ms, sent %llu", zc_now_ms() - t0, t_cut,
	       (unsigned long long)b.a.sent);
	/* the peer's EOF before swapoff, which may take long on a busy host */
	shutdown(self->p.snd, SHUT_WR);
	rx_ret = zc_rx_join(&self->rx);
	snprintf(cmd, sizeof(cmd), "swapoff %s", swapfile);
	EXPECT_EQ(0, system(cmd));
	close(swfd);
	unlink(swapfile);
	rmdir(memcg);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the child's ftruncate failed (status %#x)", status);
	ASSERT_TRUE(premise)
		TH_LOG("the send was not waiting for the swap-in when the truncate landed");
	ASSERT_EQ(0, b.ret) TH_LOG("errno %d (%s)", b.err, strerror(b.err));
	/* not one byte past the new EOF */
	EXPECT_EQ(cut, b.a.sent);
	EXPECT_EQ(b.a.sent, b.a.zc_bytes + b.a.copied_bytes);
	EXPECT_TRUE(b.a.status & ZCDEV_STATUS_EOF) TH_LOG("status %#x", b.a.status);
	ASSERT_EQ(0, rx_ret) TH_LOG("%s", self->rx.msg);
	ASSERT_EQ(0ULL, self->rx.extra) TH_LOG("more bytes than the file had");
	ASSERT_EQ(cut, (uint64_t)self->rx.len);
	ASSERT_EQ(0, memcmp(exp, self->rx.buf, cut));
	free(exp);
}

/* ---- STATUS_EOF ------------------------------------------------------------ */

static void eof_cases(struct __test_metadata *_metadata,
		      FIXTURE_DATA(cached) *self, uint32_t flags)
{
	const uint64_t sz = self->size;
	const struct {
		uint64_t off, len, sent;
		uint32_t status;
	} c[] = {
		{ sz - 100, 4096, 100, ZCDEV_STATUS_EOF },	/* past EOF */
		{ sz - 100, 100, 100, 0 },			/* exactly to EOF */
		{ sz - 100, 99, 99, 0 },			/* before EOF */
		{ 0, UINT64_MAX, sz, ZCDEV_STATUS_EOF },	/* whole file */
		{ 0, sz, sz, 0 },				/* exact size */
		{ sz, 1, 0, ZCDEV_STATUS_EOF },		/* at EOF */
		{ sz + 5, 10, 0, ZCDEV_STATUS_EOF },		/* after EOF */
		{ sz, 0, 0, 0 },				/* len 0 at EOF */
		{ 7, 0, 0, 0 },					/* len 0 */
		{ (uint64_t)LLONG_MAX - 1, 1, 0, ZCDEV_STATUS_EOF },
		{ (uint64_t)LLONG_MAX, 1, 0, ZCDEV_STATUS_EOF },
		{ (uint64_t)LLONG_MAX, UINT64_MAX, 0, ZCDEV_STATUS_EOF },
	};
	uint64_t total = 0, pos = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		total += c[i].sent;
	free(self->buf);
	self->buf = malloc(total);
	ASSERT_NE(NULL, self->buf);
	total = 0;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct zcdev_sendfile in = zc_sendfile_in(self->ro, self->p.snd,
						   c[i].off, c[i].len, flags),
				      r = in;

		ASSERT_EQ(0, sf_call(self->dev, &r))
			TH_LOG("case %u: errno %d (%s)", i, errno,
			       strerror(errno));
		ASSERT_EQ(0, report_check1(&in, &r, c[i].sent))
			TH_LOG("case %u: %s", i, zc_errmsg());
		ASSERT_EQ(c[i].sent, r.sent) TH_LOG("case %u: %s", i, rep(&r));
		ASSERT_EQ(c[i].status, r.status) TH_LOG("case %u (off %" PRIu64
			" len %" PRIu64 "): %s", i, c[i].off, c[i].len, rep(&r));
		total += r.sent;
	}
	ASSERT_EQ((ssize_t)total, zc_recv_exact(self->p.rcv, self->buf, total,
						IDLE_MS)) TH_LOG("%s", zc_errmsg());
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ASSERT_EQ(-1, zc_verify(self->buf + pos, c[i].sent, c[i].off))
			TH_LOG("case %u: %s", i, zc_errmsg());
		pos += c[i].sent;
	}
	ASSERT_NOTHING_MORE();
}

TEST_F(cached, eof_status_plain)
{
	make_file(_metadata, self, variant, false, 300 * KiB + 11, &big_bufs);
	if (_metadata->exit_code)
		return;
	eof_cases(_metadata, self, 0);
}

TEST_F(cached, eof_status_cached_only)
{
	make_file(_metadata, self, variant, true, 300 * KiB + 11, &big_bufs);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("%s", zc_errmsg());	/* warm */
	eof_cases(_metadata, self, ZCDEV_SEND_CACHED_ONLY);
}

/* ---- nonblocking sockets ------------------------------------------------ */

/*
 * Fill a nonblocking socket from a warm file with CACHED_ONLY: the full
 * socket is -EAGAIN (never -EBUSY); then, with room again and the file
 * cold, -EBUSY (never -EAGAIN).
 */
static void nonblock_case(struct __test_metadata *_metadata,
			  FIXTURE_DATA(cached) *self, uint32_t flags)
{
	uint64_t total = 0, off = 0, segs_off[512], segs_len[512];
	unsigned int nseg = 0, i;
	struct zcdev_sendfile in, r;
	bool eagain = false;
	ssize_t got;
	int ret;

	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("%s", zc_errmsg());	/* warm */
	for (i = 0; i < ARRAY_SIZE(segs_off) && !eagain; i++) {
		uint64_t t0 = zc_now_ms();

		in = zc_sendfile_in(self->ro, self->p.snd, off, 64 * KiB,
			     flags | ZCDEV_SEND_CACHED_ONLY);
		r = in;
		ret = sf_call(self->dev, &r);
		ASSERT_GT(1000ULL, zc_now_ms() - t0)
			TH_LOG("a nonblocking call blocked");
		if (ret) {
			ASSERT_EQ(EAGAIN, errno) TH_LOG("full socket: errno %d (%s)",
							errno, strerror(errno));
			eagain = true;
			break;
		}
		ASSERT_EQ(0, report_check1(&in, &r, in.len))
			TH_LOG("%s", zc_errmsg());
		ASSERT_LT(0ULL, r.sent) TH_LOG("%s", rep(&r));
		/* a short send to a full socket is not "not cached" */
		ASSERT_EQ(0U, r.status) TH_LOG("%s", rep(&r));
		segs_off[nseg] = off;
		segs_len[nseg++] = r.sent;
		total += r.sent;
		off += r.sent;
		if (off + 64 * KiB > self->size)
			off = 0;
	}
	ASSERT_TRUE(eagain) TH_LOG("no EAGAIN after %" PRIu64 " bytes", total);
	got = zc_recv_exact(self->p.rcv, self->buf, total, IDLE_MS);
	ASSERT_EQ((ssize_t)total, got) TH_LOG("%s", zc_errmsg());
	for (i = 0, off = 0; i < nseg; off += segs_len[i], i++)
		ASSERT_EQ(-1, zc_verify(self->buf + off, segs_len[i], segs_off[i]))
			TH_LOG("segment %u: %s", i, zc_errmsg());
	ASSERT_NOTHING_MORE();

	/* room in the socket, a cold file: -EBUSY */
	make_cold(_metadata, self);
	in = zc_sendfile_in(self->ro, self->p.snd, 0, 64 * KiB,
		     flags | ZCDEV_SEND_CACHED_ONLY);
	r = in;
	ASSERT_EQ(-1, sf_call(self->dev, &r)) TH_LOG("%s", rep(&r));
	ASSERT_EQ(EBUSY, errno) TH_LOG("errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status)
		TH_LOG("%s", rep(&r));
	ASSERT_NOTHING_MORE();
}

TEST_F_TIMEOUT(cached, nonblock_flag, 60)
{
	make_file(_metadata, self, variant, true, 1 * MiB + 777, &small_bufs);
	if (_metadata->exit_code)
		return;
	nonblock_case(_metadata, self, ZCDEV_SEND_NONBLOCK);
}

TEST_F_TIMEOUT(cached, nonblock_o_nonblock, 60)
{
	make_file(_metadata, self, variant, true, 1 * MiB + 777, &small_bufs);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(0, zc_set_nonblock(self->p.snd, true));
	nonblock_case(_metadata, self, 0);
}

/* ---- an event loop ---------------------------------------------------- */

struct loop_stats {
	unsigned int calls, ebusy, partial, eagain, timers;
	uint64_t max_work_ms, total_ms;
};

/*
 * One thread serves a cold file to a nonblocking socket and reads the other
 * end, the way an event loop would: poll() for POLLOUT/POLLIN, and on an
 * uncached page (-EBUSY or NOT_CACHED) a 5 ms timer instead of a wait.
 * Every piece of work between two poll()s must stay under call_bound_ms().
 */
static void event_loop(struct __test_metadata *_metadata,
		       FIXTURE_DATA(cached) *self, struct loop_stats *st)
{
	uint64_t sent = 0, rcvd = 0, t_start = zc_now_ms();
	uint64_t deadline = t_start + zc_scaled_ms(90000), retry_at = 0;
	bool shut = false, eof = false;

	memset(st, 0, sizeof(*st));
	ASSERT_EQ(0, zc_set_nonblock(self->p.snd, true));
	while (!eof) {
		bool want_out = !shut && !retry_at;
		struct pollfd pfd[2] = {
			{ .fd = self->p.rcv, .events = POLLIN },
			{ .fd = self->p.snd, .events = want_out ? POLLOUT : 0 },
		};
		int tmo = 1000, n;
		uint64_t t0, now;

		if (retry_at) {
			now = zc_now_ms();
			tmo = retry_at > now ? (int)(retry_at - now) : 0;
		}
		n = poll(pfd, 2, tmo);
		ASSERT_LE(0, n);
		ASSERT_GT(deadline, zc_now_ms()) TH_LOG("too slow: sent %" PRIu64
			" received %" PRIu64, sent, rcvd);
		t0 = zc_now_ms();
		if (retry_at && t0 >= retry_at) {
			retry_at = 0;
			st->timers++;
			pfd[1].revents |= POLLOUT;
		}
		while (!shut && !retry_at && (pfd[1].revents & POLLOUT)) {
			struct zcdev_sendfile in = zc_sendfile_in(self->ro, self->p.snd,
					sent, self->size - sent,
					ZCDEV_SEND_CACHED_ONLY), r = in;
			int ret = sf_call(self->dev, &r);

			st->calls++;
			if (ret && errno == EAGAIN) {
				st->eagain++;
				break;
			}
			if (ret) {
				ASSERT_EQ(EBUSY, errno) TH_LOG("errno %d (%s)",
						errno, strerror(errno));
				ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED,
					  r.status) TH_LOG("%s", rep(&r));
				st->ebusy++;
				retry_at = zc_now_ms() + 5;
				break;
			}
			ASSERT_EQ(0, report_check1(&in, &r, in.len))
				TH_LOG("%s", zc_errmsg());
			ASSERT_LT(0ULL, r.sent) TH_LOG("%s", rep(&r));
			sent += r.sent;
			if (r.status & ZCDEV_STATUS_NOT_CACHED) {
				st->partial++;
				retry_at = zc_now_ms() + 5;
				break;
			}
			ASSERT_EQ(0U, r.status) TH_LOG("%s", rep(&r));
			if (sent == self->size) {
				shutdown(self->p.snd, SHUT_WR);
				shut = true;
			}
			/* else the socket filled up: POLLOUT again */
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			for (;;) {
				size_t room = self->size + 64 * KiB - rcvd;
				ssize_t got = recv(self->p.rcv, self->buf + rcvd,
						   room < 256 * KiB ? room :
						   256 * KiB, MSG_DONTWAIT);

				if (got < 0) {
					ASSERT_EQ(EAGAIN, errno);
					break;
				}
				if (!got) {
					eof = true;
					break;
				}
				rcvd += got;
				ASSERT_GE(self->size, rcvd)
					TH_LOG("more bytes than sent");
			}
		}
		now = zc_now_ms();
		if (now - t0 > st->max_work_ms)
			st->max_work_ms = now - t0;
		ASSERT_GT(call_bound_ms(), now - t0)
			TH_LOG("the loop was stuck for %" PRIu64 " ms (sent %"
			       PRIu64 ")", now - t0, sent);
	}
	st->total_ms = zc_now_ms() - t_start;
	ASSERT_TRUE(shut) TH_LOG("EOF before everything was sent");
	ASSERT_EQ(self->size, sent);
	ASSERT_EQ(self->size, rcvd);
	ASSERT_EQ(-1, zc_verify(self->buf, rcvd, 0)) TH_LOG("%s", zc_errmsg());
	TH_LOG("%" PRIu64 " bytes in %" PRIu64 " ms: %u calls, %u -EBUSY, %u "
	       "NOT_CACHED, %u EAGAIN, %u timers; longest work %" PRIu64 " ms",
	       sent, st->total_ms, st->calls, st->ebusy, st->partial,
	       st->eagain, st->timers, st->max_work_ms);
}

TEST_F_TIMEOUT(cached, event_loop_cold, 120)
{
	struct loop_stats st;

	make_file(_metadata, self, variant, true, 4 * MiB + 999, &small_bufs);
	if (_metadata->exit_code)
		return;
	make_cold(_metadata, self);
	event_loop(_metadata, self, &st);
	if (_metadata->exit_code)
		return;
	ASSERT_LE(1U, st.ebusy) TH_LOG("a cold file never gave -EBUSY");
}

/*
 * With reads from the disk limited to 512 KiB/s: the event loop still never
 * blocks, and a plain (not CACHED_ONLY) send of 1 MiB of the same cold
 * file - the blocking alternative - takes seconds, which proves the disk
 * really was slow while the loop ran.
 */
TEST_F_TIMEOUT(cached, event_loop_slow_disk, 120)
{
	struct zcdev_sendfile in, r;
	struct loop_stats st;
	uint64_t t0, ms;
	int ret;

	make_file(_metadata, self, variant, true, 2 * MiB + 999, &small_bufs);
	if (_metadata->exit_code)
		return;
	ret = throttle_start(&self->thr, self->fd, slow_bps(512 * KiB));
	if (ret > 0)
		ZC_NEED(return, "no disk throttle: %s", zc_errmsg());
	ASSERT_EQ(0, ret) TH_LOG("%s", zc_errmsg());
	make_cold(_metadata, self);
	event_loop(_metadata, self, &st);
	if (_metadata->exit_code)
		return;
	ASSERT_LE(10U, st.ebusy + st.partial);
	ASSERT_LE(2000ULL, st.total_ms) TH_LOG("2 MiB at 512 KiB/s in %" PRIu64
					       " ms: not throttled?", st.total_ms);

	/* the blocking alternative on the same slow disk */
	zc_pair_close(&self->p);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
	make_cold(_metadata, self);
	in = zc_sendfile_in(self->ro, self->p.snd, 0, 1 * MiB, 0);
	r = in;
	t0 = zc_now_ms();
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
	ms = zc_now_ms() - t0;
	TH_LOG("a plain send of 1 MiB of the cold file blocked for %" PRIu64
	       " ms", ms);
	ASSERT_EQ(1 * MiB, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_LE(1000ULL, ms) TH_LOG("the disk was not slow");
	ASSERT_EQ((ssize_t)(1 * MiB), zc_recv_exact(self->p.rcv, self->buf,
						    1 * MiB, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, 1 * MiB, 0)) TH_LOG("%s", zc_errmsg());
}

TEST_HARNESS_MAIN
