/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zcdev internal interfaces.
 */
#ifndef _ZCDEV_H
#define _ZCDEV_H

#include <linux/poll.h>
#include <linux/types.h>
#include <linux/zcdev.h>

struct file;
struct ubuf_info;

/* per open file of /dev/zcdev: the completions of its NOTIFY sends */
struct workqueue_struct;
extern struct workqueue_struct *zc_wq;

struct zcdev_ctx;
/* one NOTIFY send in flight */
struct zc_notif;

struct zcdev_ctx *zcdev_ctx_alloc(void);
void zcdev_ctx_release(struct zcdev_ctx *ctx);
ssize_t zcdev_ctx_read(struct zcdev_ctx *ctx, char __user *buf, size_t count,
		       bool nonblock);
__poll_t zcdev_ctx_poll(struct zcdev_ctx *ctx, struct file *file,
			poll_table *wait);

struct zc_notif *zc_notif_alloc(struct zcdev_ctx *ctx);
struct ubuf_info *zc_notif_ubuf(struct zc_notif *n);
void zc_notif_mark_copied(struct zc_notif *n);
u64 zc_notif_finish(struct zc_notif *n, bool sent);

int zcdev_sendfile(struct zcdev_ctx *ctx, struct zcdev_sendfile *args);
int zcdev_sendv(struct zcdev_ctx *ctx, struct zcdev_sendv *args,
		const struct zcdev_seg *segs);
int zcdev_probe(struct zcdev_probe *args);

#endif /* _ZCDEV_H */
