// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: one worker = one SO_REUSEPORT listener per address and an
 * edge-triggered epoll loop over its nonblocking connections: the state
 * machine of a connection (read, parse, respond, send, warm), timeouts
 * and draining.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "zchttpd.h"

/**
 * zh_listen_socket() - a nonblocking SO_REUSEPORT listener.
 * @addr: "ip:port" or "[ip6]:port"; "[::]" is dual stack.
 *
 * Return: the descriptor or a negative errno.
 */
int zh_listen_socket(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0;

	if (zh_parse_addr(addr, &ss, &sl))
		return -EINVAL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 511) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/**
 * zh_worker_init() - the worker's listeners, epoll and wake eventfd.
 * @w: the worker.
 * @id: its number.
 *
 * Return: 0 or a negative errno.
 */
int zh_worker_init(struct zh_worker *w, int id)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int i;

	memset(w, 0, sizeof(*w));
	w->id = id;
	pthread_mutex_init(&w->ret_lock, NULL);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0)
		return -errno;
	ev.data.ptr = &w->evfd;
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
	for (i = 0; i < zh_cfg.nr_listen; i++) {
		int fd = zh_listen_socket(zh_cfg.listen[i]);

		if (fd < 0) {
			zh_err("listen %s: %s", zh_cfg.listen[i], strerror(-fd));
			return fd;
		}
		w->lfd[w->nr_lfd++] = fd;
		ev.data.ptr = &w->lfd[i];
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
	w->listening = true;
	return 0;
}

/* After a response: log it, count it, release its file. */
static void finish_response(struct zh_conn *c)
{
	zh_log_access(c);
	zh_stats_add(c);
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	c->state = ZH_READ;
	c->cold_rounds = 0;
	/* logged and counted: the next request starts empty */
	zh_request_reset(&c->t->req);
	/* pipelined bytes already here start the next request's clock */
	c->req_start = c->in_len ? time(NULL) : 0;
}

/* A response that cannot end (send error, timeout): log what went, close. */
static void abort_response(struct zh_conn *c)
{
	zh_log_access(c);
	zh_stats_add(c);
	zh_conn_close(c);
}

/* Hand the connection to the pool: the next file bytes are not cached. */
static void warm(struct zh_conn *c)
{
	unsigned int i = c->seg_idx;
	uint64_t skip = c->seg_off;

	/* the first file segment not yet sent (the header may be ahead) */
	while (i < c->nr_seg && c->seg[i].type != ZCDEV_SEG_FILE) {
		i++;
		skip = 0;
	}
	c->warm.fd = i < c->nr_seg ? c->seg[i].file_fd : -1;
	c->warm.off = i < c->nr_seg ? c->seg[i].offset + skip : 0;
	c->warm.len = i < c->nr_seg ? c->seg[i].len - skip : 0;
	c->state = ZH_WARM;
	c->cold_rounds++;
	c->w->in_pool++;
	zh_conn_get(c);		/* the pool's */
	zh_pool_warm(c);
}

/* Answer the request just parsed (or its error): the response goes out next. */
static void respond_now(struct zh_conn *c)
{
	zh_respond(c);
	c->t->req.complete = false;
	c->state = ZH_WRITE;
}

/* Parse what is buffered; true when a response was prepared. */
static bool parse_buffered(struct zh_conn *c)
{
	size_t n = zh_request_feed(c, c->t->in, c->in_len);

	memmove(c->t->in, c->t->in + n, c->in_len - n);
	c->in_len -= n;
	if (!c->t->req.complete && !c->t->req.error && n == 0 && c->in_len)
		c->t->req.error = 400;	/* the parser takes nothing more */
	if (!c->t->req.complete && !c->t->req.error) {
		/*
		 * A partial request: the header timeout runs from now on.
		 * Empty lines before a request (RFC 9112 2.2) begin none:
		 * the connection is idle again.
		 */
		if (!c->t->req.begun && !c->in_len)
			c->req_start = 0;
		else if (!c->req_start)
			c->req_start = time(NULL);
		return false;
	}
	respond_now(c);
	c->req_start = 0;
	return true;
}

