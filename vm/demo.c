// SPDX-License-Identifier: GPL-2.0
/*
 * zcdemo: what `make run` shows.  Inside a test guest (vm/init sets up the
 * network namespaces of selftests/README.md), send one file over loopback,
 * over the veth pair (zc0) and over the veth pair without scatter-gather and
 * checksum offload (zc1), with ZCDEV_IOC_SENDFILE and, for comparison, with
 * sendfile(2).  For each: bytes sent, the module's path report, the time,
 * and whether the receiver got exactly the file.
 *
 *   zcdemo [-s MiB] [-d dir]     (defaults: 32 MiB in $ZC_TMPFS or /mnt/tmpfs)
 *
 * Exit status 0 when every zcdev transfer delivered the whole file intact.
 * The receiver lives in the peer namespace (a thread that setns()es there);
 * the sender in the root namespace, so the egress device is lo, zc0 or zc1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/zcdev.h>

#define PORT 7400

struct target {
	const char *label;
	const char *netns;	/* NULL: root namespace */
	const char *addr;
};

static const struct target targets[] = {
	{ "lo   127.0.0.1",                NULL,              "127.0.0.1" },
	{ "zc0  veth 198.51.100.2",        "/run/netns/veth", "198.51.100.2" },
	{ "zc1  veth sg/csum off 203.0.113.2", "/run/netns/nosg", "203.0.113.2" },
};

struct receiver {
	const struct target *t;
	int port;
	int lfd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready;		/* 1 listening, -1 failed */
	uint64_t got;
	uint64_t bad_at;	/* first mismatching offset, or UINT64_MAX */
	char err[128];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The file's content: every aligned 8-byte word holds its own offset. */
static inline unsigned char pattern_byte(uint64_t off)
{
	return (unsigned char)((off & ~7ULL) >> (8 * (off & 7)));
}

static void check_chunk(struct receiver *r, const unsigned char *buf, size_t n)
{
	uint64_t off = r->got;
	size_t i = 0;

	if (r->bad_at != UINT64_MAX)
		return;
	/* fast path on aligned words */
	while (i < n && ((off + i) & 7))
		if (buf[i] != pattern_byte(off + i)) {
			r->bad_at = off + i;
			return;
		} else {
			i++;
		}
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, buf + i, 8);
		if (w != off + i)
			break;
	}
	for (; i < n; i++)
		if (buf[i] != pattern_byte(off + i)) {
			r->bad_at = off + i;
			return;
		}
}

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(r->port) };
	struct timeval tv = { .tv_sec = 60 };
	static __thread unsigned char buf[1 << 16];
	int one = 1, fd = -1, cfd = -1;

	if (r->t->netns) {
		fd = open(r->t->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			snprintf(r->err, sizeof(r->err), "setns %s: %s", r->t->netns, strerror(errno));
			goto fail;
		}
		close(fd);
	}
	inet_pton(AF_INET, r->t->addr, &sa.sin_addr);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r->lfd < 0 || bind(r->lfd, (void *)&sa, sizeof(sa)) < 0 || listen(r->lfd, 1) < 0) {
		snprintf(r->err, sizeof(r->err), "listen %s:%d: %s", r->t->addr, r->port, strerror(errno));
		goto fail;
	}
	pthread_mutex_lock(&r->lock);
	r->ready = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);

	cfd = accept(r->lfd, NULL, NULL);
	if (cfd < 0) {
		snprintf(r->err, sizeof(r->err), "accept: %s", strerror(errno));
		return NULL;
	}
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = read(cfd, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(r->err, sizeof(r->err), "read: %s", strerror(errno));
			break;
		}
		check_chunk(r, buf, n);
		r->got += n;
	}
	close(cfd);
	close(r->lfd);
	return NULL;
