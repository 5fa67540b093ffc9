// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
/*
 * libzc: ZCDEV_IOC_SENDFILE and ZCDEV_IOC_SENDV as io_uring commands
 * (IORING_OP_URING_CMD on /dev/zcdev): SQE preparation, completion
 * decoding, and a probe of whether commands can be used at all.
 *
 * The SQE layout is the kernel's (<linux/io_uring.h> from linux-libc-dev);
 * nothing here depends on liburing, and the prepared SQEs are the ones
 * liburing's io_uring_get_sqe() hands out.  Like the rest of libzc, every
 * function returns a negative errno value and leaves errno as it was.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>

#include "zc.h"

#define ZC_EXPORT __attribute__((visibility("default")))

/* The command area holds the struct, at the offset the uapi gives it. */
_Static_assert(sizeof(struct zcdev_uring_cmd) == 16, "zcdev_uring_cmd size");
_Static_assert(offsetof(struct io_uring_sqe, cmd) == 48, "sqe->cmd offset");
_Static_assert(sizeof(struct io_uring_sqe) == 64, "64-byte SQE");

/*
 * Fill @sqe as a zcdev command @op on the descriptor @fd with @arg in its
 * command area; every field but user_data is written.
 */
static void prep_cmd(struct io_uring_sqe *sqe, int fd, uint32_t op,
		     const void *arg)
{
	struct zcdev_uring_cmd uc = {
		.arg = (uint64_t)(uintptr_t)arg,
		.reserved = 0,
	};
	uint64_t user_data = sqe->user_data;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	sqe->user_data = user_data;
	memcpy(sqe->cmd, &uc, sizeof(uc));
}

/*
 * The device descriptor for a command, or -1 (a command on it completes
 * with -EBADF) with the error in *@err.
 */
static int cmd_fd(const struct zc *zc, int *err)
{
	int fd;

	*err = 0;
	if (!zc) {
		*err = -EINVAL;
		return -1;
	}
	fd = zc_fd(zc);
	if (fd < 0) {
		*err = -EOPNOTSUPP;	/* fallback mode: no device */
		return -1;
	}
	return fd;
}

int ZC_EXPORT zc_prep_sendfile(struct io_uring_sqe *sqe, const struct zc *zc,
			       struct zcdev_sendfile *a)
{
	int err, fd;

	if (!sqe)
		return -EINVAL;
	fd = cmd_fd(zc, &err);
	prep_cmd(sqe, fd, ZCDEV_IOC_SENDFILE, a);
	return err;
}

int ZC_EXPORT zc_prep_sendv(struct io_uring_sqe *sqe, const struct zc *zc,
			    struct zcdev_sendv *a)
{
	int err, fd;

	if (!sqe)
		return -EINVAL;
	fd = cmd_fd(zc, &err);
	prep_cmd(sqe, fd, ZCDEV_IOC_SENDV, a);
	return err;
}

/* Whether the kernel wrote the report back with the error @res. */
static int report_with(int res, uint32_t flags)
{
	return res >= 0 ||
	       (res == -EOPNOTSUPP && (flags & ZCDEV_SEND_STRICT)) ||
	       (res == -EBUSY && (flags & ZCDEV_SEND_CACHED_ONLY));
}

int ZC_EXPORT zc_cqe_result(int res, const struct zcdev_sendfile *a,
			    struct zc_result *r)
{
	struct zc_result local;

	if (!r)
		r = &local;
	memset(r, 0, sizeof(*r));
	if (!a || (res >= 0 && a->sent != (uint64_t)res))
		return -EINVAL;
	r->calls = 1;
	if (report_with(res, a->flags)) {
		r->path = a->path;
		r->why = a->why;
		r->status = a->status;
		if (res >= 0) {
			r->sent = a->sent;
			r->zc_bytes = a->zc_bytes;
			r->copied_bytes = a->copied_bytes;
			r->notify_id = a->notify_id;
		}
	}
	return res;
}

int ZC_EXPORT zc_cqe_result_sendv(int res, const struct zcdev_sendv *a,
				  struct zc_result *r)
{
	struct zc_result local;

	if (!r)
		r = &local;
	memset(r, 0, sizeof(*r));
	if (!a || (res >= 0 && a->sent != (uint64_t)res))
		return -EINVAL;
	r->calls = 1;
	if (report_with(res, a->flags)) {
		r->path = a->path;
		r->why = a->why;
		r->status = a->status;
		r->seg_index = a->seg_index;
		if (res >= 0) {
			r->sent = a->sent;
			r->zc_bytes = a->zc_bytes;
			r->copied_bytes = a->copied_bytes;
			r->notify_id = a->notify_id;
			r->seg_sent = a->seg_sent;
		}
	}
	return res;
}

