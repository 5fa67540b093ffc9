// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: HTTPS with OpenSSL 3.  The handshake runs in user space with
 * SSL_OP_ENABLE_KTLS; when BIO_get_ktls_send() then says the kernel holds
 * the transmit keys, responses go through zc_sendv() on the socket as for
 * plain HTTP (the kernel encrypts: the module reports the bytes copied,
 * reason ktls).  Otherwise (a cipher or kernel without kTLS) they go
 * through SSL_write(), the file read into a buffer in the worker, and the
 * access log says tls=ssl_write.  Requests are always read with SSL_read().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "zchttpd.h"

#define TLS_BUF		16384	/* one TLS record */

static SSL_CTX *ctx;

/**
 * zh_tls_init() - the server context, when a TLS listener is configured.
 *
 * Return: 0 or -EINVAL (the reason is on the error log).
 */
int zh_tls_init(void)
{
	if (!zh_cfg.cert || !zh_cfg.key) {
		zh_err("a TLS listener needs --cert and --key");
		return -EINVAL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		goto err;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (!zh_cfg.no_ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* no TLS 1.3 session tickets: nothing is written after the handshake
	 * but our own responses (they may bypass OpenSSL on a kTLS socket)
	 */
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, zh_cfg.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, zh_cfg.key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto err_ctx;
	return 0;

err_ctx:
	SSL_CTX_free(ctx);
	ctx = NULL;
err:
	zh_err("TLS: %s", ERR_reason_error_string(ERR_get_error()));
	return -EINVAL;
}

/**
 * zh_tls_new() - a server-side TLS session on an accepted socket.
 * @c: the connection (c->fd set).
 *
 * Return: 0 or -ENOMEM.
 */
int zh_tls_new(struct zh_conn *c)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl)
		return -ENOMEM;
	if (SSL_set_fd(c->ssl, c->fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -ENOMEM;
	}
	SSL_set_accept_state(c->ssl);
	return 0;
}

/* SSL_get_error() as read(2)'s convention: 0 to wait, -1 for an error. */
static int wait_or_fail(struct zh_conn *c, int ret)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		ERR_clear_error();
		return -1;
	}
}

/**
 * zh_tls_handshake() - progress the handshake.
 * @c: the connection.
 *
 * Return: 1 when done (c->ktls_tx says whether the kernel has the keys),
 * 0 to wait for the socket, -1 to close.
 */
int zh_tls_handshake(struct zh_conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	if (r != 1)
		return wait_or_fail(c, r) ? -1 : 0;
	c->ktls_tx = BIO_get_ktls_send(SSL_get_wbio(c->ssl)) == 1;
	return 1;
}

/**
 * zh_conn_recv() - read request bytes, through TLS when there is.
 * @c: the connection.
 * @buf: where.
 * @len: at most.
 *
 * Return: as read(2): bytes, 0 at EOF, -1 with errno (EAGAIN: wait).
 */
ssize_t zh_conn_recv(struct zh_conn *c, void *buf, size_t len)
{
	int r;

	if (!c->ssl)
		return read(c->fd, buf, len);
	if (!len)
		return 0;
	r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

/* The next bytes of the response into c->tbuf; false at its end. */
static int fill(struct zh_conn *c)
{
	while (c->seg_idx < c->nr_seg) {
		const struct zcdev_seg *s = &c->seg[c->seg_idx];
		uint64_t left = s->len - c->seg_off;
		size_t want = left < TLS_BUF ? (size_t)left : TLS_BUF;
		ssize_t n;

		if (!left) {
			c->seg_idx++;
			c->seg_off = 0;
			continue;
		}
		if (s->type == ZCDEV_SEG_MEM) {
			memcpy(c->tbuf, (const char *)(uintptr_t)s->addr + c->seg_off, want);
			n = (ssize_t)want;
		} else {
			n = pread(s->file_fd, c->tbuf, want, (off_t)(s->offset + c->seg_off));
			if (n <= 0)
				return -EIO;	/* the file shrank: framing is lost */
		}
		c->seg_off += (uint64_t)n;
		c->tb_off = 0;
		c->tb_len = (size_t)n;
		return 1;
	}
	return 0;
}

/**
 * zh_tls_send() - send what is left of the response with SSL_write()
 * (no kTLS on this connection).
 * @c: the connection.
 *
 * Return: as zh_send(): 1 when complete, 0 to wait for EPOLLOUT, a
 * negative errno to close.
 */
int zh_tls_send(struct zh_conn *c)
{
	if (!c->tbuf) {
		c->tbuf = malloc(TLS_BUF);
		if (!c->tbuf)
			return -ENOMEM;
	}
	for (;;) {
		int r;

		if (c->tb_off == c->tb_len) {
			r = fill(c);
			if (r <= 0)
				return r < 0 ? r : 1;
		}
		r = SSL_write(c->ssl, c->tbuf + c->tb_off, (int)(c->tb_len - c->tb_off));
		if (r <= 0)
			return wait_or_fail(c, r) ? -EIO : 0;
		c->tb_off += (size_t)r;
		c->acc.sent += (uint64_t)r;
		c->acc.copied_bytes += (uint64_t)r;	/* we copied them */
		c->acc.path = ZCDEV_PATH_COPY;
		c->acc.calls++;
		c->last = time(NULL);
	}
}

/**
 * zh_tls_close_notify() - send close_notify before our side shuts down.
 * @c: the connection (nothing happens without TLS).
 */
void zh_tls_close_notify(struct zh_conn *c)
{
	if (c->ssl && SSL_shutdown(c->ssl) < 0)
		ERR_clear_error();
}

/**
 * zh_tls_free() - free the connection's TLS state.
 * @c: the connection.
 */
void zh_tls_free(struct zh_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	free(c->tbuf);
	c->tbuf = NULL;
}
