// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_sendv: kselftest-harness tests of ZCDEV_IOC_SENDV (issue 7).
 *
 *   deliver.*    per network (tcp4/tcp6/unix on lo, veth, sg-off veth) and
 *                filesystem (tmpfs, ext4, cold ext4):
 *                byte_exact   seeded random lists of memory and file
 *                             segments arrive as their exact concatenation;
 *                             sent == sum, the zc/copied split is exact
 *                             (memory: copied, ZCDEV_WHY_MEMORY; file: by
 *                             reference, or copied for the device's
 *                             reasons on the sg-off veth)
 *                paths        memory only / file only / mixed: COPY,
 *                             ZEROCOPY, MIXED as the network allows
 *                truth        the truth oracle: flip the file ranges and
 *                             overwrite the memory after the send; what
 *                             the receiver reads proves what went by
 *                             reference
 *                nonblock_resume  a non-blocking socket to a slow reader:
 *                             resume from seg_index/seg_sent until done,
 *                             the stream is exact
 *   sv.*         the rest, on tcp4 loopback: EOF inside a file segment,
 *                zero-length segments, 1 and ZCDEV_SENDV_MAX_SEGS segments,
 *                validation of a bad last segment before anything is sent,
 *                STRICT (sg-off veth, procfs, tmpfs holes, kTLS), MORE,
 *                kTLS, a dead peer, concurrent senders, the struct ABI.
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
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define PG 4096ULL

/* how long any single wait may take before the test fails (TCG is slow) */
#define IDLE_MS 10000

#define DEV_WHY (ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM)

/* one base seed for the whole run, chosen before the harness forks */
static void __attribute__((constructor)) seed_init(void)
{
	zc_base_seed();
}

/* ---- memory segments: a pool whose every word names its pool offset ----- */

#define MEM_MAGIC 0x4d454d0000000000ULL	/* "MEM", never a payload word */

static void mem_fill(uint8_t *pool, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = MEM_MAGIC | i;

		memcpy(pool + i, &w, 8);
	}
	for (; i < len; i++)
		pool[i] = 0x4d;
}

/* ---- the expected stream ------------------------------------------------- */

static uint64_t segs_total(const struct zcdev_seg *s, unsigned int n)
{
	uint64_t t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += s[i].len;
	return t;
}

static void segs_split(const struct zcdev_seg *s, unsigned int n,
		       uint64_t *mem, uint64_t *file)
{
	*mem = *file = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (s[i].type == ZCDEV_SEG_MEM)
			*mem += s[i].len;
		else
			*file += s[i].len;
	}
}

/*
 * The bytes the segments stand for, as the sender's memory is now: file
 * segments are payload files (any of them: the payload is a function of
 * the offset), memory segments are read from their addresses.
 */
static void expect_fill(const struct zcdev_seg *s, unsigned int n, uint8_t *out)
{
	for (unsigned int i = 0; i < n; i++) {
		if (s[i].type == ZCDEV_SEG_MEM)
			memcpy(out, (const void *)(uintptr_t)s[i].addr, s[i].len);
		else
			zc_payload_fill(out, s[i].offset, s[i].len);
		out += s[i].len;
	}
}

/* compare a received stream with the segments; describes the first mismatch */
static int64_t stream_check(const uint8_t *got, const uint8_t *exp,
			    const struct zcdev_seg *s, unsigned int n,
			    uint64_t len)
{
	uint64_t pos = 0, i;
	unsigned int k;

	if (!memcmp(got, exp, len))
		return -1;
	for (i = 0; i < len && got[i] == exp[i]; i++)
		;
	for (k = 0; k < n && pos + s[k].len <= i; k++)
		pos += s[k].len;
	if (k < n && s[k].type == ZCDEV_SEG_FILE) {
		zc_verify_buf(got + pos, exp + pos,
			      s[k].len < len - pos ? s[k].len : len - pos,
			      s[k].offset);
		zc_seterr(false, "stream byte %" PRIu64 " (segment %u, file "
			  "offset %" PRIu64 "): %s", i, k,
			  (uint64_t)s[k].offset + (i - pos),
			  zc_errmsg());
	} else {
		zc_seterr(false, "stream byte %" PRIu64 " (segment %u, memory "
			  "byte %" PRIu64 "): expected 0x%02x, got 0x%02x", i,
			  k, i - pos, exp[i], got[i]);
	}
	return (int64_t)i;
}

/* ---- the environment ----------------------------------------------------- */

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

/* big buffers: everything sent sits in the receiver's queue unread */
static const struct zc_pair_opts big_bufs = {
	.rcvbuf = 16 * MiB, .sndbuf = 16 * MiB,
};

/* the in fields of the last do_sendv() of this thread */
static __thread struct zcdev_sendv last_in;

/* one sendv over @segs (out fields poisoned first) */
static int do_sendv(int dev, int sock, const struct zcdev_seg *segs,
		    unsigned int n, uint32_t flags, struct zcdev_sendv *r)
{
	struct zcdev_sendv in = {
		.segs = (uint64_t)(uintptr_t)segs, .nr_segs = n,
		.sock_fd = sock, .flags = flags,
	};

	last_in = in;
	*r = in;
	return zct_sendv(dev, r);
}

/* ===================================================================== */
/* deliver: per network and filesystem                                   */
/* ===================================================================== */

/*
 * What a network does to file bytes: by reference (zc), or copied with a
 * reason in why_need and none outside why_allowed.  Memory bytes are
 * always copied with ZCDEV_WHY_MEMORY.
 */
struct expect {
	bool file_zc;
	uint32_t why_need;
	uint32_t why_allowed;
};

FIXTURE(deliver) {
	int dev;
	int fd;		/* O_RDWR payload file */
	int fd_ro;
	char path[PATH_MAX];
	uint64_t size;
	uint8_t *pool;	/* memory segments point into it */
	size_t pool_len;
	struct zc_pair p;
	struct zc_rx rx;
	char defer_max[32];
};

FIXTURE_VARIANT(deliver) {
	enum zc_fam fam;
	enum zc_net net;
	bool ext4;
	bool cold;
	struct expect exp;
};

#define ZC_EXP	{ .file_zc = true }
#define NOSG_EXP { .why_need = DEV_WHY, .why_allowed = DEV_WHY }

FIXTURE_VARIANT_ADD(deliver, tcp4_tmpfs) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, tcp4_ext4) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ext4 = true, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, tcp4_ext4_cold) {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ext4 = true, .cold = true,
	.exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, tcp6_tmpfs) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, tcp6_ext4) {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .ext4 = true, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, unix_tmpfs) {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, unix_ext4) {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .ext4 = true, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, veth4_tmpfs) {
	.fam = ZC_TCP4, .net = ZC_NET_VETH, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, veth6_ext4) {
	.fam = ZC_TCP6, .net = ZC_NET_VETH, .ext4 = true, .exp = ZC_EXP };
FIXTURE_VARIANT_ADD(deliver, nosg4_tmpfs) {
	.fam = ZC_TCP4, .net = ZC_NET_NOSG, .exp = NOSG_EXP };
FIXTURE_VARIANT_ADD(deliver, nosg6_ext4) {
	.fam = ZC_TCP6, .net = ZC_NET_NOSG, .ext4 = true, .exp = NOSG_EXP };

/* 3 MiB + 5003: unaligned EOF */
#define DSIZE (3 * MiB + 5003)
#define POOL_LEN (1 * MiB + 77)

FIXTURE_SETUP(deliver)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();

	self->fd = self->fd_ro = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->defer_max[0] = 0;
	self->pool = NULL;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(dir, variant->ext4 ? ZC_EXT4_MAGIC : ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	if (zc_net_available(variant->net))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = DSIZE;
	self->fd = zc_make_payload_file(dir, self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->fd_ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->fd_ro);
	self->pool_len = POOL_LEN;
	self->pool = malloc(self->pool_len);
	ASSERT_NE(NULL, self->pool);
	mem_fill(self->pool, self->pool_len);
	/* last: a setup that fails has no teardown to restore it */
	if (variant->cold)
		zc_cold_prepare(self->defer_max, sizeof(self->defer_max));
}

FIXTURE_TEARDOWN(deliver)
{
	if (self->p.snd >= 0)
		shutdown(self->p.snd, SHUT_RDWR);
	if (self->p.rcv >= 0)
		shutdown(self->p.rcv, SHUT_RDWR);
	zc_rx_free(&self->rx);
	zc_pair_close(&self->p);
	if (self->fd_ro >= 0)
		close(self->fd_ro);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->pool);
	zc_cold_restore(self->defer_max);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * The report of a complete send of @segs on this network: sent == sum,
 * memory bytes copied (MEMORY), file bytes as the network does them.
 */
