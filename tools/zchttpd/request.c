// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: request parsing with libhttp-parser (one message at a time:
 * the parser is paused at the end of each, which is what pipelining needs).
 */
#include <limits.h>
#include <string.h>
#include <strings.h>
#include "zchttpd.h"

enum { H_NONE, H_RANGE, H_IMS, H_INM, H_IM, H_IUS, H_IF_RANGE, H_HOST,
       H_REFERER, H_UA };

static struct zh_conn *conn_of(http_parser *p)
{
	return p->data;
}

/**
 * zh_request_reset() - empty a request's strings and state.
 * @r: the request.
 *
 * Every field back to its start, the strings emptied, not cleared (5 KiB
 * a request).
 */
void zh_request_reset(struct zh_request *r)
{
	r->url[0] = r->range[0] = r->ims[0] = r->inm[0] = '\0';
	r->im[0] = r->ius[0] = r->if_range[0] = '\0';
	r->nr_host = 0;
	r->begun = false;
	r->referer[0] = r->ua[0] = r->hdr_name[0] = '\0';
	r->url_len = 0;
	r->hdr_field = 0;
	r->hdr_name_len = 0;
	r->hdr_name_long = false;
	r->nr_headers = 0;
	r->hdr_bytes = 0;
	r->error = 0;
	r->complete = false;
	r->keepalive = false;
	r->method = 0;
	r->major = r->minor = 0;
}

static int on_begin(http_parser *p)
{
	struct zh_request *r = &conn_of(p)->t->req;

	zh_request_reset(r);
	r->begun = true;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct zh_request *r = &conn_of(p)->t->req;

	r->method = p->method;		/* known once the target begins */
	if (r->url_len + len > ZH_URL_MAX) {
		r->error = 414;
		http_parser_pause(p, 1);
		return 0;
	}
	memcpy(r->url + r->url_len, at, len);
	r->url_len += len;
	r->url[r->url_len] = '\0';
	return 0;
}

static void copy_val(char *dst, size_t size, const char *at, size_t len)
{
	size_t have = strlen(dst);

	if (have + len >= size)
		len = size - 1 - have;
	memcpy(dst + have, at, len);
	dst[have + len] = '\0';
}

static int on_field(http_parser *p, const char *at, size_t len)
{
	struct zh_request *r = &conn_of(p)->t->req;

	r->major = p->http_major;	/* the request line is behind us */
	r->minor = p->http_minor;
	if (r->hdr_field != -1) {	/* a new header begins */
		r->nr_headers++;
		r->hdr_name_len = 0;
		r->hdr_name_long = false;
		r->hdr_field = -1;
		if (r->nr_headers > zh_cfg.header_count_max) {
			r->error = 431;
			http_parser_pause(p, 1);
			return 0;
		}
	}
	if (r->hdr_name_len + len >= sizeof(r->hdr_name)) {
		r->hdr_name_long = true;
		return 0;
	}
	memcpy(r->hdr_name + r->hdr_name_len, at, len);
	r->hdr_name_len += len;
	r->hdr_name[r->hdr_name_len] = '\0';
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
	struct zh_request *r = &conn_of(p)->t->req;

	if (r->hdr_field == -1) {
		const char *n = r->hdr_name;

		r->hdr_field = H_NONE;
		if (r->hdr_name_long)
			;
		else if (!strcasecmp(n, "range"))
			r->hdr_field = H_RANGE;
		else if (!strcasecmp(n, "if-modified-since"))
			r->hdr_field = H_IMS;
		else if (!strcasecmp(n, "if-none-match"))
			r->hdr_field = H_INM;
		else if (!strcasecmp(n, "if-match"))
			r->hdr_field = H_IM;
		else if (!strcasecmp(n, "if-unmodified-since"))
			r->hdr_field = H_IUS;
		else if (!strcasecmp(n, "if-range"))
			r->hdr_field = H_IF_RANGE;
		else if (!strcasecmp(n, "host"))
			r->hdr_field = H_HOST;
		if (r->hdr_field == H_HOST)
			r->nr_host++;	/* once per field, not per value chunk */
		else if (!strcasecmp(n, "referer"))
			r->hdr_field = H_REFERER;
		else if (!strcasecmp(n, "user-agent"))
			r->hdr_field = H_UA;
	}
	switch (r->hdr_field) {
	case H_RANGE: copy_val(r->range, sizeof(r->range), at, len); break;
	case H_IMS: copy_val(r->ims, sizeof(r->ims), at, len); break;
	case H_INM: copy_val(r->inm, sizeof(r->inm), at, len); break;
	case H_IM: copy_val(r->im, sizeof(r->im), at, len); break;
	case H_IUS: copy_val(r->ius, sizeof(r->ius), at, len); break;
	case H_IF_RANGE: copy_val(r->if_range, sizeof(r->if_range), at, len); break;
	case H_REFERER: copy_val(r->referer, sizeof(r->referer), at, len); break;
	case H_UA: copy_val(r->ua, sizeof(r->ua), at, len); break;
	default: break;
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct zh_conn *c = conn_of(p);
	struct zh_request *r = &c->t->req;

	r->method = p->method;
	r->major = p->http_major;
	r->minor = p->http_minor;
	r->keepalive = http_should_keep_alive(p);
	/* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host field */
	if (!r->error && (r->major > 1 || (r->major == 1 && r->minor >= 1)) &&
	    r->nr_host != 1)
		r->error = 400;
	if ((p->flags & F_CHUNKED) ||
	    (p->content_length > 0 && p->content_length != ULLONG_MAX)) {
		/* A static server takes no request bodies. */
		r->error = 413;
		http_parser_pause(p, 1);
	}
	return 0;
}

static int on_complete(http_parser *p)
{
	conn_of(p)->t->req.complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_begin,
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_headers_complete,
	.on_message_complete = on_complete,
};

/**
 * zh_request_init() - prepare a connection's parser.
 * @c: the connection (its request is emptied when zh_conn_inbuf_get()
 *     gives it one).
 */
void zh_request_init(struct zh_conn *c)
{
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
}

/**
 * zh_request_feed() - parse buffered bytes up to the end of one request.
 * @c: the connection (c->t->req.complete or c->t->req.error set when done).
 * @buf: bytes.
 * @len: their number.
 *
 * Return: bytes consumed.
 */
size_t zh_request_feed(struct zh_conn *c, const char *buf, size_t len)
{
	struct zh_request *r = &c->t->req;
	size_t n;

	if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED)
		http_parser_pause(&c->parser, 0);
	n = http_parser_execute(&c->parser, &settings, buf, len);
	if (r->error || r->complete)
		return n;
	if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK &&
	    HTTP_PARSER_ERRNO(&c->parser) != HPE_PAUSED) {
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

		r->error = e == HPE_INVALID_VERSION ? 505 :
			   e == HPE_HEADER_OVERFLOW ? 431 : 400;
		return n;
	}
	r->hdr_bytes += n;
	if (r->hdr_bytes >= (size_t)zh_cfg.header_max)
		r->error = r->url_len > (size_t)zh_cfg.header_max / 2 ? 414 : 431;
	return n;
}
