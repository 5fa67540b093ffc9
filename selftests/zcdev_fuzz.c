// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_fuzz: a seeded, structure-aware fuzzer for ZCDEV_IOC_SENDFILE,
 * ZCDEV_IOC_SENDV and ZCDEV_IOC_PROBE.
 *
 * Worker threads throw arguments at the ioctl: file and socket fds drawn
 * from a pool of every kind of descriptor (files on tmpfs and ext4, procfs,
 * pipes, connected/unconnected/listening TCP, UDP, AF_UNIX, the device
 * itself, directories, O_PATH, closed numbers), offsets and lengths near
 * the interesting boundaries, random flags and reserved words, raw random
 * structs of random sizes and bad pointers.  Meanwhile a chaos thread
 * closes and reopens the pool's descriptors under the same numbers,
 * truncates and extends the files, drains receivers and resets them.
 *
 * SENDV calls get random segment lists (memory from good, read-only,
 * PROT_NONE, NULL and kernel addresses; file ranges of the pool's
 * descriptors; bad types and unused fields; 0, 1..8, MAX and MAX+1
 * segments; bad or misaligned segment arrays); PROBE calls random
 * descriptors and flags.  NOTIFY sends queue completions, which the chaos
 * thread reads and checks.
 *
 * Every return must be 0 with a consistent report (SENDV: seg_index and
 * seg_sent agree with sent and the segment lengths), or -1 with an errno
 * from the documented set (STRICT's and CACHED_ONLY's with their report).  The kernel side (no warning, no oops, module
 * unloads) is checked by the guest init around every program.
 *
 * $ZC_SEED fixes the seed, $ZC_FUZZ_CALLS the number of calls (default
 * 300000; `make check-long` raises it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define POOL		24
#define WORKERS		2
#define FILE_SIZE	(256 * 1024)

enum kind {
	K_TMPFS, K_EXT4, K_MEMFD, K_WRONLY, K_OPATH, K_DIR, K_PROC, K_PROCMAPS,
	K_PIPE_R, K_PIPE_W, K_TCP, K_TCP_FULL, K_TCP_UNCONN, K_TCP_LISTEN,
	K_UDP, K_UNIX, K_UNIX_DGRAM, K_DEV, K_EVENTFD, K_CLOSED, K_NR
};

struct slot {
	_Atomic int fd;		/* what workers use (may be stale: intended) */
	int kind;
	int peer;		/* receiver / other pipe end, owned by chaos */
	bool drain;		/* chaos drains peer */
};

struct fuzz {
	struct slot pool[POOL];
	char tmpfs_path[256];
	char ext4_path[256];
	int tmpfs_rw;		/* for truncate/extend */
	int ext4_rw;
	int dev;
	void *ro_page;		/* a read-only page: the kernel cannot write back */
	void *none_page;	/* PROT_NONE */
	_Atomic bool stop;
	_Atomic uint64_t calls;
	_Atomic uint64_t ok_calls;
	_Atomic uint64_t bytes;
	_Atomic uint64_t chaos_ops;
	_Atomic uint64_t errnos[256];
	_Atomic uint64_t op_calls[3];	/* sendfile, sendv, probe */
	_Atomic uint64_t op_ok[3];
	_Atomic uint64_t notify_ids;	/* NOTIFY sends that got an id */
	_Atomic uint64_t completions;	/* records read back */
	uint8_t *mem;			/* memory segments point into it */
	uint64_t target;
	uint64_t seed;
	pthread_mutex_t fail_lock;
	char fail[512];		/* first unexpected result */
};

static void set_fail(struct fuzz *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_fail(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&f->fail_lock);
	if (!f->fail[0]) {
		va_start(ap, fmt);
		vsnprintf(f->fail, sizeof(f->fail), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&f->fail_lock);
	f->stop = true;
}

static int tcp_listener(struct sockaddr_in *a)
{
	socklen_t l = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (void *)a, sizeof(*a)) || listen(fd, 8) ||
	    getsockname(fd, (void *)a, &l)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void short_sndtimeo(int fd)
{
	struct timeval tv = { .tv_usec = 5000 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Open a descriptor of @kind; *peer gets the other end if there is one. */
static int open_kind(struct fuzz *f, int kind, int *peer)
{
	struct sockaddr_in a;
	int fd = -1, l, p[2];

	*peer = -1;
	switch (kind) {
	case K_TMPFS:
		return open(f->tmpfs_path, O_RDONLY | O_CLOEXEC);
	case K_EXT4:
		return open(f->ext4_path, O_RDONLY | O_CLOEXEC);
	case K_MEMFD:
		fd = memfd_create("zcfuzz", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, 3 * 4096 + 17)) {
			close(fd);
			return -1;
		}
		if (fd >= 0)
			pwrite(fd, "memfd", 5, 4096);
		return fd;
	case K_WRONLY:
		return open(f->tmpfs_path, O_WRONLY | O_CLOEXEC);
	case K_OPATH:
		return open(f->tmpfs_path, O_PATH | O_CLOEXEC);
	case K_DIR:
		return open(zc_tmpfs_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	case K_PROC:
		return open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	case K_PROCMAPS:
		return open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	case K_PIPE_R:
	case K_PIPE_W:
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
			return -1;
		*peer = kind == K_PIPE_R ? p[1] : p[0];
		return kind == K_PIPE_R ? p[0] : p[1];
	case K_TCP:
	case K_TCP_FULL:
		l = tcp_listener(&a);
		if (l < 0)
			return -1;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (void *)&a, sizeof(a))) {
			close(l);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		*peer = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		close(l);
		short_sndtimeo(fd);
		if (kind == K_TCP_FULL) {
			int small = 4096;

			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
			setsockopt(*peer, SOL_SOCKET, SO_RCVBUF, &small,
				   sizeof(small));
		}
		return fd;
	case K_TCP_UNCONN:
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	case K_TCP_LISTEN:
		return tcp_listener(&a);
	case K_UDP:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(9);
		if (fd >= 0)
			connect(fd, (void *)&a, sizeof(a));
		return fd;
	case K_UNIX:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p))
			return -1;
		short_sndtimeo(p[0]);
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		*peer = p[1];
		return p[0];
	case K_UNIX_DGRAM:
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p))
			return -1;
		*peer = p[1];
		return p[0];
	case K_DEV:
		return zc_open_dev();
	case K_EVENTFD:
		return eventfd(0, EFD_CLOEXEC);
	case K_CLOSED:
	default:
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return fd;
	}
}

