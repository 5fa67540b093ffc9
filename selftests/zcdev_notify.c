// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_notify: ZCDEV_SEND_NOTIFY and the completions read from /dev/zcdev
 * (issue 7).
 *
 *   notify.*        per network: ids (non-zero iff something was sent,
 *                   increasing), every id completes exactly once, the
 *                   ZCDEV_COMPL_COPIED flag, the report of a NOTIFY send,
 *                   STRICT with NOTIFY, and the truth oracle: once the
 *                   completion is read, overwriting the file range (pwrite)
 *                   never changes what the (not yet reading) peer receives
 *   unacked.*       TCP: no completion while sent data is still queued
 *                   unacknowledged at the sender; it comes once the peer
 *                   drains, and bytes read after it are the original ones
 *   compl.*         read(2) (whole records, -EINVAL, -EAGAIN, blocking,
 *                   EINTR), poll/epoll, completions per open file, sendv,
 *                   a never-copied send (reset before transmit) has no
 *                   COPIED flag, VER0 struct, CACHED_ONLY -EBUSY
 *   limits.*        ZCDEV_NOTIFY_MAX_PENDING unread completions: -ENOBUFS
 *   lifetime.*      closing /dev/zcdev with completions unread and sends in
 *                   flight: no leak (module refcount, mincore), rmmod
 *                   refused until the stack lets go
 *
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
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"

#include "zc_util.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define PG 4096ULL

#define IDLE_MS 10000
/* "does not arrive": how long we wait for something that must not come */
#define QUIET_MS 300

#define REC_SIZE ((ssize_t)sizeof(struct zcdev_completion))

/* ---- local helpers ---------------------------------------------------- */

/* poison every out field, VER1 ones included, then call */
static int sf_call(int dev, struct zcdev_sendfile *a)
{
	zc_poison_out(a);
	memset(&a->status, 0xcc, sizeof(a->status));
	memset(&a->notify_id, 0xcc, sizeof(a->notify_id));
	return ioctl(dev, ZCDEV_IOC_SENDFILE, a);
}

static const char *rep(const struct zcdev_sendfile *r)
{
	static __thread char s[320];

	snprintf(s, sizeof(s), "%s status=0x%x notify_id=%" PRIu64,
		 zc_report_str(r), r->status, (uint64_t)r->notify_id);
	return s;
}

/* zc_report_check + VER1: notify_id non-zero iff NOTIFY and sent > 0 */
static int report_check1(const struct zcdev_sendfile *in,
			 const struct zcdev_sendfile *out, uint64_t max_sent)
{
	bool want_id = (in->flags & ZCDEV_SEND_NOTIFY) && out->sent;

	if (zc_report_check(in, out, max_sent))
		return -1;
	if (out->reserved1 != in->reserved1 || out->status & ~ZCDEV_STATUS_ALL) {
		zc_seterr(false, "reserved1/status: %s", rep(out));
		return -1;
	}
	if (want_id != !!out->notify_id) {
		zc_seterr(false, "notify_id %s: %s", want_id ? "missing" :
			  "set though nothing was sent", rep(out));
		return -1;
	}
	return 0;
}

/* XOR 0xff over [off, off + len) of the file with pread + pwrite */
static int pwrite_flip(int fd_rw, uint64_t off, uint64_t len)
{
	uint8_t *b = malloc(len);
	uint64_t i;
	int ret = -1;

	if (!b)
		return -1;
	if (pread(fd_rw, b, len, off) != (ssize_t)len) {
		zc_seterr(true, "pread for the flip");
		goto out;
	}
	for (i = 0; i < len; i++)
		b[i] ^= 0xff;
	if (pwrite(fd_rw, b, len, off) != (ssize_t)len) {
		zc_seterr(true, "pwrite for the flip");
		goto out;
	}
	ret = 0;
out:
	free(b);
	return ret;
}

/*
 * wait until the refcount has not changed for @quiet_ms; returns it (both
 * times scaled by ZC_TIMEOUT_SCALE: a slow kernel drains for longer)
 */
static int refcnt_settle(int quiet_ms, int timeout_ms)
{
	uint64_t deadline = zc_now_ms() + zc_scaled_ms(timeout_ms);
	uint64_t since = zc_now_ms();
	int last = zc_module_refcnt(), v;

	quiet_ms = zc_scaled_ms(quiet_ms);

	while (zc_now_ms() < deadline) {
		zc_sleep_ms(20);
		v = zc_module_refcnt();
		if (v != last) {
			last = v;
			since = zc_now_ms();
		} else if (zc_now_ms() - since >= (uint64_t)quiet_ms) {
			break;
		}
	}
	return last;
}

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static int load_module(void)
{
	const char *path = getenv("ZC_MODULE") ? : "/zcdev.ko";
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	for (int i = 0; !ret && i < 200 && access("/dev/zcdev", F_OK); i++)
		zc_sleep_ms(10);
	return ret;
}

/* ---- completions ----------------------------------------------------- */

#define MAX_LOG 4096

struct clog {
	unsigned int n;
	uint64_t id[MAX_LOG];
	uint32_t flags[MAX_LOG];
	char err[200];
};

/* read what is queued on a nonblocking /dev/zcdev; -1 on a bad record */
static int clog_read(int dev, struct clog *l)
{
	struct zcdev_completion rec[64];
	ssize_t n;
	int i;

	for (;;) {
		n = read(dev, rec, sizeof(rec));
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			snprintf(l->err, sizeof(l->err), "read: %s",
				 strerror(errno));
			return -1;
		}
		if (n == 0 || n % REC_SIZE) {
			snprintf(l->err, sizeof(l->err),
				 "read returned %zd: not whole records", n);
			return -1;
		}
		for (i = 0; i < n / REC_SIZE; i++) {
			if (!rec[i].id || rec[i].reserved ||
			    rec[i].flags & ~ZCDEV_COMPL_COPIED) {
				snprintf(l->err, sizeof(l->err),
					 "bad record: id %" PRIu64 " flags 0x%x "
					 "reserved 0x%x", (uint64_t)rec[i].id,
					 rec[i].flags, rec[i].reserved);
				return -1;
			}
			if (l->n == MAX_LOG) {
				snprintf(l->err, sizeof(l->err), "log full");
				return -1;
			}
			l->id[l->n] = rec[i].id;
			l->flags[l->n++] = rec[i].flags;
		}
	}
}

/* how many times @id is in the log; its last flags in *flags */
static int clog_count(const struct clog *l, uint64_t id, uint32_t *flags)
{
	unsigned int i;
	int c = 0;

	for (i = 0; i < l->n; i++) {
		if (l->id[i] == id) {
			c++;
			if (flags)
				*flags = l->flags[i];
		}
	}
	return c;
}

/* wait (poll) until @id was read; 0, or -1 on timeout / bad records */
static int clog_wait(int dev, struct clog *l, uint64_t id, int timeout_ms)
{
	uint64_t deadline = zc_now_ms() + zc_scaled_ms(timeout_ms);

	for (;;) {
		struct pollfd pfd = { .fd = dev, .events = POLLIN };
		int64_t left;

		if (clog_read(dev, l))
			return -1;
		if (clog_count(l, id, NULL))
			return 0;
		left = (int64_t)(deadline - zc_now_ms());
		if (left <= 0) {
			snprintf(l->err, sizeof(l->err),
				 "no completion for id %" PRIu64 " in %d ms "
				 "(%u others read)", id, timeout_ms, l->n);
			return -1;
		}
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
	}
}

