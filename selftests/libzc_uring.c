// SPDX-License-Identifier: GPL-2.0
/*
 * libzc_uring: libzc 1.2's io_uring helpers against the module, in the
 * guest, on rings made by liburing (linked statically).
 *
 *   ring.*      a file sent with zc_prep_sendfile() commands until done
 *               (short sends resubmitted, -EAGAIN after POLLOUT), 16- and
 *               32-byte CQEs: every decoded zc_result against the report
 *               the kernel wrote and the CQE32 word; the sum against
 *               zc_sendfile_all() of the same range; the bytes at the peer
 *               against the file.  zc_prep_sendv() the same way (header,
 *               file range, trailer, resumed from seg_index/seg_sent).
 *               STRICT over the sg-off veth: -EOPNOTSUPP decoded with its
 *               reason.
 *   supported.* zc_uring_supported(): 0 on /dev/zcdev; -EOPNOTSUPP in
 *               fallback mode and for a device that is not zcdev;
 *               kernel.io_uring_disabled=2 -EPERM and =1 0 (root has
 *               CAP_SYS_ADMIN), the sysctl restored (6.6+: on 6.1 it does
 *               not exist, and the case is a SKIP saying so);
 *               io_uring_setup(2) denied by seccomp (EPERM, ENOSYS): the
 *               same errno, on every kernel.
 *   example.*   userlib/examples/uring_server (the guest's
 *               /usr/bin/uring_server): three clients, one reading late so
 *               that its socket fills (-EAGAIN, POLL_ADD), byte-exact, its
 *               reports summed; with io_uring disabled (the sysctl, or a
 *               seccomp filter on every kernel) it says so on stderr and
 *               sends with the ioctl, byte-exact.
 *
 * libzc is linked in from userlib/'s objects (selftests/Makefile).
 */
#include "zc_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <liburing.h>

#include "../userlib/zc.h"

#include "kselftest_harness.h"

#define KiB		1024ULL
#define IDLE_MS		10000
#define DISABLED	"/proc/sys/kernel/io_uring_disabled"

static const char *server_path(void)
{
	const char *s = getenv("ZC_URING_SERVER");

	return s && *s ? s : "/usr/bin/uring_server";
}

/*
 * From now on io_uring_setup(2) fails with @err in this process (a seccomp
 * filter, as container runtimes install): what libzc sees where io_uring is
 * forbidden, on every kernel.  0 or -errno.
 */
static int deny_io_uring(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & 0xfff)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(f) / sizeof(f[0]), .filter = f,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return -errno;
	return 0;
}

/* The decoded result against the report the kernel wrote into @a. */
static void check_decoded(struct __test_metadata *_metadata, int res,
			  const struct zcdev_sendfile *a,
			  const struct zc_result *r, int n)
{
	EXPECT_EQ(res, n);
	EXPECT_EQ(1U, r->calls);
	EXPECT_EQ(0ULL, r->unknown_bytes);
	EXPECT_EQ(0U, r->seg_index);
	if (res < 0 && res != -EOPNOTSUPP && res != -EBUSY) {
		EXPECT_EQ(0ULL, r->sent);
		EXPECT_EQ(0U, r->path);
		EXPECT_EQ(0U, r->why);
		return;
	}
	EXPECT_EQ(a->path, r->path);
	EXPECT_EQ(a->why, r->why);
	EXPECT_EQ(a->status, r->status);
	if (res >= 0) {
		EXPECT_EQ((uint64_t)res, r->sent);
		EXPECT_EQ(a->sent, r->sent);
		EXPECT_EQ(a->zc_bytes, r->zc_bytes);
		EXPECT_EQ(a->copied_bytes, r->copied_bytes);
		EXPECT_EQ(r->sent, r->zc_bytes + r->copied_bytes);
	} else {
		EXPECT_EQ(0ULL, r->sent);
	}
}

