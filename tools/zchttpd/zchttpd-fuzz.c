// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd-fuzz: a seeded fuzzer of request lines and headers.
 *
 *   zchttpd-fuzz SEED COUNT HOST PORT
 *
 * Each case is a valid request mutated (bytes flipped, inserted, deleted,
 * fields duplicated or stretched, CR/LF/NUL/space/%/.. spliced in) and sent
 * on its own connection.  The answer must be an HTTP/1.1 status line with
 * a code zchttpd may give; connection refused (the server died), a reset
 * (an answer lost: the server closed with unread bytes) or no answer
 * within 5 s fails.  Prints the 4xx count; exit 1 on any failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

static unsigned long long rng;

static unsigned int rnd(unsigned int n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned int)(rng >> 33) % n;
}

static const char *const seeds[] = {
	"GET /f1 HTTP/1.1\r\nHost: x\r\n\r\n",
	"HEAD /dir/ HTTP/1.0\r\nUser-Agent: fuzz\r\n\r\n",
	"GET /f4097 HTTP/1.1\r\nHost: x\r\nRange: bytes=10-20\r\n\r\n",
	"GET /f1 HTTP/1.1\r\nIf-None-Match: \"abc\"\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
	"GET /%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
};
static const char *const splices[] = {
	"\r\n", "\n", "\r", " ", "\0", "%", "%00", "%2e%2e/", "../", "//",
	":", "Range: bytes=", "-", ",", "Content-Length: 9\r\n",
	"Transfer-Encoding: chunked\r\n", "HTTP/9.9", "\x80\xff", "\t",
};

static size_t mutate(char *buf, size_t size)
{
	const char *s = seeds[rnd(sizeof(seeds) / sizeof(seeds[0]))];
	size_t len = strlen(s), i, k, n = 1 + rnd(8);

	memcpy(buf, s, len);
	for (k = 0; k < n; k++) {
		size_t at = len ? rnd((unsigned int)len) : 0;

		switch (rnd(6)) {
		case 0:		/* flip a byte */
			if (len)
				buf[at] = (char)rnd(256);
			break;
		case 1:		/* delete a run */
			i = 1 + rnd(8);
			if (at + i > len)
				i = len - at;
			memmove(buf + at, buf + at + i, len - at - i);
			len -= i;
			break;
		case 2: {	/* splice a token */
			const char *t = splices[rnd(sizeof(splices) / sizeof(splices[0]))];
			size_t tl = strlen(t) ? strlen(t) : 1;

			if (len + tl >= size)
				break;
			memmove(buf + at + tl, buf + at, len - at);
			memcpy(buf + at, t, tl);
			len += tl;
			break;
		}
		case 3:		/* stretch: repeat a byte many times */
			i = rnd(3) ? 1 + rnd(64) : 1 + rnd(12000);
			if (len + i >= size || !len)
				break;
			memmove(buf + at + i, buf + at, len - at);
			memset(buf + at, buf[at], i);
			len += i;
			break;
		case 4:		/* duplicate the header block */
			if (len * 2 < size) {
				memcpy(buf + len, buf, len);
				len *= 2;
			}
			break;
		default:	/* truncate */
			if (rnd(4) == 0)
				len = at;
			break;
		}
	}
	return len;
}

static const int allowed[] = {
	200, 206, 301, 304, 400, 403, 404, 405, 408, 412, 413, 414, 416, 431, 505,
};

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned long n, count, c4xx = 0, bad = 0, closed = 0, i;

	if (argc != 5) {
		fprintf(stderr, "usage: zchttpd-fuzz SEED COUNT HOST PORT\n");
		return 2;
	}
	rng = strtoull(argv[1], NULL, 0);
	count = strtoul(argv[2], NULL, 0);
	if (inet_pton(AF_INET, argv[3], &sa.sin_addr) != 1)
		return 2;
	sa.sin_port = htons((unsigned short)atoi(argv[4]));
	for (n = 0; n < count; n++) {
		struct timeval tv = { .tv_sec = 5 };
		size_t len = mutate(buf, sizeof(buf));
		char ans[64] = "";
		int fd = socket(AF_INET, SOCK_STREAM, 0), code = 0, ok = 0, e;
		ssize_t r;

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "case %lu: connect: %s (server down?)\n", n, strerror(errno));
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (send(fd, buf, len, MSG_NOSIGNAL) < 0) {
			/* a reset while we sent: the server closed unread bytes */
			fprintf(stderr, "case %lu: send: %s\n", n, strerror(errno));
			close(fd);
			bad++;
			continue;
		}
		shutdown(fd, SHUT_WR);
		r = recv(fd, ans, sizeof(ans) - 1, MSG_WAITALL);
		e = errno;
		close(fd);
		if (r <= 0) {
			/*
			 * Closed without an answer (an incomplete request
			 * at EOF, as nginx does); a timeout or a reset (the
			 * answer lost) is a failure.
			 */
			if (r < 0) {
				fprintf(stderr, "case %lu: %s\n", n,
					e == EAGAIN || e == EWOULDBLOCK ? "no answer in 5 s" : strerror(e));
				bad++;
			}
			closed++;
			continue;
		}
		if (sscanf(ans, "HTTP/1.1 %d ", &code) == 1)
			for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
				if (allowed[i] == code)
					ok = 1;
		if (!ok) {
			fprintf(stderr, "case %lu: bad answer '%.40s'\n", n, ans);
			bad++;
		}
		if (code >= 400 && code < 500)
			c4xx++;
	}
	printf("cases %lu 4xx %lu closed %lu bad %lu\n", count, c4xx, closed, bad);
	return bad ? 1 : 0;
}