/* (Re)fill slot @i with a new descriptor of a random kind. */
static void slot_reopen(struct fuzz *f, int i, struct zc_rng *r)
{
	struct slot *s = &f->pool[i];
	int kind = zc_rng_range(r, 0, K_NR - 1);
	int old = s->fd, fd, peer;

	fd = open_kind(f, kind, &peer);
	if (s->peer >= 0) {
		if (zc_rng_range(r, 0, 1)) {
			/* reset instead of an orderly close */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(s->peer, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		}
		close(s->peer);
	}
	/* keep the number: workers racing on it see the old or new file */
	if (fd >= 0 && old >= 0 && kind != K_CLOSED) {
		if (dup3(fd, old, O_CLOEXEC) >= 0) {
			close(fd);
			fd = old;
		}
	} else if (old >= 0) {
		close(old);
	}
	s->kind = kind;
	s->peer = peer;
	s->drain = kind == K_TCP || kind == K_UNIX;
	s->fd = kind == K_CLOSED ? old : fd;
}

static uint64_t pick_u64(struct zc_rng *r, uint64_t size)
{
	static const uint64_t fixed[] = {
		0, 1, 7, 4095, 4096, 4097, 65535, 65536, FILE_SIZE - 1,
		FILE_SIZE, FILE_SIZE + 1, 0x7ffff000ULL, 0x7fffffffULL,
		0x80000000ULL, LLONG_MAX, (uint64_t)LLONG_MAX + 1,
		UINT64_MAX - 1, UINT64_MAX,
	};

	switch (zc_rng_range(r, 0, 7)) {
	case 0:
	case 1:
		return fixed[zc_rng_range(r, 0, sizeof(fixed) / 8 - 1)];
	case 2:
	case 3:
	case 4:
		return zc_rng_range(r, 0, size);
	case 5:
	case 6:
		return zc_rng_range(r, 0, 3 * 4096);
	default:
		return zc_rng_next(r);
	}
}

static bool kind_is_file(int k)
{
	return k == K_TMPFS || k == K_EXT4 || k == K_MEMFD || k == K_PROC;
}

static bool kind_is_sock(int k)
{
	return k == K_TCP || k == K_TCP_FULL || k == K_UNIX;
}

/* Mostly a descriptor of a plausible kind, so calls reach the engine. */
static int pick_fd(struct fuzz *f, struct zc_rng *r, bool (*plausible)(int))
{
	int i, tries;

	switch (zc_rng_range(r, 0, 15)) {
	case 0:
		return (int)zc_rng_range(r, 0, 200) - 2;
	case 1:
		return f->dev;
	case 2:
	case 3:
	case 4:
		return f->pool[zc_rng_range(r, 0, POOL - 1)].fd;
	default:
		for (tries = 0; tries < 8; tries++) {
			i = zc_rng_range(r, 0, POOL - 1);
			if (plausible(f->pool[i].kind))
				break;
		}
		return f->pool[i].fd;
	}
}

static bool errno_allowed(int e)
{
	switch (e) {
	case EBADF: case ENOTSOCK: case EINVAL: case ENOTCONN: case EPIPE:
	case ECONNRESET: case EAGAIN: case EFAULT: case E2BIG: case ENOTTY:
	case EOPNOTSUPP: case ESPIPE: case EINTR:
	case EBUSY:	/* CACHED_ONLY, nothing cached */
	case ENOBUFS:	/* NOTIFY, too many pending */
		return true;
	}
	return false;
}

/* the out fields of STRICT's -EOPNOTSUPP and CACHED_ONLY's -EBUSY */
static bool refusal_ok(int e, uint32_t flags, uint64_t sent, uint64_t zc,
		       uint64_t copied, uint32_t path, uint32_t why,
		       uint32_t status, uint64_t notify_id)
{
	if (sent || zc || copied || path != ZCDEV_PATH_NONE || notify_id ||
	    (status & ~ZCDEV_STATUS_ALL) || (why & ~ZCDEV_WHY_ALL))
		return false;
	if (e == EOPNOTSUPP)
		return (flags & ZCDEV_SEND_STRICT) && why;
	return (flags & ZCDEV_SEND_CACHED_ONLY) &&
	       (status & ZCDEV_STATUS_NOT_CACHED);
}

static void one_sendfile(struct fuzz *f, struct zc_rng *r)
{
	union {
		struct zcdev_sendfile a;
		unsigned char raw[256];
	} u;
	struct zcdev_sendfile in;
	unsigned int size = sizeof(u.a);
	unsigned long cmd = ZCDEV_IOC_SENDFILE;
	void *arg = &u.a;
	uint64_t mode = zc_rng_range(r, 0, 99);
	int ret, e, want_err = 0;

	memset(&u, 0, sizeof(u));
	u.a.file_fd = pick_fd(f, r, kind_is_file);
	u.a.sock_fd = pick_fd(f, r, kind_is_sock);
	u.a.offset = pick_u64(r, FILE_SIZE);
	u.a.len = pick_u64(r, FILE_SIZE);
	/* mostly non-blocking so a stuck peer costs nothing */
	u.a.flags = zc_rng_range(r, 0, 9) ? ZCDEV_SEND_NONBLOCK : 0;
	if (zc_rng_range(r, 0, 3) == 0)
		u.a.flags |= zc_rng_range(r, 0, ZCDEV_SEND_FLAGS_ALL);
	if (mode < 3) {
		u.a.flags |= 1U << zc_rng_range(r, 5, 31);
	} else if (mode < 5) {
		u.a.reserved = (uint32_t)zc_rng_next(r) | 1;
	} else if (mode < 6) {
		u.a.reserved1 = (uint32_t)zc_rng_next(r) | 1;
	} else if (mode < 8) {
		/* the VER1 out fields' input is ignored */
		u.a.status = (uint32_t)zc_rng_next(r);
		u.a.notify_id = zc_rng_next(r);
	} else if (mode < 10) {
		/* raw bytes, any size the _IOC field can carry here */
		for (unsigned int i = 0; i < sizeof(u.raw); i++)
			u.raw[i] = (unsigned char)zc_rng_next(r);
		if (zc_rng_range(r, 0, 1))
			u.a.flags |= ZCDEV_SEND_NONBLOCK;
		size = zc_rng_range(r, 0, sizeof(u.raw));
		cmd = ZC_IOC_SENDFILE_SIZED(size);
	} else if (mode < 13) {
		/*
		 * Any size from VER0 up, garbage in one byte of the VER1
		 * fields or of the tail; the answer follows from where it is:
		 * status/notify_id are out fields (ignored), reserved1 must
		 * be 0 (-EINVAL), a byte past 80 is a newer ABI (-E2BIG).
		 */
		size = zc_rng_range(r, 64, sizeof(u.raw));
		if (zc_rng_range(r, 0, 2) && size > 64) {
			unsigned int at = zc_rng_range(r, 64, size - 1);

			u.raw[at] = (unsigned char)zc_rng_range(r, 1, 255);
			if (at >= 80)
				want_err = E2BIG;
			else if (at >= 68 && at < 72)
				want_err = EINVAL;
		}
		/* VER1-only flags with a VER0-sized struct */
		if (size < 80 && (u.a.flags & (ZCDEV_SEND_CACHED_ONLY |
					       ZCDEV_SEND_NOTIFY)))
			want_err = want_err == E2BIG ? E2BIG : EINVAL;
		cmd = ZC_IOC_SENDFILE_SIZED(size);
	} else if (mode < 15) {
		static const void *bad[] = {
			NULL, (void *)1, (void *)-1L, (void *)0xffff800000000000UL,
		};
		arg = (void *)bad[zc_rng_range(r, 0, 3)];
		/* nothing can be judged before the struct is read */
		want_err = EFAULT;
	} else if (mode < 16) {
		arg = f->none_page;
		want_err = EFAULT;
	} else if (mode < 17) {
		arg = f->ro_page;
	} else if (mode < 19) {
		/* other commands on the device: wrong nr, dir or type */
		static const unsigned long cmds[] = {
			_IOWR(ZCDEV_IOC_MAGIC, 0x04, struct zcdev_sendfile),
			_IOR(ZCDEV_IOC_MAGIC, 0x01, struct zcdev_sendfile),
			_IOW(ZCDEV_IOC_MAGIC, 0x01, struct zcdev_sendfile),
			_IO(ZCDEV_IOC_MAGIC, 0x01),
			_IOWR('T', 0x01, struct zcdev_sendfile),
			FIONREAD, 0,
		};
		cmd = cmds[zc_rng_range(r, 0, 6)];
		/* ioctl(2): a request the device does not have */
		want_err = ENOTTY;
	} else if (mode < 21) {
		/* an odd alignment */
		memmove(u.raw + 1, u.raw, sizeof(u.a));
		arg = u.raw + 1;
	}
	if (arg == &u.a)
		in = u.a;

	f->calls++;
	f->op_calls[0]++;
	ret = ioctl(f->dev, cmd, arg);
	e = errno;
	if (want_err && !(ret == -1 && e == want_err)) {
		set_fail(f, "sendfile mode %llu size %u cmd %#lx: want errno %d, got %d/%d",
			 (unsigned long long)mode, size, cmd, want_err, ret,
			 ret ? e : 0);
		return;
	}
	if (ret == 0) {
		f->ok_calls++;
		f->op_ok[0]++;
		/* every NOTIFY id handed out, wherever the struct was */
		if (size >= sizeof(u.a) && (arg == &u.a || arg == u.raw + 1)) {
			struct zcdev_sendfile o;

			memcpy(&o, arg, sizeof(o));
			if (o.notify_id)
				f->notify_ids++;
		}
		if (arg == &u.a && cmd == ZCDEV_IOC_SENDFILE) {
			if (zc_report_check(&in, &u.a, in.len) < 0) {
				set_fail(f, "inconsistent report: %s (%s)",
					 zc_report_str(&u.a), zc_errmsg());
				return;
			}
			f->bytes += u.a.sent;
		}
		return;
	}
	if (ret != -1) {
		set_fail(f, "ioctl returned %d", ret);
		return;
	}
	f->errnos[e & 255]++;
	if ((e == EOPNOTSUPP || e == EBUSY) && arg == &u.a &&
	    cmd == ZCDEV_IOC_SENDFILE &&
	    !refusal_ok(e, u.a.flags, u.a.sent, u.a.zc_bytes, u.a.copied_bytes,
			u.a.path, u.a.why, u.a.status, u.a.notify_id)) {
		set_fail(f, "errno %d with these out fields: %s", e,
			 zc_report_str(&u.a));
		return;
	}
	if (!errno_allowed(e))
		set_fail(f, "unexpected errno %d (%s): cmd %#lx size %u file_fd %d sock_fd %d off %#llx len %#llx flags %#x",
			 e, strerror(e), cmd, size, u.a.file_fd, u.a.sock_fd,
			 (unsigned long long)u.a.offset,
			 (unsigned long long)u.a.len, u.a.flags);
}

#define MEM_LEN	(64 * 1024)

/* a user address for a memory segment: mostly good, sometimes not */
static uint64_t pick_addr(struct fuzz *f, struct zc_rng *r, uint64_t *len)
{
	switch (zc_rng_range(r, 0, 15)) {
	case 0:
		return 0;
	case 1:
		return (uint64_t)(uintptr_t)f->none_page + zc_rng_range(r, 0, 4095);
	case 2:	/* read-only memory is fine to send from */
		if (*len > 4096)
			*len = zc_rng_range(r, 0, 4096);
		return (uint64_t)(uintptr_t)f->ro_page + (4096 - *len);
	case 3:
		return 0xffff888000000000ULL + zc_rng_range(r, 0, 1 << 20);
	case 4:
		return UINT64_MAX - zc_rng_range(r, 0, 4096);
	default:
		if (*len > MEM_LEN && zc_rng_range(r, 0, 3))
			*len = zc_rng_range(r, 0, MEM_LEN);
		if (*len > MEM_LEN)	/* runs past the buffer */
			return (uint64_t)(uintptr_t)f->mem;
		return (uint64_t)(uintptr_t)f->mem +
		       zc_rng_range(r, 0, MEM_LEN - *len);
	}
}

/* a segment; @clean ones are plausible (good memory, a pool file) */
static void random_seg(struct fuzz *f, struct zc_rng *r, struct zcdev_seg *s,
		       bool clean)
{
	uint64_t k = zc_rng_range(r, 0, 99);

	memset(s, 0, sizeof(*s));
	if (clean) {
		s->len = zc_rng_range(r, 0, k < 80 ? 4096 : FILE_SIZE);
		if (k & 1) {
			if (s->len > MEM_LEN)
				s->len = MEM_LEN;
			s->type = ZCDEV_SEG_MEM;
			s->addr = (uint64_t)(uintptr_t)f->mem +
				  zc_rng_range(r, 0, MEM_LEN - s->len);
		} else {
			s->type = ZCDEV_SEG_FILE;
			s->file_fd = pick_fd(f, r, kind_is_file);
			s->offset = zc_rng_range(r, 0, FILE_SIZE + 4096);
		}
		return;
	}
	if (k < 2) {
		s->type = (uint32_t)zc_rng_next(r);
		s->file_fd = (int)zc_rng_next(r);
		s->offset = zc_rng_next(r);
		s->addr = zc_rng_next(r);
		s->len = pick_u64(r, FILE_SIZE);
		return;
	}
	s->len = k < 10 ? 0 : pick_u64(r, k < 60 ? 8192 : FILE_SIZE);
	if (k & 1) {
		uint64_t len = s->len;

		s->type = ZCDEV_SEG_MEM;
		s->addr = pick_addr(f, r, &len);
		s->len = len;
		if (zc_rng_range(r, 0, 49) == 0)
			s->file_fd = (int)zc_rng_range(r, 1, 100);
		if (zc_rng_range(r, 0, 49) == 0)
			s->offset = zc_rng_range(r, 1, 100);
	} else {
		s->type = ZCDEV_SEG_FILE;
		s->file_fd = pick_fd(f, r, kind_is_file);
		s->offset = pick_u64(r, FILE_SIZE);
		if (zc_rng_range(r, 0, 49) == 0)
			s->addr = (uint64_t)(uintptr_t)f->mem;
	}
}

static uint64_t segs_sum(const struct zcdev_seg *s, unsigned int n)
{
	uint64_t t = 0;

	for (unsigned int i = 0; i < n; i++)
		if (__builtin_add_overflow(t, s[i].len, &t))
			return UINT64_MAX;
	return t;
}

static void one_sendv(struct fuzz *f, struct zc_rng *r)
{
	static __thread struct zcdev_seg segs[ZCDEV_SENDV_MAX_SEGS + 1];
	static __thread unsigned char segraw[8 * sizeof(struct zcdev_seg) + 8];
	union {
		struct zcdev_sendv a;
		unsigned char raw[256];
	} u;
	struct zcdev_sendv in;
	struct zcdev_seg *sp = segs;
	uint64_t mode = zc_rng_range(r, 0, 99), k = zc_rng_range(r, 0, 99);
	unsigned long cmd = ZCDEV_IOC_SENDV;
	unsigned int n, fill, size = sizeof(u.a);
	void *arg = &u.a;
	int ret, e, want_err = 0;
	bool clean;

	if (k < 2)
		n = 0;
	else if (k < 4)
		n = ZCDEV_SENDV_MAX_SEGS;
	else if (k < 6)
		n = ZCDEV_SENDV_MAX_SEGS + 1;
	else if (k < 7)
		n = (uint32_t)zc_rng_next(r);
	else
		n = zc_rng_range(r, 1, 8);
	fill = n <= ZCDEV_SENDV_MAX_SEGS + 1 ? n : 8;
	clean = zc_rng_range(r, 0, 1);
	for (unsigned int i = 0; i < fill; i++)
		random_seg(f, r, &segs[i], clean);

	memset(&u, 0, sizeof(u));
	u.a.nr_segs = n;
	u.a.sock_fd = pick_fd(f, r, kind_is_sock);
	/* mostly non-blocking so a stuck peer costs nothing */
	u.a.flags = zc_rng_range(r, 0, 9) ? ZCDEV_SEND_NONBLOCK : 0;
	if (zc_rng_range(r, 0, 2) == 0)
		u.a.flags |= zc_rng_range(r, 0, ZCDEV_SEND_FLAGS_ALL);
	if (mode < 2) {
		u.a.flags |= 1U << zc_rng_range(r, 5, 31);
	} else if (mode < 4) {
		u.a.reserved = (uint32_t)zc_rng_next(r) | 1;
	} else if (mode < 10) {
		/* garbage in every out field: ignored */
		u.a.path = (uint32_t)zc_rng_next(r);
		u.a.why = (uint32_t)zc_rng_next(r);
		u.a.status = (uint32_t)zc_rng_next(r);
		u.a.sent = zc_rng_next(r);
		u.a.zc_bytes = zc_rng_next(r);
		u.a.copied_bytes = zc_rng_next(r);
		u.a.seg_index = (uint32_t)zc_rng_next(r);
		u.a.seg_sent = zc_rng_next(r);
		u.a.notify_id = zc_rng_next(r);
	} else if (mode < 13 && fill && fill <= 8) {
		/* a misaligned segment array */
		sp = (struct zcdev_seg *)(segraw + zc_rng_range(r, 1, 7));
		memcpy(sp, segs, fill * sizeof(*sp));
	}
	u.a.segs = (uint64_t)(uintptr_t)sp;
	if (mode >= 13 && mode < 16) {
		static const uint64_t bad[] = {
			0, 1, 0xffff888000000000ULL, UINT64_MAX - 31,
		};
		u.a.segs = bad[zc_rng_range(r, 0, 3)];
	} else if (mode < 17) {
		u.a.segs = (uint64_t)(uintptr_t)f->none_page;
	} else if (mode < 21) {
		/* sizes around VER0, garbage in the tail */
		size = zc_rng_range(r, 72, sizeof(u.raw));
		if (size > sizeof(u.a) && zc_rng_range(r, 0, 1)) {
			u.raw[zc_rng_range(r, sizeof(u.a), size - 1)] = 0x5a;
			want_err = E2BIG;
		}
		if (size < sizeof(u.a))
			want_err = EINVAL;
		cmd = ZC_IOC_SENDV_SIZED(size);
	} else if (mode < 23) {
		static const void *bad[] = {
			NULL, (void *)1, (void *)-1L, (void *)0xffff800000000000UL,
		};
		arg = (void *)bad[zc_rng_range(r, 0, 3)];
	} else if (mode < 24) {
		arg = f->ro_page;	/* readable zeros, not writable */
	} else if (mode < 26) {
		memmove(u.raw + 3, u.raw, sizeof(u.a));
		arg = u.raw + 3;
	}
	in = u.a;

	f->calls++;
	f->op_calls[1]++;
	ret = ioctl(f->dev, cmd, arg);
	e = errno;
	if (want_err && !(ret == -1 && e == want_err)) {
		set_fail(f, "sendv size %u: want errno %d, got %d/%d", size,
			 want_err, ret, ret ? e : 0);
		return;
	}
	if (ret == 0) {
		uint64_t max;

		f->ok_calls++;
		f->op_ok[1]++;
		if (arg == u.raw + 3) {
			struct zcdev_sendv o;

			memcpy(&o, arg, sizeof(o));
			if (o.notify_id)
				f->notify_ids++;
		}
		if (arg != &u.a)
			return;
		if (n < 1 || n > ZCDEV_SENDV_MAX_SEGS) {
			set_fail(f, "nr_segs %u accepted", n);
			return;
		}
		max = segs_sum(segs, n);
		if (max > ZCDEV_MAX_SEND)
			max = ZCDEV_MAX_SEND;
		if (zc_sendv_report_check(&in, &u.a, segs, max) < 0) {
			set_fail(f, "inconsistent sendv report: %s (%s)",
				 zc_sendv_report_str(&u.a), zc_errmsg());
			return;
		}
		f->bytes += u.a.sent;
		if (u.a.notify_id)
			f->notify_ids++;
		return;
	}
	if (ret != -1) {
		set_fail(f, "sendv ioctl returned %d", ret);
		return;
	}
	f->errnos[e & 255]++;
	if ((e == EOPNOTSUPP || e == EBUSY) && arg == &u.a &&
	    (!refusal_ok(e, u.a.flags, u.a.sent, u.a.zc_bytes, u.a.copied_bytes,
			 u.a.path, u.a.why, u.a.status, u.a.notify_id) ||
	     u.a.seg_sent || u.a.seg_index >= n)) {
		set_fail(f, "sendv errno %d with these out fields: %s", e,
			 zc_sendv_report_str(&u.a));
		return;
	}
	if (!errno_allowed(e))
		set_fail(f, "sendv: unexpected errno %d (%s): size %u nr_segs %u sock_fd %d flags %#x",
			 e, strerror(e), size, n, in.sock_fd, in.flags);
}

static void one_probe(struct fuzz *f, struct zc_rng *r)
{
	union {
		struct zcdev_probe p;
		unsigned char raw[128];
	} u;
	struct zcdev_probe in;
	uint64_t mode = zc_rng_range(r, 0, 99);
	unsigned long cmd = ZCDEV_IOC_PROBE;
	unsigned int size = sizeof(u.p);
	void *arg = &u.p;
	int ret, e, want_err = 0;

	memset(&u, 0, sizeof(u));
	u.p.sock_fd = zc_rng_range(r, 0, 9) ? pick_fd(f, r, kind_is_sock) : -1;
	u.p.file_fd = zc_rng_range(r, 0, 2) ? pick_fd(f, r, kind_is_file) : -1;
	u.p.flags = zc_rng_range(r, 0, 1) ? 0 :
		    (uint32_t)zc_rng_range(r, 0, ZCDEV_SEND_FLAGS_ALL);
	if (mode < 3) {
		u.p.flags |= 1U << zc_rng_range(r, 5, 31);
	} else if (mode < 6) {
		u.p.reserved = (uint32_t)zc_rng_next(r) | 1;
	} else if (mode < 16) {
		/* garbage in the out fields: ignored */
		u.p.path = (uint32_t)zc_rng_next(r);
		u.p.why = (uint32_t)zc_rng_next(r);
		u.p.send_flags = (uint32_t)zc_rng_next(r);
		u.p.why_known = (uint32_t)zc_rng_next(r);
	} else if (mode < 20) {
		size = zc_rng_range(r, 0, sizeof(u.raw));
		if (size > sizeof(u.p) && zc_rng_range(r, 0, 1)) {
			u.raw[zc_rng_range(r, sizeof(u.p), size - 1)] = 0x5a;
			want_err = E2BIG;
		}
		if (size < sizeof(u.p))
			want_err = EINVAL;
		cmd = ZC_IOC_PROBE_SIZED(size);
	} else if (mode < 22) {
		arg = zc_rng_range(r, 0, 1) ? f->none_page : NULL;
	} else if (mode < 23) {
		arg = f->ro_page;
	}
	in = u.p;

	f->calls++;
	f->op_calls[2]++;
	ret = ioctl(f->dev, cmd, arg);
	e = errno;
	if (want_err && !(ret == -1 && e == want_err)) {
		set_fail(f, "probe size %u: want errno %d, got %d/%d", size,
			 want_err, ret, ret ? e : 0);
		return;
	}
	if (ret == 0) {
		bool sane;

		f->ok_calls++;
		f->op_ok[2]++;
		if (arg != &u.p)
			return;
		sane = u.p.send_flags == ZCDEV_SEND_FLAGS_ALL &&
		       u.p.why_known == ZCDEV_WHY_ALL &&
		       !(u.p.why & ~ZCDEV_WHY_ALL) &&
		       u.p.sock_fd == in.sock_fd && u.p.file_fd == in.file_fd &&
		       u.p.flags == in.flags && !in.reserved &&
		       !(in.flags & ~ZCDEV_SEND_FLAGS_ALL);
		if (in.sock_fd == -1)
			sane = sane && in.file_fd == -1 &&
			       u.p.path == ZCDEV_PATH_NONE && !u.p.why;
		else
			sane = sane && ((u.p.path == ZCDEV_PATH_ZEROCOPY && !u.p.why) ||
					(u.p.path == ZCDEV_PATH_COPY && u.p.why));
		if (!sane)
			set_fail(f, "inconsistent probe: %s", zc_probe_str(&u.p));
		return;
	}
	if (ret != -1) {
		set_fail(f, "probe ioctl returned %d", ret);
		return;
	}
	f->errnos[e & 255]++;
	/* a probe sends nothing: no send-time errors */
	if (!errno_allowed(e) || e == EAGAIN || e == EPIPE || e == EBUSY ||
	    e == ENOBUFS || e == EOPNOTSUPP)
		set_fail(f, "probe: unexpected errno %d (%s): %s", e, strerror(e),
			 zc_probe_str(&in));
}

static void one_call(struct fuzz *f, struct zc_rng *r)
{
	uint64_t k = zc_rng_range(r, 0, 99);

	if (k < 55)
		one_sendfile(f, r);
	else if (k < 85)
		one_sendv(f, r);
	else
		one_probe(f, r);
}

/* read and check the completions NOTIFY sends queued on the device */
static void read_completions(struct fuzz *f)
{
	struct zcdev_completion c[64];

	for (;;) {
		ssize_t n = read(f->dev, c, sizeof(c));

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				set_fail(f, "read completions: %s", strerror(errno));
			return;
		}
		if (n == 0 || n % sizeof(c[0])) {
			set_fail(f, "read completions returned %zd", n);
			return;
		}
		for (size_t i = 0; i < n / sizeof(c[0]); i++) {
			if (!c[i].id || (c[i].flags & ~ZCDEV_COMPL_COPIED) ||
			    c[i].reserved) {
				set_fail(f, "bad completion id %llu flags %#x reserved %#x",
					 (unsigned long long)c[i].id, c[i].flags,
					 c[i].reserved);
				return;
			}
		}
		f->completions += n / sizeof(c[0]);
	}
}

