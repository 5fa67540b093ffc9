// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
/*
 * libzc-preload.so: zcdev for programs that call sendfile(2) and cannot be
 * changed (nginx, lighttpd, Apache).  LD_PRELOAD it; see libzc-preload(8).
 *
 * sendfile() and sendfile64() are interposed.  A call whose output is a
 * stream socket and whose input is a regular file goes through libzc's
 * zc_sendfile() (ZCDEV_IOC_SENDFILE) with sendfile(2)'s offset rules; every
 * other call, every call the module refuses with an error and every call
 * that sends nothing goes to the real sendfile(2) (dlsym RTLD_NEXT), so
 * that argument errors, EOF and EOVERFLOW come from the kernel's own
 * sendfile and callers' fallbacks still trigger.  EINTR, EAGAIN and the
 * connection's own errors (EPIPE, ECONNRESET...) are returned as the module
 * said them (nothing was sent; a socket error is reported once), EPIPE with
 * sendfile's SIGPIPE.  No /dev/zcdev: the real sendfile(2), silently.
 *
 * What happened is counted per process (bytes by page reference, copied
 * and by reason, sent by the real sendfile(2) and why) and per output
 * socket (one "connection" = one socket inode seen on a descriptor), and
 * written to $ZC_PRELOAD_LOG: a line per connection when its descriptor is
 * seen holding another socket, every $ZC_PRELOAD_LOG_EVERY calls of a
 * connection, and at exit.
 *
 * The hot path allocates nothing and takes no lock that a signal handler
 * could be waiting on: totals are atomic, a connection slot is taken with
 * a bounded try-lock (a sendfile() from a signal handler that interrupted
 * the same slot's update is counted in the totals only), and a log line is
 * open(O_APPEND)/write/close of a stack buffer.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zc.h"

#define ZC_EXPORT __attribute__((visibility("default")))

/* sendfile(2)'s per-call limit, MAX_RW_COUNT (INT_MAX & PAGE_MASK). */
#define PRELOAD_MAX_COUNT	0x7ffff000UL
/* Connections tracked per descriptor number below this; others: totals. */
#define PRELOAD_MAX_FDS		65536

/* Why a call went to the real sendfile(2). */
enum fb {
	FB_NO_MODULE,	/* /dev/zcdev absent (or not openable) */
	FB_NOT_SOCKET,	/* output is not a stream socket */
	FB_NOT_FILE,	/* input is not a regular file */
	FB_COUNT0,	/* count 0: only the checks */
	FB_REFUSED,	/* the module returned an error: sendfile decides */
	FB_NOTHING,	/* the module sent nothing (EOF...): sendfile decides */
	FB_NR
};
static const char *const fb_names[FB_NR] = {
	"no_module", "not_socket", "not_file", "count0", "refused", "nothing",
};

struct counts {
	uint64_t calls;		/* sendfile() calls */
	uint64_t bytes;		/* bytes sent, all paths */
	uint64_t zc;		/* by page reference (module's report) */
	uint64_t copied;	/* copied (module's report) */
	uint64_t unknown;	/* by the real sendfile(2): not known */
};

struct conn {
	int lock;		/* 0 free, 1 held */
	int type;		/* 0 not known, 1 stream socket, 2 other */
	uint64_t dev, ino;	/* the socket; ino 0: slot empty */
	uint64_t seq;		/* connection number in this process */
	struct counts c;
	uint32_t why;		/* ZCDEV_WHY_* of every copied byte */
	uint32_t fb;		/* 1 << enum fb of every real sendfile(2) */
};

struct totals {
	struct counts c;
	uint64_t errors;		/* calls that returned -1 */
	uint64_t again;			/* of them, EAGAIN from the module */
	uint64_t conns;			/* connections seen */
	uint64_t why_bytes[32];		/* copied bytes by reason bit */
	uint64_t fb_calls[FB_NR], fb_bytes[FB_NR];
};

typedef ssize_t (*sendfile_fn)(int, int, off_t *, size_t);
typedef ssize_t (*sendfile64_fn)(int, int, off64_t *, size_t);

static sendfile_fn real_sendfile;
static sendfile64_fn real_sendfile64;

/* Device state: 0 not opened yet, 1 opening, 2 open, 3 absent/disabled. */
static int dev_state;
static struct zc *dev_zc;
static const char *dev_path;

static struct totals totals;
static struct conn *conns;		/* PRELOAD_MAX_FDS slots, or NULL */
static uint64_t conn_seq;
static char log_path[4096];		/* "" : no log */
static unsigned long log_every;

