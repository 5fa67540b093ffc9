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
 * @status:       out (VER1): ZCDEV_STATUS_* - why the call stopped early.
 * @reserved1:    in (VER1): must be 0, else -EINVAL.
 * @notify_id:    out (VER1): with ZCDEV_SEND_NOTIFY and @sent > 0, the id
 *                of the completion that will be read from this /dev/zcdev
 *                file; else 0.
 *
 * The out fields are written back when the ioctl returns 0, when it fails
 * with -EOPNOTSUPP because of ZCDEV_SEND_STRICT (then @sent is 0 and @why
 * says what would have been copied), and when it fails with -EBUSY because
 * of ZCDEV_SEND_CACHED_ONLY (then @sent is 0 and @status has
 * ZCDEV_STATUS_NOT_CACHED).
 *
 * ZCDEV_SEND_CACHED_ONLY and ZCDEV_SEND_NOTIFY need the VER1 struct (their
 * results live in it): with a VER0 struct they give -EINVAL.
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
	/* VER1 */
	__u32 status;
	__u32 reserved1;
	__u64 notify_id;
};

#define ZCDEV_SENDFILE_SIZE_VER0	64	/* sizeof first published struct */
#define ZCDEV_SENDFILE_SIZE_VER1	80	/* + status, notify_id */

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
/*
 * Never wait for the disk: send only what is in the page cache, start
 * readahead at the first page that is not, and stop there with
 * ZCDEV_STATUS_NOT_CACHED (or fail with -EBUSY if nothing was sent).
 * Like FreeBSD's SF_NODISKIO.  Allocating page-cache pages and submitting
 * the readahead I/O may still sleep briefly; waiting for it never happens.
 * A file opened with O_DIRECT is never read from the cache: -EINVAL.  So
 * is a file whose page cache the module does not read itself (any
 * filesystem but ext2/3/4, btrfs and tmpfs, and overlayfs over them): its
 * filesystem's read path cannot be asked not to wait for I/O.
 */
#define ZCDEV_SEND_CACHED_ONLY	(1U << 3)
/*
 * Tell me when the file is safe to modify: the call gets @notify_id, and a
 * struct zcdev_completion with that id can be read(2) from the /dev/zcdev
 * file the ioctl was made on once the network stack has dropped every
 * reference it took to the file's pages (the file is pollable: EPOLLIN).
 * Sockets that cannot report that (AF_UNIX, TCP with a ULP such as kTLS)
 * are sent by copy instead, and their completion is queued before the call
 * returns: the reason is ZCDEV_WHY_NOTIFY, or the reason the socket copies
 * anyway (ZCDEV_WHY_KTLS for kTLS TX, ZCDEV_WHY_SOCKET for other stream
 * sockets).
 */
#define ZCDEV_SEND_NOTIFY	(1U << 4)
#define ZCDEV_SEND_FLAGS_ALL	(ZCDEV_SEND_NONBLOCK | ZCDEV_SEND_MORE | \
				 ZCDEV_SEND_STRICT | ZCDEV_SEND_CACHED_ONLY | \
				 ZCDEV_SEND_NOTIFY)

/* @path */
#define ZCDEV_PATH_NONE		0	/* nothing sent */
#define ZCDEV_PATH_ZEROCOPY	1	/* every byte by page reference */
#define ZCDEV_PATH_COPY		2	/* every byte copied */
#define ZCDEV_PATH_MIXED	3	/* some of each */

/*
 * @why: reasons bytes were copied, or could not be known not to be.  The
 * device reasons are read when each batch is sent, from the socket's route
 * as the stack validates it (a stale or reset route is rebuilt first): the
 * route's device and, for vlan and macvlan, every device below it.  A
 * device whose transmit may copy or transform the payload in ways its
 * features do not show gives ZCDEV_WHY_DEVICE, never "zero copy".
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
/* the file has no page cache to lend: it is read into pages the module or
 * the filesystem owns (procfs, sysfs, cgroupfs, debugfs, O_DIRECT, DAX, a
 * FUSE file opened with direct I/O...).  Files of filesystems whose read
 * path is not the generic page cache are read through their own
 * ->splice_read, as sendfile(2) does; bytes it gives as page-cache pages are
 * sent by reference, the others are counted here.
 */