static void expect_report(struct __test_metadata *_metadata,
			  const struct expect *e, const struct zcdev_seg *segs,
			  unsigned int n, const struct zcdev_sendv *r)
{
	uint64_t mem, file;
	char w[128];

	segs_split(segs, n, &mem, &file);
	ASSERT_EQ(mem + file, r->sent) TH_LOG("%s", zc_sendv_report_str(r));
	ASSERT_EQ(n, r->seg_index) TH_LOG("%s", zc_sendv_report_str(r));
	ASSERT_EQ(0ULL, r->seg_sent) TH_LOG("%s", zc_sendv_report_str(r));
	ASSERT_EQ(0U, r->status) TH_LOG("%s", zc_sendv_report_str(r));
	if (e->file_zc) {
		EXPECT_EQ(file, r->zc_bytes) TH_LOG("%s", zc_sendv_report_str(r));
		EXPECT_EQ(mem, r->copied_bytes) TH_LOG("%s", zc_sendv_report_str(r));
		EXPECT_EQ(mem ? (uint32_t)ZCDEV_WHY_MEMORY : 0U, r->why)
			TH_LOG("why=%s", zct_why_str(r->why, w, sizeof(w)));
	} else {
		EXPECT_EQ(0ULL, r->zc_bytes) TH_LOG("%s", zc_sendv_report_str(r));
		EXPECT_EQ(mem + file, r->copied_bytes)
			TH_LOG("%s", zc_sendv_report_str(r));
		if (mem) {
			EXPECT_NE(0U, r->why & ZCDEV_WHY_MEMORY)
				TH_LOG("why=%s", zct_why_str(r->why, w, sizeof(w)));
		}
		if (file) {
			EXPECT_NE(0U, r->why & e->why_need)
				TH_LOG("why=%s", zct_why_str(r->why, w, sizeof(w)));
		}
		EXPECT_EQ(0U, r->why & ~(e->why_allowed | ZCDEV_WHY_MEMORY))
			TH_LOG("why=%s", zct_why_str(r->why, w, sizeof(w)));
	}
	if (!r->sent) {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_NONE, r->path);
	} else if (r->zc_bytes == r->sent) {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r->path);
	} else if (r->copied_bytes == r->sent) {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_COPY, r->path);
	} else {
		EXPECT_EQ((uint32_t)ZCDEV_PATH_MIXED, r->path);
	}
}

/* a random segment list: memory from the pool, file ranges of the file */
static unsigned int random_segs(struct zc_rng *rng, struct zcdev_seg *s,
				unsigned int min, unsigned int max, int fd,
				uint64_t fsize, const uint8_t *pool,
				size_t pool_len, uint64_t budget)
{
	unsigned int n = zc_rng_range(rng, min, max), i;

	for (i = 0; i < n; i++) {
		uint64_t k = zc_rng_range(rng, 0, 99), len, off;
		uint64_t cap = budget / n;

		if (k < 8)
			len = 0;
		else if (k < 35)
			len = zc_rng_range(rng, 1, 64);
		else if (k < 75)
			len = zc_rng_range(rng, 1, 16 * KiB);
		else
			len = zc_rng_range(rng, 1, cap > 1 ? cap : 1);
		if (zc_rng_range(rng, 0, 1)) {
			if (len > pool_len)
				len = pool_len;
			off = zc_rng_range(rng, 0, pool_len - len);
			s[i] = zct_seg_mem(pool + off, len);
		} else {
			if (len > fsize)
				len = fsize;
			off = zc_rng_range(rng, 0, fsize - len);
			if (zc_rng_range(rng, 0, 3) == 0)	/* page aligned */
				off &= ~(PG - 1);
			s[i] = zct_seg_file(fd, off, len);
		}
	}
	return n;
}

TEST_F_TIMEOUT(deliver, byte_exact, 120)
{
	char name[96];
	uint64_t seed;
	struct zc_rng rng;
	struct zcdev_seg segs[3][48];
	unsigned int nsegs[3], c;
	uint64_t total = 0, pos = 0;
	uint8_t *exp;

	snprintf(name, sizeof(name), "sendv.byte_exact.%d.%d.%d.%d",
		 variant->fam, variant->net, variant->ext4, variant->cold);
	seed = zc_seed_for(zc_base_seed(), name);
	rng.s = seed;
	TH_LOG("seed %" PRIu64 " (base ZC_SEED=%" PRIu64 ")", seed,
	       zc_base_seed());
	if (setup_pair(_metadata, &self->p, variant->fam, variant->net, false,
		       NULL))
		return;
	/* an HTTP-like response: header, body, trailer */
	segs[0][0] = zct_seg_mem(self->pool + 3, 211);
	segs[0][1] = zct_seg_file(self->fd_ro, 4097, 300 * KiB + 5);
	segs[0][2] = zct_seg_mem(self->pool + 1000, 2);
	segs[0][3] = zct_seg_file(self->fd_ro, self->size - 777, 777);
	nsegs[0] = 4;
	nsegs[1] = random_segs(&rng, segs[1], 1, 48, self->fd_ro, self->size,
			       self->pool, self->pool_len, 1200 * KiB);
	nsegs[2] = random_segs(&rng, segs[2], 1, 48, self->fd_ro, self->size,
			       self->pool, self->pool_len, 600 * KiB);
	for (c = 0; c < 3; c++)
		total += segs_total(segs[c], nsegs[c]);
	exp = malloc(total);
	ASSERT_NE(NULL, exp);
	for (c = 0; c < 3; c++) {
		expect_fill(segs[c], nsegs[c], exp + pos);
		pos += segs_total(segs[c], nsegs[c]);
	}
	ASSERT_EQ(0, zc_rx_start(&self->rx, self->p.rcv, total + 64 * KiB,
				 IDLE_MS)) TH_LOG("%s", zc_errmsg());
	for (c = 0; c < 3; c++) {
		struct zcdev_sendv r;

		if (variant->cold) {
			ASSERT_EQ(0, zc_make_cold(self->fd))
				TH_LOG("file not cold: %s", zc_errmsg());
		}
		ASSERT_EQ(0, do_sendv(self->dev, self->p.snd, segs[c], nsegs[c],
				      0, &r))
			TH_LOG("list %u: errno %d (%s)", c, errno, strerror(errno));
		ASSERT_EQ(0, zc_sendv_report_check(&last_in, &r, segs[c],
						   segs_total(segs[c], nsegs[c])))
			TH_LOG("list %u: %s", c, zc_errmsg());
		expect_report(_metadata, &variant->exp, segs[c], nsegs[c], &r);
		TH_LOG("list %u: %u segments: %s", c, nsegs[c],
		       zc_sendv_report_str(&r));
	}
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&self->rx)) TH_LOG("%s", zc_errmsg());
	ASSERT_TRUE(self->rx.eof);
	ASSERT_EQ(0ULL, self->rx.extra) TH_LOG("bytes past the expected stream");
	ASSERT_EQ(total, (uint64_t)self->rx.len);
	for (c = 0, pos = 0; c < 3; c++) {
		uint64_t t = segs_total(segs[c], nsegs[c]);

		ASSERT_EQ(-1, stream_check(self->rx.buf + pos, exp + pos,
					   segs[c], nsegs[c], t))
			TH_LOG("list %u: %s", c, zc_errmsg());
		pos += t;
	}
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("file changed: %s", zc_errmsg());
	free(exp);
}

/* memory only, file only, mixed: the path follows what was copied */
TEST_F_TIMEOUT(deliver, paths, 60)
{
	struct zcdev_seg mem[3] = {
		zct_seg_mem(self->pool, 100),
		zct_seg_mem(self->pool + 5000, 70 * KiB),
		zct_seg_mem(self->pool + 333, 1),
	};
	struct zcdev_seg file[2] = {
		zct_seg_file(self->fd_ro, 0, 64 * KiB),
		zct_seg_file(self->fd_ro, 1 * MiB + 1, 100 * KiB),
	};
	struct zcdev_seg mixed[3] = {
		zct_seg_mem(self->pool + 8, 512),
		zct_seg_file(self->fd_ro, 7, 128 * KiB),
		zct_seg_mem(self->pool + 64, 64),
	};
	const struct { struct zcdev_seg *s; unsigned int n; uint32_t path; } c[] = {
		{ mem, 3, ZCDEV_PATH_COPY },
		{ file, 2, variant->exp.file_zc ? ZCDEV_PATH_ZEROCOPY : ZCDEV_PATH_COPY },
		{ mixed, 3, variant->exp.file_zc ? ZCDEV_PATH_MIXED : ZCDEV_PATH_COPY },
	};
	uint64_t total = 0, pos = 0;
	uint8_t *exp;
	unsigned int i;

	if (setup_pair(_metadata, &self->p, variant->fam, variant->net, false,
		       NULL))
		return;
	for (i = 0; i < ARRAY_SIZE(c); i++)
		total += segs_total(c[i].s, c[i].n);
	exp = malloc(total);
	ASSERT_NE(NULL, exp);
	ASSERT_EQ(0, zc_rx_start(&self->rx, self->p.rcv, total + 64 * KiB,
				 IDLE_MS)) TH_LOG("%s", zc_errmsg());
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct zcdev_sendv r;

		expect_fill(c[i].s, c[i].n, exp + pos);
		pos += segs_total(c[i].s, c[i].n);
		ASSERT_EQ(0, do_sendv(self->dev, self->p.snd, c[i].s, c[i].n, 0,
				      &r)) TH_LOG("case %u: errno %d", i, errno);
		ASSERT_EQ(0, zc_sendv_report_check(&last_in, &r, c[i].s,
						   segs_total(c[i].s, c[i].n)))
			TH_LOG("case %u: %s", i, zc_errmsg());
		expect_report(_metadata, &variant->exp, c[i].s, c[i].n, &r);
		ASSERT_EQ(c[i].path, r.path) TH_LOG("case %u: %s", i,
						    zc_sendv_report_str(&r));
	}
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&self->rx)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(total, (uint64_t)self->rx.len);
	ASSERT_EQ(0, memcmp(self->rx.buf, exp, total)) TH_LOG("stream differs");
	free(exp);
}

/*
 * The truth oracle: the receiver does not read until the sender's queue
 * is empty (everything is in the receiver's queue), then the file ranges
 * are flipped in the page cache and the memory buffers overwritten.
 * Bytes that went by reference read flipped; copied bytes read as they
 * were.  Memory bytes must never change (they are copied), and the
 * flipped count must be what the report calls zc_bytes.
 */
