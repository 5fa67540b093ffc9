// SPDX-License-Identifier: GPL-2.0
/*
 * libzc_preload: libzc-preload.so keeps sendfile(2)'s contract.
 *
 * Every case of the table is set up twice, identically: once sent with the
 * raw system call (syscall(SYS_sendfile): never interposed) and once with
 * sendfile() / sendfile64(), which resolve to libzc-preload.so.  The two
 * outcomes are compared field by field: return value, errno, *offset, the
 * input's file position, SIGPIPE, and what arrived at the output (TCP and
 * AF_UNIX peers, a pipe, a regular file) byte for byte.
 *
 * The program is dynamically linked (a static program cannot be
 * LD_PRELOADed); it re-executes itself with LD_PRELOAD=$ZC_PRELOAD_SO
 * (default /usr/lib/zcdev/libzc-preload.so).  With /dev/zcdev (the
 * guests) the cases the preload sends through the module are also checked
 * in the module's counters (/sys/class/misc/zcdev/stats/bytes_sent); on the
 * host (userlib/tests/host-check.sh) ZC_PRELOAD_DEVICE names an absent
 * device and every call must reach the real sendfile(2).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define DEFAULT_SO	"/usr/lib/zcdev/libzc-preload.so"
#define FSIZE		(256 * 1024 + 123)

/* ---- re-exec with LD_PRELOAD ------------------------------------------- */

static const char *so_path(void)
{
	const char *p = getenv("ZC_PRELOAD_SO");

	return p && *p ? p : DEFAULT_SO;
}

/* where the files go: $ZC_PRELOAD_DIR, else the guests' tmpfs, else /tmp */
static const char *scratch_dir(void)
{
	const char *d = getenv("ZC_PRELOAD_DIR");

	if (d && *d)
		return d;
	return access("/mnt/tmpfs", W_OK) ? "/tmp" : "/mnt/tmpfs";
}

__attribute__((constructor)) static void reexec(int argc, char **argv)
{
	const char *so = so_path();
	const char *cur = getenv("LD_PRELOAD");
	char log[PATH_MAX];

	(void)argc;
	if (cur && strstr(cur, "libzc-preload"))
		return;
	if (access(so, R_OK))
		return;		/* the preload_active test fails and says why */
	setenv("LD_PRELOAD", so, 1);
	if (!getenv("ZC_PRELOAD_LOG")) {
		snprintf(log, sizeof(log), "%s/libzc_preload.%d.log", scratch_dir(),
			 (int)getpid());
		unlink(log);
		setenv("ZC_PRELOAD_LOG", log, 1);
		setenv("ZC_PRELOAD_LOG_EVERY", "1", 1);
	}
	execv("/proc/self/exe", argv);
}

/*
 * The harness forks a child per test; the source file is named after the
 * harness process and created by the first child that needs it, and the
 * harness removes it, and the log it asked for, when it exits (a test's
 * child leaves by _exit(); a child of a test that exit()s is not the
 * harness and removes nothing).
 */
static pid_t harness_pid;
static char dir[256];
static char srcpath[PATH_MAX];

__attribute__((constructor)) static void name_files(void)
{
	harness_pid = getpid();
	snprintf(dir, sizeof(dir), "%s", scratch_dir());
	snprintf(srcpath, sizeof(srcpath), "%s/libzc_preload.%d.src", dir, (int)harness_pid);
}

__attribute__((destructor)) static void remove_files(void)
{
	char log[PATH_MAX];
	const char *l = getenv("ZC_PRELOAD_LOG");

	if (getpid() != harness_pid)
		return;
	unlink(srcpath);
	snprintf(log, sizeof(log), "%s/libzc_preload.%d.log", dir, (int)harness_pid);
	if (l && !strcmp(l, log))
		unlink(log);	/* the one reexec() chose, not the caller's */
}

static int module_present(void)
{
	const char *d = getenv("ZC_PRELOAD_DEVICE");

	return access(d && *d ? d : "/dev/zcdev", F_OK) == 0;
}

