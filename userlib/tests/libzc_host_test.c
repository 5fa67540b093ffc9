// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side checks of libzc, built against an *installed* copy through
 * pkg-config.  It never opens /dev/zcdev: every handle is opened either with
 * ZC_OPEN_FALLBACK or on a device path inside a temporary directory that
 * does not exist, so everything here exercises the sendfile(2) fallback.
 *
 * Output: one "PASS name" or "FAIL name: why" line per check; host-check.sh
 * turns them into KTAP.  Exit status 1 if anything failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <zc.h>

static int failures;
static char tmpdir[] = "/tmp/libzc-host.XXXXXX";

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		return;
	}
	failures++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

#define CHECK(name, cond, ...) result(!!(cond), name, __VA_ARGS__)

/* A file whose every 8-byte word is its own offset (self-locating). */
static int make_file(const char *name, size_t size, unsigned char **datap)
{
	char path[PATH_MAX];
	unsigned char *data = malloc(size);
	size_t i;
	int fd;

	for (i = 0; i < size; i++) {
		uint64_t word = i / 8 * 8;

		data[i] = (unsigned char)(word >> (8 * (i % 8)));
		if (i % 8 == 7)
			data[i] ^= 0x5a;
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		perror(path);
		exit(2);
	}
	*datap = data;
	return fd;
}

struct reader {
	int fd;
	unsigned char *buf;
	size_t cap;
	size_t got;
	pthread_t thread;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	while (r->got < r->cap) {
		n = read(r->fd, r->buf + r->got, r->cap - r->got);
		if (n <= 0)
			break;
		r->got += (size_t)n;
	}
	return NULL;
}

static void reader_start(struct reader *r, int fd, size_t cap)
{
	r->fd = fd;
	r->cap = cap;
	r->got = 0;
	r->buf = malloc(cap ? cap : 1);
	pthread_create(&r->thread, NULL, reader_fn, r);
}

static void reader_join(struct reader *r)
{
	pthread_join(r->thread, NULL);
}

static void tcp_pair(int sv[2], int family)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int lfd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	}
	lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (void *)&ss, sl) || listen(lfd, 1) ||
	    getsockname(lfd, (void *)&ss, &sl)) {
		perror("listen");
		exit(2);
	}
	sv[0] = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(sv[0], (void *)&ss, sl)) {
		perror("connect");
		exit(2);
	}
	sv[1] = accept(lfd, NULL, NULL);
	close(lfd);
}

static void test_open(void)
{
	char path[PATH_MAX];
	struct zc *zc = (struct zc *)1;
	int ret;

	snprintf(path, sizeof(path), "%s/no-such-zcdev", tmpdir);

	errno = EDOM;
	ret = zc_open(&zc, path, 0);
	CHECK("open_absent_falls_back", ret == 0 && zc, "ret %d", ret);
	CHECK("open_errno_untouched", errno == EDOM, "errno %d", errno);
	CHECK("is_fallback", zc_is_fallback(zc) == 1, "got %d",
	      zc_is_fallback(zc));
	CHECK("fd_fallback_enodev", zc_fd(zc) == -ENODEV, "got %d", zc_fd(zc));
	CHECK("close", zc_close(zc) == 0, "close failed");
	CHECK("close_null", zc_close(NULL) == 0, "close(NULL) failed");

	zc = (struct zc *)1;
	ret = zc_open(&zc, path, ZC_OPEN_NOFALLBACK);
	CHECK("open_nofallback_enoent", ret == -ENOENT && zc == NULL,
	      "ret %d zc %p", ret, (void *)zc);
	CHECK("open_errno_untouched_on_error", errno == EDOM, "errno %d",
	      errno);

	ret = zc_open(&zc, path, 1U << 7);
	CHECK("open_bad_flags", ret == -EINVAL, "ret %d", ret);
	ret = zc_open(&zc, path, ZC_OPEN_FALLBACK | ZC_OPEN_NOFALLBACK);
	CHECK("open_conflicting_flags", ret == -EINVAL, "ret %d", ret);
	ret = zc_open(NULL, path, 0);
	CHECK("open_null", ret == -EINVAL, "ret %d", ret);

	/* Another open(2) error is reported, not hidden by the fallback. */
	ret = zc_open(&zc, "/proc/self/status/x", 0);
	CHECK("open_enotdir_reported", ret == -ENOTDIR, "ret %d", ret);

	ret = zc_open(&zc, NULL, ZC_OPEN_FALLBACK);
	CHECK("open_forced_fallback", ret == 0 && zc_is_fallback(zc) == 1,
	      "ret %d", ret);
	zc_close(zc);
	CHECK("null_handle", zc_fd(NULL) == -EINVAL &&
	      zc_is_fallback(NULL) == -EINVAL &&
	      zc_sendfile(NULL, 0, 0, 0, 1, 0, NULL) == -EINVAL &&
	      zc_sendfile_all(NULL, 0, 0, 0, 1, 0, NULL) == -EINVAL,
	      "NULL handle accepted");
}