TEST_F_TIMEOUT(deliver, truth, 60)
{
	uint8_t *mem = malloc(3 * PG + 9000);
	struct zcdev_seg segs[7];
	uint64_t flipped = 0, same = 0, total, mem_bytes, file_bytes;
	struct zcdev_sendv r;
	uint8_t *exp, *got;
	uint64_t pos;
	unsigned int i;

	ASSERT_NE(NULL, mem);
	mem_fill(mem, 3 * PG + 9000);
	if (setup_pair(_metadata, &self->p, variant->fam, variant->net, false,
		       &big_bufs))
		return;
	if (variant->cold) {
		ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	}
	/* file ranges do not overlap: each is flipped exactly once */
	segs[0] = zct_seg_mem(mem + 1, 333);
	segs[1] = zct_seg_file(self->fd_ro, 5000, 200 * KiB + 7);
	segs[2] = zct_seg_mem(mem + 400, 1);
	segs[3] = zct_seg_file(self->fd_ro, 300 * KiB + 3, 100 * KiB);
	segs[4] = zct_seg_mem(mem + PG, PG);	/* a whole aligned page */
	segs[5] = zct_seg_file(self->fd_ro, self->size - 9999, 9999);
	segs[6] = zct_seg_mem(mem + 2 * PG + 100, 9000);
	total = segs_total(segs, 7);
	segs_split(segs, 7, &mem_bytes, &file_bytes);
	exp = malloc(total);
	got = malloc(total);
	ASSERT_NE(NULL, exp);
	ASSERT_NE(NULL, got);
	expect_fill(segs, 7, exp);

	ASSERT_EQ(0, do_sendv(self->dev, self->p.snd, segs, 7, 0, &r))
		TH_LOG("errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ(0, zc_sendv_report_check(&last_in, &r, segs, total))
		TH_LOG("%s", zc_errmsg());
	expect_report(_metadata, &variant->exp, segs, 7, &r);
	if (variant->fam != ZC_UNIX) {
		ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, zc_wait_inq(self->p.rcv, total, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
	}
	for (i = 0; i < 7; i++) {
		if (segs[i].type == ZCDEV_SEG_FILE) {
			ASSERT_EQ(0, zc_flip_range(self->fd, segs[i].offset,
						   segs[i].len))
				TH_LOG("%s", zc_errmsg());
		} else {
			uint8_t *p = (uint8_t *)(uintptr_t)segs[i].addr;

			for (uint64_t j = 0; j < segs[i].len; j++)
				p[j] ^= 0xff;
		}
	}
	ASSERT_EQ((ssize_t)total, zc_recv_exact(self->p.rcv, got, total, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	for (i = 0; i < 7; i++) {
		if (segs[i].type == ZCDEV_SEG_FILE) {
			ASSERT_EQ(0, zc_flip_range(self->fd, segs[i].offset,
						   segs[i].len));
		}
	}
	for (i = 0, pos = 0; i < 7; pos += segs[i].len, i++) {
		uint64_t f = 0, s = 0;

		ASSERT_EQ(-1, zc_classify_buf(got + pos, exp + pos, segs[i].len,
					      pos, &f, &s))
			TH_LOG("segment %u: %s", i, zc_errmsg());
		if (segs[i].type == ZCDEV_SEG_MEM) {
			ASSERT_EQ(0ULL, f) TH_LOG("segment %u (memory): %" PRIu64
						  " bytes changed after the call: "
						  "memory was not copied", i, f);
		}
		flipped += f;
		same += s;
	}
	TH_LOG("%s: reported zc=%" PRIu64 " copied=%" PRIu64
	       "; receiver saw flipped=%" PRIu64 " original=%" PRIu64,
	       zc_net_name(variant->net), (uint64_t)r.zc_bytes,
	       (uint64_t)r.copied_bytes, flipped, same);
	ASSERT_EQ(flipped, r.zc_bytes) TH_LOG("zc_bytes is not what went by reference");
	ASSERT_EQ(same, r.copied_bytes) TH_LOG("copied_bytes is not what was copied");
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size))
		TH_LOG("file not restored: %s", zc_errmsg());
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_expect_eof(self->p.rcv, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	free(exp);
	free(got);
	free(mem);
}

/* a reader that takes its time: 4 KiB, then a pause */
struct slow_rx {
	int fd;
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
	pthread_t th;
};

static void *slow_rx_fn(void *arg)
{
	struct slow_rx *s = arg;

	for (;;) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, IDLE_MS) <= 0) {
			s->err = ETIMEDOUT;
			return NULL;
		}
		n = recv(s->fd, s->buf + s->len,
			 s->cap - s->len < 4096 ? s->cap - s->len : 4096,
			 MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			s->err = errno;
			return NULL;
		}
		if (n == 0)
			return NULL;
		s->len += n;
		if (s->len == s->cap) {	/* more than expected: an error */
			char c;

			if (recv(s->fd, &c, 1, 0) != 0)
				s->err = EMSGSIZE;
			return NULL;
		}
		zc_sleep_ms(1);
	}
}

/*
 * Non-blocking sends into small buffers drained slowly: calls stop in the
 * middle of segments; each call resumes at seg_index advanced by seg_sent,
 * and the receiver gets the exact concatenation.
 */
TEST_F_TIMEOUT(deliver, nonblock_resume, 120)
{
	static const struct zc_pair_opts small = {
		.rcvbuf = 16 * KiB, .sndbuf = 16 * KiB, .sndtimeo_ms = 3000,
	};
	uint64_t seed = zc_seed_for(zc_base_seed(), "sendv.nonblock");
	struct zc_rng rng = { seed };
	struct zcdev_seg segs[64], sub[64];
	unsigned int n, idx = 0;
	uint64_t off = 0, total, done = 0, calls = 0, partial = 0, mid = 0,
		 eagain = 0, deadline;
	struct slow_rx rx = { 0 };
	uint8_t *exp;

	TH_LOG("seed %" PRIu64, seed);
	if (setup_pair(_metadata, &self->p, variant->fam, variant->net, false,
		       &small))
		return;
	n = random_segs(&rng, segs, 3, 64, self->fd_ro, self->size,
			self->pool, self->pool_len, 768 * KiB);
	/* at least one big segment of each kind, so calls stop inside them */
	segs[0] = zct_seg_file(self->fd_ro, 12345, 200 * KiB);
	segs[n / 2] = zct_seg_mem(self->pool + 11, 100 * KiB);
	total = segs_total(segs, n);
	exp = malloc(total);
	ASSERT_NE(NULL, exp);
	expect_fill(segs, n, exp);
	rx.fd = self->p.rcv;
	rx.cap = total + 1;
	rx.buf = malloc(rx.cap);
	ASSERT_NE(NULL, rx.buf);
	ASSERT_EQ(0, pthread_create(&rx.th, NULL, slow_rx_fn, &rx));

	deadline = zc_now_ms() + 90000;
	while (idx < n) {
		struct zcdev_sendv r;
		unsigned int m = n - idx;
		int ret;

		ASSERT_GT(deadline, zc_now_ms()) TH_LOG("too slow: %" PRIu64
			" of %" PRIu64 " bytes", done, total);
		memcpy(sub, segs + idx, m * sizeof(*sub));
		if (sub[0].type == ZCDEV_SEG_MEM)
			sub[0].addr += off;
		else
			sub[0].offset += off;
		sub[0].len -= off;
		ret = do_sendv(self->dev, self->p.snd, sub, m,
			       ZCDEV_SEND_NONBLOCK, &r);
		calls++;
		if (ret) {
			struct pollfd pfd = { .fd = self->p.snd, .events = POLLOUT };

			ASSERT_EQ(EAGAIN, errno) TH_LOG("errno %d (%s)", errno,
							strerror(errno));
			eagain++;
			poll(&pfd, 1, 1000);
			continue;
		}
		ASSERT_EQ(0, zc_sendv_report_check(&last_in, &r, sub,
						   segs_total(sub, m)))
			TH_LOG("call %" PRIu64 ": %s", calls, zc_errmsg());
		ASSERT_LT(0ULL, r.sent) TH_LOG("0 bytes without EAGAIN: %s",
					       zc_sendv_report_str(&r));
		if (r.seg_index < m) {
			partial++;
			if (r.seg_sent)
				mid++;
		}
		/* memory bytes are copied: MEMORY is the only reason on lo */
		if (variant->exp.file_zc) {
			ASSERT_EQ(0U, r.why & ~ZCDEV_WHY_MEMORY)
				TH_LOG("%s", zc_sendv_report_str(&r));
		}
		done += r.sent;
		off = (r.seg_index == 0 ? off : 0) + r.seg_sent;
		idx += r.seg_index;
	}
	shutdown(self->p.snd, SHUT_WR);
	pthread_join(rx.th, NULL);
	TH_LOG("%" PRIu64 " calls: %" PRIu64 " partial (%" PRIu64
	       " inside a segment), %" PRIu64 " EAGAIN", calls, partial, mid,
	       eagain);
	ASSERT_EQ(0, rx.err) TH_LOG("receiver: %s", strerror(rx.err));
	ASSERT_EQ(total, done);
	ASSERT_EQ(total, (uint64_t)rx.len);
	ASSERT_EQ(-1, stream_check(rx.buf, exp, segs, n, total))
		TH_LOG("%s", zc_errmsg());
	ASSERT_LT(0ULL, partial) TH_LOG("never a partial send");
	ASSERT_LT(0ULL, mid) TH_LOG("never stopped inside a segment");
	free(rx.buf);
	free(exp);
}

/* ===================================================================== */
/* sv: semantics on tcp4 loopback                                        */
/* ===================================================================== */

FIXTURE(sv) {
	int dev;
	int fd;
	int fd_ro;
	char path[PATH_MAX];
	uint64_t size;
	uint8_t *pool;
	size_t pool_len;
	uint8_t *buf;
	struct zc_pair p;
};

#define SSIZE (256 * KiB + 100)

FIXTURE_SETUP(sv)
{
	self->fd = self->fd_ro = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->pool = NULL;
	self->buf = NULL;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = SSIZE;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->fd_ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->fd_ro);
	self->pool_len = 256 * KiB;
	self->pool = malloc(self->pool_len);
	ASSERT_NE(NULL, self->pool);
	mem_fill(self->pool, self->pool_len);
	self->buf = malloc(2 * MiB);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(sv)
{
	zc_pair_close(&self->p);
	if (self->fd_ro >= 0)
		close(self->fd_ro);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->pool);
	free(self->buf);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

