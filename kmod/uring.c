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
 * No command waits for room in the socket in a thread: io_uring would wait
 * for it with an io-wq thread per command (IORING_OP_URING_CMD has no poll
 * support, so an -EAGAIN from ->uring_cmd() is handed to a worker that
 * issues it again, blocking).  A command that finds the socket full with
 * nothing sent is left pending on the socket's wait queue and issued again
 * from task work when there is room (below); where io_uring cannot cancel
 * a pending command (6.1, see compat.h) it completes with -EAGAIN instead,
 * and the caller polls the socket (IORING_OP_POLL_ADD) and submits again.
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
 * and put within each issue; a pending command also holds the socket's
 * file until it completes or is cancelled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

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
 * One issue's send, from the command area @uc.  Returns true when an io-wq
 * worker must issue it again (ZC_RETRY_BLOCKING: nothing was sent); else
 * *@res is the CQE's res, bytes sent or -errno, and *@res2 its CQE32 word.
 * *@sock_fd: the socket's descriptor once the struct was read, else -1.
 *
 * The retry is not a value of *@res: ZC_RETRY_BLOCKING is 1, and so is a
 * send of one byte.
 */
static bool zc_uring_do(struct io_uring_cmd *cmd,
			const struct zcdev_uring_cmd *uc, u32 kflags, int *res,
			u64 *res2, int *sock_fd)
{
	struct zcdev_ctx *ctx = cmd->file->private_data;
	union {
		struct zcdev_sendfile sf;
		struct zcdev_sendv sv;
	} args;
	u64 sent = 0;
	bool sendv;
	long ret;

	/* (a retry's *@res, should a caller complete it anyway) */
	*res = -EAGAIN;
	*res2 = 0;
	*sock_fd = -1;
	sendv = _IOC_NR(cmd->cmd_op) == _IOC_NR(ZCDEV_IOC_SENDV);
	if (sendv)
		ret = zcdev_sendv_user(ctx, cmd->cmd_op,
				       u64_to_user_ptr(uc->arg), kflags,
				       &args.sv);
	else
		ret = zcdev_sendfile_user(ctx, cmd->cmd_op,
					  u64_to_user_ptr(uc->arg), kflags,
					  &args.sf);
	if (ret == ZC_RETRY_BLOCKING)
		return true;
	/* (-EAGAIN comes only from a struct that was read) */
	*sock_fd = sendv ? args.sv.sock_fd : args.sf.sock_fd;
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
	/* <= ZCDEV_MAX_SEND, which fits the CQE's res */
	*res = ret ? ret : sent;
	return false;
}

/* ---- a send pending on a full socket (ZC_URING_CAN_PEND) --------------- */

/*
 * The command is queued on the socket's wait queue, as io_uring's own
 * IORING_OP_POLL_ADD queues: through the socket's ->poll() (which also
 * asks the stack for the write-space wakeup), holding a reference to the
 * socket's file so that the queue outlives the wait.  The wakeup only
 * claims the wait and queues task work; the send is issued again from the
 * task work, in the submitting task, as a first issue would be (but it may
 * wait for the disk: there is no worker to hand it to from there).  No
 * thread waits, however many commands are pending.
 *
 * @state decides who completes: ARMED -> FIRED (the wakeup; task work
 * follows) or ARMED -> CANCELED (io_uring's cancel, which completes it),
 * ARMED -> IDLE (the arming saw room at once and retries itself).
 */
enum { ZC_W_IDLE, ZC_W_ARMED, ZC_W_FIRED, ZC_W_CANCELED };

/* task work's re-issues in a row that find the socket full again */
#define ZC_URING_REARM_MAX	64

struct zc_uring_wait {
	struct wait_queue_entry	wq;
	struct wait_queue_head	*head;
	poll_table		pt;
	struct file		*sock_file;
	struct io_uring_cmd	*cmd;
	struct zcdev_uring_cmd	uc;
	atomic_t		state;
	unsigned int		rearms;
};

static struct zc_uring_wait *zc_uring_wait_of(struct io_uring_cmd *cmd)
{
	return zc_uring_pdu(cmd)->wait;
}

static void zc_uring_wait_free(struct io_uring_cmd *cmd)
{
	struct zc_uring_wait *w = zc_uring_wait_of(cmd);

	if (!w)
		return;
	zc_uring_pdu(cmd)->wait = NULL;
	fput(w->sock_file);
	kfree(w);
}

/* the command is done: post its CQE */
static void zc_uring_complete(struct io_uring_cmd *cmd, int ret, u64 res2,
			      unsigned int issue_flags)
{
	zc_uring_wait_free(cmd);
	zc_uring_cmd_forget(cmd);
	io_uring_cmd_done(cmd, ret, res2, issue_flags);
}

static void zc_uring_resume(struct io_uring_cmd *cmd,
			    unsigned int issue_flags);

