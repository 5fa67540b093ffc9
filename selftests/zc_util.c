// SPDX-License-Identifier: GPL-2.0
/* zc_util: helpers for the zcdev selftests.  See zc_util.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sockios.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "zc_util.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* ---- errors ---------------------------------------------------------- */

static __thread char zc_err[512];

const char *zc_errmsg(void)
{
	return zc_err;
}

void zc_seterr(bool with_errno, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(zc_err, sizeof(zc_err), fmt, ap);
	va_end(ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(zc_err))
		snprintf(zc_err + n, sizeof(zc_err) - n, ": %s (errno %d)",
			 strerror(saved), saved);
	errno = saved;
}

/* fail with errno e and a message; returns -1 */
#define FAIL_ERRNO(e, ...) ({ errno = (e); zc_seterr(true, __VA_ARGS__); -1; })
#define FAIL_SYS(...) ({ zc_seterr(true, __VA_ARGS__); -1; })

/* ---- time, randomness ------------------------------------------------- */

uint64_t zc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

uint64_t zc_now_ms(void)
{
	return zc_now_us() / 1000;
}

void zc_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

uint64_t zc_rng_next(struct zc_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t zc_rng_range(struct zc_rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;

	if (span == 0)	/* full 64-bit range */
		return zc_rng_next(r);
	return lo + zc_rng_next(r) % span;
}

uint64_t zc_base_seed(void)
{
	static uint64_t seed;
	const char *s;

	if (seed)
		return seed;
	s = getenv("ZC_SEED");
	if (s && *s)
		seed = strtoull(s, NULL, 0);
	if (!seed)
		seed = (zc_now_us() ^ ((uint64_t)getpid() << 32)) | 1;
	return seed;
}

uint64_t zc_seed_for(uint64_t base, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ULL;
	return base ^ h;
}

/* ---- environment ----------------------------------------------------- */

const char *zc_tmpfs_dir(void)
{
	const char *s = getenv("ZC_TMPFS");

	return s && *s ? s : "/mnt/tmpfs";
}

const char *zc_ext4_dir(void)
{
	const char *s = getenv("ZC_EXT4");

	return s && *s ? s : "/mnt/ext4";
}

int zc_check_fs(const char *dir, long fs_magic)
{
	struct statfs sf;

	if (statfs(dir, &sf))
		return FAIL_SYS("statfs(%s)", dir);
	if ((long)sf.f_type != fs_magic) {
		errno = ENODEV;
		zc_seterr(false, "%s is on fs magic 0x%lx, want 0x%lx", dir,
			  (long)sf.f_type, fs_magic);
		return -1;
	}
	return 0;
}

int zc_timeout_scale(void)
{
	static int k;

	if (!k) {
		const char *e = getenv("ZC_TIMEOUT_SCALE");
		int v = e ? atoi(e) : 1;

		k = v < 1 ? 1 : v > 100 ? 100 : v;
	}
	return k;
}

int zc_scaled_ms(int ms)
{
	return ms <= 0 ? ms : ms * zc_timeout_scale();
}

bool zc_in_harness(void)
{
	const char *e = getenv("ZC_HARNESS");

	return e && !strcmp(e, "1");
}

int zc_open_dev(void)
{
	const char *s = getenv("ZC_DEVICE");
	const char *path = s && *s ? s : "/dev/" ZCDEV_DEVICE_NAME;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return FAIL_SYS("open(%s)", path);
	return fd;
}

/* ---- payload --------------------------------------------------------- */

void zc_payload_fill(void *buf, uint64_t file_off, size_t len)
{
	uint8_t *p = buf;
	size_t i = 0;

	/* leading bytes up to a word boundary */
	while (i < len && ((file_off + i) & 7))
		p[i] = zc_payload_byte(file_off + i), i++;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = zc_payload_word(file_off + i);

		memcpy(p + i, &w, 8);	/* x86: little endian */
	}
	for (; i < len; i++)
		p[i] = zc_payload_byte(file_off + i);
}

int64_t zc_payload_decode(uint64_t word)
{
	uint64_t o = word ^ ZC_PAYLOAD_MAGIC;

	if ((o & 7) || o >= (1ULL << 40))
		return -1;
	return (int64_t)o;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

static int make_file(const char *dir, char *path, size_t pathlen)
{
	char tmp[PATH_MAX];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/zc-test-XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return FAIL_SYS("mkstemp(%s)", tmp);
	if (path)
		snprintf(path, pathlen, "%s", tmp);
	return fd;
}

static int fill_payload_range(int fd, uint64_t off, uint64_t len)
{
	size_t chunk = 1 << 20;
	uint8_t *buf = malloc(chunk);

	if (!buf)
		return FAIL_SYS("malloc");
	while (len) {
		size_t n = len < chunk ? len : chunk;

		zc_payload_fill(buf, off, n);
		if (write_all(fd, buf, n, off)) {
			free(buf);
			return FAIL_SYS("pwrite payload at %" PRIu64, off);
		}
		off += n;
		len -= n;
	}
	free(buf);
	return 0;
}

int zc_make_payload_file(const char *dir, uint64_t size, char *path,
			 size_t pathlen)
{
	int fd = make_file(dir, path, pathlen);

	if (fd < 0)
		return -1;
	if (fill_payload_range(fd, 0, size) || fsync(fd)) {
		int e = errno;

		if (!*zc_err)
			zc_seterr(true, "fsync");
		close(fd);
		unlink(path);
		path[0] = 0;
		errno = e;
		return -1;
	}
	return fd;
}

int zc_make_sparse_file(const char *dir, uint64_t size, uint64_t data_off,
			uint64_t data_len, char *path, size_t pathlen)
{
	int fd = make_file(dir, path, pathlen);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) ||
	    fill_payload_range(fd, data_off, data_len) || fsync(fd)) {
		int e = errno;

		zc_seterr(true, "sparse file");
		close(fd);
		unlink(path);
		path[0] = 0;
		errno = e;
		return -1;
	}
	return fd;
}

