// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev completions: when is the file safe to modify?
 *
 * A ZCDEV_SEND_NOTIFY send hands TCP its pages with MSG_ZEROCOPY and a
 * ubuf_info of ours in msg_ubuf, as io_uring's SEND_ZC does.  Every skb
 * that references the pages holds a reference to the ubuf_info; when the
 * last one is freed (data ACKed, or copied away for a local receiver) the
 * stack calls our completion, which queues a struct zcdev_completion on the
 * /dev/zcdev file the send was made on.  read(2) and poll(2) on that file
 * deliver them.
 *
 * Lifetimes: a notif holds a reference to its context and to the module
 * until it is read or dropped, so a completion may arrive after the file
 * was closed (it is then dropped, from the module's workqueue) and rmmod
 * waits for the network stack.  Notifs and contexts are charged to the
 * caller's memory cgroup, and at most ZCDEV_NOTIFY_MAX_PENDING are pending
 * per open file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "stats.h"
#include "zcdev.h"

struct zcdev_ctx {
	/* protects @done and @closed */
	spinlock_t		lock;
	/* completed, unread notifs */
	struct list_head	done;
	wait_queue_head_t	wait;
	atomic64_t		next_id;
	/* notifs in flight or unread, bounded by ZCDEV_NOTIFY_MAX_PENDING */
	atomic_t		pending;
	struct kref		ref;
	/* the file was released: completions are dropped */
	bool			closed;
};

struct zc_notif {
	struct ubuf_info	ubuf;
	struct zcdev_ctx	*ctx;
	struct list_head	node;
	/* the stack's last reference (see zc_notif_complete()) */
	struct work_struct	done_work;
	u64			id;
	/* the stack (or the module) copied some of the bytes */
	bool			copied;
	/* nothing was sent: complete without a record */
	bool			silent;
};

static void zcdev_ctx_free(struct kref *ref)
{
	kfree(container_of(ref, struct zcdev_ctx, ref));
}

/**
 * zcdev_ctx_alloc() - the completion state of a newly opened /dev/zcdev
 *
 * Return: the context, or NULL if out of memory.
 */
struct zcdev_ctx *zcdev_ctx_alloc(void)
{
	struct zcdev_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);

	if (!ctx)
		return NULL;
	spin_lock_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->done);
	init_waitqueue_head(&ctx->wait);
	atomic64_set(&ctx->next_id, 0);
	atomic_set(&ctx->pending, 0);
	kref_init(&ctx->ref);
	return ctx;
}

static void zc_notif_free(struct zc_notif *n)
{
	struct zcdev_ctx *ctx = n->ctx;

	atomic_dec(&ctx->pending);
	kfree(n);
	kref_put(&ctx->ref, zcdev_ctx_free);
	module_put(THIS_MODULE);
}

/**
 * zcdev_ctx_release() - the /dev/zcdev file is being released
 * @ctx: its context
 *
 * Unread completions are dropped; sends still in flight are dropped when
 * they complete.
 */
void zcdev_ctx_release(struct zcdev_ctx *ctx)
{
	struct zc_notif *n, *tmp;
	LIST_HEAD(drop);

	spin_lock_irq(&ctx->lock);
	ctx->closed = true;
	list_splice_init(&ctx->done, &drop);
	spin_unlock_irq(&ctx->lock);

	list_for_each_entry_safe(n, tmp, &drop, node)
		zc_notif_free(n);
	kref_put(&ctx->ref, zcdev_ctx_free);
}

static struct zc_notif *zc_notif_pop(struct zcdev_ctx *ctx)
{
	struct zc_notif *n;

	spin_lock_irq(&ctx->lock);
	n = list_first_entry_or_null(&ctx->done, struct zc_notif, node);
	if (n)
		list_del(&n->node);
	spin_unlock_irq(&ctx->lock);
	return n;
}

/**
 * zcdev_ctx_read() - read(2) of completion records
 * @ctx: the file's context
 * @buf: user buffer
 * @count: its size; at least one record
 * @nonblock: the file is O_NONBLOCK
 *
 * Return: bytes read (whole records), or -errno.
 */
ssize_t zcdev_ctx_read(struct zcdev_ctx *ctx, char __user *buf, size_t count,
		       bool nonblock)
{
	struct zcdev_completion rec = { };
	struct zc_notif *n;
	size_t done = 0;
	int ret;

	if (count < sizeof(rec))
		return -EINVAL;

	while (count - done >= sizeof(rec)) {
		n = zc_notif_pop(ctx);
		if (!n) {
			if (done)
				break;
			if (nonblock)
				return -EAGAIN;
			ret = wait_event_interruptible(ctx->wait,
						       !list_empty_careful(&ctx->done));
			if (ret)
				return ret;
			continue;
		}
		rec.id = n->id;
		rec.flags = READ_ONCE(n->copied) ? ZCDEV_COMPL_COPIED : 0;
		if (copy_to_user(buf + done, &rec, sizeof(rec))) {
			/* not delivered: it stays first in line */
			spin_lock_irq(&ctx->lock);
			list_add(&n->node, &ctx->done);
			spin_unlock_irq(&ctx->lock);
			return done ? done : -EFAULT;
		}
		done += sizeof(rec);
		zc_notif_free(n);
	}
	return done;
}

