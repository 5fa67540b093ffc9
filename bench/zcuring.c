// SPDX-License-Identifier: GPL-2.0
/*
 * zcuring: what io_uring commands on /dev/zcdev cost per response, against
 * the ways an event-loop server sends small files today (issue 16).
 *
 * Runs inside the QEMU guests (bench/run.sh, suite uring).  One server
 * thread serves N loopback TCP connections from one client thread; a
 * request is one byte, the response the first --size bytes of a warm tmpfs
 * file, and every connection always has one request outstanding (the
 * client writes the next one when a response is complete), so up to N
 * connections are ready at once.  The server sends the responses with:
 *   sendfile  epoll + sendfile(2) on nonblocking sockets (EPOLLOUT on a
 *             short send)
 *   ioctl     epoll + ZCDEV_IOC_SENDFILE (ZCDEV_SEND_NONBLOCK), likewise
 *   uring     io_uring: a multishot IORING_OP_RECV per connection (its
 *             buffers from a provided-buffer ring; --single-recv: one
 *             RECV per request) for the requests, an
 *             IORING_OP_URING_CMD ZCDEV_IOC_SENDFILE for the response (a
 *             short send is submitted again; on a kernel where commands do
 *             not pend, -EAGAIN arms IORING_OP_POLL_ADD first); one
 *             io_uring_enter per batch of completions
 *   splice    io_uring: the same RECVs, then IORING_OP_SPLICE file -> pipe
 *             linked to IORING_OP_SPLICE pipe -> socket (one pipe per
 *             connection; what io_uring users are told to do today)
 * Figures per method and cell (connections x size): server CPU per
 * response (the process's CPU time but the client thread's: the server
 * thread, io_uring's io-wq workers, and the loopback delivery the kernel
 * charges to them), responses per second, system calls
 * per response, and the ratio of CPU per response to sendfile(2)'s from
 * the same repetition.  CSV lines start with "zcu,".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/zcdev.h>

#define MAXCONN 256
#define MAXSIZE (1 << 20)

enum method { M_SENDFILE, M_IOCTL, M_URING, M_SPLICE, M_NR };
static const char *const method_name[M_NR] = {
	"sendfile", "ioctl", "uring", "splice",
};

static struct {
	const char *dir;
	const char *kernel;
	int conns[8], nconns;
	uint64_t sizes[8];
	int nsizes;
	int reqs;		/* responses per connection per measurement */
	int reps;
	bool methods[M_NR];
} opt = {
	.dir = "/mnt/tmpfs",
	.kernel = "?",
	.reqs = 200,
	.reps = 3,
};

static int file_fd, dev_fd = -1;
static char file_path[256];
static uint8_t *expect;		/* the file's first MAXSIZE bytes */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "zcuring: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	return v;
}

/* ---- connections -------------------------------------------------------- */

struct conn {
	int cfd, sfd;		/* client side, server side */
	/* server */
	uint64_t left;		/* response bytes still to send */
	uint64_t in_pipe;	/* splice: bytes in the pipe */
	int pipe[2];
	bool polling;		/* epoll: EPOLLOUT armed / uring: POLL_ADD */
	struct zcdev_sendfile a;
	struct zcdev_uring_cmd uc;
	char req;
	/* client */
	uint64_t got;
	int done;
	bool checked;
};

static struct conn conns[MAXCONN];
static int nconn;
static uint64_t rsize;
static volatile int client_err;
/* the client thread's own CPU time in the measurement */
static double client_cpu;

