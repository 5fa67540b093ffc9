// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_races: ZCDEV_IOC_SENDFILE (and ZCDEV_IOC_SENDV) against everything
 * that can happen to it while it runs: truncate and extend, descriptors
 * closed from another thread, peer reset, signals (including SIGKILL)
 * during blocked sends,
 * many threads on one socket, rmmod while the device is open, a file
 * larger than the guest's free memory with a cold cache, and - at the end -
 * proof that no page reference was kept (mincore after drop_caches) and the
 * module's reference count is back where it started.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define MIB	(1024 * 1024ULL)

/* ---- truncate and extend while a send runs ----------------------------- */

struct trunc_ctx {
	int fd;
	uint64_t size;
	_Atomic bool stop;
	_Atomic unsigned long ops;
};

static void *truncator(void *p)
{
	struct trunc_ctx *t = p;
	struct zc_rng r = { .s = zc_seed_for(zc_base_seed(), "truncator") };

	uint8_t *buf = malloc(t->size);

	while (buf && !t->stop) {
		uint64_t cut = zc_rng_range(&r, 0, t->size);

		/*
		 * Shrink anywhere and extend back (the tail reads as zeros for
		 * a moment), then write the payload back, so that sends see
		 * payload, zeros, or payload again - and nothing else.
		 */
		if (ftruncate(t->fd, cut) || ftruncate(t->fd, t->size))
			break;
		usleep(zc_rng_range(&r, 0, 5000));
		zc_payload_fill(buf, cut, t->size - cut);
		if (pwrite(t->fd, buf, t->size - cut, cut) != (ssize_t)(t->size - cut))
			break;
		t->ops++;
		usleep(zc_rng_range(&r, 0, 20000));
	}
	free(buf);
	return NULL;
}

FIXTURE(trunc) {
	char path[256];
	int fd;
	int dev;
};

FIXTURE_VARIANT(trunc) {
	bool ext4;
};

FIXTURE_VARIANT_ADD(trunc, tmpfs) { .ext4 = false };
FIXTURE_VARIANT_ADD(trunc, ext4) { .ext4 = true };

FIXTURE_SETUP(trunc)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();

	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev);
	self->fd = zc_make_payload_file(dir, 4 * MIB, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(trunc)
{
	unlink(self->path);
	close(self->fd);
	close(self->dev);
}

/*
 * Every received byte is the payload byte at its offset or a zero (the
 * file was shrunk and re-extended); nothing else - no stale or foreign
 * data - and the receiver gets exactly what the module reported sent.
 */
TEST_F_TIMEOUT(trunc, truncate_extend_during_send, 120)
{
	struct trunc_ctx t = { .fd = self->fd, .size = 4 * MIB };
	uint64_t sent_total = 0, zeros = 0, rounds = 0;
	uint8_t *buf = malloc(4 * MIB);
	pthread_t th;
	struct zc_pair p;
	int i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, pthread_create(&th, NULL, truncator, &t));

	for (i = 0; i < 40; i++) {
		struct zcdev_sendfile a, in;
		struct zc_rx rx;
		uint64_t off = (uint64_t)i * 65536 % (2 * MIB);
		size_t k;

		ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, 4 * MIB, 5000));
		ASSERT_EQ(0, zc_sendfile_args(self->dev, self->fd, p.snd, off,
					      4 * MIB, 0, &a))
			TH_LOG("send: %s", strerror(errno));
		in = zc_sendfile_in(self->fd, p.snd, off, 4 * MIB, 0);
		ASSERT_EQ(0, zc_report_check(&in, &a, 4 * MIB))
			TH_LOG("%s", zc_errmsg());
		/* a marker ends this round's stream */
		shutdown(p.snd, SHUT_WR);
		ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
		ASSERT_EQ(a.sent, rx.len);
		for (k = 0; k < rx.len; k++) {
			uint8_t exp = zc_payload_byte(off + k);

			if (rx.buf[k] == exp)
				continue;
			ASSERT_EQ(0, rx.buf[k])
				TH_LOG("byte at file offset %llu is %#x, neither payload %#x nor 0",
				       (unsigned long long)(off + k), rx.buf[k], exp);
			zeros++;
		}
		sent_total += a.sent;
		rounds++;
		zc_rx_free(&rx);
		zc_pair_close(&p);
		ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
			TH_LOG("%s", zc_errmsg());
	}
	t.stop = true;
	pthread_join(th, NULL);
	zc_pair_close(&p);
	free(buf);
	TH_LOG("%llu rounds, %llu bytes, %llu zero bytes, %lu truncations",
	       (unsigned long long)rounds, (unsigned long long)sent_total,
	       (unsigned long long)zeros, (unsigned long)t.ops);
	ASSERT_LT(0UL, (unsigned long)t.ops);
}

