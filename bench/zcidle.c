// SPDX-License-Identifier: GPL-2.0
/*
 * zcidle: hold N idle HTTP/1.1 keep-alive connections to a server, for the
 * http suite's memory per connection (bench/http-guest.sh).
 *
 *   zcidle ADDR PORT N PATH SECONDS
 *
 * Opens N connections to ADDR:PORT (IPv4), sends one keep-alive GET of
 * PATH on each and reads its whole response (Content-Length), so that
 * every connection has served a request and is now idle, as a browser's
 * would be.  Then prints "zcidle open N" and waits SECONDS (or until
 * SIGTERM) without a byte more; at the end it prints "zcidle still_open M":
 * the connections the server had not closed.  Exit status 1 if a
 * connection or its response failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* One GET on @fd, its response read to the end; 0 or -1. */
static int get_one(int fd, const char *path)
{
	char req[512], buf[65536], *end, *cl;
	long long want = -1, got = 0;
	size_t have = 0;
	ssize_t n;
	int len;

	len = snprintf(req, sizeof(req),
		       "GET %s HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n", path);
	if (len <= 0 || len >= (int)sizeof(req) || write(fd, req, (size_t)len) != len)
		return -1;
	/* the header */
	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (have == sizeof(buf) - 1)
			return -1;
	}
	if (strncmp(buf, "HTTP/1.1 200 ", 13))
		return -1;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (!cl || cl > end)
		return -1;
	want = atoll(cl + 17);
	got = (long long)(buf + have - (end + 4));
	while (got < want) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		got += n;
	}
	return got == want ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 60 };
	struct pollfd *p;
	int n, i, secs, open_now = 0, rc = 0;
	int *fds;

	if (argc != 6) {
		fprintf(stderr, "usage: zcidle ADDR PORT N PATH SECONDS\n");
		return 2;
	}
	n = atoi(argv[3]);
	secs = atoi(argv[5]);
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	if (n <= 0 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "zcidle: bad address or count\n");
		return 2;
	}
	fds = calloc((size_t)n, sizeof(*fds));
	p = calloc((size_t)n, sizeof(*p));
	if (!fds || !p)
		return 1;
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 ||
		    setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
		    connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    get_one(fds[i], argv[4])) {
			fprintf(stderr, "zcidle: connection %d: %s\n", i, strerror(errno));
			rc = 1;
			if (fds[i] >= 0)
				close(fds[i]);
			n = i;
			break;
		}
	}
	printf("zcidle open %d\n", n);
	fflush(stdout);
	for (i = 0; i < secs * 10 && !stop; i++)
		usleep(100000);
	/* still open: no EOF or error from the server */
	for (i = 0; i < n; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN | POLLRDHUP;
	}
	if (poll(p, (nfds_t)n, 0) >= 0)
		for (i = 0; i < n; i++)
			open_now += p[i].fd >= 0 && !(p[i].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
	printf("zcidle still_open %d\n", open_now);
	return rc;
}
