// SPDX-License-Identifier: MIT
/*
 * uring_server: serve FILE to every client of PORT from one io_uring (with
 * liburing): accepts, zcdev send commands and POLL_ADDs on one ring.
 *
 *   uring_server [-n COUNT] PORT FILE   (listens on [::]: IPv4 and IPv6;
 *                                        PORT 0: any free port)
 *
 * Prints "listening on port N (...)" first, then one line per completion
 * with its report, and one line per finished connection.  -n COUNT: exit
 * after COUNT connections were served.
 *
 * Each connection owns its struct zcdev_sendfile, which must stay valid
 * until the command's CQE is reaped.  A short send is resubmitted from
 * where it stopped.  A command that finds the socket full waits on it for
 * room from 6.7 on (no thread waits for it); before 6.7 it completes with
 * -EAGAIN, and the server waits for POLLOUT with IORING_OP_POLL_ADD, then
 * resubmits.  When
 * zc_uring_supported() says the commands cannot be used (io_uring disabled
 * or absent, no /dev/zcdev, a module without commands), it says why on
 * stderr and serves the clients one at a time with zc_sendfile() instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <liburing.h>
#include <zc.h>

enum { OP_ACCEPT = 1, OP_SEND = 2, OP_POLL = 3, OP_MASK = 3 };

struct conn {
	int id;
	int sock;
	uint64_t off;			/* next byte of the file to send */
	struct zcdev_sendfile a;	/* the command's argument and report */
	struct zc_result sum;		/* reports summed over the sends */
};

static struct zc *zc;
static struct io_uring ring;
static int file_fd, listen_fd;
static uint64_t file_size;
static int served, ids;

static void print_report(const struct conn *c, const char *how, int n,
			 const struct zc_result *r)
{
	char why[256], status[128];

	zc_why_str(r->why, why, sizeof(why), 0);
	zc_status_str(r->status, status, sizeof(status), 0);
	printf("conn %d: %s %d: sent %llu (zc %llu, copied %llu, unknown %llu)"
	       " path %s why %s status %s\n", c->id, how, n,
	       (unsigned long long)r->sent, (unsigned long long)r->zc_bytes,
	       (unsigned long long)r->copied_bytes,
	       (unsigned long long)r->unknown_bytes,
	       zc_path_name(r->path), why[0] ? why : "-",
	       status[0] ? status : "-");
}

/* The connection's summary; closes its socket. */
static void conn_done(struct conn *c, int err)
{
	printf("conn %d: %s, %llu bytes in %u sends: %llu by reference, "
	       "%llu copied, %llu unknown, path %s\n", c->id,
	       err ? strerror(-err) : "done", (unsigned long long)c->sum.sent,
	       c->sum.calls, (unsigned long long)c->sum.zc_bytes,
	       (unsigned long long)c->sum.copied_bytes,
	       (unsigned long long)c->sum.unknown_bytes,
	       zc_path_name(c->sum.path));
	close(c->sock);
	served++;
}