struct worker {
	struct fuzz *f;
	uint64_t seed;
	pthread_t th;
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	struct zc_rng r = { .s = w->seed };

	while (!w->f->stop && w->f->calls < w->f->target)
		one_call(w->f, &r);
	return NULL;
}

static void chaos_step(struct fuzz *f, struct zc_rng *r, char *buf, size_t n)
{
	int i;

	read_completions(f);
	/* drain what the senders queued */
	for (i = 0; i < POOL; i++) {
		struct slot *s = &f->pool[i];

		if (s->drain && s->peer >= 0)
			while (recv(s->peer, buf, n, MSG_DONTWAIT) > 0)
				;
	}
	switch (zc_rng_range(r, 0, 9)) {
	case 0:
	case 1:
		slot_reopen(f, zc_rng_range(r, 0, POOL - 1), r);
		break;
	case 2:
		if (ftruncate(zc_rng_range(r, 0, 1) ? f->tmpfs_rw : f->ext4_rw,
			      zc_rng_range(r, 0, FILE_SIZE)))
			break;
		break;
	case 3:
		/* extend back to full size: the tail reads as zeros */
		if (ftruncate(f->tmpfs_rw, FILE_SIZE) ||
		    ftruncate(f->ext4_rw, FILE_SIZE))
			break;
		break;
	default:
		break;
	}
	f->chaos_ops++;
}

