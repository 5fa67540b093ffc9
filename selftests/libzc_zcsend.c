// SPDX-License-Identifier: GPL-2.0
/*
 * libzc_zcsend: the zcsend tool in the guest, against busybox nc as peer.
 *
 *  - connect mode (zcsend FILE HOST:PORT, `nc -l -p PORT` in the peer
 *    namespace) and listen mode (zcsend --listen --once ADDR:PORT FILE,
 *    `nc ADDR PORT` from the peer namespace), byte-exact, over loopback
 *    (IPv4, IPv6) and the two veth namespaces;
 *  - the --json object parsed (a strict JSON parser, not grep) and checked:
 *    bytes, path, why, zc/copied bytes, seconds, throughput;
 *  - the human summary line, --strict both ways, --nonblock with a range;
 *  - bad input: missing file, refused connection, bad addresses, an offset
 *    past EOF; the module absent (with and without --strict);
 *  - 1.1: --header/--trailer(-file) (one vectored call: the stream exact,
 *    the header and trailer reported as copied memory), --probe (the path
 *    and reasons of the variant, nothing sent), --notify (every send's
 *    completion received, after which the file is safe), --cached-only on
 *    a cold ext4 file (waits reported, the stream exact); without the
 *    module: --cached-only/--notify refused with status 6, --probe and
 *    --header through the fallback.
 *
 * zcsend is found as $ZCSEND, else /usr/bin/zcsend (where vm/ installs the
 * static build of tools/); nc is busybox's.  Tests SKIP without them.
 */
#include "zc_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define SMALL_SIZE	(1024 * 1024 + 333)	/* busybox nc reads 1 KiB at a time */
#define RUN_TIMEOUT	60			/* seconds for any one program */

/* ---- programs ------------------------------------------------------------ */

static const char *zcsend_path(void)
{
	const char *s = getenv("ZCSEND");

	if (s && *s)
		return s;
	return "/usr/bin/zcsend";
}

static bool have_zcsend(void)
{
	return access(zcsend_path(), X_OK) == 0;
}

static bool have_nc(void)
{
	return system("nc --help >/dev/null 2>&1 || command -v nc >/dev/null") == 0;
}

struct proc {
	pid_t pid;
	char out[8192];		/* stdout, if captured */
	char err[8192];		/* stderr, if captured */
	int out_fd, err_fd;	/* temp files */
};

/*
 * Start @argv, optionally inside the network namespace file @ns, with
 * stdin from /dev/null, stdout to @out_path (or captured), stderr captured.
 */
static int spawn(struct proc *p, const char *ns, const char *out_path,
		 char *const argv[])
{
	char tmpl_o[] = "/tmp/.zcs-out.XXXXXX", tmpl_e[] = "/tmp/.zcs-err.XXXXXX";

	memset(p, 0, sizeof(*p));
	p->out_fd = out_path ? -1 : mkstemp(tmpl_o);
	p->err_fd = mkstemp(tmpl_e);
	if (!out_path)
		unlink(tmpl_o);
	unlink(tmpl_e);
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = out_path ? open(out_path, O_WRONLY | O_CREAT |
					  O_TRUNC, 0644) : p->out_fd;

		if (ns) {
			int nsfd = open(ns, O_RDONLY);

			if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
				perror(ns);
				_exit(126);
			}
		}
		setpgid(0, 0);
		dup2(in, 0);
		dup2(out, 1);
		dup2(p->err_fd, 2);
		alarm(RUN_TIMEOUT * zc_timeout_scale());
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	return 0;
}

static void slurp(int fd, char *buf, size_t size)
{
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return;
	n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Wait; returns the exit status, or 128+signal. */
static int reap(struct proc *p)
{
	int status = 0;

	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	slurp(p->out_fd, p->out, sizeof(p->out));
	slurp(p->err_fd, p->err, sizeof(p->err));
	p->out_fd = p->err_fd = -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void stop(struct proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		reap(p);
		p->pid = 0;
	}
}

/* Run to completion. */
static int run(struct proc *p, char *const argv[])
{
	if (spawn(p, NULL, NULL, argv))
		return -1;
	return reap(p);
}

/*
 * Until @pid's network namespace has a TCP listener on @port (its
 * /proc/PID/net/tcp{,6}, i.e. seen from inside that namespace).
 */
static bool wait_listen(pid_t pid, unsigned int port, int ms)
{
	char path[64], line[256], want[16];
	const char *files[] = { "tcp", "tcp6" };

	snprintf(want, sizeof(want), ":%04X ", port);
	for (; ms > 0; ms -= 20) {
		unsigned int i;

		for (i = 0; i < 2; i++) {
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/net/%s", pid,
				 files[i]);
			f = fopen(path, "r");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f)) {
				char *loc = strchr(line, ':');

				/* "sl: local rem st": local is the 2nd field */
				if (!loc || !(loc = strchr(loc + 1, ':')))
					continue;
				if (!strncmp(loc, want, strlen(want)) &&
				    strstr(loc, " 0A ")) {
					fclose(f);
					return true;
				}
			}
			fclose(f);
		}
		usleep(20 * 1000);
	}
	return false;
}

static unsigned int next_port(void)
{
	static unsigned int port;

	if (!port)
		port = 20000 + (unsigned int)(getpid() % 20000);
	return ++port;
}

/* ---- a strict little JSON parser (objects, arrays, strings, numbers) ------ */

enum jtype { J_NONE, J_STR, J_NUM, J_BOOL, J_NULL, J_ARR, J_OBJ };

struct jval {
	int type;		/* enum jtype */
	char str[512];		/* J_STR; J_ARR of strings: "a,b,c" */
	double num;
	bool b;
	int count;		/* J_ARR elements */
};

struct jparser {
	const char *s;
	bool ok;
};

static void jws(struct jparser *p)
{
	while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
		p->s++;
}