#define ASSERT_NOTHING_SENT() \
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS)) \
		TH_LOG("%s", zc_errmsg())

/* receive exactly what @segs[0..n) stand for (first @len bytes of it) */
static void recv_expect(struct __test_metadata *_metadata, int rcv,
			uint8_t *buf, const struct zcdev_seg *segs,
			unsigned int n, uint64_t len)
{
	uint64_t total = segs_total(segs, n);
	uint8_t *exp = malloc(total ? total : 1);

	ASSERT_NE(NULL, exp);
	expect_fill(segs, n, exp);
	ASSERT_EQ((ssize_t)len, zc_recv_exact(rcv, buf, len, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, stream_check(buf, exp, segs, n, len)) TH_LOG("%s", zc_errmsg());
	free(exp);
}

/* one sendv that must succeed and pass the consistency check */
#define SENDV_OK(segs, n, flags, r) do {				\
	ASSERT_EQ(0, do_sendv(self->dev, self->p.snd, (segs), (n),	\
			      (flags), (r)))				\
		TH_LOG("errno %d (%s)", errno, strerror(errno));	\
	ASSERT_EQ(0, zc_sendv_report_check(&last_in, (r), (segs),	\
					   segs_total((segs), (n))))	\
		TH_LOG("%s", zc_errmsg());				\
} while (0)

TEST_F(sv, struct_layout)
{
	ASSERT_EQ(80U, sizeof(struct zcdev_sendv));
	ASSERT_EQ((unsigned)ZCDEV_SENDV_SIZE_VER0, sizeof(struct zcdev_sendv));
	ASSERT_EQ(0U, offsetof(struct zcdev_sendv, segs));
	ASSERT_EQ(8U, offsetof(struct zcdev_sendv, nr_segs));
	ASSERT_EQ(12U, offsetof(struct zcdev_sendv, sock_fd));
	ASSERT_EQ(16U, offsetof(struct zcdev_sendv, flags));
	ASSERT_EQ(20U, offsetof(struct zcdev_sendv, path));
	ASSERT_EQ(24U, offsetof(struct zcdev_sendv, why));
	ASSERT_EQ(28U, offsetof(struct zcdev_sendv, status));
	ASSERT_EQ(32U, offsetof(struct zcdev_sendv, sent));
	ASSERT_EQ(40U, offsetof(struct zcdev_sendv, zc_bytes));
	ASSERT_EQ(48U, offsetof(struct zcdev_sendv, copied_bytes));
	ASSERT_EQ(56U, offsetof(struct zcdev_sendv, seg_index));
	ASSERT_EQ(60U, offsetof(struct zcdev_sendv, reserved));
	ASSERT_EQ(64U, offsetof(struct zcdev_sendv, seg_sent));
	ASSERT_EQ(72U, offsetof(struct zcdev_sendv, notify_id));
	ASSERT_EQ(32U, sizeof(struct zcdev_seg));
	ASSERT_EQ(0U, offsetof(struct zcdev_seg, type));
	ASSERT_EQ(4U, offsetof(struct zcdev_seg, file_fd));
	ASSERT_EQ(8U, offsetof(struct zcdev_seg, offset));
	ASSERT_EQ(16U, offsetof(struct zcdev_seg, addr));
	ASSERT_EQ(24U, offsetof(struct zcdev_seg, len));
	ASSERT_EQ((unsigned long)ZCDEV_IOC_SENDV,
		  (unsigned long)ZC_IOC_SENDV_SIZED(80));
}

/* struct sizes: smaller -EINVAL; larger with a zero tail works (and
 * nothing past it is written); a non-zero tail -E2BIG */
TEST_F(sv, struct_sizes)
{
	struct zcdev_seg segs[2] = {
		zct_seg_mem(self->pool, 100),
		zct_seg_file(self->fd_ro, 0, 1000),
	};
	const struct { unsigned int size; int at; int err; } c[] = {
		{ 0, -1, EINVAL }, { 8, -1, EINVAL }, { 64, -1, EINVAL },
		{ 79, -1, EINVAL },
		{ 88, -1, 0 }, { 128, -1, 0 }, { 4096, -1, 0 },
		{ 88, 80, E2BIG }, { 128, 127, E2BIG }, { 4096, 2000, E2BIG },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		unsigned int sz = c[i].size;
		uint8_t *b = calloc(1, sz + 64 + sizeof(struct zcdev_sendv));
		struct zcdev_sendv a = {
			.segs = (uint64_t)(uintptr_t)segs, .nr_segs = 2,
			.sock_fd = self->p.snd,
		}, in = a, r;
		int ret;

		ASSERT_NE(NULL, b);
		zc_poison_sendv_out(&a);
		memcpy(b, &a, sizeof(a));
		if (c[i].at >= 0)
			b[c[i].at] = 1;
		memset(b + sz, 0xa5, 64);
		ret = ioctl(self->dev, ZC_IOC_SENDV_SIZED(sz), b);
		for (unsigned int j = sz; j < sz + 64; j++) {
			ASSERT_EQ(0xa5, b[j]) TH_LOG("size %u: byte %u after the "
						     "struct written", sz, j);
		}
		if (c[i].err) {
			EXPECT_EQ(-1, ret) TH_LOG("size %u accepted", sz);
			if (ret == -1) {
				EXPECT_EQ(c[i].err, errno) TH_LOG("size %u: errno %d (%s)",
								  sz, errno, strerror(errno));
			}
			free(b);
			ASSERT_NOTHING_SENT();
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("size %u: errno %d (%s)", sz, errno,
					 strerror(errno));
		memcpy(&r, b, sizeof(r));
		ASSERT_EQ(0, zc_sendv_report_check(&in, &r, segs, 1100))
			TH_LOG("size %u: %s", sz, zc_errmsg());
		ASSERT_EQ(1100ULL, r.sent);
		for (unsigned int j = sizeof(r); j < sz; j++) {
			ASSERT_EQ(0, b[j]) TH_LOG("size %u: tail byte %u written", sz, j);
		}
		recv_expect(_metadata, self->p.rcv, self->buf, segs, 2, 1100);
		free(b);
	}
	ASSERT_NOTHING_SENT();
}

/*
 * A file segment that ends early stops the call there with
 * ZCDEV_STATUS_EOF: what follows it is not sent.
 */
TEST_F(sv, eof_in_file_segment)
{
	uint64_t sz = self->size;
	struct zcdev_seg a[3] = {
		zct_seg_mem(self->pool, 1000),
		zct_seg_file(self->fd_ro, sz - 100, 500),	/* 100 left */
		zct_seg_mem(self->pool + 5000, 200),
	};
	struct zcdev_seg b[3] = {
		zct_seg_mem(self->pool + 8, 50),
		zct_seg_file(self->fd_ro, sz + 10, 100),		/* past EOF */
		zct_seg_mem(self->pool + 5000, 200),
	};
	struct zcdev_seg c[2] = {
		zct_seg_file(self->fd_ro, sz, 10),		/* at EOF, first */
		zct_seg_mem(self->pool, 20),
	};
	struct zcdev_seg d[3] = {
		zct_seg_file(self->fd_ro, sz - 100, 100),	/* exactly to EOF */
		zct_seg_file(self->fd_ro, (uint64_t)LLONG_MAX, 0),	/* empty */
		zct_seg_mem(self->pool, 30),
	};
	struct zcdev_seg e[2] = {
		zct_seg_mem(self->pool, 30),
		zct_seg_file(self->fd_ro, (uint64_t)LLONG_MAX, 1), /* legal, EOF */
	};
	struct zcdev_sendv r;

	SENDV_OK(a, 3, 0, &r);
	ASSERT_EQ(1100ULL, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(1U, r.seg_index);
	ASSERT_EQ(100ULL, r.seg_sent);
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_EOF, r.status) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(100ULL, r.zc_bytes);
	ASSERT_EQ(1000ULL, r.copied_bytes);
	ASSERT_EQ((uint32_t)ZCDEV_WHY_MEMORY, r.why);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_MIXED, r.path);
	recv_expect(_metadata, self->p.rcv, self->buf, a, 3, 1100);
	ASSERT_NOTHING_SENT();

	SENDV_OK(b, 3, 0, &r);
	ASSERT_EQ(50ULL, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(1U, r.seg_index);
	ASSERT_EQ(0ULL, r.seg_sent);
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_EOF, r.status) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_COPY, r.path);
	recv_expect(_metadata, self->p.rcv, self->buf, b, 3, 50);
	ASSERT_NOTHING_SENT();

	/* nothing to send at all: 0, sent 0, path NONE, EOF at segment 0 */
	SENDV_OK(c, 2, 0, &r);
	ASSERT_EQ(0ULL, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(0U, r.seg_index);
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_EOF, r.status) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	ASSERT_EQ(0U, r.why);
	ASSERT_NOTHING_SENT();

	/* ending exactly at EOF is not early; an empty segment never is */
	SENDV_OK(d, 3, 0, &r);
	ASSERT_EQ(130ULL, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(3U, r.seg_index);
	ASSERT_EQ(0U, r.status) TH_LOG("%s", zc_sendv_report_str(&r));
	recv_expect(_metadata, self->p.rcv, self->buf, d, 3, 130);

	SENDV_OK(e, 2, 0, &r);
	ASSERT_EQ(30ULL, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(1U, r.seg_index);
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_EOF, r.status);
	recv_expect(_metadata, self->p.rcv, self->buf, e, 2, 30);
	ASSERT_NOTHING_SENT();
}

/* zero-length segments are skipped, wherever they are and whatever they
 * point at */