/* The CQE32 word (the kernel's own copy of why/path/status) against r. */
static void check_res2(struct __test_metadata *_metadata, bool cqe32,
		       int res, uint64_t res2, const struct zc_result *r)
{
	if (!cqe32)
		return;
	if (res < 0 && res != -EOPNOTSUPP && res != -EBUSY) {
		EXPECT_EQ(0ULL, res2);
		return;
	}
	EXPECT_EQ(r->why, ZCDEV_URING_RES2_WHY(res2));
	EXPECT_EQ(r->path, ZCDEV_URING_RES2_PATH(res2));
	EXPECT_EQ(r->status, ZCDEV_URING_RES2_STATUS(res2));
}

/* Wait for one CQE: its res, user_data and (CQE32) big_cqe[0]. */
static int reap(struct io_uring *ring, bool cqe32, int *res,
		uint64_t *data, uint64_t *res2)
{
	struct io_uring_cqe *cqe;
	int ret;

	do {
		ret = io_uring_wait_cqe(ring, &cqe);
	} while (ret == -EINTR);
	if (ret)
		return ret;
	*res = cqe->res;
	*data = io_uring_cqe_get_data64(cqe);
	*res2 = cqe32 ? cqe->big_cqe[0] : 0;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* ---- ring: sends through commands built with the helpers ---------------- */

FIXTURE(ring) {
	struct zc *zc;
	struct io_uring ring;
	bool ring_ok;
	int fd;
	char path[256];
	uint64_t size;
	struct zc_pair p[2];
	struct zc_rx rx[2];
};

FIXTURE_VARIANT(ring) {
	unsigned int ring_flags;
};

FIXTURE_VARIANT_ADD(ring, cqe16) { .ring_flags = 0 };
FIXTURE_VARIANT_ADD(ring, cqe32) { .ring_flags = IORING_SETUP_CQE32 };

FIXTURE_SETUP(ring)
{
	int ret, i;

	self->zc = NULL;
	self->ring_ok = false;
	self->fd = -1;
	self->path[0] = 0;
	for (i = 0; i < 2; i++) {
		self->p[i].snd = self->p[i].rcv = -1;
		memset(&self->rx[i], 0, sizeof(self->rx[i]));
	}
	zc_sigpipe_guard();
	ret = zc_open(&self->zc, NULL, ZC_OPEN_NOFALLBACK);
	ASSERT_EQ(0, ret) TH_LOG("zc_open: %s", strerror(-ret));
	ret = io_uring_queue_init(16, &self->ring, variant->ring_flags);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s", strerror(-ret));
	self->ring_ok = true;
	self->size = 3 * 1024 * KiB + 4321;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(ring)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (self->p[i].snd >= 0)
			shutdown(self->p[i].snd, SHUT_RDWR);
		zc_rx_free(&self->rx[i]);
		zc_pair_close(&self->p[i]);
	}
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	zc_close(self->zc);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

static void open_pair(struct __test_metadata *_metadata,
		      FIXTURE_DATA(ring) *self, int i, enum zc_net net,
		      const struct zc_pair_opts *o)
{
	if (net != ZC_NET_LO && zc_net_available(net))
		ZC_NEED(return, "%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->p[i], ZC_TCP4, net, o))
		TH_LOG("%s", zc_errmsg());
}

/* Close the sender, join the receiver, compare with the file at @off. */
static void end_rx(struct __test_metadata *_metadata,
		   FIXTURE_DATA(ring) *self, int i, uint64_t off, uint64_t len)
{
	int64_t bad;

	ASSERT_EQ(0, shutdown(self->p[i].snd, SHUT_WR));
	ASSERT_EQ(0, zc_rx_join(&self->rx[i])) TH_LOG("%s", self->rx[i].msg);
	ASSERT_EQ(len, self->rx[i].len);
	ASSERT_EQ(0, self->rx[i].extra);
	bad = zc_verify(self->rx[i].buf, len, off);
	ASSERT_EQ(-1, bad) TH_LOG("%s", zc_errmsg());
}

/*
 * The whole file on pair 0 through commands, a fresh struct (out fields
 * poisoned) per submission; every completion decoded and checked.
 * Returns the -EAGAIN count; the sum of the results in *@sum.
 */
static int ring_send_file(struct __test_metadata *_metadata,
			  FIXTURE_DATA(ring) *self, bool cqe32,
			  struct zc_result *sum)
{
	uint64_t off = 0, data, res2;
	int eagain = 0, rounds = 0, res, n;
	struct zcdev_sendfile a;
	struct io_uring_sqe *sqe;
	struct zc_result r;

	memset(sum, 0, sizeof(*sum));
	while (off < self->size) {
		ASSERT_GT(100000, rounds++);
		a = zc_sendfile_in(self->fd, self->p[0].snd, off,
				   self->size - off, 0);
		zc_poison_out(&a);
		sqe = io_uring_get_sqe(&self->ring);
		ASSERT_NE(NULL, sqe);
		ASSERT_EQ(0, zc_prep_sendfile(sqe, self->zc, &a));
		io_uring_sqe_set_data64(sqe, 0x5e11d);
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		ASSERT_EQ(0, reap(&self->ring, cqe32, &res, &data, &res2));
		ASSERT_EQ(0x5e11d, data);
		n = zc_cqe_result(res, &a, &r);
		check_decoded(_metadata, res, &a, &r, n);
		check_res2(_metadata, cqe32, res, res2, &r);
		if (n == -EAGAIN) {
			struct pollfd pfd = {
				.fd = self->p[0].snd, .events = POLLOUT,
			};

			eagain++;
			ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)));
			continue;
		}
		ASSERT_LT(0, n) TH_LOG("res %d at %" PRIu64, n, off);
		ASSERT_EQ(0, zc_result_add(sum, &r));
		off += (uint64_t)n;
	}
	return eagain;
}