/* Send what is left; false when the connection is no longer running. */
static bool run_write(struct zh_conn *c)
{
	int r = zh_send(c);

	if (r == 0)
		return false;		/* EPOLLOUT will call again */
	if (r == -EBUSY) {
		warm(c);
		return false;
	}
	if (r < 0) {
		abort_response(c);
		return false;
	}
	finish_response(c);
	if (c->close_after || zh_draining) {
		zh_tls_close_notify(c);
		shutdown(c->fd, SHUT_WR);
		c->state = ZH_LINGER;
		c->req_start = time(NULL);	/* the lingering clock */
		c->last = c->req_start;
	}
	return true;
}

/* Read and drop what the client still sends; close at its EOF. */
static void run_linger(struct zh_conn *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		c->last = time(NULL);
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		zh_conn_close(c);
}

/* Read more request bytes; false when there is nothing to do now. */
static bool run_read(struct zh_conn *c)
{
	size_t room;
	ssize_t n;

	if (c->in_len == (size_t)zh_cfg.header_max) {
		c->t->req.error = 431;	/* (the parser stops before: a safety net) */
		respond_now(c);
		return true;
	}
	if (zh_draining && !c->req_start && !c->in_len) {
		zh_conn_close(c);	/* idle: nothing in flight */
		return false;
	}
	if (c->rd_drained) {
		/*
		 * The last read was short: the socket had no more, and the
		 * next bytes (or EOF) come with an EPOLLIN edge.  As nginx
		 * does, no read that can only say EAGAIN.
		 */
		if (!c->in_len && !c->req_start)
			zh_conn_inbuf_put(c);	/* idle: no request begun */
		return false;
	}
	if (zh_conn_inbuf_get(c) < 0) {
		zh_conn_close(c);
		return false;
	}
	room = (size_t)zh_cfg.header_max - c->in_len;
	n = zh_conn_recv(c, c->t->in + c->in_len, room);
	if (n > 0) {
		c->in_len += (size_t)n;
		c->last = time(NULL);
		if (!c->req_start)
			c->req_start = c->last;
		/*
		 * (TLS: OpenSSL may hold decrypted bytes a short read left.
		 * A peer's FIN that came with the edge just taken brings no
		 * other: read on until the read says EOF.)
		 */
		c->rd_drained = !c->ssl && !c->rd_eof && (size_t)n < room;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (!c->in_len && !c->req_start)
			zh_conn_inbuf_put(c);	/* idle: no request begun */
		return false;
	}
	zh_conn_close(c);		/* EOF or error: an unfinished request is dropped */
	return false;
}

/* Progress the connection as far as it goes without waiting. */
static void conn_run(struct zh_conn *c)
{
	while (!c->dead && c->state != ZH_WARM) {
		if (c->state == ZH_WRITE) {
			if (!run_write(c))
				return;
			continue;
		}
		if (c->state == ZH_LINGER) {
			run_linger(c);
			return;
		}
		if (c->state == ZH_HANDSHAKE) {
			int r = zh_tls_handshake(c);

			if (r <= 0) {
				if (r < 0)
					zh_conn_close(c);
				return;
			}
			c->state = ZH_READ;
			continue;
		}
		if (c->in_len && parse_buffered(c))
			continue;
		if (!run_read(c))
			return;
	}
}

/* An epoll event for a connection: readable again, and run it. */
static void conn_event(struct zh_conn *c, uint32_t events)
{
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->rd_eof = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->rd_drained = false;
	conn_run(c);
}

