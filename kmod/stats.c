// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev counters and the zcdev_send tracepoint.
 *
 * Counters are per-CPU u64s, only ever added to (this_cpu_add(), safe
 * against preemption and against the softirq completions of
 * zcdev_stats_notify()), and summed over the possible CPUs when a file of
 * /sys/class/misc/zcdev/stats/ is read.  They start at 0 when the module
 * is loaded.  A sum read while sends are running may include part of a
 * call (its bytes but not yet its call count); read between calls it is
 * exact.  (A u64 is read in one load on 64-bit kernels; on a 32-bit one a
 * read racing with an add could see a torn value.)
 */
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/sysfs.h>
#include <net/sock.h>

#include "stats.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* the counters; each is the file stats/<name in lower case> */
enum zc_stat {
	ZC_STAT_CALLS_SENDFILE,
	ZC_STAT_CALLS_SENDV,
	ZC_STAT_CALLS_PROBE,
	ZC_STAT_ERRORS,
	ZC_STAT_STRICT_REFUSED,
	ZC_STAT_NOT_CACHED,
	ZC_STAT_BYTES_SENT,
	ZC_STAT_BYTES_ZEROCOPY,
	ZC_STAT_BYTES_COPIED,
	ZC_STAT_BYTES_WHY_NO_SG,
	ZC_STAT_BYTES_WHY_NO_CSUM,
	ZC_STAT_BYTES_WHY_KTLS,
	ZC_STAT_BYTES_WHY_NO_PAGECACHE,
	ZC_STAT_BYTES_WHY_SOCKET,
	ZC_STAT_BYTES_WHY_XFRM,
	ZC_STAT_BYTES_WHY_HOLE,
	ZC_STAT_BYTES_WHY_MEMORY,
	ZC_STAT_BYTES_WHY_NOTIFY,
	ZC_STAT_BYTES_WHY_ROUTE,
	ZC_STAT_BYTES_WHY_DEVICE,
	ZC_STAT_BYTES_WHY_BOUNCE,
	ZC_STAT_NOTIFY_COMPLETIONS,
	ZC_STAT_NOTIFY_COPIED,
	ZC_STAT_NR
};

/* ZCDEV_WHY_* bit -> its bytes_why_* counter */
static const struct {
	u32		bit;
	enum zc_stat	stat;
} zc_why_stats[] = {
	{ ZCDEV_WHY_NO_SG,		ZC_STAT_BYTES_WHY_NO_SG },
	{ ZCDEV_WHY_NO_CSUM,		ZC_STAT_BYTES_WHY_NO_CSUM },
	{ ZCDEV_WHY_KTLS,		ZC_STAT_BYTES_WHY_KTLS },
	{ ZCDEV_WHY_NO_PAGECACHE,	ZC_STAT_BYTES_WHY_NO_PAGECACHE },
	{ ZCDEV_WHY_SOCKET,		ZC_STAT_BYTES_WHY_SOCKET },
	{ ZCDEV_WHY_XFRM,		ZC_STAT_BYTES_WHY_XFRM },
	{ ZCDEV_WHY_HOLE,		ZC_STAT_BYTES_WHY_HOLE },
	{ ZCDEV_WHY_MEMORY,		ZC_STAT_BYTES_WHY_MEMORY },
	{ ZCDEV_WHY_NOTIFY,		ZC_STAT_BYTES_WHY_NOTIFY },
	{ ZCDEV_WHY_ROUTE,		ZC_STAT_BYTES_WHY_ROUTE },
	{ ZCDEV_WHY_DEVICE,		ZC_STAT_BYTES_WHY_DEVICE },
	{ ZCDEV_WHY_BOUNCE,		ZC_STAT_BYTES_WHY_BOUNCE },
};

struct zc_stats {
	u64	v[ZC_STAT_NR];
};

static DEFINE_PER_CPU(struct zc_stats, zc_stats);

static void zc_stat_add(enum zc_stat stat, u64 n)
{
	this_cpu_add(zc_stats.v[stat], n);
}

static u64 zc_stat_sum(enum zc_stat stat)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(&zc_stats, cpu)->v[stat]);
	return sum;
}