static bool jstring(struct jparser *p, char *out, size_t size)
{
	size_t n = 0;

	if (*p->s != '"')
		return false;
	p->s++;
	while (*p->s && *p->s != '"') {
		char c = *p->s++;

		if ((unsigned char)c < 0x20)
			return false;
		if (c == '\\') {
			c = *p->s++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				if (!isxdigit((unsigned char)p->s[0]) ||
				    !isxdigit((unsigned char)p->s[1]) ||
				    !isxdigit((unsigned char)p->s[2]) ||
				    !isxdigit((unsigned char)p->s[3]))
					return false;
				p->s += 4;
				c = '?';
				break;
			default:
				return false;
			}
		}
		if (n + 1 < size)
			out[n++] = c;
	}
	if (*p->s != '"')
		return false;
	p->s++;
	out[n] = '\0';
	return true;
}

static bool jvalue(struct jparser *p, struct jval *v, int depth);

static bool jnumber(struct jparser *p, struct jval *v)
{
	const char *start = p->s;
	char *end;

	if (*p->s == '-')
		p->s++;
	if (!isdigit((unsigned char)*p->s))
		return false;
	if (*p->s == '0' && isdigit((unsigned char)p->s[1]))
		return false;		/* no leading zeros */
	v->num = strtod(start, &end);
	p->s = end;
	v->type = J_NUM;
	return end > start;
}

static bool jvalue(struct jparser *p, struct jval *v, int depth)
{
	memset(v, 0, sizeof(*v));
	if (depth > 8)
		return false;
	jws(p);
	switch (*p->s) {
	case '"':
		v->type = J_STR;
		return jstring(p, v->str, sizeof(v->str));
	case '[':
		v->type = J_ARR;
		p->s++;
		jws(p);
		if (*p->s == ']') {
			p->s++;
			return true;
		}
		for (;;) {
			struct jval e;

			if (!jvalue(p, &e, depth + 1))
				return false;
			if (e.type == J_STR) {
				size_t used = strlen(v->str);

				snprintf(v->str + used, sizeof(v->str) - used,
					 "%s%s", v->count ? "," : "", e.str);
			}
			v->count++;
			jws(p);
			if (*p->s == ',') {
				p->s++;
				continue;
			}
			if (*p->s != ']')
				return false;
			p->s++;
			return true;
		}
	case '{': {
		v->type = J_OBJ;
		p->s++;
		jws(p);
		if (*p->s == '}') {
			p->s++;
			return true;
		}
		for (;;) {
			char key[128];
			struct jval e;

			jws(p);
			if (!jstring(p, key, sizeof(key)))
				return false;
			jws(p);
			if (*p->s++ != ':')
				return false;
			if (!jvalue(p, &e, depth + 1))
				return false;
			v->count++;
			jws(p);
			if (*p->s == ',') {
				p->s++;
				continue;
			}
			if (*p->s != '}')
				return false;
			p->s++;
			return true;
		}
	}
	case 't':
		v->type = J_BOOL;
		v->b = true;
		if (strncmp(p->s, "true", 4))
			return false;
		p->s += 4;
		return true;
	case 'f':
		v->type = J_BOOL;
		if (strncmp(p->s, "false", 5))
			return false;
		p->s += 5;
		return true;
	case 'n':
		v->type = J_NULL;
		if (strncmp(p->s, "null", 4))
			return false;
		p->s += 4;
		return true;
	default:
		return jnumber(p, v);
	}
}

/* Validate one whole line as a JSON object. */
static bool json_valid_object(const char *line)
{
	struct jparser p = { line, true };
	struct jval v;

	if (!jvalue(&p, &v, 0) || v.type != J_OBJ)
		return false;
	jws(&p);
	return *p.s == '\0';
}

/* Look up a top-level key of a (valid) flat object. */
static bool json_get(const char *obj, const char *key, struct jval *out)
{
	struct jparser p = { obj, true };

	jws(&p);
	if (*p.s++ != '{')
		return false;
	for (;;) {
		char k[128];
		struct jval v;

		jws(&p);
		if (!jstring(&p, k, sizeof(k)))
			return false;
		jws(&p);
		if (*p.s++ != ':' || !jvalue(&p, &v, 1))
			return false;
		if (!strcmp(k, key)) {
			*out = v;
			return true;
		}
		jws(&p);
		if (*p.s++ != ',')
			return false;
	}
}

/* ---- checks ---------------------------------------------------------------- */

static bool file_equals_range(const char *path, int src_fd, uint64_t off,
			      uint64_t len)
{
	static uint8_t a[65536], b[65536];
	struct stat st;
	uint64_t done = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) || (uint64_t)st.st_size != len) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (done < len) {
		size_t want = len - done < sizeof(a) ? len - done : sizeof(a);

		if (pread(fd, a, want, (off_t)done) != (ssize_t)want ||
		    pread(src_fd, b, want, (off_t)(off + done)) !=
		    (ssize_t)want || memcmp(a, b, want)) {
			close(fd);
			return false;
		}
		done += want;
	}
	close(fd);
	return true;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? UINT64_MAX : (uint64_t)st.st_size;
}

/*
 * Check one --json line against the expectation: @bytes sent, the path,
 * and (for copies) that @why_has is among the reasons.
 */