/* ---- io_uring --------------------------------------------------------- */

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {			/* SQ full: make room */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void submit_accept(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_accept(sqe, listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, OP_ACCEPT);
}

/* The rest of the file, from where the last send stopped. */
static void submit_send(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	memset(&c->a, 0, sizeof(c->a));
	c->a.file_fd = file_fd;
	c->a.sock_fd = c->sock;
	c->a.offset = c->off;
	c->a.len = file_size - c->off;
	zc_prep_sendfile(sqe, zc, &c->a);	/* supported: cannot fail */
	io_uring_sqe_set_data64(sqe, (uintptr_t)c | OP_SEND);
}

/* Send what is left, or finish the connection. */
static void conn_next(struct conn *c)
{
	if (c->off < file_size) {
		submit_send(c);
		return;
	}
	shutdown(c->sock, SHUT_WR);
	conn_done(c, 0);
	free(c);
}

static void on_send(struct conn *c, int res)
{
	struct zc_result r;
	int n = zc_cqe_result(res, &c->a, &r);

	zc_result_add(&c->sum, &r);
	if (n == -EAGAIN) {
		struct io_uring_sqe *sqe = get_sqe();

		printf("conn %d: socket full (-EAGAIN): waiting for POLLOUT\n",
		       c->id);
		io_uring_prep_poll_add(sqe, c->sock, POLLOUT);
		io_uring_sqe_set_data64(sqe, (uintptr_t)c | OP_POLL);
		return;
	}
	print_report(c, "cqe", n, &r);
	if (n <= 0) {			/* an error, or the file shrank */
		conn_done(c, n ? n : -ENODATA);
		free(c);
		return;
	}
	c->off += (uint64_t)n;
	conn_next(c);
}

static int serve_uring(int count)
{
	struct io_uring_cqe *cqe;
	struct conn *c;
	uint64_t data;
	int ret, res;

	submit_accept();
	while (!count || served < count) {
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			fprintf(stderr, "io_uring_wait_cqe: %s\n", strerror(-ret));
			return 1;
		}
		data = io_uring_cqe_get_data64(cqe);
		c = (struct conn *)(uintptr_t)(data & ~(uint64_t)OP_MASK);
		res = cqe->res;

		io_uring_cqe_seen(&ring, cqe);
		switch (data & OP_MASK) {
		case OP_ACCEPT:
			if (res < 0) {
				fprintf(stderr, "accept: %s\n", strerror(-res));
			} else {
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(res);
					return 1;
				}
				c->id = ++ids;
				c->sock = res;
				conn_next(c);
			}
			if (!count || ids < count)
				submit_accept();
			break;
		case OP_SEND:
			on_send(c, res);
			break;
		case OP_POLL:		/* writable, or an error a send reports */
			submit_send(c);
			break;
		}
	}
	return 0;
}

/* ---- the ioctl, one client at a time ---------------------------------- */

static int serve_ioctl(int count)
{
	while (!count || served < count) {
		struct conn c = { .id = ++ids };
		struct zc_result r;
		ssize_t n;
		int err = 0;

		c.sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c.sock < 0) {
			perror("accept");
			return 1;
		}
		while (c.off < file_size) {
			n = zc_sendfile(zc, c.sock, file_fd, c.off,
					file_size - c.off, 0, &r);
			if (n == -EINTR)
				continue;
			zc_result_add(&c.sum, &r);
			print_report(&c, "zc_sendfile", (int)n, &r);
			if (n <= 0) {	/* an error, or the file shrank */
				err = n ? (int)n : -ENODATA;
				break;
			}
			c.off += (uint64_t)n;
		}
		shutdown(c.sock, SHUT_WR);
		conn_done(&c, err);
	}
	return 0;
}

static const char *unsupported_why(int err)
{
	switch (err) {
	case -EPERM:
		return "io_uring is not permitted (sysctl "
		       "kernel.io_uring_disabled, or a seccomp filter)";
	case -ENOSYS:
		return "the kernel has no io_uring";
	case -EOPNOTSUPP:
		return zc_is_fallback(zc) == 1 ?
		       "no /dev/zcdev (libzc in fallback mode)" :
		       "the device takes no io_uring commands";
	}
	return strerror(-err);
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6 };
	socklen_t alen = sizeof(addr);
	int one = 1, zero = 0, count = 0, ret;
	struct stat st;

	if (argc == 5 && !strcmp(argv[1], "-n")) {
		count = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s [-n COUNT] PORT FILE\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	file_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (file_fd < 0 || fstat(file_fd, &st) < 0) {
		perror(argv[2]);
		return 1;
	}
	file_size = (uint64_t)st.st_size;
	ret = zc_open(&zc, NULL, 0);
	if (ret < 0) {
		fprintf(stderr, "zc_open: %s\n", strerror(-ret));
		return 1;
	}

	addr.sin6_port = htons((uint16_t)atoi(argv[1]));
	listen_fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(listen_fd, 128) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("listen");
		return 1;
	}

	ret = zc_uring_supported(zc);
	if (!ret) {
		ret = io_uring_queue_init(64, &ring, 0);
		if (ret < 0)
			fprintf(stderr, "uring_server: io_uring_queue_init: %s; "
				"sending with zc_sendfile()\n", strerror(-ret));
	} else {
		fprintf(stderr, "uring_server: io_uring commands unavailable: "
			"%s; sending with zc_sendfile()\n",
			unsupported_why(ret));
	}
	printf("listening on port %u (%s)\n", ntohs(addr.sin6_port),
	       ret ? "zc_sendfile" : "io_uring commands");
	ret = ret ? serve_ioctl(count) : serve_uring(count);
	zc_close(zc);
	return ret;
}