static void healthy_after_storm(struct __test_metadata *_metadata);

FIXTURE(fuzz) {
	struct fuzz *f;
};

FIXTURE_SETUP(fuzz)
{
	const char *calls = getenv("ZC_FUZZ_CALLS");
	struct zc_rng r;
	int i;

	self->f = calloc(1, sizeof(*self->f));
	ASSERT_NE(NULL, self->f);
	pthread_mutex_init(&self->f->fail_lock, NULL);
	self->f->target = calls ? strtoull(calls, NULL, 0) : 300000;
	self->f->seed = zc_seed_for(zc_base_seed(), "fuzz");
	TH_LOG("seed %#llx (ZC_SEED=%#llx reproduces), %llu calls",
	       (unsigned long long)self->f->seed,
	       (unsigned long long)zc_base_seed(),
	       (unsigned long long)self->f->target);

	self->f->dev = zc_open_dev();
	ASSERT_LE(0, self->f->dev) TH_LOG("open /dev/zcdev: %s", strerror(errno));
	/* completions are read without blocking (the ioctls do not care) */
	ASSERT_EQ(0, fcntl(self->f->dev, F_SETFL, O_NONBLOCK));
	self->f->mem = malloc(MEM_LEN);
	ASSERT_NE(NULL, self->f->mem);
	memset(self->f->mem, 'm', MEM_LEN);
	self->f->tmpfs_rw = zc_make_payload_file(zc_tmpfs_dir(), FILE_SIZE,
						 self->f->tmpfs_path,
						 sizeof(self->f->tmpfs_path));
	ASSERT_LE(0, self->f->tmpfs_rw) TH_LOG("%s", zc_errmsg());
	self->f->ext4_rw = zc_make_payload_file(zc_ext4_dir(), FILE_SIZE,
						self->f->ext4_path,
						sizeof(self->f->ext4_path));
	ASSERT_LE(0, self->f->ext4_rw) TH_LOG("%s", zc_errmsg());

	self->f->ro_page = mmap(NULL, 4096, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->f->none_page = mmap(NULL, 4096, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->f->ro_page);
	ASSERT_NE(MAP_FAILED, self->f->none_page);

	r.s = self->f->seed;
	for (i = 0; i < POOL; i++) {
		self->f->pool[i].fd = -1;
		self->f->pool[i].peer = -1;
		slot_reopen(self->f, i, &r);
	}
}

FIXTURE_TEARDOWN(fuzz)
{
	int i;

	for (i = 0; i < POOL; i++) {
		if (self->f->pool[i].fd >= 0)
			close(self->f->pool[i].fd);
		if (self->f->pool[i].peer >= 0)
			close(self->f->pool[i].peer);
	}
	close(self->f->dev);
	free(self->f->mem);
	unlink(self->f->tmpfs_path);
	unlink(self->f->ext4_path);
}

TEST_F_TIMEOUT(fuzz, ioctl_storm, 900)
{
	struct fuzz *f = self->f;
	struct worker w[WORKERS];
	struct zc_rng r = { .s = f->seed ^ 0xc4a05 };
	static char buf[1 << 16];
	uint64_t t0 = zc_now_ms();
	char line[1024];
	size_t off = 0;
	int i;

	for (i = 0; i < WORKERS; i++) {
		w[i].f = f;
		w[i].seed = f->seed + 0x9e3779b97f4a7c15ULL * (i + 1);
		ASSERT_EQ(0, pthread_create(&w[i].th, NULL, worker_main, &w[i]));
	}
	while (!f->stop && f->calls < f->target)
		chaos_step(f, &r, buf, sizeof(buf));
	f->stop = true;
	for (i = 0; i < WORKERS; i++)
		pthread_join(w[i].th, NULL);

	line[0] = 0;
	for (i = 0; i < 256; i++)
		if (f->errnos[i])
			off += snprintf(line + off, sizeof(line) - off, " %s=%llu",
					strerrorname_np(i) ? : "?",
					(unsigned long long)f->errnos[i]);
	read_completions(f);
	TH_LOG("%llu calls in %llu ms: %llu ok (%llu bytes), %llu chaos ops; errnos:%s",
	       (unsigned long long)f->calls,
	       (unsigned long long)(zc_now_ms() - t0),
	       (unsigned long long)f->ok_calls, (unsigned long long)f->bytes,
	       (unsigned long long)f->chaos_ops, line);
	TH_LOG("sendfile %llu (%llu ok), sendv %llu (%llu ok), probe %llu (%llu ok); %llu notify ids, %llu completions read",
	       (unsigned long long)f->op_calls[0], (unsigned long long)f->op_ok[0],
	       (unsigned long long)f->op_calls[1], (unsigned long long)f->op_ok[1],
	       (unsigned long long)f->op_calls[2], (unsigned long long)f->op_ok[2],
	       (unsigned long long)f->notify_ids,
	       (unsigned long long)f->completions);
	ASSERT_EQ('\0', f->fail[0]) TH_LOG("%s", f->fail);
	ASSERT_LE(f->target, f->calls);
	/* the fuzz must have reached the send engine, not only the checks */
	ASSERT_LT(0ULL, (unsigned long long)f->ok_calls);
	ASSERT_LT(0ULL, (unsigned long long)f->bytes);
	for (i = 0; i < 3; i++) {
		ASSERT_LT(0ULL, (unsigned long long)f->op_ok[i]) TH_LOG("op %d", i);
	}
	ASSERT_LT(0ULL, (unsigned long long)f->notify_ids);
	/* every record read back answers a NOTIFY send */
	ASSERT_GE((unsigned long long)f->notify_ids,
		  (unsigned long long)f->completions);
	healthy_after_storm(_metadata);
}

/* After the storm the device still does its job, byte-exact. */
static void healthy_after_storm(struct __test_metadata *_metadata)
{
	struct zcdev_sendfile a;
	struct zc_pair p;
	char path[256];
	int dev, fd;
	uint8_t *buf;

	dev = zc_open_dev();
	ASSERT_LE(0, dev);
	fd = zc_make_payload_file(zc_tmpfs_dir(), 1 << 20, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	buf = malloc(1 << 20);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, zc_sendfile_args(dev, fd, p.snd, 0, 1 << 20, 0, &a))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(1ULL << 20, a.sent);
	ASSERT_EQ(1 << 20, zc_recv_exact(p.rcv, buf, 1 << 20, 5000));
	ASSERT_EQ(-1, zc_verify(buf, 1 << 20, 0)) TH_LOG("%s", zc_errmsg());
	{
		static const char hdr[] = "header";
		struct zcdev_seg segs[2] = {
			zct_seg_mem(hdr, 6), zct_seg_file(fd, 4096, 100000),
		};
		struct zcdev_sendv v = { .segs = (uint64_t)(uintptr_t)segs,
					 .nr_segs = 2, .sock_fd = p.snd };
		struct zcdev_probe pr;

		ASSERT_EQ(0, zct_sendv(dev, &v)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(100006ULL, v.sent);
		ASSERT_EQ(100006, zc_recv_exact(p.rcv, buf, 100006, 5000));
		ASSERT_EQ(0, memcmp(buf, hdr, 6));
		ASSERT_EQ(-1, zc_verify(buf + 6, 100000, 4096)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, zc_probe_args(dev, p.snd, fd, 0, &pr));
		ASSERT_EQ((uint32_t)ZCDEV_PATH_ZEROCOPY, pr.path);
	}
	free(buf);
	zc_pair_close(&p);
	unlink(path);
	close(fd);
	close(dev);
}

TEST_HARNESS_MAIN