TEST_F(sv, zero_length_segments)
{
	struct zcdev_seg a[7] = {
		zct_seg_mem(NULL, 0),
		zct_seg_mem(self->pool, 10),
		zct_seg_file(self->fd_ro, 0, 0),
		zct_seg_file(self->fd_ro, self->size + 100, 0),	/* past EOF */
		zct_seg_file(self->fd_ro, 20, 30),
		zct_seg_mem(self->pool + 99, 0),
		zct_seg_mem(NULL, 0),
	};
	struct zcdev_seg z[3] = {
		zct_seg_mem(NULL, 0),
		zct_seg_file(self->fd_ro, 0, 0),
		zct_seg_mem(self->pool, 0),
	};
	struct zcdev_sendv r;

	SENDV_OK(a, 7, 0, &r);
	ASSERT_EQ(40ULL, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(7U, r.seg_index) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(0ULL, r.seg_sent);
	ASSERT_EQ(0U, r.status) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(30ULL, r.zc_bytes);
	ASSERT_EQ(10ULL, r.copied_bytes);
	recv_expect(_metadata, self->p.rcv, self->buf, a, 7, 40);

	SENDV_OK(z, 3, 0, &r);
	ASSERT_EQ(0ULL, r.sent);
	ASSERT_EQ(3U, r.seg_index) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	ASSERT_EQ(0U, r.status);
	ASSERT_NOTHING_SENT();
}

/* 1 and ZCDEV_SENDV_MAX_SEGS segments work; 0 and MAX + 1 are -EINVAL */
TEST_F_TIMEOUT(sv, segment_count, 60)
{
	unsigned int max = ZCDEV_SENDV_MAX_SEGS, i;
	struct zcdev_seg *segs = calloc(max + 2, sizeof(*segs));
	struct zc_rng rng = { zc_seed_for(zc_base_seed(), "sendv.count") };
	struct zcdev_sendv r;
	uint64_t total, mem, file;
	struct zc_rx rx;
	uint8_t *exp;
	const uint32_t bad_n[] = { 0, ZCDEV_SENDV_MAX_SEGS + 1, 1U << 20,
				   UINT32_MAX };

	ASSERT_NE(NULL, segs);
	ASSERT_EQ(1024, ZCDEV_SENDV_MAX_SEGS);
	segs[0] = zct_seg_file(self->fd_ro, 3, 5000);
	SENDV_OK(segs, 1, 0, &r);
	ASSERT_EQ(5000ULL, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path);
	recv_expect(_metadata, self->p.rcv, self->buf, segs, 1, 5000);
	segs[0] = zct_seg_mem(self->pool + 1, 5000);
	SENDV_OK(segs, 1, 0, &r);
	ASSERT_EQ(5000ULL, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_COPY, r.path);
	recv_expect(_metadata, self->p.rcv, self->buf, segs, 1, 5000);

	/* MAX: alternating memory and file pieces of 1..700 bytes */
	for (i = 0; i < max + 1; i++) {
		uint64_t len = zc_rng_range(&rng, 1, 700);

		if (i & 1)
			segs[i] = zct_seg_file(self->fd_ro,
					      zc_rng_range(&rng, 0, self->size - len), len);
		else
			segs[i] = zct_seg_mem(self->pool +
					     zc_rng_range(&rng, 0, self->pool_len - len), len);
	}
	total = segs_total(segs, max);
	segs_split(segs, max, &mem, &file);
	exp = malloc(total);
	ASSERT_NE(NULL, exp);
	expect_fill(segs, max, exp);
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, total + 1, IDLE_MS));
	SENDV_OK(segs, max, 0, &r);
	ASSERT_EQ(total, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ(max, r.seg_index);
	ASSERT_EQ(file, r.zc_bytes);
	ASSERT_EQ(mem, r.copied_bytes);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_MIXED, r.path);
	ASSERT_EQ((uint32_t)ZCDEV_WHY_MEMORY, r.why);
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(total, (uint64_t)rx.len);
	ASSERT_EQ(-1, stream_check(rx.buf, exp, segs, max, total))
		TH_LOG("%s", zc_errmsg());
	zc_rx_free(&rx);
	free(exp);

	/* a fresh connection for the refusals */
	zc_pair_close(&self->p);
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &big_bufs));
	for (i = 0; i < ARRAY_SIZE(bad_n); i++) {
		int ret = do_sendv(self->dev, self->p.snd, segs, bad_n[i], 0, &r);

		EXPECT_EQ(-1, ret) TH_LOG("nr_segs %u accepted", bad_n[i]);
		if (ret == -1) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("nr_segs %u: errno %d (%s)",
							bad_n[i], errno,
							strerror(errno));
		}
	}
	ASSERT_NOTHING_SENT();
	free(segs);
}

/* unknown flags, non-zero reserved: -EINVAL, nothing sent */
TEST_F(sv, einval_flags_reserved)
{
	struct zcdev_seg segs[1] = { zct_seg_mem(self->pool, 100) };
	const uint32_t bad[] = { 1U << 5, 1U << 31, ~ZCDEV_SEND_FLAGS_ALL };
	struct zcdev_sendv r;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = do_sendv(self->dev, self->p.snd, segs, 1, bad[i], &r);
		EXPECT_EQ(-1, ret) TH_LOG("flags 0x%x accepted", bad[i]);
		if (ret == -1) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("flags 0x%x: errno %d", bad[i], errno);
		}
	}
	r = (struct zcdev_sendv){ .segs = (uint64_t)(uintptr_t)segs,
				  .nr_segs = 1, .sock_fd = self->p.snd,
				  .reserved = 1 };
	ret = zct_sendv(self->dev, &r);
	EXPECT_EQ(-1, ret) TH_LOG("reserved 1 accepted");
	if (ret == -1) {
		EXPECT_EQ(EINVAL, errno);
	}
	ASSERT_NOTHING_SENT();
}

/*
 * Every segment is checked before anything is sent: a bad LAST segment,
 * after good memory and file segments, gives its error and the receiver
 * gets nothing.
 */
TEST_F(sv, bad_last_segment)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int closed, wronly, opath, dir, pfd[2], usv[2];
	struct {
		const char *what;
		struct zcdev_seg seg;
		int err, err2;
	} c[40];
	unsigned int n = 0, i;

	ASSERT_NE(MAP_FAILED, map);
	memset(map, 0x11, 3 * pg);
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));
	ASSERT_EQ(0, munmap(map + 2 * pg, pg));
	closed = fcntl(self->fd_ro, F_DUPFD_CLOEXEC, 900);
	ASSERT_LE(900, closed);
	close(closed);
	wronly = zc_reopen(self->fd, O_WRONLY);
	ASSERT_LE(0, wronly);
	opath = open(self->path, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, opath);
	dir = open(zc_tmpfs_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dir);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(5, write(pfd[1], "pipe!", 5));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, usv));
	ASSERT_EQ(5, write(usv[1], "sock!", 5));

#define BAD(w, s, e, e2) do { c[n].what = (w); c[n].seg = (s);	\
	c[n].err = (e); c[n].err2 = (e2); n++; } while (0)
	{
		struct zcdev_seg s;

		s = zct_seg_mem(self->pool, 10); s.type = 0;
		BAD("type 0", s, EINVAL, 0);
		s.type = 3;
		BAD("type 3", s, EINVAL, 0);
		s.type = 0xffffffff;
		BAD("type 0xffffffff", s, EINVAL, 0);
		s = zct_seg_mem(self->pool, 10); s.file_fd = 3;
		BAD("memory segment with file_fd 3", s, EINVAL, 0);
		s = zct_seg_mem(self->pool, 10); s.file_fd = -1;
		BAD("memory segment with file_fd -1", s, EINVAL, 0);
		s = zct_seg_mem(self->pool, 10); s.offset = 1;
		BAD("memory segment with offset 1", s, EINVAL, 0);
		s = zct_seg_file(self->fd_ro, 0, 10); s.addr = 1;
		BAD("file segment with addr 1", s, EINVAL, 0);
		s = zct_seg_file(self->fd_ro, 0, 10);
		s.addr = (uint64_t)(uintptr_t)self->pool;
		BAD("file segment with an address", s, EINVAL, 0);
		BAD("file_fd -1", zct_seg_file(-1, 0, 10), EBADF, 0);
		BAD("closed file_fd", zct_seg_file(closed, 0, 10), EBADF, 0);
		BAD("file_fd INT_MAX", zct_seg_file(INT_MAX, 0, 10), EBADF, 0);
		BAD("write-only file", zct_seg_file(wronly, 0, 10), EBADF, 0);
		BAD("O_PATH file", zct_seg_file(opath, 0, 10), EBADF, 0);
		BAD("directory", zct_seg_file(dir, 0, 10), EINVAL, 0);
		BAD("pipe", zct_seg_file(pfd[0], 0, 5), EINVAL, 0);
		BAD("socket", zct_seg_file(usv[0], 0, 5), EINVAL, 0);
		BAD("offset 2^63", zct_seg_file(self->fd_ro, 1ULL << 63, 10),
		    EINVAL, 0);
		BAD("offset UINT64_MAX", zct_seg_file(self->fd_ro, UINT64_MAX, 1),
		    EINVAL, 0);
		BAD("NULL, 1 byte", zct_seg_mem(NULL, 1), EFAULT, 0);
		BAD("unmapped page", zct_seg_mem(map + 2 * pg, 100), EFAULT, 0);
		BAD("PROT_NONE page", zct_seg_mem(map + pg, 100), EFAULT, 0);
		BAD("readable, then PROT_NONE",
		    zct_seg_mem(map + pg - 10, 100), EFAULT, 0);
		BAD("kernel address",
		    zct_seg_mem((void *)0xffff888000000000UL, 100), EFAULT, 0);
		BAD("address + len wraps",
		    zct_seg_mem((void *)(UINTPTR_MAX - 10), 100), EFAULT, 0);
		BAD("len 2^62 from a valid address",
		    zct_seg_mem(self->pool, 1ULL << 62), EFAULT, EINVAL);
	}