static void check_json(struct __test_metadata *_metadata, const char *line,
		       uint64_t bytes, const char *path, const char *why_has,
		       const char *peer_prefix)
{
	struct jval v, zc, cp, unk;

	ASSERT_TRUE(json_valid_object(line)) TH_LOG("not a JSON object: %s",
						    line);
	ASSERT_TRUE(json_get(line, "bytes", &v));
	EXPECT_EQ(J_NUM, v.type);
	EXPECT_EQ((double)bytes, v.num);
	ASSERT_TRUE(json_get(line, "path", &v));
	EXPECT_STREQ(path, v.str);
	ASSERT_TRUE(json_get(line, "why", &v));
	EXPECT_EQ(J_ARR, v.type);
	if (why_has) {
		EXPECT_NE(NULL, strstr(v.str, why_has)) TH_LOG("why [%s]",
							      v.str);
	} else {
		EXPECT_EQ(0, v.count) TH_LOG("why [%s]", v.str);
	}
	ASSERT_TRUE(json_get(line, "zc_bytes", &zc));
	ASSERT_TRUE(json_get(line, "copied_bytes", &cp));
	ASSERT_TRUE(json_get(line, "unknown_bytes", &unk));
	EXPECT_EQ((double)bytes, zc.num + cp.num + unk.num);
	if (!strcmp(path, "zerocopy")) {
		EXPECT_EQ((double)bytes, zc.num);
	}
	if (!strcmp(path, "copy")) {
		EXPECT_EQ((double)bytes, cp.num);
	}
	if (!strcmp(path, "unknown")) {
		EXPECT_EQ((double)bytes, unk.num);
	}
	ASSERT_TRUE(json_get(line, "seconds", &v));
	EXPECT_EQ(J_NUM, v.type);
	EXPECT_LE(0.0, v.num);
	ASSERT_TRUE(json_get(line, "throughput", &v));
	EXPECT_EQ(J_NUM, v.type);
	if (bytes) {
		EXPECT_LT(0.0, v.num);
	}
	ASSERT_TRUE(json_get(line, "ok", &v));
	EXPECT_EQ(J_BOOL, v.type);
	EXPECT_TRUE(v.b);
	ASSERT_TRUE(json_get(line, "error", &v));
	EXPECT_EQ(J_NULL, v.type);
	if (peer_prefix) {
		ASSERT_TRUE(json_get(line, "peer", &v));
		EXPECT_EQ(0, strncmp(v.str, peer_prefix, strlen(peer_prefix)))
			TH_LOG("peer %s, want %s...", v.str, peer_prefix);
	}
}

/* Does @path hold exactly @pre, then [off, off + len) of @src_fd, then @post? */
static bool file_equals_framed(const char *path, const char *pre,
			       size_t pre_len, int src_fd, uint64_t off,
			       uint64_t len, const char *post, size_t post_len)
{
	uint64_t total = pre_len + len + post_len;
	uint8_t *got, *exp;
	bool ok = false;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || file_size(path) != total) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	got = malloc(total);
	exp = malloc(total);
	if (got && exp &&
	    pread(fd, got, total, 0) == (ssize_t)total &&
	    pread(src_fd, exp + pre_len, len, (off_t)off) == (ssize_t)len) {
		memcpy(exp, pre, pre_len);
		memcpy(exp + pre_len + len, post, post_len);
		ok = !memcmp(got, exp, total);
	}
	free(got);
	free(exp);
	close(fd);
	return ok;
}

/* A number in a nested object: "key":{... "sub":N ...} */
static bool json_get_sub(const char *obj, const char *key, const char *sub,
			 double *out)
{
	char pat[160];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":{", key);
	p = strstr(obj, pat);
	if (!p)
		return false;
	snprintf(pat, sizeof(pat), "\"%s\":", sub);
	p = strstr(p, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
		*out = *p == 't';
		return true;
	}
	if (*p == '[')
		p++;
	*out = strtod(p, NULL);
	return true;
}

/* ---- the peers ---------------------------------------------------------- */

FIXTURE(peer) {
	char path[256];
	char rx[256];
	int fd;
	struct proc nc;
};

FIXTURE_VARIANT(peer) {
	enum zc_net net;
	const char *ns;		/* the peer's namespace, NULL: ours */
	const char *remote;	/* zcsend connects here ("[v6]" bracketed) */
	const char *nc_remote;	/* nc (in ns) connects here, for --listen */
	const char *local;	/* zcsend --listen binds here */
	const char *path;	/* expected "path" */
	const char *why;	/* a reason that must be listed, or NULL */
	const char *human;	/* expected start of the summary */
};

FIXTURE_VARIANT_ADD(peer, tcp4_lo) {
	.net = ZC_NET_LO, .remote = "127.0.0.1", .nc_remote = "127.0.0.1",
	.local = "127.0.0.1", .path = "zerocopy",
	.human = "zero copy: ",
};
FIXTURE_VARIANT_ADD(peer, tcp6_lo) {
	.net = ZC_NET_LO, .remote = "[::1]", .nc_remote = "::1",
	.local = "[::1]", .path = "zerocopy", .human = "zero copy: ",
};
FIXTURE_VARIANT_ADD(peer, tcp4_veth) {
	.net = ZC_NET_VETH, .ns = "/run/netns/veth",
	.remote = "198.51.100.2", .nc_remote = "198.51.100.1",
	.local = "198.51.100.1", .path = "zerocopy", .human = "zero copy: ",
};
FIXTURE_VARIANT_ADD(peer, tcp6_veth) {
	.net = ZC_NET_VETH, .ns = "/run/netns/veth",
	.remote = "[2001:db8:1::2]", .nc_remote = "2001:db8:1::1",
	.local = "[2001:db8:1::1]", .path = "zerocopy",
	.human = "zero copy: ",
};
FIXTURE_VARIANT_ADD(peer, tcp4_nosg) {
	.net = ZC_NET_NOSG, .ns = "/run/netns/nosg",
	.remote = "203.0.113.2", .nc_remote = "203.0.113.1",
	.local = "203.0.113.1", .path = "copy", .why = "no_sg",
	.human = "copied: ",
};
FIXTURE_VARIANT_ADD(peer, tcp6_nosg) {
	.net = ZC_NET_NOSG, .ns = "/run/netns/nosg",
	.remote = "[2001:db8:2::2]", .nc_remote = "2001:db8:2::1",
	.local = "[2001:db8:2::1]", .path = "copy", .why = "no_sg",
	.human = "copied: ",
};

