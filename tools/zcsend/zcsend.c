// SPDX-License-Identifier: GPL-2.0
/*
 * zcsend - send a file (range) to a TCP or AF_UNIX stream peer through
 * libzc, and say how every byte travelled.
 *
 *   zcsend [options] FILE HOST:PORT
 *   zcsend [options] --listen [ADDR:]PORT FILE
 *
 * See zcsend(1).  Exit codes are the ZCSEND_EXIT_* values below.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <zc.h>

#ifndef ZCSEND_VERSION
#define ZCSEND_VERSION "1.1.0"
#endif

enum {
	ZCSEND_EXIT_OK = 0,	/* every requested byte was sent */
	ZCSEND_EXIT_FAIL = 1,	/* transfer failed or cut short; other errors */
	ZCSEND_EXIT_USAGE = 2,	/* bad option, number or address */
	ZCSEND_EXIT_FILE = 3,	/* cannot open/read FILE; offset past EOF */
	ZCSEND_EXIT_NET = 4,	/* cannot resolve, connect, bind or listen */
	ZCSEND_EXIT_STRICT = 5,	/* --strict: bytes would be copied, or no module */
	ZCSEND_EXIT_UNSUPPORTED = 6, /* the module cannot do what was asked */
};

#define PROGRESS_CHUNK	(2ULL << 20)	/* bytes per call when drawing a bar */
#define PROGRESS_DELAY	0.5		/* seconds before the bar appears */
#define DRAIN_TIMEOUT_MS 5000		/* wait for the peer's EOF at the end */
#define NOTIFY_TIMEOUT_MS 30000		/* wait for --notify's completions */
#define CACHED_WAIT_MIN_US 1000		/* --cached-only: first wait */
#define CACHED_WAIT_MAX_US 64000	/* --cached-only: longest wait */
#define MAX_ATTEMPTS_SHOWN 64		/* --cached-only: calls listed */
#define MAX_EXTRA	(64 << 20)	/* largest --header/--trailer-file */

static const char *prog = "zcsend";

struct opts {
	uint64_t offset;
	uint64_t length;	/* UINT64_MAX: to EOF */
	int length_set;
	int strict;
	int nonblock;
	int json;
	int quiet;
	int listen;
	int once;
	int fallback;
	int progress;		/* 1: draw a bar (stderr is a TTY) */
	int cached_only;
	int notify;
	int probe;
	const char *device;
	const char *file;
	const char *addr;
	/* --header/--trailer (-file): bytes sent around the range */
	char *header;
	size_t header_len;
	char *trailer;
	size_t trailer_len;
};

struct file_src {
	int fd;
	int regular;
	uint64_t size;		/* regular files only */
};

/* One transfer's outcome. */
struct xfer {
	struct zc_result res;	/* summed over every call */
	uint64_t requested;	/* header + range + trailer; UINT64_MAX: to EOF */
	double seconds;
	int err;		/* 0 or a negative errno */
	int short_eof;		/* the file ended before @requested */
	/* --cached-only */
	unsigned int retries;	/* waits for the page cache */
	unsigned int attempts;	/* send calls */
	uint64_t attempt_bytes[MAX_ATTEMPTS_SHOWN];
	/* --notify */
	uint64_t *ids;		/* notify ids not yet completed */
	unsigned int nr_ids, cap_ids;
	unsigned int notified;	/* sends that got an id */
	unsigned int completed;	/* their completions read */
	int compl_copied;	/* some completion said ZCDEV_COMPL_COPIED */
	int notify_timeout;	/* not every completion came in time */
	double safe_after;	/* seconds from the last send to the last one */
	/* --probe */
	struct zc_probe_result probe;
};

static void __attribute__((format(printf, 1, 2))) errmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [options] FILE HOST:PORT\n"
"       %s [options] --listen [ADDR:]PORT FILE\n"
"Send FILE (or a range of it) to a stream socket through /dev/zcdev and\n"
"report whether each byte went by page-cache reference or was copied.\n"
"\n"
"  HOST:PORT        127.0.0.1:9000, [::1]:9000, name:9000, or unix:/path\n"
"  -l, --listen     serve FILE to each client that connects, one at a time\n"
"  -1, --once       with --listen: serve one client, then exit\n"
"  -o, --offset=N   start at byte N of FILE (suffixes K, M, G, T: x1024)\n"
"  -n, --length=N   send N bytes (default: to the end of FILE)\n"
"  -s, --strict     fail (exit 5) rather than copy any byte\n"
"  -N, --nonblock   nonblocking socket driven by poll(2) on EAGAIN\n"
"  -H, --header=S   send S before the range, in the same call (escapes\n"
"                   \\r \\n \\t \\\\ \\xHH); --header-file=F sends F's bytes\n"
"  -T, --trailer=S  send S after the range (--trailer-file=F: F's bytes)\n"
"      --cached-only  send only what is in the page cache; wait and retry\n"
"                   while the rest is read in (never block on the disk)\n"
"      --notify     wait until the network stack has released the file's\n"
"                   pages (safe to modify) and say when\n"
"      --probe      connect and say how a send would travel; send nothing\n"
"  -j, --json       one JSON object per transfer on stdout\n"
"  -q, --quiet      no summary, progress or warnings; errors only\n"
"      --device=P   zcdev device node (default %s)\n"
"      --fallback   do not use the device: plain sendfile(2)\n"
"  -h, --help       this help\n"
"  -V, --version    version\n"
"\n"
"Exit: 0 sent, 1 transfer failed, 2 usage, 3 file, 4 network, 5 --strict,\n"
"      6 the module cannot do what was asked (--cached-only, --notify).\n",
		prog, prog, ZC_DEFAULT_DEVICE);
}

/* "123", "0x10", "64K", "1M", "2G", "1T" (binary multiples). */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (shift && (*end == 'i' || *end == 'I') && (end[1] == 'B' ||
						       end[1] == 'b'))
		end += 2;
	else if (shift && (*end == 'B' || *end == 'b'))
		end++;
	if (*end)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* ---- addresses ------------------------------------------------------ */

