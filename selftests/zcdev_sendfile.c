// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_sendfile: kselftest-harness tests of ZCDEV_IOC_SENDFILE (issue 3).
 *
 *   delivery.*   byte-exact delivery of edge-case and seeded random ranges
 *                over tcp4/tcp6/unix (and the copy paths), tmpfs and ext4,
 *                warm and cold cache
 *   truth.*      black-box truth oracle for zc_bytes/copied_bytes on lo,
 *                veth, sg-off veth, kTLS and unix, plus ZCDEV_SEND_STRICT
 *   errors.*     every errno of the spec
 *   peer.*       closed/reset peer: EPIPE/ECONNRESET, never SIGPIPE
 *   nonblock.*   EAGAIN, partial sends and a poll() event loop
 *   intr.*       EINTR before progress, partial return after progress
 *   concurrent.* several senders on one file
 *   abi.*        size-versioned struct: larger/smaller sizes, poisoned fields
 *   global.lent_pages_marked_accessed  lent page-cache pages count as used
 *                (PG_referenced/PG_active in /proc/kpageflags) exactly as
 *                sendfile(2)'s do
 *   fallback.*   O_DIRECT (no page cache), tmpfs holes, and the per-call
 *                cap (ZCDEV_MAX_SEND, sendfile(2)'s MAX_RW_COUNT) on a 3 GiB
 *                sparse file
 *
 * Random cases print their seed; rerun with ZC_SEED=<seed> to reproduce.
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
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>

#include "kselftest_harness.h"
#include <netinet/in.h>
#include <arpa/inet.h>

#include "zc_util.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define PG 4096ULL

/* how long any single wait may take before the test fails (TCG is slow) */
#define IDLE_MS 10000

static uint64_t clamp_len(uint64_t off, uint64_t len, uint64_t size)
{
	uint64_t n;

	if (off >= size)
		return 0;
	n = size - off;
	if (len < n)
		n = len;
	if (n > ZCDEV_MAX_SEND)
		n = ZCDEV_MAX_SEND;
	return n;
}

/*
 * What a network variant must report.  expect_zc: every byte by reference,
 * why 0.  Otherwise every byte copied, why contains a bit of why_need and no
 * bit outside why_allowed.
 */
struct expect {
	bool expect_zc;
	uint32_t why_need;
	uint32_t why_allowed;
};

static const char *exp_str(const struct expect *e)
{
	static char s[160];
	char a[64], b[64];

	if (e->expect_zc)
		return "all zero copy, why 0";
	snprintf(s, sizeof(s), "all copied, why has one of %s, within %s",
		 zct_why_str(e->why_need, a, sizeof(a)),
		 zct_why_str(e->why_allowed, b, sizeof(b)));
	return s;
}

/* report of a call that returned 0 and sent @sent > 0 bytes matches @e */
static bool report_matches(const struct expect *e,
			   const struct zcdev_sendfile *r)
{
	if (!r->sent)
		return r->path == ZCDEV_PATH_NONE;
	if (e->expect_zc)
		return r->path == ZCDEV_PATH_ZEROCOPY && r->why == 0 &&
		       r->zc_bytes == r->sent;
	return r->path == ZCDEV_PATH_COPY && r->copied_bytes == r->sent &&
	       (r->why & e->why_need) && !(r->why & ~e->why_allowed);
}

static int setup_pair(struct __test_metadata *_metadata, struct zc_pair *p,
		      enum zc_fam fam, enum zc_net net, bool ktls,
		      const struct zc_pair_opts *o)
{
	if (zc_net_available(net))
		ZC_NEED(return -1, "%s", zc_errmsg());
	if (zc_pair_open(p, fam, net, o)) {
		TH_LOG("pair %s/%s: %s", zc_fam_name(fam), zc_net_name(net),
		       zc_errmsg());
		_metadata->exit_code = KSFT_FAIL;
		return -1;
	}
	if (ktls && zc_ktls_setup(p)) {
		if (zc_ktls_unavailable(errno))
			ZC_NEED(return -1, "kTLS unavailable: %s", zc_errmsg());
		TH_LOG("kTLS setup: %s", zc_errmsg());
		_metadata->exit_code = KSFT_FAIL;
		return -1;
	}
	return 0;
}

/* one base seed for the whole run, chosen before the harness forks */
static void __attribute__((constructor)) seed_init(void)
{
	zc_base_seed();
}

/* ===================================================================== */
/* delivery: byte-exact over tcp4/tcp6/unix, tmpfs/ext4, warm/cold        */
/* ===================================================================== */

FIXTURE(delivery) {
	int dev;
	int fd;		/* O_RDWR payload file */
	int fd_ro;	/* O_RDONLY, the one we send from */
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	struct zc_rx rx;
	char defer_max[32];	/* saved skb_defer_max, "" if unchanged */
};

FIXTURE_VARIANT(delivery) {
	enum zc_fam fam;
	enum zc_net net;
	bool ext4;
	bool cold;
	bool ktls;
	uint64_t size;
	struct expect exp;
};

#define ZC_EXP	{ .expect_zc = true }
#define NOSG_EXP { .why_need = ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM, \
		   .why_allowed = ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM }
#define KTLS_EXP { .why_need = ZCDEV_WHY_KTLS, .why_allowed = ZCDEV_WHY_KTLS }

/* 3 MiB + 5003: unaligned EOF, last page partial, last word partial */
#define DSIZE (3 * MiB + 5003)

FIXTURE_VARIANT_ADD(delivery, tcp4_tmpfs) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .size = DSIZE, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, tcp4_ext4) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ext4 = true, .size = DSIZE,
	.exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, tcp4_ext4_cold) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ext4 = true, .cold = true,
	.size = DSIZE, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, tcp6_tmpfs) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .size = DSIZE, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, tcp6_ext4) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .ext4 = true, .size = DSIZE,
	.exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, tcp6_ext4_cold) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .ext4 = true, .cold = true,
	.size = DSIZE, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, unix_tmpfs) {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .size = DSIZE, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, unix_ext4) {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .ext4 = true, .size = DSIZE,
	.exp = ZC_EXP };
FIXTURE_VARIANT_ADD(delivery, unix_ext4_cold) {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .ext4 = true, .cold = true,
	.size = DSIZE, .exp = ZC_EXP };
/* the copy paths must be byte-exact too */
FIXTURE_VARIANT_ADD(delivery, nosg4_ext4) {
	.fam = ZC_TCP4, .net = ZC_NET_NOSG, .ext4 = true, .size = 1 * MiB + 3001,
	.exp = NOSG_EXP };
FIXTURE_VARIANT_ADD(delivery, ktls4_tmpfs) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ktls = true, .size = 1 * MiB + 3001,
	.exp = KTLS_EXP };

FIXTURE_SETUP(delivery)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();

	self->fd = self->fd_ro = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->defer_max[0] = 0;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(dir, variant->ext4 ? ZC_EXT4_MAGIC : ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = variant->size;
	self->fd = zc_make_payload_file(dir, self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->fd_ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->fd_ro);
	setup_pair(_metadata, &self->p, variant->fam, variant->net,
		   variant->ktls, NULL);
	/* last: a setup that fails has no teardown to restore it */
	if (variant->cold && !_metadata->exit_code)
		zc_cold_prepare(self->defer_max, sizeof(self->defer_max));
}

FIXTURE_TEARDOWN(delivery)
{
	if (self->p.snd >= 0)
		shutdown(self->p.snd, SHUT_RDWR);
	if (self->p.rcv >= 0)
		shutdown(self->p.rcv, SHUT_RDWR);	/* wakes the receiver */
	zc_rx_free(&self->rx);
	zc_pair_close(&self->p);
	if (self->fd_ro >= 0)
		close(self->fd_ro);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	zc_cold_restore(self->defer_max);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

struct range {
	uint64_t off;
	uint64_t len;
};

static void delivery_run(struct __test_metadata *_metadata,
			 FIXTURE_DATA(delivery) *self,
			 const FIXTURE_VARIANT(delivery) *variant,
			 const struct range *c, unsigned int n)
{
	uint64_t *sent = calloc(n, sizeof(*sent));
	uint64_t total = 0, pos = 0;
	unsigned int i;

	ASSERT_NE(NULL, sent);
	for (i = 0; i < n; i++)
		total += clamp_len(c[i].off, c[i].len, self->size);
	ASSERT_EQ(0, zc_rx_start(&self->rx, self->p.rcv, total + 64 * KiB,
				 IDLE_MS)) TH_LOG("%s", zc_errmsg());

	for (i = 0; i < n; i++) {
		uint64_t want = clamp_len(c[i].off, c[i].len, self->size);
		struct zcdev_sendfile in = {
			.file_fd = self->fd_ro, .sock_fd = self->p.snd,
			.offset = c[i].off, .len = c[i].len,
		}, r = in;
		off_t pos_before = 777 + i;
		int ret;

		if (variant->cold) {
			ASSERT_EQ(0, zc_make_cold(self->fd))
				TH_LOG("file not cold: %s", zc_errmsg());
			if (zc_cold_attempts > 10)
				TH_LOG("case %u: cold after %d attempts", i,
				       zc_cold_attempts);
		}
		ASSERT_EQ(pos_before, lseek(self->fd_ro, pos_before, SEEK_SET));
		ret = zct_sendfile(self->dev, &r);
		ASSERT_EQ(0, ret) TH_LOG("case %u off=%" PRIu64 " len=%" PRIu64
					 ": errno %d (%s)", i, c[i].off,
					 c[i].len, errno, strerror(errno));
		ASSERT_EQ(0, zc_report_check(&in, &r, want))
			TH_LOG("case %u: %s", i, zc_errmsg());
		ASSERT_EQ(want, r.sent) TH_LOG("case %u: %s", i, zc_report_str(&r));
		if (!want) {
			ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
			ASSERT_EQ(0U, r.why);
		}
		EXPECT_TRUE(report_matches(&variant->exp, &r))
			TH_LOG("case %u: expected %s: %s", i,
			       exp_str(&variant->exp), zc_report_str(&r));
		/* VER1: the file ended before the length asked for */
		EXPECT_EQ(want < c[i].len ? (uint32_t)ZCDEV_STATUS_EOF : 0U,
			  r.status) TH_LOG("case %u: %s", i, zc_report_str(&r));
		/* pread-like: the file position is neither used nor changed */
		ASSERT_EQ(pos_before, lseek(self->fd_ro, 0, SEEK_CUR));
		sent[i] = r.sent;
	}
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&self->rx)) TH_LOG("%s", zc_errmsg());
	ASSERT_TRUE(self->rx.eof);
	ASSERT_EQ(0ULL, self->rx.extra) TH_LOG("bytes past the expected stream");
	ASSERT_EQ(total, (uint64_t)self->rx.len);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(-1, zc_verify(self->rx.buf + pos, sent[i], c[i].off))
			TH_LOG("case %u (off=%" PRIu64 " len=%" PRIu64
			       ", stream pos %" PRIu64 "): %s", i, c[i].off,
			       c[i].len, pos, zc_errmsg());
		pos += sent[i];
	}
	/* the network path never wrote into the page cache */
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("file changed: %s", zc_errmsg());
	free(sent);
}