/* describe the mismatch at index i of got[0..len) (file offset file_off + i) */
static void describe_bad(const uint8_t *got, size_t len, size_t i,
			 uint64_t file_off, uint8_t exp)
{
	uint64_t off = file_off + i;
	uint64_t wstart = off & ~7ULL;
	char src[96] = "";

	/* if the whole received word is in the buffer, say where it came from */
	if (wstart >= file_off && wstart + 8 <= file_off + len) {
		uint64_t w;
		int64_t from;

		memcpy(&w, got + (wstart - file_off), 8);
		from = zc_payload_decode(w);
		if (from >= 0)
			snprintf(src, sizeof(src),
				 "; received word is payload of offset %" PRId64,
				 from);
		else if (zc_payload_decode(~w) >= 0)
			snprintf(src, sizeof(src),
				 "; received word is flipped payload of offset %"
				 PRId64, zc_payload_decode(~w));
	}
	zc_seterr(false,
		  "data mismatch: first bad byte at index %zu = file offset %"
		  PRIu64 ": expected 0x%02x, got 0x%02x%s", i, off, exp, got[i],
		  src);
}

int64_t zc_verify_buf(const void *gotv, const void *expv, size_t len,
		      uint64_t file_off)
{
	const uint8_t *got = gotv, *exp = expv;
	size_t i;

	if (!memcmp(got, exp, len))
		return -1;
	for (i = 0; i < len && got[i] == exp[i]; i++)
		;
	describe_bad(got, len, i, file_off, exp[i]);
	return (int64_t)i;
}

#define VCHUNK (64 * 1024)

int64_t zc_verify(const void *buf, size_t len, uint64_t file_off)
{
	static __thread uint8_t exp[VCHUNK];
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < VCHUNK ? len - done : VCHUNK;
		size_t i;

		zc_payload_fill(exp, file_off + done, n);
		if (memcmp(p + done, exp, n)) {
			for (i = 0; i < n && p[done + i] == exp[i]; i++)
				;
			describe_bad(p, len, done + i, file_off, exp[i]);
			return (int64_t)(done + i);
		}
		done += n;
	}
	return -1;
}

int64_t zc_verify_file(int fd, uint64_t size)
{
	size_t chunk = 1 << 20;
	uint8_t *buf = malloc(chunk);
	uint64_t off = 0;

	if (!buf)
		return FAIL_SYS("malloc");
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		ssize_t r = pread(fd, buf, n, off);
		int64_t bad;

		if (r != (ssize_t)n) {
			free(buf);
			if (r >= 0)
				errno = EIO;
			zc_seterr(true, "pread at %" PRIu64 " gave %zd", off, r);
			return (int64_t)off;
		}
		bad = zc_verify(buf, n, off);
		if (bad >= 0) {
			free(buf);
			return (int64_t)off + bad;
		}
		off += n;
	}
	free(buf);
	return -1;
}

int64_t zc_classify_buf(const void *gotv, const void *expv, size_t len,
			uint64_t file_off, uint64_t *flipped, uint64_t *same)
{
	const uint8_t *got = gotv, *exp = expv;
	uint64_t f = 0, s = 0;
	int64_t bad = -1;
	size_t i;

	for (i = 0; i < len; i++) {
		if (got[i] == exp[i])
			s++;
		else if ((got[i] ^ exp[i]) == 0xff)
			f++;
		else if (bad < 0)
			bad = (int64_t)i;
	}
	*flipped += f;
	*same += s;
	if (bad >= 0)
		zc_seterr(false,
			  "byte at file offset %" PRIu64
			  " is neither the original 0x%02x nor flipped 0x%02x: 0x%02x",
			  file_off + bad, exp[bad], (uint8_t)~exp[bad], got[bad]);
	return bad;
}

int64_t zc_classify(const void *buf, size_t len, uint64_t file_off,
		    uint64_t *flipped, uint64_t *same)
{
	static __thread uint8_t exp[VCHUNK];
	const uint8_t *p = buf;
	size_t done = 0;

	*flipped = 0;
	*same = 0;
	while (done < len) {
		size_t n = len - done < VCHUNK ? len - done : VCHUNK;
		int64_t bad;

		zc_payload_fill(exp, file_off + done, n);
		bad = zc_classify_buf(p + done, exp, n, file_off + done,
				      flipped, same);
		if (bad >= 0)
			return (int64_t)done + bad;
		done += n;
	}
	return -1;
}

int zc_flip_range(int fd_rw, uint64_t off, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t start = off & ~(uint64_t)(pg - 1);
	size_t maplen = (size_t)(off + len - start);
	uint8_t *map, *p;
	uint64_t i;

	if (!len)
		return 0;
	map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd_rw,
		   (off_t)start);
	if (map == MAP_FAILED)
		return FAIL_SYS("mmap for flip at %" PRIu64, off);
	p = map + (off - start);
	for (i = 0; i < len; i++)
		p[i] ^= 0xff;
	munmap(map, maplen);
	return 0;
}

int zc_oracle_recv(int snd, int rcv, int fd_rw, uint64_t off, uint64_t len,
		   const void *exp, void *buf, int idle_ms, uint64_t *flipped,
		   uint64_t *same)
{
	int64_t bad;

	*flipped = *same = 0;
	if (zc_wait_outq_empty(snd, idle_ms) ||
	    zc_wait_inq(rcv, len, idle_ms))
		return -1;
	if (zc_flip_range(fd_rw, off, len))
		return -1;
	if (zc_recv_exact(rcv, buf, len, idle_ms) != (ssize_t)len) {
		int e = errno;

		zc_flip_range(fd_rw, off, len);
		errno = e;
		return -1;
	}
	if (zc_flip_range(fd_rw, off, len))
		return -1;
	bad = zc_classify_buf(buf, exp, len, off, flipped, same);
	if (bad >= 0) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* ---- page cache ------------------------------------------------------- */

int zc_sysctl_write(const char *path, const char *val, char *old, size_t oldlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return FAIL_SYS("open %s", path);
	if (old && oldlen) {
		n = read(fd, old, oldlen - 1);
		if (n < 0) {
			close(fd);
			return FAIL_SYS("read %s", path);
		}
		old[n] = 0;
		if (n && old[n - 1] == '\n')
			old[n - 1] = 0;
	}
	n = pwrite(fd, val, strlen(val), 0);
	close(fd);
	if (n != (ssize_t)strlen(val))
		return FAIL_SYS("write %s to %s", val, path);
	return 0;
}

void zc_cold_prepare(char *saved, size_t n)
{
	if (zc_sysctl_write(ZC_SKB_DEFER_MAX, "0", saved, n))
		saved[0] = 0;	/* older kernel: nothing deferred */
}

void zc_cold_restore(const char *saved)
{
	if (saved[0])
		zc_sysctl_write(ZC_SKB_DEFER_MAX, saved, NULL, 0);
}

int zc_reopen(int fd, int flags)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, flags | O_CLOEXEC);
}