static void test_send_unix(struct zc *zc)
{
	const size_t size = (1 << 20) + 123;
	struct zc_result res;
	struct reader rd;
	unsigned char *data;
	int sv[2], fd;
	ssize_t n;
	off_t pos;

	fd = make_file("unix.bin", size, &data);
	lseek(fd, 17, SEEK_SET);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);

	reader_start(&rd, sv[1], size - 4097);
	errno = EDOM;
	n = zc_sendfile_all(zc, sv[0], fd, 4097, UINT64_MAX, 0, &res);
	CHECK("unix_all_errno_untouched", errno == EDOM, "errno %d", errno);
	shutdown(sv[0], SHUT_WR);
	reader_join(&rd);
	CHECK("unix_all_returns_to_eof", n == (ssize_t)(size - 4097),
	      "n %zd", n);
	CHECK("unix_all_byte_exact", rd.got == size - 4097 &&
	      !memcmp(rd.buf, data + 4097, size - 4097), "got %zu", rd.got);
	CHECK("unix_all_result", res.sent == (uint64_t)n &&
	      res.unknown_bytes == res.sent && !res.zc_bytes &&
	      !res.copied_bytes && res.path == ZC_PATH_UNKNOWN &&
	      res.why == ZC_WHY_NO_MODULE && res.calls >= 1 &&
	      res.status == ZCDEV_STATUS_EOF && !res.notify_id &&
	      !res.seg_index && !res.seg_sent && !res.resv32b &&
	      !res.resv[0],
	      "sent %llu path %u why %#x calls %u",
	      (unsigned long long)res.sent, res.path, res.why, res.calls);
	pos = lseek(fd, 0, SEEK_CUR);
	CHECK("file_position_untouched", pos == 17, "pos %lld",
	      (long long)pos);

	n = zc_sendfile(zc, sv[0], fd, size, 100, 0, &res);
	CHECK("eof_returns_0", n == 0 || n == -EPIPE, "n %zd", n);
	close(sv[0]);
	close(sv[1]);

	/* A single call: short of @len is fine, never more. */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	reader_start(&rd, sv[1], 1000);
	n = zc_sendfile(zc, sv[0], fd, 10, 1000, 0, &res);
	reader_join(&rd);
	CHECK("single_call", n == 1000 && res.sent == 1000 &&
	      rd.got == 1000 && !memcmp(rd.buf, data + 10, 1000) &&
	      res.calls == 1, "n %zd", n);

	n = zc_sendfile(zc, sv[0], fd, size + 5, 100, 0, &res);
	CHECK("past_eof_nothing", n == 0 && res.path == ZCDEV_PATH_NONE &&
	      res.why == 0 && res.sent == 0, "n %zd path %u", n, res.path);
	n = zc_sendfile(zc, sv[0], fd, 0, 0, 0, &res);
	CHECK("len_0_nothing", n == 0 && res.path == ZCDEV_PATH_NONE,
	      "n %zd", n);

	errno = EDOM;
	n = zc_sendfile(zc, sv[0], fd, 0, 100, ZCDEV_SEND_STRICT, &res);
	CHECK("strict_fails_eopnotsupp", n == -EOPNOTSUPP && !res.sent &&
	      res.why == ZC_WHY_NO_MODULE && res.path == ZCDEV_PATH_NONE,
	      "n %zd why %#x", n, res.why);
	CHECK("strict_errno_untouched", errno == EDOM, "errno %d", errno);
	n = zc_sendfile_all(zc, sv[0], fd, 0, 100, ZCDEV_SEND_STRICT, &res);
	CHECK("strict_all_fails", n == -EOPNOTSUPP && !res.sent,
	      "n %zd", n);
	n = zc_sendfile(zc, sv[0], fd, 0, 100, 1U << 20, &res);
	CHECK("unknown_flag_einval", n == -EINVAL, "n %zd", n);
	n = zc_sendfile(zc, sv[0], fd, (uint64_t)LLONG_MAX + 1, 1, 0, &res);
	CHECK("huge_offset_einval", n == -EINVAL, "n %zd", n);
	n = zc_sendfile(zc, fd, fd, 0, 100, 0, &res);
	CHECK("not_a_socket", n == -ENOTSOCK, "n %zd", n);
	n = zc_sendfile(zc, 999, fd, 0, 100, 0, &res);
	CHECK("bad_sock_fd", n == -EBADF, "n %zd", n);
	n = zc_sendfile(zc, sv[0], 999, 0, 100, 0, &res);
	CHECK("bad_file_fd", n == -EBADF, "n %zd", n);
	n = zc_sendfile(zc, sv[0], fd, 0, 100, 0, NULL);
	CHECK("null_result_ok", n > 0, "n %zd", n);

	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
	free(rd.buf);
}

static void test_send_tcp(struct zc *zc, int family, const char *name)
{
	const size_t size = 8 << 20;
	struct zc_result res;
	struct reader rd;
	unsigned char *data;
	char tn[64];
	int sv[2], fd;
	ssize_t n;

	fd = make_file(name, size, &data);
	tcp_pair(sv, family);
	reader_start(&rd, sv[1], size - 1);
	n = zc_sendfile_all(zc, sv[0], fd, 1, size + 100, ZCDEV_SEND_MORE,
			    &res);
	shutdown(sv[0], SHUT_WR);
	reader_join(&rd);
	snprintf(tn, sizeof(tn), "%s_all_byte_exact", name);
	CHECK(tn, n == (ssize_t)(size - 1) && rd.got == size - 1 &&
	      !memcmp(rd.buf, data + 1, size - 1) &&
	      res.sent == size - 1 && res.unknown_bytes == size - 1,
	      "n %zd got %zu", n, rd.got);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
	free(rd.buf);
}

/* ZCDEV_SEND_NONBLOCK on a blocking socket must never block. */
static void test_nonblock(struct zc *zc)
{
	unsigned char *data;
	struct zc_result res;
	int sv[2], fd, i;
	uint64_t total = 0;
	ssize_t n = 0;

	fd = make_file("nb.bin", 16 << 20, &data);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	alarm(20);	/* a hang here is the failure */
	for (i = 0; i < 100000; i++) {
		n = zc_sendfile(zc, sv[0], fd, total, 16 << 20,
				ZCDEV_SEND_NONBLOCK, &res);
		if (n <= 0)
			break;
		total += (uint64_t)n;
	}
	alarm(0);
	CHECK("nonblock_flag_eagain", n == -EAGAIN && total > 0,
	      "n %zd after %llu bytes", n, (unsigned long long)total);

	/* And an O_NONBLOCK socket without the flag. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	alarm(20);
	for (i = 0; i < 100000; i++) {
		n = zc_sendfile(zc, sv[0], fd, 0, 1 << 20, 0, &res);
		if (n <= 0)
			break;
	}
	alarm(0);
	CHECK("o_nonblock_eagain", n == -EAGAIN, "n %zd", n);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
}

/* A dead peer gives -EPIPE and never SIGPIPE, default disposition kept. */
/*
 * The same on TCP with TCP_NOTSENT_LOWAT: the socket polls writable with
 * its send buffer nearly empty, and tcp_sendmsg() waits once the unsent
 * bytes reach the limit, so the emulation must stop short of it.
 */
static void test_nonblock_lowat(struct zc *zc)
{
	int sv[2], fd, i, lowat = 16384;
	unsigned char *data;
	struct zc_result res;
	uint64_t total = 0;
	ssize_t n = 0;

	fd = make_file("nbl.bin", 16 << 20, &data);
	tcp_pair(sv, AF_INET);
	setsockopt(sv[0], IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
		   sizeof(lowat));
	alarm(20);	/* a hang here is the failure */
	for (i = 0; i < 100000; i++) {
		n = zc_sendfile(zc, sv[0], fd, total, (16 << 20) - total,
				ZCDEV_SEND_NONBLOCK, &res);
		if (n <= 0)
			break;
		total += (uint64_t)n;
	}
	alarm(0);
	CHECK("nonblock_notsent_lowat_eagain", n == -EAGAIN && total > 0,
	      "n %zd after %llu bytes", n, (unsigned long long)total);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
}

/*
 * The fallback checks the socket as the device does: not a stream socket
 * -EINVAL, not connected -ENOTCONN, for sends and probes alike.
 */
static void test_fallback_socket_checks(struct zc *zc)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct zc_probe_result pr;
	struct zc_result res;
	unsigned char *data;
	int fd, s;

	fd = make_file("sock.bin", 4096, &data);

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	connect(s, (struct sockaddr *)&sin, sizeof(sin));	/* port 0 */
	CHECK("fallback_udp_einval",
	      zc_sendfile(zc, s, fd, 0, 5, 0, &res) == -EINVAL &&
	      zc_probe(zc, s, -1, 0, &pr) == -EINVAL, "UDP taken");
	close(s);

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK("fallback_tcp_unconnected_enotconn",
	      zc_sendfile(zc, s, fd, 0, 5, 0, &res) == -ENOTCONN &&
	      zc_probe(zc, s, -1, 0, &pr) == -ENOTCONN, "unconnected TCP taken");
	bind(s, (struct sockaddr *)&sin, sizeof(sin));
	listen(s, 1);
	CHECK("fallback_tcp_listening_enotconn",
	      zc_sendfile(zc, s, fd, 0, 5, 0, &res) == -ENOTCONN &&
	      zc_probe(zc, s, -1, 0, &pr) == -ENOTCONN, "listening TCP taken");
	close(s);

	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK("fallback_unix_unconnected_enotconn",
	      zc_sendfile(zc, s, fd, 0, 5, 0, &res) == -ENOTCONN &&
	      zc_probe(zc, s, -1, 0, &pr) == -ENOTCONN, "unconnected AF_UNIX taken");
	close(s);
	close(fd);
	free(data);
}