/**
 * zcdev_ctx_poll() - poll(2): readable while completions are queued
 * @ctx: the file's context
 * @file: the file
 * @wait: poll table
 *
 * Return: EPOLLIN | EPOLLRDNORM when a record can be read, else 0.
 */
__poll_t zcdev_ctx_poll(struct zcdev_ctx *ctx, struct file *file,
			poll_table *wait)
{
	poll_wait(file, &ctx->wait, wait);
	return list_empty_careful(&ctx->done) ? 0 : EPOLLIN | EPOLLRDNORM;
}

/*
 * The last reference is gone: queue the record (or drop the notif when
 * nothing was sent or the file was closed).  Runs in the ioctl (the send's
 * own last reference) or on zc_wq (the stack's), never where module text
 * could be gone once it returns.
 */
static void zc_notif_done(struct zc_notif *n)
{
	struct zcdev_ctx *ctx = n->ctx;
	unsigned long flags;
	bool queued = false;

	/* once queued, a reader may free @n at any time */
	if (!n->silent)
		zcdev_stats_notify(READ_ONCE(n->copied));

	spin_lock_irqsave(&ctx->lock, flags);
	if (!n->silent && !ctx->closed) {
		list_add_tail(&n->node, &ctx->done);
		wake_up_poll(&ctx->wait, EPOLLIN | EPOLLRDNORM);
		queued = true;
	}
	spin_unlock_irqrestore(&ctx->lock, flags);

	if (!queued)
		zc_notif_free(n);
}

static void zc_notif_done_work(struct work_struct *work)
{
	zc_notif_done(container_of(work, struct zc_notif, done_work));
}

/*
 * The ubuf_info completion: called for each reference the stack drops, with
 * @success false when it copied the frags (skb_copy_ubufs()).  It may run
 * in softirq context.  The last reference's work goes to zc_wq, and
 * queueing it is the last thing done here, a tail call (make lint checks
 * the object code: vm/tailcall.awk): the notif holds the module
 * reference, a reader or the work may drop it at once, and module exit
 * waits for zc_wq's work to have returned (destroy_workqueue()), not for
 * this function.
 */
static void zc_notif_complete(struct sk_buff *skb, struct ubuf_info *uarg,
			      bool success)
{
	struct zc_notif *n = container_of(uarg, struct zc_notif, ubuf);

	if (!success)
		WRITE_ONCE(n->copied, true);
	if (refcount_dec_and_test(&uarg->refcnt))
		queue_work(zc_wq, &n->done_work);
}

static const struct ubuf_info_ops zc_ubuf_ops = {
	.complete	= zc_notif_complete,
};

/**
 * zc_notif_alloc() - start tracking one NOTIFY send
 * @ctx: context of the /dev/zcdev file the send is made on
 *
 * The caller holds the initial reference to the ubuf_info and gives it up
 * with zc_notif_finish().
 *
 * Return: the notif, ERR_PTR(-ENOBUFS) if @ctx has too many pending, or
 * ERR_PTR(-ENOMEM).
 */
struct zc_notif *zc_notif_alloc(struct zcdev_ctx *ctx)
{
	struct zc_notif *n;

	if (atomic_inc_return(&ctx->pending) > ZCDEV_NOTIFY_MAX_PENDING) {
		atomic_dec(&ctx->pending);
		return ERR_PTR(-ENOBUFS);
	}
	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n) {
		atomic_dec(&ctx->pending);
		return ERR_PTR(-ENOMEM);
	}
	INIT_WORK(&n->done_work, zc_notif_done_work);
	zc_ubuf_set_ops(&n->ubuf, &zc_ubuf_ops);
	refcount_set(&n->ubuf.refcnt, 1);
	n->ubuf.flags = SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN;
	n->ctx = ctx;
	kref_get(&ctx->ref);
	__module_get(THIS_MODULE);
	return n;
}

/**
 * zc_notif_ubuf() - the ubuf_info to put in msg_ubuf
 * @n: the notif
 *
 * Return: @n's ubuf_info.
 */
struct ubuf_info *zc_notif_ubuf(struct zc_notif *n)
{
	return &n->ubuf;
}

/**
 * zc_notif_mark_copied() - bytes of this send were copied
 * @n: the notif
 *
 * Its completion will carry ZCDEV_COMPL_COPIED.
 */
void zc_notif_mark_copied(struct zc_notif *n)
{
	WRITE_ONCE(n->copied, true);
}

/**
 * zc_notif_finish() - the send call is done with its notif
 * @n: the notif; it must not be used afterwards
 * @sent: whether anything was sent (else no record is queued)
 *
 * Return: the id the caller reports, 0 if nothing was sent.
 */
u64 zc_notif_finish(struct zc_notif *n, bool sent)
{
	u64 id = 0;

	/*
	 * Ids are given to sends that sent, in the order they finish: a call
	 * that sent nothing (an io_uring issue retried from a worker, an
	 * error) leaves no gap.  Nobody reads n->id before this: the record
	 * is queued only once the send's own reference below is dropped.
	 */
	if (sent) {
		n->id = atomic64_inc_return(&n->ctx->next_id);
		id = n->id;
	} else {
		n->silent = true;
	}
	/*
	 * The send's own reference: if it is the last (nothing in flight,
	 * or a copy), the record is queued before the call returns.
	 */
	if (refcount_dec_and_test(&n->ubuf.refcnt))
		zc_notif_done(n);
	return id;
}