int zc_module_refcnt(void)
{
	char buf[32] = "";
	int fd = open("/sys/module/zcdev/refcnt", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

int zc_wait_module_refcnt(int want, int ms)
{
	int v = zc_module_refcnt();

	for (int i = 0; v != want && i < zc_scaled_ms(ms) / 10; i++) {
		zc_sleep_ms(10);
		v = zc_module_refcnt();
	}
	return v;
}

int zc_drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return FAIL_SYS("open drop_caches");
	if (write(fd, "3\n", 2) != 2) {
		close(fd);
		return FAIL_SYS("write drop_caches");
	}
	close(fd);
	return 0;
}

long zc_meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	size_t n = strlen(key);
	char line[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			if (sscanf(line + n + 1, " %ld kB", &kb) != 1)
				kb = -1;
			break;
		}
	}
	fclose(f);
	return kb;
}

int64_t zc_resident_pages(int fd, uint64_t off, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t start = off & ~(uint64_t)(pg - 1);
	size_t maplen = (size_t)(off + len - start);
	size_t npages = (maplen + pg - 1) / pg, i;
	unsigned char *vec;
	int64_t res = 0;
	void *map;

	if (!len)
		return 0;
	map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, (off_t)start);
	if (map == MAP_FAILED)
		return FAIL_SYS("mmap for mincore");
	vec = calloc(npages, 1);
	if (!vec || mincore(map, maplen, vec)) {
		zc_seterr(true, "mincore");
		free(vec);
		munmap(map, maplen);
		return -1;
	}
	for (i = 0; i < npages; i++)
		res += vec[i] & 1;
	free(vec);
	munmap(map, maplen);
	return res;
}

int zc_cold_attempts;

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

/*
 * Pages of @fd's first @len bytes in the page cache, uptodate or not:
 * cachestat(2) (Linux 6.5) counts a folio still being read, which
 * mincore() does not (it reports uptodate folios only).  -1 where the
 * kernel has no cachestat.
 */
static int64_t cached_pages(int fd, uint64_t len)
{
	struct { uint64_t off, len; } range = { 0, len };
	struct {
		uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
			 nr_recently_evicted;
	} cs;

	if (syscall(__NR_cachestat, fd, &range, &cs, 0))
		return -1;
	return (int64_t)cs.nr_cache;
}

/*
 * After mincore() saw no page of @fd's @len bytes: how many are still in
 * the cache, being read included (cachestat(2); without it mincore()
 * again, 50 ms and another DONTNEED later).
 */
static int64_t still_cached(int fd, uint64_t len)
{
	int64_t c = cached_pages(fd, len);

	if (c >= 0)
		return c;
	zc_sleep_ms(50);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return zc_resident_pages(fd, 0, len);
}

int64_t zc_make_cold(int fd)
{
	struct stat st;
	int64_t res = -1;
	int i;

	if (fstat(fd, &st))
		return FAIL_SYS("fstat");
	/*
	 * Pages can be transiently unevictable (isolated by reclaim or
	 * compaction, in a per-CPU LRU batch, under writeback, or locked
	 * while a read started before, e.g. a CACHED_ONLY send's readahead,
	 * is in flight: DONTNEED skips them and mincore() does not see them
	 * until they are uptodate): retry for up to ~2 s, with a global
	 * drop_caches now and then.  Cold means nothing in the cache, read
	 * or being read: cachestat(2) where the kernel has it, else mincore()
	 * twice, 50 ms apart.
	 */
	for (i = 1; i <= 100; i++) {
		if (fdatasync(fd))
			return FAIL_SYS("fdatasync");
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		res = zc_resident_pages(fd, 0, st.st_size);
		zc_cold_attempts = i;
		if (!res)
			res = still_cached(fd, st.st_size);
		if (res <= 0)
			return res;
		if (i % 10 == 0 && zc_drop_caches())
			return -1;
		zc_sleep_ms(20);
	}
	zc_seterr(false, "%" PRId64 " of %" PRIu64 " pages still resident",
		  res, ((uint64_t)st.st_size + 4095) / 4096);
	return res;
}

/* ---- sockets --------------------------------------------------------- */

const char *zc_fam_name(enum zc_fam f)
{
	switch (f) {
	case ZC_TCP4: return "tcp4";
	case ZC_TCP6: return "tcp6";
	case ZC_UNIX: return "unix";
	}
	return "?";
}

const char *zc_net_name(enum zc_net n)
{
	switch (n) {
	case ZC_NET_LO: return "lo";
	case ZC_NET_VETH: return "veth";
	case ZC_NET_NOSG: return "nosg";
	}
	return "?";
}

const char *zc_netns_path(enum zc_net n)
{
	switch (n) {
	case ZC_NET_LO: return NULL;
	case ZC_NET_VETH: return "/run/netns/veth";
	case ZC_NET_NOSG: return "/run/netns/nosg";
	}
	return NULL;
}

int zc_net_available(enum zc_net n)
{
	const char *path = zc_netns_path(n);

	if (path && access(path, R_OK))
		return FAIL_SYS("netns %s not available", path);
	return 0;
}

struct ns_sock_req {
	const char *path;
	int domain, type, proto;
	int fd;
	int err;
	char msg[160];
};

static void *ns_sock_thread(void *arg)
{
	struct ns_sock_req *r = arg;
	int nsfd = open(r->path, O_RDONLY | O_CLOEXEC);

	r->fd = -1;
	if (nsfd < 0) {
		r->err = errno;
		snprintf(r->msg, sizeof(r->msg), "open(%s)", r->path);
		return NULL;
	}
	if (setns(nsfd, CLONE_NEWNET)) {
		r->err = errno;
		snprintf(r->msg, sizeof(r->msg), "setns(%s)", r->path);
		close(nsfd);
		return NULL;
	}
	close(nsfd);
	r->fd = socket(r->domain, r->type | SOCK_CLOEXEC, r->proto);
	if (r->fd < 0) {
		r->err = errno;
		snprintf(r->msg, sizeof(r->msg), "socket in %s", r->path);
	}
	return NULL;
}