#define ADD(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)

/* ---- the real sendfile(2) -------------------------------------------- */

static ssize_t call_real(int out_fd, int in_fd, int64_t *offset, size_t count)
{
	/* off_t is 64-bit here (LP64); 32-bit off_t goes through sendfile64 */
	if (real_sendfile64)
		return real_sendfile64(out_fd, in_fd, (off64_t *)offset, count);
	return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
}

/* ---- the log -------------------------------------------------------- */

/* One line, appended; open/write/close are async-signal-safe. */
static void log_line(const char *buf, size_t len)
{
	int saved_errno = errno;
	int fd;

	if (!log_path[0])
		return;
	if (!strcmp(log_path, "-") || !strcmp(log_path, "stderr"))
		fd = STDERR_FILENO;
	else
		fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
			  O_NOCTTY, 0644);
	if (fd >= 0) {
		ssize_t n = write(fd, buf, len);

		(void)n;
		if (fd != STDERR_FILENO)
			close(fd);
	}
	errno = saved_errno;
}

static const char *counts_path(const struct counts *c)
{
	if (c->unknown)
		return c->zc || c->copied ? "partly-unknown" : "unknown";
	if (c->zc && c->copied)
		return zc_path_name(ZCDEV_PATH_MIXED);
	if (c->copied)
		return zc_path_name(ZCDEV_PATH_COPY);
	if (c->zc)
		return zc_path_name(ZCDEV_PATH_ZEROCOPY);
	return zc_path_name(ZCDEV_PATH_NONE);
}

static void fb_str(uint32_t fb, char *buf, size_t size)
{
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < FB_NR; i++) {
		if (!(fb & (1U << i)))
			continue;
		len += snprintf(buf + len, len < size ? size - len : 0, "%s%s",
				len ? "," : "", fb_names[i]);
	}
	if (!len)
		snprintf(buf, size, "-");
}

/* "conn" line of a slot (copied out of the slot by the caller). */
static void log_conn(const char *event, int fd, const struct conn *s)
{
	char why[256], fb[128], line[768];
	int n;

	if (!log_path[0])
		return;
	if (!s->why || zc_why_str(s->why, why, sizeof(why), 0) < 0)
		snprintf(why, sizeof(why), "-");
	fb_str(s->fb, fb, sizeof(fb));
	n = snprintf(line, sizeof(line),
		     "zc-preload[%d]: %s conn=%llu fd=%d calls=%llu bytes=%llu zc=%llu copied=%llu unknown=%llu path=%s why=%s sendfile=%s\n",
		     (int)getpid(), event, (unsigned long long)s->seq, fd,
		     (unsigned long long)s->c.calls,
		     (unsigned long long)s->c.bytes,
		     (unsigned long long)s->c.zc,
		     (unsigned long long)s->c.copied,
		     (unsigned long long)s->c.unknown, counts_path(&s->c), why,
		     fb);
	if (n > 0)
		log_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* ---- connection slots ---------------------------------------------- */

/* A bounded try-lock: never waits on a holder that this thread interrupted. */
static int slot_lock(struct conn *s)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (!__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
			return 1;
		if (i >= 10)
			sched_yield();
	}
	return 0;
}