/* A zcdev counter (0 without the module). */
static uint64_t stat_of(const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/zcdev/stats/%s", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static uint64_t stat_bytes_sent(void)
{
	return stat_of("bytes_sent");
}

/* ---- the table ---------------------------------------------------------- */

enum out_kind {
	OUT_TCP,		/* connected TCP over lo, a reader at the peer */
	OUT_TCP_FULL,		/* nonblocking, send buffer filled, no reader */
	OUT_TCP_SHUT,		/* shutdown(SHUT_WR): EPIPE */
	OUT_TCP_RESET,		/* the peer reset the connection */
	OUT_TCP_UNCONN,		/* never connected */
	OUT_UNIX,		/* AF_UNIX stream pair */
	OUT_UDP,		/* connected UDP over lo */
	OUT_PIPE,
	OUT_FILE,
	OUT_BADFD,		/* -1 */
	OUT_CLOSED,		/* a closed descriptor */
	OUT_RDONLY_FILE,	/* a file open for reading only */
};

enum in_kind {
	IN_REG,
	IN_OPATH,
	IN_WRONLY,
	IN_PIPE,
	IN_SOCK,
	IN_DIR,
	IN_BADFD,
	IN_EMPTY,		/* regular, 0 bytes */
};

struct tcase {
	const char *name;
	enum out_kind out;
	enum in_kind in;
	int use_off;		/* pass an offset pointer */
	int64_t off;		/* its value */
	int64_t pos;		/* the file position before the call */
	size_t count;
	int zc;			/* with the module: the preload sends by it */
	int use64;		/* call sendfile64() instead of sendfile() */
};

static const struct tcase cases[] = {
	{ "tcp_null_offset", OUT_TCP, IN_REG, 0, 0, 1000, 50000, 1, 0 },
	{ "tcp_null_offset_64", OUT_TCP, IN_REG, 0, 0, 4096, 70000, 1, 1 },
	{ "tcp_offset", OUT_TCP, IN_REG, 1, 1000, 777, 50000, 1, 0 },
	{ "tcp_offset_64", OUT_TCP, IN_REG, 1, 12345, 0, 100000, 1, 1 },
	{ "tcp_offset_at_eof", OUT_TCP, IN_REG, 1, FSIZE, 5, 4096, 0, 0 },
	{ "tcp_offset_after_eof", OUT_TCP, IN_REG, 1, FSIZE + 10000, 5, 4096, 0, 0 },
	{ "tcp_pos_at_eof", OUT_TCP, IN_REG, 0, 0, FSIZE, 4096, 0, 0 },
	{ "tcp_pos_after_eof", OUT_TCP, IN_REG, 0, 0, FSIZE + 1, 4096, 0, 0 },
	{ "tcp_count0", OUT_TCP, IN_REG, 1, 0, 0, 0, 0, 0 },
	{ "tcp_count0_null", OUT_TCP, IN_REG, 0, 0, 100, 0, 0, 0 },
	{ "tcp_huge_count", OUT_TCP, IN_REG, 1, 100, 0, SIZE_MAX, 0, 0 },
	{ "tcp_huge_count_null", OUT_TCP, IN_REG, 0, 0, 100, SIZE_MAX, 0, 0 },
	{ "tcp_count_ssize_max", OUT_TCP, IN_REG, 1, 0, 0, SSIZE_MAX, 1, 0 },
	{ "tcp_count_ssize_max_pos", OUT_TCP, IN_REG, 0, 0, 10, SSIZE_MAX, 0, 0 },
	{ "tcp_count_over_max_rw", OUT_TCP, IN_REG, 1, 0, 0, 0x7ffff001UL, 1, 0 },
	{ "tcp_count_past_eof", OUT_TCP, IN_REG, 1, FSIZE - 10, 0, 4096, 1, 0 },
	{ "tcp_empty_file", OUT_TCP, IN_EMPTY, 1, 0, 0, 4096, 0, 0 },
	{ "tcp_negative_offset", OUT_TCP, IN_REG, 1, -1, 0, 4096, 0, 0 },
	{ "tcp_offset_overflow", OUT_TCP, IN_REG, 1, LLONG_MAX - 10, 0, 4096, 0, 0 },
	{ "tcp_offset_past_maxbytes", OUT_TCP, IN_REG, 1, 1LL << 62, 0, 4096, 0, 0 },
	{ "tcp_full_nonblock_eagain", OUT_TCP_FULL, IN_REG, 1, 0, 0, 65536, 0, 0 },
	{ "tcp_shutdown_epipe", OUT_TCP_SHUT, IN_REG, 1, 0, 0, 4096, 0, 0 },
	{ "tcp_unconnected", OUT_TCP_UNCONN, IN_REG, 1, 0, 0, 4096, 0, 0 },
	{ "tcp_peer_reset", OUT_TCP_RESET, IN_REG, 1, 0, 0, 4096, 0, 0 },
	{ "unix_stream", OUT_UNIX, IN_REG, 1, 3, 0, 30000, 1, 0 },
	{ "udp_not_stream", OUT_UDP, IN_REG, 1, 0, 0, 1000, 0, 0 },
	{ "out_pipe", OUT_PIPE, IN_REG, 1, 10, 0, 20000, 0, 0 },
	{ "out_pipe_null", OUT_PIPE, IN_REG, 0, 0, 99, 20000, 0, 0 },
	{ "out_regular_file", OUT_FILE, IN_REG, 1, 0, 0, 30000, 0, 0 },
	{ "out_regular_file_null", OUT_FILE, IN_REG, 0, 0, 500, 30000, 0, 0 },
	{ "out_readonly_file_ebadf", OUT_RDONLY_FILE, IN_REG, 1, 0, 0, 100, 0, 0 },
	{ "out_bad_fd", OUT_BADFD, IN_REG, 1, 0, 0, 4096, 0, 0 },
	{ "out_closed_fd", OUT_CLOSED, IN_REG, 1, 0, 0, 4096, 0, 0 },
	{ "in_bad_fd", OUT_TCP, IN_BADFD, 1, 0, 0, 4096, 0, 0 },
	{ "in_o_path", OUT_TCP, IN_OPATH, 1, 0, 0, 4096, 0, 0 },
	{ "in_o_path_null", OUT_TCP, IN_OPATH, 0, 0, 0, 4096, 0, 0 },
	{ "in_write_only", OUT_TCP, IN_WRONLY, 1, 0, 0, 4096, 0, 0 },
	{ "in_pipe", OUT_TCP, IN_PIPE, 0, 0, 0, 4096, 0, 0 },
	{ "in_pipe_offset", OUT_TCP, IN_PIPE, 1, 0, 0, 4096, 0, 0 },
	{ "in_socket", OUT_TCP, IN_SOCK, 0, 0, 0, 4096, 0, 0 },
	{ "in_directory", OUT_TCP, IN_DIR, 1, 0, 0, 4096, 0, 0 },
};

/* ---- one run of a case --------------------------------------------------- */

struct outcome {
	ssize_t ret;
	int err;
	int64_t off;		/* *offset after */
	int64_t pos;		/* input's file position after (-1: none) */
	int64_t opos;		/* output file's position after (-1: none) */
	int sigpipe;		/* SIGPIPE pending after the call */
	uint8_t *data;		/* what the output received */
	size_t len;
	char what[256];		/* setup failure, "" if none */
};

static void make_source(void)
{
	static int done;
	struct stat st;
	uint8_t *buf;
	int fd;

	if (done)
		return;
	done = 1;
	if (stat(srcpath, &st) == 0 && st.st_size == FSIZE)
		return;		/* an earlier test's child wrote it */
	buf = malloc(FSIZE);
	zc_payload_fill(buf, 0, FSIZE);
	fd = open(srcpath, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd >= 0) {
		if (write(fd, buf, FSIZE) != FSIZE)
			unlink(srcpath);
		close(fd);
	}
	free(buf);
}

/*
 * A TCP pair over lo (zc_util's), without the send timeout zc_pair_open()
 * sets by default: a plain socket, as a server has.
 */
static int tcp_pair(int *snd, int *rcv)
{
	struct zc_pair_opts o = { .sndtimeo_ms = -1 };
	struct zc_pair p;

	if (zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, &o))
		return -1;
	*snd = p.snd;
	*rcv = p.rcv;
	return 0;
}