TEST_F_TIMEOUT(delivery, edges, 90)
{
	uint64_t sz = self->size;
	uint64_t last_pg = sz & ~(PG - 1);
	const struct range c[] = {
		{ 0, sz },			/* whole file, exact length */
		{ 1, PG - 1 },			/* unaligned start, aligned end */
		{ PG - 1, 2 },			/* straddles a page boundary */
		{ PG, 3 * PG },			/* page aligned */
		{ 2 * PG + 7, 5 * PG + 9 },	/* unaligned both ends */
		{ 2 * PG - 1, 1 },		/* one byte */
		{ last_pg - 10, 100 },		/* into the last partial page */
		{ last_pg, sz - last_pg },	/* exactly the last partial page */
		{ sz - 1, 1 },			/* the last byte */
		{ sz - 100, 4096 },		/* EOF clamp */
		{ sz - 100, UINT64_MAX },	/* EOF clamp, len UINT64_MAX */
		{ 0, 0 },			/* len 0 */
		{ sz, 10 },			/* at EOF */
		{ sz + 1, 10 },			/* after EOF */
		{ sz + 12345, UINT64_MAX },	/* after EOF, off + len wraps */
		{ (uint64_t)LLONG_MAX, 1 },	/* largest legal offset */
		{ (uint64_t)LLONG_MAX, UINT64_MAX },
		{ 0, UINT64_MAX },		/* whole file, len UINT64_MAX */
		{ 12345, 0 },			/* len 0 mid-file */
	};

	delivery_run(_metadata, self, variant, c, ARRAY_SIZE(c));
}

TEST_F_TIMEOUT(delivery, random, 90)
{
	char name[64];
	uint64_t seed;

	snprintf(name, sizeof(name), "delivery.random.%d.%d.%d.%d.%d",
		 variant->fam, variant->net, variant->ext4, variant->cold,
		 variant->ktls);
	seed = zc_seed_for(zc_base_seed(), name);
	struct zc_rng rng;
	struct range c[20];
	uint64_t sz = self->size;
	unsigned int i;

	rng.s = seed;
	TH_LOG("seed %" PRIu64 " (base ZC_SEED=%" PRIu64 ")", seed,
	       zc_base_seed());
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		uint64_t k = zc_rng_range(&rng, 0, 99), off, len;

		if (k < 60)
			off = zc_rng_range(&rng, 0, sz - 1);
		else if (k < 85)	/* near a page boundary */
			off = zc_rng_range(&rng, 0, sz / PG) * PG +
			      zc_rng_range(&rng, 0, 16) - 8;
		else			/* near EOF */
			off = sz - 8192 + zc_rng_range(&rng, 0, 8192 + 64);
		if (off > sz + 64)
			off = 0;
		k = zc_rng_range(&rng, 0, 99);
		if (k < 25)
			len = zc_rng_range(&rng, 1, 64);
		else if (k < 60)
			len = zc_rng_range(&rng, 1, 64 * KiB);
		else if (k < 90)
			len = zc_rng_range(&rng, 1, sz / 3);
		else if (k < 95)
			len = UINT64_MAX;
		else
			len = 0;
		c[i].off = off;
		c[i].len = len;
	}
	delivery_run(_metadata, self, variant, c, ARRAY_SIZE(c));
}

/* ===================================================================== */
/* truth: the report is checked against what the receiver really got     */
/* ===================================================================== */

FIXTURE(truth) {
	int dev;
	int fd;
	int fd_ro;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	uint8_t *buf;
	char defer_max[32];
};

FIXTURE_VARIANT(truth) {
	enum zc_fam fam;
	enum zc_net net;
	bool ktls;
	struct expect exp;
};

