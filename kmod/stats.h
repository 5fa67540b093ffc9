/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zcdev counters (sysfs) and the zcdev_send tracepoint.
 *
 * The send engine calls these hooks; they never fail and never sleep, so
 * they may be called from any context the engine runs in (process context,
 * socket lock not held).  zcdev_stats_notify() may be called from any
 * context, including softirq.
 */
#ifndef _ZCDEV_STATS_H
#define _ZCDEV_STATS_H

#include <linux/net.h>
#include <linux/sysfs.h>
#include <linux/types.h>
#include <linux/zcdev.h>

struct file;

/* one batch the socket accepted: @n bytes, copied for @why (0: by reference) */
void zcdev_stats_bytes(u32 why, size_t n);

/*
 * One ZCDEV_IOC_SENDFILE call, when it ends; @file and @sock are NULL if
 * they could not be looked up.  @ret is what the ioctl returns.
 */
void zcdev_stats_sendfile(struct file *file, struct socket *sock,
			  const struct zcdev_sendfile *args, int ret);

/* One ZCDEV_IOC_SENDV call, when it ends; @asked: sum of segment lengths. */
void zcdev_stats_sendv(struct socket *sock, const struct zcdev_sendv *args,
		       u64 asked, int ret);

/* One ZCDEV_IOC_PROBE call. */
void zcdev_stats_probe(int ret);

/* A completion was queued (ZCDEV_SEND_NOTIFY); @copied: ZCDEV_COMPL_COPIED. */
void zcdev_stats_notify(bool copied);

/* sysfs attribute groups of the misc device (NULL-terminated) */
extern const struct attribute_group *zcdev_attr_groups[];

#endif /* _ZCDEV_STATS_H */
