// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_leaks: every page reference the module takes is dropped, on every
 * path a send can end on - judged by an oracle that does not ask the module.
 *
 * The oracle: a clean ext4 page cache page that nobody holds is dropped by
 * POSIX_FADV_DONTNEED (and drop_caches); one with an extra reference is not
 * (mapping_evict_folio() refuses a folio whose count is above the page
 * cache's own).  So once a scenario is over and its sockets are gone (reset:
 * their queues purged; skb_defer_max 0: freed at once), zc_make_cold() must
 * get every page of the file out of the cache.  A page still resident after
 * ~2 s of retries is a reference someone kept.  oracle.* proves the oracle
 * both ways: a pipe holding spliced pages keeps them resident, and closing
 * the pipe lets them go.
 *
 * Paths, each through ZCDEV_IOC_SENDFILE and ZCDEV_IOC_SENDV (variants
 * sendfile / sendv; the sendv call is a memory segment then the file range):
 * completed; blocked then interrupted by a signal; blocked then reset by
 * the peer; EAGAIN on a full socket (NONBLOCK); refused by STRICT (a no-SG
 * route); stopped by CACHED_ONLY at the first page not cached; the file
 * truncated under a blocked send; a SENDV with a bad segment after a file
 * one; NOTIFY sends completed, and closed with their completions unread; a
 * sender SIGKILLed while blocked.  The module's reference count is checked
 * too (it counts open files, not pages).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define MIB		(1024 * 1024ULL)
#define FILE_SIZE	(4 * MIB)
#define IDLE_MS		5000

static char hdr[100];

FIXTURE(leaks) {
	char path[256];
	char saved[32];
	int fd;
	int dev;
	int refcnt;
	struct zc_pair p;
};

FIXTURE_VARIANT(leaks) {
	bool sendv;
};

FIXTURE_VARIANT_ADD(leaks, sendfile) { .sendv = false };
FIXTURE_VARIANT_ADD(leaks, sendv) { .sendv = true };

/* a pair whose sender blocks once 64 KiB + 64 KiB are queued */
static const struct zc_pair_opts small = { .sndtimeo_ms = -1, .rcvbuf = 65536,
					   .sndbuf = 65536 };

#define LEAKS_SETUP() do {						\
	self->fd = self->dev = self->p.snd = self->p.rcv = -1;		\
	zc_sigpipe_guard();						\
	memset(hdr, 'H', sizeof(hdr));					\
	/* the harness's guest mounts ext4 there: a failure if not */	\
	ASSERT_EQ(0, zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC))		\
		TH_LOG("%s", zc_errmsg());				\
	self->dev = zc_open_dev();					\
	ASSERT_LE(0, self->dev) TH_LOG("/dev/zcdev: %s", strerror(errno)); \
	self->refcnt = zc_module_refcnt();				\
	self->fd = zc_make_payload_file(zc_ext4_dir(), FILE_SIZE,	\
					self->path, sizeof(self->path)); \
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());		\
	/* the oracle's premise: the file can be made cold at all */	\
	ASSERT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());	\
	/* last: a setup that fails has no teardown to restore it */	\
	zc_cold_prepare(self->saved, sizeof(self->saved));		\
} while (0)

#define LEAKS_TEARDOWN() do {						\
	zc_pair_close(&self->p);					\
	zc_cold_restore(self->saved);					\
	if (self->fd >= 0)						\
		close(self->fd);					\
	if (self->path[0])						\
		unlink(self->path);					\
	if (self->dev >= 0)						\
		close(self->dev);					\
} while (0)

FIXTURE_SETUP(leaks)
{
	LEAKS_SETUP();
}

FIXTURE_TEARDOWN(leaks)
{
	LEAKS_TEARDOWN();
}

/* the same file and device, for the cases that are not per ioctl */
FIXTURE(leak1) {
	char path[256];
	char saved[32];
	int fd;
	int dev;
	int refcnt;
	struct zc_pair p;
};

FIXTURE_SETUP(leak1)
{
	LEAKS_SETUP();
}

FIXTURE_TEARDOWN(leak1)
{
	LEAKS_TEARDOWN();
}

static void warm(int fd, uint64_t len)
{
	static char buf[256 * 1024];
	uint64_t off;

	for (off = 0; off < len; off += sizeof(buf))
		if (pread(fd, buf, sizeof(buf), (off_t)off) <= 0)
			break;
}