#define ZCDEV_WHY_NO_PAGECACHE	(1U << 3)
/* this socket cannot hold page references, or its send path is not known
 * to: stream sockets other than TCP and AF_UNIX (SCTP, MPTCP), and TCP
 * sockets whose protocol operations are replaced (sockmap/BPF, a ULP other
 * than kTLS): the bytes are copied
 */
#define ZCDEV_WHY_SOCKET	(1U << 4)
/* the route goes through an IPsec (xfrm) transform, which encrypts a copy */
#define ZCDEV_WHY_XFRM		(1U << 5)
/* a hole in a tmpfs file has no page to lend: zeros are copied */
#define ZCDEV_WHY_HOLE		(1U << 6)
/* bytes of a memory segment (ZCDEV_IOC_SENDV) are always copied */
#define ZCDEV_WHY_MEMORY	(1U << 7)
/* ZCDEV_SEND_NOTIFY on a socket that cannot say when it releases pages
 * (AF_UNIX, TCP with a ULP): copied, so the file is safe at return
 */
#define ZCDEV_WHY_NOTIFY	(1U << 8)
/* no valid route was known when the bytes were sent (the cached route was
 * reset or had gone stale, and rebuilding it failed): the egress device, and
 * so whether it copies, cannot be known
 */
#define ZCDEV_WHY_ROUTE		(1U << 9)
/* the egress device, or one below it, may copy or transform the payload
 * where its features do not show it: IP tunnels (ipip, gre, sit, ip6
 * tunnels), WireGuard, macsec, bond, bridge, team, and any virtual device
 * the module does not know (only loopback, veth, devices with a bus parent
 * and vlan/macvlan over them are judged by their features), routes with a
 * lightweight tunnel that encapsulates (MPLS, seg6, BPF...), a veth whose
 * peer may pass the skb on (a bridge or other port, XDP, tc ingress, IP
 * forwarding of an address not its namespace's own), and programs the
 * stack runs on the skb on the way, which may copy it (tc on egress of a
 * device on the path; on loopback, which receives its own transmit, XDP
 * and tc on ingress)
 */
#define ZCDEV_WHY_DEVICE	(1U << 10)
/* the egress device's DMA goes through bounce buffers: swiotlb is forced
 * for it (swiotlb=force, and what confidential guests such as SEV and TDX
 * do) or it cannot address all memory; the device reads a CPU copy of the
 * pages made when they are mapped, not the page cache.  Added after
 * ZCDEV_WHY_DEVICE: a module without it never sets it (PROBE's @why_known)
 */
#define ZCDEV_WHY_BOUNCE	(1U << 11)
#define ZCDEV_WHY_ALL		((1U << 12) - 1)

/* @status (VER1): why the call stopped before the end of what was asked */
/* ZCDEV_SEND_CACHED_ONLY met a page not in the page cache; readahead for it
 * was started.  Retry later (e.g. after a short timer) from where it stopped.
 */
#define ZCDEV_STATUS_NOT_CACHED	(1U << 0)
/* a file (for ZCDEV_IOC_SENDV: the file segment at @seg_index) ended before
 * the length asked for
 */
#define ZCDEV_STATUS_EOF	(1U << 1)
#define ZCDEV_STATUS_ALL	((1U << 2) - 1)

