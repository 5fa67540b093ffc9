// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_uring: ZCDEV_IOC_SENDFILE as an io_uring command (issue 16), through
 * raw io_uring syscalls (IORING_OP_URING_CMD on /dev/zcdev).
 *
 *   send.*     many commands per io_uring_enter, one per connection: each
 *              CQE's res against its report, the report against the CQE32
 *              word, every byte at every peer; warm tmpfs files never start
 *              an io-wq worker (the inline issue sent them)
 *   cold.*     a cold ext4 file: the inline issue does not wait for the
 *              disk, a worker does, and reads the command as submitted
 *              although its SQ ring entry was reused right away
 *   full.*     a full socket completes with -EAGAIN (no report, no worker);
 *              after POLLOUT the next command goes on, byte-exact
 *   async.*    IOSQE_ASYNC: issued by a worker, which sends, and which a
 *              full socket does not block (the command waits from the
 *              submitting task: async_pending_many, eight at once, then
 *              rounds that race the peers' draining)
 *   strict.*   STRICT over the sg-off veth: -EOPNOTSUPP with the report
 *              (NO_SG) and nothing sent; without STRICT the copy reported
 *   flags.*    CACHED_ONLY on a cold file (-EBUSY, NOT_CACHED, no worker),
 *              NOTIFY (the completion read from /dev/zcdev)
 *   bad.*      unknown cmd_op, struct sizes, the command area, the ioctl's
 *              own errors, every one in the CQE
 *
 * Runs only inside the QEMU guests (vm/), never on the host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "zc_util.h"

#define KiB 1024ULL
#define IDLE_MS 10000
#define NCONN 8

/* ---- a minimal io_uring (raw syscalls) ---------------------------------- */

struct ring {
	int fd;
	unsigned int flags;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	char *cqes;
	size_t cqe_size, sqe_size;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
};

static int ring_init(struct ring *r, unsigned int entries, unsigned int flags)
{
	struct io_uring_params p;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0)
		return -1;
	r->flags = flags;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cqe_size = (flags & IORING_SETUP_CQE32) ? 32 : 16;
	r->cq_len = p.cq_off.cqes + p.cq_entries * r->cqe_size;
	r->sqe_size = (flags & IORING_SETUP_SQE128) ? 128 : 64;
	r->sqes_len = p.sq_entries * r->sqe_size;
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 r->fd, IORING_OFF_SQ_RING);
	r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->fd, IORING_OFF_SQES);
	if (r->sq_map == MAP_FAILED || r->cq_map == MAP_FAILED ||
	    r->sqes == MAP_FAILED)
		return -1;
	r->sq_head = (unsigned int *)((char *)r->sq_map + p.sq_off.head);
	r->sq_tail = (unsigned int *)((char *)r->sq_map + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)r->sq_map + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq_map + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)r->cq_map + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq_map + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)r->cq_map + p.cq_off.ring_mask);
	r->cqes = (char *)r->cq_map + p.cq_off.cqes;
	return 0;
}

static void ring_exit(struct ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->fd > 0)
		close(r->fd);
	r->fd = -1;
	r->sqes = NULL;
	r->cq_map = r->sq_map = NULL;
}

/* the next free SQE, zeroed (the caller submits before it runs out) */
static struct io_uring_sqe *ring_sqe(struct ring *r)
{
	unsigned int tail = *r->sq_tail;
	unsigned int idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe;

	sqe = (struct io_uring_sqe *)((char *)r->sqes + idx * r->sqe_size);
	memset(sqe, 0, r->sqe_size);
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return sqe;
}

/* submit @n queued SQEs and wait for @wait completions */
static int ring_enter(struct ring *r, unsigned int n, unsigned int wait)
{
	return syscall(__NR_io_uring_enter, r->fd, n, wait,
		       wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
}

/* pop one CQE (0), or -1 if none */
static int ring_cqe(struct ring *r, struct io_uring_cqe *out, uint64_t *res2)
{
	unsigned int head = *r->cq_head;
	struct io_uring_cqe *c;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -1;
	c = (struct io_uring_cqe *)(r->cqes + (head & *r->cq_mask) * r->cqe_size);
	*out = *c;
	*res2 = r->cqe_size == 32 ? c->big_cqe[0] : 0;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

/* a zcdev SENDFILE command on @dev for the struct @a (cmd_op @op) */
static void prep_sendfile(struct io_uring_sqe *sqe, int dev, uint32_t op,
			  void *a, uint64_t user_data)
{
	struct zcdev_uring_cmd uc = { .arg = (uintptr_t)a };

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = dev;
	sqe->cmd_op = op;
	sqe->user_data = user_data;
	memcpy(sqe->cmd, &uc, sizeof(uc));
}

/* one command, submitted and waited for: the CQE's res, its res2 */
static int ring_sendfile_one(struct ring *r, int dev, uint32_t op, void *a,
			     uint64_t *res2)
{
	struct io_uring_cqe cqe;

	prep_sendfile(ring_sqe(r), dev, op, a, 0x5eed);
	if (ring_enter(r, 1, 1) != 1)
		return INT32_MIN;
	if (ring_cqe(r, &cqe, res2) || cqe.user_data != 0x5eed)
		return INT32_MIN;
	return cqe.res;
}

/* io-wq workers of this process ("iou-wrk-<tid>" threads) */
static int iowq_workers(void)
{
	char path[300], comm[32];
	struct dirent *d;
	int n = 0;
	DIR *dir;
	FILE *f;

	dir = opendir("/proc/self/task");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk-", 8))
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/*
 * The CQE against the report: res is @sent (or the errno of a report that
 * comes with one), the CQE32 word packs the report's why/path/status.
 */
static int check_cqe(const struct zcdev_sendfile *in,
		     const struct zcdev_sendfile *out, int res, uint64_t res2,
		     bool cqe32, uint64_t max_sent)
{
	if (res < 0 && res != -EOPNOTSUPP && res != -EBUSY) {
		zc_seterr(false, "res %d (%s)", res, strerror(-res));
		return -1;
	}
	if (res == -EOPNOTSUPP) {
		/* a STRICT refusal: nothing sent, why says what would copy */
		struct zcdev_sendfile r = *out;

		if (!(in->flags & ZCDEV_SEND_STRICT) || !r.why ||
		    (r.why & ~ZCDEV_WHY_ALL)) {
			zc_seterr(false, "not a STRICT refusal: %s",
				  zc_report_str(out));
			return -1;
		}
		r.why = 0;
		if (zc_report_check(in, &r, 0))
			return -1;
	} else if (zc_report_check(in, out, max_sent)) {
		return -1;
	}
	if (res >= 0 && (uint64_t)res != out->sent) {
		zc_seterr(false, "res %d but the report says %s", res,
			  zc_report_str(out));
		return -1;
	}
	if (res < 0 && out->sent) {
		zc_seterr(false, "res %d with bytes sent: %s", res,
			  zc_report_str(out));
		return -1;
	}
	if (cqe32 && (ZCDEV_URING_RES2_WHY(res2) != out->why ||
		      ZCDEV_URING_RES2_PATH(res2) != out->path ||
		      ZCDEV_URING_RES2_STATUS(res2) != out->status ||
		      res2 >> 48)) {
		zc_seterr(false, "res2 %#llx does not match %s",
			  (unsigned long long)res2, zc_report_str(out));
		return -1;
	}
	if (!cqe32 && res2) {
		zc_seterr(false, "res2 %#llx without CQE32",
			  (unsigned long long)res2);
		return -1;
	}
	return 0;
}


/* a CQE within @ms (0), or none (-1) */
static int ring_wait_cqe(struct ring *r, int ms, struct io_uring_cqe *cqe,
			 uint64_t *res2)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

	if (!ring_cqe(r, cqe, res2))
		return 0;
	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return ring_cqe(r, cqe, res2);
}

/*
 * The state (/proc/net/tcp's st: 1 ESTABLISHED, 4 FIN_WAIT1, ...) of the
 * IPv4 socket bound to local port @port, or -1 if there is none.  A
 * descriptor closed while the module still held its socket leaves it
 * ESTABLISHED; released, it goes to FIN_WAIT1 (its FIN queued behind the
 * data the peer has not read).
 */
static int tcp_state_of(uint16_t port)
{
	unsigned int lport, st;
	char line[256];
	int state = -1;
	FILE *f;

	f = fopen("/proc/net/tcp", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &lport, &st) == 2 &&
		    lport == port) {
			state = st;
			break;
		}
	}
	fclose(f);
	return state;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) ||
	    sin.sin_family != AF_INET)
		return 0;
	return ntohs(sin.sin_port);
}