#undef BAD
	ASSERT_GE(ARRAY_SIZE(c), n);
	for (i = 0; i < n; i++) {
		struct zcdev_seg segs[4] = {
			zct_seg_mem(self->pool, 1000),
			zct_seg_file(self->fd_ro, 0, 64 * KiB),
			zct_seg_mem(map, 100),	/* the good part of the map */
			c[i].seg,
		};
		struct zcdev_sendv r;
		int ret, e;

		/* a fresh connection per case: one failure does not hide the next */
		zc_pair_close(&self->p);
		ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &big_bufs))
			TH_LOG("%s", zc_errmsg());
		ret = do_sendv(self->dev, self->p.snd, segs, 4, 0, &r);
		e = errno;

		EXPECT_EQ(-1, ret) TH_LOG("%s: accepted: %s", c[i].what,
					  zc_sendv_report_str(&r));
		if (ret == -1) {
			EXPECT_TRUE(e == c[i].err || (c[i].err2 && e == c[i].err2))
				TH_LOG("%s: errno %d (%s), want %s", c[i].what,
				       e, strerror(e), strerror(c[i].err));
		}
		/* the same with STRICT and NONBLOCK: still checked first */
		ret = do_sendv(self->dev, self->p.snd, segs, 4,
			       ZCDEV_SEND_STRICT | ZCDEV_SEND_NONBLOCK, &r);
		e = errno;
		EXPECT_EQ(-1, ret) TH_LOG("%s (STRICT): accepted", c[i].what);
		if (ret == -1) {
			EXPECT_TRUE(e == c[i].err || (c[i].err2 && e == c[i].err2))
				TH_LOG("%s (STRICT): errno %d (%s)", c[i].what,
				       e, strerror(e));
		}
		EXPECT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
			TH_LOG("%s: the good segments went out: %s", c[i].what,
			       zc_errmsg());
	}
	/* controls: read-only and file-backed memory are fine */
	{
		uint8_t *ro = mmap(NULL, pg, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint8_t *fm = mmap(NULL, 64 * KiB, PROT_READ, MAP_SHARED,
				   self->fd_ro, 0);
		struct zcdev_seg segs[3];
		struct zcdev_sendv r;

		ASSERT_NE(MAP_FAILED, ro);
		ASSERT_NE(MAP_FAILED, fm);
		memset(ro, 0x77, pg);
		ASSERT_EQ(0, mprotect(ro, pg, PROT_READ));
		segs[0] = zct_seg_mem(ro, pg);
		segs[1] = zct_seg_mem(fm + 7, 60 * KiB);
		segs[2] = zct_seg_mem(map + pg - 10, 10);
		SENDV_OK(segs, 3, 0, &r);
		ASSERT_EQ(pg + 60 * KiB + 10, r.sent);
		recv_expect(_metadata, self->p.rcv, self->buf, segs, 3, r.sent);
		munmap(ro, pg);
		munmap(fm, 64 * KiB);
	}
	close(wronly);
	close(opath);
	close(dir);
	close(pfd[0]);
	close(pfd[1]);
	close(usv[0]);
	close(usv[1]);
	munmap(map, 2 * pg);
	ASSERT_NOTHING_SENT();
}

/* the segment array itself: unreadable -> -EFAULT, nothing sent */
TEST_F(sv, bad_segs_array)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct zcdev_seg good[2] = {
		zct_seg_mem(self->pool, 100),
		zct_seg_file(self->fd_ro, 0, 100),
	};
	struct zcdev_sendv r;
	struct zcdev_seg *edge;
	int ret;

	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));
	ASSERT_EQ(0, munmap(map + 2 * pg, pg));
	/* two good segments at the end of the readable page, a third that
	 * would be in the PROT_NONE page */
	edge = (struct zcdev_seg *)(map + pg - 2 * sizeof(*edge));
	memcpy(edge, good, sizeof(good));
	{
		const struct { const char *what; const void *p; unsigned int n; } c[] = {
			{ "NULL", NULL, 1 },
			{ "PROT_NONE", map + pg, 1 },
			{ "unmapped", map + 2 * pg, 1 },
			{ "last segment in PROT_NONE", edge, 3 },
			{ "kernel address", (void *)0xffff888000000000UL, 1 },
		};

		for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
			ret = do_sendv(self->dev, self->p.snd, c[i].p, c[i].n, 0, &r);
			EXPECT_EQ(-1, ret) TH_LOG("%s: accepted", c[i].what);
			if (ret == -1) {
				EXPECT_EQ(EFAULT, errno) TH_LOG("%s: errno %d (%s)",
								c[i].what, errno,
								strerror(errno));
			}
			ASSERT_NOTHING_SENT();
		}
	}
	/* the two readable ones alone work */
	SENDV_OK(edge, 2, 0, &r);
	ASSERT_EQ(200ULL, r.sent);
	recv_expect(_metadata, self->p.rcv, self->buf, good, 2, 200);
	munmap(map, 2 * pg);
	ASSERT_NOTHING_SENT();
}

/* STRICT on loopback: file bytes go by reference, memory is copied anyway */
TEST_F(sv, strict_lo)
{
	struct zcdev_seg segs[3] = {
		zct_seg_mem(self->pool, 300),
		zct_seg_file(self->fd_ro, 100, 50 * KiB),
		zct_seg_mem(self->pool + 1000, 7),
	};
	struct zcdev_seg memonly[1] = { zct_seg_mem(self->pool, 4000) };
	struct zcdev_sendv r;

	SENDV_OK(segs, 3, ZCDEV_SEND_STRICT, &r);
	ASSERT_EQ(307 + 50 * KiB, r.sent);
	ASSERT_EQ(50 * KiB, r.zc_bytes);
	ASSERT_EQ(307ULL, r.copied_bytes);
	ASSERT_EQ((uint32_t)ZCDEV_WHY_MEMORY, r.why);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_MIXED, r.path);
	recv_expect(_metadata, self->p.rcv, self->buf, segs, 3, r.sent);
	SENDV_OK(memonly, 1, ZCDEV_SEND_STRICT, &r);
	ASSERT_EQ(4000ULL, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_COPY, r.path);
	recv_expect(_metadata, self->p.rcv, self->buf, memonly, 1, 4000);
	ASSERT_NOTHING_SENT();
}

/* the out fields of a STRICT refusal: nothing sent, a reason given */
static int refusal_check(const struct zcdev_sendv *in,
			 const struct zcdev_sendv *r)
{
	if (r->segs != in->segs || r->nr_segs != in->nr_segs ||
	    r->sock_fd != in->sock_fd || r->flags != in->flags ||
	    r->reserved != in->reserved) {
		zc_seterr(false, "in fields changed: %s", zc_sendv_report_str(r));
		return -1;
	}
	if (r->sent || r->zc_bytes || r->copied_bytes || r->seg_sent ||
	    r->path != ZCDEV_PATH_NONE || r->notify_id ||
	    (r->status & ~ZCDEV_STATUS_ALL) || !r->why ||
	    (r->why & ~ZCDEV_WHY_ALL)) {
		zc_seterr(false, "not a refusal: %s", zc_sendv_report_str(r));
		return -1;
	}
	return 0;
}

/*
 * STRICT where the file bytes would be copied by the egress device: the
 * call is refused before anything (memory included) is sent, and why
 * says what would have copied; memory-only lists are not refused.
 */