/*
 * struct zcdev_probe - argument of ZCDEV_IOC_PROBE
 * @sock_fd:    in: a connected stream socket, or -1 to ask only about the
 *              module (@send_flags, @why_known).
 * @file_fd:    in: -1, or a file whose source reasons are added (e.g.
 *              ZCDEV_WHY_NO_PAGECACHE for procfs or O_DIRECT files); must
 *              be -1 when @sock_fd is -1.
 * @flags:      in: ZCDEV_SEND_* flags the send would use (NOTIFY changes
 *              the answer; CACHED_ONLY with an O_DIRECT file is -EINVAL,
 *              as for a send); unknown bits give -EINVAL.
 * @path:       out: ZCDEV_PATH_ZEROCOPY or ZCDEV_PATH_COPY: how a send made
 *              now would travel (ZCDEV_PATH_NONE when @sock_fd is -1).
 * @why:        out: ZCDEV_WHY_* - why it would be copied (0 if it would not).
 *              Holes (ZCDEV_WHY_HOLE) are only found by sending.  A file
 *              read through its filesystem's splice path is asked by
 *              reading its first page (nothing is sent; it is a read of
 *              the file, with what a read does to it: atime, and whatever
 *              reading that file does).  ZCDEV_SEND_STRICT sends of
 *              ZCDEV_IOC_SENDV ask each such file segment the same way,
 *              at its offset.
 * @send_flags: out: the ZCDEV_SEND_* flags this module knows.
 * @why_known:  out: the ZCDEV_WHY_* bits this module can report.
 * @reserved:   in: must be 0, else -EINVAL.
 *
 * Nothing is sent; the socket is looked at as a send would look at it (the
 * route cached now, the kTLS state now).  Errors: those of
 * ZCDEV_IOC_SENDFILE for the two descriptors.
 */
struct zcdev_probe {
	__s32 sock_fd;
	__s32 file_fd;
	__u32 flags;
	__u32 path;
	__u32 why;
	__u32 send_flags;
	__u32 why_known;
	__u32 reserved;
};

#define ZCDEV_PROBE_SIZE_VER0		32

#define ZCDEV_IOC_PROBE		_IOWR(ZCDEV_IOC_MAGIC, 0x02, struct zcdev_probe)

/*
 * struct zcdev_seg - one segment of ZCDEV_IOC_SENDV
 * @type:    ZCDEV_SEG_MEM or ZCDEV_SEG_FILE; anything else is -EINVAL.
 * @file_fd: FILE: the file to read, as @file_fd of ZCDEV_IOC_SENDFILE.
 *           MEM: must be 0.
 * @offset:  FILE: file offset (<= LLONG_MAX).  MEM: must be 0.
 * @addr:    MEM: user address of @len bytes.  FILE: must be 0.
 * @len:     bytes; 0 is allowed (the segment is skipped).
 *
 * A file segment that reaches EOF before @len ends the call there
 * (ZCDEV_STATUS_EOF): what follows it would be framed wrongly.
 */
struct zcdev_seg {
	__u32 type;
	__s32 file_fd;
	__u64 offset;
	__u64 addr;
	__u64 len;
};

#define ZCDEV_SEG_MEM		1	/* bytes from user memory (copied) */
#define ZCDEV_SEG_FILE		2	/* a file range (by reference if it can) */

/* Most segments in one ZCDEV_IOC_SENDV call (UIO_MAXIOV). */
#define ZCDEV_SENDV_MAX_SEGS	1024

