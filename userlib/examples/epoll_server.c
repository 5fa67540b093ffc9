// SPDX-License-Identifier: MIT
/*
 * epoll_server: serve FILE to every client of PORT at once, from one thread,
 * with nonblocking sockets and edge-triggered epoll: the nginx way.
 *
 *   epoll_server [--fallback] PORT FILE   (listens on [::]: IPv4 and IPv6)
 *
 * --fallback opens the handle with ZC_OPEN_FALLBACK (plain sendfile(2)).
 *
 * Each connection keeps its own offset and report; zc_sendfile() is called
 * whenever the socket may take more, until it returns -EAGAIN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <zc.h>

struct conn {
	int sock;
	uint64_t off;		/* next byte of the file to send */
	struct zc_result sum;	/* reports summed over the calls */
};

static struct zc *zc;
static int file_fd;
static uint64_t file_size;

static void conn_done(struct conn *c, int err)
{
	char why[256];

	zc_why_str(c->sum.why, why, sizeof(why), ZC_WHY_STR_DESC);
	printf("fd %d: %s, %llu bytes: %llu by reference, %llu copied, "
	       "%llu unknown%s%s\n", c->sock, err ? strerror(-err) : "done",
	       (unsigned long long)c->sum.sent,
	       (unsigned long long)c->sum.zc_bytes,
	       (unsigned long long)c->sum.copied_bytes,
	       (unsigned long long)c->sum.unknown_bytes,
	       why[0] ? " \xe2\x80\x94 " : "", why);
	close(c->sock);		/* also removes it from the epoll set */
	free(c);
}

/* Send until done or the socket is full.  Returns 1 when finished. */
static int conn_send(struct conn *c)
{
	while (c->off < file_size) {
		struct zc_result r;
		ssize_t n;

		n = zc_sendfile(zc, c->sock, file_fd, c->off,
				file_size - c->off, 0, &r);
		c->sum.sent += r.sent;
		c->sum.zc_bytes += r.zc_bytes;
		c->sum.copied_bytes += r.copied_bytes;
		c->sum.unknown_bytes += r.unknown_bytes;
		c->sum.why |= r.why;
		if (n == -EAGAIN)
			return 0;	/* wait for EPOLLOUT */
		if (n == -EINTR)
			continue;
		if (n <= 0) {		/* error, or 0: the file shrank */
			conn_done(c, n ? (int)n : -ENODATA);
			return 1;
		}
		c->off += (uint64_t)n;
	}
	shutdown(c->sock, SHUT_WR);
	conn_done(c, 0);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6 };
	struct epoll_event ev, evs[64];
	int lfd, ep, i, n, one = 1, zero = 0;
	unsigned int open_flags = 0;
	struct stat st;

	if (argc == 4 && !strcmp(argv[1], "--fallback")) {
		open_flags = ZC_OPEN_FALLBACK;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s [--fallback] PORT FILE\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	file_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (file_fd < 0 || fstat(file_fd, &st) < 0) {
		perror(argv[2]);
		return 1;
	}
	file_size = (uint64_t)st.st_size;
	n = zc_open(&zc, NULL, open_flags);
	if (n < 0) {
		fprintf(stderr, "zc_open: %s\n", strerror(-n));
		return 1;
	}

	addr.sin6_port = htons((uint16_t)atoi(argv[1]));
	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lfd, 128) < 0) {
		perror("listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;		/* NULL: the listening socket */
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int s;

			if (c) {		/* writable (or error) */
				conn_send(c);
				continue;
			}
			while ((s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
					    SOCK_CLOEXEC)) >= 0) {
				c = calloc(1, sizeof(*c));
				c->sock = s;
				/* Try at once; register only if it must wait. */
				if (conn_send(c))
					continue;
				ev.events = EPOLLOUT | EPOLLET;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
			}
		}
	}
}
