// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side checks of libzc's io_uring helpers (1.2), built against an
 * *installed* copy through pkg-config, with liburing.  It never opens
 * /dev/zcdev: handles are opened on a regular file (which has no
 * ->uring_cmd: what a module without commands looks like), on /dev/null
 * (whose ->uring_cmd, from Linux 6.x, answers 0: not zcdev's answer
 * either) or in fallback mode.
 *
 *  - zc_prep_sendfile()/zc_prep_sendv() fill the 64 bytes of the SQE as the
 *    uapi lays them out (checked byte by byte against the kernel ABI's
 *    offsets, not against the library's code), leave user_data alone and
 *    never touch the argument struct;
 *  - the SQEs liburing hands out, submitted: a regular file's
 *    -EOPNOTSUPP, the fallback's fd -1 giving -EBADF;
 *  - zc_uring_supported() against what io_uring_setup(2) does here;
 *  - zc_cqe_result()/zc_cqe_result_sendv() for every kind of completion.
 *
 * Output: "PASS name", "FAIL name: why" or "SKIP name: why" lines;
 * host-check.sh turns them into KTAP.  Exit status 1 if anything failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <liburing.h>

#include <zc.h>

static int failures;

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS uring.%s\n", name);
		return;
	}
	failures++;
	printf("FAIL uring.%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

#define CHECK(name, cond, ...) result(!!(cond), name, __VA_ARGS__)

/* ---- the SQE layout ---------------------------------------------------- */

/*
 * The kernel ABI of a 64-byte SQE (include/uapi/linux/io_uring.h): opcode
 * at 0, flags 1, ioprio 2, fd 4, off/cmd_op 8, addr 16, len 24, op flags
 * 28, user_data 32, buf_index 40, personality 42, file_index 44, and the
 * command area (addr3, __pad2) from 48.  The zcdev command area is struct
 * zcdev_uring_cmd { __u64 arg; __u64 reserved; }.
 */
static void expected_sqe(uint8_t exp[64], int fd, uint32_t op,
			 uint64_t user_data, const void *arg)
{
	uint64_t a = (uint64_t)(uintptr_t)arg;

	memset(exp, 0, 64);
	exp[0] = IORING_OP_URING_CMD;
	memcpy(exp + 4, &fd, 4);
	memcpy(exp + 8, &op, 4);
	memcpy(exp + 32, &user_data, 8);
	memcpy(exp + 48, &a, 8);
}

/* the first differing byte, or -1 */
static int diff_at(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int)i;
	return -1;
}

static void fill_garbage(struct io_uring_sqe *sqe, uint64_t user_data)
{
	memset(sqe, 0xa5, sizeof(*sqe));
	sqe->user_data = user_data;
}

