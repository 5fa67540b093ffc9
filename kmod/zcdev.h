/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zcdev internal interfaces.
 */
#ifndef _ZCDEV_H
#define _ZCDEV_H

#include <linux/bits.h>
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

/*
 * How a send may wait (zcdev_sendfile()'s and zcdev_sendv()'s @kflags; 0
 * for the ioctl, which
 * waits as the socket and the file make it):
 *  ZC_KF_DONTWAIT:  never wait for room in the socket (MSG_DONTWAIT);
 *  ZC_KF_NOWAIT_IO: never wait for the disk; if nothing could be sent
 *                   without it, return ZC_RETRY_BLOCKING (before anything
 *                   was sent) so that the caller retries where it may wait.
 */
#define ZC_KF_DONTWAIT		BIT(0)
#define ZC_KF_NOWAIT_IO		BIT(1)
/* positive, so that no -errno can be taken for it */
#define ZC_RETRY_BLOCKING	1

int zcdev_sendfile(struct zcdev_ctx *ctx, struct zcdev_sendfile *args,
		   u32 kflags);
long zcdev_sendfile_user(struct zcdev_ctx *ctx, unsigned int cmd,
			 void __user *uarg, u32 kflags,
			 struct zcdev_sendfile *args);

/* uring.c: IORING_OP_URING_CMD on /dev/zcdev */
struct io_uring_cmd;
int zcdev_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags);
int zcdev_sendv(struct zcdev_ctx *ctx, struct zcdev_sendv *args,
		const struct zcdev_seg *segs, u32 kflags);
long zcdev_sendv_user(struct zcdev_ctx *ctx, unsigned int cmd,
		      void __user *uarg, u32 kflags, struct zcdev_sendv *args);
int zcdev_probe(struct zcdev_probe *args);

#endif /* _ZCDEV_H */