static void test_epipe(struct zc *zc)
{
	unsigned char *data;
	int sv[2], fd, status;
	pid_t pid;

	fd = make_file("pipe.bin", 65536, &data);
	pid = fork();
	if (pid == 0) {
		sigset_t pend;
		ssize_t n;

		signal(SIGPIPE, SIG_DFL);
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		close(sv[1]);
		n = zc_sendfile(zc, sv[0], fd, 0, 65536, 0, NULL);
		sigpending(&pend);
		_exit(n == -EPIPE && !sigismember(&pend, SIGPIPE) ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK("epipe_without_sigpipe", WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "status %#x", status);
	close(fd);
	free(data);
}

struct thr {
	struct zc *zc;
	int fd;
	size_t size;
	const unsigned char *data;
	int ok;
};

static void *thr_fn(void *arg)
{
	struct thr *t = arg;
	struct reader rd;
	int sv[2], i;
	ssize_t n;

	t->ok = 1;
	for (i = 0; i < 10; i++) {
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
		reader_start(&rd, sv[1], t->size);
		n = zc_sendfile_all(t->zc, sv[0], t->fd, 0, t->size, 0, NULL);
		shutdown(sv[0], SHUT_WR);
		reader_join(&rd);
		if (n != (ssize_t)t->size || rd.got != t->size ||
		    memcmp(rd.buf, t->data, t->size))
			t->ok = 0;
		free(rd.buf);
		close(sv[0]);
		close(sv[1]);
	}
	return NULL;
}

static void test_threads(struct zc *zc)
{
	struct thr t[4];
	unsigned char *data;
	int fd, i, ok = 1;
	pthread_t th[4];

	fd = make_file("thr.bin", 300000, &data);
	for (i = 0; i < 4; i++) {
		t[i] = (struct thr){ zc, fd, 300000, data, 0 };
		pthread_create(&th[i], NULL, thr_fn, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok &= t[i].ok;
	}
	CHECK("threads_share_handle", ok, "a thread saw bad data");
	close(fd);
	free(data);
}

static void test_names(void)
{
	char buf[256], small[8];
	int n;

	CHECK("path_names", !strcmp(zc_path_name(ZCDEV_PATH_NONE), "none") &&
	      !strcmp(zc_path_name(ZCDEV_PATH_ZEROCOPY), "zerocopy") &&
	      !strcmp(zc_path_name(ZCDEV_PATH_COPY), "copy") &&
	      !strcmp(zc_path_name(ZCDEV_PATH_MIXED), "mixed") &&
	      !strcmp(zc_path_name(ZC_PATH_UNKNOWN), "unknown") &&
	      zc_path_name(77) == NULL, "bad path names");
	CHECK("why_names", !strcmp(zc_why_name(ZCDEV_WHY_NO_SG), "no_sg") &&
	      !strcmp(zc_why_name(ZC_WHY_NO_MODULE), "no_module") &&
	      zc_why_name(ZCDEV_WHY_NO_SG | ZCDEV_WHY_KTLS) == NULL &&
	      zc_why_name(0) == NULL && zc_why_name(1U << 20) == NULL,
	      "bad why names");
	CHECK("why_desc", !strcmp(zc_why_desc(ZCDEV_WHY_NO_SG),
				  "egress device has no scatter-gather"),
	      "bad description");
	/* Every kernel reason has a name and a description. */
	for (n = 0; n < 32; n++) {
		if (!(ZCDEV_WHY_ALL & (1U << n)))
			continue;
		if (!zc_why_name(1U << n) || !zc_why_desc(1U << n))
			break;
	}
	CHECK("why_all_named", n == 32, "bit %d has no name", n);

	n = zc_why_str(ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM | (1U << 20),
		       buf, sizeof(buf), 0);
	CHECK("why_str_names", n == (int)strlen(buf) &&
	      !strcmp(buf, "no_sg,no_csum,0x100000"), "got '%s' %d", buf, n);
	n = zc_why_str(ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM, buf, sizeof(buf),
		       ZC_WHY_STR_DESC);
	CHECK("why_str_desc", !strcmp(buf, "egress device has no "
	      "scatter-gather; egress device has no checksum offload"),
	      "got '%s'", buf);
	n = zc_why_str(ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM, small,
		       sizeof(small), 0);
	CHECK("why_str_truncates", n == 13 && !strcmp(small, "no_sg,n"),
	      "n %d '%s'", n, small);
	n = zc_why_str(ZCDEV_WHY_KTLS, NULL, 0, 0);
	CHECK("why_str_measure", n == 4, "n %d", n);
	n = zc_why_str(0, buf, sizeof(buf), 0);
	CHECK("why_str_empty", n == 0 && buf[0] == '\0', "n %d", n);
	CHECK("why_str_einval", zc_why_str(1, buf, sizeof(buf), 2) == -EINVAL
	      && zc_why_str(1, NULL, 5, 0) == -EINVAL, "bad args accepted");
	CHECK("lib_bits_disjoint", !(ZC_WHY_LIB_MASK & ZCDEV_WHY_ALL) &&
	      (ZC_WHY_NO_MODULE & ZC_WHY_LIB_MASK) &&
	      ZC_PATH_UNKNOWN > ZCDEV_PATH_MIXED, "library values clash");
}

/* ---- LIBZC_1.1 ------------------------------------------------------- */

static void fill_pattern(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

/* Expected stream of segments (memory from their buffers, files from data) */
static size_t expect_segs(const struct zcdev_seg *segs, unsigned int nr,
			  const unsigned char *data, unsigned char *out)
{
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (segs[i].type == ZCDEV_SEG_MEM)
			memcpy(out + n, (const void *)(uintptr_t)segs[i].addr,
			       segs[i].len);
		else
			memcpy(out + n, data + segs[i].offset, segs[i].len);
		n += segs[i].len;
	}
	return n;
}

static void test_probe_completions_fallback(struct zc *zc)
{
	struct zc_probe_result pr;
	struct zcdev_completion c[4];
	int sv[2], fd, ret, wfd;
	unsigned char *data;
	char path[PATH_MAX];

	memset(&pr, 0xa5, sizeof(pr));
	errno = EDOM;
	ret = zc_probe(zc, -1, -1, 0, &pr);
	CHECK("probe_module_fallback", ret == 0 &&
	      pr.path == ZCDEV_PATH_NONE && pr.why == ZC_WHY_NO_MODULE &&
	      pr.send_flags == (ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE) &&
	      pr.why_known == (ZC_WHY_NO_MODULE | ZCDEV_WHY_MEMORY) &&
	      !pr.resv[0] && !pr.resv[3], "ret %d path %u why %#x flags %#x "
	      "known %#x", ret, pr.path, pr.why, pr.send_flags, pr.why_known);
	CHECK("probe_errno_untouched", errno == EDOM, "errno %d", errno);

	fd = make_file("probe.bin", 4096, &data);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	ret = zc_probe(zc, sv[0], fd, ZCDEV_SEND_NOTIFY, &pr);
	CHECK("probe_socket_fallback", ret == 0 &&
	      pr.path == ZC_PATH_UNKNOWN && pr.why == ZC_WHY_NO_MODULE,
	      "ret %d path %u why %#x", ret, pr.path, pr.why);
	CHECK("probe_bad_args",
	      zc_probe(zc, -1, fd, 0, &pr) == -EINVAL &&
	      zc_probe(zc, sv[0], -1, 1U << 20, &pr) == -EINVAL &&
	      zc_probe(zc, fd, -1, 0, &pr) == -ENOTSOCK &&
	      zc_probe(zc, 999, -1, 0, &pr) == -EBADF &&
	      zc_probe(zc, sv[0], 999, 0, &pr) == -EBADF &&
	      zc_probe(NULL, -1, -1, 0, &pr) == -EINVAL &&
	      zc_probe(zc, -1, -1, 0, NULL) == -EINVAL,
	      "bad probe arguments accepted");
	snprintf(path, sizeof(path), "%s/probe.bin", tmpdir);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK("probe_write_only_file", zc_probe(zc, sv[0], wfd, 0, &pr) ==
	      -EBADF, "accepted a write-only file");
	CHECK("probe_directory", zc_probe(zc, sv[0], open(tmpdir, O_RDONLY),
					  0, &pr) == -EINVAL,
	      "accepted a directory");
	close(wfd);

	errno = EDOM;
	CHECK("completions_fallback_eopnotsupp",
	      zc_read_completions(zc, c, 4, 0) == -EOPNOTSUPP &&
	      zc_read_completions(zc, c, 4, ZC_COMPL_WAIT) == -EOPNOTSUPP &&
	      errno == EDOM, "completions in fallback mode");
	CHECK("completions_bad_args",
	      zc_read_completions(NULL, c, 4, 0) == -EINVAL &&
	      zc_read_completions(zc, NULL, 4, 0) == -EINVAL &&
	      zc_read_completions(zc, c, 0, 0) == -EINVAL &&
	      zc_read_completions(zc, c, 4, 1U << 5) == -EINVAL,
	      "bad arguments accepted");
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
}

/* CACHED_ONLY and NOTIFY cannot be emulated: -EOPNOTSUPP, NO_MODULE. */
static void test_module_only_flags_fallback(struct zc *zc)
{
	const unsigned int fl[] = { ZCDEV_SEND_CACHED_ONLY, ZCDEV_SEND_NOTIFY };
	unsigned char *data, hdr[10] = "header:";
	struct zcdev_seg segs[2];
	struct zc_result r;
	int sv[2], fd, ok = 1, k;
	ssize_t n;

	fd = make_file("flags.bin", 8192, &data);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	zc_seg_mem(&segs[0], hdr, sizeof(hdr));
	zc_seg_file(&segs[1], fd, 0, 8192);
	for (k = 0; k < 2; k++) {
		n = zc_sendfile(zc, sv[0], fd, 0, 100, fl[k], &r);
		ok &= n == -EOPNOTSUPP && r.why == ZC_WHY_NO_MODULE &&
		      !r.sent && !r.calls;
		n = zc_sendv(zc, sv[0], segs, 2, fl[k], &r);
		ok &= n == -EOPNOTSUPP && r.why == ZC_WHY_NO_MODULE &&
		      !r.sent && !r.calls;
	}
	CHECK("cached_only_notify_eopnotsupp", ok, "not refused");
	n = zc_sendfile_all(zc, sv[0], fd, 0, 100, ZCDEV_SEND_NOTIFY, &r);
	CHECK("sendfile_all_notify_einval", n == -EINVAL && !r.sent,
	      "n %zd", n);
	n = zc_sendv_all(zc, sv[0], segs, 2, ZCDEV_SEND_NOTIFY, &r);
	CHECK("sendv_all_notify_einval", n == -EINVAL && !r.sent,
	      "n %zd", n);
	n = zc_sendfile_all(zc, sv[0], fd, 0, 100, ZCDEV_SEND_CACHED_ONLY, &r);
	CHECK("sendfile_all_cached_only_eopnotsupp", n == -EOPNOTSUPP &&
	      r.why == ZC_WHY_NO_MODULE, "n %zd", n);
	/* nothing went out */
	n = recv(sv[1], hdr, sizeof(hdr), MSG_DONTWAIT);
	CHECK("refusals_sent_nothing", n < 0 && errno == EAGAIN, "n %zd", n);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
}

/* header + file range + trailer (+ empty segments), one call, byte exact */
static void test_sendv_fallback(struct zc *zc, int family, const char *name)
{
	const size_t size = (3 << 20) + 77;
	static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
	static const char trl[] = "\r\n0\r\n\r\n";
	unsigned char *data, *exp;
	struct zcdev_seg segs[6];
	struct zc_result r;
	struct reader rd;
	char tn[96];
	int sv[2], fd;
	size_t want;
	ssize_t n;

	fd = make_file("sendv.bin", size, &data);
	zc_seg_mem(&segs[0], hdr, sizeof(hdr) - 1);
	zc_seg_mem(&segs[1], NULL, 0);
	zc_seg_file(&segs[2], fd, 4097, size - 4097 - 5);
	zc_seg_file(&segs[3], fd, 0, 0);
	zc_seg_mem(&segs[4], trl, sizeof(trl) - 1);
	zc_seg_file(&segs[5], fd, 10, 1000);
	exp = malloc(size + 4096);
	want = expect_segs(segs, 6, data, exp);

	if (family == AF_UNIX)
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	else
		tcp_pair(sv, family);
	reader_start(&rd, sv[1], want);
	errno = EDOM;
	n = zc_sendv(zc, sv[0], segs, 6, 0, &r);
	snprintf(tn, sizeof(tn), "sendv_%s_errno_untouched", name);
	CHECK(tn, errno == EDOM, "errno %d", errno);
	shutdown(sv[0], SHUT_WR);
	reader_join(&rd);
	snprintf(tn, sizeof(tn), "sendv_%s_byte_exact", name);
	CHECK(tn, n == (ssize_t)want && rd.got == want &&
	      !memcmp(rd.buf, exp, want), "n %zd got %zu want %zu", n,
	      rd.got, want);
	snprintf(tn, sizeof(tn), "sendv_%s_result", name);
	CHECK(tn, r.sent == want &&
	      r.copied_bytes == sizeof(hdr) - 1 + sizeof(trl) - 1 &&
	      r.unknown_bytes == size - 4097 - 5 + 1000 && !r.zc_bytes &&
	      r.path == ZC_PATH_UNKNOWN &&
	      r.why == (ZCDEV_WHY_MEMORY | ZC_WHY_NO_MODULE) &&
	      r.calls == 4 && r.seg_index == 6 && !r.seg_sent &&
	      !r.status && !r.notify_id && !r.resv[0],
	      "sent %llu copied %llu unknown %llu path %u why %#x calls %u "
	      "seg %u/%llu status %#x", (unsigned long long)r.sent,
	      (unsigned long long)r.copied_bytes,
	      (unsigned long long)r.unknown_bytes, r.path, r.why, r.calls,
	      r.seg_index, (unsigned long long)r.seg_sent, r.status);
	close(sv[0]);
	close(sv[1]);
	free(rd.buf);

	/* memory only: copied, ZCDEV_WHY_MEMORY; STRICT does not apply */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	n = zc_sendv(zc, sv[0], &segs[4], 1, ZCDEV_SEND_STRICT, &r);
	{
		char buf[64];
		ssize_t got = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);

		snprintf(tn, sizeof(tn), "sendv_%s_memory_only", name);
		CHECK(tn, n == (ssize_t)sizeof(trl) - 1 && got == n &&
		      !memcmp(buf, trl, (size_t)n) &&
		      r.path == ZCDEV_PATH_COPY && r.why == ZCDEV_WHY_MEMORY &&
		      r.copied_bytes == (uint64_t)n && r.seg_index == 1,
		      "n %zd path %u why %#x", n, r.path, r.why);
	}
	/* STRICT with a file segment: refused, nothing sent */
	n = zc_sendv(zc, sv[0], segs, 6, ZCDEV_SEND_STRICT, &r);
	snprintf(tn, sizeof(tn), "sendv_%s_strict_refused", name);
	CHECK(tn, n == -EOPNOTSUPP && r.why == ZC_WHY_NO_MODULE && !r.sent &&
	      recv(sv[1], tn, 1, MSG_DONTWAIT) < 0, "n %zd", n);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(exp);
	free(data);
}

/* A file segment that reaches EOF ends the call there (ZCDEV_STATUS_EOF) */
static void test_sendv_eof(struct zc *zc)
{
	unsigned char *data, exp[9000], buf[9000];
	struct zcdev_seg segs[3];
	struct zc_result r;
	int sv[2], fd;
	ssize_t n, got;

	fd = make_file("eof.bin", 5000, &data);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	zc_seg_mem(&segs[0], "abc", 3);
	zc_seg_file(&segs[1], fd, 1000, 8000);	/* only 4000 exist */
	zc_seg_mem(&segs[2], "xyz", 3);
	n = zc_sendv(zc, sv[0], segs, 3, 0, &r);
	memcpy(exp, "abc", 3);
	memcpy(exp + 3, data + 1000, 4000);
	got = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK("sendv_eof_stops", n == 4003 && got == 4003 &&
	      !memcmp(buf, exp, 4003) && r.status == ZCDEV_STATUS_EOF &&
	      r.seg_index == 1 && r.seg_sent == 4000, "n %zd got %zd status "
	      "%#x seg %u/%llu", n, got, r.status, r.seg_index,
	      (unsigned long long)r.seg_sent);
	n = zc_sendv_all(zc, sv[0], segs, 3, 0, &r);
	got = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK("sendv_all_eof_stops", n == 4003 && got == 4003 &&
	      r.status == ZCDEV_STATUS_EOF && r.seg_index == 1 &&
	      r.seg_sent == 4000, "n %zd status %#x seg %u/%llu", n,
	      r.status, r.seg_index, (unsigned long long)r.seg_sent);
	/* a file segment at EOF: nothing from it, 0 if nothing before it */
	n = zc_sendv(zc, sv[0], &segs[1], 1, 0, &r);
	CHECK("sendv_eof_at_start", n == 4000, "n %zd", n);
	recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	zc_seg_file(&segs[1], fd, 5000, 10);
	n = zc_sendv(zc, sv[0], &segs[1], 2, 0, &r);
	CHECK("sendv_past_eof_zero", n == 0 && r.status == ZCDEV_STATUS_EOF &&
	      r.seg_index == 0 && !r.seg_sent &&
	      recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) < 0,
	      "n %zd status %#x", n, r.status);
	/* zc_sendfile's fallback says EOF too */
	n = zc_sendfile(zc, sv[0], fd, 4990, 100, 0, &r);
	CHECK("sendfile_fallback_status_eof", n == 10 &&
	      r.status == ZCDEV_STATUS_EOF, "n %zd status %#x", n, r.status);
	n = zc_sendfile(zc, sv[0], fd, 4990, 10, 0, &r);
	CHECK("sendfile_fallback_exact_no_eof", n == 10 && !r.status,
	      "n %zd status %#x", n, r.status);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
}

static void test_sendv_errors(struct zc *zc)
{
	unsigned char *data, buf[16];
	struct zcdev_seg segs[3], bad, big[ZCDEV_SENDV_MAX_SEGS + 1];
	struct zc_result r;
	char path[PATH_MAX];
	int sv[2], fd, wfd, pfd[2], ok;
	ssize_t n;

	fd = make_file("err.bin", 8192, &data);
	snprintf(path, sizeof(path), "%s/err.bin", tmpdir);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	pipe(pfd);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	zc_seg_mem(&segs[0], "hdr", 3);
	zc_seg_file(&segs[1], fd, 0, 100);

	errno = EDOM;
#define SENDV_BAD(idx, mutate, want) do {				\
		segs[2] = segs[1];					\
		bad = segs[idx];					\
		mutate;							\
		segs[idx] = bad;					\
		memset(&r, 0xa5, sizeof(r));				\
		n = zc_sendv(zc, sv[0], segs, 3, 0, &r);		\
		ok = n == (want) && !r.sent && !r.calls;		\
		zc_seg_mem(&segs[0], "hdr", 3);				\
		zc_seg_file(&segs[1], fd, 0, 100);			\
	} while (0)
	SENDV_BAD(2, bad.type = 7, -EINVAL);
	CHECK("sendv_bad_type", ok, "n %zd", n);
	SENDV_BAD(0, bad.file_fd = fd, -EINVAL);
	CHECK("sendv_mem_with_fd", ok, "n %zd", n);
	SENDV_BAD(0, bad.offset = 1, -EINVAL);
	CHECK("sendv_mem_with_offset", ok, "n %zd", n);
	SENDV_BAD(2, bad.addr = 1, -EINVAL);
	CHECK("sendv_file_with_addr", ok, "n %zd", n);
	SENDV_BAD(2, bad.offset = (uint64_t)LLONG_MAX + 1, -EINVAL);
	CHECK("sendv_file_huge_offset", ok, "n %zd", n);
	SENDV_BAD(2, bad.file_fd = 999, -EBADF);
	CHECK("sendv_file_bad_fd", ok, "n %zd", n);
	SENDV_BAD(2, bad.file_fd = wfd, -EBADF);
	CHECK("sendv_file_write_only", ok, "n %zd", n);
	SENDV_BAD(2, bad.file_fd = pfd[0], -EINVAL);
	CHECK("sendv_file_pipe", ok, "n %zd", n);
	SENDV_BAD(2, (bad.file_fd = wfd, bad.len = 0), -EBADF);
	CHECK("sendv_empty_segment_checked", ok, "n %zd", n);
	CHECK("sendv_bad_errno_untouched", errno == EDOM, "errno %d", errno);
	/* nothing of the good segments before them went out */
	CHECK("sendv_bad_sent_nothing",
	      recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) < 0,
	      "a refused call sent bytes");

	errno = EDOM;
	CHECK("sendv_bad_args",
	      zc_sendv(zc, sv[0], segs, 0, 0, &r) == -EINVAL &&
	      zc_sendv(zc, sv[0], NULL, 2, 0, &r) == -EFAULT &&
	      zc_sendv(NULL, sv[0], segs, 2, 0, &r) == -EINVAL &&
	      zc_sendv(zc, sv[0], segs, 2, 1U << 20, &r) == -EINVAL &&
	      zc_sendv(zc, fd, segs, 2, 0, &r) == -ENOTSOCK &&
	      zc_sendv(zc, 999, segs, 2, 0, &r) == -EBADF &&
	      zc_sendv_all(zc, sv[0], segs, 0, 0, &r) == -EINVAL &&
	      zc_sendv_all(zc, sv[0], NULL, 2, 0, &r) == -EFAULT &&
	      zc_sendv_all(NULL, sv[0], segs, 2, 0, &r) == -EINVAL,
	      "bad arguments accepted");
	memset(big, 0, sizeof(big));
	for (n = 0; n <= ZCDEV_SENDV_MAX_SEGS; n++)
		zc_seg_mem(&big[n], "x", 1);
	n = zc_sendv(zc, sv[0], big, ZCDEV_SENDV_MAX_SEGS + 1, 0, &r);
	CHECK("sendv_too_many_segs", n == -EINVAL, "n %zd", n);
	segs[1].len = (uint64_t)SSIZE_MAX;
	n = zc_sendv_all(zc, sv[0], segs, 2, 0, &r);
	CHECK("sendv_all_total_overflow", n == -EINVAL, "n %zd", n);
	CHECK("sendv_errors_errno_untouched", errno == EDOM, "errno %d",
	      errno);
	CHECK("sendv_errors_sent_nothing",
	      recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) < 0,
	      "a refused call sent bytes");
	close(pfd[0]);
	close(pfd[1]);
	close(wfd);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