void zcdev_stats_bytes(u32 why, size_t n)
{
	unsigned int i;

	/* every reason the ABI knows has its counter */
	BUILD_BUG_ON(hweight32(ZCDEV_WHY_ALL) != ARRAY_SIZE(zc_why_stats));

	zc_stat_add(ZC_STAT_BYTES_SENT, n);
	if (!why) {
		zc_stat_add(ZC_STAT_BYTES_ZEROCOPY, n);
		return;
	}
	zc_stat_add(ZC_STAT_BYTES_COPIED, n);
	for (i = 0; i < ARRAY_SIZE(zc_why_stats); i++) {
		if (why & zc_why_stats[i].bit)
			zc_stat_add(zc_why_stats[i].stat, n);
	}
}

/* the counters every sending call moves */
static void zc_stats_call(enum zc_stat calls, u32 flags, u32 why, u32 status,
			  int ret)
{
	zc_stat_add(calls, 1);
	if (ret < 0)
		zc_stat_add(ZC_STAT_ERRORS, 1);
	/* a refusal has a reason; a socket's own -EOPNOTSUPP has none */
	if (ret == -EOPNOTSUPP && (flags & ZCDEV_SEND_STRICT) && why)
		zc_stat_add(ZC_STAT_STRICT_REFUSED, 1);
	if (status & ZCDEV_STATUS_NOT_CACHED)
		zc_stat_add(ZC_STAT_NOT_CACHED, 1);
}

static u64 zc_sock_ino(struct socket *sock)
{
	return sock ? SOCK_INODE(sock)->i_ino : 0;
}

void zcdev_stats_sendfile(struct file *file, struct socket *sock,
			  const struct zcdev_sendfile *args, int ret)
{
	zc_stats_call(ZC_STAT_CALLS_SENDFILE, args->flags, args->why,
		      args->status, ret);

	if (trace_zcdev_send_enabled()) {
		struct zc_trace_send t = {
			.cmd		= "sendfile",
			.sock_ino	= zc_sock_ino(sock),
			.offset		= args->offset,
			.len		= args->len,
			.nr_segs	= 1,
			.sent		= args->sent,
			.zc_bytes	= args->zc_bytes,
			.copied_bytes	= args->copied_bytes,
			.path		= args->path,
			.why		= args->why,
			.status		= args->status,
			.ret		= ret,
		};

		if (file) {
			struct inode *inode = file_inode(file);

			t.dev = inode->i_sb->s_dev;
			t.ino = inode->i_ino;
		}
		trace_zcdev_send(&t);
	}
}

void zcdev_stats_sendv(struct socket *sock, const struct zcdev_sendv *args,
		       u64 asked, int ret)
{
	zc_stats_call(ZC_STAT_CALLS_SENDV, args->flags, args->why, args->status,
		      ret);

	if (trace_zcdev_send_enabled()) {
		struct zc_trace_send t = {
			.cmd		= "sendv",
			.sock_ino	= zc_sock_ino(sock),
			.len		= asked,
			.nr_segs	= args->nr_segs,
			.sent		= args->sent,
			.zc_bytes	= args->zc_bytes,
			.copied_bytes	= args->copied_bytes,
			.path		= args->path,
			.why		= args->why,
			.status		= args->status,
			.ret		= ret,
		};

		trace_zcdev_send(&t);
	}
}

void zcdev_stats_probe(int ret)
{
	zc_stat_add(ZC_STAT_CALLS_PROBE, 1);
	if (ret < 0)
		zc_stat_add(ZC_STAT_ERRORS, 1);
}

void zcdev_stats_notify(bool copied)
{
	zc_stat_add(ZC_STAT_NOTIFY_COMPLETIONS, 1);
	if (copied)
		zc_stat_add(ZC_STAT_NOTIFY_COPIED, 1);
}

/* ---- /sys/class/misc/zcdev/stats/ ---------------------------------------- */

static ssize_t zc_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf);

