// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: one worker = one SO_REUSEPORT listener per address and an
 * edge-triggered epoll loop over its nonblocking connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "zchttpd.h"

static int zh_nr_conns;	/* all workers, atomically */

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
 * zh_worker_init() - the worker's listeners, epoll and wake pipe.
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
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0 || pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	ev.data.ptr = w->wake;
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake[0], &ev);
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

static void conn_free(struct zh_conn *c)
{
	struct zh_worker *w = c->w;

	if (c->file_fd >= 0)
		close(c->file_fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nr_conns--;
	__atomic_sub_fetch(&zh_nr_conns, 1, __ATOMIC_RELAXED);
	free(c->in);
	free(c);
}

static void accept_all(struct zh_worker *w, int lfd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev;
		struct zh_conn *c;
		int fd, one = 1;

		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (__atomic_add_fetch(&zh_nr_conns, 1, __ATOMIC_RELAXED) > zh_cfg.max_conns) {
			__atomic_sub_fetch(&zh_nr_conns, 1, __ATOMIC_RELAXED);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc((size_t)zh_cfg.header_max + 1);
		if (!c || !c->in) {
			free(c);
			__atomic_sub_fetch(&zh_nr_conns, 1, __ATOMIC_RELAXED);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->w = w;
		c->file_fd = -1;
		c->last = time(NULL);
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
				inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], c->peer, sizeof(c->peer));
			else
				inet_ntop(AF_INET6, &a->sin6_addr, c->peer, sizeof(c->peer));
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
				  c->peer, sizeof(c->peer));
		}
		zh_request_init(c);
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		w->nr_conns++;
		ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
		ev.data.ptr = c;
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

static void finish_response(struct zh_conn *c)
{
	zh_log_access(c);
	zh_stats_add(c);
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	c->state = ZH_READ;
}

/* Progress the connection as far as it goes; false when it was freed. */
static bool conn_run(struct zh_conn *c)
{
	for (;;) {
		if (c->state == ZH_WARM)
			return true;
		if (c->state == ZH_WRITE) {
			int r = zh_send(c);

			if (r == 0)
				return true;
			if (r == -EBUSY) {
				c->state = ZH_WARM;
				zh_pool_warm(c);
				return true;
			}
			if (r < 0) {
				c->status = c->status ? c->status : 500;
				zh_log_access(c);
				zh_stats_add(c);
				conn_free(c);
				return false;
			}
			finish_response(c);
			if (c->close_after) {
				shutdown(c->fd, SHUT_WR);
				conn_free(c);
				return false;
			}
		}
		/* ZH_READ: parse what is buffered, then read more. */
		if (c->in_len) {
			size_t n = zh_request_feed(c, c->in, c->in_len);

			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			if (!c->req_start)
				c->req_start = time(NULL);
			if (c->req.complete || c->req.error) {
				zh_respond(c);
				c->req.complete = false;
				c->req_start = 0;
				c->state = ZH_WRITE;
				continue;
			}
			if (c->req.hdr_bytes == 0 && n == 0 && c->in_len) {
				c->req.error = 400;
				continue;
			}
		}
		if (zh_draining && !c->req_start) {
			conn_free(c);
			return false;
		}
		{
			ssize_t n = read(c->fd, c->in + c->in_len,
					 (size_t)zh_cfg.header_max - c->in_len);

			if (n > 0) {
				c->in_len += (size_t)n;
				c->last = time(NULL);
				if (!c->req_start)
					c->req_start = c->last;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				if (c->in_len == (size_t)zh_cfg.header_max) {
					c->req.error = 431;
					continue;
				}
				return true;
			}
			conn_free(c);
			return false;
		}
	}
}

static void timeouts(struct zh_worker *w)
{
	time_t now = time(NULL);
	struct zh_conn *c, *next;

	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->state == ZH_WARM)
			continue;
		if (c->state == ZH_WRITE && now - c->last > zh_cfg.send_timeout) {
			conn_free(c);
		} else if (c->state == ZH_READ && c->req_start &&
			   now - c->req_start > zh_cfg.header_timeout) {
			c->req.error = 408;
			c->req_start = 0;
			c->in_len = 0;
			zh_respond(c);
			c->close_after = true;
			c->state = ZH_WRITE;
			conn_run(c);
		} else if (c->state == ZH_READ && !c->req_start &&
			   (now - c->last > zh_cfg.keepalive_timeout || zh_draining)) {
			conn_free(c);
		}
	}
}

/**
 * zh_worker_run() - the event loop of one worker.
 * @arg: the struct zh_worker.
 *
 * Return: NULL when draining is finished.
 */
void *zh_worker_run(void *arg)
{
	struct zh_worker *w = arg;
	struct epoll_event ev[64];

	for (;;) {
		int i, n;

		if (zh_draining && w->listening) {
			for (i = 0; i < w->nr_lfd; i++)
				close(w->lfd[i]);
			w->listening = false;
		}
		if (zh_draining && !w->conns)
			break;
		n = epoll_wait(w->epfd, ev, 64, 1000);
		for (i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;

			if (p == w->wake) {
				struct zh_conn *c;

				while (read(w->wake[0], &c, sizeof(c)) == sizeof(c)) {
					c->state = ZH_WRITE;
					conn_run(c);
				}
			} else if (p >= (void *)w->lfd && p < (void *)(w->lfd + ZH_MAX_LISTEN)) {
				if (w->listening)
					accept_all(w, *(int *)p);
			} else {
				conn_run(p);
			}
		}
		timeouts(w);
	}
	return NULL;
}