/*
 * Close the sender's descriptor and wait until its socket is released
 * (no longer ESTABLISHED), without reading: a wakeup from the peer reading
 * would let a pending command finish on its own.  0, or -1 if still held.
 */
static int close_and_wait_released(int *snd)
{
	uint16_t port = local_port(*snd);
	int t;

	if (!port || close(*snd))
		return -1;
	*snd = -1;
	for (t = 0; t < 100; t++) {
		if (tcp_state_of(port) != 1)
			return 0;
		zc_sleep_ms(zc_scaled_ms(20));
	}
	return -1;
}

/* how long "no completion" is watched for (scaled like every wait) */
#define QUIET_MS 300

/* ---- fixture ------------------------------------------------------------ */

FIXTURE(uring) {
	int dev;
	struct ring r;
	int fd, ro;
	char path[256];
	uint64_t size;
	struct zc_pair p[NCONN];
	int np;
	struct zc_rx rx[NCONN];
	int refcnt0;
	char defer_max[32];
};

FIXTURE_VARIANT(uring) {
	unsigned int ring_flags;
};

FIXTURE_VARIANT_ADD(uring, cqe16) {
	.ring_flags = 0,
};

FIXTURE_VARIANT_ADD(uring, cqe32) {
	.ring_flags = IORING_SETUP_CQE32,
};

FIXTURE_SETUP(uring)
{
	int i;

	self->fd = self->ro = -1;
	self->path[0] = 0;
	self->np = 0;
	self->defer_max[0] = 0;
	for (i = 0; i < NCONN; i++) {
		self->p[i].snd = self->p[i].rcv = -1;
		memset(&self->rx[i], 0, sizeof(self->rx[i]));
	}
	zc_sigpipe_guard();
	self->refcnt0 = zc_module_refcnt();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, ring_init(&self->r, 64, variant->ring_flags))
		TH_LOG("io_uring_setup: %s", strerror(errno));
	zc_cold_prepare(self->defer_max, sizeof(self->defer_max));
}

FIXTURE_TEARDOWN(uring)
{
	int i;

	for (i = 0; i < self->np; i++) {
		if (self->p[i].snd >= 0)
			shutdown(self->p[i].snd, SHUT_RDWR);
		zc_rx_free(&self->rx[i]);
		zc_pair_close(&self->p[i]);
	}
	ring_exit(&self->r);
	if (self->ro >= 0)
		close(self->ro);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	if (self->dev >= 0)
		close(self->dev);
	zc_cold_restore(self->defer_max);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
	/* every reference the commands took is back (ring and file closed) */
	if (self->refcnt0 >= 0) {
		int n = zc_module_refcnt();
		int t;

		for (t = 0; t < 100 && n != self->refcnt0; t++) {
			zc_sleep_ms(zc_scaled_ms(20));
			n = zc_module_refcnt();
		}
		EXPECT_EQ(self->refcnt0, n);
	}
}

static void make_file(struct __test_metadata *_metadata,
		      FIXTURE_DATA(uring) *self, bool ext4, uint64_t size)
{
	const char *dir = ext4 ? zc_ext4_dir() : zc_tmpfs_dir();

	if (zc_check_fs(dir, ext4 ? ZC_EXT4_MAGIC : ZC_TMPFS_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	self->size = size;
	self->fd = zc_make_payload_file(dir, size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	self->ro = zc_reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, self->ro);
}

static void open_pairs(struct __test_metadata *_metadata,
		       FIXTURE_DATA(uring) *self, int n, enum zc_net net,
		       const struct zc_pair_opts *o)
{
	int i;

	if (net != ZC_NET_LO && zc_net_available(net))
		ZC_NEED(return, "%s", zc_errmsg());
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, zc_pair_open(&self->p[i], ZC_TCP4, net, o))
			TH_LOG("%s", zc_errmsg());
		self->np = i + 1;
	}
}