static void open_conns(int n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd, i, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, MAXCONN) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len))
		die("listen: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct conn *c = &conns[i];

		memset(c, 0, sizeof(*c));
		c->pipe[0] = c->pipe[1] = -1;
		c->cfd = socket(AF_INET, SOCK_STREAM, 0);
		if (c->cfd < 0 ||
		    connect(c->cfd, (struct sockaddr *)&sin, sizeof(sin)))
			die("connect: %s", strerror(errno));
		c->sfd = accept(lfd, NULL, NULL);
		if (c->sfd < 0)
			die("accept: %s", strerror(errno));
		setsockopt(c->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	close(lfd);
	nconn = n;
}

static void close_conns(void)
{
	int i;

	for (i = 0; i < nconn; i++) {
		close(conns[i].cfd);
		close(conns[i].sfd);
		if (conns[i].pipe[0] >= 0) {
			close(conns[i].pipe[0]);
			close(conns[i].pipe[1]);
		}
	}
	nconn = 0;
}

/* ---- the client --------------------------------------------------------- */

/*
 * Every connection: write a request, read the response (its first one
 * compared with the file), again until opt.reqs responses.
 */
static void *client(void *arg)
{
	static uint8_t buf[MAXSIZE];
	struct epoll_event ev[MAXCONN];
	int ep, i, n, left = nconn;

	double c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);

	(void)arg;
	ep = epoll_create1(0);
	for (i = 0; i < nconn; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].cfd, &e) ||
		    write(conns[i].cfd, "r", 1) != 1) {
			client_err = errno;
			return NULL;
		}
	}
	while (left) {
		n = epoll_wait(ep, ev, MAXCONN, 30000);
		/* (io_uring's task work of a ring being torn down interrupts) */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			client_err = n ? errno : ETIMEDOUT;
			break;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[ev[i].data.u32];
			ssize_t r = read(c->cfd, buf + c->got, rsize - c->got);

			if (r <= 0) {
				client_err = r ? errno : EPIPE;
				goto out;
			}
			c->got += r;
			if (c->got < rsize)
				continue;
			if (!c->checked) {
				if (memcmp(buf, expect, rsize)) {
					client_err = EBADMSG;
					goto out;
				}
				c->checked = true;
			}
			c->got = 0;
			if (++c->done == opt.reqs) {
				left--;
				continue;
			}
			if (write(c->cfd, "r", 1) != 1) {
				client_err = errno;
				goto out;
			}
		}
	}
out:
	close(ep);
	client_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return NULL;
}

/* ---- epoll servers ------------------------------------------------------ */

static uint64_t syscalls;

/* send what is left of @c's response; false when the socket is full */
static bool epoll_send(struct conn *c, enum method m)
{
	while (c->left) {
		uint64_t off = rsize - c->left;
		ssize_t r;

		if (m == M_SENDFILE) {
			off_t o = off;

			r = sendfile(c->sfd, file_fd, &o, c->left);
		} else {
			c->a = (struct zcdev_sendfile){
				.file_fd = file_fd, .sock_fd = c->sfd,
				.offset = off, .len = c->left,
				.flags = ZCDEV_SEND_NONBLOCK,
			};
			r = ioctl(dev_fd, ZCDEV_IOC_SENDFILE, &c->a) ? -1 :
								       (ssize_t)c->a.sent;
		}
		syscalls++;
		if (r < 0 && errno == EAGAIN)
			return false;
		if (r <= 0)
			die("%s: %s", method_name[m], r ? strerror(errno) : "0");
		c->left -= r;
	}
	return true;
}

static void serve_epoll(enum method m, int total)
{
	struct epoll_event ev[MAXCONN];
	int ep, i, n, served = 0;

	ep = epoll_create1(0);
	for (i = 0; i < nconn; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };

		fcntl(conns[i].sfd, F_SETFL, O_NONBLOCK);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].sfd, &e))
			die("epoll_ctl: %s", strerror(errno));
	}
	while (served < total) {
		n = epoll_wait(ep, ev, MAXCONN, 30000);
		syscalls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("server epoll_wait: %s", n ? strerror(errno) : "timeout");
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[ev[i].data.u32];
			struct epoll_event e = { .data.u32 = ev[i].data.u32 };

			if (!c->left) {
				char b[16];

				syscalls++;
				if (read(c->sfd, b, sizeof(b)) != 1)
					continue;
				c->left = rsize;
			}
			if (!epoll_send(c, m)) {
				if (!c->polling) {
					e.events = EPOLLOUT;
					epoll_ctl(ep, EPOLL_CTL_MOD, c->sfd, &e);
					syscalls++;
					c->polling = true;
				}
				continue;
			}
			served++;
			if (c->polling) {
				e.events = EPOLLIN;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->sfd, &e);
				syscalls++;
				c->polling = false;
			}
		}
	}
	close(ep);
	for (i = 0; i < nconn; i++)
		fcntl(conns[i].sfd, F_SETFL, 0);
}

/* ---- io_uring servers --------------------------------------------------- */

/* io_uring_setup() flags (--defer: SINGLE_ISSUER | DEFER_TASKRUN) */
static unsigned int ring_flags;
/* --single-recv: one IORING_OP_RECV per request instead of a multishot one */
static bool single_recv;