int zc_socket_in_netns(const char *nspath, int domain, int type, int proto)
{
	struct ns_sock_req r = { .path = nspath, .domain = domain,
				 .type = type, .proto = proto, .fd = -1 };
	pthread_t th;
	int e;

	if (!nspath) {
		int fd = socket(domain, type | SOCK_CLOEXEC, proto);

		if (fd < 0)
			return FAIL_SYS("socket");
		return fd;
	}
	e = pthread_create(&th, NULL, ns_sock_thread, &r);
	if (e)
		return FAIL_ERRNO(e, "pthread_create");
	pthread_join(th, NULL);
	if (r.fd < 0)
		return FAIL_ERRNO(r.err, "%s", r.msg);
	return r.fd;
}

static int set_int(int fd, int level, int opt, int val, const char *name)
{
	if (setsockopt(fd, level, opt, &val, sizeof(val)))
		return FAIL_SYS("setsockopt(%s, %d)", name, val);
	return 0;
}

static int set_buf(int fd, bool rcv, int size)
{
	/* FORCE (root in the guest) goes past net.core.[rw]mem_max */
	int force = rcv ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
	int plain = rcv ? SO_RCVBUF : SO_SNDBUF;

	if (!size)
		return 0;
	if (!setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)))
		return 0;
	return set_int(fd, SOL_SOCKET, plain, size, rcv ? "SO_RCVBUF" : "SO_SNDBUF");
}

static int set_sndtimeo(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms <= 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return FAIL_SYS("SO_SNDTIMEO");
	return 0;
}

int zc_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return FAIL_SYS("F_GETFL");
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (fcntl(fd, F_SETFL, fl))
		return FAIL_SYS("F_SETFL");
	return 0;
}

static socklen_t peer_addr(enum zc_fam fam, enum zc_net net,
			   struct sockaddr_storage *ss)
{
	static const char *v4[] = { "127.0.0.1", "198.51.100.2", "203.0.113.2" };
	static const char *v6[] = { "::1", "2001:db8:1::2", "2001:db8:2::2" };

	memset(ss, 0, sizeof(*ss));
	if (fam == ZC_TCP4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, v4[net], &a->sin_addr);
		return sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, v6[net], &a->sin6_addr);
		return sizeof(*a);
	}
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port;
	else
		((struct sockaddr_in6 *)ss)->sin6_port = port;
}

static uint16_t get_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port;
	return ((const struct sockaddr_in6 *)ss)->sin6_port;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t deadline;

	timeout_ms = zc_scaled_ms(timeout_ms);
	deadline = zc_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = (int64_t)(deadline - zc_now_ms());
		int n;

		if (left < 0)
			left = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return pfd.revents;
		if (n == 0)
			return FAIL_ERRNO(ETIMEDOUT, "poll timed out after %d ms",
					  timeout_ms);
		if (errno != EINTR)
			return FAIL_SYS("poll");
	}
}

/* nonblocking connect with a deadline; retries while IPv6 DAD settles */
static int connect_deadline(enum zc_fam fam, const struct sockaddr_storage *to,
			    socklen_t tolen, const struct zc_pair_opts *o,
			    uint64_t deadline)
{
	int domain = fam == ZC_TCP4 ? AF_INET : AF_INET6;

	for (;;) {
		int fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, o->proto);
		int err = 0, r;
		socklen_t el = sizeof(err);
		int64_t left;

		if (fd < 0)
			return FAIL_SYS("socket");
		if (set_buf(fd, false, o->sndbuf) || zc_set_nonblock(fd, true))
			goto fail;
		r = connect(fd, (const struct sockaddr *)to, tolen);
		if (r && errno != EINPROGRESS) {
			err = errno;
		} else if (r) {
			left = (int64_t)(deadline - zc_now_ms());
			r = wait_fd(fd, POLLOUT, left > 0 ? (int)left : 0);
			if (r < 0)
				goto fail;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
				goto fail;
		}
		if (!err) {
			if (zc_set_nonblock(fd, false))
				goto fail;
			return fd;
		}
		close(fd);
		if ((int64_t)(deadline - zc_now_ms()) <= 0 ||
		    (err != EADDRNOTAVAIL && err != ENETUNREACH &&
		     err != EHOSTUNREACH && err != ECONNREFUSED))
			return FAIL_ERRNO(err, "connect");
		zc_sleep_ms(100);
		continue;
fail:
		r = errno;
		close(fd);
		errno = r;
		return -1;
	}
}

static int pair_unix(struct zc_pair *p, const struct zc_pair_opts *o)
{
	int sv[2];
	int buf = o->sndbuf > o->rcvbuf ? o->sndbuf : o->rcvbuf;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return FAIL_SYS("socketpair");
	p->snd = sv[0];
	p->rcv = sv[1];
	/*
	 * A unix stream sender is limited by its own SO_SNDBUF (the skbs are
	 * charged to it until read), so a "big receive buffer" is a big
	 * sender buffer here.
	 */
	if (set_buf(p->snd, false, buf))
		return -1;
	if (o->rcvbuf && set_buf(p->rcv, true, o->rcvbuf))
		return -1;
	return 0;
}

/* the TCP pair: listener in @nspath bound to @to (port 0), sender here */
static int pair_tcp(struct zc_pair *p, const char *nspath,
		    const struct sockaddr_storage *to, socklen_t tl,
		    const struct zc_pair_opts *o, const char *desc)
{
	struct sockaddr_storage ss = *to, dst = *to;
	uint64_t deadline = zc_now_ms() + o->timeout_ms;
	socklen_t bl;
	int lfd, r;

	lfd = zc_socket_in_netns(nspath, to->ss_family, SOCK_STREAM, o->proto);
	if (lfd < 0)
		return -1;
	if (set_int(lfd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR") ||
	    set_buf(lfd, true, o->rcvbuf))	/* inherited by the child */
		goto fail;
	/* bind, retrying while a tentative IPv6 address finishes DAD */
	while (bind(lfd, (struct sockaddr *)&ss, tl)) {
		if (errno != EADDRNOTAVAIL || zc_now_ms() > deadline) {
			zc_seterr(true, "bind %s", desc);
			goto fail;
		}
		zc_sleep_ms(100);
	}
	if (listen(lfd, 4)) {
		zc_seterr(true, "listen");
		goto fail;
	}
	bl = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &bl)) {
		zc_seterr(true, "getsockname");
		goto fail;
	}
	set_port(&dst, get_port(&ss));
	p->snd = connect_deadline(p->fam, &dst, tl, o, deadline);
	if (p->snd < 0)
		goto fail;
	r = wait_fd(lfd, POLLIN, o->timeout_ms);
	if (r < 0)
		goto fail;
	p->rcv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (p->rcv < 0) {
		zc_seterr(true, "accept");
		goto fail;
	}
	close(lfd);
	if (o->nodelay && set_int(p->snd, IPPROTO_TCP, TCP_NODELAY, 1,
				  "TCP_NODELAY"))
		return -1;
	return 0;
