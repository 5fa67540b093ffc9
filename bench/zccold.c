// SPDX-License-Identifier: GPL-2.0
/*
 * zccold: what ZCDEV_SEND_CACHED_ONLY buys an event-loop server under a
 * cold page cache.
 *
 * Runs inside the QEMU guests (bench/run.sh), on a file system whose disk
 * has a fixed latency: bench/run.sh makes it from null_blk (memory backed,
 * every request completed by a timer after --disk-lat), formats it ext4
 * and mounts it on --dir.  Under QEMU's icount clock that latency is exact
 * guest time, so the runs are deterministic.
 *
 * One server thread runs an epoll loop over nonblocking TCP connections
 * (loopback) from client threads.  A request is 4 bytes, the index of a
 * file; the response is the whole file.  Clients:
 *   hot   request one of a few small files that stay in the page cache,
 *         one request at a time, with --think between requests, until the
 *         cold clients are done; each request's latency (request written
 *         -> last byte read) is recorded
 *   cold  request --cold-reqs large files each, back to back, every one of
 *         them out of the page cache (drop_caches before each measurement)
 * The server sends a response with one of these methods:
 *   sendfile  sendfile(2) on the nonblocking socket: waits for the disk
 *   zcdev     ZCDEV_IOC_SENDFILE with ZCDEV_SEND_NONBLOCK: waits for the disk
 *   cached    ZCDEV_IOC_SENDFILE with ZCDEV_SEND_NONBLOCK |
 *             ZCDEV_SEND_CACHED_ONLY: on -EBUSY or ZCDEV_STATUS_NOT_CACHED
 *             the connection is parked and retried after --retry, while
 *             the loop serves the others
 * Each repetition runs every method once, in turn, each after
 * drop_caches and a re-read of the hot files.  Figures per method: hot
 * latency (median, p99, max), cold response time, throughput (all bytes
 * of all responses / measurement time), the longest single send call in
 * the loop, send calls and server CPU per response, and the ratios of hot
 * p99, hot max and throughput against sendfile(2) from the same
 * repetition.  CSV lines start with "zcc,".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/zcdev.h>

#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)

#define MAX_CLIENTS	32
#define MAX_REPS	32
#define PORT		7900

enum method { M_SENDFILE, M_ZCDEV, M_CACHED, M_NR };
static const char *const method_name[M_NR] = { "sendfile", "zcdev", "cached" };

static struct {
	const char *dir;
	int hot_clients, cold_clients, cold_reqs, reps;
	uint64_t hot_size, cold_size;
	double think, retry;	/* seconds */
	bool m_on[M_NR];
	bool csv, table;
	char kernel[64];
	char disk[96];		/* label: the disk's latency */
} opt;

static int zcdev_fd = -1;

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "zccold: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= KiB; break;
	case 'm': case 'M': v *= MiB; break;
	case '\0': break;
	default: die("bad size '%s'", s);
	}
	if (v < 1)
		die("bad size '%s'", s);
	return (uint64_t)v;
}