/*
 * Multishot RECV (the default): one RECV per connection stays armed and
 * posts a CQE per request, its bytes in a buffer of this ring (group
 * RECV_BGID) that goes back to the ring when the CQE has been read.
 */
#define RECV_BGID	1
#define RECV_NBUF	(2 * MAXCONN)	/* a power of two */
#define RECV_BUFSZ	64
static struct io_uring_buf_ring *recv_br;
static char recv_bufs[RECV_NBUF][RECV_BUFSZ];

/* user_data: connection index << 8 | what */
enum { U_RECV = 1, U_CMD, U_POLL, U_SPLICE_IN, U_SPLICE_OUT };

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		syscalls++;
		sqe = io_uring_get_sqe(ring);
	}
	if (!sqe)
		die("no SQE");
	return sqe;
}

static void q_recv(struct io_uring *ring, int i)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	if (single_recv) {
		io_uring_prep_recv(sqe, conns[i].sfd, &conns[i].req, 1, 0);
	} else {
		io_uring_prep_recv_multishot(sqe, conns[i].sfd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = RECV_BGID;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | U_RECV);
}

static void recv_ring_setup(struct io_uring *ring)
{
	struct io_uring_buf_reg reg = { .ring_entries = RECV_NBUF,
					.bgid = RECV_BGID };
	int i;

	if (posix_memalign((void **)&recv_br, 4096,
			   RECV_NBUF * sizeof(struct io_uring_buf)))
		die("posix_memalign");
	reg.ring_addr = (uintptr_t)recv_br;
	io_uring_buf_ring_init(recv_br);
	if (io_uring_register_buf_ring(ring, &reg, 0))
		die("io_uring_register_buf_ring (multishot RECV; --single-recv runs without)");
	for (i = 0; i < RECV_NBUF; i++)
		io_uring_buf_ring_add(recv_br, recv_bufs[i], RECV_BUFSZ, i,
				      io_uring_buf_ring_mask(RECV_NBUF), i);
	io_uring_buf_ring_advance(recv_br, RECV_NBUF);
}

/*
 * A RECV's completion: false if it is not a request.  A multishot RECV
 * gives its buffer back and is armed again if the kernel ended it.
 */
static bool recv_done(struct io_uring *ring, int i, struct io_uring_cqe *cqe)
{
	unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

	if (single_recv)
		return cqe->res == 1;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		io_uring_buf_ring_add(recv_br, recv_bufs[bid], RECV_BUFSZ, bid,
				      io_uring_buf_ring_mask(RECV_NBUF), 0);
		io_uring_buf_ring_advance(recv_br, 1);
	}
	if (!(cqe->flags & IORING_CQE_F_MORE) && cqe->res > 0)
		q_recv(ring, i);
	return cqe->res == 1;
}

static void q_cmd(struct io_uring *ring, int i)
{
	struct io_uring_sqe *sqe = get_sqe(ring);
	struct conn *c = &conns[i];

	c->a = (struct zcdev_sendfile){
		.file_fd = file_fd, .sock_fd = c->sfd,
		.offset = rsize - c->left, .len = c->left,
	};
	c->uc = (struct zcdev_uring_cmd){ .arg = (uintptr_t)&c->a };
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = dev_fd;
	sqe->cmd_op = ZCDEV_IOC_SENDFILE;
	memcpy(sqe->cmd, &c->uc, sizeof(c->uc));
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | U_CMD);
}

static void q_poll(struct io_uring *ring, int i)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_poll_add(sqe, conns[i].sfd, POLLOUT);
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | U_POLL);
}

/* splice: fill the pipe from the file (linked to the send), or send it */
static void q_splice(struct io_uring *ring, int i)
{
	struct conn *c = &conns[i];
	struct io_uring_sqe *sqe;

	if (!c->in_pipe) {
		c->in_pipe = c->left;
		sqe = get_sqe(ring);
		io_uring_prep_splice(sqe, file_fd, rsize - c->left, c->pipe[1],
				     -1, c->left, 0);
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | U_SPLICE_IN);
	}
	sqe = get_sqe(ring);
	io_uring_prep_splice(sqe, c->pipe[0], -1, c->sfd, -1, c->in_pipe, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | U_SPLICE_OUT);
}

