/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The send engine's own types, shared by its three parts:
 *  - source.c: the file side (page-cache folios, the filesystem's
 *    ->splice_read, or a copy through ->read_iter) fills a batch;
 *  - route.c:  the socket side says why bytes sent now would be copied;
 *  - send.c:   requests, the send loop and the ioctls.
 */
#ifndef _ZCDEV_ENGINE_H
#define _ZCDEV_ENGINE_H

#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/net.h>
#include <linux/types.h>
#include <linux/zcdev.h>

/* pages per batch: one socket call, one lookup round, one report unit */
#define ZC_BATCH_PAGES	256

/*
 * Source results besides 0 and -errno (positive, so that no errno of a
 * filesystem can be taken for them): a page that is not cached stopped a
 * ZCDEV_SEND_CACHED_ONLY request; a tmpfs hole.
 */
#define ZC_NOT_CACHED	1
#define ZC_HOLE		2

struct zc_batch {
	/* both arrays have room for @cap entries (<= ZC_BATCH_PAGES) */
	struct bio_vec	*bv;
	/* page references this batch holds (folios or spliced pages) */
	struct folio	**folios;
	unsigned int	cap;
	unsigned int	nr_bv;
	unsigned int	nr_folios;
	size_t		len;
	/* bv[] pages were allocated by the module (copy) */
	bool		owned;
	/* ZCDEV_WHY_* that the source adds (copied pages) */
	u32		why;
};

struct zc_notif;

/* one ioctl: the socket side, the flags and the report */
struct zc_req {
	struct socket		*sock;
	int			msg_flags;
	bool			caller_more;
	bool			strict;
	bool			cached_only;
	/* an io_uring inline issue: no ->read_folio(), no read(2) of a page */
	bool			nowait_io;
	/* ... so a read this call needed is left to a worker's issue */
	bool			read_deferred;
	/* the socket can hold page references */
	bool			sock_by_ref;
	/* NOTIFY on a socket that cannot report releases: send by copy */
	bool			notify_copy;
	/* the last send said MSG_MORE on the module's own account */
	bool			corked;
	struct zc_notif		*notif;
	/* the report */
	u64			sent;
	u64			zc_bytes;
	u64			copied_bytes;
	u32			why;
	u32			status;
	struct zc_batch		b;
};

/* how a file's bytes are read */
enum zc_src_kind {
	/* the module looks its page-cache folios up and lends them */
	ZC_SRC_CACHE,
	/* the filesystem's own ->splice_read fills the batch, as sendfile(2) */
	ZC_SRC_SPLICE,
	/* ->read_iter() into pages the module owns (O_DIRECT, DAX, no splice) */
	ZC_SRC_READ,
};

/* one file range */
struct zc_src {
	struct file		*file;
	/* ZC_SRC_CACHE: the data inode (overlayfs: the backing file's) */
	struct inode		*inode;
	struct address_space	*mapping;
	/* the file ->read_folio() is given: @file, or NULL for a backing inode */
	struct file		*rfile;
	loff_t			pos;
	loff_t			end;
	enum zc_src_kind	kind;
	/* ZC_SRC_CACHE: tmpfs (no ->read_folio; holes, swap) */
	bool			shmem;
	/* ZC_SRC_CACHE: each batch asks @file's ->read_iter() first */
	bool			read_gate;
};

/* source.c */
enum zc_src_kind zc_src_kind(struct file *file);
void zc_src_init(struct zc_src *src, struct file *file, loff_t pos,
		 u64 count);
int zc_src_at_eof(struct zc_src *src);
int zc_src_fill(struct zc_req *req, struct zc_src *src);
void zc_src_accessed(struct zc_src *src, loff_t start);
void zc_batch_release(struct zc_batch *b);
u32 zc_src_probe_why(struct file *file, loff_t pos);

/* route.c (and zc_sk_plain_tcp(), declared in compat.h) */
int zc_check_socket(struct socket *sock, bool *by_ref);
bool zc_sock_can_notify(struct socket *sock);
u32 zc_sock_why(struct zc_req *req);

#endif /* _ZCDEV_ENGINE_H */
