/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The zcdev_send tracepoint: one event per ZCDEV_IOC_SENDFILE or
 * ZCDEV_IOC_SENDV call, when it ends (fired from the hooks in stats.c).
 *
 * /sys/kernel/tracing/events/zcdev/zcdev_send/{enable,filter,format}
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM zcdev

#if !defined(_ZCDEV_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _ZCDEV_TRACE_H

#include <linux/tracepoint.h>
#include <linux/kdev_t.h>
#include <linux/types.h>
#include <linux/zcdev.h>

#include "compat.h"

#ifndef _ZCDEV_TRACE_TYPES
#define _ZCDEV_TRACE_TYPES
/*
 * struct zc_trace_send - what one zcdev_send event records
 * @cmd:      "sendfile" or "sendv"
 * @dev:      the file's superblock device (0: sendv, or no file)
 * @ino:      the file's inode number (0: sendv, or no file)
 * @sock_ino: the socket's inode number (0: no socket)
 * @offset:   file offset asked for (sendv: 0)
 * @len:      bytes asked for (sendv: the sum of the segment lengths)
 * @nr_segs:  1 for sendfile, the number of segments for sendv
 * @sent, @zc_bytes, @copied_bytes, @path, @why, @status: the call's report
 * @ret:      what the call returns (0 or -errno)
 */
struct zc_trace_send {
	const char	*cmd;
	dev_t		dev;
	u64		ino;
	u64		sock_ino;
	u64		offset;
	u64		len;
	u32		nr_segs;
	u64		sent;
	u64		zc_bytes;
	u64		copied_bytes;
	u32		path;
	u32		why;
	u32		status;
	int		ret;
};

#endif /* _ZCDEV_TRACE_TYPES */

TRACE_EVENT(zcdev_send,
	    TP_PROTO(const struct zc_trace_send *t),
	    TP_ARGS(t),
	    TP_STRUCT__entry(__string(cmd, t->cmd)
			     __field(dev_t, dev)
			     __field(u64, ino)
			     __field(u64, sock_ino)
			     __field(u64, offset)
			     __field(u64, len)
			     __field(u32, nr_segs)
			     __field(u64, sent)
			     __field(u64, zc_bytes)
			     __field(u64, copied_bytes)
			     __field(u32, path)
			     __field(u32, why)
			     __field(u32, status)
			     __field(int, ret)),
	    TP_fast_assign(zc_assign_str(cmd, t->cmd);
			   __entry->dev = t->dev;
			   __entry->ino = t->ino;
			   __entry->sock_ino = t->sock_ino;
			   __entry->offset = t->offset;
			   __entry->len = t->len;
			   __entry->nr_segs = t->nr_segs;
			   __entry->sent = t->sent;
			   __entry->zc_bytes = t->zc_bytes;
			   __entry->copied_bytes = t->copied_bytes;
			   __entry->path = t->path;
			   __entry->why = t->why;
			   __entry->status = t->status;
			   __entry->ret = t->ret;),
	    TP_printk("cmd=%s dev=%d:%d ino=%llu sock_ino=%llu offset=%llu len=%llu segs=%u sent=%llu zc=%llu copied=%llu path=%s why=0x%x status=0x%x ret=%d",
		      __get_str(cmd), MAJOR(__entry->dev), MINOR(__entry->dev),
		      __entry->ino, __entry->sock_ino, __entry->offset,
		      __entry->len, __entry->nr_segs, __entry->sent,
		      __entry->zc_bytes, __entry->copied_bytes,
		      __print_symbolic(__entry->path,
				       { ZCDEV_PATH_NONE, "none" },
				       { ZCDEV_PATH_ZEROCOPY, "zerocopy" },
				       { ZCDEV_PATH_COPY, "copy" },
				       { ZCDEV_PATH_MIXED, "mixed" }),
		      __entry->why, __entry->status, __entry->ret)
);

#endif /* _ZCDEV_TRACE_H */

/* out of tree: Kbuild puts the module's top directory on the include path */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH kmod
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
