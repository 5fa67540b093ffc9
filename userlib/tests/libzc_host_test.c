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
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	      !res.resv32 && !res.resv[0] && !res.resv[3],
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

	snprintf(path, sizeof(path), "%s/no-such-zcdev", tmpdir);
	if (zc_open(&zc, path, 0) || zc_is_fallback(zc) != 1) {
		printf("FAIL setup: cannot open a fallback handle\n");
		return 1;
	}
	test_send_unix(zc);
	test_send_tcp(zc, AF_INET, "tcp4");
	test_send_tcp(zc, AF_INET6, "tcp6");
	test_nonblock(zc);
	test_epipe(zc);
	test_threads(zc);
	zc_close(zc);

	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	if (system(path))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return failures ? 1 : 0;
}