fail:
	r = errno;
	close(lfd);
	errno = r;
	return -1;
}

static void pair_defaults(struct zc_pair *p, struct zc_pair_opts *o,
			  const struct zc_pair_opts *opts)
{
	memset(o, 0, sizeof(*o));
	if (opts)
		*o = *opts;
	if (!o->sndtimeo_ms)
		o->sndtimeo_ms = 10000;
	if (!o->timeout_ms)
		o->timeout_ms = 5000;
	p->snd = p->rcv = -1;
	p->ktls = false;
}

static int pair_finish(struct zc_pair *p, const struct zc_pair_opts *o, int r)
{
	int e;

	if (!r && !set_sndtimeo(p->snd, o->sndtimeo_ms))
		return 0;
	e = errno;
	zc_pair_close(p);
	errno = e;
	return -1;
}

int zc_pair_open(struct zc_pair *p, enum zc_fam fam, enum zc_net net,
		 const struct zc_pair_opts *opts)
{
	struct zc_pair_opts o;
	struct sockaddr_storage ss;
	char desc[64];
	socklen_t sl;

	pair_defaults(p, &o, opts);
	p->fam = fam;
	p->net = net;
	if (fam == ZC_UNIX) {
		if (net != ZC_NET_LO)
			return FAIL_ERRNO(EINVAL, "unix pairs exist only on lo");
		return pair_finish(p, &o, pair_unix(p, &o));
	}
	sl = peer_addr(fam, net, &ss);
	snprintf(desc, sizeof(desc), "%s/%s", zc_fam_name(fam), zc_net_name(net));
	return pair_finish(p, &o, pair_tcp(p, zc_netns_path(net), &ss, sl, &o,
					   desc));
}

int zc_pair_open_at(struct zc_pair *p, const char *nspath, const char *addr,
		    const struct zc_pair_opts *opts)
{
	struct zc_pair_opts o;
	struct sockaddr_storage ss;
	socklen_t sl;

	pair_defaults(p, &o, opts);
	p->net = ZC_NET_LO;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		sl = sizeof(struct sockaddr_in);
		p->fam = ZC_TCP4;
	} else if (inet_pton(AF_INET6, addr,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		sl = sizeof(struct sockaddr_in6);
		p->fam = ZC_TCP6;
	} else {
		return FAIL_ERRNO(EINVAL, "not an address: %s", addr);
	}
	return pair_finish(p, &o, pair_tcp(p, nspath, &ss, sl, &o, addr));
}

void zc_pair_close(struct zc_pair *p)
{
	if (p->snd >= 0)
		close(p->snd);
	if (p->rcv >= 0)
		close(p->rcv);
	p->snd = p->rcv = -1;
}

bool zc_ktls_unavailable(int err)
{
	return err == ENOENT || err == ENOPROTOOPT || err == EOPNOTSUPP ||
	       err == 524 /* kernel ENOTSUPP */;
}

static void tls_info(struct tls12_crypto_info_aes_gcm_128 *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->info.version = TLS_1_2_VERSION;
	ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memcpy(ci->iv, "zcdev-iv", TLS_CIPHER_AES_GCM_128_IV_SIZE);
	memcpy(ci->key, "zcdev-static-key",
	       TLS_CIPHER_AES_GCM_128_KEY_SIZE);
	memcpy(ci->salt, "salt", TLS_CIPHER_AES_GCM_128_SALT_SIZE);
	memset(ci->rec_seq, 0, TLS_CIPHER_AES_GCM_128_REC_SEQ_SIZE);
}