static void serve_uring(enum method m, int total)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int i, ret, served = 0;
	unsigned int head, n;

	if (io_uring_queue_init(2 * MAXCONN + 8, &ring, ring_flags))
		die("io_uring_queue_init");
	if (!single_recv)
		recv_ring_setup(&ring);
	for (i = 0; i < nconn; i++) {
		if (m == M_SPLICE && conns[i].pipe[0] < 0) {
			if (pipe(conns[i].pipe))
				die("pipe: %s", strerror(errno));
			fcntl(conns[i].pipe[1], F_SETPIPE_SZ, MAXSIZE);
		}
		q_recv(&ring, i);
	}
	while (served < total) {
		ret = io_uring_submit_and_wait(&ring, 1);
		syscalls++;
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			die("io_uring_submit_and_wait: %s", strerror(-ret));
		n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			struct conn *c = &conns[ud >> 8];
			int res = cqe->res;

			n++;
			i = ud >> 8;
			switch (ud & 0xff) {
			case U_RECV:
				if (!recv_done(&ring, i, cqe))
					die("recv: %d", res);
				c->left = rsize;
				if (m == M_URING)
					q_cmd(&ring, i);
				else
					q_splice(&ring, i);
				break;
			case U_POLL:
				q_cmd(&ring, i);
				break;
			case U_CMD:
				if (res == -EAGAIN) {
					q_poll(&ring, i);
					break;
				}
				if (res <= 0)
					die("command: %d", res);
				c->left -= res;
				goto sent;
			case U_SPLICE_IN:
				if (res != (int)c->in_pipe)
					die("splice in: %d", res);
				break;
			case U_SPLICE_OUT:
				if (res <= 0)
					die("splice out: %d", res);
				c->in_pipe -= res;
				c->left -= res;
sent:
				if (c->left) {
					if (m == M_URING)
						q_cmd(&ring, i);
					else
						q_splice(&ring, i);
					break;
				}
				served++;
				if (single_recv)
					q_recv(&ring, i);
				break;
			}
		}
		io_uring_cq_advance(&ring, n);
	}
	/* the last RECVs are still queued: the ring's exit cancels them */
	io_uring_queue_exit(&ring);
	free(recv_br);
	recv_br = NULL;
}

/* ---- measurement -------------------------------------------------------- */

struct meas {
	double cpu_us;		/* server CPU per response */
	double rps;
	double calls;		/* system calls per response */
};

static struct meas measure(enum method m, int n, uint64_t size)
{
	int total = n * opt.reqs, i;
	double t0, c0, t1, c1;
	struct meas x;
	pthread_t th;

	rsize = size;
	client_err = 0;
	for (i = 0; i < n; i++) {
		conns[i].done = 0;
		conns[i].got = 0;
		conns[i].left = 0;
		conns[i].in_pipe = 0;
		conns[i].polling = false;
	}
	syscalls = 0;
	if (pthread_create(&th, NULL, client, NULL))
		die("pthread_create");
	t0 = now_s();
	c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
	if (m == M_SENDFILE || m == M_IOCTL)
		serve_epoll(m, total);
	else
		serve_uring(m, total);
	pthread_join(th, NULL);
	c1 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
	t1 = now_s();
	if (client_err)
		die("%s: client: %s", method_name[m], strerror(client_err));
	/*
	 * The server's CPU: the whole process's (io_uring's io-wq workers,
	 * which run the splices, are its threads) but the client thread's
	 */
	x.cpu_us = (c1 - c0 - client_cpu) * 1e6 / total;
	x.rps = total / (t1 - t0);
	x.calls = (double)syscalls / total;
	return x;
}

/* ---- main --------------------------------------------------------------- */