/* ---- blocked sends: close, reset, signals ------------------------------ */

FIXTURE(blocked) {
	char path[256];
	int fd;
	int dev;
	struct zc_pair p;
};

FIXTURE_SETUP(blocked)
{
	struct zc_pair_opts o = { .sndtimeo_ms = -1, .rcvbuf = 65536,
				  .sndbuf = 65536 };

	zc_sigpipe_guard();
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev);
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), 8 * MIB, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	/* a receiver that does not read: the sender blocks once it is full */
	ASSERT_EQ(0, zc_pair_open(&self->p, ZC_TCP4, ZC_NET_LO, &o))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(blocked)
{
	zc_pair_close(&self->p);
	unlink(self->path);
	close(self->fd);
	close(self->dev);
}

struct blocked_call {
	int dev, file_fd, sock_fd;
	struct zcdev_sendfile a;
	/* sendv: memory, file, memory, file (8 MiB + 3000 bytes) */
	bool sendv;
	struct zcdev_seg segs[4];
	struct zcdev_sendv v;
	int ret, err;
	_Atomic bool done;
	pthread_t th;
};

static char hdr_mem[2000];

#define SV_TOTAL (8 * MIB + 3000)

static void sendv_segs(struct zcdev_seg *segs, int fd)
{
	memset(hdr_mem, 'H', sizeof(hdr_mem));
	segs[0] = zct_seg_mem(hdr_mem, 1000);
	segs[1] = zct_seg_file(fd, 0, 4 * MIB);
	segs[2] = zct_seg_mem(hdr_mem + 1000, 1000);
	segs[3] = zct_seg_file(fd, 4 * MIB, 4 * MIB + 1000);	/* 1000 past EOF */
}

/* the stream the segments stand for (EOF in the last: 1000 bytes short) */
static void sendv_expect(uint8_t *exp)
{
	memset(exp, 'H', 1000);
	zc_payload_fill(exp + 1000, 0, 4 * MIB);
	memset(exp + 1000 + 4 * MIB, 'H', 1000);
	zc_payload_fill(exp + 2000 + 4 * MIB, 4 * MIB, 4 * MIB);
}

static void *blocked_call_main(void *p)
{
	struct blocked_call *b = p;

	if (b->sendv) {
		sendv_segs(b->segs, b->file_fd);
		memset(&b->v, 0, sizeof(b->v));
		b->v.segs = (uint64_t)(uintptr_t)b->segs;
		b->v.nr_segs = 4;
		b->v.sock_fd = b->sock_fd;
		b->ret = zct_sendv(b->dev, &b->v);
	} else {
		b->ret = zc_sendfile_args(b->dev, b->file_fd, b->sock_fd, 0,
					  8 * MIB, 0, &b->a);
	}
	b->err = errno;
	b->done = true;
	return NULL;
}

static int wait_done(struct blocked_call *b, int ms)
{
	uint64_t end = zc_now_ms() + ms;

	while (!b->done && zc_now_ms() < end)
		zc_sleep_ms(5);
	return b->done ? 0 : -1;
}

/*
 * Closing both descriptors from another thread does not end a blocked send
 * (the call holds its own references, as sendfile does) nor break anything;
 * the receiver resetting the connection does, promptly and without SIGPIPE.
 */
