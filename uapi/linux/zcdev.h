/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * zcdev: send a file range to a socket by page reference, and say so.
 *
 * /dev/zcdev is a misc device.  Its ioctls act only on file descriptors the
 * caller already holds, with the access modes they were opened with.
 *
 * Versioning: every argument struct is versioned by its size, like openat2(2)
 * and clone3(2).  The size is encoded in the ioctl number (_IOC_SIZE).  The
 * module accepts any size >= the first published size (..._SIZE_VER0): a
 * larger struct from a newer userspace works as long as the bytes this module
 * does not know are zero (else -E2BIG); a smaller one is -EINVAL.
 */
#ifndef _UAPI_LINUX_ZCDEV_H
#define _UAPI_LINUX_ZCDEV_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define ZCDEV_DEVICE_NAME	"zcdev"
#define ZCDEV_IOC_MAGIC		0xCD

/*
 * struct zcdev_sendfile - argument of ZCDEV_IOC_SENDFILE
 * @file_fd:      in: file to read; must be open for reading (not O_PATH).
 * @sock_fd:      in: connected stream socket to send to.
 * @offset:       in: file offset to start at.  The file position is neither
 *                used nor changed (pread(2)-like).  Must be <= LLONG_MAX.
 * @len:          in: bytes wanted.  Any value up to UINT64_MAX is legal; it
 *                is clamped at EOF and at ZCDEV_MAX_SEND per call.
 * @flags:        in: ZCDEV_SEND_* bits; unknown bits give -EINVAL.
 * @path:         out: ZCDEV_PATH_* - how the bytes in @sent travelled.
 * @why:          out: ZCDEV_WHY_* bits - why bytes were copied; 0 if none
 *                were.  With ZCDEV_SEND_STRICT, why they would have been:
 *                the call then fails with -EOPNOTSUPP.  A STRICT call that
 *                meets a byte it would copy after sending some returns what
 *                it sent (why 0); the next call reports the reason.
 * @reserved:     in: must be 0, else -EINVAL.
 * @sent:         out: bytes the socket accepted.
 * @zc_bytes:     out: of @sent, bytes handed over as page-cache references.
 * @copied_bytes: out: of @sent, bytes the CPU copied.
 *                @zc_bytes + @copied_bytes == @sent, always.
 *
 * The out fields are written back when the ioctl returns 0, and when it
 * fails with -EOPNOTSUPP because of ZCDEV_SEND_STRICT (then @sent is 0 and
 * @why says what would have been copied).
 */
struct zcdev_sendfile {
	__s32 file_fd;
	__s32 sock_fd;
	__u64 offset;
	__u64 len;
	__u32 flags;
	__u32 path;
	__u32 why;
	__u32 reserved;
	__u64 sent;
	__u64 zc_bytes;
	__u64 copied_bytes;
};

#define ZCDEV_SENDFILE_SIZE_VER0	64	/* sizeof first published struct */

/*
 * ZCDEV_IOC_SENDFILE - send @len bytes of @file_fd at @offset to @sock_fd.
 *
 * Returns 0 when something was sent, or when there was nothing to send
 * (@len 0, @offset at or past EOF: @sent 0, @path ZCDEV_PATH_NONE).
 * @sent < @len is normal: EOF, a non-blocking socket that filled up, a signal
 * that arrived after progress, or the per-call cap.  An error is returned
 * only when nothing was sent; SIGPIPE is never raised.
 */
#define ZCDEV_IOC_SENDFILE	_IOWR(ZCDEV_IOC_MAGIC, 0x01, struct zcdev_sendfile)

/* Largest number of bytes one call sends: sendfile(2)'s MAX_RW_COUNT (4K pages). */
#define ZCDEV_MAX_SEND		0x7ffff000ULL

/* @flags */
#define ZCDEV_SEND_NONBLOCK	(1U << 0)	/* never block on a full socket */
#define ZCDEV_SEND_MORE		(1U << 1)	/* more data follows (MSG_MORE) */
#define ZCDEV_SEND_STRICT	(1U << 2)	/* -EOPNOTSUPP rather than copy */
#define ZCDEV_SEND_FLAGS_ALL	(ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE | \
				 ZCDEV_SEND_STRICT)

/* @path */
#define ZCDEV_PATH_NONE		0	/* nothing sent */
#define ZCDEV_PATH_ZEROCOPY	1	/* every byte by page reference */
#define ZCDEV_PATH_COPY		2	/* every byte copied */
#define ZCDEV_PATH_MIXED	3	/* some of each */

/*
 * @why: reasons bytes were copied.  The device reasons are read from the
 * socket's cached route when each batch is sent: an upper device (vlan, bond,
 * bridge) reports its own features, not those of the NIC below it.
 */
/* the egress device lacks scatter-gather: skbs are linearized at transmit */
#define ZCDEV_WHY_NO_SG		(1U << 0)
/* the egress device lacks checksum offload for this protocol: the stack
 * computes the checksum over a private copy of shared fragments
 */
#define ZCDEV_WHY_NO_CSUM	(1U << 1)
/* kTLS in software (or device kTLS without TLS_TX_ZEROCOPY_RO) encrypts
 * into new buffers
 */
#define ZCDEV_WHY_KTLS		(1U << 2)
/* the file has no page cache to lend (procfs/sysfs, O_DIRECT, DAX): it is
 * read into pages the module owns
 */
#define ZCDEV_WHY_NO_PAGECACHE	(1U << 3)
/* this socket type cannot hold page references (stream sockets other than
 * TCP and AF_UNIX, e.g. SCTP): the socket copies
 */
#define ZCDEV_WHY_SOCKET	(1U << 4)
/* the route goes through an IPsec (xfrm) transform, which encrypts a copy */
#define ZCDEV_WHY_XFRM		(1U << 5)
/* a hole in a tmpfs file has no page to lend: zeros are copied */
#define ZCDEV_WHY_HOLE		(1U << 6)
#define ZCDEV_WHY_ALL		((1U << 7) - 1)

#endif /* _UAPI_LINUX_ZCDEV_H */
