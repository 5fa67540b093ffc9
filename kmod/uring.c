// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev: io_uring commands on /dev/zcdev (IORING_OP_URING_CMD).
 *
 * A command is the ioctl of the same number on the same argument struct:
 * cmd_op is ZCDEV_IOC_SENDFILE or ZCDEV_IOC_SENDV (its _IOC_SIZE versions
 * the struct), the SQE's command area is a struct zcdev_uring_cmd that
 * points at the caller's struct zcdev_sendfile or struct zcdev_sendv (whose
 * segment array is read at each issue).  The report is written back to that
 * struct before the completion is posted; the CQE's res is the bytes sent
 * or -errno, and on a ring with 32-byte CQEs the extra word packs why, path
 * and status (ZCDEV_URING_RES2_*).
 *
 * No command waits for room in the socket, wherever it runs: io_uring
 * would wait for it with an io-wq thread per command (IORING_OP_URING_CMD
 * has no poll support, so an -EAGAIN from ->uring_cmd() is handed to a
 * worker that issues it again, blocking).  A full socket completes the
 * command with -EAGAIN; the caller polls the socket (IORING_OP_POLL_ADD)
 * and submits again.  See kmod/URING.md for what completing it later from
 * the socket's wait queue needs.
 *
 * The first, inline issue (IO_URING_F_NONBLOCK) does not wait for the disk
 * either: it sends only what the page cache holds (starting readahead at
 * the first page it does not, but, as filemap_update_page() under
 * IOCB_NOWAIT, no ->read_folio() of a page present and not uptodate, nor a
 * read(2) of a tmpfs page), and if that is nothing, returns -EAGAIN to
 * io_uring, whose io-wq worker issues the command again allowed to wait
 * for the file (not for the socket).  Files whose page cache the module
 * does not read itself go to the worker directly.
 *
 * References: the request holds the /dev/zcdev file (and so the module)
 * until its completion is posted; the file and the socket are looked up
 * and put within each issue.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "zcdev.h"

/* the CQE32 extra word: the report's why, path and status */
static u64 zc_uring_res2(u32 why, u32 path, u32 status)
{
	/* each field fits the bits the uapi gives it */
	BUILD_BUG_ON(ZCDEV_WHY_ALL > U32_MAX);
	BUILD_BUG_ON(ZCDEV_PATH_MIXED > 0xff);
	BUILD_BUG_ON(ZCDEV_STATUS_ALL > 0xff);
	BUILD_BUG_ON(ZCDEV_URING_RES2_PATH_SHIFT != 32);
	BUILD_BUG_ON(ZCDEV_URING_RES2_STATUS_SHIFT != 40);
	return (u64)why | (u64)path << ZCDEV_URING_RES2_PATH_SHIFT |
	       (u64)status << ZCDEV_URING_RES2_STATUS_SHIFT;
}

/*
 * A 128-byte SQE's command area is 80 bytes: the 64 after the struct are
 * reserved, 0 (a later version of the struct may grow into them).
 */
static bool zc_uring_tail_zero(const struct zcdev_uring_cmd *area)
{
	const u64 *tail = (const u64 *)(area + 1);
	int i;

	for (i = 0; i < 64 / sizeof(*tail); i++)
		if (READ_ONCE(tail[i]))
			return false;
	return true;
}

/*
 * Return: bytes sent or -errno for the CQE; -EAGAIN (for io_uring, not
 * the CQE) with *@retry set when an io-wq worker must issue it again.
 */
static int zc_uring_send(struct io_uring_cmd *cmd, unsigned int issue_flags,
			 u64 *res2, bool *retry)
{
	struct zcdev_ctx *ctx = cmd->file->private_data;
	const struct zcdev_uring_cmd *area;
	u32 kflags = ZC_KF_DONTWAIT;
	union {
		struct zcdev_sendfile sf;
		struct zcdev_sendv sv;
	} args;
	struct zcdev_uring_cmd uc;
	bool kept, sendv;
	u64 sent = 0;
	long ret;

	/* no registered buffer is used: the flag is not ours to ignore */
	if (cmd->flags & IORING_URING_CMD_FIXED)
		return -EINVAL;
	area = zc_uring_cmd_area(cmd, issue_flags, &kept);
	/* the SQE is shared with user space: read it once */
	uc.arg = READ_ONCE(area->arg);
	uc.reserved = READ_ONCE(area->reserved);
	if (uc.reserved)
		return -EINVAL;
	if (!kept && (issue_flags & IO_URING_F_SQE128) &&
	    !zc_uring_tail_zero(area))
		return -EINVAL;

	if (issue_flags & IO_URING_F_NONBLOCK)
		kflags |= ZC_KF_NOWAIT_IO;
	sendv = _IOC_NR(cmd->cmd_op) == _IOC_NR(ZCDEV_IOC_SENDV);
	if (sendv)
		ret = zcdev_sendv_user(ctx, cmd->cmd_op,
				       u64_to_user_ptr(uc.arg), kflags,
				       &args.sv);
	else
		ret = zcdev_sendfile_user(ctx, cmd->cmd_op,
					  u64_to_user_ptr(uc.arg), kflags,
					  &args.sf);
	if (ret == ZC_RETRY_BLOCKING) {
		zc_uring_cmd_keep(cmd, &uc);
		*retry = true;
		return -EAGAIN;
	}
	/* the errors that come with a report */
	if (!ret || ret == -EOPNOTSUPP || ret == -EBUSY) {
		if (sendv) {
			*res2 = zc_uring_res2(args.sv.why, args.sv.path,
					      args.sv.status);
			sent = args.sv.sent;
		} else {
			*res2 = zc_uring_res2(args.sf.why, args.sf.path,
					      args.sf.status);
			sent = args.sf.sent;
		}
	}
	if (ret)
		return ret;
	/* <= ZCDEV_MAX_SEND, which fits the CQE's res */
	return sent;
}

/**
 * zcdev_uring_cmd() - &file_operations.uring_cmd of /dev/zcdev
 * @cmd: the command; cmd_op is the ioctl number
 * @issue_flags: IO_URING_F_* of this issue, passed on to io_uring
 *
 * ZCDEV_IOC_SENDFILE and ZCDEV_IOC_SENDV are commands (any size their
 * ioctls take); other numbers are -EINVAL.
 *
 * Return: -EAGAIN for io_uring to issue it again from an io-wq worker;
 * else -EIOCBQUEUED, the completion having been posted.
 */
int zcdev_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	bool retry = false;
	u64 res2 = 0;
	int ret;

	if (_IOC_TYPE(cmd->cmd_op) != ZCDEV_IOC_MAGIC ||
	    (_IOC_NR(cmd->cmd_op) != _IOC_NR(ZCDEV_IOC_SENDFILE) &&
	     _IOC_NR(cmd->cmd_op) != _IOC_NR(ZCDEV_IOC_SENDV)) ||
	    _IOC_DIR(cmd->cmd_op) != (_IOC_READ | _IOC_WRITE))
		ret = -EINVAL;
	else
		ret = zc_uring_send(cmd, issue_flags, &res2, &retry);
	if (retry)
		return -EAGAIN;
	zc_uring_cmd_forget(cmd);
	io_uring_cmd_done(cmd, ret, res2, issue_flags);
	return -EIOCBQUEUED;
}