/* ---- probe ----------------------------------------------------------- */

/* A one-entry ring, raw syscalls: only what the probe needs. */
struct probe_ring {
	int fd;
	void *sq_map, *cq_map;
	struct io_uring_sqe *sqes;
	size_t sq_len, cq_len;
	struct io_uring_params p;
};

static void probe_ring_exit(struct probe_ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->p.sq_entries * sizeof(struct io_uring_sqe));
	if (r->cq_map && r->cq_map != MAP_FAILED)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
}

static int probe_ring_init(struct probe_ring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = (int)syscall(__NR_io_uring_setup, 1, &r->p);
	if (r->fd < 0) {
		r->fd = -1;
		return -errno;
	}
	r->sq_len = r->p.sq_off.array + r->p.sq_entries * sizeof(uint32_t);
	r->cq_len = r->p.cq_off.cqes +
		    r->p.cq_entries * sizeof(struct io_uring_cqe);
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED, r->fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		return -errno;
	r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED, r->fd, IORING_OFF_CQ_RING);
	if (r->cq_map == MAP_FAILED)
		return -errno;
	r->sqes = mmap(NULL, r->p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	return 0;
}

#define RING_U32(map, off) ((uint32_t *)((char *)(map) + (off)))

/* Submit one SENDFILE command with a NULL argument; its CQE's res. */
static int probe_ring_cmd(struct probe_ring *r, int dev, int *res)
{
	uint32_t *sq_head = RING_U32(r->sq_map, r->p.sq_off.head);
	uint32_t *tail = RING_U32(r->sq_map, r->p.sq_off.tail);
	uint32_t mask = *RING_U32(r->sq_map, r->p.sq_off.ring_mask);
	uint32_t *array = RING_U32(r->sq_map, r->p.sq_off.array);
	uint32_t *cq_head = RING_U32(r->cq_map, r->p.cq_off.head);
	uint32_t *cq_tail = RING_U32(r->cq_map, r->p.cq_off.tail);
	uint32_t cq_mask = *RING_U32(r->cq_map, r->p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)
		((char *)r->cq_map + r->p.cq_off.cqes);
	uint32_t t = *tail, h;
	long n;

	r->sqes[t & mask].user_data = 0;
	prep_cmd(&r->sqes[t & mask], dev, ZCDEV_IOC_SENDFILE, NULL);
	array[t & mask] = t & mask;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	for (;;) {
		n = syscall(__NR_io_uring_enter, r->fd, 1, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0);
		if (n >= 0)
			break;
		if (errno != EINTR)
			return -errno;
		/* interrupted after the submission: only wait */
		if (__atomic_load_n(sq_head, __ATOMIC_ACQUIRE) != t)
			break;
	}
	if (n == 0)
		return -EIO;	/* not submitted: no CQE will come */
	h = *cq_head;
	while (h == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) {
		n = syscall(__NR_io_uring_enter, r->fd, 0, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	*res = cqes[h & cq_mask].res;
	__atomic_store_n(cq_head, h + 1, __ATOMIC_RELEASE);
	return 0;
}

int ZC_EXPORT zc_uring_supported(struct zc *zc)
{
	int saved_errno = errno;
	struct probe_ring r;
	int dev, ret, res = 0;

	if (!zc)
		return -EINVAL;
	dev = zc_fd(zc);
	if (dev < 0)
		return -EOPNOTSUPP;	/* fallback mode: no device */

	/* -EPERM: kernel.io_uring_disabled; -ENOSYS: no io_uring at all */
	ret = probe_ring_init(&r);
	if (!ret)
		ret = probe_ring_cmd(&r, dev, &res);
	probe_ring_exit(&r);
	if (!ret) {
		/*
		 * The module reads the NULL argument: -EFAULT, nothing sent.
		 * A file without ->uring_cmd gets io_uring's -EOPNOTSUPP, a
		 * kernel without IORING_OP_URING_CMD -EINVAL; any answer
		 * but the module's means the commands cannot be used.
		 */
		ret = res == -EFAULT ? 0 : -EOPNOTSUPP;
	}
	errno = saved_errno;
	return ret;
}