static void test_prep_layout(struct zc *dev, struct zc *fb)
{
	struct io_uring_sqe sqe;
	struct zcdev_sendfile a, a0;
	struct zcdev_sendv v, v0;
	uint8_t exp[64];
	int ret, at;

	CHECK("sqe_is_64_bytes", sizeof(sqe) == 64, "%zu", sizeof(sqe));

	memset(&a, 0x3c, sizeof(a));
	a0 = a;
	fill_garbage(&sqe, 0x1122334455667788ULL);
	errno = EDOM;
	ret = zc_prep_sendfile(&sqe, dev, &a);
	expected_sqe(exp, zc_fd(dev), ZCDEV_IOC_SENDFILE,
		     0x1122334455667788ULL, &a);
	at = diff_at((uint8_t *)&sqe, exp, 64);
	CHECK("prep_sendfile_layout", ret == 0 && at < 0,
	      "ret %d, byte %d is %#x, want %#x", ret, at,
	      at < 0 ? 0 : ((uint8_t *)&sqe)[at], at < 0 ? 0 : exp[at]);
	CHECK("prep_sendfile_errno_untouched", errno == EDOM, "errno %d",
	      errno);
	CHECK("prep_sendfile_arg_untouched", !memcmp(&a, &a0, sizeof(a)),
	      "the struct changed");

	memset(&v, 0x5a, sizeof(v));
	v0 = v;
	fill_garbage(&sqe, 42);
	ret = zc_prep_sendv(&sqe, dev, &v);
	expected_sqe(exp, zc_fd(dev), ZCDEV_IOC_SENDV, 42, &v);
	at = diff_at((uint8_t *)&sqe, exp, 64);
	CHECK("prep_sendv_layout", ret == 0 && at < 0, "ret %d, byte %d",
	      ret, at);
	CHECK("prep_sendv_arg_untouched", !memcmp(&v, &v0, sizeof(v)),
	      "the struct changed");

	/* a NULL argument is the caller's business: the kernel says EFAULT */
	fill_garbage(&sqe, 7);
	ret = zc_prep_sendfile(&sqe, dev, NULL);
	expected_sqe(exp, zc_fd(dev), ZCDEV_IOC_SENDFILE, 7, NULL);
	CHECK("prep_null_arg", ret == 0 && diff_at((uint8_t *)&sqe, exp, 64) < 0,
	      "ret %d", ret);

	/* fallback mode: -EOPNOTSUPP, the SQE a command on fd -1 */
	fill_garbage(&sqe, 9);
	ret = zc_prep_sendfile(&sqe, fb, &a);
	expected_sqe(exp, -1, ZCDEV_IOC_SENDFILE, 9, &a);
	CHECK("prep_fallback_eopnotsupp_fd_minus_1", ret == -EOPNOTSUPP &&
	      diff_at((uint8_t *)&sqe, exp, 64) < 0, "ret %d byte %d", ret,
	      diff_at((uint8_t *)&sqe, exp, 64));
	fill_garbage(&sqe, 9);
	ret = zc_prep_sendv(&sqe, NULL, &v);
	expected_sqe(exp, -1, ZCDEV_IOC_SENDV, 9, &v);
	CHECK("prep_null_handle_einval_fd_minus_1", ret == -EINVAL &&
	      diff_at((uint8_t *)&sqe, exp, 64) < 0, "ret %d", ret);
	CHECK("prep_null_sqe", zc_prep_sendfile(NULL, dev, &a) == -EINVAL &&
	      zc_prep_sendv(NULL, dev, &v) == -EINVAL, "NULL sqe accepted");
}

/* ---- on a real ring (liburing) ------------------------------------------ */