fail:
	pthread_mutex_lock(&r->lock);
	r->ready = -1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static const char *path_name(uint32_t p)
{
	switch (p) {
	case ZCDEV_PATH_NONE: return "none";
	case ZCDEV_PATH_ZEROCOPY: return "zerocopy";
	case ZCDEV_PATH_COPY: return "copy";
	case ZCDEV_PATH_MIXED: return "mixed";
	}
	return "?";
}

static void why_names(uint32_t why, char *out, size_t len)
{
	static const char *const names[] = {
		"no_sg", "no_csum", "ktls", "no_pagecache", "socket", "xfrm", "hole",
	};
	size_t i;

	out[0] = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (why & (1U << i))
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
				 out[0] ? "," : "", names[i]);
	if (why & ~ZCDEV_WHY_ALL)
		snprintf(out + strlen(out), len - strlen(out), "%s0x%x",
			 out[0] ? "," : "", why & ~ZCDEV_WHY_ALL);
	if (!out[0])
		snprintf(out, len, "-");
}

enum method { M_ZCDEV, M_SENDFILE };

/* One transfer; returns 0 when the receiver got the whole file intact. */
static int transfer(const struct target *t, int port, enum method m, int dev,
		    int file, uint64_t size)
{
	struct receiver r = {
		.t = t, .port = port, .lfd = -1, .bad_at = UINT64_MAX,
		.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 60 };
	uint64_t sent = 0, zc = 0, copied = 0, calls = 0;
	uint32_t paths = 0, why = 0;
	char err[160] = "", whys[96];
	const char *pathstr;
	pthread_t th;
	double t0, dt = 0;
	int s, ok;

	pthread_create(&th, NULL, receiver_main, &r);
	pthread_mutex_lock(&r.lock);
	while (!r.ready)
		pthread_cond_wait(&r.cond, &r.lock);
	pthread_mutex_unlock(&r.lock);
	if (r.ready < 0) {
		pthread_join(th, NULL);
		printf("%-36s %-8s receiver failed: %s\n", t->label,
		       m == M_ZCDEV ? "zcdev" : "sendfile", r.err);
		return -1;
	}

	inet_pton(AF_INET, t->addr, &sa.sin_addr);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (void *)&sa, sizeof(sa)) < 0) {
		snprintf(err, sizeof(err), "connect: %s", strerror(errno));
		goto done;
	}

	t0 = now();
	while (sent < size) {
		if (m == M_ZCDEV) {
			struct zcdev_sendfile a = {
				.file_fd = file, .sock_fd = s,
				.offset = sent, .len = size - sent,
			};

			if (ioctl(dev, ZCDEV_IOC_SENDFILE, &a) < 0) {
				snprintf(err, sizeof(err), "ioctl(ZCDEV_IOC_SENDFILE) at %" PRIu64 ": %s",
					 sent, strerror(errno));
				break;
			}
			calls++;
			if (a.sent == 0) {
				snprintf(err, sizeof(err), "ioctl sent 0 at %" PRIu64, sent);
				break;
			}
			sent += a.sent;
			zc += a.zc_bytes;
			copied += a.copied_bytes;
			paths |= 1U << a.path;
			why |= a.why;
		} else {
			off_t off = sent;
			ssize_t n = sendfile(s, file, &off, size - sent);

			if (n <= 0) {
				snprintf(err, sizeof(err), "sendfile at %" PRIu64 ": %s", sent,
					 n < 0 ? strerror(errno) : "returned 0");
				break;
			}
			calls++;
			sent += n;
		}
	}
	dt = now() - t0;