/* nothing is queued now and nothing comes for @ms */
static int clog_quiet(int dev, struct clog *l, int ms)
{
	struct pollfd pfd = { .fd = dev, .events = POLLIN };
	unsigned int before = l->n;
	int n = poll(&pfd, 1, ms);

	if (n)
		clog_read(dev, l);
	if (n || l->n != before) {
		snprintf(l->err, sizeof(l->err), "unexpected completion: %u new, "
			 "first id %" PRIu64, l->n - before,
			 l->n > before ? l->id[before] : 0);
		return -1;
	}
	return 0;
}

/* ---- the network variants ------------------------------------------- */

struct net_exp {
	enum zc_fam fam;
	enum zc_net net;
	bool ktls;
	/* the report: every byte by reference (else copied, why in why_mask) */
	bool report_zc;
	uint32_t why_mask;
	/* the completion is queued before the ioctl returns */
	bool immediate;
	/* without NOTIFY the peer would see changes made after the send */
	bool by_ref_without_notify;
};

static int open_pair(struct __test_metadata *_metadata, struct zc_pair *p,
		     const struct net_exp *v, const struct zc_pair_opts *o)
{
	if (zc_net_available(v->net))
		ZC_NEED(return -1, "%s", zc_errmsg());
	if (zc_pair_open(p, v->fam, v->net, o)) {
		TH_LOG("pair: %s", zc_errmsg());
		_metadata->exit_code = KSFT_FAIL;
		return -1;
	}
	if (v->ktls && zc_ktls_setup(p)) {
		if (zc_ktls_unavailable(errno))
			ZC_NEED(return -1, "kTLS unavailable: %s", zc_errmsg());
		TH_LOG("kTLS: %s", zc_errmsg());
		_metadata->exit_code = KSFT_FAIL;
		return -1;
	}
	return 0;
}

/* the report of a NOTIFY send that returned 0 with sent > 0 */
static bool notify_report_ok(const struct net_exp *v,
			     const struct zcdev_sendfile *r)
{
	if (v->report_zc)
		return r->path == ZCDEV_PATH_ZEROCOPY && r->why == 0;
	return r->path == ZCDEV_PATH_COPY && (r->why & v->why_mask) &&
	       !(r->why & ~v->why_mask);
}

static const struct zc_pair_opts big_bufs = {
	.rcvbuf = 16 * MiB, .sndbuf = 16 * MiB,
};

/* ===================================================================== */
/* notify: per network                                                    */
/* ===================================================================== */

FIXTURE(notify) {
	int dev;	/* O_NONBLOCK */
	int fd;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	struct zc_rx rx;
	uint8_t *buf;
	struct clog *log;
};

FIXTURE_VARIANT(notify) {
	struct net_exp e;
};

#define NOSG_WHY (ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM)

FIXTURE_VARIANT_ADD(notify, lo4) { .e = {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .report_zc = true,
	.by_ref_without_notify = true } };
FIXTURE_VARIANT_ADD(notify, lo6) { .e = {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .report_zc = true,
	.by_ref_without_notify = true } };
FIXTURE_VARIANT_ADD(notify, veth4) { .e = {
	.fam = ZC_TCP4, .net = ZC_NET_VETH, .report_zc = true,
	.by_ref_without_notify = true } };
FIXTURE_VARIANT_ADD(notify, veth6) { .e = {
	.fam = ZC_TCP6, .net = ZC_NET_VETH, .report_zc = true,
	.by_ref_without_notify = true } };
FIXTURE_VARIANT_ADD(notify, nosg4) { .e = {
	.fam = ZC_TCP4, .net = ZC_NET_NOSG, .why_mask = NOSG_WHY } };
FIXTURE_VARIANT_ADD(notify, unix) { .e = {
	.fam = ZC_UNIX, .net = ZC_NET_LO, .why_mask = ZCDEV_WHY_NOTIFY,
	.immediate = true, .by_ref_without_notify = true } };
FIXTURE_VARIANT_ADD(notify, ktls4) { .e = {
	.fam = ZC_TCP4, .net = ZC_NET_LO, .ktls = true,
	.why_mask = ZCDEV_WHY_KTLS, .immediate = true } };
FIXTURE_VARIANT_ADD(notify, ktls6) { .e = {
	.fam = ZC_TCP6, .net = ZC_NET_LO, .ktls = true,
	.why_mask = ZCDEV_WHY_KTLS, .immediate = true } };

#define NSIZE (2 * MiB + 4321)

FIXTURE_SETUP(notify)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	memset(&self->rx, 0, sizeof(self->rx));
	zc_sigpipe_guard();
	self->log = calloc(1, sizeof(*self->log));
	ASSERT_NE(NULL, self->log);
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = NSIZE;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->buf = malloc(self->size);
	ASSERT_NE(NULL, self->buf);
	open_pair(_metadata, &self->p, &variant->e, &big_bufs);
}