/*
 * The file through commands on a pair with small buffers (short sends and
 * full sockets), the decoded sum against zc_sendfile_all() of the same
 * file on a second, identical pair, and both peers byte-exact.
 */
TEST_F(ring, sendfile)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	struct zc_result sum, ref;
	ssize_t n;
	int eagain;

	open_pair(_metadata, self, 0, ZC_NET_LO, &o);
	open_pair(_metadata, self, 1, ZC_NET_LO, &o);
	ASSERT_EQ(0, zc_rx_start(&self->rx[0], self->p[0].rcv,
				 self->size + 64 * KiB, zc_scaled_ms(IDLE_MS)));
	ASSERT_EQ(0, zc_rx_start(&self->rx[1], self->p[1].rcv,
				 self->size + 64 * KiB, zc_scaled_ms(IDLE_MS)));

	eagain = ring_send_file(_metadata, self, cqe32, &sum);
	TH_LOG("%u commands, %d of them -EAGAIN", sum.calls + eagain, eagain);
	/* the ioctl's view of the same send */
	n = zc_sendfile_all(self->zc, self->p[1].snd, self->fd, 0, self->size,
			    0, &ref);
	ASSERT_EQ((ssize_t)self->size, n);
	EXPECT_EQ(self->size, sum.sent);
	EXPECT_EQ(ref.sent, sum.sent);
	EXPECT_EQ(ref.zc_bytes, sum.zc_bytes);
	EXPECT_EQ(ref.copied_bytes, sum.copied_bytes);
	EXPECT_EQ(ref.path, sum.path);
	EXPECT_EQ(ref.why, sum.why);
	EXPECT_EQ(0ULL, sum.unknown_bytes);
	end_rx(_metadata, self, 0, 0, self->size);
	end_rx(_metadata, self, 1, 0, self->size);
}

/*
 * A header, a file range and a trailer through zc_prep_sendv(), resumed
 * from the decoded seg_index/seg_sent until every segment is sent.  The
 * memory segments hold the file's own bytes around the range, so the peer
 * must receive one contiguous range of the file.
 */