TEST_F_TIMEOUT(blocked, close_fds_then_reset, 60)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct blocked_call b = { .dev = self->dev };
	int before = zc_module_refcnt();

	b.file_fd = dup(self->fd);
	b.sock_fd = dup(self->p.snd);
	ASSERT_LE(0, b.file_fd);
	ASSERT_LE(0, b.sock_fd);
	ASSERT_EQ(0, pthread_create(&b.th, NULL, blocked_call_main, &b));
	zc_sleep_ms(300);
	ASSERT_FALSE(b.done) TH_LOG("the send did not block: %s",
				    zc_report_str(&b.a));
	close(b.file_fd);
	close(b.sock_fd);
	close(self->p.snd);
	self->p.snd = -1;
	zc_sleep_ms(200);
	ASSERT_FALSE(b.done);
	setsockopt(self->p.rcv, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(self->p.rcv);
	self->p.rcv = -1;
	ASSERT_EQ(0, wait_done(&b, 5000)) TH_LOG("send still blocked after reset");
	pthread_join(b.th, NULL);
	if (b.ret == 0) {
		ASSERT_LT(0ULL, (unsigned long long)b.a.sent);
		ASSERT_GT(8 * MIB, b.a.sent);
	} else {
		ASSERT_TRUE(b.err == ECONNRESET || b.err == EPIPE)
			TH_LOG("errno %d", b.err);
	}
	ASSERT_EQ(0, zc_sigpipe_count());
	ASSERT_EQ(before, zc_module_refcnt());
}

static void on_usr1(int sig)
{
	(void)sig;
}

/*
 * A signal without SA_RESTART ends a blocked send within a bounded time:
 * with the bytes sent so far (0 returned) - never hanging, never losing
 * count of what went out.
 */
TEST_F_TIMEOUT(blocked, signal_interrupts, 60)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct blocked_call b = { .dev = self->dev, .file_fd = self->fd,
				  .sock_fd = self->p.snd };
	struct zc_rx rx;
	uint64_t t0;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&b.th, NULL, blocked_call_main, &b));
	zc_sleep_ms(300);
	ASSERT_FALSE(b.done);
	t0 = zc_now_ms();
	pthread_kill(b.th, SIGUSR1);
	ASSERT_EQ(0, wait_done(&b, 2000)) TH_LOG("signal did not interrupt");
	pthread_join(b.th, NULL);
	TH_LOG("interrupted after %llu ms: %s",
	       (unsigned long long)(zc_now_ms() - t0), zc_report_str(&b.a));
	/* the socket buffer filled before it blocked: progress was made */
	ASSERT_EQ(0, b.ret) TH_LOG("errno %d", b.err);
	ASSERT_LT(0ULL, (unsigned long long)b.a.sent);
	ASSERT_GT(8 * MIB, b.a.sent);
	/* exactly the reported bytes arrive, then EOF */
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, 8 * MIB, 5000));
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	ASSERT_EQ(b.a.sent, rx.len);
	ASSERT_EQ(-1, zc_verify(rx.buf, rx.len, 0)) TH_LOG("%s", zc_errmsg());
	zc_rx_free(&rx);
}

/*
 * Nothing sent yet (a unix socket already full: no window to reopen): the
 * signal gives EINTR, and the caller's struct is left as it was.
 */
TEST_F_TIMEOUT(blocked, signal_before_progress_eintr, 60)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct zc_pair_opts o = { .sndtimeo_ms = -1, .sndbuf = 65536 };
	struct blocked_call b = { .dev = self->dev, .file_fd = self->fd };
	struct zcdev_sendfile a;
	struct zc_pair u;
	int i;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, zc_pair_open(&u, ZC_UNIX, ZC_NET_LO, &o))
		TH_LOG("%s", zc_errmsg());
	b.sock_fd = u.snd;
	for (i = 0; i < 1000; i++)
		if (zc_sendfile_args(self->dev, self->fd, u.snd, 0, 8 * MIB,
				     ZCDEV_SEND_NONBLOCK, &a))
			break;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, pthread_create(&b.th, NULL, blocked_call_main, &b));
	zc_sleep_ms(300);
	ASSERT_FALSE(b.done);
	pthread_kill(b.th, SIGUSR1);
	ASSERT_EQ(0, wait_done(&b, 2000));
	pthread_join(b.th, NULL);
	ASSERT_EQ(-1, b.ret);
	ASSERT_EQ(EINTR, b.err);
	/* out fields are written back only on success (and STRICT refusal) */
	ASSERT_EQ(0xccccccccccccccccULL, b.a.sent);
	zc_pair_close(&u);
}