/* Fill @s (small buffers at both ends) until the stack takes no more. */
static void fill_socket(int s, int peer)
{
	int small = 4096;
	char junk[4096];

	memset(junk, 'j', sizeof(junk));
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	/* until the stack refuses, three times, letting it settle */
	for (int k = 0; k < 3; k++) {
		while (send(s, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		zc_sleep_ms(50);
	}
}

/* Read everything @fd delivers until EOF (or 2 s of nothing). */
static void drain_to(struct outcome *o, struct zc_rx *rx)
{
	if (zc_rx_join(rx) && !o->what[0])
		snprintf(o->what, sizeof(o->what), "receiver: %s", zc_errmsg());
	o->data = rx->buf;
	o->len = rx->len;
	rx->buf = NULL;
}

static void run_case(const struct tcase *c, int preload, struct outcome *o)
{
	int out = -1, peer = -1, in = -1, p[2] = { -1, -1 }, ip[2] = { -1, -1 };
	struct zc_rx rx = { 0 };
	int have_rx = 0, flags;
	char outpath[PATH_MAX];
	int64_t off = c->off;
	sigset_t pipe_set, old;
	struct timespec ts = { 0, 0 };
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->pos = o->opos = -1;
	make_source();
	snprintf(outpath, sizeof(outpath), "%s/libzc_preload.%d.out", dir, (int)getpid());

	/* the input */
	switch (c->in) {
	case IN_REG:
		in = open(srcpath, O_RDONLY | O_CLOEXEC);
		break;
	case IN_EMPTY:
		in = open(outpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		unlink(outpath);
		break;
	case IN_OPATH:
		in = open(srcpath, O_PATH | O_CLOEXEC);
		break;
	case IN_WRONLY:
		in = open(srcpath, O_WRONLY | O_CLOEXEC);
		break;
	case IN_PIPE:
		if (pipe2(ip, O_CLOEXEC) == 0) {
			in = ip[0];
			if (write(ip[1], "pipe data", 9) != 9)
				snprintf(o->what, sizeof(o->what), "pipe write");
		}
		break;
	case IN_SOCK: {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
			in = sv[0];
			ip[1] = sv[1];
			if (write(sv[1], "sock data", 9) != 9)
				snprintf(o->what, sizeof(o->what), "sock write");
		}
		break;
	}
	case IN_DIR:
		in = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		break;
	case IN_BADFD:
		in = -1;
		break;
	}
	if (c->in != IN_BADFD && in < 0) {
		snprintf(o->what, sizeof(o->what), "input: %s", strerror(errno));
		return;
	}
	if (in >= 0 && c->in != IN_OPATH && c->in != IN_PIPE && c->in != IN_SOCK &&
	    c->pos && lseek(in, c->pos, SEEK_SET) != c->pos)
		snprintf(o->what, sizeof(o->what), "lseek: %s", strerror(errno));

	/* the output */
	switch (c->out) {
	case OUT_TCP:
	case OUT_TCP_FULL:
	case OUT_TCP_SHUT:
	case OUT_TCP_RESET:
		if (tcp_pair(&out, &peer)) {
			snprintf(o->what, sizeof(o->what), "tcp: %s", strerror(errno));
			goto out;
		}
		if (c->out == OUT_TCP_FULL) {
			zc_set_nonblock(out, true);
			fill_socket(out, peer);
		} else if (c->out == OUT_TCP_SHUT) {
			shutdown(out, SHUT_WR);
		} else if (c->out == OUT_TCP_RESET) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			/* close with unread data... none: linger 0 sends RST */
			setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(peer);
			peer = -1;
			zc_sleep_ms(50);
		} else {
			zc_rx_start(&rx, peer, 2 * FSIZE, 2000);
			have_rx = 1;
		}
		break;
	case OUT_TCP_UNCONN:
		out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (out < 0)
			snprintf(o->what, sizeof(o->what), "tcp: %s", strerror(errno));
		break;
	case OUT_UNIX: {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			snprintf(o->what, sizeof(o->what), "unix: %s", strerror(errno));
			goto out;
		}
		out = sv[0];
		peer = sv[1];
		zc_rx_start(&rx, peer, 2 * FSIZE, 2000);
		have_rx = 1;
		break;
	}
	case OUT_UDP: {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		peer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		out = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (peer < 0 || out < 0 || bind(peer, (void *)&a, sizeof(a)) ||
		    getsockname(peer, (void *)&a, &al) ||
		    connect(out, (void *)&a, sizeof(a)))
			snprintf(o->what, sizeof(o->what), "udp: %s", strerror(errno));
		break;
	}
	case OUT_PIPE:
		if (pipe2(p, O_CLOEXEC)) {
			snprintf(o->what, sizeof(o->what), "pipe: %s", strerror(errno));
			goto out;
		}
		fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		out = p[1];
		break;
	case OUT_FILE:
		out = open(outpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		break;
	case OUT_RDONLY_FILE:
		out = open(srcpath, O_RDONLY | O_CLOEXEC);
		break;
	case OUT_BADFD:
		out = -1;
		break;
	case OUT_CLOSED:
		out = open("/dev/null", O_WRONLY | O_CLOEXEC);
		close(out);
		break;
	}

	/* the call, SIGPIPE held pending so that it can be seen */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	errno = 0;
	if (!preload)
		o->ret = syscall(SYS_sendfile, out, in, c->use_off ? &off : NULL, c->count);
	else if (c->use64)
		o->ret = sendfile64(out, in, c->use_off ? (off64_t *)&off : NULL, c->count);
	else
		o->ret = sendfile(out, in, c->use_off ? (off_t *)&off : NULL, c->count);
	o->err = o->ret < 0 ? errno : 0;
	o->sigpipe = sigtimedwait(&pipe_set, NULL, &ts) == SIGPIPE;
	sigprocmask(SIG_SETMASK, &old, NULL);
	o->off = off;
	if (in >= 0 && fstat(in, &st) == 0 && S_ISREG(st.st_mode))
		o->pos = lseek(in, 0, SEEK_CUR);	/* O_PATH: -1 */

	/* what arrived */
	if (have_rx) {
		close(out);
		out = -1;
		drain_to(o, &rx);
	} else if (c->out == OUT_PIPE) {
		size_t cap = 2 * FSIZE;

		close(p[1]);
		out = -1;
		o->data = malloc(cap);
		for (;;) {
			ssize_t n = read(p[0], o->data + o->len, cap - o->len);

			if (n <= 0)
				break;
			o->len += n;
		}
	} else if (c->out == OUT_FILE) {
		size_t cap = 2 * FSIZE;
		ssize_t n;

		o->data = malloc(cap);
		n = pread(out, o->data, cap, 0);
		o->len = n > 0 ? n : 0;
		o->opos = lseek(out, 0, SEEK_CUR);
		unlink(outpath);
	} else if (c->out == OUT_UDP && o->ret > 0) {
		o->data = malloc(65536);
		flags = recv(peer, o->data, 65536, MSG_DONTWAIT);
		o->len = flags > 0 ? flags : 0;
	}
out:
	if (out >= 0)
		close(out);
	if (peer >= 0 && !have_rx)
		close(peer);
	if (have_rx) {
		zc_rx_free(&rx);
		if (peer >= 0)
			close(peer);
	}
	if (p[0] >= 0)
		close(p[0]);
	if (in >= 0)
		close(in);
	if (ip[1] >= 0)
		close(ip[1]);
}

static void compare(struct __test_metadata *_metadata, const struct tcase *c)
{
	struct outcome r, p;
	uint64_t before, after;
	int mod = module_present();

	run_case(c, 0, &r);
	ASSERT_STREQ("", r.what);
	before = stat_bytes_sent();
	run_case(c, 1, &p);
	after = stat_bytes_sent();
	ASSERT_STREQ("", p.what);

	TH_LOG("real: ret=%zd errno=%d off=%lld pos=%lld sigpipe=%d recv=%zu; preload: ret=%zd errno=%d off=%lld pos=%lld sigpipe=%d recv=%zu; module bytes %llu",
	       r.ret, r.err, (long long)r.off, (long long)r.pos, r.sigpipe, r.len,
	       p.ret, p.err, (long long)p.off, (long long)p.pos, p.sigpipe, p.len,
	       (unsigned long long)(after - before));
	EXPECT_EQ(r.ret, p.ret);
	EXPECT_EQ(r.err, p.err);
	EXPECT_EQ(r.off, p.off);
	EXPECT_EQ(r.pos, p.pos);
	EXPECT_EQ(r.opos, p.opos);
	EXPECT_EQ(r.sigpipe, p.sigpipe);
	EXPECT_EQ(r.len, p.len);
	if (r.len == p.len && r.len) {
		EXPECT_EQ(0, memcmp(r.data, p.data, r.len));
	}
	/* the bytes that arrived are the file's, at the right offset */
	if (c->in == IN_REG && r.ret > 0 && r.len == (size_t)r.ret) {
		int64_t start = c->use_off ? c->off : c->pos;

		EXPECT_EQ(-1, zc_verify(r.data, r.len, start)) {
			TH_LOG("received bytes differ from the file: %s", zc_errmsg());
		}
	}
	if (mod) {
		/* through the module exactly when it can send the case */
		uint64_t want = c->zc && p.ret > 0 ? (uint64_t)p.ret : 0;

		EXPECT_EQ(want, after - before);
	}
	free(r.data);
	free(p.data);
}

#define CASE_TEST(i)							\
	TEST(case_##i) {						\
		if ((size_t)(i) >= sizeof(cases) / sizeof(cases[0]))	\
			SKIP(return, "no case %d", (i));		\
		TH_LOG("case %s", cases[i].name);			\
		compare(_metadata, &cases[i]);				\
	}

TEST(preload_active)
{
	Dl_info info;

	ASSERT_NE(0, dladdr((void *)sendfile, &info)) TH_LOG("dladdr");
	ASSERT_NE(NULL, strstr(info.dli_fname ? info.dli_fname : "", "libzc-preload"))
		TH_LOG("sendfile() is %s, not libzc-preload.so (%s: %s)",
		       info.dli_fname, so_path(),
		       access(so_path(), R_OK) ? strerror(errno) : "present");
	ASSERT_NE(0, dladdr((void *)sendfile64, &info));
	ASSERT_NE(NULL, strstr(info.dli_fname ? info.dli_fname : "", "libzc-preload"));
	TH_LOG("module %s", module_present() ? "present" : "absent");
}

CASE_TEST(0) CASE_TEST(1) CASE_TEST(2) CASE_TEST(3) CASE_TEST(4)
CASE_TEST(5) CASE_TEST(6) CASE_TEST(7) CASE_TEST(8) CASE_TEST(9)
CASE_TEST(10) CASE_TEST(11) CASE_TEST(12) CASE_TEST(13) CASE_TEST(14)
CASE_TEST(15) CASE_TEST(16) CASE_TEST(17) CASE_TEST(18) CASE_TEST(19)
CASE_TEST(20) CASE_TEST(21) CASE_TEST(22) CASE_TEST(23) CASE_TEST(24)
CASE_TEST(25) CASE_TEST(26) CASE_TEST(27) CASE_TEST(28) CASE_TEST(29)
CASE_TEST(30) CASE_TEST(31) CASE_TEST(32) CASE_TEST(33) CASE_TEST(34)
CASE_TEST(35) CASE_TEST(36) CASE_TEST(37) CASE_TEST(38) CASE_TEST(39)
CASE_TEST(40)

/* Every case has a test above. */
TEST(table_covered)
{
	ASSERT_EQ(41, sizeof(cases) / sizeof(cases[0]));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A blocking send on a full socket, interrupted by a signal (no SA_RESTART). */
static void eintr_run(int preload, ssize_t *ret, int *err, int64_t *off)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 200000 } };
	int s, peer, in;

	*ret = -2;
	*err = 0;
	*off = 0;
	make_source();
	in = open(srcpath, O_RDONLY | O_CLOEXEC);
	if (in < 0 || tcp_pair(&s, &peer))
		return;
	fill_socket(s, peer);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	if (preload)
		*ret = sendfile(s, in, (off_t *)off, 65536);
	else
		*ret = syscall(SYS_sendfile, s, in, off, 65536);
	*err = *ret < 0 ? errno : 0;
	signal(SIGALRM, SIG_DFL);
	close(s);
	close(peer);
	close(in);
}