int zc_ktls_setup(struct zc_pair *p)
{
	struct tls12_crypto_info_aes_gcm_128 ci;

	if (p->fam == ZC_UNIX)
		return FAIL_ERRNO(EINVAL, "kTLS needs TCP");
	if (setsockopt(p->snd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return FAIL_SYS("setsockopt(TCP_ULP, \"tls\") on the sender");
	if (setsockopt(p->rcv, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return FAIL_SYS("setsockopt(TCP_ULP, \"tls\") on the receiver");
	tls_info(&ci);
	if (setsockopt(p->snd, SOL_TLS, TLS_TX, &ci, sizeof(ci)))
		return FAIL_SYS("setsockopt(SOL_TLS, TLS_TX)");
	tls_info(&ci);
	if (setsockopt(p->rcv, SOL_TLS, TLS_RX, &ci, sizeof(ci)))
		return FAIL_SYS("setsockopt(SOL_TLS, TLS_RX)");
	p->ktls = true;
	return 0;
}

int64_t zc_outq(int fd)
{
	int v;

	if (ioctl(fd, SIOCOUTQ, &v))
		return FAIL_SYS("SIOCOUTQ");
	return v;
}

int64_t zc_inq(int fd)
{
	int v;

	if (ioctl(fd, SIOCINQ, &v))
		return FAIL_SYS("SIOCINQ");
	return v;
}

int zc_wait_outq_empty(int fd, int timeout_ms)
{
	uint64_t deadline = zc_now_ms() + zc_scaled_ms(timeout_ms);
	int64_t q;

	for (;;) {
		q = zc_outq(fd);
		if (q <= 0)
			return (int)q;
		if (zc_now_ms() > deadline)
			return FAIL_ERRNO(ETIMEDOUT,
					  "SIOCOUTQ still %" PRId64 " after %d ms",
					  q, timeout_ms);
		zc_sleep_ms(1);
	}
}

int zc_wait_inq(int fd, uint64_t bytes, int timeout_ms)
{
	uint64_t deadline = zc_now_ms() + zc_scaled_ms(timeout_ms);
	int64_t q;

	for (;;) {
		q = zc_inq(fd);
		if (q < 0)
			return -1;
		if ((uint64_t)q >= bytes)
			return 0;
		if (zc_now_ms() > deadline)
			return FAIL_ERRNO(ETIMEDOUT,
					  "SIOCINQ %" PRId64 " < %" PRIu64
					  " after %d ms", q, bytes, timeout_ms);
		zc_sleep_ms(1);
	}
}

int zc_wait_outq_stable(int fd, int quiet_ms, int timeout_ms)
{
	uint64_t deadline = zc_now_ms() + zc_scaled_ms(timeout_ms);
	uint64_t since = zc_now_ms();
	int64_t last = zc_outq(fd), q;

	if (last < 0)
		return -1;
	for (;;) {
		zc_sleep_ms(5);
		q = zc_outq(fd);
		if (q < 0)
			return -1;
		if (q != last) {
			last = q;
			since = zc_now_ms();
		} else if (zc_now_ms() - since >= (uint64_t)quiet_ms) {
			return 0;
		}
		if (zc_now_ms() > deadline)
			return FAIL_ERRNO(ETIMEDOUT, "SIOCOUTQ never settled");
	}
}

ssize_t zc_recv_exact(int fd, void *buf, size_t len, int idle_ms)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n;
		int r = wait_fd(fd, POLLIN, idle_ms);

		if (r < 0) {
			zc_seterr(true, "recv: %zu of %zu bytes, then nothing for %d ms",
				  got, len, idle_ms);
			return -1;
		}
		n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			zc_seterr(true, "recv after %zu of %zu bytes", got, len);
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	return (ssize_t)got;
}

int zc_expect_eof(int fd, int idle_ms)
{
	uint8_t buf[4096];
	uint64_t extra = 0;

	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, idle_ms) < 0) {
			zc_seterr(true, "no EOF within %d ms (%" PRIu64
				  " unexpected bytes before)", idle_ms, extra);
			return -1;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return FAIL_SYS("recv waiting for EOF");
		}
		if (n == 0)
			break;
		extra += n;
	}
	if (extra)
		return FAIL_ERRNO(EPROTO, "%" PRIu64 " unexpected bytes before EOF",
				  extra);
	return 0;
}

int zc_marker_check(int snd, int rcv, int idle_ms)
{
	static const char marker[8] = "zcMARK!";
	char got[sizeof(marker)];
	ssize_t n;

	n = send(snd, marker, sizeof(marker), MSG_NOSIGNAL);
	if (n != (ssize_t)sizeof(marker))
		return FAIL_SYS("send marker");
	n = zc_recv_exact(rcv, got, sizeof(got), idle_ms);
	if (n < 0)
		return -1;
	if (n != (ssize_t)sizeof(got))
		return FAIL_ERRNO(EPROTO, "EOF before the marker (%zd bytes)", n);
	if (memcmp(got, marker, sizeof(marker))) {
		uint64_t w;

		memcpy(&w, got, 8);
		return FAIL_ERRNO(EPROTO,
				  "receiver got data before the marker: first word 0x%016"
				  PRIx64 " (payload of offset %" PRId64 ")",
				  w, zc_payload_decode(w));
	}
	return 0;
}

static void *rx_thread(void *arg)
{
	struct zc_rx *rx = arg;
	size_t chunk = rx->chunk ? rx->chunk : 256 * 1024;
	static __thread uint8_t sink[64 * 1024];

	for (;;) {
		struct pollfd pfd = { .fd = rx->fd, .events = POLLIN };
		void *dst;
		size_t want;
		ssize_t n;
		int r = poll(&pfd, 1, zc_scaled_ms(rx->idle_ms));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rx->err = r ? errno : ETIMEDOUT;
			snprintf(rx->msg, sizeof(rx->msg),
				 "receiver: %s after %zu bytes",
				 r ? strerror(errno) : "no data and no EOF for idle timeout",
				 rx->len);
			return NULL;
		}
		if (rx->len < rx->cap) {
			dst = rx->buf + rx->len;
			want = rx->cap - rx->len;
			if (want > chunk)
				want = chunk;
		} else {
			dst = sink;
			want = sizeof(sink);
		}
		n = recv(rx->fd, dst, want, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			rx->err = errno;
			snprintf(rx->msg, sizeof(rx->msg),
				 "receiver: recv: %s after %zu bytes",
				 strerror(errno), rx->len);
			return NULL;
		}
		if (n == 0) {
			rx->eof = true;
			return NULL;
		}
		if (dst == sink)
			rx->extra += n;
		else
			rx->len += n;
	}
}

int zc_rx_start(struct zc_rx *rx, int fd, size_t cap, int idle_ms)
{
	size_t chunk = rx->chunk;
	int e;

	memset(rx, 0, sizeof(*rx));
	rx->chunk = chunk;
	rx->fd = fd;
	rx->cap = cap;
	rx->idle_ms = idle_ms;
	rx->buf = malloc(cap ? cap : 1);
	if (!rx->buf)
		return FAIL_SYS("malloc %zu", cap);
	e = pthread_create(&rx->th, NULL, rx_thread, rx);
	if (e) {
		free(rx->buf);
		rx->buf = NULL;
		return FAIL_ERRNO(e, "pthread_create");
	}
	rx->started = true;
	return 0;
}

int zc_rx_join(struct zc_rx *rx)
{
	if (!rx->started)
		return FAIL_ERRNO(EINVAL, "receiver not started");
	pthread_join(rx->th, NULL);
	rx->started = false;
	if (rx->err) {
		errno = rx->err;
		zc_seterr(false, "%s", rx->msg);
		return -1;
	}
	return 0;
}

void zc_rx_free(struct zc_rx *rx)
{
	if (rx->started) {
		/* a receiver still running: make it finish by timeout */
		pthread_join(rx->th, NULL);
		rx->started = false;
	}
	free(rx->buf);
	rx->buf = NULL;
}

/* ---- the ioctl --------------------------------------------------------- */