FIXTURE_VARIANT_ADD(truth, lo4) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(truth, lo6) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(truth, unix) {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(truth, veth4) {
	.fam = ZC_TCP4, .net = ZC_NET_VETH, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(truth, veth6) {
	.fam = ZC_TCP6, .net = ZC_NET_VETH, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(truth, nosg4) {
	.fam = ZC_TCP4, .net = ZC_NET_NOSG, .exp = NOSG_EXP };
FIXTURE_VARIANT_ADD(truth, nosg6) {
	.fam = ZC_TCP6, .net = ZC_NET_NOSG, .exp = NOSG_EXP };
FIXTURE_VARIANT_ADD(truth, ktls4) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ktls = true, .exp = KTLS_EXP };
FIXTURE_VARIANT_ADD(truth, ktls6) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .ktls = true, .exp = KTLS_EXP };

#define TSIZE (1 * MiB + 2345)

FIXTURE_SETUP(truth)
{
	self->fd = self->fd_ro = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	self->defer_max[0] = 0;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_net_available(variant->net))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = TSIZE;
	self->buf = malloc(self->size);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(truth)
{
	zc_pair_close(&self->p);
	if (self->fd_ro >= 0)
		close(self->fd_ro);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	zc_cold_restore(self->defer_max);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

static void truth_file(struct __test_metadata *_metadata,
		       FIXTURE_DATA(truth) *self, bool ext4)
{
	const char *dir = ext4 ? zc_ext4_dir() : zc_tmpfs_dir();

	if (zc_check_fs(dir, ext4 ? ZC_EXT4_MAGIC : ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->fd = zc_make_payload_file(dir, self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->fd_ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->fd_ro);
}

/* big buffers: everything sent must sit in the receiver's queue unread */
static const struct zc_pair_opts big_bufs = {
	.rcvbuf = 16 * MiB, .sndbuf = 16 * MiB,
};

/*
 * Send [off, off+len) to a receiver that does not read, wait until the
 * sender's queue is empty (everything acknowledged = in the receiver's
 * queue), flip the range in the page cache, then read: page references
 * show the flipped bytes, copies show the original ones.
 */
static void truth_case(struct __test_metadata *_metadata,
		       FIXTURE_DATA(truth) *self,
		       const FIXTURE_VARIANT(truth) *variant,
		       uint64_t off, uint64_t len, bool cold)
{
	uint64_t want = clamp_len(off, len, self->size);
	uint64_t done = 0, zc = 0, copied = 0, flipped, same;
	uint32_t why = 0;
	int calls = 0;
	ssize_t got;
	int64_t bad;

	if (cold) {
		ASSERT_EQ(0, zc_make_cold(self->fd))
			TH_LOG("file not cold: %s", zc_errmsg());
		if (zc_cold_attempts > 10)
			TH_LOG("cold after %d attempts", zc_cold_attempts);
	}
	if (setup_pair(_metadata, &self->p, variant->fam, variant->net,
		       variant->ktls, &big_bufs))
		return;
	while (done < want) {
		struct zcdev_sendfile in = {
			.file_fd = self->fd_ro, .sock_fd = self->p.snd,
			.offset = off + done, .len = want - done,
		}, r = in;

		ASSERT_LT(calls++, 16) TH_LOG("no progress");
		ASSERT_EQ(0, zct_sendfile(self->dev, &r))
			TH_LOG("off=%" PRIu64 " len=%" PRIu64 ": errno %d (%s)",
			       (uint64_t)in.offset, (uint64_t)in.len, errno,
			       strerror(errno));
		ASSERT_EQ(0, zc_report_check(&in, &r, want - done))
			TH_LOG("%s", zc_errmsg());
		ASSERT_LT(0ULL, r.sent) TH_LOG("%s", zc_report_str(&r));
		done += r.sent;
		zc += r.zc_bytes;
		copied += r.copied_bytes;
		why |= r.why;
	}
	if (variant->fam != ZC_UNIX) {
		/* acknowledged = queued at the receiver (unix queues at once) */
		ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		if (!variant->ktls) {
			ASSERT_EQ(0, zc_wait_inq(self->p.rcv, want, IDLE_MS))
				TH_LOG("%s", zc_errmsg());
		}
	}
	ASSERT_EQ(0, zc_flip_range(self->fd, off, want)) TH_LOG("%s", zc_errmsg());
	got = zc_recv_exact(self->p.rcv, self->buf, want, IDLE_MS);
	ASSERT_EQ(0, zc_flip_range(self->fd, off, want)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)want, got) TH_LOG("%s", zc_errmsg());
	bad = zc_classify(self->buf, want, off, &flipped, &same);
	ASSERT_EQ(-1, bad) TH_LOG("%s", zc_errmsg());
	TH_LOG("%s off=%" PRIu64 " len=%" PRIu64 ": reported zc=%" PRIu64
	       " copied=%" PRIu64 "; receiver saw flipped=%" PRIu64
	       " original=%" PRIu64, variant->ktls ? "ktls" :
	       zc_net_name(variant->net), off, want, zc, copied, flipped, same);
	ASSERT_EQ(flipped, zc) TH_LOG("zc_bytes is not what went by reference");
	ASSERT_EQ(same, copied) TH_LOG("copied_bytes is not what was copied");
	if (variant->exp.expect_zc) {
		ASSERT_EQ(want, zc) TH_LOG("expected all zero copy");
		ASSERT_EQ(0U, why);
	} else {
		char w[128];

		ASSERT_EQ(want, copied) TH_LOG("expected all copied");
		ASSERT_NE(0U, why & variant->exp.why_need)
			TH_LOG("why=%s", zct_why_str(why, w, sizeof(w)));
		ASSERT_EQ(0U, why & ~variant->exp.why_allowed)
			TH_LOG("why=%s", zct_why_str(why, w, sizeof(w)));
	}
	/* nothing more than reported */
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_expect_eof(self->p.rcv, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	zc_pair_close(&self->p);
}

static void truth_cases(struct __test_metadata *_metadata,
			FIXTURE_DATA(truth) *self,
			const FIXTURE_VARIANT(truth) *variant, bool cold)
{
	const struct range c[] = {
		{ 0, 256 * KiB },			/* aligned */
		{ 3 * PG + 123, 200 * KiB + 7 },	/* unaligned ends */
		{ self->size - 5000, UINT64_MAX },	/* to EOF */
		{ 100, 300 },				/* inside one page */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		truth_case(_metadata, self, variant, c[i].off, c[i].len, cold);
		if (_metadata->exit_code)	/* SKIP */
			return;
	}
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("file not restored: %s", zc_errmsg());
}

TEST_F_TIMEOUT(truth, report_is_true, 60)
{
	truth_file(_metadata, self, false);
	if (_metadata->exit_code)
		return;
	truth_cases(_metadata, self, variant, false);
}

TEST_F_TIMEOUT(truth, report_is_true_ext4_cold, 60)
{
	zc_cold_prepare(self->defer_max, sizeof(self->defer_max));
	truth_file(_metadata, self, true);
	if (_metadata->exit_code)
		return;
	truth_cases(_metadata, self, variant, true);
}

/*
 * ZCDEV_SEND_STRICT both ways: where the variant is zero copy it sends
 * normally; where bytes would be copied it fails with EOPNOTSUPP, sends
 * nothing, and still reports why.
 */
TEST_F(truth, strict)
{
	const uint64_t off = PG + 1, len = 64 * KiB;
	struct zcdev_sendfile in, r;
	char w[128];
	ssize_t got;
	int ret;

	truth_file(_metadata, self, false);
	if (_metadata->exit_code)
		return;
	if (setup_pair(_metadata, &self->p, variant->fam, variant->net,
		       variant->ktls, &big_bufs))
		return;
	memset(&in, 0, sizeof(in));
	in.file_fd = self->fd_ro;
	in.sock_fd = self->p.snd;
	in.offset = off;
	in.len = len;
	in.flags = ZCDEV_SEND_STRICT;
	r = in;
	ret = zct_sendfile(self->dev, &r);
	if (variant->exp.expect_zc) {
		ASSERT_EQ(0, ret) TH_LOG("errno %d (%s)", errno, strerror(errno));
		ASSERT_EQ(0, zc_report_check(&in, &r, len)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(len, r.sent);
		ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ(0U, r.why);
	} else {
		ASSERT_EQ(-1, ret) TH_LOG("STRICT sent anyway: %s",
					  zc_report_str(&r));
		ASSERT_EQ(EOPNOTSUPP, errno) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
		/* out fields are written back on STRICT's EOPNOTSUPP */
		ASSERT_EQ(0ULL, r.sent) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ(0ULL, r.zc_bytes) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ(0ULL, r.copied_bytes) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path) TH_LOG("%s", zc_report_str(&r));
		ASSERT_NE(0U, r.why & variant->exp.why_need)
			TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
		ASSERT_EQ(0U, r.why & ~variant->exp.why_allowed)
			TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
		/* in fields untouched */
		ASSERT_EQ(in.offset, r.offset);
		ASSERT_EQ(in.len, r.len);
		ASSERT_EQ(in.flags, r.flags);
		/* the receiver got nothing */
		ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		/* and without STRICT the same call goes, copied */
		in.flags = 0;
		r = in;
		ASSERT_EQ(0, zct_sendfile(self->dev, &r))
			TH_LOG("errno %d (%s)", errno, strerror(errno));
		ASSERT_EQ(0, zc_report_check(&in, &r, len)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(len, r.sent);
		ASSERT_TRUE(report_matches(&variant->exp, &r))
			TH_LOG("expected %s: %s", exp_str(&variant->exp),
			       zc_report_str(&r));
	}
	got = zc_recv_exact(self->p.rcv, self->buf, len, IDLE_MS);
	ASSERT_EQ((ssize_t)len, got) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, len, off)) TH_LOG("%s", zc_errmsg());
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_expect_eof(self->p.rcv, IDLE_MS)) TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* errors: every errno of the spec                                       */
/* ===================================================================== */

FIXTURE(errors) {
	int dev;
	int fd;
	int fd_ro;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
};

#define ESIZE (64 * KiB + 100)

FIXTURE_SETUP(errors)
{
	self->fd = self->fd_ro = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = ESIZE;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->fd_ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->fd_ro);
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(errors)
{
	zc_pair_close(&self->p);
	if (self->fd_ro >= 0)
		close(self->fd_ro);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/* one call that must fail with @err; the out fields are not checked */
#define EXPECT_ERRNO(err, ffd, sfd, off, len, flg, what) do {		\
	struct zcdev_sendfile __r;					\
	int __ret = zc_sendfile_args(self->dev, (ffd), (sfd), (off),	\
				     (len), (flg), &__r);		\
	int __e = errno;						\
	EXPECT_EQ(-1, __ret) TH_LOG("%s: expected %s, call succeeded: %s", \
				    what, #err, zc_report_str(&__r));	\
	if (__ret == -1) {						\
		EXPECT_EQ(err, __e) TH_LOG("%s: expected %s, got %d (%s)", \
					   what, #err, __e, strerror(__e)); \
	}								\
} while (0)

/* nothing of the failed calls reached the receiver */
#define ASSERT_NOTHING_SENT() \
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS)) \
		TH_LOG("%s", zc_errmsg())

TEST_F(errors, ebadf)
{
	int closed, wronly, opath, s = self->p.snd;

	/* a high number: later opens take the lowest free one, not this */
	closed = fcntl(self->fd_ro, F_DUPFD_CLOEXEC, 900);
	ASSERT_LE(900, closed);
	close(closed);
	wronly = zc_reopen(self->fd, O_WRONLY);
	ASSERT_LE(0, wronly);
	opath = open(self->path, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, opath);

	EXPECT_ERRNO(EBADF, -1, s, 0, 100, 0, "file_fd -1");
	EXPECT_ERRNO(EBADF, closed, s, 0, 100, 0, "closed file_fd");
	EXPECT_ERRNO(EBADF, INT_MAX, s, 0, 100, 0, "file_fd INT_MAX");
	EXPECT_ERRNO(EBADF, wronly, s, 0, 100, 0, "write-only file");
	EXPECT_ERRNO(EBADF, opath, s, 0, 100, 0, "O_PATH file");
	EXPECT_ERRNO(EBADF, self->fd_ro, -1, 0, 100, 0, "sock_fd -1");
	EXPECT_ERRNO(EBADF, self->fd_ro, closed, 0, 100, 0, "closed sock_fd");
	EXPECT_ERRNO(EBADF, self->fd_ro, INT_MAX, 0, 100, 0, "sock_fd INT_MAX");
	close(wronly);
	close(opath);
	ASSERT_NOTHING_SENT();
}

TEST_F(errors, enotsock)
{
	int pfd[2];

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	EXPECT_ERRNO(ENOTSOCK, self->fd_ro, self->fd_ro, 0, 100, 0,
		     "regular file as socket");
	EXPECT_ERRNO(ENOTSOCK, self->fd_ro, self->dev, 0, 100, 0,
		     "/dev/zcdev as socket");
	EXPECT_ERRNO(ENOTSOCK, self->fd_ro, pfd[1], 0, 100, 0,
		     "pipe as socket");
	close(pfd[0]);
	close(pfd[1]);
	ASSERT_NOTHING_SENT();
}

TEST_F(errors, enotconn)
{
	int t4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int t6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	ASSERT_LE(0, t4);
	ASSERT_LE(0, t6);
	ASSERT_LE(0, lst);
	ASSERT_LE(0, u);
	ASSERT_EQ(0, bind(lst, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(lst, 1));

	EXPECT_ERRNO(ENOTCONN, self->fd_ro, t4, 0, 100, 0, "unconnected tcp4");
	EXPECT_ERRNO(ENOTCONN, self->fd_ro, t6, 0, 100, 0, "unconnected tcp6");
	EXPECT_ERRNO(ENOTCONN, self->fd_ro, lst, 0, 100, 0, "listening tcp4");
	EXPECT_ERRNO(ENOTCONN, self->fd_ro, u, 0, 100, 0, "unconnected unix");
	EXPECT_ERRNO(ENOTCONN, self->fd_ro, t4, 0, 100, ZCDEV_SEND_NONBLOCK,
		     "unconnected tcp4, NONBLOCK");
	close(t4);
	close(t6);
	close(lst);
	close(u);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
	ASSERT_NOTHING_SENT();
}

TEST_F(errors, einval_flags_reserved)
{
	const uint32_t bad[] = { 1U << 5, 1U << 8, 1U << 31,
				 ~ZCDEV_SEND_FLAGS_ALL,
				 ZCDEV_SEND_MORE | (1U << 8),
				 ZCDEV_SEND_FLAGS_ALL + 1 };
	struct zcdev_sendfile r;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char what[64];

		snprintf(what, sizeof(what), "flags 0x%x", bad[i]);
		EXPECT_ERRNO(EINVAL, self->fd_ro, self->p.snd, 0, 100, bad[i],
			     what);
	}
	for (i = 0; i < 3; i++) {
		const uint32_t res[] = { 1, 0x80000000U, 0xffffffffU };

		memset(&r, 0, sizeof(r));
		r.file_fd = self->fd_ro;
		r.sock_fd = self->p.snd;
		r.len = 100;
		r.reserved = res[i];
		ret = zct_sendfile(self->dev, &r);
		EXPECT_EQ(-1, ret) TH_LOG("reserved 0x%x accepted", res[i]);
		if (ret == -1) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("reserved 0x%x: errno %d",
						       res[i], errno);
		}
		/* VER1's reserved1 too */
		memset(&r, 0, sizeof(r));
		r.file_fd = self->fd_ro;
		r.sock_fd = self->p.snd;
		r.len = 100;
		r.reserved1 = res[i];
		ret = zct_sendfile(self->dev, &r);
		EXPECT_EQ(-1, ret) TH_LOG("reserved1 0x%x accepted", res[i]);
		if (ret == -1) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("reserved1 0x%x: errno %d",
						       res[i], errno);
		}
	}
	ASSERT_NOTHING_SENT();
}

TEST_F(errors, einval_file_type)
{
	int pfd[2], sv[2], dir;

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(100, write(pfd[1], self->path, 100) > 0 ? 100 : -1);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(100, send(sv[1], self->path, 100, 0) > 0 ? 100 : -1);
	dir = open(zc_tmpfs_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dir);

	/* readable, with data, but not a file this ioctl can read */
	EXPECT_ERRNO(EINVAL, pfd[0], self->p.snd, 0, 100, 0, "pipe as file");
	EXPECT_ERRNO(EINVAL, dir, self->p.snd, 0, 100, 0, "directory as file");
	EXPECT_ERRNO(EINVAL, sv[0], self->p.snd, 0, 100, 0, "socket as file");
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	close(dir);
	ASSERT_NOTHING_SENT();
}

TEST_F(errors, einval_offset)
{
	struct zcdev_sendfile in = { .file_fd = self->fd_ro,
				     .sock_fd = self->p.snd,
				     .offset = (uint64_t)LLONG_MAX, .len = 100 },
			      r = in;

	EXPECT_ERRNO(EINVAL, self->fd_ro, self->p.snd, 1ULL << 63, 100, 0,
		     "offset 2^63");
	EXPECT_ERRNO(EINVAL, self->fd_ro, self->p.snd, UINT64_MAX, 100, 0,
		     "offset UINT64_MAX");
	EXPECT_ERRNO(EINVAL, self->fd_ro, self->p.snd, (1ULL << 63) + PG,
		     UINT64_MAX, 0, "offset 2^63+4096, len UINT64_MAX");
	/* LLONG_MAX itself is legal: past EOF, nothing to send */
	ASSERT_EQ(0, zct_sendfile(self->dev, &r)) TH_LOG("errno %d", errno);
	ASSERT_EQ(0, zc_report_check(&in, &r, 0)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0ULL, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	ASSERT_NOTHING_SENT();
}

TEST_F(errors, efault)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct zcdev_sendfile good = { .file_fd = self->fd_ro,
				       .sock_fd = self->p.snd, .len = 100 };
	uint8_t *map = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct {
		const char *what;
		void *ptr;
	} c[4];
	unsigned int i;

	ASSERT_NE(MAP_FAILED, map);
	/* page 0 rw, page 1 PROT_NONE, page 2 unmapped */
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));
	ASSERT_EQ(0, munmap(map + 2 * pg, pg));
	/* a struct straddling into the PROT_NONE page: first half valid */
	memcpy(map + pg - 32, &good, 32);
	c[0].what = "NULL";
	c[0].ptr = NULL;
	c[1].what = "PROT_NONE page";
	c[1].ptr = map + pg;
	c[2].what = "unmapped page";
	c[2].ptr = map + 2 * pg;
	c[3].what = "struct straddling into PROT_NONE";
	c[3].ptr = map + pg - 32;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		int ret = ioctl(self->dev, ZCDEV_IOC_SENDFILE, c[i].ptr);

		EXPECT_EQ(-1, ret) TH_LOG("%s: succeeded", c[i].what);
		if (ret == -1) {
			EXPECT_EQ(EFAULT, errno) TH_LOG("%s: errno %d (%s)",
							c[i].what, errno,
							strerror(errno));
		}
	}
	munmap(map, 2 * pg);
	ASSERT_NOTHING_SENT();
}