/* SIGKILL during a blocked send: the task dies promptly (not stuck in D). */
TEST_F_TIMEOUT(blocked, sigkill_during_send, 60)
{
	int before = zc_module_refcnt();
	uint64_t t0;
	pid_t pid;
	int st;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct zcdev_sendfile a;

		zc_sendfile_args(self->dev, self->fd, self->p.snd, 0, 8 * MIB,
				 0, &a);
		_exit(3);
	}
	zc_sleep_ms(300);
	ASSERT_EQ(0, waitpid(pid, &st, WNOHANG)) TH_LOG("child did not block");
	t0 = zc_now_ms();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	while (waitpid(pid, &st, WNOHANG) == 0 && zc_now_ms() - t0 < 3000)
		zc_sleep_ms(5);
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		TH_LOG("child not dead 3 s after SIGKILL");
	ASSERT_EQ(before, zc_module_refcnt());
}

/* ---- the same for ZCDEV_IOC_SENDV ----------------------------------------- */

static void sendv_in(struct blocked_call *b, struct zcdev_sendv *in)
{
	memset(in, 0, sizeof(*in));
	in->segs = (uint64_t)(uintptr_t)b->segs;
	in->nr_segs = 4;
	in->sock_fd = b->sock_fd;
}

/*
 * A blocked SENDV interrupted by a signal after progress: 0, with
 * seg_index/seg_sent saying exactly where it stopped, and the receiver
 * gets exactly that prefix of the concatenated segments.
 */
TEST_F_TIMEOUT(blocked, sendv_signal_interrupts, 60)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct blocked_call b = { .dev = self->dev, .file_fd = self->fd,
				  .sock_fd = self->p.snd, .sendv = true };
	struct zcdev_sendv in;
	uint8_t *exp = malloc(SV_TOTAL);
	struct zc_rx rx;

	ASSERT_NE(NULL, exp);
	sendv_expect(exp);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&b.th, NULL, blocked_call_main, &b));
	zc_sleep_ms(300);
	ASSERT_FALSE(b.done);
	pthread_kill(b.th, SIGUSR1);
	ASSERT_EQ(0, wait_done(&b, 2000)) TH_LOG("signal did not interrupt");
	pthread_join(b.th, NULL);
	ASSERT_EQ(0, b.ret) TH_LOG("errno %d", b.err);
	sendv_in(&b, &in);
	ASSERT_EQ(0, zc_sendv_report_check(&in, &b.v, b.segs, SV_TOTAL))
		TH_LOG("%s", zc_errmsg());
	TH_LOG("interrupted: %s", zc_sendv_report_str(&b.v));
	ASSERT_LT(0ULL, (unsigned long long)b.v.sent);
	ASSERT_GT(SV_TOTAL - 1000, b.v.sent);
	ASSERT_GT(4U, b.v.seg_index);
	shutdown(self->p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_start(&rx, self->p.rcv, SV_TOTAL, 5000));
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	ASSERT_EQ(b.v.sent, rx.len);
	ASSERT_EQ(0, memcmp(rx.buf, exp, rx.len)) TH_LOG("stream differs");
	zc_rx_free(&rx);
	free(exp);
}

/* Nothing sent yet (a full unix socket): EINTR, the struct left alone. */
TEST_F_TIMEOUT(blocked, sendv_signal_before_progress_eintr, 60)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct zc_pair_opts o = { .sndtimeo_ms = -1, .sndbuf = 65536 };
	struct blocked_call b = { .dev = self->dev, .file_fd = self->fd,
				  .sendv = true };
	struct zcdev_sendfile a;
	struct zc_pair u;
	int i;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, zc_pair_open(&u, ZC_UNIX, ZC_NET_LO, &o))
		TH_LOG("%s", zc_errmsg());
	b.sock_fd = u.snd;
	for (i = 0; i < 1000; i++)
		if (zc_sendfile_args(self->dev, self->fd, u.snd, 0, 8 * MIB,
				     ZCDEV_SEND_NONBLOCK, &a))
			break;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, pthread_create(&b.th, NULL, blocked_call_main, &b));
	zc_sleep_ms(300);
	ASSERT_FALSE(b.done);
	pthread_kill(b.th, SIGUSR1);
	ASSERT_EQ(0, wait_done(&b, 2000));
	pthread_join(b.th, NULL);
	ASSERT_EQ(-1, b.ret) TH_LOG("%s", zc_sendv_report_str(&b.v));
	ASSERT_EQ(EINTR, b.err);
	ASSERT_EQ(0xccccccccccccccccULL, b.v.sent);
	ASSERT_EQ(0xccccccccU, b.v.seg_index);
	zc_pair_close(&u);
}