/* submit one prepared SQE, wait: its CQE's res (user_data checked) */
static int submit_one(struct io_uring *ring, uint64_t user_data, int *res)
{
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit(ring);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	*res = cqe->res;
	ret = io_uring_cqe_get_data64(cqe) == user_data ? 0 : -EPROTO;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static void test_ring(struct zc *dev, struct zc *null, struct zc *fb)
{
	struct zcdev_sendfile a;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int ret, res = 0;

	/* the oracle: may this process set up a ring at all? */
	ret = io_uring_queue_init(4, &ring, 0);
	errno = EDOM;
	if (ret < 0) {
		int got = zc_uring_supported(dev);

		CHECK("supported_says_why_setup_fails", got == ret,
		      "io_uring_setup: %s, zc_uring_supported: %d",
		      strerror(-ret), got);
		printf("SKIP uring.ring_commands: io_uring_setup fails here: "
		       "%s\n", strerror(-ret));
		return;
	}
	ret = zc_uring_supported(dev);
	CHECK("supported_file_without_commands", ret == -EOPNOTSUPP,
	      "a regular file: %d", ret);
	ret = zc_uring_supported(null);
	CHECK("supported_other_driver", ret == -EOPNOTSUPP, "/dev/null: %d",
	      ret);
	CHECK("supported_errno_untouched", errno == EDOM, "errno %d", errno);
	CHECK("supported_fallback", zc_uring_supported(fb) == -EOPNOTSUPP,
	      "fallback handle: %d", zc_uring_supported(fb));
	CHECK("supported_null", zc_uring_supported(NULL) == -EINVAL,
	      "NULL handle accepted");

	/* liburing's SQE, a command on a file: io_uring's -EOPNOTSUPP */
	memset(&a, 0, sizeof(a));
	a.file_fd = -1;
	a.sock_fd = -1;
	sqe = io_uring_get_sqe(&ring);
	ret = zc_prep_sendfile(sqe, dev, &a);
	io_uring_sqe_set_data64(sqe, 0xabc);
	ret = ret ? ret : submit_one(&ring, 0xabc, &res);
	CHECK("liburing_sqe_command_submitted", ret == 0 && res == -EOPNOTSUPP,
	      "ret %d res %d", ret, res);
	/* the fallback's SQE: fd -1, -EBADF, nothing done */
	sqe = io_uring_get_sqe(&ring);
	ret = zc_prep_sendfile(sqe, fb, &a);
	io_uring_sqe_set_data64(sqe, 0xdef);
	ret = ret == -EOPNOTSUPP ? submit_one(&ring, 0xdef, &res) : -EINVAL;
	CHECK("liburing_fallback_sqe_ebadf", ret == 0 && res == -EBADF,
	      "ret %d res %d", ret, res);
	io_uring_queue_exit(&ring);
}

/* ---- decoding ------------------------------------------------------------ */

static struct zcdev_sendfile report(uint32_t flags, uint32_t path,
				    uint32_t why, uint32_t status,
				    uint64_t sent, uint64_t zc_bytes)
{
	struct zcdev_sendfile a;

	memset(&a, 0, sizeof(a));
	a.file_fd = 3;
	a.sock_fd = 4;
	a.offset = 8192;
	a.len = 1 << 20;
	a.flags = flags;
	a.path = path;
	a.why = why;
	a.status = status;
	a.sent = sent;
	a.zc_bytes = zc_bytes;
	a.copied_bytes = sent - zc_bytes;
	a.notify_id = 0;
	return a;
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return 0;
	return 1;
}

/* r is exactly "one call, no report" */
static int no_report(const struct zc_result *r)
{
	struct zc_result z;

	memset(&z, 0, sizeof(z));
	z.calls = 1;
	return !memcmp(r, &z, sizeof(z));
}

static void test_decode(void)
{
	struct zcdev_sendfile a;
	struct zcdev_sendv v;
	struct zc_result r;
	int n;

	a = report(ZCDEV_SEND_NOTIFY, ZCDEV_PATH_MIXED, ZCDEV_WHY_NO_CSUM,
		   ZCDEV_STATUS_EOF, 4096, 4000);
	a.notify_id = 77;
	memset(&r, 0xee, sizeof(r));
	errno = EDOM;
	n = zc_cqe_result(4096, &a, &r);
	CHECK("decode_sent", n == 4096 && r.sent == 4096 &&
	      r.zc_bytes == 4000 && r.copied_bytes == 96 &&
	      r.unknown_bytes == 0 && r.path == ZCDEV_PATH_MIXED &&
	      r.why == ZCDEV_WHY_NO_CSUM && r.status == ZCDEV_STATUS_EOF &&
	      r.notify_id == 77 && r.calls == 1 && r.seg_index == 0 &&
	      r.seg_sent == 0 && r.resv32b == 0 && r.resv[0] == 0,
	      "n %d sent %llu path %u why %#x calls %u", n,
	      (unsigned long long)r.sent, r.path, r.why, r.calls);
	CHECK("decode_errno_untouched", errno == EDOM, "errno %d", errno);

	a = report(0, ZCDEV_PATH_NONE, 0, ZCDEV_STATUS_EOF, 0, 0);
	n = zc_cqe_result(0, &a, &r);
	CHECK("decode_eof", n == 0 && r.sent == 0 && r.calls == 1 &&
	      r.status == ZCDEV_STATUS_EOF && r.path == ZCDEV_PATH_NONE,
	      "n %d status %#x", n, r.status);

	/* STRICT refusal: the reasons, never counts */
	a = report(ZCDEV_SEND_STRICT, ZCDEV_PATH_COPY, ZCDEV_WHY_NO_SG, 0, 0,
		   0);
	a.zc_bytes = 123;	/* not part of a refusal's report */
	a.notify_id = 5;
	n = zc_cqe_result(-EOPNOTSUPP, &a, &r);
	CHECK("decode_strict_refusal", n == -EOPNOTSUPP && r.sent == 0 &&
	      r.zc_bytes == 0 && r.notify_id == 0 &&
	      r.why == ZCDEV_WHY_NO_SG && r.path == ZCDEV_PATH_COPY &&
	      r.calls == 1, "n %d why %#x zc %llu", n, r.why,
	      (unsigned long long)r.zc_bytes);
	/* -EOPNOTSUPP without STRICT (io_uring's own): no report */
	a.flags = 0;
	n = zc_cqe_result(-EOPNOTSUPP, &a, &r);
	CHECK("decode_eopnotsupp_without_strict", n == -EOPNOTSUPP &&
	      no_report(&r), "why %#x path %u", r.why, r.path);

	a = report(ZCDEV_SEND_CACHED_ONLY, ZCDEV_PATH_NONE, 0,
		   ZCDEV_STATUS_NOT_CACHED, 0, 0);
	n = zc_cqe_result(-EBUSY, &a, &r);
	CHECK("decode_cached_only_ebusy", n == -EBUSY && r.sent == 0 &&
	      r.status == ZCDEV_STATUS_NOT_CACHED && r.calls == 1,
	      "n %d status %#x", n, r.status);
	a.flags = 0;
	n = zc_cqe_result(-EBUSY, &a, &r);
	CHECK("decode_ebusy_without_cached_only", n == -EBUSY && no_report(&r),
	      "status %#x", r.status);

	/* errors without a report: whatever the struct holds is ignored */
	a = report(ZCDEV_SEND_STRICT | ZCDEV_SEND_CACHED_ONLY,
		   ZCDEV_PATH_ZEROCOPY, ZCDEV_WHY_KTLS, ZCDEV_STATUS_EOF, 9, 9);
	n = zc_cqe_result(-EAGAIN, &a, &r);
	CHECK("decode_eagain", n == -EAGAIN && no_report(&r), "n %d", n);
	n = zc_cqe_result(-EPIPE, &a, &r);
	CHECK("decode_epipe", n == -EPIPE && no_report(&r), "n %d", n);

	/* the wrong struct for this completion */
	a = report(0, ZCDEV_PATH_ZEROCOPY, 0, 0, 99, 99);
	memset(&r, 0xee, sizeof(r));
	n = zc_cqe_result(100, &a, &r);
	CHECK("decode_res_differs_from_sent", n == -EINVAL &&
	      all_zero(&r, sizeof(r)), "n %d", n);
	n = zc_cqe_result(100, NULL, &r);
	CHECK("decode_null_arg", n == -EINVAL && all_zero(&r, sizeof(r)),
	      "n %d", n);
	CHECK("decode_null_result", zc_cqe_result(99, &a, NULL) == 99,
	      "NULL result refused");

	/* SENDV: the position too */
	memset(&v, 0, sizeof(v));
	v.nr_segs = 3;
	v.sock_fd = 4;
	v.path = ZCDEV_PATH_MIXED;
	v.why = ZCDEV_WHY_MEMORY;
	v.sent = 150;
	v.zc_bytes = 50;
	v.copied_bytes = 100;
	v.seg_index = 1;
	v.seg_sent = 50;
	n = zc_cqe_result_sendv(150, &v, &r);
	CHECK("decode_sendv_position", n == 150 && r.sent == 150 &&
	      r.zc_bytes == 50 && r.copied_bytes == 100 &&
	      r.seg_index == 1 && r.seg_sent == 50 &&
	      r.path == ZCDEV_PATH_MIXED && r.why == ZCDEV_WHY_MEMORY &&
	      r.calls == 1, "n %d seg %u/%llu", n, r.seg_index,
	      (unsigned long long)r.seg_sent);
	v.flags = ZCDEV_SEND_STRICT;
	v.why = ZCDEV_WHY_NO_SG;
	v.path = ZCDEV_PATH_COPY;
	v.seg_index = 0;
	n = zc_cqe_result_sendv(-EOPNOTSUPP, &v, &r);
	CHECK("decode_sendv_strict_refusal", n == -EOPNOTSUPP &&
	      r.sent == 0 && r.seg_sent == 0 && r.why == ZCDEV_WHY_NO_SG &&
	      r.path == ZCDEV_PATH_COPY, "n %d why %#x", n, r.why);
	n = zc_cqe_result_sendv(-EAGAIN, &v, &r);
	CHECK("decode_sendv_eagain", n == -EAGAIN && no_report(&r), "n %d",
	      n);
	n = zc_cqe_result_sendv(149, &v, &r);
	CHECK("decode_sendv_res_differs_from_sent", n == -EINVAL &&
	      all_zero(&r, sizeof(r)), "n %d", n);
	CHECK("decode_sendv_null_arg",
	      zc_cqe_result_sendv(0, NULL, NULL) == -EINVAL, "NULL accepted");
}

int main(void)
{
	char path[] = "/tmp/libzc-host-uring.XXXXXX";
	struct zc *dev, *null, *fb;
	int fd, ret;

	test_decode();
	/* a regular file as the device: no ->uring_cmd */
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 2;
	}
	close(fd);
	ret = zc_open(&dev, path, ZC_OPEN_NOFALLBACK);
	unlink(path);
	if (ret || zc_open(&null, "/dev/null", ZC_OPEN_NOFALLBACK) ||
	    zc_open(&fb, NULL, ZC_OPEN_FALLBACK)) {
		printf("FAIL uring.setup: cannot open the handles: %s\n",
		       strerror(-ret));
		return 1;
	}
	test_prep_layout(dev, fb);
	test_ring(dev, null, fb);
	zc_close(dev);
	zc_close(null);
	zc_close(fb);
	return failures ? 1 : 0;
}