FIXTURE_SETUP(peer)
{
	self->fd = -1;
	self->nc.pid = 0;
	if (!have_zcsend())
		ZC_NEED(return, "no zcsend at %s (set $ZCSEND)", zcsend_path());
	if (!have_nc())
		ZC_NEED(return, "no nc");
	if (variant->net != ZC_NET_LO && zc_net_available(variant->net))
		ZC_NEED(return, "%s", zc_errmsg());
	self->fd = zc_make_payload_file(zc_tmpfs_dir(), SMALL_SIZE, self->path,
					sizeof(self->path));
	ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	snprintf(self->rx, sizeof(self->rx), "%s/.zcs-rx.%d", zc_tmpfs_dir(),
		 getpid());
}

FIXTURE_TEARDOWN(peer)
{
	stop(&self->nc);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
	unlink(self->rx);
}

/* nc -l -p PORT > rx, in the peer namespace; waits until it listens */
static void start_nc_listener(struct __test_metadata *_metadata,
			      FIXTURE_DATA(peer) *self, const char *ns,
			      unsigned int port)
{
	char p[16];
	char *argv[] = { "nc", "-l", "-p", p, NULL };

	snprintf(p, sizeof(p), "%u", port);
	ASSERT_EQ(0, spawn(&self->nc, ns, self->rx, argv));
	ASSERT_TRUE(wait_listen(self->nc.pid, port, 5000))
		TH_LOG("nc did not listen on %u", port);
}

static void connect_mode(struct __test_metadata *_metadata,
			 FIXTURE_DATA(peer) *self,
			 const FIXTURE_VARIANT(peer) *variant, bool json,
			 const char *extra1, const char *extra2,
			 uint64_t off, uint64_t len)
{
	unsigned int port = next_port();
	char target[128];
	char *argv[8];
	struct proc z;
	int rc, i = 0;

	snprintf(target, sizeof(target), "%s:%u", variant->remote, port);
	start_nc_listener(_metadata, self, variant->ns, port);
	argv[i++] = (char *)zcsend_path();
	if (json)
		argv[i++] = "--json";
	if (extra1)
		argv[i++] = (char *)extra1;
	if (extra2)
		argv[i++] = (char *)extra2;
	argv[i++] = self->path;
	argv[i++] = target;
	argv[i] = NULL;
	rc = run(&z, argv);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_EQ(0, reap(&self->nc)) TH_LOG("nc: %s", self->nc.err);
	self->nc.pid = 0;
	EXPECT_TRUE(file_equals_range(self->rx, self->fd, off, len))
		TH_LOG("received %" PRIu64 " bytes, want %" PRIu64
		       " from offset %" PRIu64, file_size(self->rx), len, off);
	if (json) {
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "%s:%u", variant->remote,
			 port);
		check_json(_metadata, strtok(z.out, "\n"), len, variant->path,
			   variant->why, prefix);
	} else {
		char want[128];

		snprintf(want, sizeof(want), "%s%" PRIu64 " bytes",
			 variant->human, len);
		EXPECT_EQ(0, strncmp(z.out, want, strlen(want)))
			TH_LOG("summary: %s", z.out);
		if (variant->why) {	/* the reason, in words, after a dash */
			EXPECT_NE(NULL, strstr(z.out, "\u2014 egress device "
					       "has no scatter-gather"))
				TH_LOG("summary: %s", z.out);
		} else {
			EXPECT_NE(NULL, strstr(z.out, "by page reference"));
		}
	}
}

TEST_F(peer, connect_json)
{
	connect_mode(_metadata, self, variant, true, NULL, NULL, 0,
		     SMALL_SIZE);
}

TEST_F(peer, connect_human)
{
	connect_mode(_metadata, self, variant, false, NULL, NULL, 0,
		     SMALL_SIZE);
}

TEST_F(peer, connect_nonblock_range)
{
	connect_mode(_metadata, self, variant, true, "--nonblock",
		     "--offset=4095", 4095, SMALL_SIZE - 4095);
}

TEST_F(peer, listen_json)
{
	unsigned int port = next_port();
	char addr[128], p[16];
	char *zargv[] = { (char *)zcsend_path(), "--listen", "--once",
			  "--json", addr, self->path, NULL };
	char *nargv[] = { "nc", (char *)variant->nc_remote, p, NULL };
	struct proc z;
	int rc;

	snprintf(addr, sizeof(addr), "%s:%u", variant->local, port);
	snprintf(p, sizeof(p), "%u", port);
	ASSERT_EQ(0, spawn(&z, NULL, NULL, zargv));
	if (!wait_listen(z.pid, port, 5000)) {
		stop(&z);
		ASSERT_TRUE(false) TH_LOG("zcsend did not listen: %s", z.err);
	}
	ASSERT_EQ(0, spawn(&self->nc, variant->ns, self->rx, nargv));
	EXPECT_EQ(0, reap(&self->nc)) TH_LOG("nc: %s", self->nc.err);
	self->nc.pid = 0;
	rc = reap(&z);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_TRUE(file_equals_range(self->rx, self->fd, 0, SMALL_SIZE))
		TH_LOG("received %" PRIu64 " bytes", file_size(self->rx));
	check_json(_metadata, strtok(z.out, "\n"), SMALL_SIZE, variant->path,
		   variant->why, NULL);
	EXPECT_NE(NULL, strstr(z.err, "listening on"));
}