TEST(eintr_blocking_full_socket)
{
	ssize_t r, p;
	int re, pe;
	int64_t ro, po;

	eintr_run(0, &r, &re, &ro);
	eintr_run(1, &p, &pe, &po);
	TH_LOG("real: ret=%zd errno=%d off=%lld; preload: ret=%zd errno=%d off=%lld",
	       r, re, (long long)ro, p, pe, (long long)po);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINTR, re);
	EXPECT_EQ(r, p);
	EXPECT_EQ(re, pe);
	EXPECT_EQ(ro, po);
}

/* Threads sending at once on their own connections: every byte arrives. */
#define NTHREADS 4
#define NROUNDS 5

static void *sender(void *arg)
{
	long bad = 0;

	(void)arg;
	for (int k = 0; k < NROUNDS; k++) {
		struct zc_rx rx = { 0 };
		int s, peer, in = open(srcpath, O_RDONLY | O_CLOEXEC);
		off_t off = 0;

		if (in < 0 || tcp_pair(&s, &peer))
			return (void *)1L;
		zc_rx_start(&rx, peer, 2 * FSIZE, 5000);
		while (off < FSIZE)
			if (sendfile(s, in, &off, FSIZE - off) <= 0)
				break;
		close(s);
		if (zc_rx_join(&rx) || rx.len != FSIZE || zc_verify(rx.buf, rx.len, 0) != -1)
			bad++;
		zc_rx_free(&rx);
		close(peer);
		close(in);
	}
	return (void *)bad;
}

