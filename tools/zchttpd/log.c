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

static int open_log(void)
{
	if (!zh_cfg.access_log || !strcmp(zh_cfg.access_log, "-"))
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
	int fd = open_log();

	if (fd < 0)
		return -errno;
	log_fd = fd;
	return 0;
}

/** zh_log_reopen() - SIGHUP: reopen the access log (log rotation). */
void zh_log_reopen(void)
{
	int fd = open_log();

	if (fd < 0) {
		zh_err("reopen %s: %s", zh_cfg.access_log, strerror(errno));
		return;
	}
	pthread_mutex_lock(&lock);
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	pthread_mutex_unlock(&lock);
}

/* The request line for the log, with quotes and control bytes escaped. */
static void esc(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; *src && o + 5 < size; src++) {
		unsigned char ch = (unsigned char)*src;

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(dst + o, size - o, "\\x%02X", ch);
		else
			dst[o++] = (char)ch;
	}
	dst[o] = '\0';
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
	char line[2048], url[600], ref[300], ua[300], why[256], ver[24] = "";
	const char *path = zc_path_name(c->acc.path);
	/* the log's time, formatted once a second per worker */
	static __thread char date[64];
	static __thread time_t at = -1;
	time_t now = time(NULL);
	uint64_t body;
	int n;

	if (now != at) {
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S %z", &tm);
		at = now;
	}
	esc(url, sizeof(url), c->req.url);
	esc(ref, sizeof(ref), c->req.referer[0] ? c->req.referer : "-");
	esc(ua, sizeof(ua), c->req.ua[0] ? c->req.ua : "-");
	if (zc_why_str(c->acc.why, why, sizeof(why), 0) < 0 || !why[0])
		strcpy(why, "-");
	body = c->acc.sent > c->hdr_len ? c->acc.sent - c->hdr_len : 0;
	if (c->req.major || c->req.minor)
		snprintf(ver, sizeof(ver), " HTTP/%u.%u", c->req.major, c->req.minor);
	n = snprintf(line, sizeof(line),
		     "%s - - [%s] \"%s%s%s%s\" %d %llu \"%s\" \"%s\" zc=%llu copied=%llu unknown=%llu path=%s why=%s calls=%u%s\n",
		     c->peer, date,
		     c->req.url_len ? http_method_str(c->req.method) : "-",
		     c->req.url_len ? " " : "", c->req.url_len ? url : "", ver,
		     c->status, (unsigned long long)body, ref, ua,
		     (unsigned long long)c->acc.zc_bytes,
		     (unsigned long long)c->acc.copied_bytes,
		     (unsigned long long)c->acc.unknown_bytes,
		     path ? path : "-", why, c->acc.calls,
		     !c->ssl ? "" : c->ktls_tx ? " tls=ktls" : " tls=ssl_write");
	if (n <= 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	pthread_mutex_lock(&lock);
	if (write(log_fd, line, (size_t)n) != n) {
		/* nothing better to do with a full log disk */
	}
	pthread_mutex_unlock(&lock);
}
