// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: connection lifetime (zchttpd.h explains the rules): accepting,
 * references, closing, freeing after the event batch, and the hand-back
 * from the warming pool to the connection's worker.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "zchttpd.h"

int zh_nr_conns;	/* all workers, atomically */

static void peer_name(struct zh_conn *c, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], c->peer, sizeof(c->peer));
		else
			inet_ntop(AF_INET6, &a->sin6_addr, c->peer, sizeof(c->peer));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
			  c->peer, sizeof(c->peer));
	}
}

static struct zh_conn *conn_new(struct zh_worker *w, int fd,
				const struct sockaddr_storage *ss, bool tls)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP };
	struct zh_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->w = w;
	c->file_fd = -1;
	c->refs = 1;			/* the worker's list */
	c->last = time(NULL);
	peer_name(c, ss);
	zh_request_init(c);
	c->state = tls ? ZH_HANDSHAKE : ZH_READ;
	ev.data.ptr = c;
	if ((tls && zh_tls_new(c) < 0) ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (c->ssl)
			zh_tls_free(c);
		free(c);
		return NULL;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nr_conns++;
	return c;
}

/**
 * zh_accept_all() - accept every pending connection of a listener.
 * @w: the worker.
 * @lfd: its nonblocking listener.
 * @tls: an HTTPS listener.
 *
 * Beyond --max-conns (all workers together) a connection is closed at once.
 *
 * Return: 0, or -errno when the process is out of descriptors or memory
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM): the pending connections stay queued.
 */
int zh_accept_all(struct zh_worker *w, int lfd, bool tls)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd;

		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				return -errno;
			return 0;
		}
		if (__atomic_add_fetch(&zh_nr_conns, 1, __ATOMIC_RELAXED) > zh_cfg.max_conns ||
		    !conn_new(w, fd, &ss, tls)) {
			__atomic_sub_fetch(&zh_nr_conns, 1, __ATOMIC_RELAXED);
			close(fd);
		}
	}
}

/**
 * zh_conn_get() - take a reference (worker thread only).
 * @c: the connection.
 */
void zh_conn_get(struct zh_conn *c)
{
	c->refs++;
}

/**
 * zh_conn_put() - drop a reference (worker thread only); the last one
 * moves the connection to the graveyard (zh_conn_reap() frees it).
 * @c: the connection, already closed when this is the last reference.
 */
void zh_conn_put(struct zh_conn *c)
{
	if (--c->refs)
		return;
	c->next = c->w->graveyard;
	c->w->graveyard = c;
}

/**
 * zh_conn_close() - close the socket and drop the list's reference.
 * @c: the connection (nothing happens if it is already closed).
 *
 * The file stays open until the last reference is gone: the pool may be
 * reading it.
 */
void zh_conn_close(struct zh_conn *c)
{
	struct zh_worker *w = c->w;

	if (c->dead)
		return;
	c->dead = true;
	close(c->fd);		/* also leaves the epoll set */
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	w->nr_conns--;
	__atomic_sub_fetch(&zh_nr_conns, 1, __ATOMIC_RELAXED);
	zh_conn_put(c);
}

/**
 * zh_conn_reap() - free the connections nothing refers to any more.
 * @w: the worker, between two event batches.
 */
void zh_conn_reap(struct zh_worker *w)
{
	while (w->graveyard) {
		struct zh_conn *c = w->graveyard;

		w->graveyard = c->next;
		if (c->file_fd >= 0)
			close(c->file_fd);
		if (c->ssl || c->tbuf)
			zh_tls_free(c);
		zh_conn_inbuf_put(c);
		free(c);
	}
}

/**
 * zh_conn_inbuf_get() - give the connection its request memory.
 * @c: the connection.
 *
 * A connection holds a struct zh_txn (the request buffer of --header-max
 * bytes, the request's strings, the response header) only while a request
 * is being read, is buffered or is answered: an idle keep-alive connection
 * gives it back (zh_conn_inbuf_put()), as nginx frees its request's
 * memory, and the worker keeps a few for the next reader.  A new one holds
 * an empty request.
 *
 * Return: 0, or -ENOMEM.
 */
int zh_conn_inbuf_get(struct zh_conn *c)
{
	struct zh_worker *w = c->w;

	if (c->t)
		return 0;
	if (w->nr_spare)
		c->t = w->spare[--w->nr_spare];
	else
		c->t = malloc(sizeof(*c->t) + (size_t)zh_cfg.header_max + 1);
	if (!c->t)
		return -ENOMEM;
	zh_request_reset(&c->t->req);
	return 0;
}

/**
 * zh_conn_inbuf_put() - take a connection's request memory back.
 * @c: an idle connection (nothing buffered, no request begun, no response
 *     in flight) or a dead one (what it had is dropped).
 */
void zh_conn_inbuf_put(struct zh_conn *c)
{
	struct zh_worker *w = c->w;

	if (!c->t)
		return;
	if (w->nr_spare < ZH_SPARE_BUFS)
		w->spare[w->nr_spare++] = c->t;
	else
		free(c->t);
	c->t = NULL;
}

/**
 * zh_worker_wake() - make the worker's epoll_wait() return.
 * @w: the worker (any thread).
 */
void zh_worker_wake(struct zh_worker *w)
{
	uint64_t one = 1;

	if (write(w->evfd, &one, sizeof(one)) != sizeof(one)) {
		/* the counter is already nonzero: the worker wakes anyway */
	}
}

/**
 * zh_conn_requeue() - the pool hands a warmed connection back.
 * @c: the connection (the pool's reference goes with it; pool thread).
 */
void zh_conn_requeue(struct zh_conn *c)
{
	struct zh_worker *w = c->w;

	pthread_mutex_lock(&w->ret_lock);
	c->ret_next = w->ret;
	w->ret = c;
	pthread_mutex_unlock(&w->ret_lock);
	zh_worker_wake(w);
}
