/* SPDX-License-Identifier: MIT OR LGPL-2.1-or-later */
/*
 * libzc: send a file range to a socket by page-cache reference through
 * /dev/zcdev, and learn per call which bytes went by reference, which were
 * copied, and why.  See libzc(7).
 *
 * Conventions (liburing's):
 *   - every function that can fail returns a negative errno value; errno is
 *     never changed by any libzc function;
 *   - every function that takes flags rejects unknown bits with -EINVAL;
 *   - no global state: everything lives in the struct zc handle (plus the
 *     caller's own file descriptors).  Distinct handles are independent; one
 *     handle may be used by many threads at once, except that zc_close() must
 *     not race with other calls on the same handle.
 */
#ifndef LIBZC_ZC_H
#define LIBZC_ZC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The kernel ABI (ZCDEV_SEND_*, ZCDEV_PATH_*, ZCDEV_WHY_*, struct
 * zcdev_sendfile).  It is installed as <zcdev/linux/zcdev.h> so that it never
 * clashes with the distribution's <linux/...> headers.  Code built inside the
 * zcdev source tree may include the tree's uapi/linux/zcdev.h first; the
 * guard below then skips the installed copy.
 */
#ifndef _UAPI_LINUX_ZCDEV_H
#include <zcdev/linux/zcdev.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define LIBZC_VERSION_MAJOR	1
#define LIBZC_VERSION_MINOR	2

/* Device opened by zc_open() when its path argument is NULL. */
#define ZC_DEFAULT_DEVICE	"/dev/" ZCDEV_DEVICE_NAME

struct zc;	/* opaque handle */

/*
 * zc_open() flags.
 *
 * Default (0): open the device; if it is absent (open(2) fails with ENOENT,
 * ENODEV or ENXIO, i.e. the module is not loaded) open the handle in
 * fallback mode, which sends with sendfile(2) and reports ZC_PATH_UNKNOWN /
 * ZC_WHY_NO_MODULE.  Any other open(2) error is returned.  (1.1) The
 * handle asks the module once what it supports (ZCDEV_IOC_PROBE); a module
 * older than that ioctl is used for what it knows, and zc_sendv() is then
 * emulated.
 */
#define ZC_OPEN_NOFALLBACK	(1U << 0)	/* device absent: fail instead */
#define ZC_OPEN_FALLBACK	(1U << 1)	/* do not open the device at all */
#define ZC_OPEN_FLAGS_ALL	(ZC_OPEN_NOFALLBACK | ZC_OPEN_FALLBACK)

/*
 * Library-level extensions of the kernel's report.  They live in value
 * ranges the kernel never uses (paths are small integers; reason bits are
 * allocated upwards from bit 0, bits 24..31 are reserved for libzc), so a
 * result can always be told apart from a kernel report.
 */
#define ZC_PATH_UNKNOWN		0x100U		/* sent by sendfile(2): not known */
#define ZC_WHY_NO_MODULE	(1U << 31)	/* /dev/zcdev absent: fallback */
#define ZC_WHY_LIB_MASK		0xff000000U	/* bits reserved for libzc */

/*
 * struct zc_result - what one call (or one zc_sendfile_all() or
 * zc_sendv_all() loop) did.
 * @sent:          bytes the socket accepted.
 * @zc_bytes:      of @sent, bytes handed over as page-cache references.
 * @copied_bytes:  of @sent, bytes the CPU copied.
 * @unknown_bytes: of @sent, bytes sent by the fallback (sendfile(2)); how
 *                 they travelled is not known.
 *                 @zc_bytes + @copied_bytes + @unknown_bytes == @sent.
 * @path:          ZCDEV_PATH_* or ZC_PATH_UNKNOWN.
 * @why:           ZCDEV_WHY_* and ZC_WHY_* bits: why bytes were (or, when a
 *                 ZCDEV_SEND_STRICT call failed with -EOPNOTSUPP, would
 *                 have been) copied or not known.  0 when none were.
 * @calls:         device ioctls or system calls (sendfile(2), send(2))
 *                 made.
 * @status:        (1.1) ZCDEV_STATUS_* bits: why the send stopped before
 *                 the end of what was asked (not cached, end of file).
 * @notify_id:     (1.1) with ZCDEV_SEND_NOTIFY, the id of the completion
 *                 that zc_read_completions() will return; 0 if none.
 * @seg_index:     (1.1) zc_sendv*(): index of the first segment not sent
 *                 completely (nr_segs when all were); 0 for file sends.
 * @resv32b:       0.
 * @seg_sent:      (1.1) zc_sendv*(): bytes of segment @seg_index sent.
 * @resv:          set to 0 by the library.
 *
 * The struct never grows (LIBZC_1.0 ABI): new fields take reserved space,
 * and the library zeroes what it does not use.
 */
struct zc_result {
	uint64_t sent;
	uint64_t zc_bytes;
	uint64_t copied_bytes;
	uint64_t unknown_bytes;
	uint32_t path;
	uint32_t why;
	uint32_t calls;
	uint32_t status;	/* 1.0: resv32 */
	uint64_t notify_id;	/* 1.0: resv[0] */
	uint32_t seg_index;	/* 1.0: resv[1] */
	uint32_t resv32b;
	uint64_t seg_sent;	/* 1.0: resv[2] */
	uint64_t resv[1];	/* 1.0: resv[3] */
};

/* Handles */
int zc_open(struct zc **zcp, const char *path, unsigned int flags);
int zc_close(struct zc *zc);
int zc_fd(const struct zc *zc);
int zc_is_fallback(const struct zc *zc);

