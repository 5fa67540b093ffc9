// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_ktls: kTLS, fully reported (issue 7).
 *
 *   ktls.sw_tx_copied          software kTLS TX (TLS 1.2 and 1.3,
 *                              AES-GCM-128, static keys): every byte
 *                              reported copied with exactly ZCDEV_WHY_KTLS,
 *                              proven by the truth oracle (a change made
 *                              after the send never reaches the peer); the
 *                              peer's kTLS RX decrypts byte-exact data
 *   ktls.strict                STRICT refuses with -EOPNOTSUPP, why KTLS
 *   ktls.zerocopy_ro_sw        TLS_TX_ZEROCOPY_RO on a software kTLS socket:
 *                              the kernel accepts the option (6.1 and 6.12
 *                              store it in tls_context.zerocopy_sendfile,
 *                              which only device offload uses), and the
 *                              send is still copied, why KTLS
 *   ktls.rx_only_zero_copy     kTLS RX without TX: sends stay zero copy
 *                              (oracle), while the RX side really decrypts
 *   ktls.switch_mid_stream     the same socket, plain then kTLS TX: the
 *                              report and ZCDEV_IOC_PROBE follow the change
 *   ktls.nonblock_full_socket  NONBLOCK sends of 16 MiB, as an
 *                              event-driven server makes them: every byte
 *                              a call accepted reaches the peer without
 *                              another call, and POLLOUT comes back after
 *                              EAGAIN.  (These loopback pairs did not
 *                              reproduce the 6.1 stall of kTLS records
 *                              corked in TCP behind MSG_MORE; zchttpd.sh's
 *                              https.ktls_big_file does.)
 *   ktls.nonblock_full_socket_sendv  the same with SENDV, a header from
 *                              memory before the file
 *   ktls.notify_ulp_mid_call   kTLS TX installed by another thread while a
 *                              blocking NOTIFY send waits for room: every
 *                              byte sent, the rest reported copied (KTLS)
 *
 * ZCDEV_IOC_PROBE is asked before every send and must agree with its report.
 * Device kTLS offload (TLS_HW, where TLS_TX_ZEROCOPY_RO makes sends zero
 * copy) needs a NIC with TLS offload; the guests have none, so that path
 * is not tested here.
 * Runs only inside the QEMU guests (vm/), never on the host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <linux/tls.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "kselftest_harness.h"

#include "zc_util.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define PG 4096ULL

#define IDLE_MS 10000

/* ---- local helpers ---------------------------------------------------- */

static void crypto_info(struct tls12_crypto_info_aes_gcm_128 *ci,
			uint16_t version)
{
	memset(ci, 0, sizeof(*ci));
	ci->info.version = version;
	ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memcpy(ci->iv, "zcdev-iv", TLS_CIPHER_AES_GCM_128_IV_SIZE);
	memcpy(ci->key, "zcdev-static-key", TLS_CIPHER_AES_GCM_128_KEY_SIZE);
	memcpy(ci->salt, "salt", TLS_CIPHER_AES_GCM_128_SALT_SIZE);
}

static int tls_ulp(int fd)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"))) {
		zc_seterr(true, "setsockopt(TCP_ULP, \"tls\")");
		return -1;
	}
	return 0;
}

/* TLS_TX or TLS_RX with the static key of @version */
static int tls_dir(int fd, int dir, uint16_t version)
{
	struct tls12_crypto_info_aes_gcm_128 ci;

	crypto_info(&ci, version);
	if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci))) {
		zc_seterr(true, "setsockopt(SOL_TLS, %s)",
			  dir == TLS_TX ? "TLS_TX" : "TLS_RX");
		return -1;
	}
	return 0;
}

static int probe(int dev, int sock, struct zcdev_probe *p)
{
	memset(p, 0, sizeof(*p));
	p->sock_fd = sock;
	p->file_fd = -1;
	p->path = p->why = p->send_flags = p->why_known = 0xcccccccc;
	return ioctl(dev, ZCDEV_IOC_PROBE, p);
}

static const char *whys(uint32_t why)
{
	static __thread char b[128];

	return zct_why_str(why, b, sizeof(b));
}

/* ===================================================================== */

FIXTURE(ktls) {
	int dev;
	int fd;
	char path[PATH_MAX];
	uint64_t size;
	struct zc_pair p;
	uint8_t *buf;
};