static void start_rx(struct __test_metadata *_metadata,
		     FIXTURE_DATA(uring) *self, int i, size_t cap)
{
	ASSERT_EQ(0, zc_rx_start(&self->rx[i], self->p[i].rcv, cap,
				 zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

/* close the sender, join the receiver, compare with the file at @off */
static void end_rx(struct __test_metadata *_metadata,
		   FIXTURE_DATA(uring) *self, int i, uint64_t off, uint64_t len)
{
	int64_t bad;

	ASSERT_EQ(0, shutdown(self->p[i].snd, SHUT_WR));
	ASSERT_EQ(0, zc_rx_join(&self->rx[i])) TH_LOG("%s", self->rx[i].msg);
	ASSERT_EQ(len, self->rx[i].len);
	ASSERT_EQ(0, self->rx[i].extra);
	bad = zc_verify(self->rx[i].buf, len, off);
	ASSERT_EQ(-1, bad) TH_LOG("connection %d: %s", i, zc_errmsg());
}

/*
 * Fill connection @i's socket with the ioctl (ZCDEV_SEND_NONBLOCK) from
 * file offset 0 until it stays full (an -EAGAIN, then no POLLOUT for
 * QUIET_MS: over loopback the first -EAGAIN only means the send queue is
 * full until the peer's window takes it); returns the bytes it took.
 */
static uint64_t fill_sock_from(struct __test_metadata *_metadata,
			       FIXTURE_DATA(uring) *self, int i, uint64_t sent,
			       uint64_t len)
{
	struct pollfd pfd = { .fd = self->p[i].snd, .events = POLLOUT };
	struct zcdev_sendfile a;
	int tries = 0;

	for (;;) {
		a = zc_sendfile_in(self->ro, self->p[i].snd, sent, len - sent,
				   ZCDEV_SEND_NONBLOCK);
		if (ioctl(self->dev, ZCDEV_IOC_SENDFILE, &a)) {
			EXPECT_EQ(EAGAIN, errno);
			if (poll(&pfd, 1, zc_scaled_ms(QUIET_MS)) == 0)
				break;
			EXPECT_GT(1000, tries++);
			if (tries >= 1000)
				break;
			continue;
		}
		sent += a.sent;
		EXPECT_GT(len, sent) TH_LOG("the socket never filled up");
		EXPECT_GT(1000, tries++);
		if (sent >= len || tries >= 1000)
			break;
	}
	EXPECT_LT(0, sent);
	return sent;
}

static uint64_t fill_sock(struct __test_metadata *_metadata,
			  FIXTURE_DATA(uring) *self, int i, uint64_t len)
{
	return fill_sock_from(_metadata, self, i, 0, len);
}

/*
 * fill_sock() for the first @n connections, until all of them stay full
 * at once.  A socket filled n × QUIET_MS before the commands are issued
 * can still get room from a late ACK (a slow kernel: check-debug), so all
 * of them are polled again together, and one that became writable is
 * filled again, until none does for QUIET_MS and none takes a byte more.
 * @sent: what each took.
 */
static void fill_socks(struct __test_metadata *_metadata,
		       FIXTURE_DATA(uring) *self, int n, uint64_t len,
		       uint64_t *sent)
{
	struct pollfd pfd[NCONN];
	int i, ready, rounds = 0;

	for (i = 0; i < n; i++)
		sent[i] = fill_sock(_metadata, self, i, len);
	for (;;) {
		for (i = 0; i < n; i++) {
			pfd[i].fd = self->p[i].snd;
			pfd[i].events = POLLOUT;
			pfd[i].revents = 0;
		}
		ready = poll(pfd, n, zc_scaled_ms(QUIET_MS));
		ASSERT_LE(0, ready) TH_LOG("poll: %s", strerror(errno));
		/*
		 * POLLOUT needs a third of the buffer free: less room (a late
		 * ACK) shows only to a send, which the command's inline issue
		 * would make.  So every socket is also tried once.
		 */
		for (i = 0; i < n; i++) {
			struct zcdev_sendfile a;

			if (pfd[i].revents & POLLOUT)
				continue;
			a = zc_sendfile_in(self->ro, self->p[i].snd, sent[i],
					   len - sent[i], ZCDEV_SEND_NONBLOCK);
			if (ioctl(self->dev, ZCDEV_IOC_SENDFILE, &a) == 0) {
				sent[i] += a.sent;
				ready++;
			} else {
				ASSERT_EQ(EAGAIN, errno);
			}
		}
		if (!ready)
			break;
		ASSERT_GT(100, rounds++) TH_LOG("the sockets never stayed full");
		for (i = 0; i < n; i++) {
			if (pfd[i].revents & POLLOUT)
				sent[i] = fill_sock_from(_metadata, self, i,
							 sent[i], len);
		}
	}
}

/*
 * Submit a command for [@sent, @len) on connection 0, whose socket
 * fill_sock() filled, and check that it pends: no CQE for QUIET_MS.
 */
static void submit_pending(struct __test_metadata *_metadata,
			   FIXTURE_DATA(uring) *self, struct zcdev_sendfile *a,
			   uint64_t sent, uint64_t len)
{
	struct io_uring_cqe cqe;
	uint64_t res2;

	*a = zc_sendfile_in(self->ro, self->p[0].snd, sent, len - sent, 0);
	prep_sendfile(ring_sqe(&self->r), self->dev, ZCDEV_IOC_SENDFILE, a, 1);
	ASSERT_EQ(1, ring_enter(&self->r, 1, 0));
	ASSERT_EQ(-1, ring_wait_cqe(&self->r, zc_scaled_ms(QUIET_MS), &cqe,
				    &res2))
		TH_LOG("completed on a full socket: res %d", cqe.res);
}

/*
 * Send [off[i], off[i] + len) on every connection, one command per
 * connection per io_uring_enter, until all is sent; a -EAGAIN CQE waits for
 * POLLOUT and resubmits.  Every CQE is checked against its report.
 * Returns the number of -EAGAIN completions.
 */
static int send_all(struct __test_metadata *_metadata,
		    FIXTURE_DATA(uring) *self,
		    const FIXTURE_VARIANT(uring) *variant, const uint64_t *off,
		    uint64_t len, uint32_t flags)
{
	struct zcdev_sendfile a[NCONN], in[NCONN];
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	uint64_t done[NCONN] = { 0 };
	int eagain = 0, rounds = 0;
	int i, n, left = self->np;

	while (left) {
		struct io_uring_cqe cqe;
		uint64_t res2;

		ASSERT_GT(10000, rounds++);
		n = 0;
		for (i = 0; i < self->np; i++) {
			if (done[i] == len)
				continue;
			in[i] = zc_sendfile_in(self->ro, self->p[i].snd,
					       off[i] + done[i], len - done[i],
					       flags);
			a[i] = in[i];
			zc_poison_out(&a[i]);
			prep_sendfile(ring_sqe(&self->r), self->dev,
				      ZCDEV_IOC_SENDFILE, &a[i], i);
			n++;
		}
		ASSERT_EQ(n, ring_enter(&self->r, n, n))
			TH_LOG("io_uring_enter: %s", strerror(errno));
		while (n--) {
			ASSERT_EQ(0, ring_cqe(&self->r, &cqe, &res2));
			i = cqe.user_data;
			ASSERT_GT(self->np, i);
			if (cqe.res == -EAGAIN) {
				struct pollfd pfd = {
					.fd = self->p[i].snd, .events = POLLOUT,
				};

				/* no report with an error */
				ASSERT_EQ(0, res2);
				eagain++;
				ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)));
				continue;
			}
			ASSERT_LT(0, cqe.res) TH_LOG("connection %d: res %d", i,
						     cqe.res);
			ASSERT_EQ(0, check_cqe(&in[i], &a[i], cqe.res, res2,
					       cqe32, len - done[i]))
				TH_LOG("connection %d: %s", i, zc_errmsg());
			done[i] += cqe.res;
			if (done[i] == len)
				left--;
		}
	}
	return eagain;
}

/* ---- send --------------------------------------------------------------- */

/*
 * Eight connections, a command each per io_uring_enter: every CQE agrees
 * with its report, every peer gets its range byte-exact, and no io-wq
 * worker was ever started (a warm tmpfs file is sent inline).
 */
TEST_F(uring, send_many)
{
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20 };
	uint64_t off[NCONN], len = 192 * KiB + 123;
	int i;

	make_file(_metadata, self, false, NCONN * 256 * KiB);
	open_pairs(_metadata, self, NCONN, ZC_NET_LO, &o);
	for (i = 0; i < NCONN; i++) {
		off[i] = i * 256 * KiB + 7 * i;
		start_rx(_metadata, self, i, len + 64 * KiB);
	}
	send_all(_metadata, self, variant, off, len, 0);
	EXPECT_EQ(0, iowq_workers());
	for (i = 0; i < NCONN; i++)
		end_rx(_metadata, self, i, off[i], len);
}

/* Nothing to send: res 0, the report says EOF. */
TEST_F(uring, send_eof)
{
	struct zcdev_sendfile a, in;
	uint64_t res2;
	int res;

	make_file(_metadata, self, false, 64 * KiB);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	in = zc_sendfile_in(self->ro, self->p[0].snd, 64 * KiB, 4096, 0);
	a = in;
	zc_poison_out(&a);
	res = ring_sendfile_one(&self->r, self->dev, ZCDEV_IOC_SENDFILE, &a,
				&res2);
	ASSERT_EQ(0, res);
	ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
			       variant->ring_flags & IORING_SETUP_CQE32, 0))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(ZCDEV_PATH_NONE, a.path);
	ASSERT_EQ(ZCDEV_STATUS_EOF, a.status);
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

/*
 * Small sends, one command each on an empty socket: every one sends all
 * it was asked, inline, in one completion whose res is the size, and the
 * peer gets the ranges back to back, byte-exact.  1 byte is the case to
 * watch: a CQE res of 1 must not be taken for anything but one byte (the
 * module once took it for its own "issue again from a worker", so the
 * byte went out unreported, and the worker's issue sent the next one).
 */
TEST_F(uring, send_small)
{
	static const uint64_t sizes[] = { 1, 1, 2, 3, 4095, 1, 4096, 4097 };
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	uint64_t off = 0, res2;
	struct zcdev_sendfile a, in;
	unsigned int i;
	int res;

	make_file(_metadata, self, false, 64 * KiB);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	start_rx(_metadata, self, 0, 64 * KiB);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		in = zc_sendfile_in(self->ro, self->p[0].snd, off, sizes[i], 0);
		a = in;
		zc_poison_out(&a);
		res = ring_sendfile_one(&self->r, self->dev,
					ZCDEV_IOC_SENDFILE, &a, &res2);
		ASSERT_EQ(sizes[i], res) TH_LOG("send %u of %llu bytes", i,
					       (unsigned long long)sizes[i]);
		ASSERT_EQ(0, check_cqe(&in, &a, res, res2, cqe32, sizes[i]))
			TH_LOG("%s", zc_errmsg());
		off += res;
	}
	EXPECT_EQ(0, iowq_workers());
	end_rx(_metadata, self, 0, 0, off);
}

/* ---- cold --------------------------------------------------------------- */

/*
 * A cold ext4 file: the inline issue finds nothing cached and hands the
 * command to an io-wq worker, which reads the file.  The SQ ring has one
 * entry, reused for a NOP (whose command area would be -EINVAL) as soon as
 * the command is submitted: the worker must still send what was asked.
 */