struct target {
	char host[256];		/* empty: wildcard (listen) */
	char port[8];
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int is_unix;
};

static int parse_port(const char *s, char *out, int allow_zero)
{
	char *end;
	unsigned long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > 65535 || (!v && !allow_zero))
		return -1;
	snprintf(out, 8, "%lu", v);
	return 0;
}

/*
 * HOST:PORT, [V6]:PORT, unix:/path; for listening also PORT and :PORT.
 * Returns 0, or -1 with a message printed.
 */
static int parse_target(const char *spec, struct target *t, int listening)
{
	const char *colon, *host = spec;
	size_t hlen;

	memset(t, 0, sizeof(*t));
	if (!strncmp(spec, "unix:", 5)) {
		if (!spec[5] || strlen(spec + 5) >= sizeof(t->unix_path)) {
			errmsg("bad address '%s': unix:PATH needs a path of at "
			       "most %zu bytes", spec,
			       sizeof(t->unix_path) - 1);
			return -1;
		}
		t->is_unix = 1;
		strcpy(t->unix_path, spec + 5);
		return 0;
	}
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':') {
			errmsg("bad address '%s': expected [IPv6]:PORT", spec);
			return -1;
		}
		host = spec + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon) {
			if (listening && !parse_port(spec, t->port, 1))
				return 0;
			errmsg("bad address '%s': expected %s", spec,
			       listening ? "[ADDR:]PORT" : "HOST:PORT");
			return -1;
		}
		if (memchr(spec, ':', (size_t)(colon - spec))) {
			errmsg("bad address '%s': write IPv6 addresses in "
			       "brackets, e.g. [::1]:9000", spec);
			return -1;
		}
		hlen = (size_t)(colon - spec);
	}
	if (hlen >= sizeof(t->host)) {
		errmsg("bad address '%s': host name too long", spec);
		return -1;
	}
	if (!hlen && !listening) {
		errmsg("bad address '%s': no host", spec);
		return -1;
	}
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';
	if (parse_port(colon + 1, t->port, listening)) {
		errmsg("bad address '%s': bad port '%s' (1-65535)", spec,
		       colon + 1);
		return -1;
	}
	return 0;
}