TEST_F(ring, sendv)
{
	struct zc_pair_opts o = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB };
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	uint64_t hdr = 100, body = 1024 * KiB + 5, tail = 7;
	uint64_t total = hdr + body + tail, done = 0, skip = 0, data, res2;
	struct zcdev_seg segs[3], cur[3];
	unsigned int first = 0, k;
	char head[100], trailer[7];
	struct zcdev_sendv v;
	struct io_uring_sqe *sqe;
	struct zc_result r;
	int res, n, rounds = 0;

	open_pair(_metadata, self, 0, ZC_NET_LO, &o);
	ASSERT_EQ(hdr, pread(self->fd, head, hdr, 0));
	ASSERT_EQ(tail, pread(self->fd, trailer, tail, hdr + body));
	zc_seg_mem(&segs[0], head, hdr);
	zc_seg_file(&segs[1], self->fd, hdr, body);
	zc_seg_mem(&segs[2], trailer, tail);
	ASSERT_EQ(0, zc_rx_start(&self->rx[0], self->p[0].rcv,
				 total + 64 * KiB, zc_scaled_ms(IDLE_MS)));

	while (first < 3) {
		ASSERT_GT(100000, rounds++);
		/* the segments from where the last send stopped */
		for (k = 0; k < 3 - first; k++)
			cur[k] = segs[first + k];
		if (cur[0].type == ZCDEV_SEG_MEM)
			cur[0].addr += skip;
		else
			cur[0].offset += skip;
		cur[0].len -= skip;
		memset(&v, 0, sizeof(v));
		v.segs = (uintptr_t)cur;
		v.nr_segs = 3 - first;
		v.sock_fd = self->p[0].snd;
		zc_poison_sendv_out(&v);
		sqe = io_uring_get_sqe(&self->ring);
		ASSERT_NE(NULL, sqe);
		ASSERT_EQ(0, zc_prep_sendv(sqe, self->zc, &v));
		io_uring_sqe_set_data64(sqe, 0x5e9);
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		ASSERT_EQ(0, reap(&self->ring, cqe32, &res, &data, &res2));
		ASSERT_EQ(0x5e9, data);
		n = zc_cqe_result_sendv(res, &v, &r);
		EXPECT_EQ(res, n);
		EXPECT_EQ(1U, r.calls);
		check_res2(_metadata, cqe32, res, res2, &r);
		if (n == -EAGAIN) {
			struct pollfd pfd = {
				.fd = self->p[0].snd, .events = POLLOUT,
			};

			EXPECT_EQ(0ULL, r.sent);
			ASSERT_EQ(1, poll(&pfd, 1, zc_scaled_ms(IDLE_MS)));
			continue;
		}
		ASSERT_LT(0, n) TH_LOG("res %d", n);
		EXPECT_EQ(v.sent, r.sent);
		EXPECT_EQ(v.zc_bytes, r.zc_bytes);
		EXPECT_EQ(v.copied_bytes, r.copied_bytes);
		EXPECT_EQ(v.path, r.path);
		EXPECT_EQ(v.why, r.why);
		EXPECT_EQ(v.seg_index, r.seg_index);
		EXPECT_EQ(v.seg_sent, r.seg_sent);
		ASSERT_GE(v.nr_segs, r.seg_index);
		done += (uint64_t)n;
		if (r.seg_index == 0) {
			skip += r.seg_sent;
		} else {
			first += r.seg_index;
			skip = r.seg_sent;
		}
		if (first < 3 && skip == segs[first].len) {
			first++;
			skip = 0;
		}
	}
	EXPECT_EQ(total, done);
	end_rx(_metadata, self, 0, 0, total);
}

/* STRICT over the sg-off veth: -EOPNOTSUPP decoded with NO_SG, no bytes. */
TEST_F(ring, strict_nosg)
{
	bool cqe32 = variant->ring_flags & IORING_SETUP_CQE32;
	struct zcdev_sendfile a;
	struct io_uring_sqe *sqe;
	uint64_t data, res2;
	struct zc_result r;
	int res, n;

	open_pair(_metadata, self, 0, ZC_NET_NOSG, NULL);
	a = zc_sendfile_in(self->fd, self->p[0].snd, 0, 64 * KiB,
			   ZCDEV_SEND_STRICT);
	zc_poison_out(&a);
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_EQ(0, zc_prep_sendfile(sqe, self->zc, &a));
	io_uring_sqe_set_data64(sqe, 1);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, cqe32, &res, &data, &res2));
	n = zc_cqe_result(res, &a, &r);
	ASSERT_EQ(-EOPNOTSUPP, n);
	check_decoded(_metadata, res, &a, &r, n);
	check_res2(_metadata, cqe32, res, res2, &r);
	EXPECT_NE(0U, r.why & ZCDEV_WHY_NO_SG) TH_LOG("why %#x", r.why);
	EXPECT_EQ(0ULL, r.sent);
	ASSERT_EQ(0, zc_marker_check(self->p[0].snd, self->p[0].rcv,
				     zc_scaled_ms(IDLE_MS)))
		TH_LOG("%s", zc_errmsg());
}

