// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: formatting on the per-response path without stdio.  The
 * response header and the access-log line were built with snprintf(3) and
 * strftime(3): about 10 000 instructions a 16 KiB response, half of the
 * server's user-space work (callgrind), where nginx's ngx_sprintf() costs
 * a tenth of that.  These appenders copy and convert only; a full buffer
 * truncates, as snprintf() would.
 */
#include <stdio.h>
#include <string.h>
#include "zchttpd.h"

/**
 * zh_buf_init() - start appending to a buffer.
 * @b: the appender.
 * @buf: the buffer.
 * @size: its size, at least 1; room for the terminating NUL is kept.
 */
void zh_buf_init(struct zh_buf *b, char *buf, size_t size)
{
	b->start = buf;
	b->p = buf;
	b->end = buf + size - 1;
}

/**
 * zh_buf_len() - terminate the buffer.
 * @b: the appender.
 *
 * Return: the length of what was appended (without the NUL).
 */
size_t zh_buf_len(struct zh_buf *b)
{
	*b->p = '\0';
	return (size_t)(b->p - b->start);
}

/**
 * zh_put() - append @n bytes (as many as fit).
 * @b: the appender.
 * @s: the bytes.
 * @n: their number.
 */
void zh_put(struct zh_buf *b, const char *s, size_t n)
{
	size_t room = (size_t)(b->end - b->p);

	if (n > room)
		n = room;
	memcpy(b->p, s, n);
	b->p += n;
}

/**
 * zh_puts() - append a string.
 * @b: the appender.
 * @s: NUL-terminated.
 */
void zh_puts(struct zh_buf *b, const char *s)
{
	zh_put(b, s, strlen(s));
}

/**
 * zh_put_u64() - append a number in decimal.
 * @b: the appender.
 * @v: the number.
 */
void zh_put_u64(struct zh_buf *b, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	zh_put(b, d + i, sizeof(d) - i);
}

/**
 * zh_put_x64() - append a number in lower-case hexadecimal.
 * @b: the appender.
 * @v: the number.
 */
void zh_put_x64(struct zh_buf *b, uint64_t v)
{
	char d[16];
	size_t i = sizeof(d);

	do {
		d[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	zh_put(b, d + i, sizeof(d) - i);
}

static void put2(struct zh_buf *b, int v)
{
	char d[2] = { (char)('0' + v / 10), (char)('0' + v % 10) };

	zh_put(b, d, 2);
}

/**
 * zh_http_date() - an HTTP date (RFC 9110 IMF-fixdate) of @t.
 * @t: the time.
 * @buf: the result, "Sun, 06 Nov 1994 08:49:37 GMT".
 * @size: its size, at least 1 (30 for the whole date).
 *
 * The same text as strftime(3)'s "%a, %d %b %Y %H:%M:%S GMT" in the C
 * locale, which it uses for years of other than four digits.
 *
 * Return: the length written.
 */
size_t zh_http_date(time_t t, char *buf, size_t size)
{
	static const char wday[] = "SunMonTueWedThuFriSat";
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct zh_buf b;
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		zh_buf_init(&b, buf, size);
		return zh_buf_len(&b);
	}
	if (tm.tm_year < 1000 - 1900 || tm.tm_year > 9999 - 1900)
		return strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	zh_buf_init(&b, buf, size);
	zh_put(&b, wday + 3 * tm.tm_wday, 3);
	zh_put(&b, ", ", 2);
	put2(&b, tm.tm_mday);
	zh_put(&b, " ", 1);
	zh_put(&b, mon + 3 * tm.tm_mon, 3);
	zh_put(&b, " ", 1);
	zh_put_u64(&b, (uint64_t)(tm.tm_year + 1900));
	zh_put(&b, " ", 1);
	put2(&b, tm.tm_hour);
	zh_put(&b, ":", 1);
	put2(&b, tm.tm_min);
	zh_put(&b, ":", 1);
	put2(&b, tm.tm_sec);
	zh_put(&b, " GMT", 4);
	return zh_buf_len(&b);
}