/*
 * A struct the kernel can read but not write back: the report could not be
 * returned, so (an error is returned only when nothing was sent) the call
 * must fail with EFAULT before sending anything.
 */
TEST_F(errors, efault_readonly_struct)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct zcdev_sendfile good = { .file_fd = self->fd_ro,
				       .sock_fd = self->p.snd, .len = 100 };
	uint8_t *map = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	ASSERT_NE(MAP_FAILED, map);
	memcpy(map, &good, sizeof(good));
	ASSERT_EQ(0, mprotect(map, pg, PROT_READ));
	ret = ioctl(self->dev, ZCDEV_IOC_SENDFILE, map);
	EXPECT_EQ(-1, ret) TH_LOG("succeeded without writing the report back");
	if (ret == -1) {
		EXPECT_EQ(EFAULT, errno) TH_LOG("errno %d (%s)", errno,
						strerror(errno));
	}
	munmap(map, pg);
	ASSERT_NOTHING_SENT();
}

TEST_F(errors, enotty)
{
	struct zcdev_sendfile r = { .file_fd = self->fd_ro,
				    .sock_fd = self->p.snd, .len = 100 };
	const struct {
		const char *what;
		unsigned long cmd;
	} c[] = {
		{ "nr 0", _IOWR(ZCDEV_IOC_MAGIC, 0x00, struct zcdev_sendfile) },
		{ "nr 4", _IOWR(ZCDEV_IOC_MAGIC, 0x04, struct zcdev_sendfile) },
		{ "nr 0x10", _IOWR(ZCDEV_IOC_MAGIC, 0x10, struct zcdev_sendfile) },
		{ "nr 0xff", _IOWR(ZCDEV_IOC_MAGIC, 0xff, struct zcdev_sendfile) },
		{ "other magic", _IOWR(ZCDEV_IOC_MAGIC ^ 0x01, 0x01,
				       struct zcdev_sendfile) },
		{ "_IO(magic, 4)", _IO(ZCDEV_IOC_MAGIC, 0x04) },
		{ "cmd 0", 0 },
		{ "TCGETS", TCGETS },
		{ "cmd 0xffffffff", 0xffffffffUL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		int ret = ioctl(self->dev, c[i].cmd, &r);

		EXPECT_EQ(-1, ret) TH_LOG("%s (0x%lx): succeeded", c[i].what,
					  c[i].cmd);
		if (ret == -1) {
			EXPECT_EQ(ENOTTY, errno)
				TH_LOG("%s (0x%lx): errno %d (%s)", c[i].what,
				       c[i].cmd, errno, strerror(errno));
		}
	}
	ASSERT_NOTHING_SENT();
}

/* ===================================================================== */
/* peer: closed or reset peer gives EPIPE/ECONNRESET, never SIGPIPE      */
/* ===================================================================== */

FIXTURE(peer) {
	int dev;
	int fd;
	char path[PATH_MAX];
	struct zc_pair p;
};

FIXTURE_VARIANT(peer) {
	enum zc_fam fam;
};

FIXTURE_VARIANT_ADD(peer, tcp4) { .fam = ZC_TCP4 };
FIXTURE_VARIANT_ADD(peer, tcp6) { .fam = ZC_TCP6 };
FIXTURE_VARIANT_ADD(peer, unix) { .fam = ZC_UNIX };

FIXTURE_SETUP(peer)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), 256 * KiB, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(peer)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * Keep sending until the dead peer is noticed: TCP accepts data for a
 * half-closed peer until its RST comes back; unix fails at once.
 */
static void send_until_error(struct __test_metadata *_metadata,
			     FIXTURE_DATA(peer) *self, int max_ok)
{
	struct zcdev_sendfile r;
	int i, ret = 0, e = 0;

	for (i = 0; i <= max_ok; i++) {
		ret = zc_sendfile_args(self->dev, self->fd, self->p.snd, 0,
				       4096, 0, &r);
		e = errno;
		if (ret)
			break;
		ASSERT_EQ(4096ULL, r.sent) TH_LOG("%s", zc_report_str(&r));
		zc_sleep_ms(20);
	}
	ASSERT_EQ(-1, ret) TH_LOG("still sending to a dead peer after %d calls",
				  max_ok + 1);
	ASSERT_TRUE(e == EPIPE || e == ECONNRESET)
		TH_LOG("errno %d (%s), want EPIPE or ECONNRESET", e, strerror(e));
	ASSERT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
	/* and again: the socket stays dead, still without SIGPIPE */
	ret = zc_sendfile_args(self->dev, self->fd, self->p.snd, 0, 4096, 0, &r);
	e = errno;
	ASSERT_EQ(-1, ret);
	ASSERT_TRUE(e == EPIPE || e == ECONNRESET)
		TH_LOG("errno %d (%s)", e, strerror(e));
	ASSERT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

TEST_F(peer, closed)
{
	close(self->p.rcv);
	self->p.rcv = -1;
	send_until_error(_metadata, self, variant->fam == ZC_UNIX ? 0 : 50);
}

TEST_F(peer, reset)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	struct pollfd pfd = { .fd = self->p.snd, .events = POLLOUT };
	struct zcdev_sendfile r;

	/* unread data + linger 0: the close resets the connection */
	ASSERT_EQ(0, zc_sendfile_args(self->dev, self->fd, self->p.snd, 0,
				      1000, 0, &r)) TH_LOG("errno %d", errno);
	if (variant->fam != ZC_UNIX) {
		ASSERT_EQ(0, setsockopt(self->p.rcv, SOL_SOCKET, SO_LINGER, &l,
					sizeof(l)));
		ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
	}
	close(self->p.rcv);
	self->p.rcv = -1;
	/* the sender sees the reset (POLLERR/POLLHUP) */
	pfd.events = POLLOUT;
	ASSERT_EQ(1, poll(&pfd, 1, IDLE_MS));
	ASSERT_NE(0, pfd.revents & (POLLERR | POLLHUP))
		TH_LOG("revents 0x%x", pfd.revents);
	send_until_error(_metadata, self, 0);
}

/* ===================================================================== */
/* nonblock: EAGAIN, partial sends, an event loop                         */
/* ===================================================================== */

FIXTURE(nonblock) {
	int dev;
	int fd;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	uint8_t *buf;
};

FIXTURE_VARIANT(nonblock) {
	enum zc_fam fam;
};

FIXTURE_VARIANT_ADD(nonblock, tcp4) { .fam = ZC_TCP4 };
FIXTURE_VARIANT_ADD(nonblock, tcp6) { .fam = ZC_TCP6 };
FIXTURE_VARIANT_ADD(nonblock, unix) { .fam = ZC_UNIX };

#define NSIZE (1 * MiB + 777)

/* small buffers so the socket fills quickly; SO_SNDTIMEO 3 s catches a
 * "nonblocking" call that really blocks */
static const struct zc_pair_opts small_bufs = {
	.rcvbuf = 16 * KiB, .sndbuf = 16 * KiB, .sndtimeo_ms = 3000,
};

FIXTURE_SETUP(nonblock)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = NSIZE;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->buf = malloc(self->size + 64 * KiB);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO,
				  &small_bufs)) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(nonblock)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/* fill the socket with nonblocking calls until EAGAIN; check all arrives */