TEST_F(uring, cold_worker)
{
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20 };
	struct zcdev_uring_cmd junk = { .arg = 1, .reserved = ~0ULL };
	uint64_t len = 256 * KiB, res2, got = 0;
	struct zcdev_sendfile a, in;
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	struct ring one;
	int res = INT32_MIN, nops = 0;

	make_file(_metadata, self, true, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	start_rx(_metadata, self, 0, len + 64 * KiB);
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_resident_pages(self->ro, 0, len));
	ASSERT_EQ(0, ring_init(&one, 1, variant->ring_flags));

	in = zc_sendfile_in(self->ro, self->p[0].snd, 0, len, 0);
	a = in;
	zc_poison_out(&a);
	prep_sendfile(ring_sqe(&one), self->dev, ZCDEV_IOC_SENDFILE, &a, 1);
	ASSERT_EQ(1, ring_enter(&one, 1, 0));
	/* the only SQ entry, reused at once */
	sqe = ring_sqe(&one);
	sqe->opcode = IORING_OP_NOP;
	sqe->user_data = 2;
	memcpy(sqe->cmd, &junk, sizeof(junk));
	ASSERT_EQ(1, ring_enter(&one, 1, 0));
	while (res == INT32_MIN || !nops) {
		ASSERT_LE(0, ring_enter(&one, 0, 1));
		while (!ring_cqe(&one, &cqe, &res2)) {
			if (cqe.user_data == 2) {
				nops++;
				continue;
			}
			ASSERT_EQ(1, cqe.user_data);
			res = cqe.res;
			/* the worker is still there (idle workers linger) */
			EXPECT_LE(1, iowq_workers());
			ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
					       variant->ring_flags & IORING_SETUP_CQE32,
					       len))
				TH_LOG("%s", zc_errmsg());
			ASSERT_LT(0, res);
		}
	}
	ring_exit(&one);
	got = res;
	/* the rest (a short send is allowed), inline or not */
	if (got < len) {
		uint64_t off = got;

		self->np = 1;
		send_all(_metadata, self, variant, &off, len - got, 0);
	}
	end_rx(_metadata, self, 0, 0, len);
}

/* ---- full --------------------------------------------------------------- */

/*
 * Where commands cannot pend (6.1): a receiver that does not read:
 * commands fill the socket, then one completes with -EAGAIN (no report
 * written: the poisoned out fields stay) without any worker; once the peer
 * reads, POLLOUT, and the rest goes on byte-exact.
 */
TEST_F(uring, full_eagain)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	uint64_t len = 4096 * KiB, sent = 0, res2, off;
	struct zcdev_sendfile a, in, poisoned;
	int res, tries = 0;

	if (zc_uring_cmds_pend())
		SKIP(return, "commands pend on a full socket here (pending_*)");
	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	for (;;) {
		ASSERT_GT(1000, tries++);
		in = zc_sendfile_in(self->ro, self->p[0].snd, sent, len - sent,
				    0);
		a = in;
		zc_poison_out(&a);
		poisoned = a;
		res = ring_sendfile_one(&self->r, self->dev,
					ZCDEV_IOC_SENDFILE, &a, &res2);
		if (res == -EAGAIN)
			break;
		ASSERT_LT(0, res) TH_LOG("res %d", res);
		ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
				       variant->ring_flags & IORING_SETUP_CQE32,
				       len - sent))
			TH_LOG("%s", zc_errmsg());
		sent += res;
		ASSERT_GT(len, sent) TH_LOG("the socket never filled up");
	}
	ASSERT_EQ(0, res2);
	ASSERT_EQ(0, memcmp(&a, &poisoned, sizeof(a)));
	ASSERT_EQ(0, iowq_workers());

	start_rx(_metadata, self, 0, len + 64 * KiB);
	off = sent;
	EXPECT_LE(0, send_all(_metadata, self, variant, &off, len - sent, 0));
	EXPECT_EQ(0, iowq_workers());
	end_rx(_metadata, self, 0, 0, len);
}

/*
 * IOSQE_ASYNC: the first issue is an io-wq worker's (reading io_uring's own
 * copy of the SQE).  On a warm file it sends; on a full socket it must not
 * block the worker either: -EAGAIN comes back within the wait, or, where
 * commands pend (zc_uring_cmds_pend()), the command pends and completes once
 * the peer reads.
 */
TEST_F(uring, async_worker)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	uint64_t len = 4096 * KiB, sent = 0, res2, off;
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	struct zcdev_sendfile a, in;
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	bool pend = zc_uring_cmds_pend(), pending = false;
	struct pollfd pfd;
	int eagain = 0, tries = 0;

	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	while (!eagain) {
		ASSERT_GT(1000, tries++);
		in = zc_sendfile_in(self->ro, self->p[0].snd, sent, len - sent,
				    0);
		a = in;
		zc_poison_out(&a);
		sqe = ring_sqe(&self->r);
		prep_sendfile(sqe, self->dev, ZCDEV_IOC_SENDFILE, &a, 7);
		sqe->flags |= IOSQE_ASYNC;
		ASSERT_EQ(1, ring_enter(&self->r, 1, 0));
		pfd.fd = self->r.fd;
		pfd.events = POLLIN;
		if (pend && poll(&pfd, 1, zc_scaled_ms(QUIET_MS)) != 1) {
			/* pending on the full socket, no worker blocked */
			pending = true;
			break;
		}
		/* a worker blocked on the socket would never complete it */
		ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)))
			TH_LOG("no completion: a worker waits for the socket?");
		ASSERT_EQ(0, ring_cqe(&self->r, &cqe, &res2));
		ASSERT_EQ(7, cqe.user_data);
		EXPECT_LE(1, iowq_workers());
		if (cqe.res == -EAGAIN) {
			ASSERT_EQ(0, res2);
			eagain++;
			break;
		}
		ASSERT_LT(0, cqe.res) TH_LOG("res %d", cqe.res);
		ASSERT_EQ(0, check_cqe(&in, &a, cqe.res, res2, cqe32,
				       len - sent))
			TH_LOG("%s", zc_errmsg());
		sent += cqe.res;
		ASSERT_GT(len, sent) TH_LOG("the socket never filled up");
	}
	ASSERT_LT(0, sent) TH_LOG("the first worker issue sent nothing");
	ASSERT_EQ(pend, pending);
	start_rx(_metadata, self, 0, len + 64 * KiB);
	if (pending) {
		/* the peer reads: the worker's pending command completes */
		ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)));
		ASSERT_EQ(0, ring_cqe(&self->r, &cqe, &res2));
		ASSERT_EQ(7, cqe.user_data);
		ASSERT_LT(0, cqe.res) TH_LOG("res %d", cqe.res);
		ASSERT_EQ(0, check_cqe(&in, &a, cqe.res, res2, cqe32,
				       len - sent))
			TH_LOG("%s", zc_errmsg());
		sent += cqe.res;
	}
	off = sent;
	send_all(_metadata, self, variant, &off, len - sent, 0);
	end_rx(_metadata, self, 0, 0, len);
}

/* ---- pending on a full socket --------------------------------------------- */

#define NEED_PEND()							\
	do {								\
		if (!zc_uring_cmds_pend())					\
			SKIP(return, "io_uring on this kernel cannot cancel " \
			     "a command (no IO_URING_F_CANCEL before 6.7): " \
			     "none is left pending (zcdev(4))");	\
	} while (0)

/*
 * Eight full sockets, a command on each: all pending, no CQE while nobody
 * reads and no io-wq worker (no thread per pending send); once the peers
 * read, each completes with bytes sent, its report checked.  The rest by
 * the ioctl; every peer gets the file byte-exact.
 */
/*
 * Queue a SENDFILE command on connection @i for [@off, @off + @len) with
 * @sqe_flags: *@in what was asked, *@a the struct it reports into.
 */
