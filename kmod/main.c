// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev: /dev/zcdev and its ioctls.
 *
 * The device holds no state: every ioctl acts on file descriptors the
 * caller already holds, looked up in the caller's own fd table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "stats.h"
#include "zcdev.h"

/* flags implemented so far (the rest of ZCDEV_SEND_FLAGS_ALL is in progress) */
#define ZC_SEND_FLAGS_DONE	(ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE | \
				 ZCDEV_SEND_STRICT)

static long zcdev_ioctl_sendfile(unsigned int cmd, void __user *uarg)
{
	size_t usize = _IOC_SIZE(cmd), wsize;
	struct zcdev_sendfile args;
	long ret;

	if (_IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;
	if (usize < ZCDEV_SENDFILE_SIZE_VER0)
		return -EINVAL;

	ret = copy_struct_from_user(&args, sizeof(args), uarg, usize);
	if (ret)
		return ret;
	if (args.flags & ~ZC_SEND_FLAGS_DONE)
		return -EINVAL;
	if (args.reserved || args.reserved1)
		return -EINVAL;
	wsize = min(usize, sizeof(args));

	/*
	 * Prove the struct is writable before sending anything: an error is
	 * only returned when nothing was sent.  (Another thread can still
	 * mprotect() it during the call; then the bytes are sent and the
	 * call fails with -EFAULT, as a sendfile(2) whose offset pointer
	 * went away would.)
	 */
	if (copy_to_user(uarg, &args, wsize))
		return -EFAULT;

	ret = zcdev_sendfile(&args);
	if (ret && ret != -EOPNOTSUPP)
		return ret;
	/* Only the fields of the struct this module knows are written back. */
	if (copy_to_user(uarg, &args, wsize))
		return -EFAULT;
	return ret;
}

static long zcdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != ZCDEV_IOC_MAGIC)
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(ZCDEV_IOC_SENDFILE):
		return zcdev_ioctl_sendfile(cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations zcdev_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= zcdev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
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

module_misc_device(zcdev_misc);

MODULE_DESCRIPTION("Send file ranges to sockets by page reference, and say so");
MODULE_AUTHOR("zcdev developers");
MODULE_LICENSE("GPL");