/*
 * Sending.  @flags are ZCDEV_SEND_* bits.  Both return the number of bytes
 * sent (0 at EOF) or a negative errno; @res may be NULL.
 */
ssize_t zc_sendfile(struct zc *zc, int sock_fd, int file_fd, uint64_t offset,
		    uint64_t len, unsigned int flags, struct zc_result *res);
ssize_t zc_sendfile_all(struct zc *zc, int sock_fd, int file_fd,
			uint64_t offset, uint64_t len, unsigned int flags,
			struct zc_result *res);

/* Names.  Returned strings are static; NULL for values libzc doesn't know. */
const char *zc_path_name(uint32_t path);
const char *zc_why_name(uint32_t bit);
const char *zc_why_desc(uint32_t bit);

#define ZC_WHY_STR_DESC		(1U << 0)	/* descriptions, "; "-separated */
int zc_why_str(uint32_t why, char *buf, size_t size, unsigned int flags);

/* ---- LIBZC_1.1 ------------------------------------------------------ */

/*
 * Vectored sends (ZCDEV_IOC_SENDV): segments of user memory (always
 * copied) and file ranges, in order, on one socket.  zc_sendv() makes one
 * call; zc_sendv_all() loops until every segment is sent.
 */
ssize_t zc_sendv(struct zc *zc, int sock_fd, const struct zcdev_seg *segs,
		 unsigned int nr_segs, unsigned int flags,
		 struct zc_result *res);
ssize_t zc_sendv_all(struct zc *zc, int sock_fd, const struct zcdev_seg *segs,
		     unsigned int nr_segs, unsigned int flags,
		     struct zc_result *res);

/* Fill one segment: @len bytes of memory at @addr. */
static inline void zc_seg_mem(struct zcdev_seg *seg, const void *addr,
			      size_t len)
{
	seg->type = ZCDEV_SEG_MEM;
	seg->file_fd = 0;
	seg->offset = 0;
	seg->addr = (uint64_t)(uintptr_t)addr;
	seg->len = (uint64_t)len;
}

/* Fill one segment: @len bytes of the file @fd at @offset. */
static inline void zc_seg_file(struct zcdev_seg *seg, int fd, uint64_t offset,
			       uint64_t len)
{
	seg->type = ZCDEV_SEG_FILE;
	seg->file_fd = fd;
	seg->offset = offset;
	seg->addr = 0;
	seg->len = len;
}

/*
 * struct zc_probe_result - what zc_probe() found.
 * @path:       how a send on the socket would travel now: ZCDEV_PATH_ZEROCOPY
 *              or ZCDEV_PATH_COPY; ZCDEV_PATH_NONE when no socket was given;
 *              ZC_PATH_UNKNOWN in fallback mode.
 * @why:        ZCDEV_WHY_* bits: why it would be copied; ZC_WHY_NO_MODULE in
 *              fallback mode.
 * @send_flags: the ZCDEV_SEND_* flags that sends through this handle can
 *              honour (the module's; fewer with an older module or none).
 * @why_known:  the ZCDEV_WHY_* and ZC_WHY_* bits sends through this handle
 *              can report.
 * @resv:       0.
 */
struct zc_probe_result {
	uint32_t path;
	uint32_t why;
	uint32_t send_flags;
	uint32_t why_known;
	uint32_t resv[4];
};

int zc_probe(struct zc *zc, int sock_fd, int file_fd, unsigned int flags,
	     struct zc_probe_result *res);

/* Completions of ZCDEV_SEND_NOTIFY sends, read from the handle. */
#define ZC_COMPL_WAIT		(1U << 0)	/* block until there is one */
#define ZC_COMPL_FLAGS_ALL	ZC_COMPL_WAIT
int zc_read_completions(struct zc *zc, struct zcdev_completion *out,
			unsigned int nr, unsigned int flags);

/* Names of ZCDEV_STATUS_* bits (zc_status_str() takes ZC_WHY_STR_DESC). */
const char *zc_status_name(uint32_t bit);
int zc_status_str(uint32_t status, char *buf, size_t size,
		  unsigned int flags);

/* Add the report @r of one call to the running sum @acc. */
int zc_result_add(struct zc_result *acc, const struct zc_result *r);

/* ---- LIBZC_1.2 ------------------------------------------------------ */

/*
 * io_uring commands (see zc_prep_sendfile(3)): ZCDEV_IOC_SENDFILE and
 * ZCDEV_IOC_SENDV as IORING_OP_URING_CMD on the handle's device.  The SQE
 * is the kernel's struct io_uring_sqe (<linux/io_uring.h>, or liburing's
 * copy of it); zc.h needs only its name.  The argument struct (and a
 * SENDV's segments and the memory they point at) must stay valid and
 * unchanged until the command's CQE has been reaped: the kernel reads it
 * when it issues the command, again if it issues it again from a worker,
 * and writes the report into it before posting the CQE.
 */
struct io_uring_sqe;

int zc_prep_sendfile(struct io_uring_sqe *sqe, const struct zc *zc,
		     struct zcdev_sendfile *a);
int zc_prep_sendv(struct io_uring_sqe *sqe, const struct zc *zc,
		  struct zcdev_sendv *a);

/* A completion's res and its argument struct, as zc_sendfile() returns. */
int zc_cqe_result(int res, const struct zcdev_sendfile *a,
		  struct zc_result *r);
int zc_cqe_result_sendv(int res, const struct zcdev_sendv *a,
			struct zc_result *r);

/* 0 if the commands can be used through @zc, else why not (-errno). */
int zc_uring_supported(struct zc *zc);

#ifdef __cplusplus
}
#endif

#endif /* LIBZC_ZC_H */