static int zc_uring_wake(struct wait_queue_entry *wq, unsigned int mode,
			 int sync, void *key)
{
	struct zc_uring_wait *w = container_of(wq, struct zc_uring_wait, wq);
	__poll_t mask = key_to_poll(key);

	if (mask && !(mask & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return 0;
	if (atomic_cmpxchg(&w->state, ZC_W_ARMED, ZC_W_FIRED) != ZC_W_ARMED)
		return 0;
	/* the waker holds the queue's lock */
	list_del_init(&wq->entry);
	io_uring_cmd_complete_in_task(w->cmd, zc_uring_resume);
	return 1;
}

static void zc_uring_queue_proc(struct file *file, wait_queue_head_t *head,
				poll_table *pt)
{
	struct zc_uring_wait *w = container_of(pt, struct zc_uring_wait, pt);

	/* one queue: a socket has one */
	if (w->head)
		return;
	w->head = head;
	add_wait_queue(head, &w->wq);
}

/*
 * The command's wait, allocated at its first pend: the socket's file and
 * the command area, for the issues from task work.  Returns it or NULL.
 */
static struct zc_uring_wait *zc_uring_wait_get(struct io_uring_cmd *cmd,
					       unsigned int issue_flags,
					       const struct zcdev_uring_cmd *uc,
					       int sock_fd)
{
	struct zc_uring_wait *w = zc_uring_wait_of(cmd);

	if (w)
		return w;
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return NULL;
	/*
	 * The number names the socket the send used unless another thread
	 * closed or replaced it since: wait only on a socket (whose wait
	 * queue never goes away under POLLFREE, as a signalfd's can).  The
	 * resumed send resolves the number again.
	 */
	w->sock_file = fget(sock_fd);
	if (!w->sock_file || !sock_from_file(w->sock_file)) {
		if (w->sock_file)
			fput(w->sock_file);
		kfree(w);
		return NULL;
	}
	w->cmd = cmd;
	w->uc = *uc;
	init_waitqueue_func_entry(&w->wq, zc_uring_wake);
	init_poll_funcptr(&w->pt, zc_uring_queue_proc);
	zc_uring_pdu(cmd)->wait = w;
	/* ring teardown and task exit call back with ..._F_CANCEL */
	io_uring_cmd_mark_cancelable(cmd, issue_flags);
	return w;
}

/*
 * The send found the socket full: wait for room.  Returns 0 when the
 * command is pending (it must not be touched any more: the wakeup may
 * already be completing it), 1 when there is room already (issue it again
 * now), or -errno (complete it with -EAGAIN).
 *
 * Only in the submitting task, holding the ring's lock (the inline issue,
 * task work): the task work that a wakeup queues runs there too, after
 * this returns, and io_uring's cancel takes the same lock, so neither can
 * free @w while this looks at it.  An io-wq worker holds neither.
 */
static int zc_uring_arm(struct io_uring_cmd *cmd, unsigned int issue_flags,
			const struct zcdev_uring_cmd *uc, int sock_fd)
{
	struct zc_uring_wait *w;
	__poll_t mask;

	w = zc_uring_wait_get(cmd, issue_flags, uc, sock_fd);
	if (!w)
		return -EAGAIN;
	if (++w->rearms > ZC_URING_REARM_MAX)
		return -EAGAIN;
	w->head = NULL;
	w->pt._key = EPOLLOUT | EPOLLERR | EPOLLHUP;
	atomic_set(&w->state, ZC_W_ARMED);
	mask = vfs_poll(w->sock_file, &w->pt);
	if (!w->head) {
		/* nothing to wait on */
		atomic_set(&w->state, ZC_W_IDLE);
		return -EAGAIN;
	}
	if (!(mask & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return 0;
	/* room (or an error) already: unless the wakeup took it, retry */
	if (atomic_cmpxchg(&w->state, ZC_W_ARMED, ZC_W_IDLE) != ZC_W_ARMED)
		return 0;
	remove_wait_queue(w->head, &w->wq);
	return 1;
}

/* what an issue left the command as (zc_uring_send_or_pend()) */
enum zc_uring_next {
	ZC_URING_COMPLETE,	/* complete it with the res and res2 given */
	ZC_URING_PENDING,	/* pending on the socket: not to be touched */
	ZC_URING_RETRY,		/* for an io-wq worker to issue again */
};

/*
 * Send, and on a full socket with nothing sent, wait for room if this
 * kernel lets a command pend.  *@res and *@res2 are the completion of
 * ZC_URING_COMPLETE.
 */
static enum zc_uring_next
zc_uring_send_or_pend(struct io_uring_cmd *cmd, unsigned int issue_flags,
		      const struct zcdev_uring_cmd *uc, u32 kflags, int *res,
		      u64 *res2)
{
	int sock_fd, armed;

	for (;;) {
		if (zc_uring_do(cmd, uc, kflags, res, res2, &sock_fd))
			return ZC_URING_RETRY;
		if (*res != -EAGAIN || !ZC_URING_CAN_PEND)
			return ZC_URING_COMPLETE;
		/*
		 * An io-wq worker does not arm (zc_uring_arm()): the submitting
		 * task's task work sends again and arms there.
		 */
		if (issue_flags & IO_URING_F_IOWQ) {
			if (!zc_uring_wait_get(cmd, issue_flags, uc, sock_fd))
				return ZC_URING_COMPLETE;
			io_uring_cmd_complete_in_task(cmd, zc_uring_resume);
			return ZC_URING_PENDING;
		}
		armed = zc_uring_arm(cmd, issue_flags, uc, sock_fd);
		if (!armed)
			return ZC_URING_PENDING;
		if (armed < 0)
			return ZC_URING_COMPLETE;
	}
}

/* task work after the wakeup: the send again, in the submitting task */
static void zc_uring_resume(struct io_uring_cmd *cmd,
			    unsigned int issue_flags)
{
	struct zc_uring_wait *w = zc_uring_wait_of(cmd);
	u64 res2 = 0;
	int ret;

	/* an exiting task: its memory and descriptors are not to be used */
	if (issue_flags & IO_URING_F_TASK_DEAD) {
		zc_uring_complete(cmd, -ECANCELED, 0, issue_flags);
		return;
	}
	/* (no retry: a send that may wait for the disk is never one) */
	if (zc_uring_send_or_pend(cmd, issue_flags, &w->uc, ZC_KF_DONTWAIT,
				  &ret, &res2) == ZC_URING_PENDING)
		return;
	zc_uring_complete(cmd, ret, res2, issue_flags);
}

/*
 * io_uring cancels (ring teardown, task exit): a command still waiting is
 * completed with -ECANCELED and drops its socket; one whose wakeup came
 * first completes from its task work.
 */
static void zc_uring_cancel(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct zc_uring_wait *w = zc_uring_wait_of(cmd);

	if (!w || atomic_cmpxchg(&w->state, ZC_W_ARMED, ZC_W_CANCELED) !=
		  ZC_W_ARMED)
		return;
	remove_wait_queue(w->head, &w->wq);
	zc_uring_complete(cmd, -ECANCELED, 0, issue_flags);
}

/* ---- the issue -------------------------------------------------------- */

/**
 * zcdev_uring_cmd() - &file_operations.uring_cmd of /dev/zcdev
 * @cmd: the command; cmd_op is the ioctl number
 * @issue_flags: IO_URING_F_* of this issue, passed on to io_uring
 *
 * ZCDEV_IOC_SENDFILE and ZCDEV_IOC_SENDV are commands (any size their
 * ioctls take); other numbers are -EINVAL.
 *
 * Return: -EAGAIN for io_uring to issue it again from an io-wq worker;
 * else -EIOCBQUEUED: the completion was posted, or will be when the
 * socket has room (or io_uring cancels it).
 */
int zcdev_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	const struct zcdev_uring_cmd *area;
	u32 kflags = ZC_KF_DONTWAIT;
	enum zc_uring_next next;
	struct zcdev_uring_cmd uc;
	u64 res2 = 0;
	bool kept;
	int ret;

	if (issue_flags & IO_URING_F_CANCEL) {
		zc_uring_cancel(cmd, issue_flags);
		return 0;
	}
	/* not pending (else this would be its cancel): pdu->wait is junk */
	zc_uring_pdu(cmd)->wait = NULL;

	ret = -EINVAL;
	if (_IOC_TYPE(cmd->cmd_op) != ZCDEV_IOC_MAGIC ||
	    (_IOC_NR(cmd->cmd_op) != _IOC_NR(ZCDEV_IOC_SENDFILE) &&
	     _IOC_NR(cmd->cmd_op) != _IOC_NR(ZCDEV_IOC_SENDV)) ||
	    _IOC_DIR(cmd->cmd_op) != (_IOC_READ | _IOC_WRITE))
		goto out_done;
	/* no registered buffer is used: the flag is not ours to ignore */
	if (cmd->flags & IORING_URING_CMD_FIXED)
		goto out_done;
	area = zc_uring_cmd_area(cmd, issue_flags, &kept);
	/* the SQE is shared with user space: read it once */
	uc.arg = READ_ONCE(area->arg);
	uc.reserved = READ_ONCE(area->reserved);
	if (uc.reserved)
		goto out_done;
	if (!kept && (issue_flags & IO_URING_F_SQE128) &&
	    !zc_uring_tail_zero(area))
		goto out_done;

	if (issue_flags & IO_URING_F_NONBLOCK)
		kflags |= ZC_KF_NOWAIT_IO;
	next = zc_uring_send_or_pend(cmd, issue_flags, &uc, kflags, &ret,
				     &res2);
	if (next == ZC_URING_PENDING)
		return -EIOCBQUEUED;
	if (next == ZC_URING_RETRY) {
		/*
		 * Not pending; a wait set up before the socket had room is
		 * dropped (the worker's issue starts afresh).
		 */
		zc_uring_wait_free(cmd);
		zc_uring_cmd_keep(cmd, &uc);
		return -EAGAIN;
	}
out_done:
	zc_uring_complete(cmd, ret, res2, issue_flags);
	return -EIOCBQUEUED;
}