TEST_F(peer, strict)
{
	unsigned int port = next_port();
	char target[128];
	char *argv[] = { (char *)zcsend_path(), "--strict", "--json",
			 self->path, target, NULL };
	struct jval v;
	struct proc z;
	char *line;
	int rc;

	snprintf(target, sizeof(target), "%s:%u", variant->remote, port);
	start_nc_listener(_metadata, self, variant->ns, port);
	rc = run(&z, argv);
	EXPECT_EQ(0, reap(&self->nc));
	self->nc.pid = 0;
	if (!variant->why) {	/* zero copy possible: strict succeeds */
		EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
		EXPECT_TRUE(file_equals_range(self->rx, self->fd, 0,
					      SMALL_SIZE));
		check_json(_metadata, strtok(z.out, "\n"), SMALL_SIZE,
			   "zerocopy", NULL, NULL);
		return;
	}
	EXPECT_EQ(5, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_NE(NULL, strstr(z.err, "--strict: refusing to copy"))
		TH_LOG("stderr: %s", z.err);
	EXPECT_NE(NULL, strstr(z.err, "scatter-gather"));
	EXPECT_EQ(0ULL, file_size(self->rx));
	line = strtok(z.out, "\n");
	ASSERT_NE(NULL, line);
	ASSERT_TRUE(json_valid_object(line)) TH_LOG("%s", line);
	ASSERT_TRUE(json_get(line, "bytes", &v));
	EXPECT_EQ(0.0, v.num);
	ASSERT_TRUE(json_get(line, "ok", &v));
	EXPECT_FALSE(v.b);
	ASSERT_TRUE(json_get(line, "why", &v));
	EXPECT_NE(NULL, strstr(v.str, "no_sg"));
}

/* Run zcsend with @extra options against nc in the variant's peer. */
static int connect_extra(struct __test_metadata *_metadata,
			 FIXTURE_DATA(peer) *self,
			 const FIXTURE_VARIANT(peer) *variant,
			 const char *const *extra, struct proc *z)
{
	unsigned int port = next_port();
	char target[128];
	char *argv[16];
	int rc, i = 0, k;

	snprintf(target, sizeof(target), "%s:%u", variant->remote, port);
	start_nc_listener(_metadata, self, variant->ns, port);
	argv[i++] = (char *)zcsend_path();
	for (k = 0; extra[k] && i < 13; k++)
		argv[i++] = (char *)extra[k];
	argv[i++] = self->path;
	argv[i++] = target;
	argv[i] = NULL;
	rc = run(z, argv);
	EXPECT_EQ(0, reap(&self->nc)) TH_LOG("nc: %s", self->nc.err);
	self->nc.pid = 0;
	return rc;
}

/*
 * --header and --trailer-file: one vectored call per transfer; the peer
 * gets header, range, trailer; the report counts header and trailer as
 * copied memory and the range as the variant sends files.
 */
TEST_F(peer, header_trailer)
{
	static const char trailer[] = "\r\n0\r\n\r\n";
	char tpath[300];
	const char *extra[] = { "--json", "--header",
				"HTTP/1.1 200 OK\\r\\nX-A: \\x41\\r\\n\\r\\n",
				"--trailer-file", tpath, "--offset=4095", NULL };
	const char hdr[] = "HTTP/1.1 200 OK\r\nX-A: A\r\n\r\n";
	const size_t hl = sizeof(hdr) - 1, tl = sizeof(trailer) - 1;
	const uint64_t len = SMALL_SIZE - 4095;
	struct jval v, zc, cp;
	struct proc z;
	char *line;
	int fd, rc;

	snprintf(tpath, sizeof(tpath), "%s.trailer", self->path);
	fd = open(tpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)tl, write(fd, trailer, tl));
	close(fd);
	rc = connect_extra(_metadata, self, variant, extra, &z);
	unlink(tpath);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_TRUE(file_equals_framed(self->rx, hdr, hl, self->fd, 4095, len,
				       trailer, tl))
		TH_LOG("received %" PRIu64 " bytes, want %" PRIu64,
		       file_size(self->rx), hl + len + tl);
	line = strtok(z.out, "\n");
	ASSERT_NE(NULL, line);
	ASSERT_TRUE(json_valid_object(line)) TH_LOG("%s", line);
	ASSERT_TRUE(json_get(line, "bytes", &v));
	EXPECT_EQ((double)(hl + len + tl), v.num);
	ASSERT_TRUE(json_get(line, "requested", &v));
	EXPECT_EQ((double)(hl + len + tl), v.num);
	ASSERT_TRUE(json_get(line, "header_bytes", &v));
	EXPECT_EQ((double)hl, v.num);
	ASSERT_TRUE(json_get(line, "trailer_bytes", &v));
	EXPECT_EQ((double)tl, v.num);
	ASSERT_TRUE(json_get(line, "zc_bytes", &zc));
	ASSERT_TRUE(json_get(line, "copied_bytes", &cp));
	EXPECT_EQ((double)(hl + len + tl), zc.num + cp.num);
	ASSERT_TRUE(json_get(line, "why", &v));
	EXPECT_NE(NULL, strstr(v.str, "memory")) TH_LOG("why [%s]", v.str);
	ASSERT_TRUE(json_get(line, "path", &v));
	if (variant->why) {
		EXPECT_STREQ("copy", v.str);
		EXPECT_EQ((double)(hl + len + tl), cp.num);
	} else {
		EXPECT_STREQ("mixed", v.str);
		EXPECT_EQ((double)len, zc.num);
		EXPECT_EQ((double)(hl + tl), cp.num);
	}
	ASSERT_TRUE(json_get(line, "ok", &v));
	EXPECT_TRUE(v.b);
}