TEST(threads)
{
	pthread_t t[NTHREADS];
	uint64_t before, after;
	void *ret;
	long bad = 0;

	make_source();
	before = stat_bytes_sent();
	for (int i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, sender, NULL));
	for (int i = 0; i < NTHREADS; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		bad += (long)ret;
	}
	after = stat_bytes_sent();
	EXPECT_EQ(0, bad);
	if (module_present()) {
		EXPECT_EQ((uint64_t)NTHREADS * NROUNDS * FSIZE, after - before) {
			/* which calls went to the real sendfile, and why */
			const char *log = getenv("ZC_PRELOAD_LOG");
			FILE *f = log ? fopen(log, "r") : NULL;
			char line[1024];

			while (f && fgets(line, sizeof(line), f))
				if (!strstr(line, " sendfile=-"))
					TH_LOG("%s", line);
			if (f)
				fclose(f);
		}
	}
}

/*
 * The truth of what the preload's sends report, by an oracle that does not
 * trust the module: sendfile() through the preload to a receiver that does
 * not read yet, the file's bytes flipped in the page cache once everything
 * is queued there, then read.  Bytes lent by reference arrive flipped,
 * copied bytes arrive as they were; the module's counters must say the same.
 */
static void oracle(struct __test_metadata *_metadata, enum zc_net net,
		   int expect_zc)
{
	const size_t want = 64 * 1024;
	struct zc_pair_opts o = { .rcvbuf = 16 << 20, .sndbuf = 16 << 20,
				  .sndtimeo_ms = -1 };
	uint64_t zc0, cp0, zc, cp, flipped = 0, same = 0;
	char path[PATH_MAX];
	struct zc_pair p;
	off_t off = 4096;
	uint8_t *buf;
	int rw, ro;

	if (!module_present())
		SKIP(return, "no zcdev module: nothing is lent");
	if (zc_net_available(net))
		ZC_NEED(return, "%s", zc_errmsg());
	rw = zc_make_payload_file(zc_tmpfs_dir(), 1 << 20, path, sizeof(path));
	ASSERT_LE(0, rw) TH_LOG("%s", zc_errmsg());
	ro = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, net, &o)) TH_LOG("%s", zc_errmsg());
	zc0 = stat_of("bytes_zerocopy");
	cp0 = stat_of("bytes_copied");
	while ((size_t)(off - 4096) < want)
		ASSERT_LT(0, sendfile(p.snd, ro, &off, want - (off - 4096)));
	zc = stat_of("bytes_zerocopy") - zc0;
	cp = stat_of("bytes_copied") - cp0;
	ASSERT_EQ(0, zc_wait_outq_empty(p.snd, 5000)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_wait_inq(p.rcv, want, 5000)) TH_LOG("%s", zc_errmsg());
	buf = malloc(want);
	ASSERT_EQ(0, zc_flip_range(rw, 4096, want)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((ssize_t)want, zc_recv_exact(p.rcv, buf, want, 5000));
	ASSERT_EQ(0, zc_flip_range(rw, 4096, want)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_classify(buf, want, 4096, &flipped, &same))
		TH_LOG("%s", zc_errmsg());
	TH_LOG("%s: module counted zc=%llu copied=%llu; the receiver saw %llu bytes flipped (by reference), %llu as sent (copied)",
	       zc_net_name(net), (unsigned long long)zc, (unsigned long long)cp,
	       (unsigned long long)flipped, (unsigned long long)same);
	EXPECT_EQ(flipped, zc);
	EXPECT_EQ(same, cp);
	EXPECT_EQ(expect_zc ? want : 0, flipped);
	free(buf);
	zc_pair_close(&p);
	close(ro);
	close(rw);
}