FIXTURE_TEARDOWN(notify)
{
	if (self->p.snd >= 0)
		shutdown(self->p.snd, SHUT_RDWR);
	if (self->p.rcv >= 0)
		shutdown(self->p.rcv, SHUT_RDWR);
	zc_rx_free(&self->rx);
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	free(self->log);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * A series of NOTIFY calls, some of which send nothing: ids are non-zero
 * exactly when bytes were sent, strictly increasing; every id completes
 * exactly once, nothing else completes; the flags say COPIED (every
 * receiver here is local, or the bytes were copied in the first place).
 */
TEST_F_TIMEOUT(notify, ids_complete_once, 60)
{
	const struct { uint64_t off, len; } c[] = {
		{ 0, 100 }, { 0, 0 }, { 5000, 256 * KiB }, { NSIZE, 10 },
		{ 1, 1 }, { NSIZE + 4096, UINT64_MAX }, { PG - 1, 3 * PG },
		{ NSIZE - 10, UINT64_MAX }, { 12345, 1 * MiB }, { 77, 0 },
	};
	uint64_t ids[ARRAY_SIZE(c)], last = 0, total = 0, pos = 0;
	unsigned int i, nids = 0;
	char w[128];

	if (_metadata->exit_code)
		return;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct zcdev_sendfile in = zc_sendfile_in(self->fd, self->p.snd,
						   c[i].off, c[i].len,
						   ZCDEV_SEND_NOTIFY), r = in;
		uint64_t want = c[i].off >= self->size ? 0 :
			(c[i].len < self->size - c[i].off ? c[i].len :
			 self->size - c[i].off);

		ASSERT_EQ(0, sf_call(self->dev, &r))
			TH_LOG("case %u: errno %d (%s)", i, errno, strerror(errno));
		ASSERT_EQ(0, report_check1(&in, &r, want))
			TH_LOG("case %u: %s", i, zc_errmsg());
		ASSERT_EQ(want, r.sent) TH_LOG("case %u: %s", i, rep(&r));
		total += r.sent;
		if (!r.sent) {
			ASSERT_EQ(0ULL, r.notify_id) TH_LOG("%s", rep(&r));
			continue;
		}
		ASSERT_TRUE(notify_report_ok(&variant->e, &r))
			TH_LOG("case %u: %s why=%s", i, rep(&r),
			       zct_why_str(r.why, w, sizeof(w)));
		ASSERT_LT(last, r.notify_id) TH_LOG("ids not increasing: %" PRIu64
			" after %" PRIu64, (uint64_t)r.notify_id, last);
		last = r.notify_id;
		ids[nids++] = r.notify_id;
		if (variant->e.immediate) {
			uint32_t fl = 0;

			/* queued before the ioctl returned: no waiting */
			ASSERT_EQ(0, clog_read(self->dev, self->log))
				TH_LOG("%s", self->log->err);
			ASSERT_EQ(1, clog_count(self->log, r.notify_id, &fl))
				TH_LOG("case %u: id %" PRIu64 " not queued at "
				       "return", i, (uint64_t)r.notify_id);
		}
	}
	/* the peer reads everything: TCP can release every page */
	ASSERT_EQ((ssize_t)total, zc_recv_exact(self->p.rcv, self->buf, total,
						IDLE_MS)) TH_LOG("%s", zc_errmsg());
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		uint64_t want = c[i].off >= self->size ? 0 :
			(c[i].len < self->size - c[i].off ? c[i].len :
			 self->size - c[i].off);

		ASSERT_EQ(-1, zc_verify(self->buf + pos, want, c[i].off))
			TH_LOG("case %u: %s", i, zc_errmsg());
		pos += want;
	}
	for (i = 0; i < nids; i++) {
		uint32_t fl = 0;

		ASSERT_EQ(0, clog_wait(self->dev, self->log, ids[i], IDLE_MS))
			TH_LOG("%s", self->log->err);
		ASSERT_EQ(1, clog_count(self->log, ids[i], &fl))
			TH_LOG("id %" PRIu64 " completed more than once", ids[i]);
		ASSERT_EQ((uint32_t)ZCDEV_COMPL_COPIED, fl)
			TH_LOG("id %" PRIu64 ": flags 0x%x, want COPIED (local "
			       "receiver or copied send)", ids[i], fl);
	}
	ASSERT_EQ(0, clog_quiet(self->dev, self->log, QUIET_MS))
		TH_LOG("%s", self->log->err);
	ASSERT_EQ(nids, self->log->n) TH_LOG("completions for unknown ids");
	TH_LOG("%u sends with bytes, ids %" PRIu64 "..%" PRIu64 ", all COPIED",
	       nids, ids[0], ids[nids - 1]);
}

/*
 * The truth oracle.  The peer does not read.  Control (where the socket
 * lends pages): without NOTIFY, a change made after the send shows at the
 * peer.  With NOTIFY: wait for the completion, overwrite the range with
 * pwrite, then read - the peer gets the original bytes.
 */