/* --probe: the variant's path and reasons, and not a byte sent. */
TEST_F(peer, probe)
{
	const char *jextra[] = { "--probe", "--json", NULL };
	const char *hextra[] = { "--probe", NULL };
	struct jval v;
	struct proc z;
	char *line;
	int rc;

	rc = connect_extra(_metadata, self, variant, jextra, &z);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_EQ(0ULL, file_size(self->rx));
	line = strtok(z.out, "\n");
	ASSERT_NE(NULL, line);
	ASSERT_TRUE(json_valid_object(line)) TH_LOG("%s", line);
	ASSERT_TRUE(json_get(line, "probe", &v));
	EXPECT_TRUE(v.b);
	ASSERT_TRUE(json_get(line, "path", &v));
	EXPECT_STREQ(variant->path, v.str);
	ASSERT_TRUE(json_get(line, "why", &v));
	if (variant->why) {
		EXPECT_NE(NULL, strstr(v.str, variant->why)) TH_LOG("[%s]",
								    v.str);
	} else {
		EXPECT_EQ(0, v.count);
	}
	ASSERT_TRUE(json_get(line, "send_flags", &v));
	EXPECT_NE(NULL, strstr(v.str, "cached_only")) TH_LOG("[%s]", v.str);
	EXPECT_NE(NULL, strstr(v.str, "notify"));
	ASSERT_TRUE(json_get(line, "ok", &v));
	EXPECT_TRUE(v.b);

	rc = connect_extra(_metadata, self, variant, hextra, &z);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_EQ(0ULL, file_size(self->rx));
	if (variant->why) {
		EXPECT_EQ(0, strncmp(z.out, "probe: copy \u2014 egress device "
				     "has no scatter-gather", 46))
			TH_LOG("%s", z.out);
	} else {
		EXPECT_EQ(0, strncmp(z.out, "probe: zero copy", 16))
			TH_LOG("%s", z.out);
	}
	EXPECT_NE(NULL, strstr(z.out, "nothing sent"));
}

/* --notify: every send's completion came back; the stream is exact. */
TEST_F(peer, notify)
{
	const char *jextra[] = { "--notify", "--json", NULL };
	const char *hextra[] = { "--notify", NULL };
	double sends = -1, done = -1, copied = -1, after = -1;
	struct jval v;
	struct proc z;
	char *line;
	int rc;

	rc = connect_extra(_metadata, self, variant, jextra, &z);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_TRUE(file_equals_range(self->rx, self->fd, 0, SMALL_SIZE));
	line = strtok(z.out, "\n");
	ASSERT_NE(NULL, line);
	ASSERT_TRUE(json_valid_object(line)) TH_LOG("%s", line);
	check_json(_metadata, line, SMALL_SIZE, variant->path, variant->why,
		   NULL);
	ASSERT_TRUE(json_get_sub(line, "notify", "sends", &sends));
	ASSERT_TRUE(json_get_sub(line, "notify", "completed", &done));
	ASSERT_TRUE(json_get_sub(line, "notify", "copied", &copied));
	ASSERT_TRUE(json_get_sub(line, "notify", "safe_after", &after));
	EXPECT_LE(1.0, sends);
	EXPECT_EQ(sends, done);
	/* local peers: the stack copies on delivery (or the module did) */
	EXPECT_EQ(1.0, copied);
	EXPECT_LE(0.0, after);
	ASSERT_TRUE(json_get(line, "ok", &v));
	EXPECT_TRUE(v.b);

	rc = connect_extra(_metadata, self, variant, hextra, &z);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_NE(NULL, strstr(z.out, "\n  notify: file safe to modify "))
		TH_LOG("%s", z.out);
	EXPECT_NE(NULL, strstr(z.out, "COPIED")) TH_LOG("%s", z.out);
}

/*
 * --cached-only on a file made cold on ext4: the first call finds nothing
 * cached (0 bytes), zcsend waits and retries while readahead works, and
 * the peer gets the file exactly.
 */
TEST(cached_only_cold)
{
	unsigned int port = next_port();
	char path[256], rx[300], target[64], p[16];
	char *argv[] = { (char *)zcsend_path(), "--cached-only", "--json",
			 path, target, NULL };
	char *nargv[] = { "nc", "-l", "-p", p, NULL };
	double retries = -1, attempts = -1, first = -1;
	struct proc z, nc;
	struct jval v;
	char *line;
	int fd, rc;

	if (!have_zcsend())
		ZC_NEED(return, "no zcsend at %s", zcsend_path());
	if (!have_nc())
		ZC_NEED(return, "no nc");
	if (zc_check_fs(zc_ext4_dir(), ZC_EXT4_MAGIC))
		ZC_NEED(return, "%s", zc_errmsg());
	fd = zc_make_payload_file(zc_ext4_dir(), SMALL_SIZE, path,
				  sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_make_cold(fd)) TH_LOG("%s", zc_errmsg());
	snprintf(rx, sizeof(rx), "%s/.zcs-cold-rx", zc_tmpfs_dir());
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	snprintf(p, sizeof(p), "%u", port);
	ASSERT_EQ(0, spawn(&nc, NULL, rx, nargv));
	ASSERT_TRUE(wait_listen(nc.pid, port, 5000));
	rc = run(&z, argv);
	EXPECT_EQ(0, rc) TH_LOG("zcsend: %s", z.err);
	EXPECT_EQ(0, reap(&nc));
	EXPECT_TRUE(file_equals_range(rx, fd, 0, SMALL_SIZE))
		TH_LOG("received %" PRIu64 " bytes", file_size(rx));
	line = strtok(z.out, "\n");
	ASSERT_NE(NULL, line);
	check_json(_metadata, line, SMALL_SIZE, "zerocopy", NULL, NULL);
	ASSERT_TRUE(json_get_sub(line, "cached_only", "retries", &retries));
	ASSERT_TRUE(json_get_sub(line, "cached_only", "attempts", &attempts));
	ASSERT_TRUE(json_get_sub(line, "cached_only", "attempt_bytes",
				 &first));
	EXPECT_LE(1.0, retries) TH_LOG("%s", line);
	EXPECT_EQ(0.0, first) TH_LOG("a cold file: the first call sends "
				     "nothing: %s", line);
	EXPECT_LT(retries, attempts + 0.5);
	ASSERT_TRUE(json_get(line, "status", &v));
	EXPECT_EQ(0, v.count);
	close(fd);
	unlink(path);
	unlink(rx);
}

/* ---- bad input -------------------------------------------------------------- */