static void queue_sendfile(FIXTURE_DATA(uring) *self, struct zcdev_sendfile *in,
			   struct zcdev_sendfile *a, int i, uint64_t off,
			   uint64_t len, uint8_t sqe_flags)
{
	struct io_uring_sqe *sqe;

	*in = zc_sendfile_in(self->ro, self->p[i].snd, off, len, 0);
	*a = *in;
	zc_poison_out(a);
	sqe = ring_sqe(&self->r);
	prep_sendfile(sqe, self->dev, ZCDEV_IOC_SENDFILE, a, i);
	sqe->flags |= sqe_flags;
}

TEST_F(uring, pending_many)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	struct zcdev_sendfile a[NCONN], in[NCONN];
	uint64_t len = 1024 * KiB, sent[NCONN], res2;
	struct io_uring_cqe cqe;
	int i, n;

	NEED_PEND();
	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, NCONN, ZC_NET_LO, &o);
	fill_socks(_metadata, self, NCONN, len, sent);
	for (i = 0; i < NCONN; i++)
		queue_sendfile(self, &in[i], &a[i], i, sent[i], len - sent[i], 0);
	ASSERT_EQ(NCONN, ring_enter(&self->r, NCONN, 0));
	ASSERT_EQ(-1, ring_wait_cqe(&self->r, zc_scaled_ms(QUIET_MS), &cqe,
				    &res2))
		TH_LOG("a command on a full socket completed: res %d", cqe.res);
	EXPECT_EQ(0, iowq_workers());

	for (i = 0; i < NCONN; i++)
		start_rx(_metadata, self, i, len + 64 * KiB);
	for (n = 0; n < NCONN; n++) {
		ASSERT_EQ(0, ring_wait_cqe(&self->r, zc_scaled_ms(IDLE_MS),
					   &cqe, &res2))
			TH_LOG("%d of %d pending commands completed", n, NCONN);
		i = cqe.user_data;
		ASSERT_GT(NCONN, i);
		ASSERT_LT(0, cqe.res) TH_LOG("connection %d: res %d", i,
					     cqe.res);
		ASSERT_EQ(0, check_cqe(&in[i], &a[i], cqe.res, res2, cqe32,
				       len - sent[i]))
			TH_LOG("connection %d: %s", i, zc_errmsg());
		sent[i] += cqe.res;
	}
	EXPECT_EQ(0, iowq_workers());
	for (i = 0; i < NCONN; i++) {
		while (sent[i] < len) {
			struct zcdev_sendfile b;

			b = zc_sendfile_in(self->ro, self->p[i].snd, sent[i],
					   len - sent[i], 0);
			ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &b))
				TH_LOG("%s", strerror(errno));
			sent[i] += b.sent;
		}
		end_rx(_metadata, self, i, 0, len);
	}
}

/*
 * The same from io-wq workers (IOSQE_ASYNC): a worker that finds the
 * socket full hands the command to the submitting task, which sends again
 * and waits there.  No CQE while nobody reads; then rounds in which the
 * peers already drain while the commands are issued, so that wakeups come
 * while commands are being armed: every command completes once, with its
 * report, and every peer gets its bytes.  (Under KASAN, check-debug, a
 * wait freed while still in use would show.)
 */
TEST_F(uring, async_pending_many)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	struct zcdev_sendfile a[NCONN], in[NCONN];
	uint64_t len = 2048 * KiB, sent[NCONN], res2;
	struct io_uring_cqe cqe;
	int i, n, round, left;

	NEED_PEND();
	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, NCONN, ZC_NET_LO, &o);
	fill_socks(_metadata, self, NCONN, len, sent);
	for (i = 0; i < NCONN; i++)
		queue_sendfile(self, &in[i], &a[i], i, sent[i], len - sent[i],
			       IOSQE_ASYNC);
	ASSERT_EQ(NCONN, ring_enter(&self->r, NCONN, 0));
	ASSERT_EQ(-1, ring_wait_cqe(&self->r, zc_scaled_ms(QUIET_MS), &cqe,
				    &res2))
		TH_LOG("a command on a full socket completed: res %d", cqe.res);
	EXPECT_LE(1, iowq_workers());

	for (i = 0; i < NCONN; i++)
		start_rx(_metadata, self, i, len + 64 * KiB);
	/* round 0 completes the pending commands; later ones race the peers */
	for (round = 0, left = NCONN; left; round++) {
		ASSERT_GT(2000, round);
		for (n = 0; n < left; n++) {
			ASSERT_EQ(0, ring_wait_cqe(&self->r,
						   zc_scaled_ms(IDLE_MS),
						   &cqe, &res2))
				TH_LOG("round %d: %d of %d commands completed",
				       round, n, left);
			i = cqe.user_data;
			ASSERT_GT(NCONN, i);
			ASSERT_LT(0, cqe.res) TH_LOG("connection %d: res %d", i,
						     cqe.res);
			ASSERT_EQ(0, check_cqe(&in[i], &a[i], cqe.res, res2,
					       cqe32, len - sent[i]))
				TH_LOG("connection %d: %s", i, zc_errmsg());
			sent[i] += cqe.res;
		}
		/* no CQE beyond one per command */
		ASSERT_EQ(-1, ring_wait_cqe(&self->r, 0, &cqe, &res2))
			TH_LOG("an extra CQE: user_data %llu res %d",
			       (unsigned long long)cqe.user_data, cqe.res);
		for (i = 0, left = 0; i < NCONN; i++) {
			if (sent[i] == len)
				continue;
			queue_sendfile(self, &in[i], &a[i], i, sent[i],
				       len - sent[i], IOSQE_ASYNC);
			left++;
		}
		if (left)
			ASSERT_EQ(left, ring_enter(&self->r, left, 0));
	}
	TH_LOG("%d rounds", round);
	for (i = 0; i < NCONN; i++)
		end_rx(_metadata, self, i, 0, len);
}

/*
 * The ring closed with a command pending: io_uring cancels it, and the
 * module drops the socket it held: closing the sender's last descriptor
 * then releases the socket before the peer reads anything (/proc/net/tcp:
 * it leaves ESTABLISHED), the peer reads what was queued, then EOF, and
 * the module's references are back (teardown).
 */
TEST_F(uring, pending_ring_close)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	uint64_t len = 1024 * KiB, sent;
	struct zcdev_sendfile a;

	NEED_PEND();
	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	sent = fill_sock(_metadata, self, 0, len);
	submit_pending(_metadata, self, &a, sent, len);
	if (_metadata->exit_code)
		return;

	ring_exit(&self->r);
	ASSERT_EQ(1, tcp_state_of(local_port(self->p[0].snd)));
	ASSERT_EQ(0, close_and_wait_released(&self->p[0].snd))
		TH_LOG("the socket is still held after the ring was closed");
	/* EOF only if nothing holds the socket any more */
	start_rx(_metadata, self, 0, len + 64 * KiB);
	ASSERT_EQ(0, zc_rx_join(&self->rx[0])) TH_LOG("%s", self->rx[0].msg);
	ASSERT_EQ(sent, self->rx[0].len);
	ASSERT_EQ(-1, zc_verify(self->rx[0].buf, sent, 0))
		TH_LOG("%s", zc_errmsg());
}

/*
 * A process exits with a command pending on its ring: the exit is not held
 * up (io_uring cancels the command), and the socket is let go as above.
 */