/*
 * struct zcdev_sendv - argument of ZCDEV_IOC_SENDV
 * @segs:         in: user pointer to @nr_segs struct zcdev_seg.
 * @nr_segs:      in: 1 .. ZCDEV_SENDV_MAX_SEGS, else -EINVAL.
 * @sock_fd:      in: connected stream socket.
 * @flags:        in: ZCDEV_SEND_* (all of them; STRICT applies to file
 *                segments: memory segments are always copied).
 * @path, @why, @status, @sent, @zc_bytes, @copied_bytes, @notify_id:
 *                out: as for ZCDEV_IOC_SENDFILE, summed over the segments.
 * @seg_index:    out: index of the first segment not sent completely;
 *                @nr_segs when every segment was.
 * @reserved:     in: must be 0, else -EINVAL.
 * @seg_sent:     out: bytes of segment @seg_index that were sent.
 *
 * The segments are sent in order on one socket, each followed by MSG_MORE
 * but the last (and the last too with ZCDEV_SEND_MORE), so TCP builds full
 * segments across them without TCP_CORK.  On a kTLS socket (or one whose
 * send path is not TCP's own) file bytes go without a MSG_MORE of the
 * module's: a call that stops early (full socket, signal) could not push
 * records kTLS handed to TCP corked.  Every segment is checked before
 * anything is sent (types, unused fields, descriptors, access modes, memory
 * ranges, file offsets): a bad segment gives an error and sends nothing.
 * At most ZCDEV_MAX_SEND bytes are sent per call.  Progress is reported
 * exactly: to continue, resend from segment @seg_index, advanced by
 * @seg_sent bytes.  The out fields are written back when the ioctl returns
 * 0, -EOPNOTSUPP (STRICT) or -EBUSY (CACHED_ONLY), as for SENDFILE.
 */
struct zcdev_sendv {
	__u64 segs;
	__u32 nr_segs;
	__s32 sock_fd;
	__u32 flags;
	__u32 path;
	__u32 why;
	__u32 status;
	__u64 sent;
	__u64 zc_bytes;
	__u64 copied_bytes;
	__u32 seg_index;
	__u32 reserved;
	__u64 seg_sent;
	__u64 notify_id;
};

#define ZCDEV_SENDV_SIZE_VER0		80

#define ZCDEV_IOC_SENDV		_IOWR(ZCDEV_IOC_MAGIC, 0x03, struct zcdev_sendv)

/*
 * io_uring: ZCDEV_IOC_SENDFILE and ZCDEV_IOC_SENDV as IORING_OP_URING_CMD
 * commands on /dev/zcdev.
 *
 * The SQE: opcode IORING_OP_URING_CMD, fd the /dev/zcdev file (or its
 * registered index with IOSQE_FIXED_FILE), cmd_op ZCDEV_IOC_SENDFILE or
 * ZCDEV_IOC_SENDV (the ioctl number: its size versions the struct as for
 * the ioctl), and in the
 * SQE's command area (sqe->cmd, 16 bytes in a 64-byte SQE) a struct
 * zcdev_uring_cmd; on a ring of 128-byte SQEs (IORING_SETUP_SQE128) the
 * 64 bytes of the command area after it must be 0, else -EINVAL.  The
 * other fields (off, addr, len, buf_index) are reserved: set them to 0 (the
 * module cannot see them on every kernel, so it does not check them);
 * uring_cmd_flags must be 0 (IORING_URING_CMD_FIXED is -EINVAL: no
 * registered buffer is used).  Any other cmd_op
 * is -EINVAL (ZCDEV_IOC_PROBE is not a command).
 *
 * The struct zcdev_sendfile or zcdev_sendv (and a SENDV's segment array)
 * is read and checked as the ioctl does (the same errors), the descriptors
 * are looked up when the command is issued, and the out fields (for SENDV
 * with @seg_index and @seg_sent) are written back, as for the ioctl,
 * before the CQE is posted; the struct and the segments (and the memory
 * they point at) must stay valid and unchanged until then: a command
 * issued again from a worker reads them again.  The CQE's res is the
 * number of bytes sent (the report's @sent) or -errno: 0 with nothing to
 * send, and -EOPNOTSUPP (STRICT) and -EBUSY (CACHED_ONLY) with the report
 * written back, as for the ioctl.  On a ring created with
 * IORING_SETUP_CQE32, big_cqe[0] holds the report's @why, @path and
 * @status (ZCDEV_URING_RES2_*) whenever the report was written back, else
 * 0.
 *
 * No thread waits for room in the socket.  If the socket is full and
 * nothing was sent, the command stays pending on the socket's wait queue
 * (holding the socket) and is issued again when the socket has room (from
 * task work, in the submitting task), or completes with the socket's error
 * (-EPIPE, -ECONNRESET, ...); ring teardown and the task's exit cancel it
 * (-ECANCELED).  IORING_OP_ASYNC_CANCEL cannot reach it (io_uring does not
 * offer that for commands).  On kernels where io_uring cannot cancel a
 * command (before 6.7: no IO_URING_F_CANCEL; Debian's 6.1) a command never
 * pends: the CQE's res is -EAGAIN (whatever ZCDEV_SEND_NONBLOCK and the
 * socket's O_NONBLOCK say); wait for POLLOUT (IORING_OP_POLL_ADD on the
 * socket) and submit again.  Sends may be short, as on a
 * non-blocking socket, also where the page cache ends: the command sends
 * what is cached without waiting, then stops (a SENDV whose memory
 * segments were sent before a cold file segment stops there: a short send
 * of those bytes); a command that finds nothing cached is issued again by
 * io_uring from a worker thread, which reads the file.
 * ZCDEV_SEND_CACHED_ONLY keeps its meaning (never read the disk).
 *
 * On 6.12 kernels (Debian's 6.12.117 among them), io_uring does not copy
 * the SQE of a command issued after io_uring_enter() returned because it
 * was linked behind another request (IOSQE_IO_LINK, not the head) or
 * drained (IOSQE_IO_DRAIN): leave such a command's SQ entry untouched
 * until its CQE arrives, or do not link (except as the head) or drain it.
 */

