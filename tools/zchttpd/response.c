// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: choosing the response (status, headers, file range) and
 * preparing its segments: header from memory, body from the file
 * (send.c sends them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include "zchttpd.h"

static const struct { const char *ext, *type; } mime[] = {
	{ "html", "text/html" }, { "htm", "text/html" },
	{ "css", "text/css" }, { "js", "application/javascript" },
	{ "json", "application/json" }, { "txt", "text/plain" },
	{ "xml", "text/xml" }, { "png", "image/png" },
	{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" },
	{ "gif", "image/gif" }, { "svg", "image/svg+xml" },
	{ "ico", "image/x-icon" }, { "webp", "image/webp" },
	{ "pdf", "application/pdf" }, { "zip", "application/zip" },
	{ "gz", "application/gzip" }, { "tar", "application/x-tar" },
	{ "mp4", "video/mp4" }, { "webm", "video/webm" },
	{ "mp3", "audio/mpeg" }, { "wasm", "application/wasm" },
	{ "woff2", "font/woff2" }, { "iso", "application/octet-stream" },
};

static const char *mime_type(const char *url, size_t len)
{
	const char *end = memchr(url, '?', len);
	const char *dot = NULL, *p;
	size_t i;

	if (!end)
		end = url + len;
	for (p = url; p < end; p++)
		if (*p == '.')
			dot = p + 1;
		else if (*p == '/')
			dot = NULL;
	if (end > url && end[-1] == '/')
		return "text/html";
	if (!dot)
		return "application/octet-stream";
	for (i = 0; i < sizeof(mime) / sizeof(mime[0]); i++)
		if (strlen(mime[i].ext) == (size_t)(end - dot) &&
		    !strncasecmp(mime[i].ext, dot, (size_t)(end - dot)))
			return mime[i].type;
	return "application/octet-stream";
}

/**
 * zh_reason() - the reason phrase of a status code.
 * @status: HTTP status.
 *
 * Return: a static string.
 */
const char *zh_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 412: return "Precondition Failed";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* the Date header's value, formatted once a second per worker (as nginx does) */
static const char *http_now(void)
{
	static __thread char date[64];
	static __thread time_t at = -1;
	time_t now = time(NULL);

	if (now != at) {
		zh_http_date(now, date, sizeof(date));
		at = now;
	}
	return date;
}

/* Last-Modified of @mtime; the last one a worker formatted is kept */
static const char *last_modified(time_t mtime)
{
	static __thread char lm[64];
	static __thread time_t at;
	static __thread bool valid;

	if (!valid || mtime != at) {
		zh_http_date(mtime, lm, sizeof(lm));
		at = mtime;
		valid = true;
	}
	return lm;
}

/* The status line, Server, Date and Connection. */
static void common_hdr(struct zh_conn *c, struct zh_buf *b)
{
	zh_put(b, "HTTP/1.1 ", 9);
	zh_put_u64(b, (uint64_t)c->status);
	zh_put(b, " ", 1);
	zh_puts(b, zh_reason(c->status));
	zh_puts(b, "\r\nServer: zchttpd\r\nDate: ");
	zh_puts(b, http_now());
	zh_put(b, "\r\n", 2);
	if (c->close_after)
		zh_puts(b, "Connection: close\r\n");
	else if (c->t->req.major == 1 && c->t->req.minor == 0)
		zh_puts(b, "Connection: keep-alive\r\n");
}

/*
 * An error (or redirect) response with a short HTML body; @location, if
 * not NULL, the Location field's value (@loc_len bytes).
 */
static void status_response(struct zh_conn *c, int status,
			    const char *location, size_t loc_len)
{
	struct zh_buf b;
	size_t bl;

	c->status = status;
	if (status >= 400 && status != 404 && status != 403 && status != 412 &&
	    status != 416)
		c->close_after = true;
	bl = (size_t)snprintf(c->t->body, sizeof(c->t->body),
			      "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n",
			      status, zh_reason(status), status, zh_reason(status));
	zh_buf_init(&b, c->t->hdr, sizeof(c->t->hdr));
	common_hdr(c, &b);
	if (status == 405)
		zh_puts(&b, "Allow: GET, HEAD\r\n");
	if (location) {
		zh_puts(&b, "Location: ");
		zh_put(&b, location, loc_len);
		zh_put(&b, "\r\n", 2);
	}
	zh_puts(&b, "Content-Type: text/html\r\nContent-Length: ");
	zh_put_u64(&b, bl);
	zh_put(&b, "\r\n\r\n", 4);
	c->hdr_len = zh_buf_len(&b);
	zc_seg_mem(&c->seg[0], c->t->hdr, c->hdr_len);
	c->nr_seg = 1;
	if (!c->head) {
		zc_seg_mem(&c->seg[1], c->t->body, bl);
		c->nr_seg = 2;
	}
}

static void error_response(struct zh_conn *c, int status)
{
	status_response(c, status, NULL, 0);
}

/*
 * A directory named without its trailing slash: 301 to the target with
 * one (the query kept), as nginx answers, so that relative links in its
 * index.html resolve.
 */
static void dir_redirect(struct zh_conn *c, const struct zh_request *r)
{
	char loc[ZH_URL_MAX + 2];
	const char *q = memchr(r->url, '?', r->url_len);
	size_t path_len = q ? (size_t)(q - r->url) : r->url_len;

	/* the Location must fit the header buffer with the rest */
	if (r->url_len + 1 > sizeof(c->t->hdr) / 2) {
		error_response(c, 414);
		return;
	}
	memcpy(loc, r->url, path_len);
	loc[path_len] = '/';
	memcpy(loc + path_len + 1, r->url + path_len, r->url_len - path_len);
	status_response(c, 301, loc, r->url_len + 1);
}

/*
 * Parse a single "bytes=" range against @size.  Return 1 with *off and *len
 * set, 0 to ignore the header (absent, malformed, several ranges), -1 for
 * an unsatisfiable range.
 */
static int parse_range(const char *h, uint64_t size, uint64_t *off,
		       uint64_t *len)
{
	unsigned long long a, b;
	char *end;

	if (strncasecmp(h, "bytes=", 6))
		return 0;
	h += 6;
	while (*h == ' ')
		h++;
	if (strchr(h, ','))
		return 0;
	if (*h == '-') {
		if (h[1] < '0' || h[1] > '9')
			return 0;
		b = strtoull(h + 1, &end, 10);
		if (*end && *end != ' ')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		if (b > size)
			b = size;
		*off = size - b;
		*len = b;
		return 1;
	}
	if (*h < '0' || *h > '9')
		return 0;
	a = strtoull(h, &end, 10);
	if (*end != '-')
		return 0;
	h = end + 1;
	if (*h == '\0' || *h == ' ') {
		b = size ? size - 1 : 0;
	} else {
		if (*h < '0' || *h > '9')
			return 0;
		b = strtoull(h, &end, 10);
		if (*end && *end != ' ')
			return 0;
		if (b < a)
			return 0;
	}
	if (a >= size)
		return -1;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

/*
 * Does the list @inm ("*" or entity tags) match @etag?  @strong: the
 * strong comparison (If-Match, RFC 9110 8.8.3.2: a weak tag never
 * matches), else the weak one (If-None-Match).
 */
static bool etag_match(const char *inm, const char *etag, bool strong)
{
	const char *p = inm;
	size_t el = strlen(etag);

	while (*p) {
		bool weak = false;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2)) {
			p += 2;
			weak = true;
		}
		if ((!strong || !weak) && !strncmp(p, etag, el) &&
		    (p[el] == '\0' || p[el] == ',' || p[el] == ' ' || p[el] == '\t'))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

/* an IMF-fixdate, or -1 */
static time_t http_date_parse(const char *s)
{
	struct tm tm = { 0 };
	char *e = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);

	return e && *e == '\0' ? timegm(&tm) : (time_t)-1;
}

/*
 * If-Range (RFC 9110 13.1.5): the range applies only if the validator is
 * the representation's own: its entity tag (strong), or its Last-Modified
 * date exactly.  Without the field it applies.
 */
static bool if_range_holds(const struct zh_request *r, const char *etag,
			   const char *lm)
{
	const char *v = r->if_range;

	while (*v == ' ' || *v == '\t')
		v++;
	if (!*v)
		return true;
	if (*v == '"' || !strncmp(v, "W/", 2))
		return !strcmp(v, etag);
	return !strcmp(v, lm);
}

/**
 * zh_respond() - decide the response to c->t->req and prepare its segments.
 * @c: the connection.
 */
void zh_respond(struct zh_conn *c)
{
	struct zh_request *r = &c->t->req;
	struct stat st;
	char etag[64], cr[96] = "";
	const char *lm;
	uint64_t off = 0, len;
	struct zh_buf b;
	int code, fd, rg;
	size_t n;

	c->file_fd = -1;
	memset(&c->acc, 0, sizeof(c->acc));
	c->seg_idx = 0;
	c->seg_off = 0;
	c->head = r->method == HTTP_HEAD;
	c->close_after = !r->keepalive || zh_draining;
	if (r->error) {
		c->close_after = true;
		error_response(c, r->error);
		return;
	}
	/* HTTP/1.x: a later minor version is answered as 1.1 (RFC 9110 2.5) */
	if (r->major != 1) {
		c->close_after = true;
		error_response(c, 505);
		return;
	}
	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		error_response(c, 405);
		return;
	}
	code = zh_resolve(r->url, r->url_len, &fd, &st);
	if (code == 301) {
		dir_redirect(c, r);
		return;
	}
	if (code) {
		error_response(c, code);
		return;
	}
	len = (uint64_t)st.st_size;
	lm = last_modified(st.st_mtime);
	zh_buf_init(&b, etag, sizeof(etag));
	zh_put(&b, "\"", 1);
	zh_put_x64(&b, (uint64_t)st.st_mtime);
	zh_put(&b, "-", 1);
	zh_put_x64(&b, (uint64_t)st.st_size);
	zh_put(&b, "\"", 1);
	zh_buf_len(&b);
	/*
	 * The preconditions in RFC 9110 13.2.2's order: If-Match, else
	 * If-Unmodified-Since (an invalid date is ignored): 412 when false;
	 * If-None-Match, else If-Modified-Since: 304 when false; If-Range.
	 */
	if (r->im[0] ? !etag_match(r->im, etag, true) :
	    (r->ius[0] && http_date_parse(r->ius) != (time_t)-1 &&
	     st.st_mtime > http_date_parse(r->ius))) {
		close(fd);
		error_response(c, 412);
		return;
	}
	if ((r->inm[0] && etag_match(r->inm, etag, false)) ||
	    (!r->inm[0] && r->ims[0] && !strcmp(r->ims, lm))) {
		c->status = 304;
	} else if (!r->inm[0] && r->ims[0]) {
		time_t ims = http_date_parse(r->ims);

		c->status = (ims != (time_t)-1 && ims >= st.st_mtime) ? 304 : 200;
	} else {
		c->status = 200;
	}
	if (c->status == 200 && r->range[0] && if_range_holds(r, etag, lm)) {
		rg = parse_range(r->range, len, &off, &len);
		if (rg < 0) {
			close(fd);
			error_response(c, 416);
			n = c->hdr_len - 2;	/* before the blank line */
			n += (size_t)snprintf(c->t->hdr + n, sizeof(c->t->hdr) - n,
					      "Content-Range: bytes */%llu\r\n\r\n",
					      (unsigned long long)st.st_size);
			c->hdr_len = n;
			zc_seg_mem(&c->seg[0], c->t->hdr, c->hdr_len);
			return;
		}
		if (rg > 0) {
			c->status = 206;
			snprintf(cr, sizeof(cr), "Content-Range: bytes %llu-%llu/%llu\r\n",
				 (unsigned long long)off,
				 (unsigned long long)(off + len - 1),
				 (unsigned long long)st.st_size);
		}
	}
	zh_buf_init(&b, c->t->hdr, sizeof(c->t->hdr));
	common_hdr(c, &b);
	if (c->status == 304) {
		zh_puts(&b, "Last-Modified: ");
		zh_puts(&b, lm);
		zh_puts(&b, "\r\nETag: ");
		zh_puts(&b, etag);
		zh_put(&b, "\r\n\r\n", 4);
		close(fd);
		c->hdr_len = zh_buf_len(&b);
		zc_seg_mem(&c->seg[0], c->t->hdr, c->hdr_len);
		c->nr_seg = 1;
		return;
	}
	zh_puts(&b, "Content-Type: ");
	zh_puts(&b, mime_type(r->url, r->url_len));
	zh_puts(&b, "\r\nContent-Length: ");
	zh_put_u64(&b, len);
	zh_puts(&b, "\r\nLast-Modified: ");
	zh_puts(&b, lm);
	zh_puts(&b, "\r\nETag: ");
	zh_puts(&b, etag);
	zh_puts(&b, "\r\nAccept-Ranges: bytes\r\n");
	zh_puts(&b, cr);
	zh_put(&b, "\r\n", 2);
	c->hdr_len = zh_buf_len(&b);
	zc_seg_mem(&c->seg[0], c->t->hdr, c->hdr_len);
	c->nr_seg = 1;
	c->off = off;
	c->len = len;
	if (!c->head && len) {
		c->file_fd = fd;
		zc_seg_file(&c->seg[1], fd, off, len);
		c->nr_seg = 2;
	} else {
		close(fd);
	}
}