FIXTURE_VARIANT(ktls) {
	enum zc_fam fam;
	uint16_t version;
};

FIXTURE_VARIANT_ADD(ktls, tls12_v4) {
	.fam = ZC_TCP4, .version = TLS_1_2_VERSION };
FIXTURE_VARIANT_ADD(ktls, tls13_v4) {
	.fam = ZC_TCP4, .version = TLS_1_3_VERSION };
FIXTURE_VARIANT_ADD(ktls, tls12_v6) {
	.fam = ZC_TCP6, .version = TLS_1_2_VERSION };
FIXTURE_VARIANT_ADD(ktls, tls13_v6) {
	.fam = ZC_TCP6, .version = TLS_1_3_VERSION };

#define KSIZE (1 * MiB + 2345)

/* everything sent sits in the peer's queue, unread */
static const struct zc_pair_opts big_bufs = {
	.rcvbuf = 16 * MiB, .sndbuf = 16 * MiB,
};

FIXTURE_SETUP(ktls)
{
	self->fd = -1;
	self->p.snd = self->p.rcv = -1;
	self->path[0] = 0;
	self->buf = NULL;
	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_check_fs(zc_tmpfs_dir(), ZC_TMPFS_MAGIC))
		TH_LOG("%s", zc_errmsg());
	self->size = KSIZE;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->buf = malloc(self->size);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &big_bufs))
		TH_LOG("%s", zc_errmsg());
	/* kTLS itself present? (tls.ko; the ULP is autoloaded) */
	if (tls_ulp(self->p.snd)) {
		if (zc_ktls_unavailable(errno))
			ZC_NEED(return, "kTLS unavailable: %s", zc_errmsg());
		ASSERT_TRUE(false) TH_LOG("%s", zc_errmsg());
	}
}