static void slot_unlock(struct conn *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

/*
 * The connection number of the socket @st on @fd, 0 when not tracked, and
 * in *@type whether it is a stream socket (1) or not (2), cached.  A
 * descriptor seen holding another socket than before starts a new
 * connection: the old one is logged.  No lock is held on return: sends
 * run unlocked, and account() finds the slot again by its number.
 */
static uint64_t slot_get(int fd, const struct stat *st, int *type)
{
	struct conn *s, old;
	uint64_t seq;

	*type = 0;
	if (!conns || fd < 0 || fd >= PRELOAD_MAX_FDS)
		return 0;
	s = &conns[fd];
	if (!slot_lock(s))
		return 0;
	if (s->ino == (uint64_t)st->st_ino && s->dev == (uint64_t)st->st_dev) {
		*type = s->type;
		seq = s->seq;
		slot_unlock(s);
		return seq;
	}
	old = *s;
	memset(&s->c, 0, sizeof(s->c));
	s->why = s->fb = 0;
	s->type = 0;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->seq = seq = ADD(&conn_seq, 1) + 1;
	ADD(&totals.conns, 1);
	slot_unlock(s);
	if (old.ino && old.c.calls)
		log_conn("conn", fd, &old);
	return seq;
}

/* Lock the slot of connection @seq on @fd; NULL if it is not there. */
static struct conn *slot_find(int fd, uint64_t seq)
{
	struct conn *s;

	if (!seq || !slot_lock(&conns[fd]))
		return NULL;
	s = &conns[fd];
	if (s->seq != seq) {
		slot_unlock(s);
		return NULL;
	}
	return s;
}

/* Whether @fd (a socket) is SOCK_STREAM; *@type is the cached answer. */
static int is_stream(int fd, uint64_t seq, int type)
{
	struct conn *s;
	socklen_t len = sizeof(type);

	if (type)
		return type == 1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		type = -1;
	type = type == SOCK_STREAM ? 1 : 2;
	s = slot_find(fd, seq);
	if (s) {
		s->type = type;
		slot_unlock(s);
	}
	return type == 1;
}

/* ---- the device ------------------------------------------------------ */

/* The handle, opened on first use; NULL: use the real sendfile(2). */
static struct zc *device(void)
{
	int st = __atomic_load_n(&dev_state, __ATOMIC_ACQUIRE);
	int expect = 0;
	struct zc *zc = NULL;
	int i;

	if (st == 2)
		return dev_zc;
	if (st == 0 && __atomic_compare_exchange_n(&dev_state, &expect, 1, 0,
						   __ATOMIC_ACQ_REL,
						   __ATOMIC_ACQUIRE)) {
		if (zc_open(&zc, dev_path, ZC_OPEN_NOFALLBACK) < 0)
			zc = NULL;
		dev_zc = zc;
		__atomic_store_n(&dev_state, zc ? 2 : 3, __ATOMIC_RELEASE);
		return zc;
	}
	/*
	 * Another thread is opening it: wait for that, boundedly (a signal
	 * handler that interrupted the opener in this thread must not spin
	 * forever: it gets the real sendfile).
	 */
	for (i = 0; i < 100000; i++) {
		st = __atomic_load_n(&dev_state, __ATOMIC_ACQUIRE);
		if (st != 1)
			return st == 2 ? dev_zc : NULL;
		sched_yield();
	}
	return NULL;
}

/* ---- sendfile ---------------------------------------------------------- */

/*
 * Count one call: in the totals, and in connection @seq of @fd (then the
 * every-N line when it is due).  @fb: the enum fb of a real sendfile(2),
 * or -1 for a module send reported in @r.  @n: what the call returned.
 */
static void account(int fd, uint64_t seq, const struct zc_result *r,
		    ssize_t n, int fb)
{
	struct conn *s, copy;
	int b, due;

	ADD(&totals.c.calls, 1);
	if (n < 0) {
		ADD(&totals.errors, 1);
	} else if (fb >= 0) {
		ADD(&totals.c.bytes, (uint64_t)n);
		ADD(&totals.c.unknown, (uint64_t)n);
	} else {
		ADD(&totals.c.bytes, r->sent);
		ADD(&totals.c.zc, r->zc_bytes);
		ADD(&totals.c.copied, r->copied_bytes);
		for (b = 0; b < 32 && r->copied_bytes; b++)
			if (r->why & (1U << b))
				ADD(&totals.why_bytes[b], r->copied_bytes);
	}
	if (fb >= 0) {
		ADD(&totals.fb_calls[fb], 1);
		if (n > 0)
			ADD(&totals.fb_bytes[fb], (uint64_t)n);
	}
	s = slot_find(fd, seq);
	if (!s)
		return;
	s->c.calls++;
	if (fb >= 0) {
		s->fb |= 1U << fb;
		if (n > 0) {
			s->c.bytes += (uint64_t)n;
			s->c.unknown += (uint64_t)n;
		}
	} else if (n >= 0) {
		s->c.bytes += r->sent;
		s->c.zc += r->zc_bytes;
		s->c.copied += r->copied_bytes;
		if (r->copied_bytes)
			s->why |= r->why;
	}
	due = log_every && s->c.calls % log_every == 0;
	if (due)
		copy = *s;
	slot_unlock(s);
	if (due)
		log_conn("progress", fd, &copy);
}

static ssize_t fallback(int out_fd, int in_fd, int64_t *offset, size_t count,
			uint64_t seq, int why)
{
	ssize_t n = call_real(out_fd, in_fd, offset, count);
	int saved_errno = errno;

	account(out_fd, seq, NULL, n, why);
	errno = saved_errno;
	return n;
}

/* Errors of the connection itself (a socket error, or EPIPE). */
static int conn_error(int err)
{
	switch (err) {
	case EPIPE:
	case ECONNRESET:
	case ECONNABORTED:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ENETUNREACH:
	case ENETDOWN:
	case ENETRESET:
		return 1;
	}
	return 0;
}

static ssize_t preload_sendfile(int out_fd, int in_fd, int64_t *offset,
				size_t count)
{
	int saved_errno = errno;
	struct stat ost, ist;
	struct zc_result r;
	struct zc *zc;
	uint64_t seq;
	int64_t pos;
	ssize_t n;
	int type;

	if (!count)
		return fallback(out_fd, in_fd, offset, count, 0, FB_COUNT0);
	if (fstat(out_fd, &ost) < 0 || !S_ISSOCK(ost.st_mode)) {
		errno = saved_errno;
		return fallback(out_fd, in_fd, offset, count, 0, FB_NOT_SOCKET);
	}
	seq = slot_get(out_fd, &ost, &type);
	if (!is_stream(out_fd, seq, type)) {
		errno = saved_errno;
		return fallback(out_fd, in_fd, offset, count, seq, FB_NOT_SOCKET);
	}
	/* no module: the real sendfile, still counted per connection */
	if (LOAD(&dev_state) == 3)
		return fallback(out_fd, in_fd, offset, count, seq, FB_NO_MODULE);
	if (fstat(in_fd, &ist) < 0 || !S_ISREG(ist.st_mode)) {
		errno = saved_errno;
		return fallback(out_fd, in_fd, offset, count, seq, FB_NOT_FILE);
	}
	zc = device();
	if (!zc) {
		errno = saved_errno;
		return fallback(out_fd, in_fd, offset, count, seq, FB_NO_MODULE);
	}
	if (offset)
		pos = *offset;
	else
		pos = lseek(in_fd, 0, SEEK_CUR);
	if (pos < 0) {
		/* a negative offset, an unseekable file: sendfile's errors */
		errno = saved_errno;
		return fallback(out_fd, in_fd, offset, count, seq, FB_REFUSED);
	}
	/* what sendfile's rw_verify_area() refuses (EINVAL): its own answer */
	if ((ssize_t)count < 0 || (uint64_t)pos + count > (uint64_t)INT64_MAX) {
		errno = saved_errno;
		return fallback(out_fd, in_fd, offset, count, seq, FB_REFUSED);
	}
	if (count > PRELOAD_MAX_COUNT)
		count = PRELOAD_MAX_COUNT;

	n = zc_sendfile(zc, out_fd, in_fd, (uint64_t)pos, count, 0, &r);
	if (n == -EINTR || n == -EAGAIN) {
		/*
		 * A signal, or a full socket (non-blocking, or SO_SNDTIMEO),
		 * before anything was sent: what sendfile(2) says in that
		 * state.  (The real call now could send what fits by then,
		 * and those bytes would go unreported.)
		 */
		if (n == -EAGAIN)
			ADD(&totals.again, 1);
		account(out_fd, seq, &r, -1, -1);
		errno = (int)-n;
		return -1;
	}
	if (n < 0 && conn_error(-n)) {
		/*
		 * The connection's own error: the module's call consumed it
		 * (sk_err is reported once), so the real call would say
		 * something else (EPIPE after ECONNRESET).  Say it, with the
		 * SIGPIPE that sendfile(2) raises for EPIPE: to this thread,
		 * as the kernel's send_sig() (PIDTYPE_PID) does, so that a
		 * thread that blocks SIGPIPE around its sends gets it pending
		 * and another thread is not killed by it.
		 */
		account(out_fd, seq, &r, -1, -1);
		if (n == -EPIPE)
			pthread_kill(pthread_self(), SIGPIPE);
		errno = (int)-n;
		return -1;
	}
	if (n < 0)
		return fallback(out_fd, in_fd, offset, count, seq, FB_REFUSED);
	if (n == 0)
		return fallback(out_fd, in_fd, offset, count, seq, FB_NOTHING);

	if (offset)
		*offset = pos + n;
	else
		lseek(in_fd, pos + n, SEEK_SET);
	account(out_fd, seq, &r, n, -1);
	errno = saved_errno;
	return n;
}

ssize_t ZC_EXPORT sendfile64(int out_fd, int in_fd, off64_t *offset,
			     size_t count)
{
	return preload_sendfile(out_fd, in_fd, (int64_t *)offset, count);
}

ssize_t ZC_EXPORT sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	if (sizeof(off_t) != sizeof(int64_t)) {
		/* 32-bit off_t: its EOVERFLOW rules are the real call's */
		if (real_sendfile)
			return real_sendfile(out_fd, in_fd, offset, count);
		errno = ENOSYS;
		return -1;
	}
	return preload_sendfile(out_fd, in_fd, (int64_t *)offset, count);
}

