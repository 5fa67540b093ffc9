// SPDX-License-Identifier: GPL-2.0
/*
 * A broken zcdev for the harness's own test (vm/selftest-harness.sh).
 * Exactly one ZCBROKEN_MODE_* is defined by vm/testmods/Kbuild:
 *   good   /dev/zcdev whose ioctl returns -ENOTTY (the control)
 *   warn   the ioctl WARNs            -> panic_on_warn -> guest panics
 *   oops   the ioctl dereferences NULL -> oops=panic  -> guest panics
 *   dmesg  module init logs a "BUG:" line and taints the kernel (U), no
 *          panic: only the harness's dmesg and taint checks can see it
 *   hang   the ioctl sleeps uninterruptibly for an hour -> the program's
 *          timeout cannot kill it -> the host's guest timeout must
 */
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/panic.h>

static int *volatile zcbroken_null;

static long zcbroken_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
#if defined(ZCBROKEN_MODE_warn)
	WARN(1, "zcdev-harness-selftest: deliberate WARN in ioctl\n");
#elif defined(ZCBROKEN_MODE_oops)
	pr_info("zcdev-harness-selftest: deliberate NULL dereference in ioctl\n");
	return *zcbroken_null;
#elif defined(ZCBROKEN_MODE_hang)
	pr_info("zcdev-harness-selftest: deliberate uninterruptible sleep in ioctl\n");
	ssleep(3600);
#endif
	return -ENOTTY;
}

static const struct file_operations zcbroken_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = zcbroken_ioctl,
};

static struct miscdevice zcbroken_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "zcdev",
	.fops = &zcbroken_fops,
	.mode = 0666,
};

static int __init zcbroken_init(void)
{
#if defined(ZCBROKEN_MODE_dmesg)
	pr_err("BUG: zcdev-harness-selftest: deliberate report, no panic\n");
	add_taint(TAINT_USER, LOCKDEP_STILL_OK);
#endif
	return misc_register(&zcbroken_misc);
}

static void __exit zcbroken_exit(void)
{
	misc_deregister(&zcbroken_misc);
}

module_init(zcbroken_init);
module_exit(zcbroken_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("deliberately broken zcdev stand-in for the harness self-test");