TEST_F(sv, strict_nosg)
{
	struct zc_pair q = { .snd = -1, .rcv = -1 };
	struct zcdev_seg lists[2][3] = {
		{ zct_seg_mem(self->pool, 300),
		  zct_seg_file(self->fd_ro, 100, 50 * KiB),
		  zct_seg_mem(self->pool + 1000, 7) },
		{ zct_seg_file(self->fd_ro, 0, 10),
		  zct_seg_mem(self->pool, 10),
		  zct_seg_mem(self->pool, 0) },
	};
	struct zcdev_seg memonly[2] = {
		zct_seg_mem(self->pool, 4000), zct_seg_mem(self->pool + 3, 5),
	};
	struct zcdev_sendv r;
	char w[128];

	if (setup_pair(_metadata, &q, ZC_TCP4, ZC_NET_NOSG, false, &big_bufs))
		return;
	for (int l = 0; l < 2; l++) {
		int ret = do_sendv(self->dev, q.snd, lists[l], 3,
				   ZCDEV_SEND_STRICT, &r);

		ASSERT_EQ(-1, ret) TH_LOG("list %d: STRICT sent anyway: %s", l,
					  zc_sendv_report_str(&r));
		ASSERT_EQ(EOPNOTSUPP, errno) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
		/* out fields are written back on STRICT's EOPNOTSUPP */
		ASSERT_EQ(0, refusal_check(&last_in, &r))
			TH_LOG("list %d: %s", l, zc_errmsg());
		ASSERT_EQ(0U, r.seg_index) TH_LOG("%s", zc_sendv_report_str(&r));
		ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
		ASSERT_NE(0U, r.why & DEV_WHY)
			TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
		ASSERT_EQ(0U, r.why & ~(DEV_WHY | ZCDEV_WHY_MEMORY))
			TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
		ASSERT_EQ(0, zc_marker_check(q.snd, q.rcv, IDLE_MS))
			TH_LOG("list %d: %s", l, zc_errmsg());
	}
	/* memory alone is not what STRICT is about */
	ASSERT_EQ(0, do_sendv(self->dev, q.snd, memonly, 2, ZCDEV_SEND_STRICT, &r))
		TH_LOG("memory only, STRICT: errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ(4005ULL, r.sent);
	ASSERT_EQ(4005ULL, r.copied_bytes);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_COPY, r.path);
	ASSERT_NE(0U, r.why & ZCDEV_WHY_MEMORY)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	recv_expect(_metadata, q.rcv, self->buf, memonly, 2, 4005);
	/* without STRICT the refused list goes, copied */
	ASSERT_EQ(0, do_sendv(self->dev, q.snd, lists[0], 3, 0, &r))
		TH_LOG("errno %d", errno);
	ASSERT_EQ(307 + 50 * KiB, r.sent);
	ASSERT_EQ(r.sent, r.copied_bytes);
	ASSERT_NE(0U, r.why & DEV_WHY);
	ASSERT_NE(0U, r.why & ZCDEV_WHY_MEMORY);
	recv_expect(_metadata, q.rcv, self->buf, lists[0], 3, r.sent);
	ASSERT_EQ(0, zc_marker_check(q.snd, q.rcv, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	zc_pair_close(&q);
}

/*
 * STRICT meeting a file that has no page cache (procfs) after a memory
 * segment, or a tmpfs hole after data: either nothing is sent
 * (-EOPNOTSUPP with the reason), or what precedes it is sent and the call
 * stops exactly at the refused byte (why 0), and the resumed call is
 * refused with the reason.  Either way nothing that would be copied goes.
 */
static void strict_stop(struct __test_metadata *_metadata, int dev,
			struct zc_pair *p, uint8_t *buf,
			const struct zcdev_seg *segs, unsigned int n,
			unsigned int stop_seg, uint64_t stop_off,
			uint64_t before, uint32_t reason)
{
	struct zcdev_sendv r;
	struct zcdev_seg rest[8];
	char w[128];
	int ret;

	ret = do_sendv(dev, p->snd, segs, n, ZCDEV_SEND_STRICT, &r);
	if (ret == 0) {
		ASSERT_EQ(0, zc_sendv_report_check(&last_in, &r, segs,
						   segs_total(segs, n)))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(before, r.sent) TH_LOG("%s", zc_sendv_report_str(&r));
		ASSERT_EQ(stop_seg, r.seg_index);
		ASSERT_EQ(stop_off, r.seg_sent);
		ASSERT_EQ(0U, r.why & reason) TH_LOG("%s", zc_sendv_report_str(&r));
		recv_expect(_metadata, p->rcv, buf, segs, n, before);
		/* resume at the refused byte */
		memcpy(rest, segs + stop_seg, (n - stop_seg) * sizeof(*rest));
		rest[0].offset += stop_off;
		rest[0].len -= stop_off;
		ret = do_sendv(dev, p->snd, rest, n - stop_seg,
			       ZCDEV_SEND_STRICT, &r);
	}
	ASSERT_EQ(-1, ret) TH_LOG("STRICT sent what it would copy: %s",
				  zc_sendv_report_str(&r));
	ASSERT_EQ(EOPNOTSUPP, errno) TH_LOG("errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ(0, refusal_check(&last_in, &r)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0ULL, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	ASSERT_NE(0U, r.why & reason) TH_LOG("why=%s",
					     zct_why_str(r.why, w, sizeof(w)));
	ASSERT_EQ(0, zc_marker_check(p->snd, p->rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

TEST_F(sv, strict_source_reasons)
{
	/* /proc/meminfo has ->read_iter (size 0, content nonetheless) */
	int proc = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	char hpath[PATH_MAX];
	int hole, hole_ro;
	struct zcdev_seg a[2] = {
		zct_seg_mem(self->pool, 100),
		zct_seg_file(proc, 0, 10),
	};
	struct zcdev_seg b[3];

	ASSERT_LE(0, proc);
	strict_stop(_metadata, self->dev, &self->p, self->buf, a, 2, 1, 0, 100,
		    ZCDEV_WHY_NO_PAGECACHE);
	/* data (64 KiB) then a hole in one tmpfs segment */
	hole = zc_make_sparse_file(zc_tmpfs_dir(), 256 * KiB, 0, 64 * KiB,
				   hpath, sizeof(hpath));
	ASSERT_LE(0, hole) TH_LOG("%s", zc_errmsg());
	hole_ro = zc_reopen(hole, O_RDONLY);
	ASSERT_LE(0, hole_ro);
	b[0] = zct_seg_mem(self->pool, 10);
	b[1] = zct_seg_file(hole_ro, 0, 128 * KiB);
	b[2] = zct_seg_mem(self->pool, 10);
	strict_stop(_metadata, self->dev, &self->p, self->buf, b, 3, 1,
		    64 * KiB, 10 + 64 * KiB, ZCDEV_WHY_HOLE);
	close(hole_ro);
	close(hole);
	unlink(hpath);
	close(proc);
}

/*
 * File segments without page cache to lend: procfs (size 0, content
 * nonetheless, read until its end) and O_DIRECT ext4.  Copied, with
 * NO_PAGECACHE, and what arrives is the file's content.
 */
TEST_F(sv, no_pagecache_segments)
{
	int proc = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	char epath[PATH_MAX];
	int efd, dfd;
	struct zcdev_seg segs[3];
	struct zcdev_sendv r;
	char w[128];

	ASSERT_LE(0, proc);
	if (zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	efd = zc_make_payload_file(zc_ext4_dir(), 128 * KiB, epath, sizeof(epath));
	ASSERT_LE(0, efd) TH_LOG("%s", zc_errmsg());
	dfd = zc_reopen(efd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, dfd) TH_LOG("O_DIRECT: %s", strerror(errno));

	/* O_DIRECT: byte-exact */
	segs[0] = zct_seg_mem(self->pool, 100);
	segs[1] = zct_seg_file(dfd, 4096, 64 * KiB);
	segs[2] = zct_seg_mem(self->pool + 200, 10);
	SENDV_OK(segs, 3, 0, &r);
	ASSERT_EQ(110 + 64 * KiB, r.sent);
	ASSERT_EQ(r.sent, r.copied_bytes) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ((uint32_t)(ZCDEV_WHY_MEMORY | ZCDEV_WHY_NO_PAGECACHE), r.why)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	recv_expect(_metadata, self->p.rcv, self->buf, segs, 3, r.sent);

	/* procfs: its size is 0, its content is not */
	segs[1] = zct_seg_file(proc, 0, 64);
	SENDV_OK(segs, 3, 0, &r);
	ASSERT_EQ(174ULL, r.sent) TH_LOG("procfs segment: %s",
					 zc_sendv_report_str(&r));
	ASSERT_EQ(r.sent, r.copied_bytes);
	ASSERT_EQ((uint32_t)(ZCDEV_WHY_MEMORY | ZCDEV_WHY_NO_PAGECACHE), r.why)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	ASSERT_EQ(174, zc_recv_exact(self->p.rcv, self->buf, 174, IDLE_MS));
	ASSERT_EQ(0, memcmp(self->buf, self->pool, 100));
	ASSERT_EQ(0, memcmp(self->buf + 100, "MemTotal:", 9))
		TH_LOG("not /proc/meminfo: %.20s", (char *)self->buf + 100);
	ASSERT_EQ(0, memcmp(self->buf + 164, self->pool + 200, 10));
	close(dfd);
	close(efd);
	unlink(epath);
	close(proc);
	ASSERT_NOTHING_SENT();
}

/* TCP_INFO counters of the sender */
static int tcp_info_get(int fd, struct tcp_info *ti)
{
	socklen_t l = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &l);
}

/*
 * The segments of one call leave as full TCP segments without TCP_CORK:
 * each is sent with MSG_MORE but the last.  With TCP_NODELAY, 64 small
 * memory segments (6400 bytes, far below lo's MSS) must leave as one or
 * two TCP segments, not 64.
 */
TEST_F(sv, segments_coalesce)
{
	struct zcdev_seg segs[64];
	struct tcp_info t0, t1;
	struct zcdev_sendv r;
	int one = 1, i;
	uint32_t data_segs;

	ASSERT_EQ(0, setsockopt(self->p.snd, IPPROTO_TCP, TCP_NODELAY, &one,
				sizeof(one)));
	for (i = 0; i < 64; i++)
		segs[i] = zct_seg_mem(self->pool + i * 1000, 100);
	/* the control: 64 separate sends with TCP_NODELAY */
	ASSERT_EQ(0, tcp_info_get(self->p.snd, &t0));
	for (i = 0; i < 64; i++) {
		ASSERT_EQ(100, send(self->p.snd, self->pool + i * 1000, 100, 0));
		zc_sleep_ms(1);
	}
	ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS));
	ASSERT_EQ(0, tcp_info_get(self->p.snd, &t1));
	TH_LOG("64 send(2) calls: %u data segments",
	       t1.tcpi_data_segs_out - t0.tcpi_data_segs_out);
	recv_expect(_metadata, self->p.rcv, self->buf, segs, 64, 6400);

	ASSERT_EQ(0, tcp_info_get(self->p.snd, &t0));
	SENDV_OK(segs, 64, 0, &r);
	ASSERT_EQ(6400ULL, r.sent);
	ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS));
	ASSERT_EQ(0, tcp_info_get(self->p.snd, &t1));
	data_segs = t1.tcpi_data_segs_out - t0.tcpi_data_segs_out;
	TH_LOG("one sendv of 64 segments: %u data segments", data_segs);
	ASSERT_GE(2U, data_segs) TH_LOG("the segments were not sent with MSG_MORE");
	ASSERT_LE(1U, data_segs);
	recv_expect(_metadata, self->p.rcv, self->buf, segs, 64, 6400);
	ASSERT_NOTHING_SENT();
}

static int64_t outq_notsent(int fd)
{
	int v;

	if (ioctl(fd, SIOCOUTQNSD, &v))
		return -1;
	return v;
}

/*
 * ZCDEV_SEND_MORE: the last segment is sent with MSG_MORE too, so a small
 * tail stays corked in the sender (not transmitted) until a following
 * send without MORE pushes it.  (TCP's probe timer flushes a corked tail
 * after ~200 ms on its own: the check is made well before that, and
 * retried if the guest was too slow to make it in time.)
 */
TEST_F(sv, more_corks_last)
{
	struct zcdev_seg head[2] = {
		zct_seg_mem(self->pool + 16, 100),
		zct_seg_file(self->fd_ro, 777, 1000),
	};
	struct zcdev_seg tail[1] = { zct_seg_mem(self->pool + 9000, 10) };
	struct zcdev_seg all[3] = { head[0], head[1], tail[0] };
	struct zcdev_sendv r;
	int one = 1, tries, held = 0;

	ASSERT_EQ(0, setsockopt(self->p.snd, IPPROTO_TCP, TCP_NODELAY, &one,
				sizeof(one)));
	for (tries = 0; tries < 5 && !held; tries++) {
		uint64_t t0, dt;
		int64_t nsd, inq;

		SENDV_OK(head, 2, ZCDEV_SEND_MORE, &r);
		ASSERT_EQ(1100ULL, r.sent);
		t0 = zc_now_ms();
		zc_sleep_ms(20);
		nsd = outq_notsent(self->p.snd);
		inq = zc_inq(self->p.rcv);
		dt = zc_now_ms() - t0;
		ASSERT_LE(0, nsd);
		ASSERT_LE(0, inq);
		if (dt < 120) {
			ASSERT_EQ(1100, nsd) TH_LOG("MORE: %" PRId64 " bytes not "
				"sent, %" PRId64 " at the receiver after %" PRIu64
				" ms", nsd, inq, dt);
			ASSERT_EQ(0, inq);
			held = 1;
		} else {
			TH_LOG("try %d: the check took %" PRIu64 " ms, again",
			       tries, dt);
		}
		/* a send without MORE pushes everything */
		SENDV_OK(tail, 1, 0, &r);
		ASSERT_EQ(10ULL, r.sent);
		ASSERT_EQ(0, zc_wait_inq(self->p.rcv, 1110, 2000))
			TH_LOG("not pushed by the next send: %s", zc_errmsg());
		recv_expect(_metadata, self->p.rcv, self->buf, all, 3, 1110);
	}
	ASSERT_TRUE(held) TH_LOG("never checked within 120 ms");
	/* the control: without MORE nothing stays behind */
	SENDV_OK(head, 2, 0, &r);
	ASSERT_EQ(0, zc_wait_inq(self->p.rcv, 1100, 2000)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, outq_notsent(self->p.snd));
	recv_expect(_metadata, self->p.rcv, self->buf, head, 2, 1100);
	ASSERT_NOTHING_SENT();
}

/* kTLS: every byte copied, file bytes for KTLS, memory for MEMORY */
TEST_F(sv, ktls)
{
	struct zc_pair q = { .snd = -1, .rcv = -1 };
	struct zcdev_seg segs[4] = {
		zct_seg_mem(self->pool + 5, 200),
		zct_seg_file(self->fd_ro, 3, 100 * KiB),
		zct_seg_mem(self->pool + 500, 2),
		zct_seg_file(self->fd_ro, 200 * KiB, 20 * KiB + 1),
	};
	struct zcdev_seg fonly[1] = { zct_seg_file(self->fd_ro, 0, 4096) };
	uint64_t total = segs_total(segs, 4);
	struct zcdev_sendv r;
	char w[128];

	if (setup_pair(_metadata, &q, ZC_TCP4, ZC_NET_LO, true, &big_bufs))
		return;
	ASSERT_EQ(0, do_sendv(self->dev, q.snd, segs, 4, 0, &r))
		TH_LOG("errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ(0, zc_sendv_report_check(&last_in, &r, segs, total))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(total, r.sent);
	ASSERT_EQ(total, r.copied_bytes) TH_LOG("%s", zc_sendv_report_str(&r));
	ASSERT_EQ((uint32_t)ZCDEV_PATH_COPY, r.path);
	ASSERT_EQ((uint32_t)(ZCDEV_WHY_KTLS | ZCDEV_WHY_MEMORY), r.why)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	/*
	 * No flip oracle here: software kTLS encrypts each record while the
	 * call runs (the last one when the call ends without MORE), so a
	 * change of the file after the call cannot show at the peer whether
	 * the pages were lent or copied; such a check could not fail.  What
	 * the peer gets must still be the bytes.
	 */
	recv_expect(_metadata, q.rcv, self->buf, segs, 4, total);
	/* STRICT refuses the file bytes, before the memory goes */
	ASSERT_EQ(-1, do_sendv(self->dev, q.snd, segs, 4, ZCDEV_SEND_STRICT, &r));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_NE(0U, r.why & ZCDEV_WHY_KTLS);
	ASSERT_EQ(0ULL, r.sent);
	/* file only: KTLS alone */
	ASSERT_EQ(0, do_sendv(self->dev, q.snd, fonly, 1, 0, &r));
	ASSERT_EQ((uint32_t)ZCDEV_WHY_KTLS, r.why);
	recv_expect(_metadata, q.rcv, self->buf, fonly, 1, 4096);
	ASSERT_EQ(0, zc_marker_check(q.snd, q.rcv, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	zc_pair_close(&q);
}

/* a dead peer: EPIPE/ECONNRESET, never SIGPIPE */
TEST_F(sv, dead_peer)
{
	struct zcdev_seg segs[2] = {
		zct_seg_mem(self->pool, 100), zct_seg_file(self->fd_ro, 0, 4000),
	};
	struct zcdev_sendv r;
	int i, ret = 0, e = 0;

	close(self->p.rcv);
	self->p.rcv = -1;
	for (i = 0; i < 50; i++) {
		ret = do_sendv(self->dev, self->p.snd, segs, 2, 0, &r);
		e = errno;
		if (ret)
			break;
		zc_sleep_ms(20);
	}
	ASSERT_EQ(-1, ret) TH_LOG("still sending to a dead peer");
	ASSERT_TRUE(e == EPIPE || e == ECONNRESET) TH_LOG("errno %d (%s)", e,
							  strerror(e));
	ASSERT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/* several threads, each its own socket and memory, one shared file */
struct vsender {
	int dev;
	int fd;
	uint64_t fsize;
	uint64_t seed;
	struct zc_pair p;
	struct zc_rx rx;
	uint8_t *pool;
	size_t pool_len;
	uint8_t *exp;
	uint64_t total;
	pthread_t th;
	char err[320];
};

#define VCALLS 12

static void *vsender_fn(void *arg)
{
	struct vsender *s = arg;
	struct zc_rng rng = { s->seed };
	struct zcdev_seg segs[16];
	int c;

	for (c = 0; c < VCALLS; c++) {
		unsigned int n = random_segs(&rng, segs, 1, 16, s->fd, s->fsize,
					     s->pool, s->pool_len, 256 * KiB);
		uint64_t t = segs_total(segs, n);
		struct zcdev_sendv r;

		expect_fill(segs, n, s->exp + s->total);
		if (do_sendv(s->dev, s->p.snd, segs, n, 0, &r)) {
			snprintf(s->err, sizeof(s->err), "call %d: errno %d (%s)",
				 c, errno, strerror(errno));
			break;
		}
		if (zc_sendv_report_check(&last_in, &r, segs, t)) {
			snprintf(s->err, sizeof(s->err), "call %d: %s", c,
				 zc_errmsg());
			break;
		}
		if (r.sent != t) {
			snprintf(s->err, sizeof(s->err), "call %d short: %s", c,
				 zc_sendv_report_str(&r));
			break;
		}
		s->total += t;
	}
	shutdown(s->p.snd, SHUT_WR);
	return NULL;
}

TEST_F_TIMEOUT(sv, concurrent, 90)
{
	uint64_t seed = zc_seed_for(zc_base_seed(), "sendv.concurrent");
	struct vsender s[4];
	int i;

	TH_LOG("seed %" PRIu64, seed);
	memset(s, 0, sizeof(s));
	for (i = 0; i < 4; i++) {
		s[i].dev = self->dev;
		s[i].fd = self->fd_ro;
		s[i].fsize = self->size;
		s[i].seed = seed + i;
		s[i].pool_len = 128 * KiB + i;
		s[i].pool = malloc(s[i].pool_len);
		s[i].exp = malloc(VCALLS * 256 * KiB + 16 * 64);
		ASSERT_NE(NULL, s[i].pool);
		ASSERT_NE(NULL, s[i].exp);
		mem_fill(s[i].pool, s[i].pool_len);
		s[i].pool[0] = i;	/* each its own bytes */
		ASSERT_EQ(0, zc_pair_open(&s[i].p, i & 1 ? ZC_UNIX : ZC_TCP4,
					  ZC_NET_LO, NULL)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, zc_rx_start(&s[i].rx, s[i].p.rcv,
					 VCALLS * 256 * KiB + 16 * 64, IDLE_MS));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_create(&s[i].th, NULL, vsender_fn, &s[i]));
	}
	for (i = 0; i < 4; i++)
		pthread_join(s[i].th, NULL);
	for (i = 0; i < 4; i++) {
		int rx = zc_rx_join(&s[i].rx);

		EXPECT_EQ(0, s[i].err[0]) TH_LOG("sender %d: %s", i, s[i].err);
		EXPECT_EQ(0, rx) TH_LOG("sender %d: %s", i, s[i].rx.msg);
		EXPECT_EQ(s[i].total, (uint64_t)s[i].rx.len) TH_LOG("sender %d", i);
		EXPECT_LT(0ULL, s[i].total);
		if (s[i].total == s[i].rx.len) {
			EXPECT_EQ(0, memcmp(s[i].rx.buf, s[i].exp, s[i].total))
				TH_LOG("sender %d: stream differs", i);
		}
		zc_rx_free(&s[i].rx);
		zc_pair_close(&s[i].p);
		free(s[i].pool);
		free(s[i].exp);
	}
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size)) TH_LOG("%s", zc_errmsg());
}

TEST_HARNESS_MAIN