struct bad_case {
	const char *name;
	const char *args[6];
	int rc;
	const char *msg;
};

TEST(bad_input)
{
	char path[256], missing[300];
	unsigned int free_port = next_port() + 100;
	char refused4[64], refused6[64];
	int fd;

	if (!have_zcsend())
		ZC_NEED(return, "no zcsend at %s", zcsend_path());
	fd = zc_make_payload_file(zc_tmpfs_dir(), 8192, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	snprintf(missing, sizeof(missing), "%s.missing", path);
	snprintf(refused4, sizeof(refused4), "127.0.0.1:%u", free_port);
	snprintf(refused6, sizeof(refused6), "[::1]:%u", free_port);
	{
		const struct bad_case cases[] = {
			{ "missing file", { missing, "127.0.0.1:9" }, 3,
			  "No such file or directory" },
			{ "refused tcp4", { path, refused4 }, 4,
			  "Connection refused" },
			{ "refused tcp6", { path, refused6 }, 4,
			  "Connection refused" },
			{ "unreachable", { path, "192.0.2.1:80" }, 4,
			  "cannot connect" },
			{ "v6 without brackets", { path, "::1:80" }, 2,
			  "brackets" },
			{ "no port", { path, "127.0.0.1" }, 2, "bad address" },
			{ "port out of range", { path, "127.0.0.1:70000" }, 2,
			  "bad port" },
			{ "unclosed bracket", { path, "[::1:80" }, 2,
			  "bad address" },
			{ "unresolvable", { path, "no-such-host.invalid:80" },
			  4, "cannot resolve" },
			{ "bad listen address", { "--listen", "1.2.3.4", path },
			  2, "bad address" },
			{ "offset past EOF", { "--offset=1M", path,
			  "127.0.0.1:9" }, 3, "past the end" },
			{ "length past EOF", { "--length=9000", path,
			  "127.0.0.1:9" }, 3, "past the end" },
			{ "bad number", { "--offset=12Q", path, "127.0.0.1:9" },
			  2, "bad offset" },
			{ "missing operand", { path }, 2, "missing operand" },
			{ "a directory", { "/tmp", "127.0.0.1:9" }, 3,
			  "Is a directory" },
			{ "bad header escape", { "--header=a\\q", path,
			  "127.0.0.1:9" }, 2, "bad escape" },
			{ "two headers", { "--header=a", "--header=b", path,
			  "127.0.0.1:9" }, 2, "only one" },
			{ "missing header file", { "--header-file",
			  missing, path, "127.0.0.1:9" }, 3,
			  "No such file" },
			{ "probe with a header", { "--probe", "--header=a",
			  path, "127.0.0.1:9" }, 2, "--probe sends nothing" },
		};
		unsigned int i, k;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char *argv[8];
			struct proc z;
			int rc;

			argv[0] = (char *)zcsend_path();
			for (k = 0; cases[i].args[k]; k++)
				argv[k + 1] = (char *)cases[i].args[k];
			argv[k + 1] = NULL;
			rc = run(&z, argv);
			EXPECT_EQ(cases[i].rc, rc) TH_LOG("%s: stderr %s",
							  cases[i].name, z.err);
			EXPECT_NE(NULL, strstr(z.err, cases[i].msg))
				TH_LOG("%s: stderr %s", cases[i].name, z.err);
			EXPECT_EQ(0, strncmp(z.err, "zcsend: ", 8))
				TH_LOG("%s: stderr %s", cases[i].name, z.err);
			EXPECT_STREQ("", z.out);
		}
	}
	close(fd);
	unlink(path);
}

/* ---- without the module ------------------------------------------------------- */

static bool module_loaded(void)
{
	return access("/sys/module/zcdev", F_OK) == 0;
}

