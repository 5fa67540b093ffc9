// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_faults: systematic fault injection into ZCDEV_IOC_SENDFILE,
 * ZCDEV_IOC_SENDV (a memory and a file segment) and ZCDEV_SEND_NOTIFY sends
 * (whose completion must still arrive).
 *
 * For every fault point the call passes through, in order: arm
 * /proc/thread-self/fail-nth with N, make the call, and check that the
 * failure became an error or a short send - never a hang, a leak, a wrong
 * report or a corrupted stream - then go on with N + 1 until the call no
 * longer consumes the armed fault.  fail-nth counts the fault points of
 * every injector together, so one walk covers slab allocations (failslab),
 * page allocations (fail_page_alloc) and user copies (fail_usercopy); it is
 * done on the page-cache path (tmpfs, ext4 cold) and the splice path
 * (procfs), for each ioctl.
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION and its debugfs knobs: the
 * debug kernel of `make check-debug`.  Debian's stock kernels have none of
 * it, so there every test is a SKIP (never a pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define DBG	"/sys/kernel/debug/"
#define MAX_N	2000

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -1;
	close(fd);
	return ret;
}

/* Quiet the injector: no stack dumps (the guest flags "Call Trace"). */
static int setup_attr(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), DBG "%s/verbose", name);
	if (write_str(p, "0"))
		return -1;
	snprintf(p, sizeof(p), DBG "%s/ignore-gfp-wait", name);
	if (!access(p, F_OK) && write_str(p, "N"))
		return -1;
	snprintf(p, sizeof(p), DBG "%s/min-order", name);
	if (!access(p, F_OK) && write_str(p, "0"))
		return -1;
	return 0;
}

FIXTURE(faults) {
	char path[256];
	int fd;
	int dev;
	int nth;	/* /proc/thread-self/fail-nth */
};

enum { OP_SENDFILE, OP_SENDV, OP_NOTIFY };

FIXTURE_VARIANT(faults) {
	int source;		/* 0 tmpfs, 1 ext4, 2 procfs */
	int op;
};

FIXTURE_VARIANT_ADD(faults, tmpfs) { .source = 0, .op = OP_SENDFILE };
FIXTURE_VARIANT_ADD(faults, ext4_cold) { .source = 1, .op = OP_SENDFILE };
FIXTURE_VARIANT_ADD(faults, procfs) { .source = 2, .op = OP_SENDFILE };
FIXTURE_VARIANT_ADD(faults, sendv_tmpfs) { .source = 0, .op = OP_SENDV };
FIXTURE_VARIANT_ADD(faults, sendv_procfs) { .source = 2, .op = OP_SENDV };
FIXTURE_VARIANT_ADD(faults, notify_tmpfs) { .source = 0, .op = OP_NOTIFY };
FIXTURE_VARIANT_ADD(faults, notify_ext4_cold) { .source = 1, .op = OP_NOTIFY };

FIXTURE_SETUP(faults)
{
	static const char *const attrs[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
	};

	self->fd = -1;
	self->dev = -1;
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (self->nth < 0)
		SKIP(return, "no fail-nth: this kernel has no CONFIG_FAULT_INJECTION");
	for (int i = 0; i < 3; i++) {
		char p[128];

		snprintf(p, sizeof(p), DBG "%s", attrs[i]);
		if (access(p, F_OK))
			SKIP(return, "no %s in debugfs on this kernel", attrs[i]);
		ASSERT_EQ(0, setup_attr(attrs[i])) TH_LOG("%s: %s", p,
							  strerror(errno));
	}
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev);
	if (variant->source == 2) {
		self->fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, self->fd);
	} else {
		self->fd = zc_make_payload_file(variant->source ?
						zc_ext4_dir() : zc_tmpfs_dir(),
						1 << 20, self->path,
						sizeof(self->path));
		ASSERT_LE(0, self->fd) TH_LOG("%s", zc_errmsg());
	}
}

FIXTURE_TEARDOWN(faults)
{
	if (self->fd >= 0)
		close(self->fd);
	if (variant->source != 2 && self->path[0])
		unlink(self->path);
	if (self->dev >= 0)
		close(self->dev);
	if (self->nth >= 0)
		close(self->nth);
}

static int arm(int nth, int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	return pwrite(nth, buf, len, 0) == len ? 0 : -1;
}

/* 0: the armed fault fired during the call; 1: it was not consumed. */
static int fired(int nth)
{
	char buf[16] = "";

	/*
	 * The read's own copy to user space is a fault point: with one count
	 * left it fires there, and the read fails with EFAULT - the call
	 * itself did not consume the fault.
	 */
	if (pread(nth, buf, sizeof(buf) - 1, 0) <= 0) {
		if (errno != EFAULT)
			return -1;
		arm(nth, 0);
		return 1;
	}
	if (atoi(buf) == 0)
		return 0;
	arm(nth, 0);	/* disarm */
	return 1;
}

/* The header of the SENDV walk: its bytes arrive before the file's. */
static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Length: 262144\r\n\r\n";
#define HDR_LEN	(sizeof(hdr) - 1)

/*
 * One call of the variant's kind with whatever fault is armed.  Returns the
 * ioctl's result (errno in *err); on success *sent is what the report says
 * was sent, of which *file_off is where the file's bytes start in the
 * stream, and *id the notify id.
 */