/*
 * The segment's file and the socket closed by another thread during a
 * blocked SENDV: the call keeps its references; a reset ends it.
 */
TEST_F_TIMEOUT(blocked, sendv_close_fds_then_reset, 60)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct blocked_call b = { .dev = self->dev, .sendv = true };
	int before = zc_module_refcnt();

	b.file_fd = dup(self->fd);
	b.sock_fd = dup(self->p.snd);
	ASSERT_LE(0, b.file_fd);
	ASSERT_LE(0, b.sock_fd);
	ASSERT_EQ(0, pthread_create(&b.th, NULL, blocked_call_main, &b));
	zc_sleep_ms(300);
	ASSERT_FALSE(b.done) TH_LOG("did not block: %s", zc_sendv_report_str(&b.v));
	close(b.file_fd);
	close(b.sock_fd);
	close(self->p.snd);
	self->p.snd = -1;
	zc_sleep_ms(200);
	ASSERT_FALSE(b.done);
	setsockopt(self->p.rcv, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(self->p.rcv);
	self->p.rcv = -1;
	ASSERT_EQ(0, wait_done(&b, 5000)) TH_LOG("sendv still blocked after reset");
	pthread_join(b.th, NULL);
	if (b.ret == 0) {
		ASSERT_LT(0ULL, (unsigned long long)b.v.sent);
		ASSERT_GT(SV_TOTAL, b.v.sent);
		ASSERT_GT(4U, b.v.seg_index);
	} else {
		ASSERT_TRUE(b.err == ECONNRESET || b.err == EPIPE)
			TH_LOG("errno %d", b.err);
	}
	ASSERT_EQ(0, zc_sigpipe_count());
	ASSERT_EQ(before, zc_module_refcnt());
}

/* SIGKILL during a blocked SENDV: the task dies promptly. */
TEST_F_TIMEOUT(blocked, sendv_sigkill, 60)
{
	int before = zc_module_refcnt();
	uint64_t t0;
	pid_t pid;
	int st;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct blocked_call b = { .dev = self->dev, .file_fd = self->fd,
					  .sock_fd = self->p.snd, .sendv = true };

		blocked_call_main(&b);
		_exit(3);
	}
	zc_sleep_ms(300);
	ASSERT_EQ(0, waitpid(pid, &st, WNOHANG)) TH_LOG("child did not block");
	t0 = zc_now_ms();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	while (waitpid(pid, &st, WNOHANG) == 0 && zc_now_ms() - t0 < 3000)
		zc_sleep_ms(5);
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		TH_LOG("child not dead 3 s after SIGKILL");
	ASSERT_EQ(before, zc_module_refcnt());
}

/*
 * Segment file truncated and extended while a SENDV runs: every byte is
 * the segment's bytes or (truncated file) zeros, the receiver gets exactly
 * what was reported, and a file segment cut short ends the call with
 * ZCDEV_STATUS_EOF where it says.
 */
TEST_F_TIMEOUT(blocked, sendv_truncate_during_send, 90)
{
	struct trunc_ctx t = { .fd = self->fd, .size = 8 * MIB };
	struct zcdev_seg segs[4];
	uint8_t *exp = malloc(SV_TOTAL);
	uint64_t eofs = 0, rounds = 0;
	pthread_t th;
	int i;

	ASSERT_NE(NULL, exp);
	sendv_segs(segs, self->fd);
	segs[3].len = 4 * MIB;	/* exactly to the end of the 8 MiB file */
	sendv_expect(exp);
	ASSERT_EQ(0, pthread_create(&th, NULL, truncator, &t));
	for (i = 0; i < 12; i++) {
		struct zcdev_sendv v = { .segs = (uint64_t)(uintptr_t)segs,
					 .nr_segs = 4 }, in;
		struct zc_pair p;
		struct zc_rx rx;
		uint64_t k;

		ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, SV_TOTAL, 5000));
		v.sock_fd = p.snd;
		in = v;
		ASSERT_EQ(0, zct_sendv(self->dev, &v)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, zc_sendv_report_check(&in, &v, segs, SV_TOTAL - 1000))
			TH_LOG("%s", zc_errmsg());
		if (v.status & ZCDEV_STATUS_EOF) {
			ASSERT_TRUE(v.seg_index == 1 || v.seg_index == 3)
				TH_LOG("EOF outside a file segment: %s",
				       zc_sendv_report_str(&v));
			eofs++;
		} else {
			ASSERT_EQ(SV_TOTAL - 1000, v.sent)
				TH_LOG("%s", zc_sendv_report_str(&v));
		}
		shutdown(p.snd, SHUT_WR);
		ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
		ASSERT_EQ(v.sent, rx.len);
		for (k = 0; k < rx.len; k++) {
			if (rx.buf[k] == exp[k])
				continue;
			ASSERT_EQ(0, rx.buf[k])
				TH_LOG("stream byte %llu is %#x, neither %#x nor 0",
				       (unsigned long long)k, rx.buf[k], exp[k]);
		}
		rounds++;
		zc_rx_free(&rx);
		zc_pair_close(&p);
	}
	t.stop = true;
	pthread_join(th, NULL);
	TH_LOG("%llu rounds, %llu stopped at EOF, %lu truncations",
	       (unsigned long long)rounds, (unsigned long long)eofs,
	       (unsigned long)t.ops);
	ASSERT_LT(0UL, (unsigned long)t.ops);
	free(exp);
}