/* ---- the example server ------------------------------------------------- */

struct server {
	pid_t pid;
	int port;
	char out[128], err[128];	/* its stdout and stderr files */
};

/*
 * Start `uring_server -n COUNT 0 FILE` (io_uring_setup(2) denied with
 * @deny if not 0); wait for its port.  0 or -1.
 */
static int server_start(struct server *s, const char *file, int count,
			int deny)
{
	char n[16], line[256];
	int i, fd;
	FILE *f;

	snprintf(s->out, sizeof(s->out), "/tmp/uring_server.%d.out", getpid());
	snprintf(s->err, sizeof(s->err), "/tmp/uring_server.%d.err", getpid());
	snprintf(n, sizeof(n), "%d", count);
	s->port = 0;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (!s->pid) {
		fd = open(s->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		fd = open(s->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		if (deny && deny_io_uring(deny))
			_exit(126);
		execl(server_path(), "uring_server", "-n", n, "0", file,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && !s->port; i++) {
		zc_sleep_ms(zc_scaled_ms(50));
		f = fopen(s->out, "r");
		if (f && fgets(line, sizeof(line), f))
			sscanf(line, "listening on port %d", &s->port);
		if (f)
			fclose(f);
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = -1;
			return -1;
		}
	}
	return s->port ? 0 : -1;
}

/* Its exit status (-1 if it had to be killed after @ms). */
static int server_wait(struct server *s, int ms)
{
	int st, t;

	for (t = 0; t < ms; t += 20) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		}
		zc_sleep_ms(20);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = -1;
	return -1;
}

/* Count the lines of @path that contain @what; the first one into @line. */
static int grep_count(const char *path, const char *what, char *line,
		      size_t n)
{
	char buf[512];
	int c = 0;
	FILE *f = fopen(path, "r");

	if (line && n)
		line[0] = 0;
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f)) {
		if (!strstr(buf, what))
			continue;
		if (!c++ && line)
			snprintf(line, n, "%s", buf);
	}
	fclose(f);
	return c;
}

/* Whether process @pid holds an io_uring instance. */
static bool has_ring(pid_t pid)
{
	char dir[64], p[sizeof(dir) + 256 + 2], link[128];
	struct dirent *d;
	bool found = false;
	DIR *dp;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	dp = opendir(dir);
	if (!dp)
		return false;
	while (!found && (d = readdir(dp))) {
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			found = strstr(link, "io_uring") != NULL;
		}
	}
	closedir(dp);
	return found;
}

/* A client of the server: connected, its SO_RCVBUF set first if @rcvbuf. */
static int client(int port, int rcvbuf)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

FIXTURE(example) {
	struct zc *zc;
	struct server s;
	int fd, c[3];
	char path[256];
	uint64_t size;
	struct zc_rx rx[3];
	char disabled[32];	/* the sysctl's value to restore, "" if none */
};

FIXTURE_SETUP(example)
{
	int i;

	self->zc = NULL;
	self->s.pid = -1;
	self->s.out[0] = self->s.err[0] = 0;
	self->fd = -1;
	self->path[0] = 0;
	self->disabled[0] = 0;
	for (i = 0; i < 3; i++) {
		self->c[i] = -1;
		memset(&self->rx[i], 0, sizeof(self->rx[i]));
	}
	if (access(server_path(), X_OK))
		ZC_NEED(return, "no %s (vm/build-guest.sh builds it)",
			server_path());
	ASSERT_EQ(0, zc_open(&self->zc, NULL, ZC_OPEN_NOFALLBACK));
	self->size = 8 * 1024 * KiB + 321;
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), self->size, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(example)
{
	int i;

	if (self->s.pid > 0) {
		kill(self->s.pid, SIGKILL);
		waitpid(self->s.pid, NULL, 0);
	}
	for (i = 0; i < 3; i++) {
		zc_rx_free(&self->rx[i]);
		if (self->c[i] >= 0)
			close(self->c[i]);
	}
	if (self->disabled[0])
		EXPECT_EQ(0, zc_sysctl_write(DISABLED, self->disabled, NULL, 0))
			TH_LOG("%s: not restored to %s", DISABLED,
			       self->disabled);
	if (self->s.out[0])
		unlink(self->s.out);
	if (self->s.err[0])
		unlink(self->s.err);
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	zc_close(self->zc);
}