TEST_F(uring, pending_exit)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	uint64_t len = 1024 * KiB, sent;
	int status, t;
	pid_t pid;

	NEED_PEND();
	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	sent = fill_sock(_metadata, self, 0, len);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct zcdev_sendfile a;
		struct io_uring_cqe cqe;
		struct ring r;
		uint64_t res2;

		if (ring_init(&r, 4, 0))
			_exit(2);
		a = zc_sendfile_in(self->ro, self->p[0].snd, sent, len - sent,
				   0);
		prep_sendfile(ring_sqe(&r), self->dev, ZCDEV_IOC_SENDFILE, &a,
			      1);
		if (ring_enter(&r, 1, 0) != 1)
			_exit(3);
		/* pending: no completion */
		if (!ring_wait_cqe(&r, zc_scaled_ms(QUIET_MS), &cqe, &res2))
			_exit(4);
		_exit(0);
	}
	for (t = 0; t < 200; t++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		zc_sleep_ms(zc_scaled_ms(50));
	}
	if (t == 200) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	ASSERT_GT(200, t) TH_LOG("the exit waited for the pending command");
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 2 ring, 3 submit, 4 completed on a full socket");

	ASSERT_EQ(0, close_and_wait_released(&self->p[0].snd))
		TH_LOG("the socket is still held after the process exited");
	start_rx(_metadata, self, 0, len + 64 * KiB);
	ASSERT_EQ(0, zc_rx_join(&self->rx[0])) TH_LOG("%s", self->rx[0].msg);
	ASSERT_EQ(sent, self->rx[0].len);
}

/*
 * The peer resets the connection while a command is pending: the command
 * completes with the socket's error, without SIGPIPE (teardown checks).
 */
TEST_F(uring, pending_reset)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint64_t len = 1024 * KiB, sent, res2;
	struct zcdev_sendfile a;
	struct io_uring_cqe cqe;

	NEED_PEND();
	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	sent = fill_sock(_metadata, self, 0, len);
	submit_pending(_metadata, self, &a, sent, len);
	if (_metadata->exit_code)
		return;

	ASSERT_EQ(0, setsockopt(self->p[0].rcv, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	ASSERT_EQ(0, close(self->p[0].rcv));
	self->p[0].rcv = -1;
	ASSERT_EQ(0, ring_wait_cqe(&self->r, zc_scaled_ms(IDLE_MS), &cqe,
				   &res2))
		TH_LOG("no completion after the reset");
	EXPECT_TRUE(cqe.res == -ECONNRESET || cqe.res == -EPIPE)
		TH_LOG("res %d", cqe.res);
	EXPECT_EQ(0, res2);
}

/* ---- strict ------------------------------------------------------------- */

/* STRICT over the sg-off veth: -EOPNOTSUPP, why NO_SG, nothing sent. */
TEST_F(uring, strict_nosg)
{
	struct zcdev_sendfile a, in;
	uint64_t res2;
	int res;

	make_file(_metadata, self, false, 64 * KiB);
	open_pairs(_metadata, self, 1, ZC_NET_NOSG, NULL);
	in = zc_sendfile_in(self->ro, self->p[0].snd, 0, 64 * KiB,
			    ZCDEV_SEND_STRICT);
	a = in;
	zc_poison_out(&a);
	res = ring_sendfile_one(&self->r, self->dev, ZCDEV_IOC_SENDFILE, &a,
				&res2);
	ASSERT_EQ(-EOPNOTSUPP, res);
	ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
			       variant->ring_flags & IORING_SETUP_CQE32, 0))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, a.sent);
	ASSERT_EQ(ZCDEV_PATH_NONE, a.path);
	ASSERT_TRUE(a.why & ZCDEV_WHY_NO_SG) TH_LOG("%s", zc_report_str(&a));
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

/* Without STRICT the same send is copied, and says so. */
TEST_F(uring, copy_nosg)
{
	uint64_t off = 0, len = 64 * KiB;
	struct zcdev_sendfile a, in;
	uint64_t res2;
	int res;

	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_NOSG, NULL);
	start_rx(_metadata, self, 0, len + 64 * KiB);
	in = zc_sendfile_in(self->ro, self->p[0].snd, 0, len, 0);
	a = in;
	zc_poison_out(&a);
	res = ring_sendfile_one(&self->r, self->dev, ZCDEV_IOC_SENDFILE, &a,
				&res2);
	ASSERT_LT(0, res) TH_LOG("res %d", res);
	ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
			       variant->ring_flags & IORING_SETUP_CQE32, len))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(ZCDEV_PATH_COPY, a.path) TH_LOG("%s", zc_report_str(&a));
	ASSERT_TRUE(a.why & ZCDEV_WHY_NO_SG) TH_LOG("%s", zc_report_str(&a));
	off = res;
	if (off < len)
		send_all(_metadata, self, variant, &off, len - off, 0);
	end_rx(_metadata, self, 0, 0, len);
}

/* ---- flags -------------------------------------------------------------- */

/* CACHED_ONLY on a cold file: -EBUSY with NOT_CACHED, inline, no worker. */
TEST_F(uring, cached_only_cold)
{
	struct zcdev_sendfile a, in;
	uint64_t len = 64 * KiB, res2;
	int res;

	make_file(_metadata, self, true, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	in = zc_sendfile_in(self->ro, self->p[0].snd, 0, len,
			    ZCDEV_SEND_CACHED_ONLY);
	a = in;
	zc_poison_out(&a);
	res = ring_sendfile_one(&self->r, self->dev, ZCDEV_IOC_SENDFILE, &a,
				&res2);
	ASSERT_EQ(-EBUSY, res);
	ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
			       variant->ring_flags & IORING_SETUP_CQE32, 0))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(ZCDEV_STATUS_NOT_CACHED, a.status);
	ASSERT_EQ(0, iowq_workers());
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

/* NOTIFY: the id in the report, its completion read from /dev/zcdev. */
TEST_F(uring, notify)
{
	struct zcdev_completion c[4];
	struct zcdev_sendfile a, in;
	uint64_t len = 64 * KiB, res2;
	struct pollfd pfd;
	ssize_t n;
	int res;

	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	start_rx(_metadata, self, 0, len + 64 * KiB);
	in = zc_sendfile_in(self->ro, self->p[0].snd, 0, len,
			    ZCDEV_SEND_NOTIFY);
	a = in;
	zc_poison_out(&a);
	res = ring_sendfile_one(&self->r, self->dev, ZCDEV_IOC_SENDFILE, &a,
				&res2);
	ASSERT_LT(0, res) TH_LOG("res %d", res);
	ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
			       variant->ring_flags & IORING_SETUP_CQE32, len))
		TH_LOG("%s", zc_errmsg());
	ASSERT_NE(0, a.notify_id);
	end_rx(_metadata, self, 0, 0, res);
	pfd.fd = self->dev;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)));
	n = read(self->dev, c, sizeof(c));
	ASSERT_EQ(sizeof(c[0]), n);
	ASSERT_EQ(a.notify_id, c[0].id);
}

/*
 * NOTIFY ids leave no gap: a command whose inline issue found the file cold
 * and was issued again from a worker gets the id after the previous send's,
 * as one ioctl would.
 */
TEST_F(uring, notify_id_after_retry)
{
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20 };
	uint64_t len = 256 * KiB, half = 128 * KiB, res2;
	struct zcdev_sendfile a, b, in;
	struct zcdev_completion c[2];
	struct pollfd pfd;
	int res;

	make_file(_metadata, self, true, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	start_rx(_metadata, self, 0, len + 64 * KiB);
	pfd.fd = self->dev;
	pfd.events = POLLIN;

	/* the first half by the ioctl; its completion read */
	a = zc_sendfile_in(self->ro, self->p[0].snd, 0, half, ZCDEV_SEND_NOTIFY);
	ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDFILE, &a))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(half, a.sent);
	ASSERT_NE(0, a.notify_id);
	ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)));
	ASSERT_EQ(sizeof(c[0]), read(self->dev, c, sizeof(c)));
	ASSERT_EQ(a.notify_id, c[0].id);

	/* the second half cold, through the ring: a worker sends it */
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_resident_pages(self->ro, half, len - half));
	in = zc_sendfile_in(self->ro, self->p[0].snd, half, len - half,
			    ZCDEV_SEND_NOTIFY);
	b = in;
	zc_poison_out(&b);
	res = ring_sendfile_one(&self->r, self->dev, ZCDEV_IOC_SENDFILE, &b,
				&res2);
	ASSERT_EQ(len - half, res);
	ASSERT_EQ(0, check_cqe(&in, &b, res, res2,
			       variant->ring_flags & IORING_SETUP_CQE32,
			       len - half))
		TH_LOG("%s", zc_errmsg());
	/* the premise: the inline issue handed it to a worker */
	ASSERT_LE(1, iowq_workers());
	EXPECT_EQ(a.notify_id + 1, b.notify_id);
	end_rx(_metadata, self, 0, 0, len);
	ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)));
	ASSERT_EQ(sizeof(c[0]), read(self->dev, c, sizeof(c)));
	ASSERT_EQ(b.notify_id, c[0].id);
}

