/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zchttpd - a static HTTP/1.1 server on libzc.  Shared declarations.
 */
#ifndef ZCHTTPD_H
#define ZCHTTPD_H

#include <pthread.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <http_parser.h>
#include <zc.h>

#define ZH_MAX_LISTEN	8
#define ZH_URL_MAX	4096
/* warmings without progress before a send may wait for the disk */
#define ZH_COLD_ROUNDS	4
/* request buffers a worker keeps for its next readers */
#define ZH_SPARE_BUFS	32

struct zh_config {
	const char *root;
	const char *listen[ZH_MAX_LISTEN];
	bool listen_tls[ZH_MAX_LISTEN];	/* HTTPS on this one */
	int nr_listen;
	const char *cert, *key;		/* PEM files for TLS */
	bool no_ktls;			/* no SSL_OP_ENABLE_KTLS */
	const char *status_listen;	/* NULL: none */
	const char *access_log;		/* NULL or "-": stderr */
	const char *user;		/* NULL: keep */
	int workers;
	int max_conns;
	int header_max;			/* bytes of request line + headers */
	int header_count_max;
	int header_timeout;		/* seconds */
	int send_timeout;
	int keepalive_timeout;
	int drain_timeout;
	int pool_threads;
	bool follow_symlinks;
	bool fallback;			/* ZC_OPEN_FALLBACK */
};

/* One parsed request (what the response needs). */
/* (a field added here is reset in request.c's zh_request_reset()) */
struct zh_request {
	char url[ZH_URL_MAX + 1];
	size_t url_len;
	char range[128];
	char ims[64];
	char inm[256];
	char im[256];			/* If-Match */
	char ius[64];			/* If-Unmodified-Since */
	char if_range[128];
	int nr_host;			/* Host fields */
	bool begun;			/* the parser saw a request begin */
	char referer[256];
	char ua[256];
	int hdr_field;			/* which header the value belongs to */
	char hdr_name[32];
	size_t hdr_name_len;
	bool hdr_name_long;
	int nr_headers;
	size_t hdr_bytes;
	int error;			/* HTTP status to answer instead, or 0 */
	bool complete;
	bool keepalive;
	unsigned int method;
	unsigned short major, minor;
};

/*
 * What a connection needs only while a request is read or answered: the
 * request's strings, the response header and error body, and the request
 * buffer (--header-max bytes + 1).  An idle keep-alive connection gives it
 * back (zh_conn_inbuf_put()), as nginx frees its request's memory, and the
 * worker keeps a few for the next reader.
 */
struct zh_txn {
	struct zh_request req;
	char hdr[1024];
	char body[512];			/* error bodies */
	char in[];			/* the request buffer */
};

/*
 * ZH_LINGER: the last response went out and our side is shut down; what
 * the client still sends is read and dropped until it closes (or
 * ZH_LINGER_TIMEOUT without a byte, ZH_LINGER_TIME in all), so that a
 * close() with unread bytes (a reset) cannot destroy the response in
 * flight (nginx's lingering_close).
 */
enum zh_state { ZH_HANDSHAKE, ZH_READ, ZH_WRITE, ZH_WARM, ZH_LINGER };
#define ZH_LINGER_TIMEOUT	5
#define ZH_LINGER_TIME		30

struct zh_worker;

/*
 * Lifetime: a connection is referenced by its worker's list (from accept
 * to zh_conn_close()) and by the warming pool while it is queued there or
 * being warmed (zh_pool_warm() to the worker taking it back).  The last
 * zh_conn_put() moves it to the worker's graveyard, freed after the event
 * batch being handled (an event already fetched may still name it).  Only
 * the worker thread touches a connection, except the pool, which reads
 * c->warm and c->w only.  A closed connection is "dead": its socket is
 * closed, its file stays open until it is freed (the pool may read it).
 */