static void make_file(void)
{
	uint64_t i;

	snprintf(file_path, sizeof(file_path), "%s/zcuring.dat", opt.dir);
	file_fd = open(file_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	expect = malloc(MAXSIZE);
	if (file_fd < 0 || !expect)
		die("%s: %s", file_path, strerror(errno));
	for (i = 0; i < MAXSIZE; i++)
		expect[i] = (uint8_t)(i * 131 + (i >> 12));
	if (pwrite(file_fd, expect, MAXSIZE, 0) != MAXSIZE)
		die("write %s: %s", file_path, strerror(errno));
}

static void parse_list(const char *s, bool sizes)
{
	char *dup = strdup(s), *tok, *save = NULL;

	if (sizes)
		opt.nsizes = 0;
	else
		opt.nconns = 0;
	for (tok = strtok_r(dup, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (sizes && opt.nsizes < 8)
			opt.sizes[opt.nsizes++] = parse_size(tok);
		else if (!sizes && opt.nconns < 8)
			opt.conns[opt.nconns++] = atoi(tok);
	}
	free(dup);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: zcuring [--quick|--full] [--kernel K] [--dir D]\n"
		"               [--conns 1,16,64] [--sizes 4K,64K] [--reqs N]\n"
		"               [--reps R] [--methods sendfile,ioctl,uring,splice]\n"
		"               [--defer]  (rings with SINGLE_ISSUER | DEFER_TASKRUN)\n"
		"               [--single-recv]  (a RECV per request, not multishot)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "full", no_argument, NULL, 'f' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'd' },
		{ "conns", required_argument, NULL, 'c' },
		{ "sizes", required_argument, NULL, 's' },
		{ "reqs", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "methods", required_argument, NULL, 'm' },
		{ "defer", no_argument, NULL, 'D' },
		{ "single-recv", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	double tstart = now_s();
	struct meas x[M_NR];
	int ch, ci, si, rep, m;

	parse_list("1,16,64", false);
	parse_list("4K,64K", true);
	for (m = 0; m < M_NR; m++)
		opt.methods[m] = true;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'q':
			opt.reqs = 50;
			opt.reps = 2;
			break;
		case 'f':
			parse_list("1,4,16,64,256", false);
			parse_list("4K,16K,64K", true);
			opt.reqs = 300;
			opt.reps = 5;
			break;
		case 'k': opt.kernel = optarg; break;
		case 'd': opt.dir = optarg; break;
		case 'c': parse_list(optarg, false); break;
		case 's': parse_list(optarg, true); break;
		case 'n': opt.reqs = atoi(optarg); break;
		case 'r': opt.reps = atoi(optarg); break;
		case 'D':
			ring_flags = IORING_SETUP_SINGLE_ISSUER |
				     IORING_SETUP_DEFER_TASKRUN;
			break;
		case 'S': single_recv = true; break;
		case 'm':
			for (m = 0; m < M_NR; m++)
				opt.methods[m] = strstr(optarg, method_name[m]);
			opt.methods[M_SENDFILE] = true;
			break;
		default: usage();
		}
	}
	for (ci = 0; ci < opt.nconns; ci++)
		if (opt.conns[ci] < 1 || opt.conns[ci] > MAXCONN)
			die("--conns: 1 to %d", MAXCONN);
	for (si = 0; si < opt.nsizes; si++)
		if (!opt.sizes[si] || opt.sizes[si] > MAXSIZE)
			die("--sizes: 1 to %d", MAXSIZE);

	make_file();
	dev_fd = open("/dev/zcdev", O_RDWR);
	if (dev_fd < 0) {
		fprintf(stderr, "zcuring: /dev/zcdev: %s: ioctl and uring not run\n",
			strerror(errno));
		opt.methods[M_IOCTL] = opt.methods[M_URING] = false;
	}

	printf("# zcuring: kernel %s, %d responses per connection, %d repetitions\n",
	       opt.kernel, opt.reqs, opt.reps);
	printf("zcu,kernel,conns,size,rep,method,cpu_us_per_resp,resp_per_s,"
	       "syscalls_per_resp,cpu_x_sf\n");
	for (ci = 0; ci < opt.nconns; ci++) {
		for (si = 0; si < opt.nsizes; si++) {
			open_conns(opt.conns[ci]);
			for (rep = 0; rep < opt.reps; rep++) {
				for (m = 0; m < M_NR; m++)
					if (opt.methods[m])
						x[m] = measure(m, opt.conns[ci],
							       opt.sizes[si]);
				for (m = 0; m < M_NR; m++) {
					if (!opt.methods[m])
						continue;
					printf("zcu,%s,%d,%llu,%d,%s,%.2f,%.0f,%.2f,%.3f\n",
					       opt.kernel, opt.conns[ci],
					       (unsigned long long)opt.sizes[si],
					       rep, method_name[m], x[m].cpu_us,
					       x[m].rps, x[m].calls,
					       x[m].cpu_us / x[M_SENDFILE].cpu_us);
				}
				fflush(stdout);
			}
			close_conns();
		}
	}
	unlink(file_path);
	printf("# zcbench done in %.1f s (suite uring)\n", now_s() - tstart);
	return 0;
}