void zc_poison_out(struct zcdev_sendfile *a)
{
	memset(&a->path, 0xcc, sizeof(a->path));
	memset(&a->why, 0xcc, sizeof(a->why));
	memset(&a->sent, 0xcc, sizeof(a->sent));
	memset(&a->zc_bytes, 0xcc, sizeof(a->zc_bytes));
	memset(&a->copied_bytes, 0xcc, sizeof(a->copied_bytes));
	memset(&a->status, 0xcc, sizeof(a->status));
	memset(&a->notify_id, 0xcc, sizeof(a->notify_id));
}

int zct_sendfile(int dev, struct zcdev_sendfile *a)
{
	zc_poison_out(a);
	return ioctl(dev, ZCDEV_IOC_SENDFILE, a);
}

struct zcdev_sendfile zc_sendfile_in(int file_fd, int sock_fd, uint64_t off,
				     uint64_t len, uint32_t flags)
{
	struct zcdev_sendfile in;

	memset(&in, 0, sizeof(in));
	in.file_fd = file_fd;
	in.sock_fd = sock_fd;
	in.offset = off;
	in.len = len;
	in.flags = flags;
	return in;
}

int zc_sendfile_args(int dev, int file_fd, int sock_fd, uint64_t off,
		     uint64_t len, uint32_t flags, struct zcdev_sendfile *out)
{
	*out = zc_sendfile_in(file_fd, sock_fd, off, len, flags);
	return zct_sendfile(dev, out);
}

int zc_sendfile_sized(int dev, void *buf, unsigned int size)
{
	return ioctl(dev, ZC_IOC_SENDFILE_SIZED(size), buf);
}

const char *zct_path_name(uint32_t path)
{
	switch (path) {
	case ZCDEV_PATH_NONE: return "NONE";
	case ZCDEV_PATH_ZEROCOPY: return "ZEROCOPY";
	case ZCDEV_PATH_COPY: return "COPY";
	case ZCDEV_PATH_MIXED: return "MIXED";
	}
	return "INVALID";
}

const char *zct_why_str(uint32_t why, char *buf, size_t n)
{
	static const char *names[] = { "NO_SG", "NO_CSUM", "KTLS",
				       "NO_PAGECACHE", "SOCKET", "XFRM",
				       "HOLE", "MEMORY", "NOTIFY", "ROUTE",
				       "DEVICE" };
	size_t used = 0;
	unsigned int i;

	buf[0] = 0;
	if (!why) {
		snprintf(buf, n, "0");
		return buf;
	}
	for (i = 0; i < 32; i++) {
		if (!(why & (1U << i)))
			continue;
		if (i < sizeof(names) / sizeof(names[0]))
			used += snprintf(buf + used, n - used, "%s%s",
					 used ? "|" : "", names[i]);
		else
			used += snprintf(buf + used, n - used, "%sBIT%u",
					 used ? "|" : "", i);
		if (used >= n)
			break;
	}
	return buf;
}

const char *zc_report_str(const struct zcdev_sendfile *r)
{
	static __thread char s[256];
	char w[128];

	snprintf(s, sizeof(s),
		 "off=%" PRIu64 " len=%" PRIu64 " flags=0x%x -> sent=%" PRIu64
		 " zc=%" PRIu64 " copied=%" PRIu64 " path=%s(%u) why=%s(0x%x)"
		 " status=0x%x notify_id=%" PRIu64,
		 (uint64_t)r->offset, (uint64_t)r->len, r->flags,
		 (uint64_t)r->sent, (uint64_t)r->zc_bytes,
		 (uint64_t)r->copied_bytes, zct_path_name(r->path), r->path,
		 zct_why_str(r->why, w, sizeof(w)), r->why, r->status,
		 (uint64_t)r->notify_id);
	return s;
}

/* the byte split, path and why of a report (shared by sendfile/sendv) */
static int split_check(uint64_t sent, uint64_t zc, uint64_t copied,
		       uint32_t path, uint32_t why, uint64_t max_sent,
		       const char *desc)
{
	uint32_t want_path;

	if (sent > max_sent)
		return FAIL_ERRNO(EPROTO, "sent > %" PRIu64 " possible: %s",
				  max_sent, desc);
	if (zc > sent || copied > sent || zc + copied != sent)
		return FAIL_ERRNO(EPROTO, "zc_bytes + copied_bytes != sent: %s",
				  desc);
	if (!sent)
		want_path = ZCDEV_PATH_NONE;
	else if (zc == sent)
		want_path = ZCDEV_PATH_ZEROCOPY;
	else if (copied == sent)
		want_path = ZCDEV_PATH_COPY;
	else
		want_path = ZCDEV_PATH_MIXED;
	if (path != want_path)
		return FAIL_ERRNO(EPROTO, "path should be %s: %s",
				  zct_path_name(want_path), desc);
	if (why & ~ZCDEV_WHY_ALL)
		return FAIL_ERRNO(EPROTO, "unknown why bits: %s", desc);
	if (!copied && why)
		return FAIL_ERRNO(EPROTO, "why set but nothing copied: %s", desc);
	if (copied && !why)
		return FAIL_ERRNO(EPROTO, "bytes copied without a reason: %s",
				  desc);
	return 0;
}

int zc_report_check(const struct zcdev_sendfile *in,
		    const struct zcdev_sendfile *out, uint64_t max_sent)
{

	if (out->file_fd != in->file_fd || out->sock_fd != in->sock_fd ||
	    out->offset != in->offset || out->len != in->len ||
	    out->flags != in->flags || out->reserved != in->reserved ||
	    out->reserved1 != in->reserved1)
		return FAIL_ERRNO(EPROTO, "in fields changed by the call: %s",
				  zc_report_str(out));
	if (out->status & ~ZCDEV_STATUS_ALL)
		return FAIL_ERRNO(EPROTO, "unknown status bits: %s",
				  zc_report_str(out));
	if (!(out->flags & ZCDEV_SEND_NOTIFY) || !out->sent) {
		if (out->notify_id)
			return FAIL_ERRNO(EPROTO, "notify_id without a NOTIFY send: %s",
					  zc_report_str(out));
	} else if (!out->notify_id) {
		return FAIL_ERRNO(EPROTO, "NOTIFY send without a notify_id: %s",
				  zc_report_str(out));
	}
	return split_check(out->sent, out->zc_bytes, out->copied_bytes,
			   out->path, out->why, max_sent, zc_report_str(out));
}

