/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zc_util: helpers shared by the zcdev selftests (and reusable by the
 * hardening programs and the fuzzer).
 *
 * Nothing here depends on kselftest_harness.h: helpers return 0 / a count on
 * success and -1 with errno set on failure, and leave a human-readable
 * description of the failure in zc_errmsg() (thread-local), so a test writes
 *
 *	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
 *		TH_LOG("%s", zc_errmsg());
 *
 * Helpers never block without a timeout.
 */
#ifndef ZC_UTIL_H
#define ZC_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/zcdev.h>

/* ---- errors ---------------------------------------------------------- */

/* Description of the last helper failure in this thread ("" if none). */
const char *zc_errmsg(void);
/* Set it (printf-style); appends ": strerror(errno)" if with_errno. */
void zc_seterr(bool with_errno, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- time, randomness ------------------------------------------------- */

uint64_t zc_now_ms(void);
uint64_t zc_now_us(void);
void zc_sleep_ms(unsigned int ms);

/* splitmix64: small, seedable, good enough to pick offsets and lengths. */
struct zc_rng {
	uint64_t s;
};
uint64_t zc_rng_next(struct zc_rng *r);
/* uniform in [lo, hi] (inclusive); hi >= lo */
uint64_t zc_rng_range(struct zc_rng *r, uint64_t lo, uint64_t hi);
/*
 * The base seed: $ZC_SEED if set (decimal or 0x hex), else derived from the
 * clock.  zc_seed_for() mixes in a name so each test has its own stream that
 * still follows from the one printed base seed.
 */
uint64_t zc_base_seed(void);
uint64_t zc_seed_for(uint64_t base, const char *name);

/* ---- environment ----------------------------------------------------- */

/* $ZC_TMPFS / $ZC_EXT4, defaulting to /mnt/tmpfs and /mnt/ext4. */
const char *zc_tmpfs_dir(void);
const char *zc_ext4_dir(void);
/*
 * 0 if dir exists and is on the filesystem with statfs magic fs_magic,
 * else -1 with a message (use it as the SKIP reason).
 */
int zc_check_fs(const char *dir, long fs_magic);
#define ZC_TMPFS_MAGIC	0x01021994L
#define ZC_EXT4_MAGIC	0xEF53L
#define ZC_NFS_MAGIC	0x6969L

/*
 * ZC_TIMEOUT_SCALE=N in the environment (vm/init: zc.timeout_scale=N on the
 * kernel command line; vm/check-debug.sh, whose KASAN + lockdep kernel runs
 * 5-20x slower): the library's waits (wait_fd, SIOCOUTQ/SIOCINQ waits, the
 * receiver thread's idle time) and every test's harness timeout last N
 * times longer.  Nothing else changes: a wait that must end still ends.
 */
int zc_timeout_scale(void);
int zc_scaled_ms(int ms);

/*
 * True inside the harness's own guests (vm/init exports ZC_HARNESS=1).
 * There the environment is the harness's: anything it promises (a mount, a
 * namespace, a kernel module, nc, zcsend, kTLS, the disk throttle) and
 * lacks is a failure, not a skip.  Elsewhere (a developer's own VM) such a
 * test skips.  Use ZC_NEED() instead of SKIP() for those; SKIP() stays for
 * documented properties of a kernel (no fault injection, no configfs
 * subsystem) and of a variant.
 */
bool zc_in_harness(void);
#define ZC_NEED(statement, fmt, ...) do {				\
	if (zc_in_harness()) {						\
		TH_LOG("the harness's guest lacks what it promises: " fmt, \
		       ##__VA_ARGS__);					\
		_metadata->exit_code = KSFT_FAIL;			\
		statement;						\
	}								\
	SKIP(statement, fmt, ##__VA_ARGS__);				\
} while (0)

/* open("/dev/zcdev") (path from $ZC_DEVICE if set) */
int zc_open_dev(void);

/* ---- the self-locating payload --------------------------------------- */

/*
 * Every 8-byte little-endian word of a payload file, at file offset o
 * (o % 8 == 0), holds zc_payload_word(o) = o ^ ZC_PAYLOAD_MAGIC.  Any byte of
 * the file is therefore predictable from its offset, and a wrong word names
 * the offset it really came from (zc_payload_decode).
 */
#define ZC_PAYLOAD_MAGIC	0x7a6364657666a5c3ULL
static inline uint64_t zc_payload_word(uint64_t word_off)
{
	return (word_off & ~7ULL) ^ ZC_PAYLOAD_MAGIC;
}
static inline uint8_t zc_payload_byte(uint64_t off)
{
	return (uint8_t)(zc_payload_word(off) >> (8 * (off & 7)));
}
/* fill buf with the payload bytes of [file_off, file_off + len) */
void zc_payload_fill(void *buf, uint64_t file_off, size_t len);
/* word -> the offset it encodes, or -1 if it is not a payload word */
int64_t zc_payload_decode(uint64_t word);

/*
 * Create a payload file of @size bytes in @dir (mkstemp), written, fsynced.
 * Returns an O_RDWR fd; the path is stored in @path (caller unlinks it).
 */
int zc_make_payload_file(const char *dir, uint64_t size, char *path,
			 size_t pathlen);
/* Same, but the file has holes: only [data_off, data_off + data_len) is
 * written (tmpfs/ext4 sparse file of @size bytes). */
int zc_make_sparse_file(const char *dir, uint64_t size, uint64_t data_off,
			uint64_t data_len, char *path, size_t pathlen);

/*
 * Compare @len received bytes with the payload at @file_off.
 * Returns -1 if they all match, else the index (into buf) of the first
 * mismatch; zc_errmsg() then describes it (file offset, expected, got, and
 * which file offset the received word came from if it is a payload word).
 */
int64_t zc_verify(const void *buf, size_t len, uint64_t file_off);
/* Same against an arbitrary expected buffer. */
int64_t zc_verify_buf(const void *got, const void *exp, size_t len,
		      uint64_t file_off);
/* Read the file back (pread) and check it is still the payload. */
int64_t zc_verify_file(int fd, uint64_t size);

/*
 * Truth-oracle classification: each received byte is either the expected
 * byte (@same), its bitwise complement (@flipped), or something else
 * (returns the index of the first such byte, else -1).
 */
int64_t zc_classify(const void *buf, size_t len, uint64_t file_off,
		    uint64_t *flipped, uint64_t *same);
int64_t zc_classify_buf(const void *got, const void *exp, size_t len,
			uint64_t file_off, uint64_t *flipped, uint64_t *same);

/* XOR 0xff over [off, off + len) of the file through a MAP_SHARED mapping
 * of @fd_rw (same page cache the sender lends from). */
int zc_flip_range(int fd_rw, uint64_t off, uint64_t len);
/*
 * The truth oracle after a send of [off, off + len) on a TCP pair whose
 * receiver is local: wait until @len bytes are acknowledged and queued at
 * @rcv, flip the range through @fd_rw, receive the @len bytes into @buf,
 * flip it back, and count received bytes that are the flipped (lent by
 * reference: the receiver's skbs hold the page) and the original (copied)
 * bytes of @exp.  0, or -1 with a message (including a byte that is
 * neither).
 */
int zc_oracle_recv(int snd, int rcv, int fd_rw, uint64_t off, uint64_t len,
		   const void *exp, void *buf, int idle_ms, uint64_t *flipped,
		   uint64_t *same);

/* ---- page cache ------------------------------------------------------- */

int zc_drop_caches(void);
/* write @val to a /proc/sys file; the old value (no newline) into @old */
int zc_sysctl_write(const char *path, const char *val, char *old,
		    size_t oldlen);
/*
 * Socket buffers read on one CPU are freed later on the CPU that allocated
 * them (skb_attempt_defer_free), which can be seconds on an idle guest: the
 * page references in them keep file pages in the page cache.  Tests that
 * need a cold file set this sysctl to 0 (and restore it).
 */
#define ZC_SKB_DEFER_MAX "/proc/sys/net/core/skb_defer_max"
/* set ZC_SKB_DEFER_MAX to 0, its old value into @saved ("" if absent) */
void zc_cold_prepare(char *saved, size_t n);
/* put back what zc_cold_prepare() saved */
void zc_cold_restore(const char *saved);
/* open @fd's file again through /proc/self/fd, with @flags | O_CLOEXEC */
int zc_reopen(int fd, int flags);
/* the zcdev module's reference count (/sys/module/zcdev/refcnt), -1 if none */
int zc_module_refcnt(void);
/*
 * wait up to @ms (scaled) for the module's reference count to be @want:
 * references a NOTIFY completion drops from the module's workqueue go
 * some time after the socket let go.  Returns the last count read.
 */
int zc_wait_module_refcnt(int want, int ms);
/* number of pages of [off, off + len) resident in the page cache (mincore) */
int64_t zc_resident_pages(int fd, uint64_t off, uint64_t len);
/* the "@key: N kB" line of /proc/meminfo, -1 if it cannot be read */
long zc_meminfo_kb(const char *key);
/*
 * Make the file cold: fdatasync + POSIX_FADV_DONTNEED until no page is
 * resident (with drop_caches now and then), for up to ~2 s.  Returns the
 * number of pages still resident (0 = cold) or -1.
 */
int64_t zc_make_cold(int fd);
extern int zc_cold_attempts;	/* attempts the last zc_make_cold needed */

/* ---- sockets --------------------------------------------------------- */

enum zc_fam { ZC_TCP4, ZC_TCP6, ZC_UNIX };
enum zc_net {
	ZC_NET_LO,	/* loopback (unix: a socketpair) */
	ZC_NET_VETH,	/* receiver in /run/netns/veth, egress zc0 (offloads on) */
	ZC_NET_NOSG,	/* receiver in /run/netns/nosg, egress zc1 (sg/tx off) */
};
const char *zc_fam_name(enum zc_fam f);
const char *zc_net_name(enum zc_net n);
/* "/run/netns/veth" etc., NULL for ZC_NET_LO */
const char *zc_netns_path(enum zc_net n);
/* 0 if the net exists (netns file present), else -1 with a message. */
int zc_net_available(enum zc_net n);

/* Create a socket inside the network namespace @nspath (setns in a helper
 * thread); the socket stays in that namespace.  nspath NULL = ours. */
int zc_socket_in_netns(const char *nspath, int domain, int type, int proto);

struct zc_pair_opts {
	int rcvbuf;		/* receiver SO_RCVBUF(FORCE), 0 = default */
	int sndbuf;		/* sender SO_SNDBUF(FORCE), 0 = default */
	int sndtimeo_ms;	/* sender SO_SNDTIMEO, 0 = default 10000, <0 none */
	bool nodelay;		/* TCP_NODELAY on the sender */
	int timeout_ms;		/* connect/accept deadline, 0 = 5000 */
	int proto;		/* socket protocol (IPPROTO_MPTCP), 0 = TCP */
};

/*
 * A connected stream socket pair: @snd in the root namespace, @rcv in the
 * peer namespace of @net (or loopback / a unix socketpair).
 */
struct zc_pair {
	int snd;
	int rcv;
	enum zc_fam fam;
	enum zc_net net;
	bool ktls;
};
int zc_pair_open(struct zc_pair *p, enum zc_fam fam, enum zc_net net,
		 const struct zc_pair_opts *o);
/*
 * The same over any address: the receiver listens on @addr (IPv4 or IPv6
 * literal) in the namespace @nspath (NULL = ours), the sender connects to
 * it from the root namespace.  p->net is ZC_NET_LO (meaningless here).
 */
int zc_pair_open_at(struct zc_pair *p, const char *nspath, const char *addr,
		    const struct zc_pair_opts *o);
void zc_pair_close(struct zc_pair *p);

/*
 * kTLS with static keys: TCP_ULP "tls" + TLS_TX on p->snd, TLS_RX on p->rcv
 * (TLS 1.2, AES-GCM-128).  -1 with errno ENOENT/ENOPROTOOPT/... when kTLS
 * is unavailable (callers SKIP on zc_ktls_unavailable(errno)).
 */
int zc_ktls_setup(struct zc_pair *p);
bool zc_ktls_unavailable(int err);

int zc_set_nonblock(int fd, bool on);
/* SIOCOUTQ: bytes not yet acknowledged (TCP) / not yet read (unix) */
int64_t zc_outq(int fd);
/* SIOCINQ */
int64_t zc_inq(int fd);
/* Wait until SIOCOUTQ == 0 on a TCP sender.  -1/ETIMEDOUT (message says
 * what was left) if it does not happen within timeout_ms. */
int zc_wait_outq_empty(int fd, int timeout_ms);
/* Wait until SIOCINQ >= bytes on a TCP receiver. */
int zc_wait_inq(int fd, uint64_t bytes, int timeout_ms);
/* Wait until SIOCOUTQ stops changing for quiet_ms (or timeout). */
int zc_wait_outq_stable(int fd, int quiet_ms, int timeout_ms);

/*
 * Read exactly @len bytes (less only at EOF).  Fails with ETIMEDOUT when no
 * byte arrives for @idle_ms.  Returns the number read (short = EOF).
 */
ssize_t zc_recv_exact(int fd, void *buf, size_t len, int idle_ms);
/* 0 if the next read returns EOF within idle_ms; -1 (message says how many
 * extra bytes came, or timeout) otherwise. */
int zc_expect_eof(int fd, int idle_ms);
/*
 * Proof that nothing was sent: write a marker with write(2) on @snd and read
 * it on @rcv.  Anything a failed call had queued would arrive before it.
 * 0 if exactly the marker arrives first; -1 with a message otherwise.
 */
int zc_marker_check(int snd, int rcv, int idle_ms);

/* A receiver thread that collects a stream until EOF. */
struct zc_rx {
	int fd;
	int idle_ms;		/* give up when nothing arrives this long */
	size_t cap;
	uint8_t *buf;
	size_t len;		/* bytes stored in buf */
	uint64_t extra;		/* bytes beyond cap (discarded) */
	bool eof;
	int err;		/* errno of the failure, 0 if EOF was reached */
	char msg[160];
	pthread_t th;
	bool started;
	size_t chunk;		/* read size, 0 = 256 KiB */
};
int zc_rx_start(struct zc_rx *rx, int fd, size_t cap, int idle_ms);
/* join; returns 0 if the stream ended with EOF, else -1 with a message */
int zc_rx_join(struct zc_rx *rx);
void zc_rx_free(struct zc_rx *rx);

/* ---- the ioctl --------------------------------------------------------- */

/* Fill the out fields (path, why, sent, zc_bytes, copied_bytes, status,
 * notify_id) with 0xcc. */
void zc_poison_out(struct zcdev_sendfile *a);
/* ioctl(dev, ZCDEV_IOC_SENDFILE, a) after poisoning the out fields. */
int zct_sendfile(int dev, struct zcdev_sendfile *a);
/* The struct zc_sendfile_args() passes in (for zc_report_check's @in). */
struct zcdev_sendfile zc_sendfile_in(int file_fd, int sock_fd, uint64_t off,
				     uint64_t len, uint32_t flags);
/* Convenience: fill a struct and call zct_sendfile. */
int zc_sendfile_args(int dev, int file_fd, int sock_fd, uint64_t off,
		     uint64_t len, uint32_t flags, struct zcdev_sendfile *out);
/* raw ioctl with an explicit _IOC size (ABI versioning tests) */
int zc_sendfile_sized(int dev, void *buf, unsigned int size);
/* any of the device's ioctls with an explicit _IOC size */
#define ZC_IOC_SIZED(nr, sz) \
	_IOC(_IOC_READ | _IOC_WRITE, ZCDEV_IOC_MAGIC, (nr), (sz))
#define ZC_IOC_SENDFILE_SIZED(sz)	ZC_IOC_SIZED(0x01, (sz))
#define ZC_IOC_PROBE_SIZED(sz)		ZC_IOC_SIZED(0x02, (sz))
#define ZC_IOC_SENDV_SIZED(sz)		ZC_IOC_SIZED(0x03, (sz))

/*
 * Check a report returned with 0: in fields unchanged from @in, path/why
 * valid and consistent with the byte counts, sent == zc + copied,
 * why == 0 iff nothing copied, sent <= @max_sent, status has only known
 * bits, notify_id != 0 iff ZCDEV_SEND_NOTIFY and something was sent.
 * 0 or -1 with a message.
 */
int zc_report_check(const struct zcdev_sendfile *in,
		    const struct zcdev_sendfile *out, uint64_t max_sent);
const char *zct_path_name(uint32_t path);
/* "NO_SG|KTLS" style; buf of at least 128 bytes */
const char *zct_why_str(uint32_t why, char *buf, size_t n);
/* one-line description of a report (static thread-local buffer) */
const char *zc_report_str(const struct zcdev_sendfile *r);

/*
 * Does io_uring let a zcdev command stay pending on a full socket on this
 * kernel?  Only where io_uring can cancel a command (IO_URING_F_CANCEL,
 * mainline 6.7): the module then waits for room instead of completing
 * -EAGAIN (zcdev(4)).  Taken from the kernel's version, not the module.
 */
bool zc_uring_cmds_pend(void);

/* ---- ZCDEV_IOC_SENDV, ZCDEV_IOC_PROBE ----------------------------------- */

/* Fill every out field of a sendv struct with 0xcc. */
void zc_poison_sendv_out(struct zcdev_sendv *a);
/* ioctl(dev, ZCDEV_IOC_SENDV, a) after poisoning the out fields. */
int zct_sendv(int dev, struct zcdev_sendv *a);
/* Segment constructors. */
struct zcdev_seg zct_seg_mem(const void *addr, uint64_t len);
struct zcdev_seg zct_seg_file(int fd, uint64_t off, uint64_t len);
/*
 * Check a sendv report returned with 0 (or the out fields of a STRICT
 * -EOPNOTSUPP / CACHED_ONLY -EBUSY, which have sent 0): in fields
 * unchanged, the byte split and path as zc_report_check, and
 * seg_index/seg_sent consistent with sent and @segs (the segments the call
 * was given): sum(len[0..seg_index)) + seg_sent == sent, seg_index ==
 * nr_segs or seg_sent < len[seg_index], sent <= @max_sent.
 */
int zc_sendv_report_check(const struct zcdev_sendv *in,
			  const struct zcdev_sendv *out,
			  const struct zcdev_seg *segs, uint64_t max_sent);
const char *zc_sendv_report_str(const struct zcdev_sendv *r);

/* Fill the out fields of a probe struct with 0xcc. */
void zc_poison_probe_out(struct zcdev_probe *p);
/* Fill a probe struct and call ZCDEV_IOC_PROBE (out fields poisoned). */
int zc_probe_args(int dev, int sock_fd, int file_fd, uint32_t flags,
		  struct zcdev_probe *out);
const char *zc_probe_str(const struct zcdev_probe *p);

/* ---- signals ----------------------------------------------------------- */

/* SIGPIPE catcher: counts deliveries instead of dying. */
void zc_sigpipe_guard(void);
int zc_sigpipe_count(void);

#ifdef __KSELFTEST_HARNESS_H
/* after every test registered itself (KSELFTEST_PRIO_TEST): scale them */
static void __attribute__((constructor(KSELFTEST_PRIO_TEST + 10), unused))
zc_scale_harness_timeouts(void)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	int k = zc_timeout_scale();

	if (k <= 1)
		return;
	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= k;
}
#endif

#endif /* ZC_UTIL_H */