/* one read-only file per counter; a file's counter is its index here */
#define ZC_STAT_ATTR(stat, name)					\
	[ZC_STAT_##stat] = __ATTR(name, 0444, zc_stat_show, NULL)

static struct device_attribute zc_stat_dev_attrs[ZC_STAT_NR] = {
	ZC_STAT_ATTR(CALLS_SENDFILE, calls_sendfile),
	ZC_STAT_ATTR(CALLS_SENDV, calls_sendv),
	ZC_STAT_ATTR(CALLS_PROBE, calls_probe),
	ZC_STAT_ATTR(ERRORS, errors),
	ZC_STAT_ATTR(STRICT_REFUSED, strict_refused),
	ZC_STAT_ATTR(NOT_CACHED, not_cached),
	ZC_STAT_ATTR(BYTES_SENT, bytes_sent),
	ZC_STAT_ATTR(BYTES_ZEROCOPY, bytes_zerocopy),
	ZC_STAT_ATTR(BYTES_COPIED, bytes_copied),
	ZC_STAT_ATTR(BYTES_WHY_NO_SG, bytes_why_no_sg),
	ZC_STAT_ATTR(BYTES_WHY_NO_CSUM, bytes_why_no_csum),
	ZC_STAT_ATTR(BYTES_WHY_KTLS, bytes_why_ktls),
	ZC_STAT_ATTR(BYTES_WHY_NO_PAGECACHE, bytes_why_no_pagecache),
	ZC_STAT_ATTR(BYTES_WHY_SOCKET, bytes_why_socket),
	ZC_STAT_ATTR(BYTES_WHY_XFRM, bytes_why_xfrm),
	ZC_STAT_ATTR(BYTES_WHY_HOLE, bytes_why_hole),
	ZC_STAT_ATTR(BYTES_WHY_MEMORY, bytes_why_memory),
	ZC_STAT_ATTR(BYTES_WHY_NOTIFY, bytes_why_notify),
	ZC_STAT_ATTR(BYTES_WHY_ROUTE, bytes_why_route),
	ZC_STAT_ATTR(BYTES_WHY_DEVICE, bytes_why_device),
	ZC_STAT_ATTR(BYTES_WHY_BOUNCE, bytes_why_bounce),
	ZC_STAT_ATTR(NOTIFY_COMPLETIONS, notify_completions),
	ZC_STAT_ATTR(NOTIFY_COPIED, notify_copied),
};

static struct attribute *zc_stat_attrs[] = {
	&zc_stat_dev_attrs[ZC_STAT_CALLS_SENDFILE].attr,
	&zc_stat_dev_attrs[ZC_STAT_CALLS_SENDV].attr,
	&zc_stat_dev_attrs[ZC_STAT_CALLS_PROBE].attr,
	&zc_stat_dev_attrs[ZC_STAT_ERRORS].attr,
	&zc_stat_dev_attrs[ZC_STAT_STRICT_REFUSED].attr,
	&zc_stat_dev_attrs[ZC_STAT_NOT_CACHED].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_SENT].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_ZEROCOPY].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_COPIED].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_NO_SG].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_NO_CSUM].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_KTLS].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_NO_PAGECACHE].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_SOCKET].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_XFRM].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_HOLE].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_MEMORY].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_NOTIFY].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_ROUTE].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_DEVICE].attr,
	&zc_stat_dev_attrs[ZC_STAT_BYTES_WHY_BOUNCE].attr,
	&zc_stat_dev_attrs[ZC_STAT_NOTIFY_COMPLETIONS].attr,
	&zc_stat_dev_attrs[ZC_STAT_NOTIFY_COPIED].attr,
	NULL,
};

static ssize_t zc_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	enum zc_stat stat = attr - zc_stat_dev_attrs;

	BUILD_BUG_ON(ARRAY_SIZE(zc_stat_attrs) != ZC_STAT_NR + 1);
	return sysfs_emit(buf, "%llu\n", zc_stat_sum(stat));
}

static const struct attribute_group zc_stats_group = {
	.name	= "stats",
	.attrs	= zc_stat_attrs,
};

const struct attribute_group *zcdev_attr_groups[] = {
	&zc_stats_group,
	NULL,
};