static int one_call(struct __test_metadata *_metadata,
		    FIXTURE_DATA(faults) *self,
		    const FIXTURE_VARIANT(faults) *variant, int sock,
		    uint64_t len, uint64_t *sent, uint64_t *file_off,
		    uint64_t *id, int *err)
{
	int ret;

	*file_off = 0;
	*id = 0;
	if (variant->op == OP_SENDV) {
		struct zcdev_seg segs[2] = {
			zct_seg_mem(hdr, HDR_LEN),
			zct_seg_file(self->fd, 0, len),
		};
		struct zcdev_sendv a = { 0 }, in;

		a.segs = (uint64_t)(uintptr_t)segs;
		a.nr_segs = 2;
		a.sock_fd = sock;
		zc_poison_sendv_out(&a);
		in = a;
		ret = ioctl(self->dev, ZCDEV_IOC_SENDV, &a);
		*err = errno;
		if (!ret) {
			EXPECT_EQ(0, zc_sendv_report_check(&in, &a, segs,
							   HDR_LEN + len))
				TH_LOG("%s", zc_errmsg());
			*sent = a.sent;
			*file_off = HDR_LEN;
		}
		return ret;
	} else {
		struct zcdev_sendfile a = { 0 }, in;

		a.file_fd = self->fd;
		a.sock_fd = sock;
		a.len = len;
		if (variant->op == OP_NOTIFY)
			a.flags = ZCDEV_SEND_NOTIFY;
		zc_poison_out(&a);
		in = a;
		ret = ioctl(self->dev, ZCDEV_IOC_SENDFILE, &a);
		*err = errno;
		if (!ret) {
			EXPECT_EQ(0, zc_report_check(&in, &a, len))
				TH_LOG("%s", zc_errmsg());
			*sent = a.sent;
			*id = a.notify_id;
		}
		return ret;
	}
}

/* NOTIFY: the completion of @id arrives (the peer has read everything). */
static int wait_completion(int dev, uint64_t id)
{
	struct zcdev_completion c;
	struct pollfd pfd = { .fd = dev, .events = POLLIN };
	uint64_t end = zc_now_ms() + 5000;

	while (zc_now_ms() < end) {
		if (poll(&pfd, 1, 100) < 0)
			return -1;
		if (!(pfd.revents & POLLIN))
			continue;
		if (read(dev, &c, sizeof(c)) != sizeof(c))
			return -1;
		if (c.id == id)
			return 0;
	}
	errno = ETIMEDOUT;
	return -1;
}

TEST_F_TIMEOUT(faults, every_fault_point, 300)
{
	const uint64_t len = 256 * 1024;
	int n, fired_count = 0;
	uint8_t *buf = malloc(HDR_LEN + len);

	ASSERT_NE(NULL, buf);
	for (n = 1; n < MAX_N; n++) {
		uint64_t sent = 0, file_off, id;
		struct zc_pair p;
		ssize_t got;
		int ret, err, f;

		ASSERT_EQ(0, zc_pair_open(&p, ZC_TCP4, ZC_NET_LO, NULL))
			TH_LOG("%s", zc_errmsg());
		if (variant->source == 1)
			ASSERT_LE(0, zc_make_cold(self->fd));

		ASSERT_EQ(0, arm(self->nth, n));
		ret = one_call(_metadata, self, variant, p.snd, len, &sent,
			       &file_off, &id, &err);
		f = fired(self->nth);
		ASSERT_LE(0, f);

		if (ret == 0) {
			/* what was reported sent arrives, byte-exact */
			shutdown(p.snd, SHUT_WR);
			got = zc_recv_exact(p.rcv, buf, HDR_LEN + len, 5000);
			ASSERT_EQ((ssize_t)sent, got) TH_LOG("n=%d", n);
			if (file_off && got) {
				ASSERT_EQ(0, memcmp(buf, hdr,
						    got < (ssize_t)HDR_LEN ?
						    (size_t)got : HDR_LEN))
					TH_LOG("n=%d: the header is wrong", n);
			}
			if (variant->source != 2 && got > (ssize_t)file_off)
				ASSERT_EQ(-1, zc_verify(buf + file_off,
							got - file_off, 0))
					TH_LOG("n=%d: %s", n, zc_errmsg());
			/* a NOTIFY send completes, whatever failed on the way */
			if (id)
				ASSERT_EQ(0, wait_completion(self->dev, id))
					TH_LOG("n=%d: no completion for id %llu: %s",
					       n, (unsigned long long)id,
					       strerror(errno));
		} else {
			ASSERT_EQ(-1, ret);
			ASSERT_TRUE(err == ENOMEM || err == EFAULT ||
				    err == EIO || err == EINTR || err == EAGAIN ||
				    err == ENOBUFS)
				TH_LOG("n=%d: unexpected errno %d (%s)", n, err,
				       strerror(err));
		}
		zc_pair_close(&p);
		if (f == 1)
			break;
		fired_count++;
	}
	TH_LOG("%d fault points injected, clean pass at n=%d",
	       fired_count, n);
	ASSERT_LT(0, fired_count);
	ASSERT_GT(MAX_N, n) TH_LOG("never completed a call without a fault");
	free(buf);
}

TEST_HARNESS_MAIN