/* "500us", "2ms", "0.001" (seconds) */
static double parse_time(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (!strcmp(end, "us"))
		v /= 1e6;
	else if (!strcmp(end, "ms"))
		v /= 1e3;
	else if (*end && strcmp(end, "s"))
		die("bad time '%s'", s);
	if (v < 0)
		die("bad time '%s'", s);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* the q-quantile (0..1) of v[0..n) by the nearest-rank method; sorts v */
static double quantile(double *v, int n, double q)
{
	int k;

	if (n <= 0)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	k = (int)(q * n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stats(const double *v, int n)
{
	double s[MAX_REPS];
	struct stat3 r = { 0, 0, 0 };

	if (n <= 0)
		return r;
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

/* ---- files ---------------------------------------------------------------- */

struct file {
	char path[256];
	uint64_t size;
	int hold;		/* keeps inode and dentry in memory across drop_caches */
	int fd;			/* the server's, reopened for every measurement */
};

static struct file *files;	/* hot files first, then the cold ones */
static int nfiles, nhot;

static void make_files(void)
{
	int i;
	char *buf = malloc(MiB);

	nhot = opt.hot_clients;
	nfiles = nhot + opt.cold_clients * opt.cold_reqs;
	files = calloc(nfiles, sizeof(*files));
	for (i = 0; i < nfiles; i++) {
		struct file *f = &files[i];
		uint64_t off;
		int fd;

		f->size = i < nhot ? opt.hot_size : opt.cold_size;
		snprintf(f->path, sizeof(f->path), "%s/%s%03d", opt.dir, i < nhot ? "hot" : "cold",
			 i < nhot ? i : i - nhot);
		fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("open %s: %s", f->path, strerror(errno));
		for (off = 0; off < f->size; off += MiB) {
			size_t n = f->size - off < MiB ? f->size - off : MiB;

			for (size_t j = 0; j + 8 <= n; j += 8) {
				uint64_t w = ((uint64_t)i << 40) | (off + j);

				memcpy(buf + j, &w, 8);
			}
			if (pwrite(fd, buf, n, off) != (ssize_t)n)
				die("write %s: %s", f->path, strerror(errno));
		}
		if (fsync(fd) < 0)
			die("fsync %s: %s", f->path, strerror(errno));
		close(fd);
		f->hold = open(f->path, O_RDONLY | O_CLOEXEC);
		f->fd = -1;
		if (f->hold < 0)
			die("open %s: %s", f->path, strerror(errno));
	}
	free(buf);
}

/* pages of f in the page cache, in percent (mincore does not fault them in) */
static double resident_pct(const struct file *f)
{
	size_t pages = (f->size + 4095) / 4096, i, in = 0;
	unsigned char *vec = malloc(pages);
	void *map = mmap(NULL, f->size, PROT_READ, MAP_SHARED, f->hold, 0);

	if (map == MAP_FAILED || mincore(map, f->size, vec) < 0)
		die("mincore %s: %s", f->path, strerror(errno));
	for (i = 0; i < pages; i++)
		in += vec[i] & 1;
	munmap(map, f->size);
	free(vec);
	return 100.0 * in / pages;
}

/* the --dir disk's read requests and sectors (/sys/dev/block/M:m/stat) */
static char blkstat[96];

static void disk_reads(uint64_t *ios, uint64_t *sectors)
{
	unsigned long long v[3] = { 0, 0, 0 };
	FILE *f = fopen(blkstat, "r");

	if (!f || fscanf(f, "%llu %llu %llu", &v[0], &v[1], &v[2]) != 3)
		die("%s: %s", blkstat, f ? "unreadable" : strerror(errno));
	fclose(f);
	*ios = v[0];
	*sectors = v[2];
}

static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "3", 1) != 1)
		die("drop_caches: %s", strerror(errno));
	close(fd);
}

/*
 * Before each measurement: every cold file out of the cache, every hot
 * file in it, fresh server descriptors (fresh readahead state).  Returns
 * the cold files' residency (should be 0) and the hot files' (100).
 */
static void prepare(double *cold_res, double *hot_res)
{
	static char buf[64 * 1024];
	int i;

	drop_caches();
	*cold_res = *hot_res = 0;
	for (i = 0; i < nfiles; i++) {
		struct file *f = &files[i];

		if (f->fd >= 0)
			close(f->fd);
		f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0)
			die("open %s: %s", f->path, strerror(errno));
		if (i < nhot) {
			uint64_t off;

			for (off = 0; off < f->size; off += sizeof(buf))
				if (pread(f->hold, buf, sizeof(buf), off) <= 0)
					die("read %s: %s", f->path, strerror(errno));
			*hot_res += resident_pct(f) / nhot;
		} else {
			*cold_res += resident_pct(f) / (nfiles - nhot);
		}
	}
}

/* ---- clients -------------------------------------------------------------- */

struct client {
	pthread_t th;
	int idx;
	bool hot;
	int fd;
	double *lat;		/* seconds per response */
	int nlat, cap;
	uint64_t bytes;
	char err[160];
};

static struct client clients[MAX_CLIENTS];
static int nclients;
static _Atomic int stop, cold_left;
static pthread_barrier_t bar;

static int request(struct client *c, uint32_t idx, uint64_t size)
{
	uint64_t got = 0;
	double t0 = now_s();

	if (write(c->fd, &idx, 4) != 4) {
		snprintf(c->err, sizeof(c->err), "write request: %s", strerror(errno));
		return -1;
	}
	while (got < size) {
		/* MSG_TRUNC on TCP discards without copying */
		ssize_t n = recv(c->fd, NULL, size - got, MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(c->err, sizeof(c->err), "recv: %s", n ? strerror(errno) : "EOF");
			return -1;
		}
		got += n;
	}
	if (c->nlat == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->lat = realloc(c->lat, c->cap * sizeof(double));
	}
	c->lat[c->nlat++] = now_s() - t0;
	c->bytes += size;
	return 0;
}

