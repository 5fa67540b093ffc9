// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: the access log (nginx "combined" plus libzc's report) and the
 * error log (stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "zchttpd.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = 2;

/**
 * zh_err() - a line on the error log (stderr).
 * @fmt: printf format.
 */
void zh_err(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	fprintf(stderr, "zchttpd: %.*s", n, buf);
}

/** zh_log_to_stderr() - whether the access log is stderr (none, or "-"). */
bool zh_log_to_stderr(void)
{
	return !zh_cfg.access_log || !strcmp(zh_cfg.access_log, "-");
}

/**
 * zh_log_open_path() - open the configured access log (2 for stderr).
 *
 * Return: the descriptor, or -1 with errno set.
 */
int zh_log_open_path(void)
{
	if (zh_log_to_stderr())
		return 2;
	return open(zh_cfg.access_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/**
 * zh_log_open() - open the access log.
 *
 * Return: 0 or a negative errno.
 */
int zh_log_open(void)
{
	int fd = zh_log_open_path();

	if (fd < 0)
		return -errno;
	log_fd = fd;
	return 0;
}

/**
 * zh_log_reopen() - SIGHUP: reopen the access log (log rotation), through
 * the opener of logd.c when the server dropped root for --user.
 */
void zh_log_reopen(void)
{
	int fd = zh_logd_open();

	if (fd == -2)
		fd = zh_log_open_path();

	if (fd < 0) {
		zh_err("reopen %s: %s", zh_cfg.access_log, strerror(errno));
		return;
	}
	pthread_mutex_lock(&lock);
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	pthread_mutex_unlock(&lock);
	/* (as nginx's "reopening logs": every line from now on goes there) */
	zh_err("access log %s reopened", zh_cfg.access_log);
}

/*
 * Append @src with quotes, backslashes and control bytes escaped as \xHH;
 * it stops once @size - 5 bytes are out (a field of at most @size - 2).
 */
static void put_esc(struct zh_buf *b, const char *src, size_t size)
{
	const char *s0 = b->p;

	for (; *src && (size_t)(b->p - s0) + 5 < size && b->p < b->end; src++) {
		unsigned char ch = (unsigned char)*src;

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
			char e[4] = { '\\', 'x', "0123456789ABCDEF"[ch >> 4],
				      "0123456789ABCDEF"[ch & 15] };

			zh_put(b, e, 4);
		} else {
			*b->p++ = (char)ch;
		}
	}
}

/* zc_why_str() of the last reasons seen, per worker (they rarely change) */
static const char *why_name(uint32_t why)
{
	static __thread char str[256] = "-";
	static __thread uint32_t at;

	if (why != at) {
		if (zc_why_str(why, str, sizeof(str), 0) < 0 || !str[0])
			strcpy(str, "-");
		at = why;
	}
	return str;
}

/**
 * zh_log_access() - one access-log line for the response just sent.
 * @c: the connection.
 *
 * Format: nginx combined, then zc=BYTES copied=BYTES unknown=BYTES
 * path=NAME why=NAMES calls=N (libzc's name tables), and on HTTPS
 * tls=ktls (the kernel encrypts; bodies through zcdev) or tls=ssl_write.
 */
void zh_log_access(const struct zh_conn *c)
{
	char line[2048];
	const char *path = zc_path_name(c->acc.path);
	/* the log's time, formatted once a second per worker */
	static __thread char date[64];
	static __thread time_t at = -1;
	time_t now = time(NULL);
	struct zh_buf b;
	uint64_t body;
	size_t n;

	if (now != at) {
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S %z", &tm);
		at = now;
	}
	body = c->acc.sent > c->hdr_len ? c->acc.sent - c->hdr_len : 0;
	zh_buf_init(&b, line, sizeof(line) - 1);	/* (room for the newline) */
	zh_puts(&b, c->peer);
	zh_puts(&b, " - - [");
	zh_puts(&b, date);
	zh_puts(&b, "] \"");
	if (c->t->req.url_len) {
		zh_puts(&b, http_method_str(c->t->req.method));
		zh_put(&b, " ", 1);
		put_esc(&b, c->t->req.url, 600);
	} else {
		zh_put(&b, "-", 1);
	}
	if (c->t->req.major || c->t->req.minor) {
		zh_puts(&b, " HTTP/");
		zh_put_u64(&b, c->t->req.major);
		zh_put(&b, ".", 1);
		zh_put_u64(&b, c->t->req.minor);
	}
	zh_puts(&b, "\" ");
	zh_put_u64(&b, (uint64_t)c->status);
	zh_put(&b, " ", 1);
	zh_put_u64(&b, body);
	zh_puts(&b, " \"");
	put_esc(&b, c->t->req.referer[0] ? c->t->req.referer : "-", 300);
	zh_puts(&b, "\" \"");
	put_esc(&b, c->t->req.ua[0] ? c->t->req.ua : "-", 300);
	zh_puts(&b, "\" zc=");
	zh_put_u64(&b, c->acc.zc_bytes);
	zh_puts(&b, " copied=");
	zh_put_u64(&b, c->acc.copied_bytes);
	zh_puts(&b, " unknown=");
	zh_put_u64(&b, c->acc.unknown_bytes);
	zh_puts(&b, " path=");
	zh_puts(&b, path ? path : "-");
	zh_puts(&b, " why=");
	zh_puts(&b, why_name(c->acc.why));
	zh_puts(&b, " calls=");
	zh_put_u64(&b, c->acc.calls);
	if (c->ssl)
		zh_puts(&b, c->ktls_tx ? " tls=ktls" : " tls=ssl_write");
	n = zh_buf_len(&b);
	line[n++] = '\n';
	pthread_mutex_lock(&lock);
	if (write(log_fd, line, n) != (ssize_t)n) {
		/* nothing better to do with a full log disk */
	}
	pthread_mutex_unlock(&lock);
}