/* close a socket so that its queues are purged now (RST) */
static void reset_close(int *fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (*fd < 0)
		return;
	setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(*fd);
	*fd = -1;
}

/*
 * The oracle's verdict once the scenario is over: sockets reset, then every
 * page of the file must leave the page cache.
 */
#define NO_PAGE_KEPT(what_) do {					\
	int64_t left_;							\
	reset_close(&self->p.snd);					\
	reset_close(&self->p.rcv);					\
	left_ = zc_make_cold(self->fd);					\
	EXPECT_EQ(0, left_) TH_LOG("%s: page references kept: %s",	\
				   (what_), zc_errmsg());		\
	/* (a NOTIFY's reference goes from the module's workqueue) */	\
	EXPECT_EQ(self->refcnt, zc_wait_module_refcnt(self->refcnt, 5000)); \
} while (0)

/* one send of [off, off + len) by either ioctl */
struct call {
	int dev, file_fd, sock_fd;
	bool sendv;
	uint64_t off, len;
	uint32_t flags;
	struct zcdev_seg segs[2];
	struct zcdev_sendfile a;
	struct zcdev_sendv v;
	int ret, err;
	uint64_t sent;
	uint32_t status, why;
	_Atomic bool done;
	pthread_t th;
};

static void call_init(struct call *c, const FIXTURE_DATA(leaks) *self,
		      const FIXTURE_VARIANT(leaks) *variant, int sock,
		      uint64_t off, uint64_t len, uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	c->dev = self->dev;
	c->file_fd = self->fd;
	c->sock_fd = sock;
	c->sendv = variant->sendv;
	c->off = off;
	c->len = len;
	c->flags = flags;
}

static int call_run(struct call *c)
{
	if (c->sendv) {
		c->segs[0] = zct_seg_mem(hdr, sizeof(hdr));
		c->segs[1] = zct_seg_file(c->file_fd, c->off, c->len);
		memset(&c->v, 0, sizeof(c->v));
		c->v.segs = (uint64_t)(uintptr_t)c->segs;
		c->v.nr_segs = 2;
		c->v.sock_fd = c->sock_fd;
		c->v.flags = c->flags;
		c->ret = zct_sendv(c->dev, &c->v);
		c->sent = c->v.sent;
		c->status = c->v.status;
		c->why = c->v.why;
	} else {
		c->ret = zc_sendfile_args(c->dev, c->file_fd, c->sock_fd,
					  c->off, c->len, c->flags, &c->a);
		c->sent = c->a.sent;
		c->status = c->a.status;
		c->why = c->a.why;
	}
	c->err = c->ret ? errno : 0;
	return c->ret;
}

static void *call_main(void *p)
{
	struct call *c = p;

	call_run(c);
	c->done = true;
	return NULL;
}

static int call_wait(struct call *c, int ms)
{
	uint64_t end = zc_now_ms() + ms;

	while (!c->done && zc_now_ms() < end)
		zc_sleep_ms(5);
	if (!c->done)
		return -1;
	pthread_join(c->th, NULL);
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* ---- the oracle itself ------------------------------------------------- */

TEST_F_TIMEOUT(leak1, oracle_sees_held_pages, 60)
{
	int pfd[2];
	ssize_t n;
	loff_t off = 0;

	ASSERT_EQ(0, pipe(pfd));
	ASSERT_LT(0, fcntl(pfd[1], F_SETPIPE_SZ, 1024 * 1024));
	n = splice(self->fd, &off, pfd[1], NULL, 256 * 1024, 0);
	ASSERT_LT(0, n) TH_LOG("splice: %s", strerror(errno));
	/* the pipe's buffers hold references to those pages */
	EXPECT_LT(0, zc_make_cold(self->fd))
		TH_LOG("pages held by a pipe were dropped: the oracle is blind");
	close(pfd[0]);
	close(pfd[1]);
	EXPECT_EQ(0, zc_make_cold(self->fd)) TH_LOG("%s", zc_errmsg());
}

/* ---- paths ------------------------------------------------------------- */

TEST_F_TIMEOUT(leaks, completed, 60)
{
	struct call c;
	struct zc_rx rx;

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, FILE_SIZE + 4096, IDLE_MS));
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE, 0);
	ASSERT_EQ(0, call_run(&c)) TH_LOG("%s", strerror(c.err));
	EXPECT_EQ(FILE_SIZE + (variant->sendv ? sizeof(hdr) : 0), c.sent);
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	EXPECT_EQ(c.sent, rx.len);
	zc_rx_free(&rx);
	NO_PAGE_KEPT("completed");
}