static void *client(void *arg)
{
	struct client *c = arg;
	struct timespec think = {
		.tv_sec = (time_t)opt.think,
		.tv_nsec = (long)((opt.think - (time_t)opt.think) * 1e9),
	};
	int k;

	pthread_barrier_wait(&bar);
	if (c->hot) {
		while (!atomic_load(&stop)) {
			if (request(c, c->idx, opt.hot_size))
				break;
			if (opt.think > 0)
				clock_nanosleep(CLOCK_MONOTONIC, 0, &think, NULL);
		}
	} else {
		for (k = 0; k < opt.cold_reqs; k++)
			if (request(c, nhot + c->idx * opt.cold_reqs + k, opt.cold_size))
				break;
		if (atomic_fetch_sub(&cold_left, 1) == 1)
			atomic_store(&stop, 1);
	}
	shutdown(c->fd, SHUT_WR);
	return NULL;
}

/* ---- the server ----------------------------------------------------------- */

enum { S_READ, S_SEND, S_WAIT_OUT, S_PARKED };

struct sconn {
	int fd, state;
	uint8_t req[4];
	int reqgot;
	struct file *f;
	uint64_t off;
	double retry_at;
};

struct sres {
	double t0, t1;		/* first client start .. all connections closed */
	double cpu;		/* server thread */
	double cpu_hot, cpu_cold;	/* server thread, in the send calls */
	uint64_t hot_resp, cold_resp;
	double longest;		/* the longest single send call */
	uint64_t send_calls, syscalls, responses, busy, not_cached;
	uint64_t zc_bytes, copied_bytes;
};

static int lfd;

static void ep_mod(int ep, struct sconn *c, uint32_t ev, struct sres *r)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	r->syscalls++;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

/* send what can be sent now; leaves c in the state to wait in */
static void try_send(int ep, struct sconn *c, enum method m, struct sres *r)
{
	for (;;) {
		uint64_t left = c->f->size - c->off;
		uint64_t sent = 0;
		bool not_cached = false;
		int err = 0;
		double t0 = now_s(), c0 = thread_cpu_s(), dt;

		if (m == M_SENDFILE) {
			off_t o = c->off;
			ssize_t n = sendfile(c->fd, c->f->fd, &o, left);

			if (n < 0)
				err = errno;
			else
				sent = n;
		} else {
			struct zcdev_sendfile a = {
				.file_fd = c->f->fd, .sock_fd = c->fd,
				.offset = c->off, .len = left,
				.flags = ZCDEV_SEND_NONBLOCK |
					 (m == M_CACHED ? ZCDEV_SEND_CACHED_ONLY : 0),
			};

			if (ioctl(zcdev_fd, ZCDEV_IOC_SENDFILE, &a) < 0)
				err = errno;
			sent = a.sent;
			not_cached = a.status & ZCDEV_STATUS_NOT_CACHED;
			r->zc_bytes += a.zc_bytes;
			r->copied_bytes += a.copied_bytes;
		}
		dt = now_s() - t0;
		if (c->f - files < nhot)
			r->cpu_hot += thread_cpu_s() - c0;
		else
			r->cpu_cold += thread_cpu_s() - c0;
		r->send_calls++;
		r->syscalls++;
		if (dt > r->longest)
			r->longest = dt;
		if (err == EINTR)
			continue;
		if (err == EAGAIN) {
			c->state = S_WAIT_OUT;
			ep_mod(ep, c, EPOLLOUT, r);
			return;
		}
		if (err == EBUSY && m == M_CACHED) {
			not_cached = true;
		} else if (err) {
			die("%s: %s", method_name[m], strerror(err));
		} else if (!sent && left) {
			die("%s sent 0 of %" PRIu64, method_name[m], left);
		}
		c->off += sent;
		if (c->off == c->f->size) {
			r->responses++;
			if (c->f - files < nhot)
				r->hot_resp++;
			else
				r->cold_resp++;
			c->state = S_READ;
			c->reqgot = 0;
			ep_mod(ep, c, EPOLLIN, r);
			return;
		}
		if (not_cached) {
			/* the rest is being read: serve the others, come back later */
			if (err)
				r->busy++;
			r->not_cached++;
			if (c->state != S_PARKED) {
				c->state = S_PARKED;
				ep_mod(ep, c, 0, r);
			}
			c->retry_at = now_s() + opt.retry;
			return;
		}
	}
}