static void format_sockaddr(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(s4->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		/* A dual-stack listener's IPv4 client: show it as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip,
				  sizeof(ip));
			snprintf(buf, size, "%s:%u", ip, ntohs(s6->sin6_port));
			break;
		}
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(s6->sin6_port));
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *su = (const void *)sa;

		snprintf(buf, size, "unix:%s",
			 su->sun_path[0] ? su->sun_path : "(unnamed)");
		break;
	}
	default:
		snprintf(buf, size, "(family %d)", sa->sa_family);
	}
}

struct addr_list {
	struct sockaddr_storage ss[8];
	socklen_t len[8];
	int n;
};

static void add_addr(struct addr_list *al, int family, const void *ip,
		     unsigned int port)
{
	struct sockaddr_storage *ss = &al->ss[al->n];

	if (al->n >= 8)
		return;
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (ip)
			memcpy(&s6->sin6_addr, ip, sizeof(s6->sin6_addr));
		al->len[al->n] = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (ip)
			memcpy(&s4->sin_addr, ip, sizeof(s4->sin_addr));
		al->len[al->n] = sizeof(*s4);
	}
	al->n++;
}

/*
 * Numeric addresses and "localhost" are handled here; other names go to
 * getaddrinfo(3), except in the static build (ZCSEND_NO_RESOLVER), which
 * must not depend on NSS modules the guest does not have.
 */
static int resolve(const struct target *t, int listening,
		   struct addr_list *al)
{
	unsigned int port = (unsigned int)atoi(t->port);
	struct in6_addr a6;
	struct in_addr a4;

	al->n = 0;
	if (t->is_unix) {
		struct sockaddr_un *su = (void *)&al->ss[0];

		memset(su, 0, sizeof(*su));
		su->sun_family = AF_UNIX;
		strcpy(su->sun_path, t->unix_path);
		al->len[0] = sizeof(*su);
		al->n = 1;
		return 0;
	}
	if (!t->host[0]) {		/* wildcard: dual-stack, else IPv4 */
		add_addr(al, AF_INET6, &in6addr_any, port);
		add_addr(al, AF_INET, NULL, port);
		return 0;
	}
	if (inet_pton(AF_INET6, t->host, &a6) == 1) {
		add_addr(al, AF_INET6, &a6, port);
		return 0;
	}
	if (inet_pton(AF_INET, t->host, &a4) == 1) {
		add_addr(al, AF_INET, &a4, port);
		return 0;
	}
	if (!strcmp(t->host, "localhost")) {
		a4.s_addr = htonl(INADDR_LOOPBACK);
		add_addr(al, AF_INET6, &in6addr_loopback, port);
		add_addr(al, AF_INET, &a4, port);
		return 0;
	}
#ifdef ZCSEND_NO_RESOLVER
	(void)listening;
	errmsg("cannot resolve '%s': this static build takes numeric "
	       "addresses and localhost only", t->host);
	return -1;
#else
	{
		struct addrinfo hints, *ai, *p;
		int rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV | (listening ? AI_PASSIVE : 0);
		rc = getaddrinfo(t->host, t->port, &hints, &ai);
		if (rc) {
			errmsg("cannot resolve '%s': %s", t->host,
			       rc == EAI_SYSTEM ? strerror(errno) :
						  gai_strerror(rc));
			return -1;
		}
		for (p = ai; p && al->n < 8; p = p->ai_next) {
			if (p->ai_addrlen > sizeof(al->ss[0]))
				continue;
			memcpy(&al->ss[al->n], p->ai_addr, p->ai_addrlen);
			al->len[al->n++] = p->ai_addrlen;
		}
		freeaddrinfo(ai);
		return al->n ? 0 : -1;
	}
#endif
}

static int do_connect(const char *spec, char *peer, size_t peer_size)
{
	struct addr_list al;
	struct target t;
	int i, fd, err = 0;

	if (parse_target(spec, &t, 0))
		return -ZCSEND_EXIT_USAGE;
	if (resolve(&t, 0, &al))
		return -ZCSEND_EXIT_NET;
	for (i = 0; i < al.n; i++) {
		struct sockaddr *sa = (void *)&al.ss[i];

		format_sockaddr(sa, peer, peer_size);
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		while (connect(fd, sa, al.len[i]) < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			close(fd);
			fd = -1;
			break;
		}
		if (fd >= 0)
			return fd;
	}
	errmsg("cannot connect to %s: %s", al.n == 1 ? peer : spec,
	       strerror(err));
	return -ZCSEND_EXIT_NET;
}

static int do_listen(const char *spec, int quiet)
{
	struct addr_list al;
	struct target t;
	char name[300];
	int i, fd = -1, err = 0, one = 1, zero = 0;

	if (parse_target(spec, &t, 1))
		return -ZCSEND_EXIT_USAGE;
	if (resolve(&t, 1, &al))
		return -ZCSEND_EXIT_NET;
	for (i = 0; i < al.n; i++) {
		struct sockaddr_storage bound;
		struct sockaddr *sa = (void *)&al.ss[i];
		socklen_t bl = sizeof(bound);

		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (sa->sa_family != AF_UNIX)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
		if (sa->sa_family == AF_INET6 && !t.host[0])
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
				   sizeof(zero));
		if (bind(fd, sa, al.len[i]) < 0 || listen(fd, 16) < 0) {
			err = errno;
			format_sockaddr(sa, name, sizeof(name));
			close(fd);
			fd = -1;
			continue;
		}
		if (getsockname(fd, (void *)&bound, &bl) == 0)
			format_sockaddr((void *)&bound, name, sizeof(name));
		if (!quiet)
			fprintf(stderr, "%s: listening on %s\n", prog, name);
		return fd;
	}
	errmsg("cannot listen on %s: %s", spec, strerror(err));
	return -ZCSEND_EXIT_NET;
}

/* ---- output --------------------------------------------------------- */

static void human_bytes(double b, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(buf, size, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
}

struct progress {
	int enabled;
	int drawn;
	double start, last;
};

static void progress_draw(struct progress *p, uint64_t done, uint64_t total,
			  int final)
{
	char d[32], tt[32], r[32], bar[31];
	double t = now(), el = t - p->start;
	int width = 30, fill, i;

	if (!p->enabled || (!final && (el < PROGRESS_DELAY ||
				       t - p->last < 0.1)))
		return;
	if (final) {
		if (p->drawn)
			fputs("\r\033[K", stderr);
		return;
	}
	p->last = t;
	p->drawn = 1;
	human_bytes((double)done, d, sizeof(d));
	human_bytes(el > 0 ? (double)done / el : 0, r, sizeof(r));
	if (total != UINT64_MAX && total) {
		fill = (int)((double)done / (double)total * width);
		for (i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[width] = '\0';
		human_bytes((double)total, tt, sizeof(tt));
		fprintf(stderr, "\r\033[K%3d%% [%s] %s / %s  %s/s",
			(int)((double)done * 100 / (double)total), bar, d, tt,
			r);
	} else {
		fprintf(stderr, "\r\033[K%s  %s/s", d, r);
	}
	fflush(stderr);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *path_str(uint32_t path)
{
	const char *s = zc_path_name(path);

	return s ? s : "invalid";
}

/* A mask as a JSON array of names ("0x..." for bits without one). */
static void json_bits(const char *(*name)(uint32_t), uint32_t mask)
{
	int first = 1, i;

	putchar('[');
	for (i = 0; i < 32; i++) {
		uint32_t bit = 1U << i;
		char hex[16];
		const char *n;

		if (!(mask & bit))
			continue;
		n = name(bit);
		if (!n) {
			snprintf(hex, sizeof(hex), "0x%x", bit);
			n = hex;
		}
		printf("%s\"%s\"", first ? "" : ",", n);
		first = 0;
	}
	putchar(']');
}

static const char *send_flag_name(uint32_t bit)
{
	switch (bit) {
	case ZCDEV_SEND_NONBLOCK: return "nonblock";
	case ZCDEV_SEND_MORE: return "more";
	case ZCDEV_SEND_STRICT: return "strict";
	case ZCDEV_SEND_CACHED_ONLY: return "cached_only";
	case ZCDEV_SEND_NOTIFY: return "notify";
	}
	return NULL;
}

static void print_json(const struct opts *o, const char *peer,
		       const struct xfer *x)
{
	const struct zc_result *r = &x->res;
	unsigned int i, n;

	fputs("{\"file\":", stdout);
	json_string(stdout, o->file);
	fputs(",\"peer\":", stdout);
	json_string(stdout, peer);
	if (o->probe) {
		printf(",\"probe\":true,\"path\":\"%s\",\"why\":",
		       path_str(x->probe.path));
		json_bits(zc_why_name, x->probe.why);
		fputs(",\"send_flags\":", stdout);
		json_bits(send_flag_name, x->probe.send_flags);
		fputs(",\"why_known\":", stdout);
		json_bits(zc_why_name, x->probe.why_known);
		printf(",\"ok\":%s,\"error\":", x->err ? "false" : "true");
		if (x->err)
			json_string(stdout, strerror(-x->err));
		else
			fputs("null", stdout);
		fputs("}\n", stdout);
		fflush(stdout);
		return;
	}
	printf(",\"offset\":%" PRIu64 ",\"requested\":%" PRIu64
	       ",\"bytes\":%" PRIu64 ",\"path\":\"%s\",\"why\":",
	       o->offset, x->requested, r->sent, path_str(r->path));
	json_bits(zc_why_name, r->why);
	printf(",\"zc_bytes\":%" PRIu64 ",\"copied_bytes\":%" PRIu64
	       ",\"unknown_bytes\":%" PRIu64 ",\"calls\":%u,\"status\":",
	       r->zc_bytes, r->copied_bytes, r->unknown_bytes, r->calls);
	json_bits(zc_status_name, r->status);
	if (o->header || o->trailer)
		printf(",\"header_bytes\":%zu,\"trailer_bytes\":%zu",
		       o->header_len, o->trailer_len);
	if (o->cached_only) {
		printf(",\"cached_only\":{\"retries\":%u,\"attempts\":%u,"
		       "\"attempt_bytes\":[", x->retries, x->attempts);
		n = x->attempts < MAX_ATTEMPTS_SHOWN ? x->attempts :
						       MAX_ATTEMPTS_SHOWN;
		for (i = 0; i < n; i++)
			printf("%s%" PRIu64, i ? "," : "", x->attempt_bytes[i]);
		fputs("]}", stdout);
	}
	if (o->notify)
		printf(",\"notify\":{\"sends\":%u,\"completed\":%u,"
		       "\"copied\":%s,\"safe_after\":%.6f}", x->notified,
		       x->completed, x->compl_copied ? "true" : "false",
		       x->safe_after);
	printf(",\"seconds\":%.6f,\"throughput\":%.0f,\"ok\":%s,\"error\":",
	       x->seconds, x->seconds > 0 ? (double)r->sent / x->seconds : 0,
	       x->err || x->short_eof || x->notify_timeout ? "false" :
							     "true");
	if (x->err)
		json_string(stdout, strerror(-x->err));
	else if (x->short_eof)
		json_string(stdout, "file ended early");
	else if (x->notify_timeout)
		json_string(stdout, "completion not received");
	else
		fputs("null", stdout);
	fputs("}\n", stdout);
	fflush(stdout);
}

static void print_probe(const char *peer, int show_peer, const struct xfer *x)
{
	const struct zc_probe_result *p = &x->probe;
	char why[512];

	zc_why_str(p->why, why, sizeof(why), ZC_WHY_STR_DESC);
	if (show_peer)
		printf("%s: ", peer);
	switch (p->path) {
	case ZCDEV_PATH_ZEROCOPY:
		printf("probe: zero copy (by page reference); nothing sent\n");
		break;
	case ZCDEV_PATH_COPY:
		printf("probe: copy \u2014 %s; nothing sent\n",
		       why[0] ? why : "no reason given");
		break;
	case ZC_PATH_UNKNOWN:
		printf("probe: path unknown \u2014 %s; nothing sent\n", why);
		break;
	default:
		printf("probe: path %s; nothing sent\n", path_str(p->path));
	}
	fflush(stdout);
}

static void print_human(const struct opts *o, const char *peer, int show_peer,
			const struct xfer *x)
{
	const struct zc_result *r = &x->res;
	char why[512], timing[96], rate[32];
	unsigned int i, n;

	zc_why_str(r->why, why, sizeof(why), ZC_WHY_STR_DESC);
	human_bytes(x->seconds > 0 ? (double)r->sent / x->seconds : 0, rate,
		    sizeof(rate));
	snprintf(timing, sizeof(timing), " in %.3f s (%s/s)", x->seconds,
		 rate);
	if (show_peer)
		printf("%s: ", peer);
	switch (r->path) {
	case ZCDEV_PATH_NONE:
		printf("nothing sent\n");
		break;
	case ZCDEV_PATH_ZEROCOPY:
		printf("zero copy: %" PRIu64 " bytes by page reference%s\n",
		       r->sent, timing);
		break;
	case ZCDEV_PATH_COPY:
		printf("copied: %" PRIu64 " bytes%s \u2014 %s\n", r->sent,
		       timing, why[0] ? why : "no reason given");
		break;
	case ZCDEV_PATH_MIXED:
		printf("mixed: %" PRIu64 " bytes by page reference, %" PRIu64
		       " bytes copied%s \u2014 %s\n", r->zc_bytes,
		       r->copied_bytes, timing, why[0] ? why : "no reason given");
		break;
	case ZC_PATH_UNKNOWN:
		if (r->copied_bytes)
			printf("path unknown: %" PRIu64 " bytes (%" PRIu64
			       " of them copied)%s \u2014 %s\n", r->sent,
			       r->copied_bytes, timing, why);
		else
			printf("path unknown: %" PRIu64 " bytes%s \u2014 %s\n",
			       r->sent, timing, why);
		break;
	default:
		printf("path %u: %" PRIu64 " bytes (%" PRIu64
		       " by reference, %" PRIu64 " copied)%s\n", r->path,
		       r->sent, r->zc_bytes, r->copied_bytes, timing);
	}
	if (o->cached_only) {
		printf("  cached-only: %u call%s, %u wait%s for the page cache;"
		       " bytes per call:", x->attempts,
		       x->attempts == 1 ? "" : "s", x->retries,
		       x->retries == 1 ? "" : "s");
		n = x->attempts < MAX_ATTEMPTS_SHOWN ? x->attempts :
						       MAX_ATTEMPTS_SHOWN;
		for (i = 0; i < n; i++)
			printf("%s %" PRIu64, i ? "," : "", x->attempt_bytes[i]);
		printf("%s\n", x->attempts > n ? ", ..." : "");
	}
	if (o->notify && x->notified && !x->notify_timeout)
		printf("  notify: file safe to modify %.3f s after the last "
		       "send (%u completion%s; %s)\n", x->safe_after,
		       x->completed, x->completed == 1 ? "" : "s",
		       x->compl_copied ? "the stack copied the data: "
		       "COPIED" : "pages released by reference");
	else if (o->notify && !x->notified && !x->err)
		printf("  notify: nothing was sent: no completion to wait "
		       "for\n");
	fflush(stdout);
}

/* ---- the transfer --------------------------------------------------- */

/* The segments of a transfer: [header] range [trailer]. */
struct plan {
	struct zcdev_seg seg[3];
	unsigned int nr;
	unsigned int file;	/* index of the range */
	int to_eof;		/* the range's length is not known */
};

static void plan_build(const struct opts *o, const struct file_src *src,
		       uint64_t range_len, struct plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	if (o->header)
		zc_seg_mem(&pl->seg[pl->nr++], o->header, o->header_len);
	pl->file = pl->nr;
	zc_seg_file(&pl->seg[pl->nr++], src->fd, o->offset, range_len);
	pl->to_eof = range_len == UINT64_MAX;
	if (o->trailer)
		zc_seg_mem(&pl->seg[pl->nr++], o->trailer, o->trailer_len);
}

/*
 * The segments still to send from position (@first, @skip), at most @max
 * bytes in all (UINT64_MAX: no limit), into @cur.  Returns their number.
 */
static unsigned int plan_rest(const struct plan *pl, unsigned int first,
			      uint64_t skip, uint64_t max,
			      struct zcdev_seg *cur)
{
	unsigned int n = 0, i;

	for (i = first; i < pl->nr && max; i++) {
		struct zcdev_seg s = pl->seg[i];

		if (i == first && skip) {
			if (s.type == ZCDEV_SEG_MEM)
				s.addr += skip;
			else
				s.offset += skip;
			if (s.len != UINT64_MAX || !pl->to_eof)
				s.len -= skip;
		}
		if (s.len > max)
			s.len = max;
		if (max != UINT64_MAX)
			max -= s.len;
		cur[n++] = s;
	}
	return n;
}

/* Advance (@first, @skip) by @n bytes. */
static void plan_advance(const struct plan *pl, unsigned int *first,
			 uint64_t *skip, uint64_t n)
{
	while (*first < pl->nr) {
		uint64_t left = pl->seg[*first].len - *skip;

		if (n < left) {
			*skip += n;
			return;
		}
		n -= left;
		(*first)++;
		*skip = 0;
	}
}

static int ids_add(struct xfer *x, uint64_t id)
{
	if (x->nr_ids == x->cap_ids) {
		unsigned int cap = x->cap_ids ? 2 * x->cap_ids : 16;
		uint64_t *p = realloc(x->ids, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		x->ids = p;
		x->cap_ids = cap;
	}
	x->ids[x->nr_ids++] = id;
	x->notified++;
	return 0;
}

/*
 * Read the completions that are there (@wait_ms 0) or wait up to @wait_ms
 * for at least one; the ids of this transfer are ticked off.  Returns the
 * number read, or -errno.
 */
static int collect_completions(struct zc *zc, struct xfer *x, int wait_ms)
{
	struct zcdev_completion c[64];
	int n, i, total = 0;
	unsigned int k;

	if (wait_ms) {
		struct pollfd pfd = { .fd = zc_fd(zc), .events = POLLIN };
		int ret = poll(&pfd, 1, wait_ms);

		if (ret < 0)
			return errno == EINTR ? 0 : -errno;
		if (!ret)
			return 0;
	}
	for (;;) {
		n = zc_read_completions(zc, c, 64, 0);
		if (n <= 0)
			return n < 0 ? n : total;
		for (i = 0; i < n; i++) {
			for (k = 0; k < x->nr_ids; k++) {
				if (x->ids[k] != c[i].id)
					continue;
				x->ids[k] = x->ids[--x->nr_ids];
				x->completed++;
				if (c[i].flags & ZCDEV_COMPL_COPIED)
					x->compl_copied = 1;
				break;
			}
		}
		total += n;
	}
}

/* After the last send: wait until every id has completed. */
static void wait_completions(struct zc *zc, struct xfer *x, double sent_at)
{
	double deadline = sent_at + NOTIFY_TIMEOUT_MS / 1000.0;

	while (x->nr_ids) {
		int ms = (int)((deadline - now()) * 1000);
		int ret;

		if (ms <= 0) {
			x->notify_timeout = 1;
			return;
		}
		ret = collect_completions(zc, x, ms);
		if (ret < 0) {
			if (!x->err)
				x->err = ret;
			return;
		}
	}
	x->safe_after = now() - sent_at;
}

static void probe(struct zc *zc, const struct opts *o,
		  const struct file_src *src, int sock, struct xfer *x)
{
	unsigned int flags = o->notify ? ZCDEV_SEND_NOTIFY : 0;
	int ret;

	memset(x, 0, sizeof(*x));
	ret = zc_probe(zc, sock, src->fd, flags, &x->probe);
	if (ret)
		x->err = ret;
}

static void transfer(struct zc *zc, const struct opts *o,
		     const struct file_src *src, int sock, struct xfer *x)
{
	unsigned int flags = o->strict ? ZCDEV_SEND_STRICT : 0;
	struct progress pr = { .enabled = o->progress };
	unsigned int first = 0, wait_us = CACHED_WAIT_MIN_US;
	uint64_t range, skip = 0, extra;
	struct plan pl;
	double last_send = 0;

	memset(x, 0, sizeof(*x));
	range = o->length;
	if (src->regular && !o->length_set)
		range = src->size - o->offset;
	extra = o->header_len + o->trailer_len;
	x->requested = range == UINT64_MAX ? UINT64_MAX : range + extra;
	plan_build(o, src, range, &pl);
	if (o->nonblock) {
		int fl = fcntl(sock, F_GETFL);

		if (fl >= 0)
			fcntl(sock, F_SETFL, fl | O_NONBLOCK);
		flags |= ZCDEV_SEND_NONBLOCK;
	}
	if (o->cached_only)
		flags |= ZCDEV_SEND_CACHED_ONLY;
	if (o->notify)
		flags |= ZCDEV_SEND_NOTIFY;

	pr.start = pr.last = now();
	while (first < pl.nr) {
		uint64_t max = pr.enabled ? PROGRESS_CHUNK : UINT64_MAX;
		struct zcdev_seg cur[3];
		struct zc_result r;
		unsigned int nr;
		ssize_t n;

		nr = plan_rest(&pl, first, skip, max, cur);
		if (nr == 1 && cur[0].type == ZCDEV_SEG_FILE)
			n = zc_sendfile(zc, sock, cur[0].file_fd,
					cur[0].offset, cur[0].len, flags, &r);
		else
			n = zc_sendv(zc, sock, cur, nr, flags, &r);
		last_send = now();
		zc_result_add(&x->res, &r);
		if (r.notify_id && ids_add(x, r.notify_id)) {
			x->err = -ENOMEM;
			break;
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN && o->nonblock) {
			struct pollfd pfd = { .fd = sock, .events = POLLOUT };

			/* The event loop: wait until the socket drains. */
			if (poll(&pfd, 1, 100) < 0 && errno != EINTR) {
				x->err = -errno;
				break;
			}
			progress_draw(&pr, x->res.sent, x->requested, 0);
			continue;
		}
		if (o->cached_only && (n >= 0 || n == -EBUSY)) {
			if (x->attempts < MAX_ATTEMPTS_SHOWN)
				x->attempt_bytes[x->attempts] =
					n > 0 ? (uint64_t)n : 0;
			x->attempts++;
		}
		if (n == -ENOBUFS && o->notify) {
			/* too many sends in flight: let some complete */
			int ret = collect_completions(zc, x, 1000);

			if (ret < 0) {
				x->err = ret;
				break;
			}
			continue;
		}
		if (n < 0 && !(n == -EBUSY &&
			       (r.status & ZCDEV_STATUS_NOT_CACHED))) {
			x->err = (int)n;
			break;
		}
		if (n > 0) {
			plan_advance(&pl, &first, &skip, (uint64_t)n);
			progress_draw(&pr, x->res.sent, x->requested, 0);
		}
		/* errors are reported by the wait at the end */
		if (o->notify && x->nr_ids >= 1024)
			(void)collect_completions(zc, x, 0);
		if (r.status & ZCDEV_STATUS_NOT_CACHED) {
			/* readahead was started: give it a moment */
			x->retries++;
			usleep(wait_us);
			if (wait_us < CACHED_WAIT_MAX_US)
				wait_us *= 2;
			continue;
		}
		wait_us = CACHED_WAIT_MIN_US;
		if (first < pl.nr && first == pl.file &&
		    (n == 0 || (r.status & ZCDEV_STATUS_EOF))) {
			/* the range reached the end of the file */
			if (pl.to_eof) {
				first++;
				skip = 0;
				continue;
			}
			x->short_eof = 1;
			break;
		}
		if (n == 0 && first < pl.nr) {
			/* no progress and no reason: never spin */
			x->short_eof = 1;
			break;
		}
	}
	x->seconds = now() - pr.start;
	progress_draw(&pr, x->res.sent, x->requested, 1);
	if (x->requested == UINT64_MAX && !x->err)
		x->requested = x->res.sent;
	if (o->notify)
		wait_completions(zc, x, last_send);
	free(x->ids);
	x->ids = NULL;
}

/*
 * End the connection cleanly: FIN after the data, then wait (bounded) for
 * the peer's EOF so that unread input cannot turn our close into a RST.
 */
static void finish(int sock)
{
	char buf[4096];
	double deadline = now() + DRAIN_TIMEOUT_MS / 1000.0;
	int fl = fcntl(sock, F_GETFL);

	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
	shutdown(sock, SHUT_WR);
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int ms = (int)((deadline - now()) * 1000);

		if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
			break;
		if (read(sock, buf, sizeof(buf)) <= 0)
			break;
	}
	close(sock);
}

/* Report one transfer; returns its exit code. */
static int report(const struct opts *o, const char *peer, int show_peer,
		  const struct xfer *x)
{
	char why[512];

	if (o->json)
		print_json(o, peer, x);
	else if (!o->quiet && o->probe && !x->err)
		print_probe(peer, show_peer, x);
	else if (!o->quiet && !o->probe && (x->res.sent || !x->err))
		print_human(o, peer, show_peer, x);

	if (o->probe) {
		if (!x->err)
			return ZCSEND_EXIT_OK;
		errmsg("probe of %s failed: %s%s", peer, strerror(-x->err),
		       x->err == -EOPNOTSUPP ? " (this zcdev module cannot "
		       "probe)" : "");
		return x->err == -EOPNOTSUPP ? ZCSEND_EXIT_UNSUPPORTED :
		       x->err == -EBADF || x->err == -EINVAL ?
		       ZCSEND_EXIT_FILE : ZCSEND_EXIT_FAIL;
	}
	if (x->err == -EOPNOTSUPP && o->strict) {
		zc_why_str(x->res.why, why, sizeof(why), ZC_WHY_STR_DESC);
		if (x->res.sent)
			errmsg("--strict: refusing to copy (%s) after %" PRIu64
			       " bytes sent by page reference", why[0] ? why :
			       "no reason given", x->res.sent);
		else
			errmsg("--strict: refusing to copy (%s); nothing sent",
			       why[0] ? why : "no reason given");
		return ZCSEND_EXIT_STRICT;
	}
	if (x->err) {
		errmsg("send to %s failed after %" PRIu64 " bytes: %s", peer,
		       x->res.sent, strerror(-x->err));
		return x->err == -EBADF || x->err == -EINVAL ||
		       x->err == -EIO ? ZCSEND_EXIT_FILE : ZCSEND_EXIT_FAIL;
	}
	if (x->short_eof) {
		errmsg("%s ended after %" PRIu64 " of %" PRIu64
		       " requested bytes", o->file, x->res.sent, x->requested);
		return ZCSEND_EXIT_FAIL;
	}
	if (x->notify_timeout) {
		errmsg("--notify: %u of %u completions not received within "
		       "%d s", x->notified - x->completed, x->notified,
		       NOTIFY_TIMEOUT_MS / 1000);
		return ZCSEND_EXIT_FAIL;
	}
	return ZCSEND_EXIT_OK;
}

static int open_file(const struct opts *o, struct file_src *src)
{
	struct stat st;

	src->fd = open(o->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (src->fd < 0) {
		errmsg("%s: %s", o->file, strerror(errno));
		return ZCSEND_EXIT_FILE;
	}
	if (fstat(src->fd, &st) < 0) {
		errmsg("%s: %s", o->file, strerror(errno));
		return ZCSEND_EXIT_FILE;
	}
	if (S_ISDIR(st.st_mode)) {
		errmsg("%s: %s", o->file, strerror(EISDIR));
		return ZCSEND_EXIT_FILE;
	}
	src->regular = S_ISREG(st.st_mode);
	src->size = (uint64_t)st.st_size;
	if (src->regular && o->offset > src->size) {
		errmsg("%s: offset %" PRIu64 " is past the end of the file "
		       "(%" PRIu64 " bytes)", o->file, o->offset, src->size);
		return ZCSEND_EXIT_FILE;
	}
	if (src->regular && o->length_set && o->length > src->size - o->offset) {
		errmsg("%s: offset %" PRIu64 " + length %" PRIu64 " is past the "
		       "end of the file (%" PRIu64 " bytes)", o->file,
		       o->offset, o->length, src->size);
		return ZCSEND_EXIT_FILE;
	}
	return 0;
}

static int open_handle(const struct opts *o, struct zc **zcp)
{
	unsigned int flags = o->fallback ? ZC_OPEN_FALLBACK : 0;
	const char *dev = o->device ? o->device : ZC_DEFAULT_DEVICE;
	int ret;

	ret = zc_open(zcp, dev, flags);
	if (ret) {
		errmsg("%s: %s", dev, strerror(-ret));
		return ZCSEND_EXIT_FAIL;
	}
	if (o->cached_only || o->notify) {
		struct zc_probe_result pr;
		unsigned int want = (o->cached_only ? ZCDEV_SEND_CACHED_ONLY :
				     0) | (o->notify ? ZCDEV_SEND_NOTIFY : 0);

		zc_probe(*zcp, -1, -1, 0, &pr);
		if (want & ~pr.send_flags) {
			const char *opt = want & ~pr.send_flags &
					  ZCDEV_SEND_CACHED_ONLY ?
					  "--cached-only" : "--notify";

			if (zc_is_fallback(*zcp))
				errmsg("%s: %s", opt, o->fallback ?
				       "needs the device, not --fallback" :
				       "needs the zcdev module (not loaded)");
			else
				errmsg("%s: this zcdev module does not "
				       "support it", opt);
			return ZCSEND_EXIT_UNSUPPORTED;
		}
	}
	if (!zc_is_fallback(*zcp))
		return 0;
	if (o->strict) {
		if (o->fallback)
			errmsg("--strict and --fallback exclude each other");
		else
			errmsg("--strict: %s is absent (zcdev module not "
			       "loaded): zero copy cannot be guaranteed", dev);
		return ZCSEND_EXIT_STRICT;
	}
	if (!o->quiet && !o->fallback)
		errmsg("warning: %s is absent (zcdev module not loaded): "
		       "sending with sendfile(2), path unknown", dev);
	return 0;
}

static int run_connect(struct zc *zc, const struct opts *o,
		       const struct file_src *src)
{
	char peer[300];
	struct xfer x;
	int sock;

	sock = do_connect(o->addr, peer, sizeof(peer));
	if (sock < 0)
		return -sock;
	if (o->probe)
		probe(zc, o, src, sock, &x);
	else
		transfer(zc, o, src, sock, &x);
	finish(sock);
	return report(o, peer, 0, &x);
}

static int run_listen(struct zc *zc, const struct opts *o,
		      const struct file_src *src)
{
	int lfd, rc = ZCSEND_EXIT_OK;

	lfd = do_listen(o->addr, o->quiet);
	if (lfd < 0)
		return -lfd;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[300];
		struct xfer x;
		int cfd;

		cfd = accept4(lfd, (void *)&ss, &sl, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			errmsg("accept: %s", strerror(errno));
			rc = ZCSEND_EXIT_NET;
			break;
		}
		format_sockaddr((void *)&ss, peer, sizeof(peer));
		if (o->probe)
			probe(zc, o, src, cfd, &x);
		else
			transfer(zc, o, src, cfd, &x);
		finish(cfd);
		rc = report(o, peer, 1, &x);
		if (o->once)
			break;
	}
	close(lfd);
	return rc;
}

/* --header STRING: backslash escapes \r \n \t \\ \0 \xHH */
static int unescape(const char *in, char **out, size_t *len)
{
	char *buf = malloc(strlen(in) + 1);
	size_t n = 0;

	if (!buf)
		return -1;
	while (*in) {
		char c = *in++;

		if (c != '\\') {
			buf[n++] = c;
			continue;
		}
		c = *in++;
		switch (c) {
		case 'r': buf[n++] = '\r'; break;
		case 'n': buf[n++] = '\n'; break;
		case 't': buf[n++] = '\t'; break;
		case '0': buf[n++] = '\0'; break;
		case '\\': buf[n++] = '\\'; break;
		case 'x':
			if (isxdigit((unsigned char)in[0]) &&
			    isxdigit((unsigned char)in[1])) {
				char hex[3] = { in[0], in[1], 0 };

				buf[n++] = (char)strtoul(hex, NULL, 16);
				in += 2;
				break;
			}
			/* fall through */
		default:
			free(buf);
			return -1;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

/* --header-file FILE: its bytes, read into memory (at most MAX_EXTRA) */
static int read_extra(const char *path, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf) {
		errmsg("%s: %s", path, strerror(errno));
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		if (n == cap) {
			char *p;

			if (cap >= MAX_EXTRA) {
				errmsg("%s: larger than %d MiB", path,
				       MAX_EXTRA >> 20);
				goto fail;
			}
			p = realloc(buf, cap * 2);
			if (!p) {
				errmsg("%s: %s", path, strerror(ENOMEM));
				goto fail;
			}
			buf = p;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errmsg("%s: %s", path, strerror(errno));
			goto fail;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

int main(int argc, char **argv)
{
	enum { OPT_DEVICE = 256, OPT_FALLBACK, OPT_HEADER_FILE,
	       OPT_TRAILER_FILE, OPT_CACHED_ONLY, OPT_NOTIFY, OPT_PROBE };
	static const struct option longopts[] = {
		{ "listen", no_argument, NULL, 'l' },
		{ "once", no_argument, NULL, '1' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'n' },
		{ "strict", no_argument, NULL, 's' },
		{ "nonblock", no_argument, NULL, 'N' },
		{ "header", required_argument, NULL, 'H' },
		{ "header-file", required_argument, NULL, OPT_HEADER_FILE },
		{ "trailer", required_argument, NULL, 'T' },
		{ "trailer-file", required_argument, NULL, OPT_TRAILER_FILE },
		{ "cached-only", no_argument, NULL, OPT_CACHED_ONLY },
		{ "notify", no_argument, NULL, OPT_NOTIFY },
		{ "probe", no_argument, NULL, OPT_PROBE },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "fallback", no_argument, NULL, OPT_FALLBACK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .length = UINT64_MAX };
	struct file_src src = { .fd = -1 };
	struct zc *zc = NULL;
	int c, rc;

	if (argv[0] && strrchr(argv[0], '/'))
		prog = strrchr(argv[0], '/') + 1;
	else if (argv[0] && argv[0][0])
		prog = argv[0];

	while ((c = getopt_long(argc, argv, "l1o:n:sNH:T:jqhV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'l': o.listen = 1; break;
		case '1': o.once = 1; break;
		case 's': o.strict = 1; break;
		case 'N': o.nonblock = 1; break;
		case 'j': o.json = 1; break;
		case 'q': o.quiet = 1; break;
		case OPT_DEVICE: o.device = optarg; break;
		case OPT_FALLBACK: o.fallback = 1; break;
		case OPT_CACHED_ONLY: o.cached_only = 1; break;
		case OPT_NOTIFY: o.notify = 1; break;
		case OPT_PROBE: o.probe = 1; break;
		case 'H':
		case 'T': {
			char **buf = c == 'H' ? &o.header : &o.trailer;
			size_t *len = c == 'H' ? &o.header_len : &o.trailer_len;

			if (*buf) {
				errmsg("only one --%s or --%s-file",
				       c == 'H' ? "header" : "trailer",
				       c == 'H' ? "header" : "trailer");
				return ZCSEND_EXIT_USAGE;
			}
			if (unescape(optarg, buf, len)) {
				errmsg("bad escape in --%s '%s' (\\r \\n "
				       "\\t \\0 \\\\ \\xHH)",
				       c == 'H' ? "header" : "trailer", optarg);
				return ZCSEND_EXIT_USAGE;
			}
			break;
		}
		case OPT_HEADER_FILE:
		case OPT_TRAILER_FILE: {
			int hdr = c == OPT_HEADER_FILE;
			char **buf = hdr ? &o.header : &o.trailer;
			size_t *len = hdr ? &o.header_len : &o.trailer_len;

			if (*buf) {
				errmsg("only one --%s or --%s-file",
				       hdr ? "header" : "trailer",
				       hdr ? "header" : "trailer");
				return ZCSEND_EXIT_USAGE;
			}
			if (read_extra(optarg, buf, len))
				return ZCSEND_EXIT_FILE;
			break;
		}
		case 'o':
			if (parse_size(optarg, &o.offset) ||
			    o.offset > (uint64_t)LLONG_MAX) {
				errmsg("bad offset '%s'", optarg);
				return ZCSEND_EXIT_USAGE;
			}
			break;
		case 'n':
			if (parse_size(optarg, &o.length)) {
				errmsg("bad length '%s'", optarg);
				return ZCSEND_EXIT_USAGE;
			}
			o.length_set = 1;
			break;
		case 'h':
			usage(stdout);
			return ZCSEND_EXIT_OK;
		case 'V':
			printf("zcsend %s (libzc %d.%d)\n", ZCSEND_VERSION,
			       LIBZC_VERSION_MAJOR, LIBZC_VERSION_MINOR);
			return ZCSEND_EXIT_OK;
		default:
			usage(stderr);
			return ZCSEND_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		errmsg(argc - optind < 2 ? "missing operand" :
					   "too many operands");
		usage(stderr);
		return ZCSEND_EXIT_USAGE;
	}
	if (o.once && !o.listen) {
		errmsg("--once needs --listen");
		return ZCSEND_EXIT_USAGE;
	}
	if (o.probe && (o.header || o.trailer || o.cached_only ||
			o.nonblock || o.strict)) {
		errmsg("--probe sends nothing: it takes only --notify, "
		       "--offset, --length and the output options");
		return ZCSEND_EXIT_USAGE;
	}
	o.file = argv[o.listen ? optind + 1 : optind];
	o.addr = argv[o.listen ? optind : optind + 1];
	o.progress = !o.quiet && !o.json && isatty(STDERR_FILENO);

	/* Check the address's syntax before touching file or device. */
	{
		struct target t;

		if (parse_target(o.addr, &t, o.listen))
			return ZCSEND_EXIT_USAGE;
	}
	/* The peer may go away: that is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	rc = open_file(&o, &src);
	if (rc)
		return rc;
	rc = open_handle(&o, &zc);
	if (rc)
		return rc;

	rc = o.listen ? run_listen(zc, &o, &src) : run_connect(zc, &o, &src);
	zc_close(zc);
	close(src.fd);
	free(o.header);
	free(o.trailer);
	return rc;
}