TEST_F_TIMEOUT(notify, truth_after_completion, 60)
{
	const uint64_t off = 3 * PG + 123, len = 300 * KiB + 7;
	uint64_t flipped, same;
	struct zcdev_sendfile in, r;
	uint32_t fl = 0;

	if (_metadata->exit_code)
		return;
	if (variant->e.by_ref_without_notify) {
		in = zc_sendfile_in(self->fd, self->p.snd, off, len, 0);
		r = in;
		ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d", errno);
		ASSERT_EQ(len, r.sent) TH_LOG("%s", rep(&r));
		if (variant->e.fam != ZC_UNIX) {
			ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS))
				TH_LOG("%s", zc_errmsg());
			ASSERT_EQ(0, zc_wait_inq(self->p.rcv, len, IDLE_MS))
				TH_LOG("%s", zc_errmsg());
		}
		ASSERT_EQ(0, pwrite_flip(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ((ssize_t)len, zc_recv_exact(self->p.rcv, self->buf,
						      len, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, pwrite_flip(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(-1, zc_classify(self->buf, len, off, &flipped, &same))
			TH_LOG("%s", zc_errmsg());
		TH_LOG("control, no NOTIFY: the peer saw %" PRIu64 " changed, %"
		       PRIu64 " original bytes", flipped, same);
		ASSERT_EQ(len, flipped) TH_LOG("without NOTIFY the pages were "
					       "lent: the change must show");
	}

	in = zc_sendfile_in(self->fd, self->p.snd, off, len, ZCDEV_SEND_NOTIFY);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
	ASSERT_EQ(0, report_check1(&in, &r, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(len, r.sent) TH_LOG("%s", rep(&r));
	ASSERT_TRUE(notify_report_ok(&variant->e, &r)) TH_LOG("%s", rep(&r));
	ASSERT_EQ(0, clog_wait(self->dev, self->log, r.notify_id, IDLE_MS))
		TH_LOG("%s (peer has %" PRId64 " bytes queued)", self->log->err,
		       zc_inq(self->p.rcv));
	clog_count(self->log, r.notify_id, &fl);
	/* the peer has not read a byte, and the file is safe to modify */
	ASSERT_EQ(0, pwrite_flip(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->p.rcv, self->buf, len,
					      IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, pwrite_flip(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_classify(self->buf, len, off, &flipped, &same))
		TH_LOG("%s", zc_errmsg());
	TH_LOG("NOTIFY (id %" PRIu64 ", flags 0x%x): after the completion the "
	       "peer saw %" PRIu64 " changed, %" PRIu64 " original bytes",
	       (uint64_t)r.notify_id, fl, flipped, same);
	ASSERT_EQ(0ULL, flipped) TH_LOG("a change made after the completion "
					"reached the peer");
	ASSERT_EQ(len, same);
	/*
	 * The pages were released while every byte still sat unread at the
	 * peer: the stack must have copied them (all receivers here are
	 * local), so the completion has to say so.
	 */
	ASSERT_EQ((uint32_t)ZCDEV_COMPL_COPIED, fl)
		TH_LOG("released before the peer read, yet not COPIED");
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * STRICT with NOTIFY: where NOTIFY makes the socket copy (unix, kTLS) or
 * the route copies, STRICT refuses (-EOPNOTSUPP, notify_id 0, no record);
 * where it can lend, it sends and gets an id.
 */
TEST_F(notify, strict)
{
	struct zcdev_sendfile in, r;
	char w[128];
	int ret;

	if (_metadata->exit_code)
		return;
	in = zc_sendfile_in(self->fd, self->p.snd, 0, 64 * KiB,
		     ZCDEV_SEND_NOTIFY | ZCDEV_SEND_STRICT);
	r = in;
	ret = sf_call(self->dev, &r);
	if (variant->e.report_zc) {
		ASSERT_EQ(0, ret) TH_LOG("errno %d (%s)", errno, strerror(errno));
		ASSERT_EQ(0, report_check1(&in, &r, in.len)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(in.len, r.sent);
		ASSERT_NE(0ULL, r.notify_id);
		ASSERT_EQ((ssize_t)in.len, zc_recv_exact(self->p.rcv, self->buf,
							 in.len, IDLE_MS));
		ASSERT_EQ(0, clog_wait(self->dev, self->log, r.notify_id,
				       IDLE_MS)) TH_LOG("%s", self->log->err);
	} else {
		ASSERT_EQ(-1, ret) TH_LOG("STRICT sent: %s", rep(&r));
		ASSERT_EQ(EOPNOTSUPP, errno);
		ASSERT_EQ(0ULL, r.sent) TH_LOG("%s", rep(&r));
		ASSERT_EQ(0ULL, r.notify_id) TH_LOG("%s", rep(&r));
		ASSERT_NE(0U, r.why & variant->e.why_mask)
			TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
		ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, clog_quiet(self->dev, self->log, QUIET_MS))
			TH_LOG("a refused call completed: %s", self->log->err);
	}
}

/* many sends, a reader thread: each id completes exactly once */
TEST_F_TIMEOUT(notify, many_sends, 90)
{
	struct zc_rng rng = { zc_seed_for(zc_base_seed(), "notify.many") };
	uint64_t ids[200], total = 0;
	unsigned int i, n = 0;
	uint64_t *offs = calloc(200, sizeof(uint64_t));
	uint64_t *lens = calloc(200, sizeof(uint64_t));
	uint64_t pos = 0;

	ASSERT_NE(NULL, offs);
	ASSERT_NE(NULL, lens);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(0, zc_rx_start(&self->rx, self->p.rcv,
				 ARRAY_SIZE(ids) * 128 * KiB + 64 * KiB, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		uint64_t off = zc_rng_range(&rng, 0, self->size - 1);
		uint64_t len = zc_rng_range(&rng, 1, 128 * KiB);
		struct zcdev_sendfile in, r;

		if (len > self->size - off)
			len = self->size - off;
		in = zc_sendfile_in(self->fd, self->p.snd, off, len, ZCDEV_SEND_NOTIFY);
		r = in;
		ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("send %u: errno %d",
							    i, errno);
		ASSERT_EQ(len, r.sent) TH_LOG("%s", rep(&r));
		ASSERT_NE(0ULL, r.notify_id);
		ASSERT_TRUE(!n || r.notify_id > ids[n - 1]);
		offs[n] = off;
		lens[n] = len;
		ids[n++] = r.notify_id;
		total += len;
		/* read completions as they come, like an application would */
		ASSERT_EQ(0, clog_read(self->dev, self->log))
			TH_LOG("%s", self->log->err);
	}
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&self->rx)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(total, (uint64_t)self->rx.len);
	for (i = 0; i < n; pos += lens[i], i++)
		ASSERT_EQ(-1, zc_verify(self->rx.buf + pos, lens[i], offs[i]))
			TH_LOG("send %u: %s", i, zc_errmsg());
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, clog_wait(self->dev, self->log, ids[i], IDLE_MS))
			TH_LOG("%s", self->log->err);
		ASSERT_EQ(1, clog_count(self->log, ids[i], NULL))
			TH_LOG("id %" PRIu64 " twice", ids[i]);
	}
	ASSERT_EQ(0, clog_quiet(self->dev, self->log, QUIET_MS))
		TH_LOG("%s", self->log->err);
	ASSERT_EQ(n, self->log->n);
	free(offs);
	free(lens);
}

/* ===================================================================== */
/* unacked: TCP keeps the pages until the peer has the bytes             */
/* ===================================================================== */

FIXTURE(unacked) {
	int dev;
	int fd;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	uint8_t *buf;
	struct clog *log;
};

FIXTURE_VARIANT(unacked) {
	struct net_exp e;
};

FIXTURE_VARIANT_ADD(unacked, lo4) { .e = { .fam = ZC_TCP4, .net = ZC_NET_LO } };
FIXTURE_VARIANT_ADD(unacked, lo6) { .e = { .fam = ZC_TCP6, .net = ZC_NET_LO } };
FIXTURE_VARIANT_ADD(unacked, veth4) {
	.e = { .fam = ZC_TCP4, .net = ZC_NET_VETH } };
FIXTURE_VARIANT_ADD(unacked, veth6) {
	.e = { .fam = ZC_TCP6, .net = ZC_NET_VETH } };
FIXTURE_VARIANT_ADD(unacked, nosg4) {
	.e = { .fam = ZC_TCP4, .net = ZC_NET_NOSG } };

#define USIZE (4 * MiB)

/* the peer's window is small, the sender's buffer large */
static const struct zc_pair_opts window_bufs = {
	.rcvbuf = 64 * KiB, .sndbuf = 2 * MiB, .sndtimeo_ms = 3000,
};

FIXTURE_SETUP(unacked)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	zc_sigpipe_guard();
	self->log = calloc(1, sizeof(*self->log));
	ASSERT_NE(NULL, self->log);
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	if (zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = USIZE;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->buf = malloc(self->size);
	ASSERT_NE(NULL, self->buf);
	open_pair(_metadata, &self->p, &variant->e, &window_bufs);
}

FIXTURE_TEARDOWN(unacked)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	free(self->log);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

struct drainer {
	int fd;
	uint8_t *buf;
	uint64_t want;
	uint64_t pause_at;	/* stop here until @go */
	_Atomic uint64_t got;
	_Atomic bool paused;
	_Atomic bool go;
	int err;
	char msg[160];
	pthread_t th;
};

static void *drainer_fn(void *arg)
{
	struct drainer *d = arg;

	while (d->got < d->want) {
		uint64_t left = d->want - d->got;

		if (d->got >= d->pause_at && !d->go) {
			d->paused = true;
			zc_sleep_ms(1);
			continue;
		}
		if (!d->go && left > d->want - d->pause_at)
			left -= d->want - d->pause_at;
		ssize_t n = zc_recv_exact(d->fd, d->buf + d->got,
					  left < 4096 ? left : 4096, IDLE_MS);

		if (n <= 0) {
			d->err = n < 0 ? errno : EPIPE;
			snprintf(d->msg, sizeof(d->msg), "%s", zc_errmsg());
			break;
		}
		d->got += n;
	}
	return NULL;
}

/* what the peer leaves unread while the completion is awaited */
#define TAIL (16 * KiB)

/*
 * A nonblocking NOTIFY send larger than both socket buffers to a peer that
 * does not read: a partial send with an id, and no completion while part
 * of it waits unacknowledged in the sender's queue.  Then the peer reads
 * all but the last 16 KiB and stops: everything has now reached it, so
 * the completion must come (the stack let go; the application need not
 * read).  The range is overwritten at once, then the peer reads the rest:
 * every byte it got, those read after the overwrite included, is the
 * original.
 */
TEST_F_TIMEOUT(unacked, no_completion_until_acked, 60)
{
	struct drainer d = { 0 };
	uint64_t flipped, same, at_completion, total = 0, ids[64];
	unsigned int nid = 0, k;
	bool paused, eagain = false;
	int64_t outq;
	int ret = 0;

	if (_metadata->exit_code)
		return;
	/*
	 * Nonblocking NOTIFY sends until the socket is full (-EAGAIN: that
	 * call sends nothing and completes nothing).  Usually one partial
	 * send; room can open between two calls, then there are more.
	 */
	for (k = 0; k < ARRAY_SIZE(ids); k++) {
		struct zcdev_sendfile in = zc_sendfile_in(self->fd, self->p.snd, total,
						   self->size - total,
						   ZCDEV_SEND_NOTIFY |
						   ZCDEV_SEND_NONBLOCK), r = in;

		if (sf_call(self->dev, &r)) {
			ASSERT_EQ(EAGAIN, errno) TH_LOG("errno %d (%s)", errno,
							strerror(errno));
			ASSERT_LT(0U, k) TH_LOG("the first call sent nothing");
			eagain = true;
			break;
		}
		ASSERT_EQ(0, report_check1(&in, &r, in.len))
			TH_LOG("%s", zc_errmsg());
		ASSERT_LT(0ULL, r.sent);
		ASSERT_NE(0ULL, r.notify_id);
		ids[nid++] = r.notify_id;
		total += r.sent;
		ASSERT_GT(self->size, total) TH_LOG("never partial: %s", rep(&r));
	}
	ASSERT_TRUE(eagain) TH_LOG("%u calls without -EAGAIN", k);

	ASSERT_EQ(0, zc_wait_outq_stable(self->p.snd, 100, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	outq = zc_outq(self->p.snd);
	TH_LOG("%u NOTIFY send(s) of %" PRIu64 " bytes in all; %" PRId64
	       " unacknowledged, %" PRId64 " at the peer", nid, total, outq,
	       zc_inq(self->p.rcv));
	ASSERT_LT(0, outq) TH_LOG("nothing left unacknowledged");
	ASSERT_EQ(0, clog_quiet(self->dev, self->log, QUIET_MS))
		TH_LOG("completion while %" PRId64 " bytes are unacknowledged: %s",
		       outq, self->log->err);

	d.fd = self->p.rcv;
	d.buf = self->buf;
	d.want = total;
	d.pause_at = total - TAIL;
	ASSERT_EQ(0, pthread_create(&d.th, NULL, drainer_fn, &d));
	for (k = 0; k < nid && !ret; k++)
		ret = clog_wait(self->dev, self->log, ids[k], IDLE_MS);
	if (!ret)
		ret = pwrite_flip(self->fd, 0, total);
	at_completion = d.got;
	paused = d.paused;
	d.go = true;
	pthread_join(d.th, NULL);
	ASSERT_EQ(0, ret) TH_LOG("%s %s", self->log->err, zc_errmsg());
	ASSERT_EQ(0, pwrite_flip(self->fd, 0, total)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, d.err) TH_LOG("%s", d.msg);
	ASSERT_EQ(total, (uint64_t)d.got);
	ASSERT_EQ(-1, zc_classify(self->buf, total, 0, &flipped, &same))
		TH_LOG("%s", zc_errmsg());
	TH_LOG("completions when the peer had read %" PRIu64 " of %" PRIu64
	       " (%s); it read %" PRIu64 " changed bytes", at_completion, total,
	       paused ? "paused" : "reading", flipped);
	/* at least TAIL bytes were read after the overwrite */
	ASSERT_GE(total - TAIL, at_completion)
		TH_LOG("the peer read past its pause");
	ASSERT_EQ(0ULL, flipped) TH_LOG("the completion came before the stack "
					"let go of the pages");
	ASSERT_EQ(total, same);
	for (k = 0; k < nid; k++) {
		uint32_t fl = 0;

		ASSERT_EQ(1, clog_count(self->log, ids[k], &fl));
		ASSERT_EQ((uint32_t)ZCDEV_COMPL_COPIED, fl);
	}
	/* nothing else: the -EAGAIN call had no completion */
	ASSERT_EQ(0, clog_quiet(self->dev, self->log, QUIET_MS))
		TH_LOG("%s", self->log->err);
	ASSERT_EQ(nid, self->log->n);
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* compl: the /dev/zcdev file                                             */
/* ===================================================================== */

FIXTURE(compl) {
	int dev;	/* blocking */
	int fd;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair u;	/* unix: completes at once */
	struct zc_pair t;	/* tcp4 lo, small peer window */
	uint8_t *buf;
	struct clog *log;
};

FIXTURE_SETUP(compl)
{
	self->fd = -1;
	self->u.snd = self->u.rcv = self->t.snd = self->t.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	zc_sigpipe_guard();
	self->log = calloc(1, sizeof(*self->log));
	ASSERT_NE(NULL, self->log);
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		TH_LOG("%s", zc_errmsg());
	self->size = USIZE;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->buf = malloc(self->size);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->u, ZC_UNIX, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->t, ZC_TCP4, ZC_NET_LO, &window_bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(compl)
{
	zc_pair_close(&self->u);
	zc_pair_close(&self->t);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	free(self->log);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/* a NOTIFY send on @dev that completes before the ioctl returns (unix) */
static uint64_t unix_send(struct __test_metadata *_metadata,
			  FIXTURE_DATA(compl) *self, int dev, uint64_t off,
			  uint64_t len)
{
	struct zcdev_sendfile in = zc_sendfile_in(self->fd, self->u.snd, off, len,
					   ZCDEV_SEND_NOTIFY), r = in;

	EXPECT_EQ(0, sf_call(dev, &r)) TH_LOG("errno %d (%s)", errno,
					      strerror(errno));
	EXPECT_EQ(len, r.sent) TH_LOG("%s", rep(&r));
	EXPECT_NE(0ULL, r.notify_id);
	return r.notify_id;
}

/* a NOTIFY send to the tcp peer that stays in flight until it reads */
static uint64_t tcp_inflight_send(struct __test_metadata *_metadata,
				  FIXTURE_DATA(compl) *self, int dev,
				  uint64_t *sent)
{
	struct zcdev_sendfile in = zc_sendfile_in(self->fd, self->t.snd, 0, self->size,
					   ZCDEV_SEND_NOTIFY |
					   ZCDEV_SEND_NONBLOCK), r = in;

	EXPECT_EQ(0, sf_call(dev, &r)) TH_LOG("errno %d (%s)", errno,
					      strerror(errno));
	EXPECT_LT(0ULL, r.sent);
	EXPECT_GT(self->size, r.sent) TH_LOG("not partial: %s", rep(&r));
	EXPECT_NE(0ULL, r.notify_id);
	EXPECT_EQ(0, zc_wait_outq_stable(self->t.snd, 100, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	EXPECT_LT(0, zc_outq(self->t.snd));
	*sent = r.sent;
	return r.notify_id;
}

static void tcp_drain(struct __test_metadata *_metadata,
		      FIXTURE_DATA(compl) *self, uint64_t sent)
{
	ASSERT_EQ((ssize_t)sent, zc_recv_exact(self->t.rcv, self->buf, sent,
					       IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, sent, 0)) TH_LOG("%s", zc_errmsg());
}

static void unix_drain(struct __test_metadata *_metadata,
		       FIXTURE_DATA(compl) *self, uint64_t off, uint64_t len)
{
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->u.rcv, self->buf, len,
					      IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, len, off)) TH_LOG("%s", zc_errmsg());
}

/* read(2): whole records only, -EINVAL below one record, -EAGAIN if empty */
TEST_F(compl, read_records)
{
	struct zcdev_completion rec[4];
	const size_t small[] = { 0, 1, 8, 15 };
	uint64_t id[3];
	unsigned int i;
	ssize_t n;

	ASSERT_EQ(16U, sizeof(struct zcdev_completion));
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	errno = 0;
	ASSERT_EQ(-1, read(self->dev, rec, sizeof(rec)));
	ASSERT_EQ(EAGAIN, errno) TH_LOG("empty, O_NONBLOCK: errno %d", errno);

	for (i = 0; i < 3; i++)
		id[i] = unix_send(_metadata, self, self->dev, i * 1000, 1000);
	unix_drain(_metadata, self, 0, 3000);
	/* too small for one record: -EINVAL, even with records queued */
	for (i = 0; i < ARRAY_SIZE(small); i++) {
		errno = 0;
		EXPECT_EQ(-1, read(self->dev, rec, small[i]))
			TH_LOG("read of %zu bytes", small[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("read of %zu: errno %d",
						small[i], errno);
	}
	/* 40 bytes: two whole records, not 2.5 */
	memset(rec, 0xcc, sizeof(rec));
	n = read(self->dev, rec, 40);
	ASSERT_EQ(2 * REC_SIZE, n) TH_LOG("errno %d", errno);
	ASSERT_EQ(0xcc, ((uint8_t *)rec)[32]) TH_LOG("wrote past the records");
	/* each completed before the next send: completion order is send order */
	ASSERT_EQ(id[0], rec[0].id);
	ASSERT_EQ(id[1], rec[1].id);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0U, rec[i].reserved);
		ASSERT_EQ((uint32_t)ZCDEV_COMPL_COPIED, rec[i].flags);
	}
	/* a big buffer: the one left */
	n = read(self->dev, rec, sizeof(rec));
	ASSERT_EQ(REC_SIZE, n) TH_LOG("errno %d", errno);
	ASSERT_EQ(id[2], rec[0].id);
	errno = 0;
	ASSERT_EQ(-1, read(self->dev, rec, sizeof(rec)));
	ASSERT_EQ(EAGAIN, errno);
}

struct reader {
	int dev;
	ssize_t n;
	int err;
	struct zcdev_completion rec[2];
	_Atomic bool done;
	pthread_t th;
};

static void *reader_fn(void *arg)
{
	struct reader *rd = arg;

	rd->n = read(rd->dev, rd->rec, sizeof(rd->rec));
	rd->err = errno;
	rd->done = true;
	return NULL;
}

/* a blocking read sleeps until a completion arrives, then returns it */
TEST_F_TIMEOUT(compl, blocking_read_wakes, 60)
{
	struct reader rd = { .dev = self->dev };
	uint64_t sent, id;

	id = tcp_inflight_send(_metadata, self, self->dev, &sent);
	ASSERT_EQ(0, pthread_create(&rd.th, NULL, reader_fn, &rd));
	zc_sleep_ms(QUIET_MS);
	ASSERT_FALSE(rd.done) TH_LOG("read returned %zd (errno %d) with the "
				     "send still in flight", rd.n, rd.err);
	tcp_drain(_metadata, self, sent);
	for (int i = 0; i < IDLE_MS / 10 && !rd.done; i++)
		zc_sleep_ms(10);
	ASSERT_TRUE(rd.done) TH_LOG("the blocked read never woke up");
	pthread_join(rd.th, NULL);
	ASSERT_EQ(REC_SIZE, rd.n) TH_LOG("errno %d", rd.err);
	ASSERT_EQ(id, rd.rec[0].id);
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* a signal interrupts a blocked read (no SA_RESTART): -EINTR */
TEST_F(compl, blocking_read_eintr)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct reader rd = { .dev = self->dev };

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&rd.th, NULL, reader_fn, &rd));
	zc_sleep_ms(200);
	ASSERT_FALSE(rd.done);
	pthread_kill(rd.th, SIGUSR1);
	for (int i = 0; i < 300 && !rd.done; i++)
		zc_sleep_ms(10);
	ASSERT_TRUE(rd.done) TH_LOG("the signal did not end the read");
	pthread_join(rd.th, NULL);
	ASSERT_EQ(-1, rd.n);
	ASSERT_EQ(EINTR, rd.err);
}

/* poll(2) and epoll: EPOLLIN exactly while records are queued */
TEST_F_TIMEOUT(compl, poll_epoll, 60)
{
	struct pollfd pfd = { .fd = self->dev, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN }, out[2];
	struct zcdev_completion rec[2];
	uint64_t sent, id;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->dev, &ev));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));

	/* at once (unix) */
	id = unix_send(_metadata, self, self->dev, 0, 5000);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_TRUE(out[0].events & EPOLLIN);
	ASSERT_EQ(REC_SIZE, read(self->dev, rec, sizeof(rec)));
	ASSERT_EQ(id, rec[0].id);
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("POLLIN with nothing queued");
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	unix_drain(_metadata, self, 0, 5000);

	/* later, from the network stack: epoll_wait sleeps, then wakes */
	id = tcp_inflight_send(_metadata, self, self->dev, &sent);
	ASSERT_EQ(0, epoll_wait(ep, out, 2, QUIET_MS))
		TH_LOG("EPOLLIN with the send in flight");
	tcp_drain(_metadata, self, sent);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, IDLE_MS)) TH_LOG("no wakeup");
	ASSERT_TRUE(out[0].events & EPOLLIN);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(REC_SIZE, read(self->dev, rec, sizeof(rec)));
	ASSERT_EQ(id, rec[0].id);
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(ep);
}

/* completions belong to the open file the ioctl was made on */
TEST_F_TIMEOUT(compl, per_open_file, 60)
{
	struct pollfd pfd[2];
	struct zcdev_completion rec[2];
	uint64_t sent, ida, idb;
	int other = zc_open_dev();

	ASSERT_LE(0, other) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_set_nonblock(other, true));
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	/* a send on the fixture's file (in flight), one on the other (done) */
	ida = tcp_inflight_send(_metadata, self, self->dev, &sent);
	idb = unix_send(_metadata, self, other, 0, 777);
	unix_drain(_metadata, self, 0, 777);
	tcp_drain(_metadata, self, sent);
	zc_sleep_ms(QUIET_MS);
	pfd[0] = (struct pollfd){ .fd = self->dev, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = other, .events = POLLIN };
	ASSERT_EQ(2, poll(pfd, 2, IDLE_MS));
	/* each file has exactly its own record */
	ASSERT_EQ(REC_SIZE, read(self->dev, rec, sizeof(rec)));
	ASSERT_EQ(ida, rec[0].id);
	ASSERT_EQ(REC_SIZE, read(other, rec, sizeof(rec)));
	ASSERT_EQ(idb, rec[0].id);
	errno = 0;
	ASSERT_EQ(-1, read(self->dev, rec, sizeof(rec)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(-1, read(other, rec, sizeof(rec)));
	ASSERT_EQ(EAGAIN, errno);
	close(other);
}

/* ZCDEV_IOC_SENDV with NOTIFY: one id for the whole call, one record */
TEST_F_TIMEOUT(compl, sendv_one_id, 60)
{
	static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n";
	static const char trl[] = "\r\n0\r\n\r\n";
	struct zcdev_seg seg[4] = {
		{ .type = ZCDEV_SEG_MEM, .addr = (uintptr_t)hdr,
		  .len = sizeof(hdr) - 1 },
		{ .type = ZCDEV_SEG_FILE, .file_fd = self->fd, .offset = 100,
		  .len = 40000 },
		{ .type = ZCDEV_SEG_FILE, .file_fd = self->fd, .offset = 50000,
		  .len = 30000 },
		{ .type = ZCDEV_SEG_MEM, .addr = (uintptr_t)trl,
		  .len = sizeof(trl) - 1 },
	};
	const uint64_t total = sizeof(hdr) - 1 + 70000 + sizeof(trl) - 1;
	struct zc_pair *pairs[2] = { &self->t, &self->u };
	struct clog *l = self->log;
	unsigned int k;

	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	for (k = 0; k < 2; k++) {
		struct zcdev_sendv v = {
			.segs = (uintptr_t)seg, .nr_segs = 4,
			.sock_fd = pairs[k]->snd, .flags = ZCDEV_SEND_NOTIFY,
		};
		uint8_t *b = self->buf;
		uint32_t fl = 0;

		memset(&v.path, 0xcc, offsetof(struct zcdev_sendv, notify_id) +
		       sizeof(v.notify_id) - offsetof(struct zcdev_sendv, path));
		v.seg_index = 0;
		v.reserved = 0;
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDV, &v))
			TH_LOG("%s: errno %d (%s)", k ? "unix" : "tcp4", errno,
			       strerror(errno));
		ASSERT_EQ(total, v.sent);
		ASSERT_EQ(4U, v.seg_index);
		ASSERT_NE(0ULL, v.notify_id);
		ASSERT_EQ((ssize_t)total, zc_recv_exact(pairs[k]->rcv, b, total,
							IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, memcmp(b, hdr, sizeof(hdr) - 1));
		b += sizeof(hdr) - 1;
		ASSERT_EQ(-1, zc_verify(b, 40000, 100)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(-1, zc_verify(b + 40000, 30000, 50000))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, memcmp(b + 70000, trl, sizeof(trl) - 1));
		ASSERT_EQ(0, clog_wait(self->dev, l, v.notify_id, IDLE_MS))
			TH_LOG("%s", l->err);
		ASSERT_EQ(1, clog_count(l, v.notify_id, &fl));
		ASSERT_EQ((uint32_t)ZCDEV_COMPL_COPIED, fl);
		ASSERT_EQ(0, clog_quiet(self->dev, l, QUIET_MS))
			TH_LOG("more than one record for one sendv: %s", l->err);
		ASSERT_EQ(k + 1, l->n);
	}
}

/*
 * The COPIED flag is not constant: a NOTIFY send that never left the
 * sender (queued behind 1 MiB the peer has no room for) and is thrown
 * away by a reset completes without it - nobody copied those pages.
 */
TEST_F_TIMEOUT(compl, never_copied_no_flag, 60)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct zcdev_sendfile in, r;
	uint8_t *junk = calloc(1, 1 * MiB);
	uint32_t fl = 0xff;

	ASSERT_NE(NULL, junk);
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	/* the peer's window fills; most of this waits in the sender's queue */
	ASSERT_EQ((ssize_t)(1 * MiB), send(self->t.snd, junk, 1 * MiB, 0));
	ASSERT_EQ(0, zc_wait_outq_stable(self->t.snd, 100, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	in = zc_sendfile_in(self->fd, self->t.snd, 0, 64 * KiB, ZCDEV_SEND_NOTIFY);
	r = in;
	ASSERT_EQ(0, sf_call(self->dev, &r)) TH_LOG("errno %d (%s)", errno,
						    strerror(errno));
	ASSERT_EQ(64 * KiB, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, r.path);
	ASSERT_EQ(0, clog_quiet(self->dev, self->log, QUIET_MS))
		TH_LOG("%s", self->log->err);
	/* reset: the queue is dropped without being sent */
	ASSERT_EQ(0, setsockopt(self->t.snd, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	close(self->t.snd);
	self->t.snd = -1;
	ASSERT_EQ(0, clog_wait(self->dev, self->log, r.notify_id, IDLE_MS))
		TH_LOG("%s", self->log->err);
	clog_count(self->log, r.notify_id, &fl);
	ASSERT_EQ(0U, fl) TH_LOG("flags 0x%x: pages never sent reported copied",
				 fl);
	free(junk);
}

/* NOTIFY needs the VER1 struct */
TEST_F(compl, ver0_einval)
{
	struct zcdev_sendfile a = zc_sendfile_in(self->fd, self->u.snd, 0, 100,
					  ZCDEV_SEND_NOTIFY);
	uint8_t b[64];

	memcpy(b, &a, sizeof(b));
	errno = 0;
	ASSERT_EQ(-1, ioctl(self->dev, ZC_IOC_SENDFILE_SIZED(64), b));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, zc_marker_check(self->u.snd, self->u.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	ASSERT_EQ(0, clog_quiet(self->dev, self->log, 0));
}

/* CACHED_ONLY + NOTIFY on a cold file: -EBUSY, notify_id 0, no record */
TEST_F_TIMEOUT(compl, cached_only_ebusy_no_id, 60)
{
	char path[PATH_MAX], saved[32] = "";
	struct zcdev_sendfile in, r;
	int fd;

	if (zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	if (zc_sysctl_write(ZC_SKB_DEFER_MAX, "0", saved, sizeof(saved)))
		saved[0] = 0;
	fd = zc_make_payload_file(zc_ext4_dir(), 1 * MiB, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_make_cold(fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	in = zc_sendfile_in(fd, self->t.snd, 0, 64 * KiB,
		     ZCDEV_SEND_NOTIFY | ZCDEV_SEND_CACHED_ONLY);
	r = in;
	ASSERT_EQ(-1, sf_call(self->dev, &r)) TH_LOG("%s", rep(&r));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0ULL, r.sent);
	ASSERT_EQ(0ULL, r.notify_id) TH_LOG("%s", rep(&r));
	ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status);
	ASSERT_EQ(0, clog_quiet(self->dev, self->log, QUIET_MS))
		TH_LOG("%s", self->log->err);
	ASSERT_EQ(0, zc_marker_check(self->t.snd, self->t.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	unlink(path);
	close(fd);
	if (saved[0])
		zc_sysctl_write(ZC_SKB_DEFER_MAX, saved, NULL, 0);
}

/* ===================================================================== */
/* limits: ZCDEV_NOTIFY_MAX_PENDING                                        */
/* ===================================================================== */

/*
 * ZCDEV_NOTIFY_MAX_PENDING sends whose completions are unread: the next
 * NOTIFY send fails with -ENOBUFS and sends nothing; reading one record
 * makes room for exactly one more; every id is then read exactly once.
 * (unix: each completes at once; ~8 s of ioctls under TCG.)
 */
TEST_F_TIMEOUT(compl, max_pending_enobufs, 240)
{
	const unsigned int max = ZCDEV_NOTIFY_MAX_PENDING;
	uint64_t first = 0, last = 0, t0 = zc_now_ms(), i;
	struct zcdev_completion *rec;
	struct zcdev_sendfile in, r;
	uint64_t *issued = calloc(max, sizeof(uint64_t));
	uint8_t *seen = calloc(max, 1), drain[1024];
	unsigned int nrec = 0, extra_id_ok = 0;
	ssize_t n;

	ASSERT_NE(NULL, issued);
	ASSERT_NE(NULL, seen);
	ASSERT_EQ(0, zc_set_nonblock(self->dev, true));
	for (i = 0; i < max; i++) {
		in = zc_sendfile_in(self->fd, self->u.snd, i % 4096, 1,
			     ZCDEV_SEND_NOTIFY);
		r = in;
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &r))
			TH_LOG("send %" PRIu64 ": errno %d (%s)", i, errno,
			       strerror(errno));
		ASSERT_EQ(1ULL, r.sent);
		ASSERT_LT(last, r.notify_id);
		if (!first)
			first = r.notify_id;
		last = r.notify_id;
		issued[i] = r.notify_id;
		if (i % 1024 == 1023) {
			ASSERT_EQ(1024, zc_recv_exact(self->u.rcv, drain, 1024,
						      IDLE_MS));
			ASSERT_EQ(-1, zc_verify(drain, 1024, (i - 1023) % 4096))
				TH_LOG("%s", zc_errmsg());
		}
	}
	TH_LOG("%u NOTIFY sends in %" PRIu64 " ms, ids %" PRIu64 "..%" PRIu64,
	       max, zc_now_ms() - t0, first, last);
	/* one too many */
	in = zc_sendfile_in(self->fd, self->u.snd, 0, 1, ZCDEV_SEND_NOTIFY);
	r = in;
	errno = 0;
	ASSERT_EQ(-1, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &r))
		TH_LOG("send %u accepted with %u unread", max + 1, max);
	ASSERT_EQ(ENOBUFS, errno) TH_LOG("errno %d (%s)", errno, strerror(errno));
	/* without NOTIFY the same send still works */
	r = zc_sendfile_in(self->fd, self->u.snd, 0, 1, 0);
	ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &r));
	ASSERT_EQ(1ULL, r.sent);
	ASSERT_EQ(1, zc_recv_exact(self->u.rcv, drain, 1, IDLE_MS));
	ASSERT_EQ(0, zc_marker_check(self->u.snd, self->u.rcv, IDLE_MS))
		TH_LOG("the -ENOBUFS call sent something: %s", zc_errmsg());

	rec = calloc(max + 8, sizeof(*rec));
	ASSERT_NE(NULL, rec);
	/* read one: room for exactly one more */
	ASSERT_EQ(REC_SIZE, read(self->dev, rec, REC_SIZE));
	nrec = 1;
	in = zc_sendfile_in(self->fd, self->u.snd, 5, 1, ZCDEV_SEND_NOTIFY);
	r = in;
	ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &r))
		TH_LOG("errno %d after reading one record", errno);
	ASSERT_LT(last, r.notify_id);
	last = r.notify_id;
	ASSERT_EQ(1, zc_recv_exact(self->u.rcv, drain, 1, IDLE_MS));
	r = in;
	ASSERT_EQ(-1, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &r));
	ASSERT_EQ(ENOBUFS, errno);

	/* read them all: max records, ids first..last, each once */
	for (;;) {
		n = read(self->dev, rec + nrec, (max + 8 - nrec) * REC_SIZE);
		if (n < 0)
			break;
		ASSERT_EQ(0, n % REC_SIZE);
		nrec += n / REC_SIZE;
	}
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(max + 1, nrec) TH_LOG("%u records", nrec);
	for (i = 0; i < nrec; i++) {
		uint64_t id = rec[i].id, lo = 0, hi = max;

		if (id == last) {
			extra_id_ok++;
			continue;
		}
		while (lo < hi) {	/* issued[] is increasing */
			uint64_t mid = (lo + hi) / 2;

			if (issued[mid] < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		ASSERT_TRUE(lo < max && issued[lo] == id)
			TH_LOG("record %" PRIu64 ": unknown id %" PRIu64, i, id);
		ASSERT_EQ(0, seen[lo]) TH_LOG("id %" PRIu64 " twice", id);
		seen[lo] = 1;
	}
	ASSERT_EQ(1U, extra_id_ok);
	/* and NOTIFY works again */
	ASSERT_NE(0ULL, unix_send(_metadata, self, self->dev, 0, 1));
	free(rec);
	free(seen);
	free(issued);
}

/* ===================================================================== */
/* lifetime: closing /dev/zcdev with completions pending                  */
/* ===================================================================== */

/*
 * Close the /dev/zcdev file while three completions are unread and one
 * send is in flight: no crash; the module cannot be unloaded while the
 * stack still holds the in-flight send; once the peer has read and the
 * sockets are closed, the module refcount is back at its baseline, no page
 * of the file is held (mincore after dropping it), and rmmod works.
 * This test unloads and reloads the module: it runs last.
 */
TEST_F_TIMEOUT(compl, zz_close_with_pending, 90)
{
	char path[PATH_MAX], saved[32] = "";
	int base, mid, after, dev, fd, i;
	struct zcdev_sendfile in, r;
	uint64_t sent;

	if (zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	if (zc_sysctl_write(ZC_SKB_DEFER_MAX, "0", saved, sizeof(saved)))
		saved[0] = 0;
	/* only this test's files hold the module */
	close(self->dev);
	self->dev = -1;
	base = refcnt_settle(200, IDLE_MS);
	ASSERT_LE(0, base);

	fd = zc_make_payload_file(zc_ext4_dir(), USIZE, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	dev = zc_open_dev();
	ASSERT_LE(0, dev);
	for (i = 0; i < 3; i++)
		ASSERT_NE(0ULL, unix_send(_metadata, self, dev, i * 100, 100));
	in = zc_sendfile_in(fd, self->t.snd, 0, USIZE,
		     ZCDEV_SEND_NOTIFY | ZCDEV_SEND_NONBLOCK);
	r = in;
	ASSERT_EQ(0, sf_call(dev, &r)) TH_LOG("errno %d", errno);
	ASSERT_LT(0ULL, r.sent);
	ASSERT_GT((uint64_t)USIZE, r.sent);
	sent = r.sent;
	ASSERT_EQ(0, zc_wait_outq_stable(self->t.snd, 100, IDLE_MS));
	ASSERT_LT(0, zc_outq(self->t.snd));
	mid = zc_module_refcnt();
	close(dev);
	after = zc_module_refcnt();
	TH_LOG("module refcount: %d before, %d with the file open and 4 "
	       "completions pending, %d after close", base, mid, after);
	ASSERT_LT(base, after) TH_LOG("nothing holds the module while the "
				      "network stack still holds a send");
	errno = 0;
	ASSERT_EQ(-1, delete_module("zcdev"))
		TH_LOG("rmmod succeeded with a completion in flight");
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("errno %d", errno);

	/* the peer reads everything, the sockets go */
	ASSERT_EQ((ssize_t)sent, zc_recv_exact(self->t.rcv, self->buf, sent,
					       IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_verify(self->buf, sent, 0)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(300, zc_recv_exact(self->u.rcv, self->buf, 300, IDLE_MS));
	zc_pair_close(&self->t);
	zc_pair_close(&self->u);
	after = refcnt_settle(200, IDLE_MS);
	ASSERT_EQ(base, after) TH_LOG("module refcount %d, baseline %d", after,
				      base);
	/* no page reference left behind */
	ASSERT_EQ(0, zc_make_cold(fd)) TH_LOG("%s", zc_errmsg());
	unlink(path);
	close(fd);
	if (saved[0])
		zc_sysctl_write(ZC_SKB_DEFER_MAX, saved, NULL, 0);
	/* and the module can go */
	ASSERT_EQ(0, delete_module("zcdev")) TH_LOG("rmmod: %s", strerror(errno));
	ASSERT_EQ(0, load_module()) TH_LOG("reload: %s", strerror(errno));
	ASSERT_EQ(0, access("/dev/zcdev", F_OK));
}

TEST_HARNESS_MAIN
