// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: totals (requests, statuses, bytes by path and by reason) and
 * the status listener that prints them, like nginx's stub_status.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "zchttpd.h"

#define NR_PATHS	8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t requests, sent, zc, copied, unknown;
	uint64_t ssl_write;			/* sent by SSL_write, not libzc */
	uint64_t by_class[6];			/* 1xx..5xx */
	uint64_t path_bytes[NR_PATHS + 1];	/* last: ZC_PATH_UNKNOWN */
	uint64_t why_count[32];
} tot;

/**
 * zh_stats_add() - count one response.
 * @c: the connection.
 */
void zh_stats_add(const struct zh_conn *c)
{
	unsigned int p = c->acc.path;
	uint32_t why;

	pthread_mutex_lock(&lock);
	tot.requests++;
	tot.sent += c->acc.sent;
	tot.zc += c->acc.zc_bytes;
	tot.copied += c->acc.copied_bytes;
	tot.unknown += c->acc.unknown_bytes;
	if (c->ssl && !c->ktls_tx)
		tot.ssl_write += c->acc.sent;
	if (c->status >= 100 && c->status < 600)
		tot.by_class[c->status / 100]++;
	p = p == ZC_PATH_UNKNOWN ? NR_PATHS : (p < NR_PATHS ? p : NR_PATHS);
	tot.path_bytes[p] += c->acc.sent;
	for (why = c->acc.why; why; why &= why - 1)
		tot.why_count[__builtin_ctz(why)]++;
	pthread_mutex_unlock(&lock);
}

static size_t render(char *buf, size_t size)
{
	size_t n;
	unsigned int i;

	pthread_mutex_lock(&lock);
	n = (size_t)snprintf(buf, size,
			     "requests %llu\nbytes_sent %llu\nbytes_zerocopy %llu\nbytes_copied %llu\nbytes_unknown %llu\nbytes_ssl_write %llu\n",
			     (unsigned long long)tot.requests, (unsigned long long)tot.sent,
			     (unsigned long long)tot.zc, (unsigned long long)tot.copied,
			     (unsigned long long)tot.unknown, (unsigned long long)tot.ssl_write);
	n += (size_t)snprintf(buf + n, size - n, "connections %d\npool_warmings %lu\n",
			      __atomic_load_n(&zh_nr_conns, __ATOMIC_RELAXED),
			      __atomic_load_n(&zh_pool_warmings, __ATOMIC_RELAXED));
	for (i = 1; i < 6 && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "status_%ux %llu\n", i,
				      (unsigned long long)tot.by_class[i]);
	for (i = 0; i <= NR_PATHS && n < size; i++) {
		const char *name = zc_path_name(i == NR_PATHS ? ZC_PATH_UNKNOWN : i);

		if (name && tot.path_bytes[i])
			n += (size_t)snprintf(buf + n, size - n, "path %s %llu\n", name,
					      (unsigned long long)tot.path_bytes[i]);
	}
	for (i = 0; i < 32 && n < size; i++) {
		const char *name = zc_why_name(1U << i);

		if (tot.why_count[i])
			n += (size_t)snprintf(buf + n, size - n, "why %s %llu\n",
					      name ? name : "?", (unsigned long long)tot.why_count[i]);
	}
	pthread_mutex_unlock(&lock);
	return n < size ? n : size - 1;
}

static void *run(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		char req[1024], body[4096], hdr[256];
		int fd = accept(lfd, NULL, NULL);
		size_t bl;
		int hl;

		if (fd < 0)
			continue;
		if (read(fd, req, sizeof(req)) < 0) {
			/* the request does not matter */
		}
		bl = render(body, sizeof(body));
		hl = snprintf(hdr, sizeof(hdr),
			      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			      bl);
		if (write(fd, hdr, (size_t)hl) == hl && write(fd, body, bl) < 0) {
			/* the client went away */
		}
		close(fd);
	}
	return NULL;
}

/**
 * zh_status_start() - serve totals on a listening socket (blocking thread).
 * @fd: the listener (made blocking here).
 *
 * Return: 0 or a positive pthread error.
 */
int zh_status_start(int fd)
{
	pthread_t t;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return pthread_create(&t, NULL, run, (void *)(intptr_t)fd);
}