static void fill_to_eagain(struct __test_metadata *_metadata,
			   FIXTURE_DATA(nonblock) *self, uint32_t flags)
{
	uint64_t total = 0, off = 0;
	struct range seg[512];
	unsigned int nseg = 0, i;
	bool eagain = false;
	ssize_t got;

	for (i = 0; i < ARRAY_SIZE(seg) && !eagain; i++) {
		struct zcdev_sendfile in = {
			.file_fd = self->fd, .sock_fd = self->p.snd,
			.offset = off, .len = 64 * KiB, .flags = flags,
		}, r = in;
		uint64_t t0 = zc_now_ms();
		int ret = zct_sendfile(self->dev, &r);
		int e = errno;

		ASSERT_GT(1000ULL, zc_now_ms() - t0)
			TH_LOG("a nonblocking call blocked (call %u)", i);
		if (ret) {
			ASSERT_EQ(EAGAIN, e) TH_LOG("errno %d (%s)", e, strerror(e));
			eagain = true;
			break;
		}
		ASSERT_EQ(0, zc_report_check(&in, &r, in.len)) TH_LOG("%s", zc_errmsg());
		ASSERT_LT(0ULL, r.sent) TH_LOG("0 bytes without EAGAIN: %s",
					       zc_report_str(&r));
		seg[nseg].off = off;
		seg[nseg++].len = r.sent;
		total += r.sent;
		off += r.sent;
		if (off + 64 * KiB > self->size)
			off = 0;
	}
	ASSERT_TRUE(eagain) TH_LOG("no EAGAIN after %" PRIu64 " bytes", total);
	ASSERT_GT(self->size + 64 * KiB, total);
	got = zc_recv_exact(self->p.rcv, self->buf, total, IDLE_MS);
	ASSERT_EQ((ssize_t)total, got) TH_LOG("%s", zc_errmsg());
	for (i = 0, off = 0; i < nseg; off += seg[i].len, i++) {
		ASSERT_EQ(-1, zc_verify(self->buf + off, seg[i].len, seg[i].off))
			TH_LOG("segment %u: %s", i, zc_errmsg());
	}
	/* the EAGAIN call sent nothing */
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

TEST_F(nonblock, eagain_flag)
{
	fill_to_eagain(_metadata, self, ZCDEV_SEND_NONBLOCK);
}

TEST_F(nonblock, eagain_o_nonblock)
{
	ASSERT_EQ(0, zc_set_nonblock(self->p.snd, true));
	fill_to_eagain(_metadata, self, 0);
}

/* send the whole file with nonblocking calls driven by poll() */
static void event_loop(struct __test_metadata *_metadata,
		       FIXTURE_DATA(nonblock) *self, uint32_t flags)
{
	uint64_t sent = 0, rcvd = 0, partial = 0, eagain = 0, calls = 0;
	uint64_t deadline = zc_now_ms() + 30000;
	bool shut = false, eof = false;
	int idle = 0;

	while (!eof) {
		struct pollfd pfd[2] = {
			{ .fd = self->p.rcv, .events = POLLIN },
			{ .fd = self->p.snd, .events = shut ? 0 : POLLOUT },
		};
		int n = poll(pfd, 2, 1000);

		ASSERT_LE(0, n);
		ASSERT_GT(deadline, zc_now_ms()) TH_LOG("event loop too slow: sent %"
			PRIu64 " received %" PRIu64, sent, rcvd);
		if (!n) {
			ASSERT_GT(5, ++idle) TH_LOG("stalled: sent %" PRIu64
				" received %" PRIu64, sent, rcvd);
			continue;
		}
		idle = 0;
		while (!shut && (pfd[1].revents & POLLOUT)) {
			struct zcdev_sendfile in = {
				.file_fd = self->fd, .sock_fd = self->p.snd,
				.offset = sent, .len = self->size - sent,
				.flags = flags,
			}, r = in;
			int ret = zct_sendfile(self->dev, &r);

			calls++;
			if (ret) {
				ASSERT_EQ(EAGAIN, errno) TH_LOG("errno %d (%s)",
						errno, strerror(errno));
				eagain++;
				break;
			}
			ASSERT_EQ(0, zc_report_check(&in, &r, in.len))
				TH_LOG("%s", zc_errmsg());
			ASSERT_LT(0ULL, r.sent) TH_LOG("%s", zc_report_str(&r));
			sent += r.sent;
			if (r.sent < in.len) {
				partial++;
				continue;	/* again at once: EAGAIN, usually */
			}
			shutdown(self->p.snd, SHUT_WR);
			shut = true;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			size_t room = self->size + 64 * KiB - rcvd;
			ssize_t got = recv(self->p.rcv, self->buf + rcvd,
					   room < 8 * KiB ? room : 8 * KiB,
					   MSG_DONTWAIT);

			if (got < 0) {
				ASSERT_EQ(EAGAIN, errno);
				continue;
			}
			if (!got)
				eof = true;
			rcvd += got;
			ASSERT_GE(self->size, rcvd) TH_LOG("more bytes than sent");
		}
	}
	TH_LOG("%" PRIu64 " calls, %" PRIu64 " partial, %" PRIu64 " EAGAIN",
	       calls, partial, eagain);
	ASSERT_TRUE(shut) TH_LOG("EOF before everything was sent");
	ASSERT_EQ(self->size, sent);
	ASSERT_EQ(self->size, rcvd);
	ASSERT_EQ(-1, zc_verify(self->buf, rcvd, 0)) TH_LOG("%s", zc_errmsg());
	ASSERT_LT(0ULL, partial) TH_LOG("never a partial send");
	ASSERT_LT(0ULL, eagain) TH_LOG("never EAGAIN");
}

TEST_F_TIMEOUT(nonblock, event_loop_flag, 60)
{
	event_loop(_metadata, self, ZCDEV_SEND_NONBLOCK);
}

TEST_F_TIMEOUT(nonblock, event_loop_o_nonblock, 60)
{
	ASSERT_EQ(0, zc_set_nonblock(self->p.snd, true));
	event_loop(_metadata, self, 0);
}

/* ===================================================================== */
/* intr: a signal interrupts a blocked send                               */
/* ===================================================================== */

FIXTURE(intr) {
	int dev;
	int fd;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	uint8_t *buf;
};

FIXTURE_VARIANT(intr) {
	enum zc_fam fam;
};

FIXTURE_VARIANT_ADD(intr, tcp4) { .fam = ZC_TCP4 };
FIXTURE_VARIANT_ADD(intr, unix) { .fam = ZC_UNIX };

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

struct killer {
	pthread_t target;
	unsigned int delay_ms;
	pthread_t th;
};

static void *killer_fn(void *arg)
{
	struct killer *k = arg;

	zc_sleep_ms(k->delay_ms);
	pthread_kill(k->target, SIGUSR1);
	return NULL;
}

/* a blocking call interrupted by SIGUSR1 after delay_ms; returns its
 * result, errno in *err, duration in *ms */
static int interrupted_call(int dev, struct zcdev_sendfile *r,
			    unsigned int delay_ms, int *err, uint64_t *ms)
{
	struct killer k = { .target = pthread_self(), .delay_ms = delay_ms };
	uint64_t t0 = zc_now_ms();
	int ret;

	if (pthread_create(&k.th, NULL, killer_fn, &k)) {
		*err = errno;
		return -2;
	}
	ret = zct_sendfile(dev, r);
	*err = errno;
	*ms = zc_now_ms() - t0;
	pthread_join(k.th, NULL);	/* the signal has been sent */
	return ret;
}

#define INTR_DELAY 300

FIXTURE_SETUP(intr)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct zc_pair_opts o = small_bufs;

	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	zc_sigpipe_guard();
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	usr1_count = 0;
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = 1 * MiB;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->buf = malloc(self->size);
	ASSERT_NE(NULL, self->buf);
	/* small buffers, no SO_SNDTIMEO: only the signal ends the wait */
	o.sndtimeo_ms = -1;
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &o))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(intr)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/* drain exactly @total bytes from offset 0, verify, and prove no more came */
static void intr_drain(struct __test_metadata *_metadata,
		       FIXTURE_DATA(intr) *self, uint64_t total)
{
	ssize_t got = zc_recv_exact(self->p.rcv, self->buf, total, IDLE_MS);

	ASSERT_EQ((ssize_t)total, got) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, total, 0)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("more was sent than reported: %s", zc_errmsg());
}

/* progress, then blocked, then a signal: returns 0 with the partial count */
TEST_F(intr, after_progress)
{
	struct zcdev_sendfile in = { .file_fd = self->fd, .sock_fd = self->p.snd,
				     .offset = 0, .len = self->size }, r = in;
	uint64_t ms;
	int e, ret;

	ret = interrupted_call(self->dev, &r, INTR_DELAY, &e, &ms);
	ASSERT_EQ(0, ret) TH_LOG("errno %d (%s)", e, strerror(e));
	ASSERT_EQ(1, usr1_count);
	ASSERT_LE(INTR_DELAY - 50ULL, ms) TH_LOG("returned before the signal: %s",
					      zc_report_str(&r));
	ASSERT_GE(INTR_DELAY + 3000ULL, ms) TH_LOG("signal not noticed for %"
						PRIu64 " ms", ms);
	ASSERT_EQ(0, zc_report_check(&in, &r, in.len)) TH_LOG("%s", zc_errmsg());
	ASSERT_LT(0ULL, r.sent);
	ASSERT_GT(self->size, r.sent) TH_LOG("the socket never filled up?");
	intr_drain(_metadata, self, r.sent);
}

/* blocked before any progress: -1/EINTR, nothing sent */
TEST_F(intr, before_progress)
{
	struct zcdev_sendfile in = { .file_fd = self->fd, .sock_fd = self->p.snd,
				     .offset = 0, .len = self->size }, r = in;
	uint64_t ms, total;
	int e, ret, tries;

	/* fill the socket: a call that blocks and is interrupted */
	ret = interrupted_call(self->dev, &r, INTR_DELAY, &e, &ms);
	ASSERT_EQ(0, ret) TH_LOG("errno %d (%s)", e, strerror(e));
	ASSERT_LT(0ULL, r.sent);
	total = r.sent;
	for (tries = 0; tries < 4; tries++) {
		if (variant->fam != ZC_UNIX) {
			ASSERT_EQ(0, zc_wait_outq_stable(self->p.snd, 100, IDLE_MS))
				TH_LOG("%s", zc_errmsg());
		}
		in.offset = total;
		in.len = self->size - total;
		r = in;
		ret = interrupted_call(self->dev, &r, INTR_DELAY, &e, &ms);
		ASSERT_LE(INTR_DELAY - 50ULL, ms)
			TH_LOG("returned before the signal (ret %d errno %d): %s",
			       ret, e, zc_report_str(&r));
		ASSERT_GE(INTR_DELAY + 3000ULL, ms);
		if (ret == -1)
			break;
		/* some room had opened: progress, then blocked: legal */
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, zc_report_check(&in, &r, in.len)) TH_LOG("%s", zc_errmsg());
		ASSERT_LT(0ULL, r.sent);
		total += r.sent;
		TH_LOG("try %d: progress of %" PRIu64 " bytes before the signal",
		       tries, (uint64_t)r.sent);
	}
	ASSERT_EQ(-1, ret) TH_LOG("never blocked without progress");
	ASSERT_EQ(EINTR, e) TH_LOG("errno %d (%s)", e, strerror(e));
	intr_drain(_metadata, self, total);
}

