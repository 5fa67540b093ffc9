// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev: /dev/zcdev and its ioctls.
 *
 * Every ioctl acts on file descriptors the caller already holds, looked up
 * in the caller's own fd table.  The only state an open file has is the
 * queue of completions of its ZCDEV_SEND_NOTIFY sends (read(2), poll(2)).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "stats.h"
#include "zcdev.h"

/* flags that need the VER1 struct zcdev_sendfile (their results live there) */
#define ZC_SEND_FLAGS_VER1	(ZCDEV_SEND_CACHED_ONLY | ZCDEV_SEND_NOTIFY)

/*
 * Copy a size-versioned argument struct in: sizes below @ver0 are -EINVAL,
 * unknown non-zero trailing bytes -E2BIG (copy_struct_from_user()).
 */
static int zc_copy_args_in(void *args, size_t ksize, size_t ver0,
			   unsigned int cmd, const void __user *uarg)
{
	size_t usize = _IOC_SIZE(cmd);

	if (_IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;
	if (usize < ver0)
		return -EINVAL;
	return copy_struct_from_user(args, ksize, uarg, usize);
}

/*
 * The out fields are written back only in the part of the struct that both
 * the caller and this module know.  The struct is proven writable before
 * anything is sent, so that an error is only returned when nothing was
 * sent.  (Another thread can still mprotect() it during the call; then the
 * bytes are sent and the call fails with -EFAULT, as a sendfile(2) whose
 * offset pointer went away would.)
 */
static long zc_send_result(long ret, void __user *uarg, const void *args,
			   size_t size)
{
	/* these errors come with a report */
	if (ret && ret != -EOPNOTSUPP && ret != -EBUSY)
		return ret;
	if (copy_to_user(uarg, args, size))
		return -EFAULT;
	return ret;
}

/**
 * zcdev_sendfile_user() - ZCDEV_IOC_SENDFILE on a struct in user memory
 * @ctx: the /dev/zcdev file's context
 * @cmd: the ioctl number (its _IOC_SIZE is the struct's size)
 * @uarg: the caller's struct zcdev_sendfile
 * @kflags: ZC_KF_* (0 for the ioctl)
 * @args: the kernel's copy; holds the report when the report was written
 *	back to @uarg (0, -EOPNOTSUPP, -EBUSY)
 *
 * Shared by the ioctl and the io_uring command (uring.c): the same checks,
 * the same write-back.
 *
 * Return: as ZCDEV_IOC_SENDFILE, or %ZC_RETRY_BLOCKING (see zcdev.h).
 */
long zcdev_sendfile_user(struct zcdev_ctx *ctx, unsigned int cmd,
			 void __user *uarg, u32 kflags,
			 struct zcdev_sendfile *args)
{
	size_t wsize = min_t(size_t, _IOC_SIZE(cmd),
			     sizeof(struct zcdev_sendfile));
	long ret;

	ret = zc_copy_args_in(args, sizeof(*args), ZCDEV_SENDFILE_SIZE_VER0,
			      cmd, uarg);
	if (ret)
		return ret;
	if (args->flags & ~ZCDEV_SEND_FLAGS_ALL)
		return -EINVAL;
	if (args->reserved || args->reserved1)
		return -EINVAL;
	if ((args->flags & ZC_SEND_FLAGS_VER1) &&
	    wsize < ZCDEV_SENDFILE_SIZE_VER1)
		return -EINVAL;

	if (copy_to_user(uarg, args, wsize))
		return -EFAULT;
	ret = zcdev_sendfile(ctx, args, kflags);
	if (ret == ZC_RETRY_BLOCKING)
		return ret;
	return zc_send_result(ret, uarg, args, wsize);
}

static long zcdev_ioctl_sendfile(struct zcdev_ctx *ctx, unsigned int cmd,
				 void __user *uarg)
{
	struct zcdev_sendfile args;

	return zcdev_sendfile_user(ctx, cmd, uarg, 0, &args);
}

/**
 * zcdev_sendv_user() - ZCDEV_IOC_SENDV on a struct in user memory
 * @ctx: the /dev/zcdev file's context
 * @cmd: the ioctl number (its _IOC_SIZE is the struct's size)
 * @uarg: the caller's struct zcdev_sendv
 * @kflags: ZC_KF_* (0 for the ioctl)
 * @args: the kernel's copy; holds the report when the report was written
 *	back to @uarg (0, -EOPNOTSUPP, -EBUSY)
 *
 * Shared by the ioctl and the io_uring command (uring.c).  The segment
 * array is read again on every call: a command issued again from an io-wq
 * worker reads what the caller's memory holds then (it must stay valid
 * and unchanged until the completion, as the struct itself).
 *
 * Return: as ZCDEV_IOC_SENDV, or %ZC_RETRY_BLOCKING (see zcdev.h).
 */
long zcdev_sendv_user(struct zcdev_ctx *ctx, unsigned int cmd,
		      void __user *uarg, u32 kflags, struct zcdev_sendv *args)
{
	size_t wsize = min_t(size_t, _IOC_SIZE(cmd),
			     sizeof(struct zcdev_sendv));
	struct zcdev_seg *segs;
	long ret;

	ret = zc_copy_args_in(args, sizeof(*args), ZCDEV_SENDV_SIZE_VER0,
			      cmd, uarg);
	if (ret)
		return ret;
	if (args->flags & ~ZCDEV_SEND_FLAGS_ALL)
		return -EINVAL;
	if (args->reserved)
		return -EINVAL;
	if (!args->nr_segs || args->nr_segs > ZCDEV_SENDV_MAX_SEGS)
		return -EINVAL;

	segs = kmalloc_array(args->nr_segs, sizeof(*segs), GFP_KERNEL_ACCOUNT);
	if (!segs)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(segs, u64_to_user_ptr(args->segs),
			   array_size(args->nr_segs, sizeof(*segs))))
		goto out_free_segs;
	if (copy_to_user(uarg, args, wsize))
		goto out_free_segs;

	ret = zcdev_sendv(ctx, args, segs, kflags);
	if (ret != ZC_RETRY_BLOCKING)
		ret = zc_send_result(ret, uarg, args, wsize);
out_free_segs:
	kfree(segs);
	return ret;
}