struct zh_conn {
	int fd;				/* the socket; -1 once closed */
	struct zh_worker *w;
	struct zh_conn *prev, *next;	/* w->conns, or w->graveyard (next) */
	struct zh_conn *ret_next;	/* the pool's queue, then w->ret */
	unsigned int refs;
	bool dead;
	enum zh_state state;
	char peer[INET6_ADDRSTRLEN];
	struct zh_txn *t;		/* while a request is read or answered */
	size_t in_len;
	bool rd_drained;		/* a read took all the socket had (plain TCP) */
	bool rd_eof;			/* EPOLLRDHUP/HUP/ERR seen: read to the end */
	http_parser parser;
	time_t req_start;		/* first byte of the request seen */
	time_t last;			/* last progress */
	/* response */
	int status;
	size_t hdr_len;
	int file_fd;
	uint64_t off, len;
	struct zcdev_seg seg[2];
	unsigned int nr_seg, seg_idx;
	uint64_t seg_off;
	struct zc_result acc;
	unsigned int cold_rounds;	/* warmings without progress */
	struct { int fd; uint64_t off, len; } warm;	/* for the pool */
	bool close_after;
	bool head;
	/* TLS (tls.c): NULL for plain HTTP */
	struct ssl_st *ssl;
	bool ktls_tx;			/* the kernel encrypts what we send */
	char *tbuf;			/* SSL_write() fallback: a record */
	size_t tb_off, tb_len;
};

struct zh_worker {
	int id;
	int epfd;
	int lfd[ZH_MAX_LISTEN];
	int nr_lfd;
	int evfd;			/* eventfd: pool returns, drain */
	pthread_mutex_t ret_lock;
	struct zh_conn *ret;		/* returned by the pool */
	struct zh_conn *conns;
	struct zh_conn *graveyard;
	int nr_conns;
	int in_pool;			/* connections the pool holds */
	struct zh_txn *spare[ZH_SPARE_BUFS];	/* what idle connections gave back */
	int nr_spare;
	bool listening;
	time_t accept_paused;		/* out of descriptors since, or 0 */
};

extern struct zh_config zh_cfg;
extern struct zc *zh_zc;
extern int zh_root_fd;
extern volatile int zh_draining;
extern int zh_workers_running;

/* config.c */
int zh_parse_args(int argc, char **argv);
int zh_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* request.c */
void zh_request_init(struct zh_conn *c);
void zh_request_reset(struct zh_request *r);
size_t zh_request_feed(struct zh_conn *c, const char *buf, size_t len);

/* path.c */
int zh_resolve(const char *url, size_t url_len, int *fd, struct stat *st);

/* fmt.c: appending to a buffer, truncating when it is full */
struct zh_buf {
	char *start, *p, *end;		/* end: the byte kept for the NUL */
};
void zh_buf_init(struct zh_buf *b, char *buf, size_t size);
size_t zh_buf_len(struct zh_buf *b);
void zh_put(struct zh_buf *b, const char *s, size_t n);
void zh_puts(struct zh_buf *b, const char *s);
void zh_put_u64(struct zh_buf *b, uint64_t v);
void zh_put_x64(struct zh_buf *b, uint64_t v);
size_t zh_http_date(time_t t, char *buf, size_t size);

/* response.c */
void zh_respond(struct zh_conn *c);
const char *zh_reason(int status);

/* send.c */
int zh_send(struct zh_conn *c);

/* pool.c */
int zh_pool_start(int n);
void zh_pool_stop(void);
void zh_pool_warm(struct zh_conn *c);
extern unsigned long zh_pool_warmings;

/* tls.c */
int zh_tls_init(void);
int zh_tls_new(struct zh_conn *c);
int zh_tls_handshake(struct zh_conn *c);
ssize_t zh_conn_recv(struct zh_conn *c, void *buf, size_t len);
int zh_tls_send(struct zh_conn *c);
void zh_tls_close_notify(struct zh_conn *c);
void zh_tls_free(struct zh_conn *c);

/* conn.c */
int zh_accept_all(struct zh_worker *w, int lfd, bool tls);
void zh_conn_get(struct zh_conn *c);
void zh_conn_put(struct zh_conn *c);
void zh_conn_close(struct zh_conn *c);
void zh_conn_reap(struct zh_worker *w);
int zh_conn_inbuf_get(struct zh_conn *c);
void zh_conn_inbuf_put(struct zh_conn *c);
void zh_conn_requeue(struct zh_conn *c);
void zh_worker_wake(struct zh_worker *w);

/* log.c */
int zh_log_open(void);
bool zh_log_to_stderr(void);
int zh_log_open_path(void);
int zh_logd_start(void);
int zh_logd_open(void);
void zh_log_reopen(void);
void zh_log_access(const struct zh_conn *c);
void zh_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* status.c */
void zh_stats_add(const struct zh_conn *c);
int zh_status_start(int fd);

/* loop.c */
int zh_worker_init(struct zh_worker *w, int id);
void *zh_worker_run(void *arg);
int zh_listen_socket(const char *addr);
extern int zh_nr_conns;

#endif