FIXTURE_TEARDOWN(ktls)
{
	zc_pair_close(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	free(self->buf);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/* sender kTLS TX, peer kTLS RX (the ULP is on the sender already) */
static void setup_tx(struct __test_metadata *_metadata,
		     FIXTURE_DATA(ktls) *self,
		     const FIXTURE_VARIANT(ktls) *variant)
{
	ASSERT_EQ(0, tls_dir(self->p.snd, TLS_TX, variant->version))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, tls_ulp(self->p.rcv)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, tls_dir(self->p.rcv, TLS_RX, variant->version))
		TH_LOG("%s", zc_errmsg());
}

/*
 * The truth oracle over [off, off + len): probe, send (to a peer that does
 * not read), wait until it is all acknowledged, flip the range in the page
 * cache, read.  Bytes that went by reference come out flipped, copies do
 * not; the report must say which is which, and agree with the probe.
 * @peer_plain: the peer has no kTLS RX (its queue length can be waited on).
 */
static void truth(struct __test_metadata *_metadata, FIXTURE_DATA(ktls) *self,
		  uint64_t off, uint64_t len, bool want_zc, bool peer_plain)
{
	uint64_t done = 0, zc = 0, copied = 0, flipped, same;
	struct zcdev_probe pr;
	uint32_t why = 0;
	int calls = 0;

	ASSERT_EQ(0, probe(self->dev, self->p.snd, &pr))
		TH_LOG("probe: errno %d (%s)", errno, strerror(errno));
	ASSERT_EQ((uint32_t)(want_zc ? ZCDEV_PATH_ZEROCOPY : ZCDEV_PATH_COPY),
		  pr.path) TH_LOG("probe: path %u why %s", pr.path, whys(pr.why));
	ASSERT_EQ(want_zc ? 0U : (uint32_t)ZCDEV_WHY_KTLS, pr.why)
		TH_LOG("probe: why %s", whys(pr.why));
	ASSERT_EQ((uint32_t)ZCDEV_SEND_FLAGS_ALL, pr.send_flags);
	ASSERT_EQ((uint32_t)ZCDEV_WHY_ALL, pr.why_known);

	while (done < len) {
		struct zcdev_sendfile in, r;

		memset(&in, 0, sizeof(in));
		in.file_fd = self->fd;
		in.sock_fd = self->p.snd;
		in.offset = off + done;
		in.len = len - done;
		r = in;
		ASSERT_LT(calls++, 16) TH_LOG("no progress");
		ASSERT_EQ(0, zct_sendfile(self->dev, &r))
			TH_LOG("errno %d (%s)", errno, strerror(errno));
		ASSERT_EQ(0, zc_report_check(&in, &r, len - done))
			TH_LOG("%s", zc_errmsg());
		ASSERT_LT(0ULL, r.sent);
		/* the probe and the report agree, call by call */
		ASSERT_EQ(pr.path, r.path) TH_LOG("probe path %u, %s", pr.path,
						  zc_report_str(&r));
		ASSERT_EQ(pr.why, r.why) TH_LOG("probe why %s, %s", whys(pr.why),
						zc_report_str(&r));
		done += r.sent;
		zc += r.zc_bytes;
		copied += r.copied_bytes;
		why |= r.why;
	}
	ASSERT_EQ(0, zc_wait_outq_empty(self->p.snd, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	if (peer_plain) {
		ASSERT_EQ(0, zc_wait_inq(self->p.rcv, len, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
	}
	ASSERT_EQ(0, zc_flip_range(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->p.rcv, self->buf, len,
					      IDLE_MS)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_flip_range(self->fd, off, len)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_classify(self->buf, len, off, &flipped, &same))
		TH_LOG("not the payload (decryption?): %s", zc_errmsg());
	TH_LOG("off %" PRIu64 " len %" PRIu64 ": reported zc %" PRIu64
	       " copied %" PRIu64 " why %s; the peer saw %" PRIu64 " changed, %"
	       PRIu64 " original", off, len, zc, copied, whys(why), flipped,
	       same);
	ASSERT_EQ(flipped, zc) TH_LOG("zc_bytes is not what went by reference");
	ASSERT_EQ(same, copied) TH_LOG("copied_bytes is not what was copied");
	if (want_zc) {
		ASSERT_EQ(len, zc);
		ASSERT_EQ(0U, why);
	} else {
		ASSERT_EQ(len, copied);
		ASSERT_EQ((uint32_t)ZCDEV_WHY_KTLS, why) TH_LOG("why %s", whys(why));
	}
	ASSERT_EQ(-1, zc_verify_file(self->fd, self->size)) TH_LOG("%s", zc_errmsg());
}

static void truth_ranges(struct __test_metadata *_metadata,
			 FIXTURE_DATA(ktls) *self, bool want_zc,
			 bool peer_plain)
{
	const struct { uint64_t off, len; } c[] = {
		{ 0, 256 * KiB },			/* aligned */
		{ 3 * PG + 123, 200 * KiB + 7 },	/* unaligned ends */
		{ KSIZE - 5000, 5000 },			/* to EOF */
		{ 100, 300 },				/* one small record */
		{ 0, 64 * KiB + 1 },			/* > 4 TLS records */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		truth(_metadata, self, c[i].off, c[i].len, want_zc, peer_plain);
		if (_metadata->exit_code)
			return;
	}
	/* nothing more than reported */
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* software kTLS TX: copied, why exactly KTLS, decrypted byte-exact */
TEST_F_TIMEOUT(ktls, sw_tx_copied, 60)
{
	setup_tx(_metadata, self, variant);
	truth_ranges(_metadata, self, false, false);
}

/* STRICT: refused before anything is sent, with the reason */
TEST_F(ktls, strict)
{
	struct zcdev_sendfile in, r;

	setup_tx(_metadata, self, variant);
	memset(&in, 0, sizeof(in));
	in.file_fd = self->fd;
	in.sock_fd = self->p.snd;
	in.len = 64 * KiB;
	in.flags = ZCDEV_SEND_STRICT;
	r = in;
	ASSERT_EQ(-1, zct_sendfile(self->dev, &r)) TH_LOG("%s", zc_report_str(&r));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(0ULL, r.sent);
	ASSERT_EQ((uint32_t)ZCDEV_PATH_NONE, r.path);
	ASSERT_EQ((uint32_t)ZCDEV_WHY_KTLS, r.why) TH_LOG("why %s", whys(r.why));
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * TLS_TX_ZEROCOPY_RO on software kTLS.  What the kernels do (net/tls/
 * tls_main.c of Debian's 6.1 and 6.12): the setsockopt is accepted for any
 * kTLS socket (value 0 or 1, stored in tls_context.zerocopy_sendfile), and
 * getsockopt returns it; only the device offload path (TLS_HW) reads it.
 * The software path still encrypts into new buffers: copied, why KTLS.
 */
TEST_F_TIMEOUT(ktls, zerocopy_ro_sw, 60)
{
	unsigned int one = 1, two = 2, v = 7;
	socklen_t vl = sizeof(v);
	int ret;

	setup_tx(_metadata, self, variant);
	ret = setsockopt(self->p.snd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &one,
			 sizeof(one));
	TH_LOG("setsockopt(TLS_TX_ZEROCOPY_RO, 1) on software kTLS: %d (%s)",
	       ret, ret ? strerror(errno) : "accepted");
	ASSERT_EQ(0, ret) TH_LOG("errno %d", errno);
	ASSERT_EQ(0, getsockopt(self->p.snd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &v,
				&vl)) TH_LOG("errno %d", errno);
	ASSERT_EQ(1U, v);
	/* the option is checked, not just stored */
	errno = 0;
	ASSERT_EQ(-1, setsockopt(self->p.snd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &two,
				 sizeof(two)));
	ASSERT_EQ(EINVAL, errno);
	/* and it changes nothing for software kTLS */
	truth_ranges(_metadata, self, false, false);
}

/*
 * kTLS RX only (no TLS_TX) on the sending socket: what it sends is plain
 * TCP, by reference.  The peer has kTLS TX only; one record from it is
 * decrypted by the sender's RX side first, proving RX is really on.
 */
TEST_F_TIMEOUT(ktls, rx_only_zero_copy, 60)
{
	static const char ping[] = "ping through kTLS";
	char got[sizeof(ping)];

	ASSERT_EQ(0, tls_dir(self->p.snd, TLS_RX, variant->version))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, tls_ulp(self->p.rcv)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, tls_dir(self->p.rcv, TLS_TX, variant->version))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)sizeof(ping), send(self->p.rcv, ping, sizeof(ping), 0));
	ASSERT_EQ((ssize_t)sizeof(ping),
		  zc_recv_exact(self->p.snd, got, sizeof(got), IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, memcmp(got, ping, sizeof(ping)));

	truth_ranges(_metadata, self, true, true);
}

/*
 * One socket, plain first (zero copy), then kTLS TX installed: from the
 * next call on, probe and report say KTLS.  The peer reads the plain part,
 * then switches its RX to kTLS.
 */
TEST_F_TIMEOUT(ktls, switch_mid_stream, 60)
{
	truth(_metadata, self, 0, 128 * KiB, true, true);
	if (_metadata->exit_code)
		return;
	setup_tx(_metadata, self, variant);
	truth(_metadata, self, 4096, 128 * KiB, false, false);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * Count the plaintext in a stream of TLS records read raw by a peer
 * without kTLS RX: header (type, version, length), then length bytes of
 * which @overhead are not payload (GCM tag, TLS 1.2's explicit nonce,
 * TLS 1.3's inner content type).
 */
struct rec_count {
	uint8_t hdr[5];
	unsigned int have;	/* header bytes so far */
	uint64_t left;		/* body bytes of the current record */
	uint64_t plain, records;
	bool bad;
};

static void rec_feed(struct rec_count *rc, const uint8_t *b, size_t n,
		     unsigned int overhead)
{
	while (n) {
		if (rc->left) {
			size_t k = n < rc->left ? n : rc->left;

			rc->left -= k;
			b += k;
			n -= k;
			continue;
		}
		rc->hdr[rc->have++] = *b++;
		n--;
		if (rc->have < sizeof(rc->hdr))
			continue;
		rc->have = 0;
		rc->left = (uint64_t)rc->hdr[3] << 8 | rc->hdr[4];
		if (rc->hdr[0] != 23 || rc->hdr[1] != 3 || rc->left <= overhead)
			rc->bad = true;
		else
			rc->plain += rc->left - overhead;
		rc->records++;
	}
}

static const struct zc_pair_opts server_opts = { .nodelay = true, .rcvbuf = 65536 };

/* one NONBLOCK call from @done of [@hdr bytes of memory][@len of @fd] */
static int send_from(int dev, int sock, int fd, const char *hdr,
		     uint64_t hlen, uint64_t len, uint64_t done, uint64_t *sent)
{
	struct zcdev_seg sg[2];
	struct zcdev_sendv v;
	struct zcdev_sendfile r;
	unsigned int k = 0;
	int ret;

	if (!hlen) {
		memset(&r, 0, sizeof(r));
		r.file_fd = fd;
		r.sock_fd = sock;
		r.offset = done;
		r.len = len - done;
		r.flags = ZCDEV_SEND_NONBLOCK;
		ret = zct_sendfile(dev, &r);
		*sent = r.sent;
		return ret;
	}
	memset(sg, 0, sizeof(sg));
	if (done < hlen) {
		sg[k].type = ZCDEV_SEG_MEM;
		sg[k].addr = (uintptr_t)(hdr + done);
		sg[k++].len = hlen - done;
	}
	sg[k].type = ZCDEV_SEG_FILE;
	sg[k].file_fd = fd;
	sg[k].offset = done > hlen ? done - hlen : 0;
	sg[k].len = len - sg[k].offset;
	k++;
	memset(&v, 0, sizeof(v));
	v.segs = (uintptr_t)sg;
	v.nr_segs = k;
	v.sock_fd = sock;
	v.flags = ZCDEV_SEND_NONBLOCK;
	ret = zct_sendv(dev, &v);
	*sent = v.sent;
	return ret;
}

/*
 * NONBLOCK calls the way an event-driven server makes them: call again
 * after a short send, wait for POLLOUT after EAGAIN, while the peer (no
 * kTLS RX) reads the records raw.  Every byte must arrive without the
 * sender closing anything, and POLLOUT must come back.
 */
static void full_socket(struct __test_metadata *_metadata,
			FIXTURE_DATA(ktls) *self,
			const FIXTURE_VARIANT(ktls) *variant, uint64_t hlen)
{
	unsigned int overhead = variant->version == TLS_1_2_VERSION ? 24 : 17;
	uint64_t len = 16 * MiB, total = hlen + len, done = 0;
	struct rec_count rc = { };
	int calls = 0, eagain = 0;
	bool want_out = false;
	static uint8_t buf[64 * KiB];
	char path[PATH_MAX], hdr[256];
	int fd;

	ASSERT_LE(hlen, sizeof(hdr));
	memset(hdr, 'h', sizeof(hdr));
	/*
	 * the sender as a server has it: its default (autotuned) send buffer
	 * and TCP_NODELAY; the receiver with a 64 KiB buffer, as curl's
	 */
	fd = zc_make_payload_file(zc_tmpfs_dir(), len, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	unlink(path);
	zc_pair_close(&self->p);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &server_opts))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, tls_ulp(self->p.snd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, tls_dir(self->p.snd, TLS_TX, variant->version))
		TH_LOG("%s", zc_errmsg());

	while (rc.plain < total) {
		struct pollfd pf[2] = {
			{ .fd = self->p.rcv, .events = POLLIN },
			{ .fd = self->p.snd, .events = POLLOUT },
		};
		uint64_t sent;
		int n;

		if (done < total && !want_out) {
			ASSERT_LT(calls++, 10000) TH_LOG("no progress");
			/* short: call again; EAGAIN: wait for POLLOUT */
			if (!send_from(self->dev, self->p.snd, fd, hdr, hlen, len,
				       done, &sent)) {
				ASSERT_LT(0ULL, sent);
				done += sent;
				continue;
			}
			ASSERT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
			eagain++;
			want_out = true;
		}
		n = poll(pf, want_out ? 2 : 1, zc_scaled_ms(IDLE_MS));
		ASSERT_LT(0, n)
			TH_LOG("stalled: %" PRIu64 " of %" PRIu64 " bytes accepted, "
			       "the peer got %" PRIu64 " in %" PRIu64 " records, "
			       "%lld not acknowledged, %d EAGAIN",
			       done, total, rc.plain, rc.records,
			       (long long)zc_outq(self->p.snd), eagain);
		if (pf[1].revents & POLLOUT)
			want_out = false;
		if (pf[0].revents & POLLIN) {
			ssize_t k = recv(self->p.rcv, buf, sizeof(buf), MSG_DONTWAIT);

			ASSERT_LT(0, k) TH_LOG("recv: %s", strerror(errno));
			rec_feed(&rc, buf, (size_t)k, overhead);
			ASSERT_FALSE(rc.bad) TH_LOG("not a TLS data record");
		}
	}
	TH_LOG("%" PRIu64 " bytes in %d calls, %d EAGAIN, %" PRIu64 " records",
	       total, calls, eagain, rc.records);
	close(fd);
	ASSERT_EQ(total, done);
	ASSERT_EQ(total, rc.plain);
	/* the file was large enough for the socket to fill */
	ASSERT_LT(0, eagain);
}

TEST_F_TIMEOUT(ktls, nonblock_full_socket, 60)
{
	full_socket(_metadata, self, variant, 0);
}

/* the same with SENDV: a response header from memory, then the file */
TEST_F_TIMEOUT(ktls, nonblock_full_socket_sendv, 60)
{
	full_socket(_metadata, self, variant, 234);
}

/* a blocking NOTIFY sendfile on its own thread */
struct mid_call {
	int dev, fd, sock;
	uint64_t len;
	struct zcdev_sendfile r;
	int ret, err;
	atomic_bool done;
};

static void *mid_call_send(void *arg)
{
	struct mid_call *m = arg;

	memset(&m->r, 0, sizeof(m->r));
	m->r.file_fd = m->fd;
	m->r.sock_fd = m->sock;
	m->r.len = m->len;
	m->r.flags = ZCDEV_SEND_NOTIFY;
	m->ret = zct_sendfile(m->dev, &m->r);
	m->err = errno;
	atomic_store(&m->done, true);
	return NULL;
}

/*
 * Another thread installs kTLS TX while a blocking NOTIFY send to plain
 * TCP waits for room.  NOTIFY sends to plain TCP carry MSG_ZEROCOPY and
 * the module's msg_ubuf, which kTLS refuses (-EOPNOTSUPP): the batches
 * after the switch must go through kTLS without them, the call sends
 * every byte, and the report says those bytes were copied, reason KTLS.
 * The peer reads raw: the plain part, then records.
 */
TEST_F_TIMEOUT(ktls, notify_ulp_mid_call, 60)
{
	const uint64_t len = 16 * MiB;
	static uint8_t buf[64 * KiB];
	struct mid_call m = { .len = len };
	char path[PATH_MAX];
	uint64_t got = 0;
	pthread_t t;
	int i;

	m.fd = zc_make_payload_file(zc_tmpfs_dir(), len, path, sizeof(path));
	ASSERT_LE(0, m.fd) TH_LOG("%s", zc_errmsg());
	unlink(path);
	zc_pair_close(&self->p);
	ASSERT_EQ(0, zc_pair_open(&self->p, variant->fam, ZC_NET_LO, &server_opts))
		TH_LOG("%s", zc_errmsg());
	m.dev = self->dev;
	m.sock = self->p.snd;
	ASSERT_EQ(0, pthread_create(&t, NULL, mid_call_send, &m));
	/* the send fills the socket and waits for room */
	for (i = 0; i < 500 && zc_outq(self->p.snd) < (int64_t)(64 * KiB); i++)
		usleep(10000);
	usleep(200000);
	EXPECT_FALSE(atomic_load(&m.done)) TH_LOG("the send did not block");
	EXPECT_EQ(0, tls_ulp(self->p.snd)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(0, tls_dir(self->p.snd, TLS_TX, variant->version))
		TH_LOG("%s", zc_errmsg());
	/* drain until the call has returned and nothing more comes */
	for (;;) {
		struct pollfd pf = { .fd = self->p.rcv, .events = POLLIN };
		ssize_t k;

		if (poll(&pf, 1, zc_scaled_ms(atomic_load(&m.done) ? 500 : IDLE_MS)) <= 0)
			break;
		k = recv(self->p.rcv, buf, sizeof(buf), MSG_DONTWAIT);
		if (k <= 0)
			break;
		got += (uint64_t)k;
	}
	shutdown(self->p.snd, SHUT_RDWR);
	ASSERT_EQ(0, pthread_join(t, NULL));
	close(m.fd);
	TH_LOG("ret %d (%s), %s; the peer read %" PRIu64 " bytes", m.ret,
	       m.ret ? strerror(m.err) : "-", zc_report_str(&m.r), got);
	ASSERT_EQ(0, m.ret) TH_LOG("errno %d (%s)", m.err, strerror(m.err));
	ASSERT_EQ(len, m.r.sent);
	ASSERT_EQ(len, m.r.zc_bytes + m.r.copied_bytes);
	ASSERT_LT(0ULL, m.r.copied_bytes);
	ASSERT_TRUE(m.r.why & ZCDEV_WHY_KTLS) TH_LOG("why %s", whys(m.r.why));
	ASSERT_NE(0ULL, m.r.notify_id);
	/* every byte arrived, the records' overhead besides */
	ASSERT_LT(len, got);
}

TEST_HARNESS_MAIN