/* ---- ZCDEV_IOC_SENDV, ZCDEV_IOC_PROBE ----------------------------------- */

void zc_poison_sendv_out(struct zcdev_sendv *a)
{
	memset(&a->path, 0xcc, sizeof(a->path));
	memset(&a->why, 0xcc, sizeof(a->why));
	memset(&a->status, 0xcc, sizeof(a->status));
	memset(&a->sent, 0xcc, sizeof(a->sent));
	memset(&a->zc_bytes, 0xcc, sizeof(a->zc_bytes));
	memset(&a->copied_bytes, 0xcc, sizeof(a->copied_bytes));
	memset(&a->seg_index, 0xcc, sizeof(a->seg_index));
	memset(&a->seg_sent, 0xcc, sizeof(a->seg_sent));
	memset(&a->notify_id, 0xcc, sizeof(a->notify_id));
}

int zct_sendv(int dev, struct zcdev_sendv *a)
{
	zc_poison_sendv_out(a);
	return ioctl(dev, ZCDEV_IOC_SENDV, a);
}

struct zcdev_seg zct_seg_mem(const void *addr, uint64_t len)
{
	struct zcdev_seg s = { .type = ZCDEV_SEG_MEM,
			       .addr = (uint64_t)(uintptr_t)addr, .len = len };

	return s;
}

struct zcdev_seg zct_seg_file(int fd, uint64_t off, uint64_t len)
{
	struct zcdev_seg s = { .type = ZCDEV_SEG_FILE, .file_fd = fd,
			       .offset = off, .len = len };

	return s;
}

const char *zc_sendv_report_str(const struct zcdev_sendv *r)
{
	static __thread char s[320];
	char w[128];

	snprintf(s, sizeof(s),
		 "nr_segs=%u flags=0x%x -> sent=%" PRIu64 " zc=%" PRIu64
		 " copied=%" PRIu64 " path=%s(%u) why=%s(0x%x) status=0x%x"
		 " seg_index=%u seg_sent=%" PRIu64 " notify_id=%" PRIu64,
		 r->nr_segs, r->flags, (uint64_t)r->sent,
		 (uint64_t)r->zc_bytes, (uint64_t)r->copied_bytes,
		 zct_path_name(r->path), r->path,
		 zct_why_str(r->why, w, sizeof(w)), r->why, r->status,
		 r->seg_index, (uint64_t)r->seg_sent, (uint64_t)r->notify_id);
	return s;
}

int zc_sendv_report_check(const struct zcdev_sendv *in,
			  const struct zcdev_sendv *out,
			  const struct zcdev_seg *segs, uint64_t max_sent)
{
	const char *d = zc_sendv_report_str(out);
	uint64_t before = 0;
	uint32_t i;

	if (out->segs != in->segs || out->nr_segs != in->nr_segs ||
	    out->sock_fd != in->sock_fd || out->flags != in->flags ||
	    out->reserved != in->reserved)
		return FAIL_ERRNO(EPROTO, "in fields changed by the call: %s", d);
	if (split_check(out->sent, out->zc_bytes, out->copied_bytes,
			out->path, out->why, max_sent, d))
		return -1;
	if (out->status & ~ZCDEV_STATUS_ALL)
		return FAIL_ERRNO(EPROTO, "unknown status bits: %s", d);
	if (!(out->flags & ZCDEV_SEND_NOTIFY) || !out->sent) {
		if (out->notify_id)
			return FAIL_ERRNO(EPROTO, "notify_id without a NOTIFY send: %s", d);
	} else if (!out->notify_id) {
		return FAIL_ERRNO(EPROTO, "NOTIFY send without a notify_id: %s", d);
	}
	if (out->seg_index > in->nr_segs)
		return FAIL_ERRNO(EPROTO, "seg_index > nr_segs: %s", d);
	for (i = 0; i < out->seg_index; i++)
		before += segs[i].len;
	if (out->seg_index == in->nr_segs) {
		if (out->seg_sent)
			return FAIL_ERRNO(EPROTO, "seg_sent %" PRIu64
					  " with every segment sent: %s",
					  (uint64_t)out->seg_sent, d);
	} else if (out->seg_sent >= segs[out->seg_index].len) {
		return FAIL_ERRNO(EPROTO, "seg_sent %" PRIu64 " >= length %"
				  PRIu64 " of segment %u, which is not the first"
				  " segment not sent completely: %s",
				  (uint64_t)out->seg_sent,
				  (uint64_t)segs[out->seg_index].len,
				  out->seg_index, d);
	}
	if (before + out->seg_sent != out->sent)
		return FAIL_ERRNO(EPROTO, "segments before seg_index (%" PRIu64
				  " bytes) + seg_sent != sent: %s", before, d);
	return 0;
}

void zc_poison_probe_out(struct zcdev_probe *p)
{
	memset(&p->path, 0xcc, sizeof(p->path));
	memset(&p->why, 0xcc, sizeof(p->why));
	memset(&p->send_flags, 0xcc, sizeof(p->send_flags));
	memset(&p->why_known, 0xcc, sizeof(p->why_known));
}

int zc_probe_args(int dev, int sock_fd, int file_fd, uint32_t flags,
		  struct zcdev_probe *out)
{
	memset(out, 0, sizeof(*out));
	out->sock_fd = sock_fd;
	out->file_fd = file_fd;
	out->flags = flags;
	zc_poison_probe_out(out);
	return ioctl(dev, ZCDEV_IOC_PROBE, out);
}

const char *zc_probe_str(const struct zcdev_probe *p)
{
	static __thread char s[256];
	char w[128];

	snprintf(s, sizeof(s),
		 "sock_fd=%d file_fd=%d flags=0x%x -> path=%s(%u) why=%s(0x%x)"
		 " send_flags=0x%x why_known=0x%x", p->sock_fd, p->file_fd,
		 p->flags, zct_path_name(p->path), p->path,
		 zct_why_str(p->why, w, sizeof(w)), p->why, p->send_flags,
		 p->why_known);
	return s;
}

/* ---- signals ----------------------------------------------------------- */

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

void zc_sigpipe_guard(void)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigpipes = 0;
}

int zc_sigpipe_count(void)
{
	return sigpipes;
}

bool zc_uring_cmds_pend(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return false;
	return maj > 6 || (maj == 6 && min >= 7);
}