/* ---- start, fork, exit ---------------------------------------------- */

static void map_conns(void)
{
	void *p = mmap(conns, PRELOAD_MAX_FDS * sizeof(struct conn),
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		       (conns ? MAP_FIXED : 0), -1, 0);

	conns = p == MAP_FAILED ? NULL : p;
}

/* A child starts with its own counts: the parent logs its own. */
static void atfork_child(void)
{
	/* a thread of the parent that was opening the device is not here */
	if (__atomic_load_n(&dev_state, __ATOMIC_ACQUIRE) == 1)
		__atomic_store_n(&dev_state, 0, __ATOMIC_RELEASE);
	memset(&totals, 0, sizeof(totals));
	conn_seq = 0;
	if (conns)
		map_conns();	/* fresh zero pages over the parent's */
}

__attribute__((constructor)) static void preload_init(void)
{
	const char *v;

	real_sendfile = (sendfile_fn)dlsym(RTLD_NEXT, "sendfile");
	real_sendfile64 = (sendfile64_fn)dlsym(RTLD_NEXT, "sendfile64");
	dev_path = getenv("ZC_PRELOAD_DEVICE");
	if (!dev_path || !*dev_path)
		dev_path = ZC_DEFAULT_DEVICE;
	v = getenv("ZC_PRELOAD_DISABLE");
	if (v && *v && strcmp(v, "0"))
		dev_state = 3;
	v = getenv("ZC_PRELOAD_LOG");
	if (v && *v && strlen(v) < sizeof(log_path))
		strcpy(log_path, v);
	v = getenv("ZC_PRELOAD_LOG_EVERY");
	if (v && *v)
		log_every = strtoul(v, NULL, 10);
	map_conns();
	pthread_atfork(NULL, NULL, atfork_child);
}