#undef SENDV_BAD
}

/*
 * An event loop over a vectored response: ZCDEV_SEND_NONBLOCK on a full
 * socket gives partial progress, and resuming from seg_index/seg_sent must
 * give the exact stream.
 */
static void test_sendv_resume_nonblock(struct zc *zc)
{
	const size_t size = 6 << 20;
	unsigned char *data, *exp, hdr[333], trl[77];
	struct zcdev_seg segs[3], cur[3];
	struct zc_result r;
	struct reader rd;
	unsigned int first = 0, partial_mid = 0, rounds = 0;
	int sv[2], fd, ok = 1, started = 0;
	size_t want, total = 0;
	ssize_t n;

	fill_pattern(hdr, sizeof(hdr), 1);
	fill_pattern(trl, sizeof(trl), 2);
	fd = make_file("resume.bin", size, &data);
	zc_seg_mem(&segs[0], hdr, sizeof(hdr));
	zc_seg_file(&segs[1], fd, 12345, size - 12345);
	zc_seg_mem(&segs[2], trl, sizeof(trl));
	exp = malloc(size + 4096);
	want = expect_segs(segs, 3, data, exp);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);

	memcpy(cur, segs, sizeof(segs));
	while (first < 3 && rounds++ < 100000) {
		n = zc_sendv(zc, sv[0], cur + first, 3 - first,
			     ZCDEV_SEND_NONBLOCK, &r);
		if (n == -EAGAIN) {
			struct pollfd p = { .fd = sv[0], .events = POLLOUT };

			if (!started) {
				reader_start(&rd, sv[1], want);
				started = 1;
			}
			poll(&p, 1, 1000);
			continue;
		}
		if (n <= 0) {
			ok = 0;
			break;
		}
		total += (size_t)n;
		/* the report places the stop exactly */
		if (r.seg_index + first < 3 && r.seg_sent)
			partial_mid++;
		first += r.seg_index;
		if (first < 3) {
			if (cur[first].type == ZCDEV_SEG_MEM)
				cur[first].addr += r.seg_sent;
			else
				cur[first].offset += r.seg_sent;
			cur[first].len -= r.seg_sent;
		}
	}
	if (!started)
		reader_start(&rd, sv[1], want);
	shutdown(sv[0], SHUT_WR);
	reader_join(&rd);
	CHECK("sendv_nonblock_resume_byte_exact", ok && total == want &&
	      rd.got == want && !memcmp(rd.buf, exp, want) && partial_mid,
	      "ok %d total %zu got %zu want %zu partial %u", ok, total,
	      rd.got, want, partial_mid);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(rd.buf);
	free(exp);
	free(data);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