TEST_F_TIMEOUT(leaks, blocked_then_signal, 60)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct call c;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &small))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE, 0);
	ASSERT_EQ(0, pthread_create(&c.th, NULL, call_main, &c));
	zc_sleep_ms(300);
	ASSERT_FALSE(c.done) TH_LOG("the send did not block");
	pthread_kill(c.th, SIGUSR1);
	ASSERT_EQ(0, call_wait(&c, 5000)) TH_LOG("signal did not interrupt");
	EXPECT_EQ(0, c.ret) TH_LOG("%s", strerror(c.err));
	EXPECT_LT(0ULL, c.sent);
	EXPECT_GT(FILE_SIZE, c.sent);
	NO_PAGE_KEPT("interrupted");
}

TEST_F_TIMEOUT(leaks, blocked_then_reset, 60)
{
	struct call c;

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &small))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE, 0);
	ASSERT_EQ(0, pthread_create(&c.th, NULL, call_main, &c));
	zc_sleep_ms(300);
	ASSERT_FALSE(c.done) TH_LOG("the send did not block");
	reset_close(&self->p.rcv);
	ASSERT_EQ(0, call_wait(&c, 5000)) TH_LOG("reset did not end the send");
	if (c.ret) {
		EXPECT_TRUE(c.err == ECONNRESET || c.err == EPIPE)
			TH_LOG("errno %d", c.err);
	} else {
		EXPECT_GT(FILE_SIZE, c.sent);
	}
	EXPECT_EQ(0, zc_sigpipe_count());
	NO_PAGE_KEPT("reset");
}

TEST_F_TIMEOUT(leaks, eagain_on_full_socket, 60)
{
	int i, progress = 0, eagain = 0;
	struct call c;

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &small))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	/*
	 * Nonblocking calls on a socket the receiver never reads: the first
	 * fills it, later ones send what ACKs freed meanwhile and stop, or
	 * find it full (-EAGAIN).  Both ends of a send that met EAGAIN.
	 */
	for (i = 0; i < 50 && eagain < 3; i++) {
		call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE,
			  ZCDEV_SEND_NONBLOCK);
		if (call_run(&c)) {
			ASSERT_EQ(EAGAIN, c.err);
			eagain++;
		} else {
			ASSERT_GT(FILE_SIZE, c.sent);
			progress++;
		}
	}
	EXPECT_LT(0, progress);
	EXPECT_LT(0, eagain);
	NO_PAGE_KEPT("EAGAIN");
}

TEST_F_TIMEOUT(leaks, strict_refused, 60)
{
	struct call c;

	ASSERT_EQ(0, zc_net_available(ZC_NET_NOSG)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_NOSG, NULL))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE,
		  ZCDEV_SEND_STRICT);
	EXPECT_EQ(-1, call_run(&c));
	EXPECT_EQ(EOPNOTSUPP, c.err);
	EXPECT_EQ(0ULL, c.sent);
	EXPECT_NE(0U, c.why & ZCDEV_WHY_NO_SG);
	NO_PAGE_KEPT("STRICT");
}

TEST_F_TIMEOUT(leaks, cached_only_stops, 60)
{
	struct call c;
	struct zc_rx rx;
	int64_t cached;

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	/*
	 * Cold (setup), then the first 256 KiB read without readahead
	 * (POSIX_FADV_RANDOM: nothing in flight that could fill the rest of
	 * the cache while the send runs).
	 */
	ASSERT_EQ(0, posix_fadvise(self->fd, 0, 0, POSIX_FADV_RANDOM));
	warm(self->fd, 256 * 1024);
	cached = zc_resident_pages(self->fd, 0, FILE_SIZE);
	ASSERT_EQ(64, cached) TH_LOG("FADV_RANDOM read more than was asked");
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, FILE_SIZE + 4096, IDLE_MS));
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE,
		  ZCDEV_SEND_CACHED_ONLY);
	ASSERT_EQ(0, call_run(&c)) TH_LOG("%s", strerror(c.err));
	EXPECT_NE(0U, c.status & ZCDEV_STATUS_NOT_CACHED);
	EXPECT_GT(FILE_SIZE, c.sent);
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	EXPECT_EQ(c.sent, rx.len);
	zc_rx_free(&rx);
	NO_PAGE_KEPT("CACHED_ONLY");
}