/*
 * struct zcdev_uring_cmd - the command area of a zcdev IORING_OP_URING_CMD
 * @arg:      user pointer to the argument struct (struct zcdev_sendfile or
 *            struct zcdev_sendv, of the size in the SQE's cmd_op).
 * @reserved: must be 0, else -EINVAL.
 */
struct zcdev_uring_cmd {
	__u64 arg;
	__u64 reserved;
};

/* big_cqe[0] of a CQE32 completion */
#define ZCDEV_URING_RES2_WHY(res2)	((__u32)((res2) & 0xffffffffULL))
#define ZCDEV_URING_RES2_PATH_SHIFT	32
#define ZCDEV_URING_RES2_PATH(res2)	((__u32)(((res2) >> 32) & 0xff))
#define ZCDEV_URING_RES2_STATUS_SHIFT	40
#define ZCDEV_URING_RES2_STATUS(res2)	((__u32)(((res2) >> 40) & 0xff))

/*
 * struct zcdev_completion - read(2) from /dev/zcdev (ZCDEV_SEND_NOTIFY)
 * @id:       the @notify_id of a send whose page references were all
 *            dropped: the file range may be modified without changing
 *            what the peer receives.
 * @flags:    ZCDEV_COMPL_* bits.
 * @reserved: 0.
 *
 * read(2) returns as many whole records as fit in the buffer (a buffer
 * smaller than one record is -EINVAL); it blocks until there is one unless
 * the file is O_NONBLOCK (then -EAGAIN).  poll(2) reports EPOLLIN while
 * records are queued.  Records come in completion order, not id order.
 * Completions are per open file: read them from the file the ioctl was
 * made on.  At most ZCDEV_NOTIFY_MAX_PENDING sends per open file may be in
 * flight or unread; beyond that a NOTIFY send fails with -ENOBUFS.
 */
struct zcdev_completion {
	__u64 id;
	__u32 flags;
	__u32 reserved;
};

/*
 * The stack copied (some of) the file's pages before releasing them, so the
 * send was not zero copy after all: delivered to a local socket (loopback,
 * veth into a local namespace), linearized for a device without SG, or sent
 * by copy in the first place (ZCDEV_WHY_NOTIFY and the other reasons for
 * file bytes).  Memory segments of ZCDEV_IOC_SENDV, always copied, do not
 * set it.
 */
#define ZCDEV_COMPL_COPIED	(1U << 0)

#define ZCDEV_NOTIFY_MAX_PENDING	65536

#endif /* _UAPI_LINUX_ZCDEV_H */