/* ---- many threads, one socket ----------------------------------------- */

struct one_sock {
	int dev, fd, sock;
	uint64_t off;
	uint64_t sent;
	int err;
};

static void *one_sock_main(void *p)
{
	struct one_sock *o = p;
	struct zcdev_sendfile a;
	int i;

	for (i = 0; i < 8; i++) {
		if (zc_sendfile_args(o->dev, o->fd, o->sock, o->off, 256 * 1024,
				     0, &a)) {
			o->err = errno;
			return NULL;
		}
		o->sent += a.sent;
	}
	return NULL;
}

/*
 * Four threads send on one TCP socket at once.  Streams interleave at
 * arbitrary points, so the check is order-free: the receiver gets exactly
 * the multiset of bytes the threads reported sending.
 */
TEST(many_threads_one_socket)
{
	struct one_sock o[4];
	uint64_t want[256] = { 0 }, got[256] = { 0 };
	uint64_t total = 0;
	struct zc_pair p;
	struct zc_rx rx;
	pthread_t th[4];
	char path[256];
	int dev, fd, i, b;
	uint64_t k;

	dev = zc_open_dev();
	ASSERT_LE(0, dev);
	fd = zc_make_payload_file(zc_tmpfs_dir(), 4 * MIB, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_rx_start(&rx, p.rcv, 16 * MIB, 5000));
	for (i = 0; i < 4; i++) {
		o[i] = (struct one_sock){ .dev = dev, .fd = fd, .sock = p.snd,
					  .off = i * MIB + 3 * i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, one_sock_main, &o[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ASSERT_EQ(0, o[i].err) TH_LOG("thread %d: %s", i,
					      strerror(o[i].err));
		ASSERT_EQ(8 * 256 * 1024ULL, o[i].sent);
		for (b = 0; b < 8; b++)
			for (k = 0; k < 256 * 1024; k++)
				want[zc_payload_byte(o[i].off + k)]++;
		total += o[i].sent;
	}
	shutdown(p.snd, SHUT_WR);
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	ASSERT_EQ(total, rx.len);
	for (k = 0; k < rx.len; k++)
		got[rx.buf[k]]++;
	ASSERT_EQ(0, memcmp(want, got, sizeof(want)));
	zc_rx_free(&rx);
	zc_pair_close(&p);
	unlink(path);
	close(fd);
	close(dev);
}

/* ---- rmmod while in use ------------------------------------------------- */

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static int load_module(void)
{
	const char *path = getenv("ZC_MODULE") ? : "/zcdev.ko";
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

/* rmmod is refused while /dev/zcdev is open, and clean once it is closed. */
TEST(rmmod_refused_while_open)
{
	int dev = zc_open_dev();

	ASSERT_LE(0, dev);
	ASSERT_EQ(-1, delete_module("zcdev"));
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("errno %d", errno);
	ASSERT_EQ(0, access("/dev/zcdev", F_OK));
	close(dev);
	ASSERT_EQ(0, delete_module("zcdev")) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(-1, access("/sys/module/zcdev", F_OK));
	ASSERT_EQ(0, load_module()) TH_LOG("reload: %s", strerror(errno));
	/* devtmpfs creates the node asynchronously */
	for (int i = 0; i < 200 && access("/dev/zcdev", F_OK); i++)
		zc_sleep_ms(10);
	dev = zc_open_dev();
	ASSERT_LE(0, dev) TH_LOG("reopen after reload: %s", strerror(errno));
	close(dev);
}

/* ---- memory pressure ----------------------------------------------------- */

static uint64_t mem_available(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

struct stream_check {
	int fd;
	uint64_t want;
	uint64_t done;
	int err;
	char msg[200];
};

/* Receive @want bytes, checking each against the payload as it arrives. */
static void *stream_check_main(void *p)
{
	struct stream_check *c = p;
	uint8_t *buf = malloc(MIB);

	while (buf && c->done < c->want) {
		size_t n = c->want - c->done < MIB ? c->want - c->done : MIB;
		ssize_t got = zc_recv_exact(c->fd, buf, n, 10000);

		if (got <= 0) {
			c->err = got < 0 ? errno : EPIPE;
			snprintf(c->msg, sizeof(c->msg), "at %llu: %s",
				 (unsigned long long)c->done, zc_errmsg());
			break;
		}
		if (zc_verify(buf, got, c->done) >= 0) {
			c->err = EILSEQ;
			snprintf(c->msg, sizeof(c->msg), "%s", zc_errmsg());
			break;
		}
		c->done += got;
	}
	free(buf);
	return NULL;
}

/*
 * A file larger than the memory the guest has free, cold, sent whole over
 * loopback: a child pins most of the guest's memory (mlock), so readahead
 * and reclaim run under the send.  Every byte arrives (checked as it
 * streams), and afterwards - everything closed, caches dropped - no page of
 * the file is left in the page cache: the module kept no page reference.
 */
TEST_F_TIMEOUT(trunc, larger_than_free_memory_cold, 300)
{
	uint64_t size = 320 * MIB, pin, off = 0;
	struct stream_check c = { 0 };
	int fd, before = zc_module_refcnt(), pipefd[2];
	struct zc_pair p;
	pthread_t th;
	char path[256], ok;
	pid_t pinner;

	if (!variant->ext4)
		SKIP(return, "memory pressure needs a disk-backed file");
	fd = zc_make_payload_file(zc_ext4_dir(), size, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_make_cold(fd)) TH_LOG("%s", zc_errmsg());

	/* leave ~160 MiB: less than half the file */
	pin = mem_available();
	ASSERT_LT(size, pin) TH_LOG("guest too small to pin memory");
	pin -= 160 * MIB;
	ASSERT_EQ(0, pipe(pipefd));
	pinner = fork();
	ASSERT_LE(0, pinner);
	if (pinner == 0) {
		void *m = mmap(NULL, pin, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE |
			       MAP_LOCKED, -1, 0);

		ok = m != MAP_FAILED;
		if (write(pipefd[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], &ok, 1));
	ASSERT_TRUE(ok) TH_LOG("could not pin %llu MiB",
			       (unsigned long long)(pin / MIB));
	TH_LOG("pinned %llu MiB, %llu MiB available for a %llu MiB file",
	       (unsigned long long)(pin / MIB),
	       (unsigned long long)(mem_available() / MIB),
	       (unsigned long long)(size / MIB));

	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
	c.fd = p.rcv;
	c.want = size;
	ASSERT_EQ(0, pthread_create(&th, NULL, stream_check_main, &c));
	while (off < size) {
		struct zcdev_sendfile a;

		ASSERT_EQ(0, zc_sendfile_args(self->dev, fd, p.snd, off,
					      size - off, 0, &a))
			TH_LOG("at %llu: %s", (unsigned long long)off,
			       strerror(errno));
		ASSERT_LT(0ULL, (unsigned long long)a.sent);
		ASSERT_EQ(a.sent, a.zc_bytes) TH_LOG("%s", zc_report_str(&a));
		off += a.sent;
	}
	pthread_join(th, NULL);
	kill(pinner, SIGKILL);
	waitpid(pinner, NULL, 0);
	ASSERT_EQ(0, c.err) TH_LOG("%s", c.msg);
	ASSERT_EQ(size, c.done);
	zc_pair_close(&p);
	/* everything closed: the file's pages can all be dropped */
	ASSERT_EQ(0, zc_make_cold(fd)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_resident_pages(fd, 0, size));
	unlink(path);
	close(fd);
	ASSERT_EQ(before, zc_module_refcnt());
}

TEST_HARNESS_MAIN