struct slow_reader {
	int fd;
	unsigned char *buf;
	size_t cap, got;
	pthread_t thread;
};

static void *slow_reader_fn(void *arg)
{
	struct slow_reader *r = arg;
	ssize_t n;

	while (r->got < r->cap) {
		size_t chunk = r->cap - r->got < 32768 ? r->cap - r->got : 32768;

		n = read(r->fd, r->buf + r->got, chunk);
		if (n <= 0)
			break;
		r->got += (size_t)n;
		usleep(300);
	}
	return NULL;
}

/*
 * zc_sendv_all() over more segments than one call takes, on a blocking
 * socket whose sends signals cut short: it must resume from every partial
 * position and deliver the exact stream.  SIGALRM is blocked in the
 * reader thread so that the sender's calls are the ones interrupted.
 */
static void test_sendv_all(struct zc *zc)
{
	const unsigned int nr = 2 * ZCDEV_SENDV_MAX_SEGS + 101;
	const size_t size = 1 << 20;
	struct zcdev_seg *segs = calloc(nr, sizeof(*segs));
	struct itimerval it = { { 0, 3000 }, { 0, 3000 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned char *data, *exp, *mem;
	struct slow_reader rd = { 0 };
	sigset_t set, old;
	struct zc_result r;
	size_t want;
	unsigned int i;
	int sv[2], fd, sndbuf = 16384;
	ssize_t n;

	fd = make_file("all.bin", size, &data);
	mem = malloc(nr * 64);
	fill_pattern(mem, nr * 64, 3);
	for (i = 0; i < nr; i++) {
		if (i % 3 == 0)
			zc_seg_mem(&segs[i], mem + i * 64, 1 + i % 64);
		else if (i % 3 == 1)
			zc_seg_file(&segs[i], fd, (i * 4099) % (size - 8192),
				    i % 7 == 0 ? 0 : 1 + (i * 977) % 8192);
		else
			zc_seg_file(&segs[i], fd, i, i % 5 ? 3 : 0);
	}
	/* one big file segment in the middle, cut by the signals */
	zc_seg_file(&segs[nr / 2], fd, 0, size);
	exp = malloc(nr * 8192 + size + nr * 64);
	want = expect_segs(segs, nr, data, exp);

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	rd.fd = sv[1];
	rd.cap = want;
	rd.buf = malloc(want);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_create(&rd.thread, NULL, slow_reader_fn, &rd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	errno = EDOM;
	n = zc_sendv_all(zc, sv[0], segs, nr, 0, &r);
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK("sendv_all_errno_untouched", errno == EDOM, "errno %d", errno);
	shutdown(sv[0], SHUT_WR);
	pthread_join(rd.thread, NULL);
	CHECK("sendv_all_many_segs_byte_exact", n == (ssize_t)want &&
	      rd.got == want && !memcmp(rd.buf, exp, want),
	      "n %zd got %zu want %zu", n, rd.got, want);
	CHECK("sendv_all_result", r.sent == want && r.seg_index == nr &&
	      !r.seg_sent && r.unknown_bytes + r.copied_bytes == want &&
	      r.path == ZC_PATH_UNKNOWN, "sent %llu seg %u/%llu path %u",
	      (unsigned long long)r.sent, r.seg_index,
	      (unsigned long long)r.seg_sent, r.path);
	/* the signals really cut calls short, so resuming was exercised */
	CHECK("sendv_all_resumed", alarms > 0 && r.calls > (nr * 2) / 3 + 2,
	      "alarms %d calls %u", (int)alarms, r.calls);
	signal(SIGALRM, SIG_DFL);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(rd.buf);
	free(exp);
	free(mem);
	free(segs);
	free(data);
}

/*
 * A "module" that knows no ioctl (/dev/null answers ENOTTY to all): the
 * handle is taken for a module older than ZCDEV_IOC_PROBE.  New flags are
 * refused with -EOPNOTSUPP (never -EINVAL or -ENOTTY), probe with a socket
 * is -EOPNOTSUPP, and zc_sendv is emulated (memory by send(2); the file
 * segment's ioctl fails, after the header went out).
 */
static void test_old_module(void)
{
	struct zc_probe_result pr;
	struct zcdev_completion c;
	unsigned char *data, buf[64];
	struct zcdev_seg segs[3];
	struct zc_result r;
	struct zc *zc;
	int sv[2], fd, ret;
	ssize_t n, got;

	ret = zc_open(&zc, "/dev/null", ZC_OPEN_NOFALLBACK);
	if (ret) {
		CHECK("old_module_open", 0, "/dev/null: %s", strerror(-ret));
		return;
	}
	fd = make_file("old.bin", 4096, &data);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	CHECK("old_module_not_fallback", zc_is_fallback(zc) == 0 &&
	      zc_fd(zc) >= 0 && (fcntl(zc_fd(zc), F_GETFL) & O_NONBLOCK),
	      "fallback %d", zc_is_fallback(zc));
	ret = zc_probe(zc, -1, -1, 0, &pr);
	CHECK("old_module_probe_flags", ret == 0 &&
	      pr.send_flags == (ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE |
				ZCDEV_SEND_STRICT) &&
	      pr.path == ZCDEV_PATH_NONE && !pr.why &&
	      (pr.why_known & ZCDEV_WHY_HOLE) &&
	      !(pr.why_known & ZCDEV_WHY_NOTIFY), "ret %d flags %#x known "
	      "%#x", ret, pr.send_flags, pr.why_known);
	ret = zc_probe(zc, sv[0], -1, 0, &pr);
	CHECK("old_module_probe_socket_eopnotsupp", ret == -EOPNOTSUPP,
	      "ret %d", ret);
	n = zc_sendfile(zc, sv[0], fd, 0, 10, ZCDEV_SEND_CACHED_ONLY, &r);
	CHECK("old_module_cached_only_eopnotsupp", n == -EOPNOTSUPP &&
	      !r.why && !r.calls, "n %zd", n);
	n = zc_sendfile(zc, sv[0], fd, 0, 10, ZCDEV_SEND_NOTIFY, &r);
	CHECK("old_module_notify_eopnotsupp", n == -EOPNOTSUPP, "n %zd", n);
	n = zc_sendfile(zc, sv[0], fd, 0, 10, 0, &r);
	CHECK("old_module_ioctl_passed_through", n == -ENOTTY &&
	      r.calls == 1, "n %zd", n);
	CHECK("old_module_no_completions",
	      zc_read_completions(zc, &c, 1, 0) == -EOPNOTSUPP,
	      "completions on an old module");

	zc_seg_mem(&segs[0], "head", 4);
	zc_seg_mem(&segs[1], "-tail", 5);
	n = zc_sendv(zc, sv[0], segs, 2, 0, &r);
	got = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK("old_module_sendv_memory_emulated", n == 9 && got == 9 &&
	      !memcmp(buf, "head-tail", 9) && r.path == ZCDEV_PATH_COPY &&
	      r.why == ZCDEV_WHY_MEMORY && r.calls == 2 && r.seg_index == 2,
	      "n %zd got %zd path %u calls %u", n, got, r.path, r.calls);
	zc_seg_file(&segs[1], fd, 0, 100);
	zc_seg_mem(&segs[2], "x", 1);
	n = zc_sendv(zc, sv[0], segs, 3, 0, &r);
	got = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK("old_module_sendv_stops_at_failing_segment", n == 4 &&
	      got == 4 && r.seg_index == 1 && !r.seg_sent && r.calls == 2,
	      "n %zd got %zd seg %u calls %u", n, got, r.seg_index, r.calls);
	n = zc_sendv(zc, sv[0], &segs[1], 2, 0, &r);
	CHECK("old_module_sendv_error_when_nothing_sent", n == -ENOTTY &&
	      !r.sent, "n %zd", n);
	n = zc_sendv(zc, sv[0], segs, 2, ZCDEV_SEND_CACHED_ONLY, &r);
	CHECK("old_module_sendv_cached_only_eopnotsupp", n == -EOPNOTSUPP,
	      "n %zd", n);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(data);
	zc_close(zc);
}

static void test_result_add(void)
{
	struct zc_result a = { 0 }, b = { 0 };

	b.sent = b.zc_bytes = 100;
	b.path = ZCDEV_PATH_ZEROCOPY;
	b.calls = 1;
	b.status = ZCDEV_STATUS_NOT_CACHED;
	b.notify_id = 7;
	zc_result_add(&a, &b);
	CHECK("result_add_first", a.sent == 100 &&
	      a.path == ZCDEV_PATH_ZEROCOPY && a.calls == 1 &&
	      a.status == ZCDEV_STATUS_NOT_CACHED && a.notify_id == 7,
	      "path %u", a.path);
	memset(&b, 0, sizeof(b));
	b.sent = b.copied_bytes = 50;
	b.path = ZCDEV_PATH_COPY;
	b.why = ZCDEV_WHY_NO_SG;
	b.calls = 2;
	b.seg_index = 3;
	b.seg_sent = 9;
	zc_result_add(&a, &b);
	CHECK("result_add_mixed", a.sent == 150 && a.zc_bytes == 100 &&
	      a.copied_bytes == 50 && a.path == ZCDEV_PATH_MIXED &&
	      a.why == ZCDEV_WHY_NO_SG && a.calls == 3 && !a.status &&
	      !a.notify_id && a.seg_index == 3 && a.seg_sent == 9,
	      "path %u sent %llu", a.path, (unsigned long long)a.sent);
	memset(&b, 0, sizeof(b));
	b.sent = b.unknown_bytes = 1;
	b.path = ZC_PATH_UNKNOWN;
	zc_result_add(&a, &b);
	CHECK("result_add_unknown", a.path == ZC_PATH_UNKNOWN, "path %u",
	      a.path);
	memset(&b, 0, sizeof(b));
	zc_result_add(&a, &b);	/* a refused call changes no path */
	CHECK("result_add_nothing", a.path == ZC_PATH_UNKNOWN &&
	      a.sent == 151, "path %u", a.path);
	CHECK("result_add_null", zc_result_add(NULL, &b) == -EINVAL &&
	      zc_result_add(&a, NULL) == -EINVAL, "NULL accepted");
}

static void test_status_names(void)
{
	char buf[128];
	int n;

	CHECK("status_names",
	      !strcmp(zc_status_name(ZCDEV_STATUS_NOT_CACHED), "not_cached") &&
	      !strcmp(zc_status_name(ZCDEV_STATUS_EOF), "eof") &&
	      zc_status_name(0) == NULL && zc_status_name(1U << 9) == NULL &&
	      zc_status_name(ZCDEV_STATUS_ALL) == NULL, "bad status names");
	for (n = 0; n < 32; n++) {
		if ((ZCDEV_STATUS_ALL & (1U << n)) &&
		    !zc_status_name(1U << n))
			break;
	}
	CHECK("status_all_named", n == 32, "bit %d has no name", n);
	n = zc_status_str(ZCDEV_STATUS_ALL | (1U << 12), buf, sizeof(buf), 0);
	CHECK("status_str_names", n == (int)strlen(buf) &&
	      !strcmp(buf, "not_cached,eof,0x1000"), "got '%s'", buf);
	n = zc_status_str(ZCDEV_STATUS_NOT_CACHED, buf, sizeof(buf),
			  ZC_WHY_STR_DESC);
	CHECK("status_str_desc", n > 0 && strstr(buf, "page cache"),
	      "got '%s'", buf);
	CHECK("status_str_einval", zc_status_str(1, buf, 4, 2) == -EINVAL &&
	      zc_status_str(1, NULL, 4, 0) == -EINVAL &&
	      zc_status_str(1, NULL, 0, 0) == 10, "bad args");
	CHECK("why_new_bits", !strcmp(zc_why_name(ZCDEV_WHY_MEMORY), "memory") &&
	      !strcmp(zc_why_name(ZCDEV_WHY_NOTIFY), "notify") &&
	      zc_why_desc(ZCDEV_WHY_NOTIFY) != NULL, "memory/notify unnamed");
	CHECK("version_macros", LIBZC_VERSION_MAJOR == 1 &&
	      LIBZC_VERSION_MINOR == 2, "version %d.%d", LIBZC_VERSION_MAJOR,
	      LIBZC_VERSION_MINOR);
}

int main(void)
{
	char path[PATH_MAX];
	struct zc *zc;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_open();
	test_names();
	test_status_names();
	test_result_add();
	test_old_module();

	snprintf(path, sizeof(path), "%s/no-such-zcdev", tmpdir);
	if (zc_open(&zc, path, 0) || zc_is_fallback(zc) != 1) {
		printf("FAIL setup: cannot open a fallback handle\n");
		return 1;
	}
	test_send_unix(zc);
	test_send_tcp(zc, AF_INET, "tcp4");
	test_send_tcp(zc, AF_INET6, "tcp6");
	test_nonblock(zc);
	test_nonblock_lowat(zc);
	test_fallback_socket_checks(zc);
	test_epipe(zc);
	test_threads(zc);
	test_probe_completions_fallback(zc);
	test_module_only_flags_fallback(zc);
	test_sendv_fallback(zc, AF_UNIX, "unix");
	test_sendv_fallback(zc, AF_INET, "tcp4");
	test_sendv_fallback(zc, AF_INET6, "tcp6");
	test_sendv_eof(zc);
	test_sendv_errors(zc);
	test_sendv_resume_nonblock(zc);
	test_sendv_all(zc);
	zc_close(zc);

	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	if (system(path))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return failures ? 1 : 0;
}