/* ===================================================================== */
/* concurrent: several senders on one file, each to its own socket       */
/* ===================================================================== */

FIXTURE(concurrent) {
	int dev;
	int fd;
	char path[PATH_MAX];
	uint64_t size;
};

FIXTURE_VARIANT(concurrent) {
	enum zc_fam fam;
};

FIXTURE_VARIANT_ADD(concurrent, tcp4) { .fam = ZC_TCP4 };
FIXTURE_VARIANT_ADD(concurrent, unix) { .fam = ZC_UNIX };

#define NSENDERS 4

struct sender {
	int dev;
	int fd;
	uint64_t size;
	uint64_t seed;
	struct zc_pair p;
	struct zc_rx rx;
	pthread_t th;
	uint64_t sent;
	unsigned int calls;
	char err[320];
};

static void *sender_fn(void *arg)
{
	struct sender *s = arg;
	struct zc_rng rng = { s->seed };

	while (s->sent < s->size) {
		struct zcdev_sendfile in = {
			.file_fd = s->fd, .sock_fd = s->p.snd,
			.offset = s->sent,
			.len = zc_rng_range(&rng, 1, 256 * KiB),
		}, r = in;
		uint64_t want = clamp_len(in.offset, in.len, s->size);

		if (zct_sendfile(s->dev, &r)) {
			snprintf(s->err, sizeof(s->err),
				 "call %u off %" PRIu64 ": errno %d (%s)",
				 s->calls, (uint64_t)in.offset, errno,
				 strerror(errno));
			break;
		}
		s->calls++;
		if (zc_report_check(&in, &r, want)) {
			snprintf(s->err, sizeof(s->err), "%s", zc_errmsg());
			break;
		}
		if (r.sent != want) {
			snprintf(s->err, sizeof(s->err), "short blocking send: %s",
				 zc_report_str(&r));
			break;
		}
		s->sent += r.sent;
	}
	shutdown(s->p.snd, SHUT_WR);
	return NULL;
}

FIXTURE_SETUP(concurrent)
{
	self->fd = -1;
	self->path[0] = 0;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = 2 * MiB + 1111;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(concurrent)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

TEST_F_TIMEOUT(concurrent, senders_one_file, 60)
{
	uint64_t seed = zc_seed_for(zc_base_seed(), "concurrent");
	struct sender *s = calloc(NSENDERS, sizeof(*s));
	int i;

	ASSERT_NE(NULL, s);
	TH_LOG("seed %" PRIu64 " (base ZC_SEED=%" PRIu64 ")", seed,
	       zc_base_seed());
	for (i = 0; i < NSENDERS; i++) {
		s[i].dev = self->dev;
		s[i].fd = self->fd;
		s[i].size = self->size;
		s[i].seed = seed + i;
		ASSERT_EQ(0, zc_pair_open(&s[i].p, variant->fam, ZC_NET_LO, NULL))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, zc_rx_start(&s[i].rx, s[i].p.rcv,
					 self->size + 64 * KiB, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
	}
	for (i = 0; i < NSENDERS; i++) {
		ASSERT_EQ(0, pthread_create(&s[i].th, NULL, sender_fn, &s[i]));
	}
	for (i = 0; i < NSENDERS; i++)
		pthread_join(s[i].th, NULL);
	for (i = 0; i < NSENDERS; i++) {
		int rx = zc_rx_join(&s[i].rx);

		EXPECT_EQ(0, s[i].err[0]) TH_LOG("sender %d: %s", i, s[i].err);
		EXPECT_EQ(0, rx) TH_LOG("sender %d: %s", i, s[i].rx.msg);
		EXPECT_EQ(self->size, s[i].sent) TH_LOG("sender %d", i);
		EXPECT_EQ(self->size, (uint64_t)s[i].rx.len) TH_LOG("sender %d", i);
		EXPECT_EQ(0ULL, s[i].rx.extra) TH_LOG("sender %d", i);
		if (s[i].rx.len == self->size) {
			EXPECT_EQ(-1, zc_verify(s[i].rx.buf, s[i].rx.len, 0))
				TH_LOG("sender %d: %s", i, zc_errmsg());
		}
		zc_rx_free(&s[i].rx);
		zc_pair_close(&s[i].p);
	}
	free(s);
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size)) TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* abi: the struct size is the version                                   */
/* ===================================================================== */

FIXTURE(abi) {
	int dev;
	int fd;
	char path[PATH_MAX];
	struct zc_pair p;
	uint8_t *buf;
};

FIXTURE_SETUP(abi)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), ESIZE, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->buf = malloc(ESIZE);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(abi)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

TEST_F(abi, struct_layout)
{
	/* VER0 (64 bytes) + VER1 (status, reserved1, notify_id): no holes */
	ASSERT_EQ(80U, sizeof(struct zcdev_sendfile));
	ASSERT_EQ(64U, (unsigned)ZCDEV_SENDFILE_SIZE_VER0);
	ASSERT_EQ((unsigned)ZCDEV_SENDFILE_SIZE_VER1, sizeof(struct zcdev_sendfile));
	ASSERT_EQ(0U, offsetof(struct zcdev_sendfile, file_fd));
	ASSERT_EQ(4U, offsetof(struct zcdev_sendfile, sock_fd));
	ASSERT_EQ(8U, offsetof(struct zcdev_sendfile, offset));
	ASSERT_EQ(16U, offsetof(struct zcdev_sendfile, len));
	ASSERT_EQ(24U, offsetof(struct zcdev_sendfile, flags));
	ASSERT_EQ(28U, offsetof(struct zcdev_sendfile, path));
	ASSERT_EQ(32U, offsetof(struct zcdev_sendfile, why));
	ASSERT_EQ(36U, offsetof(struct zcdev_sendfile, reserved));
	ASSERT_EQ(40U, offsetof(struct zcdev_sendfile, sent));
	ASSERT_EQ(48U, offsetof(struct zcdev_sendfile, zc_bytes));
	ASSERT_EQ(56U, offsetof(struct zcdev_sendfile, copied_bytes));
	ASSERT_EQ(64U, offsetof(struct zcdev_sendfile, status));
	ASSERT_EQ(68U, offsetof(struct zcdev_sendfile, reserved1));
	ASSERT_EQ(72U, offsetof(struct zcdev_sendfile, notify_id));
	/* the ioctl number carries the size: it changed with VER1 */
	ASSERT_EQ((unsigned long)ZCDEV_IOC_SENDFILE,
		  (unsigned long)ZC_IOC_SENDFILE_SIZED(80));
	ASSERT_NE((unsigned long)ZCDEV_IOC_SENDFILE,
		  (unsigned long)ZC_IOC_SENDFILE_SIZED(64));
}

#define GUARD_LEN	64
#define GUARD_BYTE	0xa5

/*
 * A call with an explicit struct size: @b holds @size bytes of struct (the
 * fields that fit, out fields poisoned, any tail already in @b kept) and
 * GUARD_LEN guard bytes after it.  Returns ioctl's result.
 */
static int sized_call(FIXTURE_DATA(abi) *self, uint8_t *b, unsigned int size,
		      uint64_t off, uint64_t len, uint32_t flags)
{
	struct zcdev_sendfile a = { .file_fd = self->fd, .sock_fd = self->p.snd,
				    .offset = off, .len = len, .flags = flags };

	zc_poison_out(&a);
	memcpy(b, &a, size < sizeof(a) ? size : sizeof(a));
	memset(b + size, GUARD_BYTE, GUARD_LEN);
	return zc_sendfile_sized(self->dev, b, size);
}

/* the guard bytes after a @size-byte struct were not written */
static int guard_intact(const uint8_t *b, unsigned int size)
{
	unsigned int j;

	for (j = size; j < size + GUARD_LEN; j++)
		if (b[j] != GUARD_BYTE)
			return (int)j;
	return -1;
}

/*
 * Every size from VER0 up works when the bytes this module does not know
 * are zero; the out fields that fit are written (the VER1 ones too: their
 * poisoned input is ignored), and nothing past the caller's size is: a
 * VER0 caller's memory after byte 64 is never touched.
 */
TEST_F(abi, larger_zero_tail)
{
	const unsigned int sizes[] = { 64, 68, 72, 76, 80, 88, 128, 4096 };
	uint64_t off = 0;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned int sz = sizes[i];
		uint8_t *b = calloc(1, sz + GUARD_LEN);
		struct zcdev_sendfile in = { .file_fd = self->fd,
					     .sock_fd = self->p.snd,
					     .offset = off, .len = 1000 }, r;
		int ret;

		ASSERT_NE(NULL, b);
		ret = sized_call(self, b, sz, off, 1000, 0);
		ASSERT_EQ(0, ret) TH_LOG("size %u: errno %d (%s)", sz,
					 errno, strerror(errno));
		ASSERT_EQ(-1, guard_intact(b, sz))
			TH_LOG("size %u: byte %d after the struct written", sz,
			       guard_intact(b, sz));
		/* the fields that fit; the others as a VER1 caller would see them */
		memset(&r, 0, sizeof(r));
		memcpy(&r, b, sz < sizeof(r) ? sz : sizeof(r));
		if (sz < offsetof(struct zcdev_sendfile, notify_id) + 8)
			r.notify_id = 0;
		/* every field: in unchanged, out consistent, no 0xcc left */
		ASSERT_EQ(0, zc_report_check(&in, &r, 1000))
			TH_LOG("size %u: %s", sz, zc_errmsg());
		ASSERT_EQ(1000ULL, r.sent);
		ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ(0U, r.why);
		ASSERT_EQ(1000ULL, r.zc_bytes);
		ASSERT_EQ(0ULL, r.copied_bytes);
		ASSERT_EQ(0U, r.status) TH_LOG("size %u: %s", sz, zc_report_str(&r));
		/* the unknown tail is not written */
		for (j = sizeof(r); j < sz; j++) {
			ASSERT_EQ(0, b[j]) TH_LOG("size %u: tail byte %u = 0x%x",
						  sz, j, b[j]);
		}
		ASSERT_EQ(1000, zc_recv_exact(self->p.rcv, self->buf, 1000,
					      IDLE_MS)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(-1, zc_verify(self->buf, 1000, off)) TH_LOG("%s", zc_errmsg());
		off += 1000;
		free(b);
	}
	ASSERT_NOTHING_SENT();
}