static long zcdev_ioctl_sendv(struct zcdev_ctx *ctx, unsigned int cmd,
			      void __user *uarg)
{
	struct zcdev_sendv args;

	return zcdev_sendv_user(ctx, cmd, uarg, 0, &args);
}

static long zcdev_ioctl_probe(unsigned int cmd, void __user *uarg)
{
	size_t wsize = min_t(size_t, _IOC_SIZE(cmd),
			     sizeof(struct zcdev_probe));
	struct zcdev_probe args;
	long ret;

	ret = zc_copy_args_in(&args, sizeof(args), ZCDEV_PROBE_SIZE_VER0,
			      cmd, uarg);
	if (ret)
		return ret;
	if (args.flags & ~ZCDEV_SEND_FLAGS_ALL)
		return -EINVAL;
	if (args.reserved)
		return -EINVAL;

	ret = zcdev_probe(&args);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &args, wsize))
		return -EFAULT;
	return 0;
}

static long zcdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct zcdev_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != ZCDEV_IOC_MAGIC)
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(ZCDEV_IOC_SENDFILE):
		return zcdev_ioctl_sendfile(ctx, cmd, uarg);
	case _IOC_NR(ZCDEV_IOC_PROBE):
		return zcdev_ioctl_probe(cmd, uarg);
	case _IOC_NR(ZCDEV_IOC_SENDV):
		return zcdev_ioctl_sendv(ctx, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static int zcdev_open(struct inode *inode, struct file *file)
{
	struct zcdev_ctx *ctx = zcdev_ctx_alloc();

	if (!ctx)
		return -ENOMEM;
	file->private_data = ctx;
	return nonseekable_open(inode, file);
}

static int zcdev_release(struct inode *inode, struct file *file)
{
	zcdev_ctx_release(file->private_data);
	return 0;
}

static ssize_t zcdev_read(struct file *file, char __user *buf, size_t count,
			  loff_t *ppos)
{
	return zcdev_ctx_read(file->private_data, buf, count,
			      file->f_flags & O_NONBLOCK);
}

static __poll_t zcdev_poll(struct file *file, poll_table *wait)
{
	return zcdev_ctx_poll(file->private_data, file, wait);
}

static const struct file_operations zcdev_fops = {
	.owner		= THIS_MODULE,
	.open		= zcdev_open,
	.release	= zcdev_release,
	.read		= zcdev_read,
	.poll		= zcdev_poll,
	.unlocked_ioctl	= zcdev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.uring_cmd	= zcdev_uring_cmd,
};

/*
 * Mode 0666: the ioctls only act on descriptors the caller already holds,
 * with the access modes they were opened with (see README, Security).
 */
static struct miscdevice zcdev_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= ZCDEV_DEVICE_NAME,
	.fops	= &zcdev_fops,
	.mode	= 0666,
	.groups	= zcdev_attr_groups,
};

/*
 * The module's own workqueue: swap-ins started for CACHED_ONLY sends and
 * the freeing of completions the network stack finished after their file
 * was closed.  Module exit destroys it, which waits for every work item to
 * have returned, so no module text runs after exit.
 */
struct workqueue_struct *zc_wq;

static int __init zcdev_init(void)
{
	int ret;

	zc_wq = alloc_workqueue("zcdev", WQ_UNBOUND, 0);
	if (!zc_wq)
		return -ENOMEM;
	ret = misc_register(&zcdev_misc);
	if (ret)
		goto out_destroy_wq;
	return 0;

out_destroy_wq:
	destroy_workqueue(zc_wq);
	return ret;
}

static void __exit zcdev_exit(void)
{
	misc_deregister(&zcdev_misc);
	destroy_workqueue(zc_wq);
}

module_init(zcdev_init);
module_exit(zcdev_exit);

MODULE_DESCRIPTION("Send file ranges to sockets by page reference, and say so");
MODULE_AUTHOR("zcdev developers");
MODULE_LICENSE("GPL");