struct truncator {
	int fd;
	int ret;
	pthread_t th;
};

static void *truncate_main(void *p)
{
	struct truncator *t = p;

	t->ret = ftruncate(t->fd, MIB);
	return NULL;
}

TEST_F_TIMEOUT(leaks, truncated_under_blocked_send, 60)
{
	struct truncator t = { .fd = self->fd };
	struct call c;
	struct zc_rx rx;

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &small))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE, 0);
	ASSERT_EQ(0, pthread_create(&c.th, NULL, call_main, &c));
	zc_sleep_ms(300);
	ASSERT_FALSE(c.done) TH_LOG("the send did not block");
	/* truncate waits for nothing the send holds: it must finish */
	ASSERT_EQ(0, pthread_create(&t.th, NULL, truncate_main, &t));
	pthread_join(t.th, NULL);
	ASSERT_EQ(0, t.ret) TH_LOG("ftruncate: %s", strerror(errno));
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, FILE_SIZE + 4096, IDLE_MS));
	ASSERT_EQ(0, call_wait(&c, 10000)) TH_LOG("send did not end at EOF");
	EXPECT_EQ(0, c.ret) TH_LOG("%s", strerror(c.err));
	EXPECT_GT(FILE_SIZE, c.sent);
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	EXPECT_EQ(c.sent, rx.len);
	zc_rx_free(&rx);
	NO_PAGE_KEPT("truncated");
}

TEST_F_TIMEOUT(leak1, sendv_bad_segment_after_file, 60)
{
	struct zcdev_seg segs[3];
	struct zcdev_sendv v = { 0 };

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	segs[0] = zct_seg_file(self->fd, 0, MIB);
	segs[1] = zct_seg_file(self->fd, MIB, MIB);
	segs[2] = zct_seg_file(-1, 0, 4096);
	v.segs = (uint64_t)(uintptr_t)segs;
	v.nr_segs = 3;
	v.sock_fd = self->p.snd;
	EXPECT_EQ(-1, zct_sendv(self->dev, &v));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(0, zc_marker_check(self->p.snd, self->p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	NO_PAGE_KEPT("SENDV bad segment");
}

/* read one completion record from the device, waiting up to @ms */
static int read_completion(int dev, struct zcdev_completion *c, int ms)
{
	struct pollfd pfd = { .fd = dev, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return read(dev, c, sizeof(*c)) == sizeof(*c) ? 0 : -1;
}

TEST_F_TIMEOUT(leaks, notify_completed, 60)
{
	struct zcdev_completion compl;
	struct call c;
	struct zc_rx rx;
	uint64_t id;

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, FILE_SIZE + 4096, IDLE_MS));
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE,
		  ZCDEV_SEND_NOTIFY);
	ASSERT_EQ(0, call_run(&c)) TH_LOG("%s", strerror(c.err));
	id = variant->sendv ? c.v.notify_id : c.a.notify_id;
	EXPECT_NE(0ULL, id);
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	zc_rx_free(&rx);
	ASSERT_EQ(0, read_completion(self->dev, &compl, IDLE_MS))
		TH_LOG("no completion");
	EXPECT_EQ(id, compl.id);
	NO_PAGE_KEPT("NOTIFY completed");
}

TEST_F_TIMEOUT(leaks, notify_closed_in_flight, 60)
{
	struct call c;
	int dev2;

	dev2 = zc_open_dev();
	ASSERT_LE(0, dev2);
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &small))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE,
		  ZCDEV_SEND_NOTIFY | ZCDEV_SEND_NONBLOCK);
	c.dev = dev2;
	ASSERT_EQ(0, call_run(&c)) TH_LOG("%s", strerror(c.err));
	EXPECT_LT(0ULL, c.sent);
	/* the receiver never read: the pages are still in its queue */
	close(dev2);
	NO_PAGE_KEPT("NOTIFY closed in flight");
}

TEST_F_TIMEOUT(leaks, sigkill_while_blocked, 60)
{
	struct call c;
	int status;
	pid_t pid;

	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &small))
		TH_LOG("%s", zc_errmsg());
	warm(self->fd, FILE_SIZE);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		call_init(&c, self, variant, self->p.snd, 0, FILE_SIZE, 0);
		call_run(&c);
		_exit(3);
	}
	zc_sleep_ms(500);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG)) TH_LOG("did not block");
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	NO_PAGE_KEPT("SIGKILL");
}

TEST_HARNESS_MAIN