/* a VER0 caller hitting EOF: the call works, bytes 64.. stay the caller's */
TEST_F(abi, ver0_guard_on_eof)
{
	uint8_t b[64 + GUARD_LEN];
	struct zcdev_sendfile r;

	ASSERT_EQ(0, sized_call(self, b, 64, ESIZE - 100, UINT64_MAX, 0))
		TH_LOG("errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ(-1, guard_intact(b, 64))
		TH_LOG("byte %d after a VER0 struct written", guard_intact(b, 64));
	memset(&r, 0, sizeof(r));
	memcpy(&r, b, 64);
	ASSERT_EQ(100ULL, r.sent) TH_LOG("%s", zc_report_str(&r));
	ASSERT_EQ(100, zc_recv_exact(self->p.rcv, self->buf, 100, IDLE_MS));
	ASSERT_EQ(-1, zc_verify(self->buf, 100, ESIZE - 100)) TH_LOG("%s", zc_errmsg());
	ASSERT_NOTHING_SENT();
}

/*
 * Bytes 64..79 are VER1 fields now: status and notify_id are out fields
 * whose input is ignored, reserved1 must be 0 (-EINVAL); a non-zero byte
 * past 80 is a newer ABI this module does not know (-E2BIG).
 */
TEST_F(abi, larger_nonzero_tail)
{
	const struct { unsigned int size, at; int err; } c[] = {
		{ 72, 64, 0 }, { 72, 67, 0 },		/* status: ignored */
		{ 80, 72, 0 }, { 80, 79, 0 },		/* notify_id: ignored */
		{ 72, 68, EINVAL }, { 72, 71, EINVAL },	/* reserved1 */
		{ 80, 70, EINVAL }, { 128, 68, EINVAL },
		{ 88, 80, E2BIG }, { 88, 87, E2BIG }, { 128, 100, E2BIG },
		{ 4096, 4095, E2BIG },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		uint8_t *b = calloc(1, c[i].size + GUARD_LEN);
		uint8_t got[1000];
		int ret;

		ASSERT_NE(NULL, b);
		/* the garbage byte goes in after the struct is filled */
		{
			struct zcdev_sendfile a = { .file_fd = self->fd,
						    .sock_fd = self->p.snd,
						    .offset = 0, .len = 1000 };

			zc_poison_out(&a);
			memcpy(b, &a, sizeof(a));
			b[c[i].at] = 0x5a;
			memset(b + c[i].size, GUARD_BYTE, GUARD_LEN);
		}
		ret = zc_sendfile_sized(self->dev, b, c[i].size);
		if (c[i].err) {
			EXPECT_EQ(-1, ret) TH_LOG("size %u, byte %u set: accepted",
						  c[i].size, c[i].at);
			if (ret == -1) {
				EXPECT_EQ(c[i].err, errno)
					TH_LOG("size %u byte %u: errno %d (%s)",
					       c[i].size, c[i].at, errno,
					       strerror(errno));
			}
		} else {
			struct zcdev_sendfile r;

			ASSERT_EQ(0, ret) TH_LOG("size %u, out byte %u set: errno %d (%s)",
						 c[i].size, c[i].at, errno,
						 strerror(errno));
			memcpy(&r, b, sizeof(r));
			EXPECT_EQ(1000ULL, r.sent);
			EXPECT_EQ(0U, r.status) TH_LOG("status input not ignored: %s",
						      zc_report_str(&r));
			if (c[i].size >= 80) {
				EXPECT_EQ(0ULL, r.notify_id)
					TH_LOG("notify_id input not ignored: %s",
					       zc_report_str(&r));
			}
			ASSERT_EQ(1000, zc_recv_exact(self->p.rcv, got, 1000, IDLE_MS));
		}
		EXPECT_EQ(-1, guard_intact(b, c[i].size))
			TH_LOG("size %u: byte after the struct written", c[i].size);
		free(b);
	}
	ASSERT_NOTHING_SENT();
}

/*
 * CACHED_ONLY and NOTIFY report through VER1 fields: with a VER0 struct
 * they are -EINVAL (and nothing is sent); the same call with a VER1
 * struct works.
 */
TEST_F(abi, ver1_flags_need_ver1)
{
	const uint32_t flags[] = { ZCDEV_SEND_CACHED_ONLY, ZCDEV_SEND_NOTIFY,
				   ZCDEV_SEND_CACHED_ONLY | ZCDEV_SEND_NOTIFY };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		uint8_t b[80 + GUARD_LEN];
		struct zcdev_sendfile r;
		int ret;

		ret = sized_call(self, b, 64, 0, 1000, flags[i]);
		EXPECT_EQ(-1, ret) TH_LOG("flags 0x%x with a VER0 struct accepted",
					  flags[i]);
		if (ret == -1) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("flags 0x%x: errno %d (%s)",
							flags[i], errno,
							strerror(errno));
		}
		EXPECT_EQ(-1, guard_intact(b, 64));
		ASSERT_NOTHING_SENT();

		/* the page cache of the tmpfs file is there: both work */
		ret = sized_call(self, b, 80, 0, 1000, flags[i]);
		ASSERT_EQ(0, ret) TH_LOG("flags 0x%x with a VER1 struct: errno %d (%s)",
					 flags[i], errno, strerror(errno));
		memcpy(&r, b, sizeof(r));
		EXPECT_EQ(1000ULL, r.sent) TH_LOG("%s", zc_report_str(&r));
		EXPECT_EQ(0U, r.status) TH_LOG("%s", zc_report_str(&r));
		if (flags[i] & ZCDEV_SEND_NOTIFY) {
			EXPECT_NE(0ULL, r.notify_id) TH_LOG("%s", zc_report_str(&r));
		}
		EXPECT_EQ(-1, guard_intact(b, 80));
		ASSERT_EQ(1000, zc_recv_exact(self->p.rcv, self->buf, 1000, IDLE_MS));
		ASSERT_EQ(-1, zc_verify(self->buf, 1000, 0)) TH_LOG("%s", zc_errmsg());
	}
	ASSERT_NOTHING_SENT();
}

TEST_F(abi, smaller)
{
	const unsigned int sizes[] = { 0, 8, 24, 56, 63 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t b[64 + GUARD_LEN];
		int ret;

		ret = sized_call(self, b, sizes[i], 0, 1000, 0);
		EXPECT_EQ(-1, ret) TH_LOG("size %u accepted", sizes[i]);
		if (ret == -1) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("size %u: errno %d (%s)",
							sizes[i], errno,
							strerror(errno));
		}
	}
	ASSERT_NOTHING_SENT();
}

/* ===================================================================== */
/* fallback: files without page cache to lend, and tmpfs holes            */
/* ===================================================================== */

FIXTURE(fallback) {
	int dev;
	int fd;
	char path[PATH_MAX];
	struct zc_pair p;
	uint8_t *buf;
};