/* ---- SENDV -------------------------------------------------------------- */

/*
 * A SENDV command, submitted and waited for: its CQE checked against the
 * report (res is @sent, res2 packs why/path/status) and the report against
 * the segments.  Returns the CQE's res.
 */
static int ring_sendv_one(struct __test_metadata *_metadata, struct ring *r,
			  int dev, const struct zcdev_sendv *in,
			  struct zcdev_sendv *out, const struct zcdev_seg *segs,
			  bool cqe32)
{
	struct io_uring_cqe cqe;
	uint64_t res2;

	*out = *in;
	zc_poison_sendv_out(out);
	prep_sendfile(ring_sqe(r), dev, ZCDEV_IOC_SENDV, out, 0x5e9);
	if (ring_enter(r, 1, 1) != 1 || ring_cqe(r, &cqe, &res2) ||
	    cqe.user_data != 0x5e9)
		return INT32_MIN;
	if (cqe.res < 0 && cqe.res != -EOPNOTSUPP && cqe.res != -EBUSY) {
		EXPECT_EQ(0, res2);
		return cqe.res;
	}
	EXPECT_EQ(0, zc_sendv_report_check(in, out, segs, UINT64_MAX))
		TH_LOG("%s", zc_errmsg());
	if (cqe.res >= 0)
		EXPECT_EQ(out->sent, (uint64_t)cqe.res);
	/* the CQE32 word packs the report as for SENDFILE */
	if (cqe32) {
		EXPECT_TRUE(ZCDEV_URING_RES2_WHY(res2) == out->why &&
			    ZCDEV_URING_RES2_PATH(res2) == out->path &&
			    ZCDEV_URING_RES2_STATUS(res2) == out->status &&
			    !(res2 >> 48))
			TH_LOG("res2 %#llx: %s", (unsigned long long)res2,
			       zc_sendv_report_str(out));
	} else {
		EXPECT_EQ(0, res2);
	}
	return cqe.res;
}

/*
 * Memory, a warm tmpfs range, memory: one command sends it all inline, in
 * order.  The memory segments hold the file's own bytes before and after
 * the range, so the peer must receive one contiguous range of the file.
 */
TEST_F(uring, sendv_warm)
{
	uint64_t hdr = 100, body = 64 * KiB + 5, tail = 7;
	uint64_t total = hdr + body + tail;
	struct zcdev_sendv in, out;
	struct zcdev_seg segs[3];
	char head[100], trailer[7];
	int res;

	make_file(_metadata, self, false, 256 * KiB);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	ASSERT_EQ(hdr, pread(self->ro, head, hdr, 0));
	ASSERT_EQ(tail, pread(self->ro, trailer, tail, hdr + body));
	segs[0] = zct_seg_mem(head, hdr);
	segs[1] = zct_seg_file(self->ro, hdr, body);
	segs[2] = zct_seg_mem(trailer, tail);
	memset(&in, 0, sizeof(in));
	in.segs = (uintptr_t)segs;
	in.nr_segs = 3;
	in.sock_fd = self->p[0].snd;
	start_rx(_metadata, self, 0, total + 64 * KiB);
	res = ring_sendv_one(_metadata, &self->r, self->dev, &in, &out, segs,
			     variant->ring_flags & IORING_SETUP_CQE32);
	ASSERT_EQ(total, res);
	EXPECT_EQ(3, out.seg_index);
	EXPECT_EQ(body, out.zc_bytes);
	EXPECT_EQ(hdr + tail, out.copied_bytes);
	EXPECT_EQ(0, iowq_workers());
	end_rx(_metadata, self, 0, 0, total);
}

/*
 * A cold ext4 range behind a header: the inline issue may not wait for the
 * disk, so it sends the header and stops where the cache ends (a short
 * send, seg_index 1, no NOT_CACHED: the caller did not ask for
 * CACHED_ONLY); the rest, submitted again on a cache made cold again,
 * finds nothing cached inline and is sent by an io-wq worker.  The peer
 * gets the whole range.
 */
TEST_F(uring, sendv_cold)
{
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20 };
	uint64_t hdr = 100, len = 256 * KiB;
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	struct zcdev_sendv in, out;
	struct zcdev_seg segs[2];
	char head[100];
	int res;

	make_file(_metadata, self, true, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, &o);
	ASSERT_EQ(hdr, pread(self->ro, head, hdr, 0));
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_resident_pages(self->ro, 0, len));
	segs[0] = zct_seg_mem(head, hdr);
	segs[1] = zct_seg_file(self->ro, hdr, len - hdr);
	memset(&in, 0, sizeof(in));
	in.segs = (uintptr_t)segs;
	in.nr_segs = 2;
	in.sock_fd = self->p[0].snd;
	start_rx(_metadata, self, 0, len + 64 * KiB);

	res = ring_sendv_one(_metadata, &self->r, self->dev, &in, &out, segs,
			     cqe32);
	ASSERT_EQ(hdr, res) TH_LOG("%s", zc_sendv_report_str(&out));
	EXPECT_EQ(1, out.seg_index);
	EXPECT_EQ(0, out.seg_sent);
	EXPECT_EQ(0, out.status);
	EXPECT_EQ(0, iowq_workers());

	/*
	 * The rest: a worker reads the file (cold again first: the inline
	 * issue started readahead at its stop, which may have filled it)
	 */
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_resident_pages(self->ro, 0, len));
	in.segs = (uintptr_t)&segs[1];
	in.nr_segs = 1;
	res = ring_sendv_one(_metadata, &self->r, self->dev, &in, &out,
			     &segs[1], cqe32);
	ASSERT_EQ(len - hdr, res) TH_LOG("%s", zc_sendv_report_str(&out));
	EXPECT_EQ(1, out.seg_index);
	EXPECT_LE(1, iowq_workers());
	end_rx(_metadata, self, 0, 0, len);
}

/* send_small for SENDV: a 1-byte memory segment, a 1-byte file segment. */
TEST_F(uring, sendv_small)
{
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	struct zcdev_sendv in, out;
	struct zcdev_seg seg;
	uint64_t off = 0;
	char byte;
	int i, res;

	make_file(_metadata, self, false, 64 * KiB);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	start_rx(_metadata, self, 0, 64 * KiB);
	for (i = 0; i < 4; i++) {
		if (i % 2) {
			seg = zct_seg_file(self->ro, off, 1);
		} else {
			ASSERT_EQ(1, pread(self->ro, &byte, 1, off));
			seg = zct_seg_mem(&byte, 1);
		}
		memset(&in, 0, sizeof(in));
		in.segs = (uintptr_t)&seg;
		in.nr_segs = 1;
		in.sock_fd = self->p[0].snd;
		res = ring_sendv_one(_metadata, &self->r, self->dev, &in, &out,
				     &seg, cqe32);
		ASSERT_EQ(1, res) TH_LOG("send %d (%s segment)", i,
					 i % 2 ? "file" : "memory");
		EXPECT_EQ(1, out.seg_index);
		off += res;
	}
	EXPECT_EQ(0, iowq_workers());
	end_rx(_metadata, self, 0, 0, off);
}

/* ---- bad input ---------------------------------------------------------- */

/*
 * A ring of 128-byte SQEs: the 64 bytes of the command area after the
 * struct are reserved.  Zero: sent as usual; not zero: -EINVAL, nothing
 * sent.
 */