static void serve(enum method m, int n, struct sres *r)
{
	struct sconn *cs = calloc(MAX_CLIENTS, sizeof(*cs));
	struct epoll_event evs[MAX_CLIENTS];
	int ep = epoll_create1(EPOLL_CLOEXEC), open_conns = n, i, one = 1;
	double c0;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = &cs[i] };

		cs[i].fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cs[i].fd < 0)
			die("accept: %s", strerror(errno));
		setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &e) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	pthread_barrier_wait(&bar);
	r->t0 = now_s();
	c0 = thread_cpu_s();
	while (open_conns) {
		struct timespec ts, *tp = NULL;
		double next = 0, now;
		int ne;

		for (i = 0; i < n; i++)
			if (cs[i].state == S_PARKED && (!next || cs[i].retry_at < next))
				next = cs[i].retry_at;
		if (next) {
			double d = next - now_s();

			if (d < 0)
				d = 0;
			ts.tv_sec = (time_t)d;
			ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
			tp = &ts;
		}
		ne = epoll_pwait2(ep, evs, MAX_CLIENTS, tp, NULL);
		r->syscalls++;
		if (ne < 0 && errno != EINTR)
			die("epoll_pwait2: %s", strerror(errno));
		for (i = 0; i < ne; i++) {
			struct sconn *c = evs[i].data.ptr;

			if (c->state == S_READ) {
				ssize_t k = read(c->fd, c->req + c->reqgot, 4 - c->reqgot);

				r->syscalls++;
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (k <= 0) {
					/* the client is done */
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					close(c->fd);
					c->state = -1;
					open_conns--;
					continue;
				}
				c->reqgot += k;
				if (c->reqgot < 4)
					continue;
				uint32_t idx;

				memcpy(&idx, c->req, 4);
				if (idx >= (uint32_t)nfiles)
					die("request for file %u of %d", idx, nfiles);
				c->f = &files[idx];
				c->off = 0;
				c->state = S_SEND;
				try_send(ep, c, m, r);
			} else if (c->state == S_WAIT_OUT) {
				c->state = S_SEND;
				try_send(ep, c, m, r);
			}
		}
		now = now_s();
		for (i = 0; i < n; i++)
			if (cs[i].state == S_PARKED && cs[i].retry_at <= now)
				try_send(ep, &cs[i], m, r);
	}
	r->cpu = thread_cpu_s() - c0;
	r->t1 = now_s();
	close(ep);
	free(cs);
}

/* ---- one measurement --------------------------------------------------------- */

struct meas {
	double hot_p50, hot_p99, hot_max, cold_med, thr, longest;
	double calls_resp, sys_resp, cpu_hot, cpu_cold, busy_cold, nc_cold;
	double reads_mib, kib_read;	/* disk read requests per MiB served cold, KiB per request */
	double cold_res, hot_res, zc_pct;
	int hot_n;
};