FIXTURE_SETUP(fallback)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = malloc(1 * MiB);
	ASSERT_NE(NULL, self->buf);
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(fallback)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * One call, then the truth oracle against @exp (the file's bytes): returns
 * the report in *out with zc_bytes/copied_bytes already checked.
 */
static void oracle_once(struct __test_metadata *_metadata,
			FIXTURE_DATA(fallback) *self, int send_fd, int rw_fd,
			uint64_t off, uint64_t len, const uint8_t *exp,
			struct zcdev_sendfile *out)
{
	struct zcdev_sendfile in = { .file_fd = send_fd, .sock_fd = self->p.snd,
				     .offset = off, .len = len };
	uint64_t flipped = 0, same = 0;

	*out = in;
	ASSERT_EQ(0, zct_sendfile(self->dev, out))
		TH_LOG("errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ(0, zc_report_check(&in, out, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(len, out->sent) TH_LOG("%s", zc_report_str(out));
	ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_wait_inq(self->p.rcv, len, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_flip_range(rw_fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->p.rcv, self->buf, len, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_flip_range(rw_fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_classify_buf(self->buf, exp, len, off, &flipped, &same))
		TH_LOG("%s", zc_errmsg());
	TH_LOG("%s; receiver saw flipped=%" PRIu64 " original=%" PRIu64,
	       zc_report_str(out), flipped, same);
	ASSERT_EQ(flipped, out->zc_bytes);
	ASSERT_EQ(same, out->copied_bytes);
}

/* O_DIRECT: no page cache to lend -> copied, reason NO_PAGECACHE */
TEST_F(fallback, odirect_ext4)
{
	const uint64_t size = 256 * KiB, off = 64 * KiB, len = 128 * KiB;
	struct zcdev_sendfile r;
	uint8_t *exp;
	char w[128];
	int dfd;

	if (zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->fd = zc_make_payload_file(zc_ext4_dir(), size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	exp = malloc(len);
	ASSERT_NE(NULL, exp);
	dfd = zc_reopen(self->fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, dfd) TH_LOG("O_DIRECT open: %s", strerror(errno));
	/* the expected bytes apart from the receive buffer (self->buf) */
	zc_payload_fill(exp, off, len);
	oracle_once(_metadata, self, dfd, self->fd, off, len, exp, &r);
	close(dfd);
	free(exp);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(len, r.copied_bytes) TH_LOG("%s", zc_report_str(&r));
	ASSERT_NE(0U, r.why & ZCDEV_WHY_NO_PAGECACHE)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	ASSERT_NOTHING_SENT();
}

/* tmpfs holes read as zeros; whatever way they go, the report is true */
TEST_F(fallback, tmpfs_hole)
{
	const uint64_t size = 256 * KiB, doff = 64 * KiB + 100, dlen = 64 * KiB;
	uint8_t *exp = calloc(1, size);
	struct zcdev_sendfile r;
	char w[128];
	int ro;

	ASSERT_NE(NULL, exp);
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->fd = zc_make_sparse_file(zc_tmpfs_dir(), size, doff, dlen,
				       self->path, sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, ro);
	zc_payload_fill(exp + doff, doff, dlen);
	/* hole, data, hole */
	oracle_once(_metadata, self, ro, self->fd, 0, size, exp, &r);
	close(ro);
	free(exp);
	if (_metadata->exit_code)
		return;
	/* on lo the only legitimate reason to copy is the hole */
	ASSERT_EQ(0U, r.why & ~ZCDEV_WHY_HOLE)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	ASSERT_GE(size - dlen, r.copied_bytes)
		TH_LOG("data bytes copied: %s", zc_report_str(&r));
	ASSERT_NOTHING_SENT();
}

/*
 * STRICT meeting a byte it would copy after sending some: it returns what
 * it sent (0, why 0), and the next call, starting at that byte, fails with
 * EOPNOTSUPP and the reason.  (tmpfs: data pages, then a hole.)
 */
TEST_F(fallback, strict_stops_at_hole)
{
	const uint64_t size = 256 * KiB, dlen = 64 * KiB;
	struct zcdev_sendfile in, r;
	char w[128];
	uint8_t *exp = calloc(1, size);
	int ro;

	ASSERT_NE(NULL, exp);
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->fd = zc_make_sparse_file(zc_tmpfs_dir(), size, 0, dlen,
				       self->path, sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, ro);
	zc_payload_fill(exp, 0, dlen);

	/* data then hole: the data goes, by reference, and the call stops */
	memset(&in, 0, sizeof(in));
	in.file_fd = ro;
	in.sock_fd = self->p.snd;
	in.len = size;
	in.flags = ZCDEV_SEND_STRICT;
	r = in;
	ASSERT_EQ(0, zct_sendfile(self->dev, &r))
		TH_LOG("progress then a refusal must return 0: errno %d (%s), %s",
		       errno, strerror(errno), zc_report_str(&r));
	ASSERT_EQ(0, zc_report_check(&in, &r, size)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(dlen, r.sent) TH_LOG("%s", zc_report_str(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path);
	ASSERT_EQ(0U, r.why);

	/* from the hole on: refused, with the reason, nothing sent */
	in.offset = dlen;
	in.len = size - dlen;
	r = in;
	ASSERT_EQ(-1, zct_sendfile(self->dev, &r)) TH_LOG("%s", zc_report_str(&r));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(0ULL, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	ASSERT_NE(0U, r.why & ZCDEV_WHY_HOLE)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));

	/* without STRICT the hole goes, copied */
	in.flags = 0;
	r = in;
	ASSERT_EQ(0, zct_sendfile(self->dev, &r)) TH_LOG("errno %d", errno);
	ASSERT_EQ(0, zc_report_check(&in, &r, size - dlen)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(size - dlen, r.sent);
	ASSERT_EQ(size - dlen, r.copied_bytes) TH_LOG("%s", zc_report_str(&r));
	ASSERT_NE(0U, r.why & ZCDEV_WHY_HOLE)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));

	ASSERT_EQ((ssize_t)size, zc_recv_exact(self->p.rcv, self->buf, size,
					       IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify_buf(self->buf, exp, size, 0))
		TH_LOG("%s", zc_errmsg());
	close(ro);
	free(exp);
	ASSERT_NOTHING_SENT();
}

/* ===================================================================== */
/* cap: one call sends at most ZCDEV_MAX_SEND, as sendfile(2) does        */
/* ===================================================================== */

/* a receiver that discards a TCP stream (MSG_TRUNC) and counts it to EOF */
struct drain {
	int fd;
	uint64_t bytes;
	int err;
	pthread_t th;
};

static void *drain_main(void *p)
{
	struct drain *d = p;
	struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, IDLE_MS) != 1) {
			d->err = ETIMEDOUT;
			return NULL;
		}
		n = recv(d->fd, NULL, 1 << 30, MSG_TRUNC | MSG_DONTWAIT);
		if (n == 0)
			return NULL;
		if (n < 0 && errno != EAGAIN) {
			d->err = errno;
			return NULL;
		}
		if (n > 0)
			d->bytes += (uint64_t)n;
	}
}

/*
 * A 3 GiB sparse tmpfs file (its holes cost no memory): the ioctl with len
 * UINT64_MAX stops at MAX_RW_COUNT (INT_MAX & PAGE_MASK, sendfile(2)'s and
 * read(2)'s limit; uapi names it ZCDEV_MAX_SEND), not at EOF.  Moving the
 * 2 GiB takes ~30 s under TCG, so only the ioctl, once.
 */
TEST_F_TIMEOUT(fallback, one_call_capped_at_max_rw_count, 300)
{
	const uint64_t size = 3ULL << 30;
	const uint64_t max_rw = (uint64_t)(INT_MAX & ~(sysconf(_SC_PAGESIZE) - 1));
	struct zcdev_sendfile r;
	struct drain d = { .fd = self->p.rcv };
	uint64_t t0;

	ASSERT_EQ(max_rw, ZCDEV_MAX_SEND);
	self->fd = zc_make_sparse_file(zc_tmpfs_dir(), size, 0, 0, self->path,
				       sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, pthread_create(&d.th, NULL, drain_main, &d));
	t0 = zc_now_ms();
	ASSERT_EQ(0, zc_sendfile_args(self->dev, self->fd, self->p.snd, 0,
				      UINT64_MAX, 0, &r)) TH_LOG("%s", strerror(errno));
	TH_LOG("ioctl in %" PRIu64 " ms: %s", zc_now_ms() - t0, zc_report_str(&r));
	EXPECT_EQ(max_rw, r.sent);
	EXPECT_EQ(0U, r.status & ZCDEV_STATUS_EOF);
	shutdown(self->p.snd, SHUT_WR);
	pthread_join(d.th, NULL);
	ASSERT_EQ(0, d.err) TH_LOG("receiver: %s", strerror(d.err));
	EXPECT_EQ(r.sent, d.bytes);
}

/* ---- lru: lent pages count as used, as sendfile(2)'s do --------------- */

/*
 * Pages of [0, len) of @map (a mapping, every page faulted in) that the kernel has
 * marked used: PG_referenced or PG_active in /proc/kpageflags (the PFN from
 * /proc/self/pagemap); -1 on error.
 */
static int pages_marked(const uint8_t *map, uint64_t len)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	int n = 0;

	if (pm < 0 || kf < 0) {
		zc_seterr(true, "pagemap/kpageflags");
		n = -1;
		goto out;
	}
	for (uint64_t off = 0; off < len; off += 4096) {
		uint64_t e, fl;

		if (pread(pm, &e, 8, (off_t)((uintptr_t)(map + off) / 4096 * 8)) != 8 ||
		    !(e & (1ULL << 63)) ||
		    pread(kf, &fl, 8, (off_t)((e & ((1ULL << 55) - 1)) * 8)) != 8) {
			zc_seterr(false, "page %" PRIu64 ": not mapped or no flags",
				  off / 4096);
			n = -1;
			goto out;
		}
		if (fl & ((1ULL << 2) | (1ULL << 6)))	/* KPF_REFERENCED, KPF_ACTIVE */
			n++;
	}
out:
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	return n;
}

/* an ext4 file of @len bytes read in by readahead only (nothing marked) */
static int unmarked_file(uint64_t len, uint8_t **map)
{
	char path[PATH_MAX];
	int fd, i;

	fd = zc_make_payload_file(zc_ext4_dir(), len, path, sizeof(path));
	if (fd < 0)
		return -1;
	unlink(path);
	if (zc_make_cold(fd) != 0)
		return -1;
	posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_WILLNEED);
	for (i = 0; i < 200 && zc_resident_pages(fd, 0, len) != (int64_t)(len / 4096); i++)
		usleep(10000);
	/*
	 * Mapped by faults (a load per page), not MAP_POPULATE: its
	 * get_user_pages(FOLL_TOUCH) marks the pages accessed itself.
	 */
	*map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (*map == MAP_FAILED)
		return -1;
	for (uint64_t off = 0; off < len; off += 4096)
		(void)*(volatile const uint8_t *)(*map + off);
	return fd;
}

/*
 * sendfile(2)'s read path (filemap_splice_read()) marks every folio it
 * sends accessed, as read(2) does: what is served stays in memory before
 * what is not.  zcdev's lent folios must count the same, or a hot file
 * served only through it looks used-once to reclaim.  Two ext4 files read
 * in by readahead (nothing marked): one sent with sendfile(2), one with
 * zcdev; afterwards as many pages of each are marked.
 */
TEST(lent_pages_marked_accessed)
{
	const uint64_t len = 64 * 1024;
	int dev, fd_sf, fd_zc, sf0, zc0, sf1, zc1;
	uint8_t *map_sf, *map_zc, *buf;
	struct zcdev_sendfile a;
	struct zc_pair p;
	off_t o = 0;

	dev = zc_open_dev();
	ASSERT_LE(0, dev) TH_LOG("%s", zc_errmsg());
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	fd_sf = unmarked_file(len, &map_sf);
	fd_zc = unmarked_file(len, &map_zc);
	ASSERT_LE(0, fd_sf) TH_LOG("%s", zc_errmsg());
	ASSERT_LE(0, fd_zc) TH_LOG("%s", zc_errmsg());
	sf0 = pages_marked(map_sf, len);
	zc0 = pages_marked(map_zc, len);
	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)len, sendfile(p.snd, fd_sf, &o, len));
	ASSERT_EQ((ssize_t)len, zc_recv_exact(p.rcv, buf, len, 10000));
	ASSERT_EQ(0, zc_sendfile_args(dev, fd_zc, p.snd, 0, len, 0, &a))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(len, a.sent);
	ASSERT_EQ((ssize_t)len, zc_recv_exact(p.rcv, buf, len, 10000));
	sf1 = pages_marked(map_sf, len);
	zc1 = pages_marked(map_zc, len);
	TH_LOG("pages marked used of %" PRIu64 ": sendfile(2) %d -> %d, zcdev %d -> %d (%s)",
	       len / 4096, sf0, sf1, zc0, zc1, zc_report_str(&a));
	ASSERT_LE(0, sf0) TH_LOG("%s", zc_errmsg());
	/* the premise: readahead marked nothing, sendfile(2) marks them */
	ASSERT_EQ(0, sf0);
	ASSERT_EQ(0, zc0);
	ASSERT_EQ((int)(len / 4096), sf1);
	EXPECT_EQ(sf1, zc1);
	zc_pair_close(&p);
	munmap(map_sf, len);
	munmap(map_zc, len);
	close(fd_sf);
	close(fd_zc);
	free(buf);
	close(dev);
}

TEST_HARNESS_MAIN