TEST_F(uring, sqe128_tail)
{
	struct zcdev_sendfile a, in;
	struct zcdev_uring_cmd uc;
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	uint64_t len = 16 * KiB, res2;
	struct ring big;
	int res;

	make_file(_metadata, self, false, len);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	ASSERT_EQ(0, ring_init(&big, 4, variant->ring_flags |
					IORING_SETUP_SQE128))
		TH_LOG("io_uring_setup: %s", strerror(errno));

	/* a non-zero reserved byte, the last of the area */
	in = zc_sendfile_in(self->ro, self->p[0].snd, 0, len, 0);
	a = in;
	uc.arg = (uintptr_t)&a;
	uc.reserved = 0;
	sqe = ring_sqe(&big);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = self->dev;
	sqe->cmd_op = ZCDEV_IOC_SENDFILE;
	memcpy(sqe->cmd, &uc, sizeof(uc));
	((uint8_t *)sqe->cmd)[80 - 1] = 1;
	ASSERT_EQ(1, ring_enter(&big, 1, 1));
	ASSERT_EQ(0, ring_cqe(&big, &cqe, &res2));
	EXPECT_EQ(-EINVAL, cqe.res);
	EXPECT_EQ(0, res2);
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());

	/* all zero: the send */
	start_rx(_metadata, self, 0, len + 64 * KiB);
	a = in;
	zc_poison_out(&a);
	res = ring_sendfile_one(&big, self->dev, ZCDEV_IOC_SENDFILE, &a,
				&res2);
	ring_exit(&big);
	ASSERT_EQ(len, res);
	ASSERT_EQ(0, check_cqe(&in, &a, res, res2,
			       variant->ring_flags & IORING_SETUP_CQE32, len))
		TH_LOG("%s", zc_errmsg());
	end_rx(_metadata, self, 0, 0, len);
}

/*
 * IORING_URING_CMD_FIXED (a registered buffer for the command): the module
 * uses none, so the flag is -EINVAL rather than ignored.
 */
TEST_F(uring, fixed_buffer_flag)
{
	struct zcdev_sendfile a;
	struct zcdev_uring_cmd uc;
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	static char buf[4096] __attribute__((aligned(4096)));
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	uint64_t res2;

	make_file(_metadata, self, false, 16 * KiB);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	/* io_uring checks buf_index against the registered buffers first */
	ASSERT_EQ(0, syscall(__NR_io_uring_register, self->r.fd,
			     IORING_REGISTER_BUFFERS, &iov, 1))
		TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));
	a = zc_sendfile_in(self->ro, self->p[0].snd, 0, 16 * KiB, 0);
	uc.arg = (uintptr_t)&a;
	uc.reserved = 0;
	sqe = ring_sqe(&self->r);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = self->dev;
	sqe->cmd_op = ZCDEV_IOC_SENDFILE;
	sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
	sqe->buf_index = 0;
	memcpy(sqe->cmd, &uc, sizeof(uc));
	ASSERT_EQ(1, ring_enter(&self->r, 1, 1));
	ASSERT_EQ(0, ring_cqe(&self->r, &cqe, &res2));
	EXPECT_EQ(-EINVAL, cqe.res);
	EXPECT_EQ(0, res2);
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

TEST_F(uring, bad_input)
{
	struct {
		struct zcdev_sendfile a;
		uint8_t tail[16];
	} big;
	struct zcdev_sendfile a, in;
	struct zcdev_uring_cmd uc;
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	struct zcdev_sendv sv;
	uint64_t res2;
	int bad_fd;

	make_file(_metadata, self, false, 64 * KiB);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	in = zc_sendfile_in(self->ro, self->p[0].snd, 0, 4096, 0);

	/* not a zcdev SENDFILE number */
	a = in;
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
					     ZCDEV_IOC_PROBE, &a, &res2));
	/* SENDV is a command: its own checks (here nr_segs 0) */
	memset(&sv, 0, sizeof(sv));
	sv.sock_fd = self->p[0].snd;
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
					     ZCDEV_IOC_SENDV, &sv, &res2));
	sv.nr_segs = 1;
	sv.segs = 8;
	EXPECT_EQ(-EFAULT, ring_sendfile_one(&self->r, self->dev,
					     ZCDEV_IOC_SENDV, &sv, &res2));
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
		_IOC(_IOC_READ | _IOC_WRITE, 0xAB, 0x01, sizeof(a)), &a,
		&res2));
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
		_IOC(_IOC_WRITE, ZCDEV_IOC_MAGIC, 0x01, sizeof(a)), &a,
		&res2));
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev, 0, &a,
					     &res2));

	/* sizes, as the ioctl */
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
		ZC_IOC_SENDFILE_SIZED(ZCDEV_SENDFILE_SIZE_VER0 - 8), &a,
		&res2));
	memset(&big, 0, sizeof(big));
	big.a = in;
	big.tail[3] = 1;
	EXPECT_EQ(-E2BIG, ring_sendfile_one(&self->r, self->dev,
		ZC_IOC_SENDFILE_SIZED(sizeof(big)), &big, &res2));
	a = in;
	a.flags = ZCDEV_SEND_CACHED_ONLY;
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
		ZC_IOC_SENDFILE_SIZED(ZCDEV_SENDFILE_SIZE_VER0), &a, &res2));

	/* the struct's own checks */
	a = in;
	a.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
					     ZCDEV_IOC_SENDFILE, &a, &res2));
	a = in;
	a.reserved = 1;
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
					     ZCDEV_IOC_SENDFILE, &a, &res2));
	a = in;
	a.offset = 1ULL << 63;
	EXPECT_EQ(-EINVAL, ring_sendfile_one(&self->r, self->dev,
					     ZCDEV_IOC_SENDFILE, &a, &res2));
	bad_fd = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, bad_fd);
	close(bad_fd);
	a = in;
	a.file_fd = bad_fd;
	EXPECT_EQ(-EBADF, ring_sendfile_one(&self->r, self->dev,
					    ZCDEV_IOC_SENDFILE, &a, &res2));
	a = in;
	a.sock_fd = bad_fd;
	EXPECT_EQ(-EBADF, ring_sendfile_one(&self->r, self->dev,
					    ZCDEV_IOC_SENDFILE, &a, &res2));
	a = in;
	a.sock_fd = self->ro;
	EXPECT_EQ(-ENOTSOCK, ring_sendfile_one(&self->r, self->dev,
					       ZCDEV_IOC_SENDFILE, &a, &res2));
	EXPECT_EQ(-EFAULT, ring_sendfile_one(&self->r, self->dev,
					     ZCDEV_IOC_SENDFILE, NULL, &res2));

	/* the command area's reserved word */
	a = in;
	uc.arg = (uintptr_t)&a;
	uc.reserved = 1;
	sqe = ring_sqe(&self->r);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = self->dev;
	sqe->cmd_op = ZCDEV_IOC_SENDFILE;
	memcpy(sqe->cmd, &uc, sizeof(uc));
	ASSERT_EQ(1, ring_enter(&self->r, 1, 1));
	ASSERT_EQ(0, ring_cqe(&self->r, &cqe, &res2));
	EXPECT_EQ(-EINVAL, cqe.res);

	/* nothing of all that was sent, and no error came with a report */
	EXPECT_EQ(0, res2);
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

/* A command on a file without ->uring_cmd is io_uring's -EOPNOTSUPP. */
TEST_F(uring, fd_is_not_zcdev)
{
	struct zcdev_sendfile a;
	uint64_t res2;
	int res;

	make_file(_metadata, self, false, 4096);
	open_pairs(_metadata, self, 1, ZC_NET_LO, NULL);
	a = zc_sendfile_in(self->ro, self->p[0].snd, 0, 4096, 0);
	/* a regular file has no ->uring_cmd: io_uring's own -EOPNOTSUPP */
	res = ring_sendfile_one(&self->r, self->ro, ZCDEV_IOC_SENDFILE, &a,
				&res2);
	ASSERT_EQ(-EOPNOTSUPP, res);
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

TEST_HARNESS_MAIN