/* Receive the file on @n clients (client 0 starts reading late). */
static void serve_clients(struct __test_metadata *_metadata,
			  FIXTURE_DATA(example) *self, int n, bool ring,
			  int deny)
{
	char want[128], line[512];
	int i;

	ASSERT_EQ(0, server_start(&self->s, self->path, n, deny))
		TH_LOG("%s did not start", server_path());
	/* the ring exists before it listens */
	EXPECT_EQ(ring, has_ring(self->s.pid));
	for (i = 0; i < n; i++) {
		self->c[i] = client(self->s.port, i ? 0 : 16 * KiB);
		ASSERT_LE(0, self->c[i]) TH_LOG("connect: %s", strerror(errno));
	}
	/* client 0 reads late: its socket fills, the server must wait */
	for (i = n - 1; i >= 0; i--) {
		if (!i)
			zc_sleep_ms(zc_scaled_ms(500));
		ASSERT_EQ(0, zc_rx_start(&self->rx[i], self->c[i],
					 self->size + 64 * KiB,
					 zc_scaled_ms(IDLE_MS)));
	}
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, zc_rx_join(&self->rx[i])) TH_LOG("%s",
							      self->rx[i].msg);
		ASSERT_EQ(self->size, self->rx[i].len);
		ASSERT_EQ(-1, zc_verify(self->rx[i].buf, self->size, 0))
			TH_LOG("client %d: %s", i, zc_errmsg());
	}
	ASSERT_EQ(0, server_wait(&self->s, zc_scaled_ms(IDLE_MS)));
	/* each connection's summed report: every byte, none unknown */
	for (i = 1; i <= n; i++) {
		snprintf(want, sizeof(want), "conn %d: done, %" PRIu64 " bytes",
			 i, self->size);
		EXPECT_EQ(1, grep_count(self->s.out, want, line, sizeof(line)))
			TH_LOG("no \"%s\"", want);
		EXPECT_NE(NULL, strstr(line, " 0 unknown")) TH_LOG("%s", line);
	}
}

TEST_F(example, ring)
{
	char line[512];

	serve_clients(_metadata, self, 3, true, 0);
	EXPECT_EQ(1, grep_count(self->s.out, "(io_uring commands)", NULL, 0));
	EXPECT_LE(1, grep_count(self->s.out, ": cqe ", NULL, 0));
	EXPECT_EQ(0, grep_count(self->s.out, ": zc_sendfile ", NULL, 0));
	/*
	 * The late reader's socket filled: -EAGAIN, POLL_ADD, resubmitted; or,
	 * where commands pend on a full socket (zc_uring_cmds_pend()), the
	 * command waited and no -EAGAIN reached the example.
	 */
	if (zc_uring_cmds_pend()) {
		EXPECT_EQ(0, grep_count(self->s.out,
					"conn 1: socket full (-EAGAIN)", NULL, 0));
	} else {
		EXPECT_LE(1, grep_count(self->s.out,
					"conn 1: socket full (-EAGAIN)", NULL, 0));
	}
	EXPECT_EQ(0, grep_count(self->s.err, "", line, sizeof(line)))
		TH_LOG("stderr: %s", line);
}

/* ---- supported --------------------------------------------------------- */

TEST(supported_device)
{
	struct zc *zc;

	ASSERT_EQ(0, zc_open(&zc, NULL, ZC_OPEN_NOFALLBACK));
	errno = EDOM;
	EXPECT_EQ(0, zc_uring_supported(zc));
	EXPECT_EQ(EDOM, errno);
	zc_close(zc);
}

