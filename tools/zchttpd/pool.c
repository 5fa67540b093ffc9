// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: threads that bring a cold file range into the page cache
 * (POSIX_FADV_WILLNEED, then reading it) and hand the connection back to
 * its worker, so the event loop never waits for the disk.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "zchttpd.h"

#define WARM_CHUNK	(4U << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct zh_conn **queue;
static size_t q_head, q_len, q_size;
static bool stop;
static pthread_t *threads;
static int nr_threads;

static void warm(struct zh_conn *c)
{
	static __thread char buf[65536];
	struct zcdev_seg *s = &c->seg[c->seg_idx];
	uint64_t off, end;

	if (s->type != ZCDEV_SEG_FILE)
		return;
	off = s->offset + c->seg_off;
	end = s->offset + s->len;
	if (end - off > WARM_CHUNK)
		end = off + WARM_CHUNK;
	posix_fadvise(s->file_fd, (off_t)off, (off_t)(end - off), POSIX_FADV_WILLNEED);
	while (off < end) {
		size_t want = end - off < sizeof(buf) ? end - off : sizeof(buf);
		ssize_t n = pread(s->file_fd, buf, want, (off_t)off);

		if (n <= 0)
			break;
		off += (uint64_t)n;
	}
}

static void *run(void *arg)
{
	(void)arg;
	for (;;) {
		struct zh_conn *c;

		pthread_mutex_lock(&lock);
		while (!q_len && !stop)
			pthread_cond_wait(&cond, &lock);
		if (!q_len) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		c = queue[q_head];
		q_head = (q_head + 1) % q_size;
		q_len--;
		pthread_mutex_unlock(&lock);
		warm(c);
		if (write(c->w->wake[1], &c, sizeof(c)) != sizeof(c))
			zh_err("pool: cannot requeue a connection");
	}
}

/**
 * zh_pool_start() - start the warming threads.
 * @n: how many.
 *
 * Return: 0 or -ENOMEM.
 */
int zh_pool_start(int n)
{
	int i;

	q_size = (size_t)zh_cfg.max_conns + 1;
	queue = calloc(q_size, sizeof(*queue));
	threads = calloc((size_t)n, sizeof(*threads));
	if (!queue || !threads)
		return -12;
	for (i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, run, NULL) == 0)
			nr_threads++;
	return 0;
}

/** zh_pool_stop() - let the threads finish the queue and end. */
void zh_pool_stop(void)
{
	int i;

	pthread_mutex_lock(&lock);
	stop = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < nr_threads; i++)
		pthread_join(threads[i], NULL);
}

/**
 * zh_pool_warm() - queue a connection whose next file bytes are cold.
 * @c: the connection (state ZH_WARM until its worker gets it back).
 */
void zh_pool_warm(struct zh_conn *c)
{
	pthread_mutex_lock(&lock);
	queue[(q_head + q_len) % q_size] = c;
	q_len++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}