__attribute__((destructor)) static void preload_fini(void)
{
	char why[512], fb[512], line[1400];
	size_t wl = 0, fl = 0;
	struct conn copy;
	int fd, b, n;

	if (!LOAD(&totals.c.calls))
		return;
	if (log_path[0] && conns) {
		for (fd = 0; fd < PRELOAD_MAX_FDS; fd++) {
			if (!conns[fd].ino || !slot_lock(&conns[fd]))
				continue;
			copy = conns[fd];
			slot_unlock(&conns[fd]);
			if (copy.c.calls)
				log_conn("conn-at-exit", fd, &copy);
		}
	}
	why[0] = fb[0] = '\0';
	for (b = 0; b < 32; b++) {
		uint64_t v = LOAD(&totals.why_bytes[b]);
		const char *name = zc_why_name(1U << b);

		if (!v)
			continue;
		wl += snprintf(why + wl, wl < sizeof(why) ? sizeof(why) - wl : 0,
			       "%s%s:%llu", wl ? "," : "", name ? name : "?",
			       (unsigned long long)v);
	}
	for (b = 0; b < FB_NR; b++) {
		uint64_t c = LOAD(&totals.fb_calls[b]);

		if (!c)
			continue;
		fl += snprintf(fb + fl, fl < sizeof(fb) ? sizeof(fb) - fl : 0,
			       "%s%s:%llu/%llu", fl ? "," : "", fb_names[b],
			       (unsigned long long)c,
			       (unsigned long long)LOAD(&totals.fb_bytes[b]));
	}
	n = snprintf(line, sizeof(line),
		     "zc-preload[%d]: exit conns=%llu calls=%llu bytes=%llu zc=%llu copied=%llu unknown=%llu errors=%llu eagain=%llu path=%s copied_why=%s sendfile=%s device=%s\n",
		     (int)getpid(), (unsigned long long)LOAD(&totals.conns),
		     (unsigned long long)LOAD(&totals.c.calls),
		     (unsigned long long)LOAD(&totals.c.bytes),
		     (unsigned long long)LOAD(&totals.c.zc),
		     (unsigned long long)LOAD(&totals.c.copied),
		     (unsigned long long)LOAD(&totals.c.unknown),
		     (unsigned long long)LOAD(&totals.errors),
		     (unsigned long long)LOAD(&totals.again),
		     counts_path(&totals.c), wl ? why : "-", fl ? fb : "-",
		     LOAD(&dev_state) == 2 ? "open" :
		     LOAD(&dev_state) == 3 ? "absent" : "unused");
	if (n > 0)
		log_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	/* the handle stays open: other destructors may still call sendfile() */
}