static bool wait_dev(bool present)
{
	int ms;

	for (ms = 0; ms < 3000; ms += 50) {
		if ((access("/dev/zcdev", F_OK) == 0) == present)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static int module_load(void)
{
	const char *path = getenv("ZC_MODULE");
	int fd, ret = 0;

	if (module_loaded())
		return wait_dev(true) ? 0 : -ETIMEDOUT;
	fd = open(path && *path ? path : "/zcdev.ko", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)
		ret = -errno;
	close(fd);
	return ret ? ret : wait_dev(true) ? 0 : -ETIMEDOUT;
}

static pid_t main_pid;
static void __attribute__((constructor)) remember_pid(void)
{
	main_pid = getpid();
}
static void __attribute__((destructor)) reload_at_exit(void)
{
	if (getpid() == main_pid && !module_loaded()) {
		int ret = module_load();

		fprintf(stderr, "# libzc_zcsend: zcdev was left unloaded; "
			"reloaded: %s\n", ret ? strerror(-ret) : "ok");
	}
}

FIXTURE(nomod) {
	int unload_err;
	char path[256];
	char rx[256];
};

FIXTURE_SETUP(nomod)
{
	int fd;

	if (!have_zcsend())
		ZC_NEED(return, "no zcsend at %s", zcsend_path());
	if (!have_nc())
		ZC_NEED(return, "no nc");
	fd = zc_make_payload_file(zc_tmpfs_dir(), SMALL_SIZE, self->path,
				  sizeof(self->path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	close(fd);
	snprintf(self->rx, sizeof(self->rx), "%s/.zcs-nomod-rx",
		 zc_tmpfs_dir());
	/*
	 * last: nothing may fail after it (teardown needs setup done).  The
	 * earlier tests' sends may still hold the module (the stack has
	 * not let go of every page yet, on a slow kernel for seconds): wait
	 * for that, bounded, then unload.
	 */
	zc_wait_module_refcnt(0, 10000);
	self->unload_err = syscall(SYS_delete_module, "zcdev", O_NONBLOCK) ?
			   errno : 0;
	if (!self->unload_err && !wait_dev(false))
		self->unload_err = ETIMEDOUT;
}

FIXTURE_TEARDOWN_PARENT(nomod)
{
	int ret = module_load();

	EXPECT_EQ(0, ret) TH_LOG("insmod: %s", strerror(-ret));
	unlink(self->path);
	unlink(self->rx);
}

TEST_F(nomod, fallback_and_strict)
{
	unsigned int port = next_port();
	char target[64], p[16];
	char *strict_argv[] = { (char *)zcsend_path(), "--strict", self->path,
				"127.0.0.1:9", NULL };
	char *argv[] = { (char *)zcsend_path(), "--json", self->path, target,
			 NULL };
	char *nargv[] = { "nc", "-l", "-p", p, NULL };
	struct proc z, nc;
	int rc, fd;

	ASSERT_EQ(0, self->unload_err) TH_LOG("rmmod zcdev: %s",
					      strerror(self->unload_err));
	ASSERT_FALSE(module_loaded());

	/* --strict refuses before it even connects (port 9 has no server) */
	rc = run(&z, strict_argv);
	EXPECT_EQ(5, rc) TH_LOG("stderr: %s", z.err);
	EXPECT_NE(NULL, strstr(z.err, "zcdev module not loaded"))
		TH_LOG("stderr: %s", z.err);

	/* without it: a warning, sendfile(2), reported as unknown */
	snprintf(target, sizeof(target), "[::1]:%u", port);
	snprintf(p, sizeof(p), "%u", port);
	ASSERT_EQ(0, spawn(&nc, NULL, self->rx, nargv));
	ASSERT_TRUE(wait_listen(nc.pid, port, 5000));
	rc = run(&z, argv);
	EXPECT_EQ(0, rc) TH_LOG("stderr: %s", z.err);
	EXPECT_EQ(0, reap(&nc));
	EXPECT_NE(NULL, strstr(z.err, "zcdev module not loaded"))
		TH_LOG("stderr: %s", z.err);
	fd = open(self->path, O_RDONLY);
	EXPECT_TRUE(file_equals_range(self->rx, fd, 0, SMALL_SIZE));
	close(fd);
	check_json(_metadata, strtok(z.out, "\n"), SMALL_SIZE, "unknown",
		   "no_module", NULL);
}

TEST_F(nomod, v11_options)
{
	unsigned int port = next_port();
	char target[64], p[16];
	char *cached_argv[] = { (char *)zcsend_path(), "--cached-only",
				self->path, "127.0.0.1:9", NULL };
	char *notify_argv[] = { (char *)zcsend_path(), "--notify", self->path,
				"127.0.0.1:9", NULL };
	char *probe_argv[] = { (char *)zcsend_path(), "--probe", "--json",
			       self->path, target, NULL };
	char *hdr_argv[] = { (char *)zcsend_path(), "--json", "--header=HDR",
			     "--trailer=TRL", self->path, target, NULL };
	char *nargv[] = { "nc", "-l", "-p", p, NULL };
	struct proc z, nc;
	struct jval v;
	char *line;
	int rc, fd;

	ASSERT_EQ(0, self->unload_err) TH_LOG("rmmod zcdev: %s",
					      strerror(self->unload_err));
	/* what cannot be done without the module is refused up front */
	rc = run(&z, cached_argv);
	EXPECT_EQ(6, rc) TH_LOG("stderr: %s", z.err);
	EXPECT_NE(NULL, strstr(z.err, "--cached-only: needs the zcdev module"))
		TH_LOG("stderr: %s", z.err);
	rc = run(&z, notify_argv);
	EXPECT_EQ(6, rc) TH_LOG("stderr: %s", z.err);
	EXPECT_NE(NULL, strstr(z.err, "--notify: needs the zcdev module"));

	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	snprintf(p, sizeof(p), "%u", port);
	ASSERT_EQ(0, spawn(&nc, NULL, self->rx, nargv));
	ASSERT_TRUE(wait_listen(nc.pid, port, 5000));
	rc = run(&z, probe_argv);
	EXPECT_EQ(0, rc) TH_LOG("stderr: %s", z.err);
	EXPECT_EQ(0, reap(&nc));
	EXPECT_EQ(0ULL, file_size(self->rx));
	line = strtok(z.out, "\n");
	ASSERT_NE(NULL, line);
	ASSERT_TRUE(json_valid_object(line)) TH_LOG("%s", line);
	ASSERT_TRUE(json_get(line, "path", &v));
	EXPECT_STREQ("unknown", v.str);
	ASSERT_TRUE(json_get(line, "why", &v));
	EXPECT_STREQ("no_module", v.str);

	port = next_port();
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	snprintf(p, sizeof(p), "%u", port);
	ASSERT_EQ(0, spawn(&nc, NULL, self->rx, nargv));
	ASSERT_TRUE(wait_listen(nc.pid, port, 5000));
	rc = run(&z, hdr_argv);
	EXPECT_EQ(0, rc) TH_LOG("stderr: %s", z.err);
	EXPECT_EQ(0, reap(&nc));
	fd = open(self->path, O_RDONLY);
	EXPECT_TRUE(file_equals_framed(self->rx, "HDR", 3, fd, 0, SMALL_SIZE,
				       "TRL", 3));
	close(fd);
	line = strtok(z.out, "\n");
	ASSERT_NE(NULL, line);
	ASSERT_TRUE(json_valid_object(line)) TH_LOG("%s", line);
	ASSERT_TRUE(json_get(line, "path", &v));
	EXPECT_STREQ("unknown", v.str);
	ASSERT_TRUE(json_get(line, "why", &v));
	EXPECT_STREQ("memory,no_module", v.str);
	ASSERT_TRUE(json_get(line, "copied_bytes", &v));
	EXPECT_EQ(6.0, v.num);
	ASSERT_TRUE(json_get(line, "unknown_bytes", &v));
	EXPECT_EQ((double)SMALL_SIZE, v.num);
}

TEST_HARNESS_MAIN