/* fallback mode: -EOPNOTSUPP; a command prepared anyway is -EBADF */
TEST(supported_fallback)
{
	struct zcdev_sendfile a;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct zc *zc;

	ASSERT_EQ(0, zc_open(&zc, NULL, ZC_OPEN_FALLBACK));
	EXPECT_EQ(-EOPNOTSUPP, zc_uring_supported(zc));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	memset(&a, 0, sizeof(a));
	EXPECT_EQ(-EOPNOTSUPP, zc_prep_sendfile(io_uring_get_sqe(&ring), zc,
						&a));
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(-EBADF, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	zc_close(zc);
}

/* a device that is not zcdev: /dev/null, a regular file */
TEST(supported_not_zcdev)
{
	char path[256];
	struct zc *zc;
	int fd;

	ASSERT_EQ(0, zc_open(&zc, "/dev/null", ZC_OPEN_NOFALLBACK));
	EXPECT_EQ(-EOPNOTSUPP, zc_uring_supported(zc));
	zc_close(zc);
	fd = zc_make_payload_file(zc_tmpfs_dir(), 4096, path, sizeof(path));
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, zc_open(&zc, path, ZC_OPEN_NOFALLBACK));
	unlink(path);
	EXPECT_EQ(-EOPNOTSUPP, zc_uring_supported(zc));
	zc_close(zc);
}

/*
 * kernel.io_uring_disabled: 2 is -EPERM for everyone, and the example
 * falls back to the ioctl and says so; 1 allows CAP_SYS_ADMIN (root here).
 * The sysctl is restored by the teardown.
 */
TEST_F(example, io_uring_disabled)
{
	struct utsname u;
	char line[512];

	if (access(DISABLED, F_OK)) {
		uname(&u);
		SKIP(return, "kernel.io_uring_disabled does not exist before "
		     "Linux 6.6 (this kernel: %s)", u.release);
	}
	ASSERT_EQ(0, zc_sysctl_write(DISABLED, "1", self->disabled,
				     sizeof(self->disabled)))
		TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(0, zc_uring_supported(self->zc));
	ASSERT_EQ(0, zc_sysctl_write(DISABLED, "2", NULL, 0));
	errno = EDOM;
	EXPECT_EQ(-EPERM, zc_uring_supported(self->zc));
	EXPECT_EQ(EDOM, errno);

	serve_clients(_metadata, self, 1, false, 0);
	EXPECT_EQ(1, grep_count(self->s.err, "io_uring commands unavailable: "
				"io_uring is not permitted", line,
				sizeof(line)))
		TH_LOG("stderr: %s", line);
	EXPECT_EQ(1, grep_count(self->s.out, "(zc_sendfile)", NULL, 0));
	EXPECT_EQ(0, grep_count(self->s.out, ": cqe ", NULL, 0));
	EXPECT_LE(1, grep_count(self->s.out, ": zc_sendfile ", NULL, 0));
}

/*
 * The same fallback on every kernel: io_uring_setup(2) denied by a seccomp
 * filter in the server (EPERM, as where io_uring is forbidden).
 */
TEST_F(example, seccomp_fallback)
{
	char line[512];

	serve_clients(_metadata, self, 1, false, EPERM);
	EXPECT_EQ(1, grep_count(self->s.err, "io_uring commands unavailable: "
				"io_uring is not permitted", line,
				sizeof(line)))
		TH_LOG("stderr: %s", line);
	EXPECT_EQ(1, grep_count(self->s.out, "(zc_sendfile)", NULL, 0));
	EXPECT_EQ(0, grep_count(self->s.out, ": cqe ", NULL, 0));
	EXPECT_LE(1, grep_count(self->s.out, ": zc_sendfile ", NULL, 0));
}

/* io_uring_setup(2) failing with EPERM or ENOSYS: zc_uring_supported says so */
TEST(supported_setup_denied)
{
	static const int errs[] = { EPERM, ENOSYS };
	unsigned int i;
	int st;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			struct zc *zc;
			int ret;

			if (zc_open(&zc, NULL, ZC_OPEN_NOFALLBACK) ||
			    deny_io_uring(errs[i]))
				_exit(255);
			ret = zc_uring_supported(zc);
			_exit(ret < 0 && ret > -255 ? -ret : 254);
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st));
		EXPECT_EQ(errs[i], WEXITSTATUS(st))
			TH_LOG("io_uring_setup denied with %s", strerror(errs[i]));
	}
}

TEST_HARNESS_MAIN