done:
	close(s);
	pthread_join(th, NULL);
	if (!err[0] && r.err[0])
		snprintf(err, sizeof(err), "receiver: %s", r.err);
	ok = !err[0] && r.got == size && r.bad_at == UINT64_MAX;

	if (m == M_ZCDEV) {
		/* combine per-call paths into one word */
		if (!sent)
			pathstr = "none";
		else if (paths & (1U << ZCDEV_PATH_MIXED) ||
			 ((paths & (1U << ZCDEV_PATH_ZEROCOPY)) && (paths & (1U << ZCDEV_PATH_COPY))))
			pathstr = path_name(ZCDEV_PATH_MIXED);
		else if (paths & (1U << ZCDEV_PATH_ZEROCOPY))
			pathstr = path_name(ZCDEV_PATH_ZEROCOPY);
		else
			pathstr = path_name(ZCDEV_PATH_COPY);
		why_names(why, whys, sizeof(whys));
	} else {
		pathstr = "-";
		snprintf(whys, sizeof(whys), "-");
	}
	if (err[0] && !sent) {
		printf("%-36s %-8s FAILED: %s\n", t->label,
		       m == M_ZCDEV ? "zcdev" : "sendfile", err);
	} else {
		char zcs[24] = "-", cps[24] = "-";

		if (m == M_ZCDEV) {
			snprintf(zcs, sizeof(zcs), "%" PRIu64, zc);
			snprintf(cps, sizeof(cps), "%" PRIu64, copied);
		}
		printf("%-36s %-8s %10" PRIu64 " %-9s %10s %10s %-14s %5" PRIu64
		       " %7.3f %8.1f  %s\n",
		       t->label, m == M_ZCDEV ? "zcdev" : "sendfile", sent, pathstr,
		       zcs, cps, whys, calls, dt,
		       dt > 0 ? sent / dt / (1 << 20) : 0.0,
		       ok ? "intact" : "BAD");
		if (err[0])
			printf("%-36s %-8s   error: %s\n", "", "", err);
		if (r.got != size || r.bad_at != UINT64_MAX) {
			printf("%-36s %-8s   receiver got %" PRIu64 " of %" PRIu64 " bytes", "", "",
			       r.got, size);
			if (r.bad_at != UINT64_MAX)
				printf(", first wrong byte at offset %" PRIu64, r.bad_at);
			printf("\n");
		}
	}
	fflush(stdout);
	return ok ? 0 : -1;
}

static int make_file(const char *path, uint64_t size)
{
	static uint64_t buf[1 << 13];	/* 64 KiB */
	uint64_t off = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	while (off < size) {
		size_t i, n = sizeof(buf);

		for (i = 0; i < n / 8; i++)
			buf[i] = off + 8 * i;
		if (n > size - off)
			n = size - off;
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
		off += n;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("ZC_TMPFS");
	uint64_t mib = 32;	/* zc1 copies at ~8 MiB/s under TCG */
	char path[4096];
	int opt, dev, file, failed = 0;
	size_t i;

	if (!dir)
		dir = "/mnt/tmpfs";
	while ((opt = getopt(argc, argv, "s:d:h")) != -1) {
		switch (opt) {
		case 's': mib = strtoull(optarg, NULL, 0); break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-s MiB] [-d dir]\n", argv[0]);
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/zcdemo.dat", dir);
	file = make_file(path, mib << 20);
	if (file < 0) {
		printf("zcdemo: cannot create %s: %s\n", path, strerror(errno));
		return 1;
	}
	dev = open("/dev/" ZCDEV_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		printf("zcdemo: open /dev/zcdev: %s\n", strerror(errno));
		return 1;
	}
	printf("zcdemo: sending %s (%" PRIu64 " MiB, page cache) three ways, by zcdev and by sendfile(2)\n",
	       path, mib);
	printf("%-36s %-8s %10s %-9s %10s %10s %-14s %5s %7s %8s  %s\n",
	       "egress   receiver", "method", "bytes", "path", "zc_bytes", "copied", "why",
	       "calls", "seconds", "MiB/s", "data");
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (transfer(&targets[i], PORT + 2 * i, M_ZCDEV, dev, file, mib << 20))
			failed++;
		transfer(&targets[i], PORT + 2 * i + 1, M_SENDFILE, dev, file, mib << 20);
	}
	close(dev);
	close(file);
	unlink(path);
	printf("zcdemo: %s\n", failed ? "some zcdev transfers FAILED" : "all zcdev transfers intact");
	return failed ? 1 : 0;
}