TEST(oracle_veth_by_reference)
{
	oracle(_metadata, ZC_NET_VETH, 1);
}

TEST(oracle_nosg_copied)
{
	oracle(_metadata, ZC_NET_NOSG, 0);
}

/*
 * The log: a child sends a file on one connection, then another on a
 * second socket that reuses the descriptor number, and exits.  Its log has
 * a progress line per call (ZC_PRELOAD_LOG_EVERY=1), a "conn" line for the
 * first socket when the descriptor is seen holding the second, and the
 * exit totals.
 */
TEST(log_lines)
{
	const char *log = getenv("ZC_PRELOAD_LOG");
	char line[1024], want[64];
	int progress = 0, conn = 0, exitl = 0, zc_ok = 0, mod = module_present();
	pid_t pid;
	int status;
	FILE *f;

	ASSERT_NE(NULL, log);
	make_source();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (int k = 0; k < 2; k++) {
			int s, peer, in = open(srcpath, O_RDONLY);
			struct zc_rx rx = { 0 };
			off_t off = 0;

			if (in < 0 || tcp_pair(&s, &peer))
				_exit(2);
			/* the same descriptor number for both sockets */
			if (dup2(s, 100) != 100)
				_exit(3);
			close(s);
			s = 100;
			zc_rx_start(&rx, peer, 2 * FSIZE, 2000);
			while (off < FSIZE)
				if (sendfile(s, in, &off, FSIZE) <= 0)
					_exit(4);
			close(s);
			if (zc_rx_join(&rx) || rx.len != FSIZE)
				_exit(5);
			zc_rx_free(&rx);
			close(peer);
			close(in);
		}
		exit(0);	/* the destructor writes the exit line */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	f = fopen(log, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", log, strerror(errno));
	snprintf(want, sizeof(want), "zc-preload[%d]: ", (int)pid);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		TH_LOG("%s", line);
		if (strstr(line, " progress "))
			progress++;
		if (strstr(line, " conn conn=1 "))
			conn++;
		if (strstr(line, " exit conns=2 ")) {
			char b[64];

			exitl++;
			snprintf(b, sizeof(b), " bytes=%d ", 2 * FSIZE);
			EXPECT_NE(NULL, strstr(line, b));
			snprintf(b, sizeof(b), mod ? " zc=%d " : " unknown=%d ", 2 * FSIZE);
			if (strstr(line, b))
				zc_ok = 1;
		}
	}
	fclose(f);
	EXPECT_LE(2, progress);
	EXPECT_EQ(1, exitl);
	EXPECT_EQ(1, zc_ok) TH_LOG("exit line lacks %s bytes", mod ? "zc" : "unknown");
	/* the descriptor numbers are the same: the second socket reused it */
	EXPECT_EQ(1, conn);
}

TEST_HARNESS_MAIN