/* The pool gave connections back: send on (or free the dead ones). */
static void take_back(struct zh_worker *w)
{
	struct zh_conn *c, *next;
	uint64_t cnt;

	if (read(w->evfd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: woken for draining only */
	}
	pthread_mutex_lock(&w->ret_lock);
	c = w->ret;
	w->ret = NULL;
	pthread_mutex_unlock(&w->ret_lock);
	for (; c; c = next) {
		next = c->ret_next;
		w->in_pool--;
		if (!c->dead) {
			c->state = ZH_WRITE;
			conn_run(c);
		}
		zh_conn_put(c);		/* the pool's */
	}
}

static void timeout_read(struct zh_conn *c, time_t now)
{
	if (c->req_start && now - c->req_start > zh_cfg.header_timeout) {
		/* a slow request header: 408 and close */
		c->t->req.error = 408;
		c->in_len = 0;
		c->req_start = 0;
		respond_now(c);		/* (an error response closes) */
		conn_run(c);
	} else if (!c->req_start && !c->in_len &&
		   (now - c->last > zh_cfg.keepalive_timeout || zh_draining)) {
		zh_conn_close(c);
	}
}

static void timeout_linger(struct zh_conn *c, time_t now)
{
	if (now - c->last > ZH_LINGER_TIMEOUT || now - c->req_start > ZH_LINGER_TIME)
		zh_conn_close(c);
}

static void timeouts(struct zh_worker *w)
{
	time_t now = time(NULL);
	struct zh_conn *c, *next;

	for (c = w->conns; c; c = next) {
		next = c->next;		/* (only @c may be closed here) */
		if (c->state == ZH_READ)
			timeout_read(c, now);
		else if (c->state == ZH_LINGER)
			timeout_linger(c, now);
		else if (c->state == ZH_HANDSHAKE) {
			/* a slow handshake: no request, nothing to log */
			if (now - c->last > zh_cfg.header_timeout)
				zh_conn_close(c);
		} else if (now - c->last > zh_cfg.send_timeout)
			/* a slow reader, or a disk that does not answer */
			abort_response(c);
	}
}

/* listen (EPOLLIN) or not (0) on every listener */
static void listeners_events(struct zh_worker *w, uint32_t events)
{
	int i;

	for (i = 0; i < w->nr_lfd; i++) {
		struct epoll_event ev = { .events = events,
					  .data.ptr = &w->lfd[i] };

		epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->lfd[i], &ev);
	}
}

/* seconds a worker out of descriptors stops accepting */
#define ZH_ACCEPT_PAUSE	1

static void accept_on(struct zh_worker *w, long i)
{
	int r;

	if (!w->listening || w->accept_paused)
		return;
	r = zh_accept_all(w, w->lfd[i], zh_cfg.listen_tls[i]);
	if (r < 0) {
		/*
		 * Out of descriptors: the listener stays readable, and a
		 * level-triggered one would spin.  As nginx does, stop
		 * accepting for a while (the queued connections wait).
		 */
		zh_err("accept4: %s: not accepting for %d s", strerror(-r),
		       ZH_ACCEPT_PAUSE);
		listeners_events(w, 0);
		w->accept_paused = time(NULL);
	}
}

static void accept_resume(struct zh_worker *w)
{
	if (w->accept_paused && w->listening &&
	    time(NULL) - w->accept_paused >= ZH_ACCEPT_PAUSE) {
		w->accept_paused = 0;
		listeners_events(w, EPOLLIN);
	}
}

static void stop_listening(struct zh_worker *w)
{
	int i;

	for (i = 0; i < w->nr_lfd; i++)
		close(w->lfd[i]);
	w->listening = false;
}

/**
 * zh_worker_run() - the event loop of one worker.
 * @arg: the struct zh_worker.
 *
 * When zh_draining is set it stops accepting, closes idle connections and
 * returns once the responses in flight are done (main() bounds the wait).
 *
 * Return: NULL.
 */
void *zh_worker_run(void *arg)
{
	struct zh_worker *w = arg;
	struct epoll_event ev[64];

	for (;;) {
		int i, n;

		if (zh_draining && w->listening)
			stop_listening(w);
		if (zh_draining && !w->conns && !w->in_pool)
			break;
		n = epoll_wait(w->epfd, ev, 64, zh_draining ? 100 : 1000);
		for (i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;

			if (p == &w->evfd)
				take_back(w);
			else if (p >= (void *)w->lfd && p < (void *)(w->lfd + ZH_MAX_LISTEN))
				accept_on(w, (int *)p - w->lfd);
			else
				conn_event(p, ev[i].events);
		}
		timeouts(w);
		zh_conn_reap(w);
		accept_resume(w);
	}
	zh_conn_reap(w);
	while (w->nr_spare)
		free(w->spare[--w->nr_spare]);
	__atomic_sub_fetch(&zh_workers_running, 1, __ATOMIC_RELEASE);
	return NULL;
}