static void measure(enum method m, struct meas *x)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	double *hl, *cl;
	int i, nh = 0, nc = 0, one = 1;
	uint64_t bytes = 0, io0, io1, sec0, sec1;
	struct sres r;

	prepare(&x->cold_res, &x->hot_res);
	disk_reads(&io0, &sec0);
	nclients = opt.hot_clients + opt.cold_clients;
	atomic_store(&stop, 0);
	atomic_store(&cold_left, opt.cold_clients);
	pthread_barrier_init(&bar, NULL, nclients + 1);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (i = 0; i < nclients; i++) {
		struct client *c = &clients[i];

		free(c->lat);
		memset(c, 0, sizeof(*c));
		c->hot = i < opt.hot_clients;
		c->idx = c->hot ? i : i - opt.hot_clients;
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (void *)&sa, sizeof(sa)) < 0)
			die("connect: %s", strerror(errno));
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&c->th, NULL, client, c))
			die("pthread_create");
	}
	serve(m, nclients, &r);
	disk_reads(&io1, &sec1);
	for (i = 0; i < nclients; i++) {
		pthread_join(clients[i].th, NULL);
		close(clients[i].fd);
		if (clients[i].err[0])
			die("%s client %d: %s", method_name[m], i, clients[i].err);
	}
	pthread_barrier_destroy(&bar);

	hl = malloc(sizeof(double) * 65536);
	cl = malloc(sizeof(double) * 65536);
	for (i = 0; i < nclients; i++) {
		struct client *c = &clients[i];

		for (int k = 0; k < c->nlat && nh < 65536 && nc < 65536; k++) {
			if (c->hot)
				hl[nh++] = c->lat[k];
			else
				cl[nc++] = c->lat[k];
		}
		bytes += c->bytes;
	}
	x->hot_n = nh;
	x->hot_p50 = quantile(hl, nh, 0.50);
	x->hot_p99 = quantile(hl, nh, 0.99);
	x->hot_max = quantile(hl, nh, 1.0);
	x->cold_med = quantile(cl, nc, 0.50);
	x->thr = bytes / MiB / (r.t1 - r.t0);
	x->longest = r.longest;
	x->calls_resp = (double)r.send_calls / r.responses;
	x->sys_resp = (double)r.syscalls / r.responses;
	x->cpu_hot = r.hot_resp ? r.cpu_hot / r.hot_resp : 0;
	x->cpu_cold = r.cold_resp ? r.cpu_cold / r.cold_resp : 0;
	x->reads_mib = (double)(io1 - io0) / (opt.cold_clients * opt.cold_reqs * opt.cold_size / (double)MiB);
	x->kib_read = io1 > io0 ? (sec1 - sec0) * 512.0 / KiB / (io1 - io0) : 0;
	x->busy_cold = (double)r.busy / nc;
	x->nc_cold = (double)r.not_cached / nc;
	x->zc_pct = r.zc_bytes + r.copied_bytes ?
		100.0 * r.zc_bytes / (r.zc_bytes + r.copied_bytes) : -1;
	free(hl);
	free(cl);
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
	printf(
"usage: zccold [--quick|--full] --dir DIR [options]\n"
"  --dir DIR          a file system on a slow disk (bench/run.sh: ext4 on null_blk)\n"
"  --disk LABEL       what the disk is, for the output (e.g. \"null_blk 1ms\")\n"
"  --methods LIST     sendfile,zcdev,cached (default all three)\n"
"  --reps N           repetitions (default 3)\n"
"  --hot-clients N    clients of small cached files (default 4)\n"
"  --hot-size SIZE    their file size (default 64K)\n"
"  --think TIME       a hot client's pause between requests (default 1ms)\n"
"  --cold-clients N   clients of large uncached files (default 2)\n"
"  --cold-size SIZE   their file size (default 1M)\n"
"  --cold-reqs N      files per cold client per measurement (quick 8, full 16)\n"
"  --retry TIME       cached: when to retry a parked connection (default 1ms)\n"
"  --kernel NAME      label for the CSV (default: uname -r)\n"
"  --csv-only | --table-only\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "full", no_argument, NULL, 'f' },
		{ "dir", required_argument, NULL, 'd' },
		{ "disk", required_argument, NULL, 'D' },
		{ "methods", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "hot-clients", required_argument, NULL, 'h' },
		{ "hot-size", required_argument, NULL, 's' },
		{ "think", required_argument, NULL, 't' },
		{ "cold-clients", required_argument, NULL, 'c' },
		{ "cold-size", required_argument, NULL, 'S' },
		{ "cold-reqs", required_argument, NULL, 'n' },
		{ "retry", required_argument, NULL, 'R' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "csv-only", no_argument, NULL, 'C' },
		{ "table-only", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'H' },
		{ }
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static struct meas ms[M_NR][MAX_REPS];
	bool full = false, any_m = false;
	struct utsname un;
	int ch, m, r, one = 1;
	double tstart;

	opt.csv = opt.table = true;
	opt.hot_clients = 4;
	opt.cold_clients = 2;
	opt.hot_size = 64 * KiB;
	opt.cold_size = MiB;
	opt.think = 1e-3;
	opt.retry = 1e-3;
	opt.reps = 3;
	snprintf(opt.disk, sizeof(opt.disk), "unknown");
	uname(&un);
	snprintf(opt.kernel, sizeof(opt.kernel), "%.63s", un.release);
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'q': full = false; break;
		case 'f': full = true; break;
		case 'd': opt.dir = optarg; break;
		case 'D': snprintf(opt.disk, sizeof(opt.disk), "%s", optarg); break;
		case 'm': {
			char *d = strdup(optarg), *t, *save;

			for (t = strtok_r(d, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				for (m = 0; m < M_NR && strcmp(t, method_name[m]); m++)
					;
				if (m == M_NR)
					die("unknown method '%s'", t);
				opt.m_on[m] = any_m = true;
			}
			free(d);
			break;
		}
		case 'r': opt.reps = atoi(optarg); break;
		case 'h': opt.hot_clients = atoi(optarg); break;
		case 's': opt.hot_size = parse_size(optarg); break;
		case 't': opt.think = parse_time(optarg); break;
		case 'c': opt.cold_clients = atoi(optarg); break;
		case 'S': opt.cold_size = parse_size(optarg); break;
		case 'n': opt.cold_reqs = atoi(optarg); break;
		case 'R': opt.retry = parse_time(optarg); break;
		case 'k': snprintf(opt.kernel, sizeof(opt.kernel), "%s", optarg); break;
		case 'C': opt.table = false; break;
		case 'T': opt.csv = false; break;
		case 'H': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (!opt.dir)
		die("--dir is required");
	if (!opt.cold_reqs)
		opt.cold_reqs = full ? 16 : 8;
	if (opt.hot_clients < 1 || opt.cold_clients < 1 ||
	    opt.hot_clients + opt.cold_clients > MAX_CLIENTS)
		die("1..%d clients in all, at least one of each", MAX_CLIENTS);
	if (opt.reps < 1 || opt.reps > MAX_REPS)
		die("--reps 1..%d", MAX_REPS);
	if (!any_m)
		for (m = 0; m < M_NR; m++)
			opt.m_on[m] = true;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (opt.m_on[M_ZCDEV] || opt.m_on[M_CACHED]) {
		zcdev_fd = open("/dev/" ZCDEV_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
		if (zcdev_fd < 0)
			die("/dev/zcdev: %s", strerror(errno));
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (void *)&sa, sizeof(sa)) < 0 || listen(lfd, MAX_CLIENTS) < 0)
		die("listen: %s", strerror(errno));

	tstart = now_s();
	printf("# zccold %s: kernel %s (%s), disk %s, reps %d; %d hot clients x %" PRIu64
	       " KiB files (think %.0f us), %d cold clients x %d x %" PRIu64
	       " KiB files; cached: retry after %.0f us\n", full ? "full" : "quick", opt.kernel,
	       un.release, opt.disk, opt.reps, opt.hot_clients, opt.hot_size / KiB,
	       opt.think * 1e6, opt.cold_clients, opt.cold_reqs, opt.cold_size / KiB,
	       opt.retry * 1e6);
	{
		struct stat st;

		if (stat(opt.dir, &st) < 0)
			die("%s: %s", opt.dir, strerror(errno));
		snprintf(blkstat, sizeof(blkstat), "/sys/dev/block/%u:%u/stat",
			 major(st.st_dev), minor(st.st_dev));
	}
	make_files();
	printf("# files ready in %s (%.1f s)\n", opt.dir, now_s() - tstart);

	for (r = 0; r < opt.reps; r++)
		for (m = 0; m < M_NR; m++)
			if (opt.m_on[m])
				measure(m, &ms[m][r]);

	if (opt.csv)
		printf("zcc,kernel,disk,method,reps,hot_n,"
		       "hot_p50_us,hot_p99_us_med,hot_p99_us_min,hot_p99_us_max,"
		       "hot_max_us_med,hot_max_us_min,hot_max_us_max,"
		       "cold_resp_ms_med,thr_MiBps_med,thr_MiBps_min,thr_MiBps_max,"
		       "longest_call_us_med,send_calls_resp,sys_resp,"
		       "cpu_us_hot_resp,cpu_us_cold_resp,busy_per_cold,not_cached_per_cold,"
		       "hot_p99_x_sf_med,hot_max_x_sf_med,thr_x_sf_med,thr_x_sf_min,thr_x_sf_max,"
		       "cold_resident_pct,hot_resident_pct,zc_pct,disk_reads_per_MiB,KiB_per_read\n");
	if (opt.table) {
		printf("\n== %s  cold cache on %s: %d hot + %d cold clients, %d reps (median [min-max])\n",
		       opt.kernel, opt.disk, opt.hot_clients, opt.cold_clients, opt.reps);
		printf("%-9s %5s %7s %19s %6s %21s %6s %7s %7s %6s %8s %5s %6s %7s %5s %9s  %s\n",
		       "method", "hot n", "p50 us", "hot p99 us", "x sf", "hot max us", "x sf",
		       "cold ms", "MiB/s", "x sf", "longest", "calls", "cpu/h", "cpu/c",
		       "retry", "reads/MiB", "cached c/h %");
	}
	for (m = 0; m < M_NR; m++) {
		double v[16][MAX_REPS];
		int n = 0, i;

		if (!opt.m_on[m])
			continue;
		for (r = 0; r < opt.reps; r++) {
			struct meas *x = &ms[m][r], *s = &ms[M_SENDFILE][r];
			bool sf = opt.m_on[M_SENDFILE];

			v[0][n] = x->hot_p50 * 1e6;
			v[1][n] = x->hot_p99 * 1e6;
			v[2][n] = x->hot_max * 1e6;
			v[3][n] = x->cold_med * 1e3;
			v[4][n] = x->thr;
			v[5][n] = x->longest * 1e6;
			v[6][n] = sf ? x->hot_p99 / s->hot_p99 : 0;
			v[7][n] = sf ? x->hot_max / s->hot_max : 0;
			v[8][n] = sf ? x->thr / s->thr : 0;
			v[9][n] = x->calls_resp;
			v[10][n] = x->cpu_hot * 1e6;
			v[11][n] = x->nc_cold;
			v[12][n] = x->cpu_cold * 1e6;
			v[13][n] = x->reads_mib;
			v[14][n] = x->kib_read;
			v[15][n] = x->sys_resp;
			n++;
		}
		struct stat3 st[16];
		double busy = 0, cres = 0, hres = 0, zc = 0, hn = 0;

		for (i = 0; i < 16; i++)
			st[i] = stats(v[i], n);
		for (r = 0; r < n; r++) {
			busy += ms[m][r].busy_cold / n;
			cres += ms[m][r].cold_res / n;
			hres += ms[m][r].hot_res / n;
			zc += ms[m][r].zc_pct / n;
			hn += (double)ms[m][r].hot_n / n;
		}
		if (opt.csv)
			printf("zcc,%s,%s,%s,%d,%.0f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.2f,"
			       "%.2f,%.2f,%.2f,%.1f,%.2f,%.2f,%.1f,%.1f,%.2f,%.2f,%.3f,%.3f,%.3f,%.3f,"
			       "%.3f,%.1f,%.1f,%.1f,%.2f,%.1f\n",
			       opt.kernel, opt.disk, method_name[m], n, hn, st[0].med, st[1].med,
			       st[1].min, st[1].max, st[2].med, st[2].min, st[2].max, st[3].med,
			       st[4].med, st[4].min, st[4].max, st[5].med, st[9].med, st[15].med,
			       st[10].med, st[12].med, busy, st[11].med, st[6].med, st[7].med,
			       st[8].med, st[8].min, st[8].max, cres, hres, zc, st[13].med,
			       st[14].med);
		if (opt.table) {
			char a[32], b[32];

			snprintf(a, sizeof(a), "%.0f [%.0f-%.0f]", st[1].med, st[1].min, st[1].max);
			snprintf(b, sizeof(b), "%.0f [%.0f-%.0f]", st[2].med, st[2].min, st[2].max);
			printf("%-9s %5.0f %7.0f %19s %6.3f %21s %6.3f %7.2f %7.1f %6.2f %8.0f %5.2f %6.1f %7.1f %5.2f %4.1f x%3.0fK  %.0f / %.0f\n",
			       method_name[m], hn, st[0].med, a, st[6].med, b, st[7].med, st[3].med,
			       st[4].med, st[8].med, st[5].med, st[9].med, st[10].med, st[12].med,
			       st[11].med, st[13].med, st[14].med, cres, hres);
		}
	}
	if (opt.table)
		printf("(x sf: ratio to sendfile(2) in the same repetition; longest: the longest"
		       " single send call in the loop, us; calls: send calls per response;"
		       " cpu/h, cpu/c: server CPU us in the send calls per hot / cold response;"
		       " retry: NOT_CACHED/-EBUSY returns per cold response; reads/MiB: disk"
		       " read requests per MiB of cold files, x their average size;"
		       " cached c/h: cold and hot files' pages in the cache before the measurement)\n");
	printf("# zcbench done in %.1f s (suite cold)\n", now_s() - tstart);
	return 0;
}
