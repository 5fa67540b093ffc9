// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: threads that bring a cold file range into the page cache
 * (POSIX_FADV_WILLNEED, then reading it) and hand the connection back to
 * its worker, so the event loop never waits for the disk (nginx's "aio
 * threads").  The pool holds a reference on each connection it has
 * (zchttpd.h) and reads only c->warm and c->w.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "zchttpd.h"

#define WARM_CHUNK	(4U << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct zh_conn *q_head, **q_tail = &q_head;	/* FIFO by ret_next */
static bool stop;
static pthread_t *threads;
static int nr_threads;
unsigned long zh_pool_warmings;	/* ranges warmed (atomically) */

static void warm(const struct zh_conn *c)
{
	static __thread char buf[65536];
	uint64_t off = c->warm.off, end;

	if (c->warm.fd < 0)
		return;
	end = off + (c->warm.len < WARM_CHUNK ? c->warm.len : WARM_CHUNK);
	posix_fadvise(c->warm.fd, (off_t)off, (off_t)(end - off), POSIX_FADV_WILLNEED);
	while (off < end) {
		size_t want = end - off < sizeof(buf) ? end - off : sizeof(buf);
		ssize_t n = pread(c->warm.fd, buf, want, (off_t)off);

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
		while (!q_head && !stop)
			pthread_cond_wait(&cond, &lock);
		c = q_head;
		if (c) {
			q_head = c->ret_next;
			if (!q_head)
				q_tail = &q_head;
		}
		pthread_mutex_unlock(&lock);
		if (!c)
			return NULL;
		warm(c);
		__atomic_add_fetch(&zh_pool_warmings, 1, __ATOMIC_RELAXED);
#ifdef ZH_FAKE_COLD
		usleep(1000 + (unsigned int)(c->warm.len % 20000));	/* widen the window */
#endif
		zh_conn_requeue(c);
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

	threads = calloc((size_t)n, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, run, NULL) == 0)
			nr_threads++;
	return nr_threads ? 0 : -ENOMEM;
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
 * @c: the connection (state ZH_WARM, c->warm set, a reference taken for
 * the pool; its worker gets it back through zh_conn_requeue()).
 */
void zh_pool_warm(struct zh_conn *c)
{
	pthread_mutex_lock(&lock);
	c->ret_next = NULL;
	*q_tail = c;
	q_tail = &c->ret_next;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}
