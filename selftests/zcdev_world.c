// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_world: the world matrix (issue 11).  Sources and paths the module
 * meets outside tmpfs/ext4 over plain veths, each judged from the outside:
 * the bytes a receiver gets are what read(2) returns, a byte reported as
 * lent by reference shows up changed at the receiver when the file changes
 * after the send (the truth oracle, zc_oracle_recv), and ZCDEV_IOC_PROBE
 * made right before the send says what the send then reports.
 *
 *   pseudo.*   procfs, sysfs, cgroup2, debugfs and configfs files: exactly
 *              read(2)'s bytes (also when len is past the content), never
 *              zero copy, ZCDEV_WHY_NO_PAGECACHE; sendfile(2) alongside
 *   ovl.*      overlayfs, a lower-layer file, a copied-up file (before and
 *              after the sent fd was opened) and a metacopy file (data
 *              below): read(2)'s bytes, the report agrees with the oracle
 *              (the real file flipped), and the oracle of the module agrees
 *              with the oracle of sendfile(2); CACHED_ONLY asks the
 *              backing file's page cache (-EBUSY cold, by reference hot)
 *   fuse.*     a FUSE file served by a raw /dev/fuse server thread (no
 *              libfuse): with the page cache, the oracle (flipped through a
 *              shared mapping) and sendfile(2)'s; with FOPEN_DIRECT_IO,
 *              copied, NO_PAGECACHE, and a changed server file reaches the
 *              next send; kTLS TX attached while a send waits for the
 *              server's read: reported copied, ZCDEV_WHY_KTLS (and with
 *              NOTIFY | MORE, kTLS's open record holds no page the
 *              completion released); a STRICT
 *              SENDV io_uring command's inline issue does not wait for
 *              the server's read
 *   route.*    route resets (IP_TOS, IPV6_TCLASS, SO_BINDTODEVICE) right
 *              before the send, ip route replace/change between sends,
 *              over the veth with and without scatter-gather; a route
 *              with seg6 or MPLS encapsulation: ZCDEV_WHY_DEVICE
 *   midway.*   ethtool -K sg off / tx off on the egress device mid-connection
 *   vethpeer.* the egress veth's peer forwards (to a no-SG veth) or bridges
 *              what it does not deliver itself: ZCDEV_WHY_DEVICE, never
 *              zero copy; delivered in the peer's namespace: lent
 *   dev.*      vlan, macvlan, bridge, bond, ipip, gre, ip6tnl, sit,
 *              WireGuard, macsec and team over a veth of their own with and
 *              without scatter-gather: vlan/macvlan are judged by the lower
 *              device (NO_SG), devices that transform or fan out say
 *              ZCDEV_WHY_DEVICE; nothing the oracle shows copied is called
 *              zero copy.  team (no mode without teamd) and WireGuard
 *              without wg are routed through after connecting: report only
 *   hook.*     generic XDP on lo, a tc program on lo's egress or ingress or
 *              on the veth's egress that pulls payload into the skb's head
 *              (copies; one that only passes it: lent): ZCDEV_WHY_DEVICE,
 *              never zero copy
 *   sock.*     MPTCP, a sockmap with an SK_MSG program, SCTP: ZCDEV_WHY_SOCKET
 *   nfs.*      an NFSv4.2 mount over lo of an ext4 directory (the kernel's
 *              nfsd in the guest): the oracle and sendfile(2)'s; a change
 *              of the server's file: the next send gives what read(2)
 *              gives (with noac, the new bytes)
 *   shutdown.* an ext4 file system shut down (EXT4_IOC_SHUTDOWN) with the
 *              file's pages still cached: EIO, as read(2) and sendfile(2)
 *              give, for SENDFILE and a SENDV file segment; nothing sent
 *   hwpoison.* a page-cache page with a memory error (MADV_HWPOISON): on
 *              tmpfs read(2)'s bytes up to it, EIO at it, the bytes after
 *              it, also in a huge folio that cannot be split; a clean ext4
 *              page is read again from disk
 *
 * Setups change nothing outside the test (the harness runs no teardown for
 * a setup that fails): mounts, devices and namespaces are each test's first
 * step (*_open()), recorded in the fixture for its teardown.
 *
 * A report may name a reason that says "cannot know" (ZCDEV_WHY_ROUTE,
 * ZCDEV_WHY_DEVICE) for bytes the oracle saw lent; it may never claim a
 * byte lent that the oracle saw copied.  What the oracle saw is logged
 * for every case (the facts about this kernel), for sendfile(2) too.
 *
 * Runs only inside the QEMU guests (vm/), never on the host: it mounts file
 * systems, creates network devices and changes routes and offloads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/sockios.h>
#include <linux/fuse.h>
#include <liburing.h>

#include "kselftest_harness.h"
#include "zc_util.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define IDLE_MS 10000

/* reasons that say "cannot know", not "copied": the oracle may see lent */
#define WHY_UNCERTAIN (ZCDEV_WHY_ROUTE | ZCDEV_WHY_DEVICE)
#define WHY_DEV_FEAT (ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM)

/*
 * Connecting may take a tunnel's handshake (WireGuard) first: under TCG
 * on a busy machine that took more than the default 5 s.
 */
static const struct zc_pair_opts bufs = {
	.rcvbuf = 4 * MiB, .sndbuf = 4 * MiB, .timeout_ms = 30000,
};

/* ===================================================================== */
/* helpers                                                                */
/* ===================================================================== */

/* what the last run() printed, for TH_LOG */
static char run_out[2048];

/*
 * Run shell commands (dash, set -e; iproute2's ip), their output kept in
 * run_out.  0 if they all succeeded.
 */
static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	static const char log[] = "/tmp/.zcw-cmd.log";
	char cmd[8192], full[8448];
	va_list ap;
	int st, fd;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "{\nset -e\n%s\n} > %s 2>&1", cmd, log);
	st = system(full);
	n = snprintf(run_out, sizeof(run_out), "$ %.300s: ", cmd);
	fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t m = read(fd, run_out + n, sizeof(run_out) - n - 1);

		if (m > 0)
			n += m;
		close(fd);
	}
	run_out[n] = 0;
	return st == 0 ? 0 : -1;
}

/*
 * What a report may claim, given what the receiver saw: never more bytes
 * lent than the oracle saw lent; exactly as many unless a reason says the
 * module could not know.
 */
static int truth_agrees(const struct zcdev_sendfile *r, uint64_t flipped,
			uint64_t same)
{
	if (r->zc_bytes > flipped) {
		zc_seterr(false, "claims %" PRIu64 " bytes by reference, the receiver saw %" PRIu64
			  " lent and %" PRIu64 " copied: %s", (uint64_t)r->zc_bytes,
			  flipped, same, zc_report_str(r));
		return -1;
	}
	if (!(r->why & WHY_UNCERTAIN) && r->zc_bytes != flipped) {
		zc_seterr(false, "claims %" PRIu64 " bytes copied, the receiver saw %" PRIu64
			  " of %" PRIu64 " lent: %s", (uint64_t)r->copied_bytes,
			  flipped, flipped + same, zc_report_str(r));
		return -1;
	}
	return 0;
}

/* the probe made right before a send says what the send then reports */
static int probe_agrees(const struct zcdev_probe *p, const struct zcdev_sendfile *r)
{
	char w[128];

	if (r->path == ZCDEV_PATH_ZEROCOPY &&
	    (p->path != ZCDEV_PATH_ZEROCOPY || p->why)) {
		zc_seterr(false, "probe said %s; the send: %s", zc_probe_str(p),
			  zc_report_str(r));
		return -1;
	}
	if (r->path == ZCDEV_PATH_COPY &&
	    (p->path != ZCDEV_PATH_COPY ||
	     (p->why & ~ZCDEV_WHY_HOLE) != (r->why & ~ZCDEV_WHY_HOLE))) {
		zc_seterr(false, "probe said %s; the send copied (why %s): %s",
			  zc_probe_str(p), zct_why_str(r->why, w, sizeof(w)),
			  zc_report_str(r));
		return -1;
	}
	return 0;
}

/* one oracle-checked send: the probe before it, the report, the oracle */
struct shot {
	struct zcdev_probe probe;
	int probe_err;		/* errno of a failed probe, else 0 */
	struct zcdev_sendfile r;
	uint64_t flipped, same;
};

static int zc_shot(int dev, const struct zc_pair *p, int file_fd, int rw_fd,
		   uint64_t off, uint64_t len, const uint8_t *exp, uint8_t *buf,
		   struct shot *s)
{
	struct zcdev_sendfile in = { .file_fd = file_fd, .sock_fd = p->snd,
				     .offset = off, .len = len };

	memset(s, 0, sizeof(*s));
	if (zc_probe_args(dev, p->snd, file_fd, 0, &s->probe))
		s->probe_err = errno ? errno : EIO;
	s->r = in;
	if (zct_sendfile(dev, &s->r)) {
		zc_seterr(true, "ZCDEV_IOC_SENDFILE");
		return -1;
	}
	if (zc_report_check(&in, &s->r, len))
		return -1;
	if (s->r.sent != len) {
		zc_seterr(false, "short send: %s", zc_report_str(&s->r));
		return -1;
	}
	return zc_oracle_recv(p->snd, p->rcv, rw_fd, off, len, exp, buf,
			      IDLE_MS, &s->flipped, &s->same);
}

/* sendfile(2) of [off, off + len), then the same oracle */
static int sf_shot(const struct zc_pair *p, int file_fd, int rw_fd,
		   uint64_t off, uint64_t len, const uint8_t *exp, uint8_t *buf,
		   uint64_t *flipped, uint64_t *same)
{
	off_t o = (off_t)off;
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = sendfile(p->snd, file_fd, &o, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			zc_seterr(true, "sendfile(2)");
			return -1;
		}
		if (!n)
			break;
		done += n;
	}
	if (done != len) {
		zc_seterr(false, "sendfile(2) sent %" PRIu64 " of %" PRIu64, done, len);
		return -1;
	}
	return zc_oracle_recv(p->snd, p->rcv, rw_fd, off, len, exp, buf,
			      IDLE_MS, flipped, same);
}

/* the checks every oracle-checked send of this program makes */
#define SHOT_CHECKS(s_, what_) do {					\
	TH_LOG("%s: %s; receiver saw lent=%" PRIu64 " copied=%" PRIu64, \
	       (what_), zc_report_str(&(s_)->r), (s_)->flipped, (s_)->same); \
	EXPECT_EQ(0, truth_agrees(&(s_)->r, (s_)->flipped, (s_)->same))	\
		TH_LOG("%s: %s", (what_), zc_errmsg());			\
	EXPECT_EQ(0, (s_)->probe_err)					\
		TH_LOG("%s: probe failed: %s", (what_),			\
		       strerror((s_)->probe_err));			\
	if (!(s_)->probe_err) {						\
		EXPECT_EQ(0, probe_agrees(&(s_)->probe, &(s_)->r))	\
			TH_LOG("%s: %s", (what_), zc_errmsg());		\
	}								\
} while (0)

/*
 * sendfile(2), then ZCDEV_IOC_SENDFILE, of the same range of @file_fd over
 * @p, each with the oracle (flipping @rw_fd): the fact about sendfile(2)
 * logged, the send checked (SHOT_CHECKS); *sf_lent: what sendfile(2) lent.
 * The caller returns if _metadata->exit_code is set.
 */
static void two_shots(struct __test_metadata *_metadata, int dev,
		      const struct zc_pair *p, int file_fd, int rw_fd,
		      uint64_t off, uint64_t len, const uint8_t *exp, uint8_t *buf,
		      const char *what, struct shot *s, uint64_t *sf_lent)
{
	uint64_t sf_copied = 0;

	ASSERT_EQ(0, sf_shot(p, file_fd, rw_fd, off, len, exp, buf, sf_lent,
			     &sf_copied)) TH_LOG("%s: %s", what, zc_errmsg());
	TH_LOG("fact: sendfile(2), %s: lent=%" PRIu64 " copied=%" PRIu64, what,
	       *sf_lent, sf_copied);
	ASSERT_EQ(0, zc_shot(dev, p, file_fd, rw_fd, off, len, exp, buf, s))
		TH_LOG("%s: %s", what, zc_errmsg());
	SHOT_CHECKS(s, what);
}

/* read(2) the content of a file from @off: up to @cap bytes (pread if off) */
static ssize_t read_content(const char *path, uint64_t off, uint8_t *buf,
			    size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < cap) {
		ssize_t n = off ? pread(fd, buf + got, cap - got, off + got) :
				  read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				int e = errno;

				close(fd);
				errno = e;
				return -1;
			}
			break;
		}
		got += n;
	}
	close(fd);
	return got;
}

/* first differing byte of two buffers, -1 if equal */
static int64_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

static bool fs_is(const char *dir, long magic)
{
	struct statfs sf;

	return !statfs(dir, &sf) && sf.f_type == magic;
}

/*
 * What every case has: /dev/zcdev, a pair, two buffers (expected bytes and
 * received bytes) and, for the network cases, a tmpfs payload file of
 * WORLD_FILE bytes (O_RDWR, so the oracle can flip it) with its bytes in
 * exp.
 */
#define WORLD_BUF (2 * MiB)
#define WORLD_FILE (128 * KiB)
#define WORLD_LEN (64 * KiB)

struct world {
	int dev;
	int fd;
	char path[PATH_MAX];
	struct zc_pair p;
	uint8_t *exp, *buf;
};

static int world_init(struct world *w, bool payload, const char *name)
{
	/* each case's start, with the guest's uptime (TCG: where time goes) */
	fprintf(stderr, "# %s starts at %.1f s\n", name, zc_now_ms() / 1000.0);
	w->fd = w->dev = -1;
	w->path[0] = 0;
	w->p.snd = w->p.rcv = -1;
	w->exp = malloc(WORLD_BUF);
	w->buf = malloc(WORLD_BUF);
	if (!w->exp || !w->buf) {
		zc_seterr(true, "malloc");
		return -1;
	}
	zc_sigpipe_guard();
	w->dev = zc_open_dev();
	if (w->dev < 0)
		return -1;
	if (!payload)
		return 0;
	w->fd = zc_make_payload_file(zc_tmpfs_dir(), WORLD_FILE, w->path,
				     sizeof(w->path));
	if (w->fd < 0)
		return -1;
	zc_payload_fill(w->exp, 0, WORLD_FILE);
	return 0;
}

static void world_fini(struct world *w)
{
	zc_pair_close(&w->p);
	if (w->fd >= 0)
		close(w->fd);
	if (w->path[0])
		unlink(w->path);
	if (w->dev >= 0)
		close(w->dev);
	free(w->exp);
	free(w->buf);
}

#define WORLD_SETUP(w_, payload_)					\
	ASSERT_EQ(0, world_init((w_), (payload_), _metadata->name))	\
		TH_LOG("%s", zc_errmsg())

#define WORLD_TEARDOWN(w_) do {						\
	world_fini(w_);							\
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");	\
} while (0)

/* ===================================================================== */
/* pseudo: files with no page cache to lend                               */
/* ===================================================================== */

#define CGROUP2_MAGIC	0x63677270L
#define CONFIGFS_MAGIC	0x62656570L
#define DEBUGFS_MAGIC	0x64626720L
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_CHILD	CG_ROOT "/zcworld"
#define CFG_ROOT	"/sys/kernel/config"
#define NC_TARGET	CFG_ROOT "/netconsole/zcworld"

enum prep { PREP_NONE, PREP_CGROUP, PREP_CGROUP_CHILD, PREP_CONFIGFS };

FIXTURE(pseudo) {
	struct world w;	/* w.exp: read(2)'s bytes */
	bool mounted_cg, made_cg, mounted_cfg, made_nc;
};

FIXTURE_VARIANT(pseudo) {
	const char *path;
	enum prep prep;
	uint64_t off;
	uint64_t len;	/* 0: 1 MiB, more than the content */
};

/* procfs: seq_file (i_size 0), sysctl, and one without ->read_iter */
FIXTURE_VARIANT_ADD(pseudo, proc_version) { .path = "/proc/version" };
FIXTURE_VARIANT_ADD(pseudo, proc_filesystems) { .path = "/proc/filesystems" };
FIXTURE_VARIANT_ADD(pseudo, proc_sys_ostype) { .path = "/proc/sys/kernel/ostype" };
FIXTURE_VARIANT_ADD(pseudo, proc_self_cmdline) { .path = "/proc/self/cmdline" };
FIXTURE_VARIANT_ADD(pseudo, proc_self_mounts) { .path = "/proc/self/mounts" };
/* sysfs (kernfs): text attributes of i_size 4096, binary ones of their size */
FIXTURE_VARIANT_ADD(pseudo, sys_lo_mtu) { .path = "/sys/class/net/lo/mtu" };
FIXTURE_VARIANT_ADD(pseudo, sys_thp_enabled) {
	.path = "/sys/kernel/mm/transparent_hugepage/enabled" };
FIXTURE_VARIANT_ADD(pseudo, sys_acpi_dsdt) { .path = "/sys/firmware/acpi/tables/DSDT" };
FIXTURE_VARIANT_ADD(pseudo, sys_btf_slice) {
	.path = "/sys/kernel/btf/vmlinux", .off = 12345, .len = 40000 };
/* cgroup2 (kernfs, i_size 0) */
FIXTURE_VARIANT_ADD(pseudo, cgroup_controllers) {
	.path = CG_ROOT "/cgroup.controllers", .prep = PREP_CGROUP };
FIXTURE_VARIANT_ADD(pseudo, cgroup_child_events) {
	.path = CG_CHILD "/cgroup.events", .prep = PREP_CGROUP_CHILD };
FIXTURE_VARIANT_ADD(pseudo, cgroup_child_max_depth) {
	.path = CG_CHILD "/cgroup.max.depth", .prep = PREP_CGROUP_CHILD };
/* debugfs (its proxy has ->read only), configfs (netconsole's target) */
FIXTURE_VARIANT_ADD(pseudo, debugfs_fault_around) {
	.path = "/sys/kernel/debug/fault_around_bytes" };
FIXTURE_VARIANT_ADD(pseudo, configfs_netconsole) {
	.path = NC_TARGET "/local_port", .prep = PREP_CONFIGFS };

/*
 * Setup changes nothing that teardown must undo (the harness skips the
 * teardown of a setup that fails): pseudo_prep(), the test's first step,
 * mounts and makes what the variant needs.
 */
FIXTURE_SETUP(pseudo)
{
	WORLD_SETUP(&self->w, false);
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, &bufs))
		TH_LOG("%s", zc_errmsg());
}

/* the variant's cgroup2 or configfs file, each change recorded for teardown */
static void pseudo_prep(struct __test_metadata *_metadata,
			FIXTURE_DATA(pseudo) *self,
			const FIXTURE_VARIANT(pseudo) *variant)
{
	switch (variant->prep) {
	case PREP_NONE:
		break;
	case PREP_CGROUP:
	case PREP_CGROUP_CHILD:
		if (!fs_is(CG_ROOT, CGROUP2_MAGIC)) {
			ASSERT_EQ(0, mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
				TH_LOG("mount cgroup2 on %s: %s", CG_ROOT,
				       strerror(errno));
			self->mounted_cg = true;
		}
		if (variant->prep == PREP_CGROUP_CHILD) {
			ASSERT_EQ(0, mkdir(CG_CHILD, 0755))
				TH_LOG("mkdir %s: %s", CG_CHILD, strerror(errno));
			self->made_cg = true;
		}
		break;
	case PREP_CONFIGFS:
		run("modprobe configfs; modprobe netconsole");
		if (!fs_is(CFG_ROOT, CONFIGFS_MAGIC)) {
			if (mount("configfs", CFG_ROOT, "configfs", 0, NULL))
				SKIP(return, "no configfs: mount on %s: %s",
				     CFG_ROOT, strerror(errno));
			self->mounted_cfg = true;
		}
		if (access(CFG_ROOT "/netconsole", F_OK))
			SKIP(return, "configfs has no subsystem with files here "
			     "(netconsole not loadable: %.200s)", run_out);
		ASSERT_EQ(0, mkdir(NC_TARGET, 0755))
			TH_LOG("mkdir %s: %s", NC_TARGET, strerror(errno));
		self->made_nc = true;
		break;
	}
	if (access(variant->path, R_OK))
		SKIP(return, "%s: %s (not on this kernel)", variant->path,
		     strerror(errno));
}

FIXTURE_TEARDOWN(pseudo)
{
	if (self->made_nc)
		rmdir(NC_TARGET);
	if (self->mounted_cfg)
		umount(CFG_ROOT);
	if (self->made_cg)
		rmdir(CG_CHILD);
	if (self->mounted_cg)
		umount(CG_ROOT);
	WORLD_TEARDOWN(&self->w);
}

/*
 * read(2)'s bytes, by ZCDEV_IOC_SENDFILE with a len past the content (or
 * the variant's slice), compared with what sendfile(2) sends; the report
 * never says zero copy and names ZCDEV_WHY_NO_PAGECACHE; the probe agrees.
 * A file sendfile(2) refuses (no ->splice_read or ->read_iter) may be
 * refused by the module too, never sent wrong.
 */
TEST_F_TIMEOUT(pseudo, bytes_equal_read, 60)
{
	const uint64_t want = variant->len ? variant->len : 1 * MiB;
	struct zcdev_sendfile first = { 0 };
	uint64_t total = 0, sf_total = 0;
	struct zcdev_probe pr;
	int sf_err = 0, pr_err = 0, zc_err = 0;
	unsigned int calls = 0;
	struct stat st;
	ssize_t reflen;
	char w[128];
	off_t o;
	int fd;

	pseudo_prep(_metadata, self, variant);
	if (_metadata->exit_code == KSFT_SKIP)
		return;
	reflen = read_content(variant->path, variant->off, self->w.exp, want);
	ASSERT_LE(0, reflen) TH_LOG("read %s: %s", variant->path, strerror(errno));
	ASSERT_EQ(0, stat(variant->path, &st));
	TH_LOG("%s: regular=%d i_size=%lld, read(2) from %" PRIu64 " gives %zd bytes",
	       variant->path, S_ISREG(st.st_mode), (long long)st.st_size,
	       variant->off, reflen);

	/* sendfile(2) */
	fd = open(variant->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	o = variant->off;
	while (sf_total < want) {
		ssize_t n = sendfile(self->w.p.snd, fd, &o, want - sf_total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sf_err = errno;
			break;
		}
		if (!n)
			break;
		sf_total += n;
	}
	close(fd);
	if (sf_total) {
		ASSERT_EQ((ssize_t)sf_total, zc_recv_exact(self->w.p.rcv, self->w.buf,
							   sf_total, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
	}
	if (sf_total != (uint64_t)reflen ||
	    first_diff(self->w.buf, self->w.exp, sf_total) >= 0)
		TH_LOG("fact: sendfile(2) sent %" PRIu64 " bytes (errno %d), not read(2)'s %zd",
		       sf_total, sf_err, reflen);
	else
		TH_LOG("fact: sendfile(2) sends read(2)'s %zd bytes", reflen);

	/* the probe, then ZCDEV_IOC_SENDFILE until EOF */
	fd = open(variant->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	if (zc_probe_args(self->w.dev, self->w.p.snd, fd, 0, &pr))
		pr_err = errno;
	while (total < want && calls < 64) {
		struct zcdev_sendfile in = { .file_fd = fd, .sock_fd = self->w.p.snd,
					     .offset = variant->off + total,
					     .len = want - total };
		struct zcdev_sendfile r = in;

		calls++;
		if (zct_sendfile(self->w.dev, &r)) {
			zc_err = errno;
			break;
		}
		EXPECT_EQ(0, zc_report_check(&in, &r, want - total))
			TH_LOG("%s", zc_errmsg());
		if (calls == 1)
			first = r;
		if (!r.sent)
			break;
		EXPECT_EQ(0ULL, r.zc_bytes)
			TH_LOG("no page cache, yet bytes by reference: %s",
			       zc_report_str(&r));
		EXPECT_NE(0U, r.why & ZCDEV_WHY_NO_PAGECACHE)
			TH_LOG("why=%s: %s", zct_why_str(r.why, w, sizeof(w)),
			       zc_report_str(&r));
		total += r.sent;
	}
	close(fd);
	if (zc_err && !total) {
		TH_LOG("zcdev refused the file: errno %d (%s); sendfile(2): %" PRIu64
		       " bytes, errno %d", zc_err, strerror(zc_err), sf_total, sf_err);
		ASSERT_EQ(0ULL, sf_total)
			TH_LOG("sendfile(2) sends this file; ZCDEV_IOC_SENDFILE fails");
		ASSERT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		return;
	}
	EXPECT_EQ(0, zc_err) TH_LOG("a later call failed: %s", strerror(zc_err));
	TH_LOG("zcdev: %" PRIu64 " bytes in %u calls; first: %s", total, calls,
	       zc_report_str(&first));
	EXPECT_EQ((uint64_t)reflen, total)
		TH_LOG("read(2) gives %zd bytes, ZCDEV_IOC_SENDFILE sent %" PRIu64,
		       reflen, total);
	if (total) {
		size_t n = total < (uint64_t)reflen ? total : (size_t)reflen;
		ssize_t got = zc_recv_exact(self->w.p.rcv, self->w.buf, total, IDLE_MS);
		int64_t d;

		ASSERT_EQ((ssize_t)total, got) TH_LOG("%s", zc_errmsg());
		d = first_diff(self->w.buf, self->w.exp, n);
		EXPECT_EQ(-1, d)
			TH_LOG("byte %" PRId64 ": read(2) 0x%02x, received 0x%02x",
			       d, d >= 0 ? self->w.exp[d] : 0, d >= 0 ? self->w.buf[d] : 0);
	}
	/* nothing after what the calls reported */
	ASSERT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	/* the probe about this file */
	EXPECT_EQ(0, pr_err) TH_LOG("probe: %s", strerror(pr_err));
	if (!pr_err && first.sent) {
		EXPECT_EQ(0, probe_agrees(&pr, &first)) TH_LOG("%s", zc_errmsg());
	}
}

/* ===================================================================== */
/* ovl: overlayfs                                                         */
/* ===================================================================== */

#define OVL_SIZE (192 * KiB)
#define OVL_OFF 100ULL
#define OVL_LEN (96 * KiB + 1000)

FIXTURE(ovl) {
	struct world w;	/* w.fd: the file through the overlay (what is sent) */
	char base[200], lower[256], upper[256], work[256], merged[256];
	char lpath[512], mpath[PATH_MAX], upath[PATH_MAX];
	bool mounted;
	int lfd;	/* the lower file, O_RDWR (payload) */
	int rw;		/* the real file behind the overlay's, O_RDWR (flipped) */
};

FIXTURE_VARIANT(ovl) {
	bool lower_ext4;	/* else tmpfs */
	bool upper_ext4;	/* else tmpfs */
	bool copy_up;
	bool copy_up_after_open; /* the sent fd was opened on the lower file */
	bool metacopy;		/* metacopy=on, chmod: data stays below */
};

FIXTURE_VARIANT_ADD(ovl, ext4_lower) { .lower_ext4 = true };
FIXTURE_VARIANT_ADD(ovl, ext4_copied_up) { .lower_ext4 = true, .copy_up = true };
FIXTURE_VARIANT_ADD(ovl, tmpfs_lower) { };
FIXTURE_VARIANT_ADD(ovl, tmpfs_copied_up) { .copy_up = true };
FIXTURE_VARIANT_ADD(ovl, tmpfs_copied_up_to_ext4) {
	.upper_ext4 = true, .copy_up = true };
/* read(2) of an fd opened before the copy-up reads the upper file */
FIXTURE_VARIANT_ADD(ovl, ext4_copied_up_after_open) {
	.lower_ext4 = true, .copy_up = true, .copy_up_after_open = true };
FIXTURE_VARIANT_ADD(ovl, tmpfs_copied_up_after_open) {
	.copy_up = true, .copy_up_after_open = true };
/* an upper inode without data: read(2) reads the lower file */
FIXTURE_VARIANT_ADD(ovl, ext4_metacopy) {
	.lower_ext4 = true, .metacopy = true };

/*
 * Setup changes nothing that teardown must undo (the harness skips the
 * teardown of a setup that fails): ovl_open(), each test's first step,
 * makes the layers and mounts.
 */
FIXTURE_SETUP(ovl)
{
	self->lfd = self->rw = -1;
	self->mounted = false;
	self->base[0] = self->upper[0] = self->work[0] = self->merged[0] = 0;
	WORLD_SETUP(&self->w, false);
}

/* the layers, the mount, the file through the overlay and the real file */
static void ovl_open(struct __test_metadata *_metadata,
		     FIXTURE_DATA(ovl) *self,
		     const FIXTURE_VARIANT(ovl) *variant)
{
	const char *ldir = variant->lower_ext4 ? zc_ext4_dir() : zc_tmpfs_dir();
	const char *udir = variant->upper_ext4 ? zc_ext4_dir() : zc_tmpfs_dir();
	char opts[4 * PATH_MAX];
	const char *name;
	struct stat st;

	ASSERT_EQ(0, zc_check_fs(ldir, variant->lower_ext4 ? ZC_EXT4_MAGIC :
							      ZC_TMPFS_MAGIC))
		TH_LOG("%s", zc_errmsg());

	snprintf(self->base, sizeof(self->base), "%s/zcw-ovl-XXXXXX", ldir);
	if (!mkdtemp(self->base)) {
		self->base[0] = 0;
		ASSERT_TRUE(0) TH_LOG("mkdtemp: %s", strerror(errno));
	}
	snprintf(self->lower, sizeof(self->lower), "%s/lower", self->base);
	ASSERT_EQ(0, mkdir(self->lower, 0755));
	/* upper and work on one file system (overlayfs requires it) */
	snprintf(self->upper, sizeof(self->upper), "%s/zcw-ovlu-%d", udir, getpid());
	ASSERT_EQ(0, mkdir(self->upper, 0755));
	snprintf(self->work, sizeof(self->work), "%s/zcw-ovlw-%d", udir, getpid());
	ASSERT_EQ(0, mkdir(self->work, 0755));
	snprintf(self->merged, sizeof(self->merged), "/tmp/zcw-ovlm-%d", getpid());
	ASSERT_EQ(0, mkdir(self->merged, 0755));

	self->lfd = zc_make_payload_file(self->lower, OVL_SIZE, self->lpath,
					 sizeof(self->lpath));
	ASSERT_LE(0, self->lfd) TH_LOG("%s", zc_errmsg());
	name = strrchr(self->lpath, '/') + 1;
	snprintf(self->mpath, sizeof(self->mpath), "%s/%s", self->merged, name);
	snprintf(self->upath, sizeof(self->upath), "%s/%s", self->upper, name);

	run("modprobe overlay");
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s%s",
		 self->lower, self->upper, self->work,
		 variant->metacopy ? ",metacopy=on" : "");
	ASSERT_EQ(0, mount("overlay", self->merged, "overlay", 0, opts))
		TH_LOG("mount overlay %s: %s (%s)", opts, strerror(errno), run_out);
	self->mounted = true;

	if (variant->copy_up_after_open) {
		self->w.fd = open(self->mpath, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, self->w.fd) TH_LOG("open %s: %s", self->mpath,
						strerror(errno));
		ASSERT_NE(0, access(self->upath, F_OK))
			TH_LOG("%s copied up by a read-only open", self->upath);
	}
	if (variant->metacopy) {
		/* a metadata-only copy-up: the upper file has no data */
		ASSERT_EQ(0, chmod(self->mpath, 0600))
			TH_LOG("chmod %s: %s", self->mpath, strerror(errno));
		ASSERT_EQ(0, stat(self->upath, &st))
			TH_LOG("not copied up: %s: %s", self->upath, strerror(errno));
		ASSERT_LE(0, getxattr(self->upath, "trusted.overlay.metacopy",
				      NULL, 0))
			TH_LOG("%s: no metacopy xattr: %s", self->upath,
			       strerror(errno));
		self->rw = open(self->lpath, O_RDWR | O_CLOEXEC);
	} else if (variant->copy_up) {
		/* opening for writing copies the data up */
		int w = open(self->mpath, O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, w) TH_LOG("open %s O_RDWR: %s", self->mpath,
				       strerror(errno));
		close(w);
		ASSERT_EQ(0, stat(self->upath, &st))
			TH_LOG("not copied up: %s: %s", self->upath, strerror(errno));
		ASSERT_EQ((off_t)OVL_SIZE, st.st_size);
		self->rw = open(self->upath, O_RDWR | O_CLOEXEC);
	} else {
		self->rw = open(self->lpath, O_RDWR | O_CLOEXEC);
	}
	ASSERT_LE(0, self->rw) TH_LOG("the real file: %s", strerror(errno));
	if (self->w.fd < 0)
		self->w.fd = open(self->mpath, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->w.fd) TH_LOG("open %s: %s", self->mpath, strerror(errno));
	if (!variant->copy_up && !variant->metacopy) {
		ASSERT_NE(0, access(self->upath, F_OK))
			TH_LOG("%s copied up by a read-only open", self->upath);
	}
	zc_payload_fill(self->w.exp, OVL_OFF, OVL_LEN);
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, &bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(ovl)
{
	world_fini(&self->w);
	if (self->rw >= 0)
		close(self->rw);
	if (self->lfd >= 0)
		close(self->lfd);
	if (self->mounted)
		umount2(self->merged, MNT_DETACH);
	/* what ovl_open() made before it stopped (an empty name: not made) */
	run("for d in '%s' '%s' '%s' '%s'; do [ -z \"$d\" ] || rm -rf \"$d\"; done",
	    self->base, self->upper, self->work, self->merged);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * The overlay file by zcdev and by sendfile(2), each with the oracle
 * (the real file flipped): read(2)'s bytes; the report agrees with its
 * oracle; zcdev lends what sendfile(2) lends.
 */
TEST_F_TIMEOUT(ovl, oracle_agrees_with_sendfile, 60)
{
	uint64_t sf_flipped = 0;
	ssize_t n;
	struct shot s;

	ovl_open(_metadata, self, variant);
	/* read(2) through the overlay is the payload */
	n = pread(self->w.fd, self->w.buf, OVL_LEN, OVL_OFF);
	ASSERT_EQ((ssize_t)OVL_LEN, n);
	ASSERT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, OVL_LEN, OVL_OFF))
		TH_LOG("read(2): %s", zc_errmsg());

	two_shots(_metadata, self->w.dev, &self->w.p, self->w.fd, self->rw,
		  OVL_OFF, OVL_LEN, self->w.exp, self->w.buf, variant->copy_up ?
		  "overlayfs, copied up" : "overlayfs, lower", &s, &sf_flipped);
	if (_metadata->exit_code)
		return;
	EXPECT_EQ(sf_flipped, s.flipped)
		TH_LOG("sendfile(2) lent %" PRIu64 " bytes, zcdev %" PRIu64,
		       sf_flipped, s.flipped);
	if (sf_flipped == OVL_LEN) {
		EXPECT_EQ(OVL_LEN, s.r.zc_bytes)
			TH_LOG("sendfile(2) is zero copy here, zcdev says: %s",
			       zc_report_str(&s.r));
	}
	/* and the file is the payload still */
	EXPECT_EQ(-1, zc_verify_file(self->rw, OVL_SIZE)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * CACHED_ONLY on an overlay file: the backing file's page cache is the one
 * asked.  A cold ext4 backing file gives -EBUSY with NOT_CACHED and nothing
 * sent; once read in (through the overlay), the same call sends it all by
 * reference, as the oracle sees.
 */
TEST_F_TIMEOUT(ovl, cached_only_asks_the_backing_cache, 60)
{
	struct zcdev_sendfile in, r;
	char saved[32];
	struct statfs sf;
	ssize_t n;

	ovl_open(_metadata, self, variant);
	ASSERT_EQ(0, fstatfs(self->rw, &sf));
	in = zc_sendfile_in(self->w.fd, self->w.p.snd, OVL_OFF, OVL_LEN,
			    ZCDEV_SEND_CACHED_ONLY);
	if (sf.f_type == ZC_EXT4_MAGIC) {
		zc_cold_prepare(saved, sizeof(saved));
		n = zc_make_cold(self->rw);
		zc_cold_restore(saved);
		ASSERT_EQ(0, n) TH_LOG("%zd pages stay resident", n);
		r = in;
		errno = 0;
		ASSERT_EQ(-1, zct_sendfile(self->w.dev, &r))
			TH_LOG("cold file sent: %s", zc_report_str(&r));
		ASSERT_EQ(EBUSY, errno) TH_LOG("errno %d (%s)", errno,
					      strerror(errno));
		ASSERT_EQ(0ULL, r.sent) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ((uint32_t)ZCDEV_STATUS_NOT_CACHED, r.status)
			TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv,
					     IDLE_MS))
			TH_LOG("%s", zc_errmsg());
	}
	/* read in through the overlay, then asked again */
	n = pread(self->w.fd, self->w.buf, OVL_LEN, OVL_OFF);
	ASSERT_EQ((ssize_t)OVL_LEN, n);
	r = in;
	ASSERT_EQ(0, zct_sendfile(self->w.dev, &r))
		TH_LOG("errno %d (%s): %s", errno, strerror(errno),
		       zc_report_str(&r));
	ASSERT_EQ(0, zc_report_check(&in, &r, OVL_LEN)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ((uint64_t)OVL_LEN, r.sent) TH_LOG("%s", zc_report_str(&r));
	ASSERT_EQ(0U, r.status) TH_LOG("%s", zc_report_str(&r));
	ASSERT_EQ((uint64_t)OVL_LEN, r.zc_bytes) TH_LOG("%s", zc_report_str(&r));
	{
		uint64_t flipped = 0, same = 0;

		ASSERT_EQ(0, zc_oracle_recv(self->w.p.snd, self->w.p.rcv,
					    self->rw, OVL_OFF, OVL_LEN,
					    self->w.exp, self->w.buf, IDLE_MS,
					    &flipped, &same))
			TH_LOG("%s", zc_errmsg());
		EXPECT_EQ((uint64_t)OVL_LEN, flipped)
			TH_LOG("claimed by reference, the receiver saw %" PRIu64
			       " lent and %" PRIu64 " copied", flipped, same);
	}
	EXPECT_EQ(-1, zc_verify_file(self->rw, OVL_SIZE)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* fuse: one file served by a raw /dev/fuse server thread (no libfuse)    */
/* ===================================================================== */

#define FUSE_FILE_SIZE (192 * KiB)
#define FUSE_NODE 2
#define FUSE_NAME "payload"

struct fuse_srv {
	int fd;			/* /dev/fuse */
	uint32_t open_flags;	/* FOPEN_* the open reply gives */
	uint8_t *data;		/* the file: payload bytes */
	pthread_t th;
	bool started;
	unsigned int reads;	/* FUSE_READ requests served */
	/*
	 * The gate: while hold is set, a FUSE_READ waits (held counts
	 * those that did) until it is cleared or hold_ms pass (then
	 * timed_out is set).
	 */
	bool hold, timed_out;
	unsigned int held;
	int hold_ms;
	char err[128];		/* a request it could not parse */
};

/* a FUSE_READ waits at the gate */
static void fuse_gate(struct fuse_srv *f)
{
	uint64_t end;

	if (!__atomic_load_n(&f->hold, __ATOMIC_ACQUIRE))
		return;
	__atomic_add_fetch(&f->held, 1, __ATOMIC_RELEASE);
	end = zc_now_ms() + f->hold_ms;
	while (__atomic_load_n(&f->hold, __ATOMIC_ACQUIRE)) {
		if (zc_now_ms() > end) {
			__atomic_store_n(&f->timed_out, true, __ATOMIC_RELEASE);
			__atomic_store_n(&f->hold, false, __ATOMIC_RELEASE);
			break;
		}
		usleep(1000);
	}
}

/* until a FUSE_READ waits at the gate (or @ms pass): true if one does */
static bool fuse_wait_held(struct fuse_srv *f, int ms)
{
	uint64_t end = zc_now_ms() + ms;

	while (!__atomic_load_n(&f->held, __ATOMIC_ACQUIRE)) {
		if (zc_now_ms() > end)
			return false;
		usleep(1000);
	}
	return true;
}

static void fuse_attr_of(uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	a->nlink = 1;
	a->blksize = 4096;
	if (node == FUSE_NODE) {
		a->mode = S_IFREG | 0644;
		a->size = FUSE_FILE_SIZE;
		a->blocks = FUSE_FILE_SIZE / 512;
	} else {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	}
}

static void fuse_reply(struct fuse_srv *f, uint64_t unique, int error,
		       const void *arg, size_t len)
{
	struct fuse_out_header oh = { .len = sizeof(oh) + (error ? 0 : len),
				      .error = error, .unique = unique };
	struct iovec iov[2] = { { &oh, sizeof(oh) }, { (void *)arg, len } };

	/* a reply to an interrupted request fails with ENOENT: fine */
	if (writev(f->fd, iov, error || !len ? 1 : 2) < 0 && errno != ENOENT)
		snprintf(f->err, sizeof(f->err), "reply: %s", strerror(errno));
}

static void *fuse_srv_thread(void *arg)
{
	struct fuse_srv *f = arg;
	const size_t cap = 1 * MiB + 4096;
	uint8_t *req = malloc(cap);

	while (req) {
		ssize_t n = read(f->fd, req, cap);
		struct fuse_in_header *ih = (struct fuse_in_header *)req;
		void *in = req + sizeof(*ih);

		if (n < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN))
			continue;
		if (n < (ssize_t)sizeof(*ih))
			break;	/* ENODEV: unmounted, or /dev/fuse closed */
		switch (ih->opcode) {
		case FUSE_INIT: {
			const struct fuse_init_in *ii = in;
			struct fuse_init_out o = {
				.major = FUSE_KERNEL_VERSION,
				.minor = ii->minor < 31 ? ii->minor : 31,
				.max_readahead = ii->max_readahead,
				.max_background = 16, .congestion_threshold = 12,
				.max_write = 128 * KiB, .time_gran = 1,
			};

			fuse_reply(f, ih->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out o = { .nodeid = FUSE_NODE,
						    .generation = 1,
						    .entry_valid = 3600,
						    .attr_valid = 3600 };

			if (ih->nodeid != FUSE_ROOT_ID || strcmp(in, FUSE_NAME)) {
				fuse_reply(f, ih->unique, -ENOENT, NULL, 0);
				break;
			}
			fuse_attr_of(FUSE_NODE, &o.attr);
			fuse_reply(f, ih->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_GETATTR:
		case FUSE_SETATTR: {
			struct fuse_attr_out o = { .attr_valid = 3600 };

			fuse_attr_of(ih->nodeid, &o.attr);
			fuse_reply(f, ih->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_OPEN: {
			struct fuse_open_out o = { .fh = 1,
						   .open_flags = f->open_flags };

			fuse_reply(f, ih->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ: {
			const struct fuse_read_in *ri = in;
			uint64_t off = ri->offset, len = ri->size;

			if (off > FUSE_FILE_SIZE)
				off = FUSE_FILE_SIZE;
			if (len > FUSE_FILE_SIZE - off)
				len = FUSE_FILE_SIZE - off;
			fuse_gate(f);
			__atomic_add_fetch(&f->reads, 1, __ATOMIC_RELAXED);
			fuse_reply(f, ih->unique, 0, f->data + off, len);
			break;
		}
		case FUSE_WRITE: {
			/* writeback of the oracle's flips through the mapping */
			const struct fuse_write_in *wi = in;
			struct fuse_write_out o = { .size = wi->size };

			if (wi->offset + wi->size <= FUSE_FILE_SIZE)
				memcpy(f->data + wi->offset, (const uint8_t *)(wi + 1),
				       wi->size);
			fuse_reply(f, ih->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_STATFS: {
			struct fuse_statfs_out o = { .st = { .bsize = 4096,
							     .namelen = 255,
							     .frsize = 4096 } };

			fuse_reply(f, ih->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;	/* no reply */
		case FUSE_FLUSH:
		case FUSE_RELEASE:
		case FUSE_FSYNC:
		case FUSE_ACCESS:
		case FUSE_DESTROY:
			fuse_reply(f, ih->unique, 0, NULL, 0);
			break;
		default:
			fuse_reply(f, ih->unique, -ENOSYS, NULL, 0);
			break;
		}
	}
	free(req);
	return NULL;
}

FIXTURE(fuse) {
	struct world w;	/* w.fd: the FUSE file, read-only (what is sent) */
	struct fuse_srv srv;
	char mnt[64], fpath[128];
	bool mounted;
	int rw;		/* the FUSE file O_RDWR: flipped through its mapping */
};

FIXTURE_VARIANT(fuse) {
	uint32_t open_flags;
	bool direct;
};

FIXTURE_VARIANT_ADD(fuse, cached) { .open_flags = FOPEN_KEEP_CACHE };
FIXTURE_VARIANT_ADD(fuse, direct_io) { .open_flags = FOPEN_DIRECT_IO, .direct = true };

/*
 * Setup changes nothing that teardown must undo (the harness skips the
 * teardown of a setup that fails): fuse_open(), each test's first step,
 * mounts and starts the server.
 */
FIXTURE_SETUP(fuse)
{
	self->rw = -1;
	self->srv.fd = -1;
	self->mnt[0] = 0;
	WORLD_SETUP(&self->w, false);
	self->srv.open_flags = variant->open_flags;
	self->srv.data = malloc(FUSE_FILE_SIZE);
	ASSERT_NE(NULL, self->srv.data);
	zc_payload_fill(self->srv.data, 0, FUSE_FILE_SIZE);
	run("modprobe fuse");
	self->srv.fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (self->srv.fd < 0 && errno == ENOENT)
		ZC_NEED(return, "no /dev/fuse on this kernel");
	ASSERT_LE(0, self->srv.fd) TH_LOG("open /dev/fuse: %s", strerror(errno));
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, &bufs))
		TH_LOG("%s", zc_errmsg());
}

/* the mount, the server thread, the file's descriptors */
static void fuse_open(struct __test_metadata *_metadata,
		      FIXTURE_DATA(fuse) *self,
		      const FIXTURE_VARIANT(fuse) *variant)
{
	char opts[128];

	snprintf(self->mnt, sizeof(self->mnt), "/tmp/zcw-fuse-%d", getpid());
	snprintf(self->fpath, sizeof(self->fpath), "%s/" FUSE_NAME, self->mnt);
	ASSERT_EQ(0, mkdir(self->mnt, 0755));
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0",
		 self->srv.fd);
	ASSERT_EQ(0, mount("zcworld", self->mnt, "fuse", MS_NOSUID | MS_NODEV, opts))
		TH_LOG("mount fuse %s: %s", opts, strerror(errno));
	self->mounted = true;
	/* (/dev/fuse reads fail with EPERM until it is mounted) */
	ASSERT_EQ(0, pthread_create(&self->srv.th, NULL, fuse_srv_thread, &self->srv));
	self->srv.started = true;
	self->w.fd = open(self->fpath, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->w.fd) TH_LOG("open %s: %s (server: %s)", self->fpath,
					strerror(errno), self->srv.err);
	if (!variant->direct) {
		self->rw = open(self->fpath, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, self->rw) TH_LOG("open %s O_RDWR: %s", self->fpath,
					      strerror(errno));
	}
}

FIXTURE_TEARDOWN(fuse)
{
	struct timespec ts;

	if (self->rw >= 0)
		close(self->rw);
	world_fini(&self->w);
	if (self->mounted)
		umount2(self->mnt, MNT_DETACH);
	if (self->srv.started) {
		/* the unmount aborts the connection: the server's read ends */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_timedjoin_np(self->srv.th, NULL, &ts))
			TH_LOG("the FUSE server thread did not end");
	}
	if (self->srv.fd >= 0)
		close(self->srv.fd);
	if (self->mnt[0])
		rmdir(self->mnt);
	free(self->srv.data);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * Linux 6.5 replaced FUSE's generic_file_splice_read() (through
 * ->read_iter, so direct I/O reached the server) by the page cache's
 * splice (FOPEN_DIRECT_IO or not).  The direct_io case checks this premise.
 */
static bool fuse_splice_is_page_cache(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return false;
	return maj > 6 || (maj == 6 && min >= 5);
}

/*
 * read(2)'s bytes; with the page cache (cached), the oracle flips the
 * file's cached pages through a shared mapping and the report agrees with
 * it, and with sendfile(2)'s oracle; with FOPEN_DIRECT_IO there is no page
 * cache: copied, ZCDEV_WHY_NO_PAGECACHE, and exactly the server's bytes.
 */
TEST_F_TIMEOUT(fuse, report_is_true, 60)
{
	const uint64_t off = 100, len = 96 * KiB + 1000;
	uint64_t sff = 0;
	struct shot s;
	char w[128];
	ssize_t n;

	fuse_open(_metadata, self, variant);
	zc_payload_fill(self->w.exp, off, len);
	n = pread(self->w.fd, self->w.buf, len, off);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("read(2): %s", strerror(errno));
	ASSERT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
		TH_LOG("read(2): %s", zc_errmsg());
	if (variant->direct) {
		struct zcdev_sendfile in = { .file_fd = self->w.fd,
					     .sock_fd = self->w.p.snd,
					     .offset = off, .len = len };
		struct zcdev_sendfile r = in;
		struct zcdev_probe pr;
		int pe = 0;

		if (zc_probe_args(self->w.dev, self->w.p.snd, self->w.fd, 0, &pr))
			pe = errno;
		ASSERT_EQ(0, zct_sendfile(self->w.dev, &r)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, zc_report_check(&in, &r, len)) TH_LOG("%s", zc_errmsg());
		TH_LOG("FUSE direct_io: %s", zc_report_str(&r));
		ASSERT_EQ(len, r.sent) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv, self->w.buf, len,
						      IDLE_MS)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
			TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(0ULL, r.zc_bytes) TH_LOG("%s", zc_report_str(&r));
		EXPECT_NE(0U, r.why & ZCDEV_WHY_NO_PAGECACHE)
			TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
		EXPECT_EQ(0, pe) TH_LOG("probe: %s", strerror(pe));
		if (!pe) {
			EXPECT_EQ(0, probe_agrees(&pr, &r)) TH_LOG("%s", zc_errmsg());
		}
		/*
		 * sendfile(2) of the range before the change: from 6.5 it
		 * fills the page cache here (FUSE's splice path), which the
		 * check after the change shows.
		 */
		{
			off_t o = off;

			ASSERT_EQ((ssize_t)len, sendfile(self->w.p.snd, self->w.fd,
							 &o, len));
			ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv,
							      self->w.buf, len,
							      IDLE_MS));
			EXPECT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp,
						    len, off))
				TH_LOG("sendfile(2): %s", zc_errmsg());
		}
		/*
		 * The server's file changes: direct I/O reads see it at once,
		 * and so must the next send (no page cache to go stale).
		 */
		for (uint64_t i = 0; i < len; i++) {
			self->srv.data[off + i] ^= 0xff;
			self->w.exp[i] ^= 0xff;
		}
		ASSERT_EQ((ssize_t)len, pread(self->w.fd, self->w.buf, len, off));
		ASSERT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
			TH_LOG("read(2) after the change: %s", zc_errmsg());
		r = in;
		ASSERT_EQ(0, zct_sendfile(self->w.dev, &r)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(len, r.sent) TH_LOG("%s", zc_report_str(&r));
		ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv, self->w.buf, len,
						      IDLE_MS)) TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
			TH_LOG("after the server's file changed, not read(2)'s bytes: %s",
			       zc_errmsg());
		/*
		 * The premise of the cached case below: sendfile(2) itself
		 * gives read(2)'s bytes here only before 6.5.
		 */
		{
			off_t o = off;
			bool stale;

			ASSERT_EQ((ssize_t)len, sendfile(self->w.p.snd, self->w.fd,
							 &o, len));
			ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv,
							      self->w.buf, len,
							      IDLE_MS));
			stale = zc_verify_buf(self->w.buf, self->w.exp, len,
					      off) != -1;
			TH_LOG("fact: sendfile(2) on a FOPEN_DIRECT_IO file after the server's change: %s",
			       stale ? "the page cache's stale bytes" :
				       "read(2)'s bytes");
			EXPECT_EQ(fuse_splice_is_page_cache(), stale);
		}
	} else {
		two_shots(_metadata, self->w.dev, &self->w.p, self->w.fd, self->rw,
			  off, len, self->w.exp, self->w.buf, "FUSE, page cache", &s,
			  &sff);
		if (_metadata->exit_code)
			return;
		if (fuse_splice_is_page_cache()) {
			/*
			 * From 6.5 FUSE's splice path reads the page cache
			 * whatever the open flags (see direct_io), so a send
			 * that must give read(2)'s bytes cannot take it: copied.
			 */
			EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
			EXPECT_NE(0U, s.r.why & ZCDEV_WHY_NO_PAGECACHE)
				TH_LOG("why=%s", zct_why_str(s.r.why, w, sizeof(w)));
		} else {
			EXPECT_EQ(sff, s.flipped)
				TH_LOG("sendfile(2) lent %" PRIu64 " bytes, zcdev %" PRIu64,
				       sff, s.flipped);
		}
	}
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	EXPECT_STREQ("", self->srv.err);
}

/* a send from another thread, for a call that waits at the FUSE gate */
struct gated_send {
	int dev;
	struct zcdev_sendfile a;
	int err;
};

static void *gated_send_thread(void *arg)
{
	struct gated_send *g = arg;

	g->err = zct_sendfile(g->dev, &g->a) ? errno : 0;
	return NULL;
}

/*
 * Send @g from another thread while the FUSE server holds its read, and
 * attach kTLS (zc_ktls_setup()) to @p meanwhile.  *@held: the send reached
 * the gate.  Returns zc_ktls_setup()'s result (0 if the send never got
 * there), errno as it left.
 */
static int gated_send_ktls(struct fuse_srv *srv, struct zc_pair *p,
			   struct gated_send *g, bool *held)
{
	int ret = 0, err = 0;
	pthread_t th;

	srv->hold_ms = zc_scaled_ms(20000);
	__atomic_store_n(&srv->hold, true, __ATOMIC_RELEASE);
	*held = false;
	if (pthread_create(&th, NULL, gated_send_thread, g)) {
		__atomic_store_n(&srv->hold, false, __ATOMIC_RELEASE);
		return 0;
	}
	*held = fuse_wait_held(srv, zc_scaled_ms(10000));
	if (*held) {
		ret = zc_ktls_setup(p);
		err = errno;
	}
	__atomic_store_n(&srv->hold, false, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	errno = err;
	return ret;
}

/*
 * kTLS TX attached by another thread while the call waits for the file
 * (the FUSE server holds the read): the bytes go through kTLS, and the
 * report says so (ZCDEV_WHY_KTLS, nothing by reference), not what the
 * socket was before the read.  The peer's kTLS RX gets read(2)'s bytes.
 */
TEST_F_TIMEOUT(fuse, ktls_attached_during_read, 90)
{
	const uint64_t off = 4096, len = 64 * KiB;
	struct gated_send g = { .dev = self->w.dev };
	bool held;
	char w[128];
	int ret;

	fuse_open(_metadata, self, variant);
	g.a = (struct zcdev_sendfile){ .file_fd = self->w.fd,
				       .sock_fd = self->w.p.snd,
				       .offset = off, .len = len };
	ret = gated_send_ktls(&self->srv, &self->w.p, &g, &held);
	if (ret && zc_ktls_unavailable(errno))
		SKIP(return, "no kTLS: %s", zc_errmsg());
	ASSERT_TRUE(held) TH_LOG("the send never read the file from the server");
	ASSERT_EQ(0, ret) TH_LOG("%s", zc_errmsg());
	ASSERT_FALSE(self->srv.timed_out) TH_LOG("the send ended before the gate opened");
	ASSERT_EQ(0, g.err) TH_LOG("%s", strerror(g.err));
	TH_LOG("%s", zc_report_str(&g.a));
	ASSERT_EQ(len, g.a.sent) TH_LOG("%s", zc_report_str(&g.a));
	EXPECT_EQ(0ULL, g.a.zc_bytes) TH_LOG("%s", zc_report_str(&g.a));
	EXPECT_EQ(ZCDEV_PATH_COPY, g.a.path) TH_LOG("%s", zc_report_str(&g.a));
	EXPECT_NE(0U, g.a.why & ZCDEV_WHY_KTLS)
		TH_LOG("why=%s", zct_why_str(g.a.why, w, sizeof(w)));
	zc_payload_fill(self->w.exp, off, len);
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv, self->w.buf, len,
					      IDLE_MS)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
		TH_LOG("%s", zc_errmsg());
	EXPECT_STREQ("", self->srv.err);
}

/*
 * The same with ZCDEV_SEND_NOTIFY | ZCDEV_SEND_MORE: kTLS keeps the last
 * record of the call open (MORE), and the NOTIFY completion says the
 * file's pages may change.  So kTLS must hold a copy, not the page cache:
 * after the completion the file changes through a shared mapping, a byte
 * sent without MORE closes the record, and the peer's kTLS RX still gets
 * the bytes read(2) returned before the change.  (From 6.5 FUSE files are
 * read into the module's own pages here anyway: see fuse_splice_is_page_cache.)
 */
TEST_F_TIMEOUT(fuse, ktls_notify_more_keeps_no_page, 90)
{
	const uint64_t off = 4096, len = 8 * KiB;	/* < a record: it stays open */
	struct gated_send g = { .dev = self->w.dev };
	struct pollfd pf = { .fd = self->w.dev, .events = POLLIN };
	struct zcdev_completion c;
	uint8_t *map;
	bool held;
	char w[128];
	int ret;

	if (variant->direct)
		SKIP(return, "FOPEN_DIRECT_IO: no page cache to change");
	fuse_open(_metadata, self, variant);
	zc_payload_fill(self->w.exp, off, len);
	g.a = (struct zcdev_sendfile){ .file_fd = self->w.fd,
				       .sock_fd = self->w.p.snd,
				       .offset = off, .len = len,
				       .flags = ZCDEV_SEND_NOTIFY |
						ZCDEV_SEND_MORE };
	ret = gated_send_ktls(&self->srv, &self->w.p, &g, &held);
	if (ret && zc_ktls_unavailable(errno))
		SKIP(return, "no kTLS: %s", zc_errmsg());
	ASSERT_TRUE(held) TH_LOG("the send never read the file from the server");
	ASSERT_EQ(0, ret) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, g.err) TH_LOG("%s", strerror(g.err));
	TH_LOG("%s", zc_report_str(&g.a));
	ASSERT_EQ(len, g.a.sent);
	EXPECT_NE(0U, g.a.why & ZCDEV_WHY_KTLS)
		TH_LOG("why=%s", zct_why_str(g.a.why, w, sizeof(w)));
	ASSERT_NE(0ULL, g.a.notify_id);
	ASSERT_EQ(1, poll(&pf, 1, zc_scaled_ms(IDLE_MS))) TH_LOG("no completion");
	ASSERT_EQ((ssize_t)sizeof(c), read(self->w.dev, &c, sizeof(c)));
	ASSERT_EQ(g.a.notify_id, c.id);
	EXPECT_NE(0U, c.flags & ZCDEV_COMPL_COPIED);

	/* the completion came: the range may change now */
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->rw, off);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap: %s", strerror(errno));
	for (uint64_t i = 0; i < len; i++)
		map[i] ^= 0xff;
	munmap(map, len);
	ASSERT_EQ(1, send(self->w.p.snd, "!", 1, MSG_NOSIGNAL));
	ASSERT_EQ((ssize_t)len + 1, zc_recv_exact(self->w.p.rcv, self->w.buf,
						  len + 1, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
		TH_LOG("the peer got bytes changed after the completion: %s",
		       zc_errmsg());
	EXPECT_EQ('!', self->w.buf[len]);
	EXPECT_STREQ("", self->srv.err);
}

/*
 * A STRICT ZCDEV_IOC_SENDV as an io_uring command: the first issue runs
 * inside io_uring_enter() and must not wait for the file, so STRICT's look
 * at what the filesystem's read path gives happens in io-wq's worker, not
 * there.  The FUSE server holds every read: io_uring_enter() returns with
 * the read still held, and the command completes once it is answered.
 */
TEST_F_TIMEOUT(fuse, uring_strict_sendv_inline_does_not_wait, 90)
{
	const uint64_t off = 8192, len = 16 * KiB;
	struct zcdev_seg seg = { .type = ZCDEV_SEG_FILE, .offset = off,
				 .len = len };
	struct zcdev_sendv a = { .segs = (uintptr_t)&seg, .nr_segs = 1,
				 .sock_fd = self->w.p.snd,
				 .flags = ZCDEV_SEND_STRICT };
	struct zcdev_uring_cmd uc = { .arg = (uintptr_t)&a };
	struct __kernel_timespec ts = { .tv_sec = zc_scaled_ms(20000) / 1000 };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	bool timed_out;
	char w[128];
	int ret, res;

	fuse_open(_metadata, self, variant);
	seg.file_fd = self->w.fd;
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s", strerror(-ret));
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = self->w.dev;
	sqe->cmd_op = ZCDEV_IOC_SENDV;
	memcpy(sqe->cmd, &uc, sizeof(uc));
	sqe->user_data = 0x5eed;

	self->srv.hold_ms = zc_scaled_ms(15000);
	__atomic_store_n(&self->srv.hold, true, __ATOMIC_RELEASE);
	ret = io_uring_submit(&ring);
	timed_out = __atomic_load_n(&self->srv.timed_out, __ATOMIC_ACQUIRE);
	__atomic_store_n(&self->srv.hold, false, __ATOMIC_RELEASE);
	ASSERT_EQ(1, ret) TH_LOG("io_uring_submit: %s", strerror(-ret));
	EXPECT_FALSE(timed_out)
		TH_LOG("io_uring_enter() waited in the inline issue until the FUSE server's gate timed out");

	ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	ASSERT_EQ(0, ret) TH_LOG("no completion: %s", strerror(-ret));
	ASSERT_EQ(0x5eedULL, cqe->user_data);
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	TH_LOG("res %d path %u why %s sent %llu", res, a.path,
	       zct_why_str(a.why, w, sizeof(w)), (unsigned long long)a.sent);
	if (res < 0) {
		/* STRICT refused: what would have copied, nothing sent */
		ASSERT_EQ(-EOPNOTSUPP, res);
		EXPECT_NE(0U, a.why & ZCDEV_WHY_NO_PAGECACHE);
		EXPECT_EQ(0ULL, a.sent);
	} else {
		ASSERT_EQ((int)len, res);
		EXPECT_EQ(len, a.zc_bytes);
		zc_payload_fill(self->w.exp, off, len);
		ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv, self->w.buf,
						      len, IDLE_MS))
			TH_LOG("%s", zc_errmsg());
		EXPECT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
			TH_LOG("%s", zc_errmsg());
	}
	EXPECT_STREQ("", self->srv.err);
}

/* ===================================================================== */
/* vethpeer: what the peer of the egress veth does with the skb           */
/* ===================================================================== */

/*
 * The sender here, a veth into netns zcvB (10.98.1.0/24), and behind B a
 * second veth into netns zcvC (10.98.2.0/24).  B forwards (ip_forward 1)
 * or bridges what it does not deliver itself: the bytes then leave on a
 * device the module cannot see from here.
 */
FIXTURE(vethpeer) {
	struct world w;
	bool made;
};

FIXTURE_VARIANT(vethpeer) {
	const char *addr;	/* the receiver */
	const char *ns;
	bool bridge;		/* zcvb and zcvc in a bridge of B, no routing */
	bool nosg;		/* the second leg without scatter-gather */
	bool beyond;		/* the receiver is beyond B */
};

/* B routes to C over a veth without SG: the forward linearizes (copies) */
FIXTURE_VARIANT_ADD(vethpeer, forwarded_nosg) {
	.addr = "10.98.2.2", .ns = "/run/netns/zcvC", .nosg = true, .beyond = true };
/* B routes, but the receiver is B's own address: delivered, lent */
FIXTURE_VARIANT_ADD(vethpeer, forwarding_peer_local) {
	.addr = "10.98.1.2", .ns = "/run/netns/zcvB" };
/* B bridges its veths: C is on the same subnet, behind the bridge */
FIXTURE_VARIANT_ADD(vethpeer, bridged) {
	.addr = "10.98.1.3", .ns = "/run/netns/zcvC", .bridge = true, .beyond = true };

static void vethpeer_undo(void)
{
	/* (run() is set -e: each step may fail on its own) */
	run("ip link del zcva || true; ip route del 10.98.2.0/24 || true; "
	    "ip netns del zcvB || true; ip netns del zcvC || true");
}

/*
 * Setup changes nothing that teardown must undo (the harness skips the
 * teardown of a setup that fails): vethpeer_open(), the test's first
 * step, makes the namespaces and devices.
 */
FIXTURE_SETUP(vethpeer)
{
	self->made = false;
	WORLD_SETUP(&self->w, true);
}

/* A (here) - zcva/zcvb - B - zcvc/zcvd - C, routed or bridged in B */
static void vethpeer_open(struct __test_metadata *_metadata,
			  FIXTURE_DATA(vethpeer) *self,
			  const FIXTURE_VARIANT(vethpeer) *variant)
{
	/* what a test that was killed (a timeout) left */
	vethpeer_undo();
	self->made = true;
	ASSERT_EQ(0, run("ip netns add zcvB; ip netns add zcvC; "
			 "ip link add zcva type veth peer name zcvb netns zcvB; "
			 "ip -n zcvB link add zcvc type veth peer name zcvd netns zcvC; "
			 "ip addr add 10.98.1.1/24 dev zcva; ip link set zcva up; "
			 "ip -n zcvB link set lo up; ip -n zcvC link set lo up; "
			 "ip netns exec zcvB sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'"))
		TH_LOG("%s", run_out);
	if (variant->bridge) {
		ASSERT_EQ(0, run("ip -n zcvB link add zcbr type bridge; "
				 "ip -n zcvB link set zcvb master zcbr; "
				 "ip -n zcvB link set zcvc master zcbr; "
				 "ip -n zcvB link set zcbr up; ip -n zcvB link set zcvb up; "
				 "ip -n zcvB link set zcvc up; "
				 "ip -n zcvC addr add 10.98.1.3/24 dev zcvd; "
				 "ip -n zcvC link set zcvd up")) TH_LOG("%s", run_out);
	} else {
		ASSERT_EQ(0, run("ip -n zcvB addr add 10.98.1.2/24 dev zcvb; "
				 "ip -n zcvB link set zcvb up; "
				 "ip -n zcvB addr add 10.98.2.1/24 dev zcvc; "
				 "ip -n zcvB link set zcvc up; "
				 "ip -n zcvC addr add 10.98.2.2/24 dev zcvd; "
				 "ip -n zcvC link set zcvd up; "
				 "ip -n zcvC route add default via 10.98.2.1; "
				 "ip route add 10.98.2.0/24 via 10.98.1.2")) TH_LOG("%s", run_out);
	}
	if (variant->nosg)
		ASSERT_EQ(0, run("ip netns exec zcvB ethtool -K zcvc sg off"))
			TH_LOG("%s", run_out);
	ASSERT_EQ(0, zc_pair_open_at(&self->w.p, variant->ns, variant->addr, &bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(vethpeer)
{
	WORLD_TEARDOWN(&self->w);
	if (self->made)
		vethpeer_undo();
}

TEST_F_TIMEOUT(vethpeer, report_is_true, 60)
{
	struct shot s;
	char w[128];

	vethpeer_open(_metadata, self, variant);
	ASSERT_EQ(0, zc_shot(self->w.dev, &self->w.p, self->w.fd, self->w.fd, 0,
			     WORLD_LEN, self->w.exp, self->w.buf, &s))
		TH_LOG("%s", zc_errmsg());
	SHOT_CHECKS(&s, "over the veth");
	if (variant->beyond) {
		EXPECT_NE(0U, s.r.why & ZCDEV_WHY_DEVICE)
			TH_LOG("beyond the peer: why=%s", zct_why_str(s.r.why, w, sizeof(w)));
		EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
	} else {
		/* delivered in the peer's namespace: lent, and said so */
		EXPECT_EQ(WORLD_LEN, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
		EXPECT_EQ(WORLD_LEN, s.flipped);
	}
	if (variant->nosg)
		EXPECT_EQ(0ULL, s.flipped) TH_LOG("the forward over the no-SG veth lent bytes");
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* route: the cached route reset or made stale right before a send        */
/* ===================================================================== */

FIXTURE(route) {
	struct world w;
	char undo[512];
};

FIXTURE_VARIANT(route) {
	enum zc_fam fam;
	enum zc_net net;
	const char *ifname;
	const char *peer;
	bool nosg;
};

FIXTURE_VARIANT_ADD(route, nosg4) {
	.fam = ZC_TCP4, .net = ZC_NET_NOSG, .ifname = "zc1",
	.peer = "203.0.113.2", .nosg = true };
FIXTURE_VARIANT_ADD(route, nosg6) {
	.fam = ZC_TCP6, .net = ZC_NET_NOSG, .ifname = "zc1",
	.peer = "2001:db8:2::2", .nosg = true };
FIXTURE_VARIANT_ADD(route, veth4) {
	.fam = ZC_TCP4, .net = ZC_NET_VETH, .ifname = "zc0",
	.peer = "198.51.100.2" };
FIXTURE_VARIANT_ADD(route, veth6) {
	.fam = ZC_TCP6, .net = ZC_NET_VETH, .ifname = "zc0",
	.peer = "2001:db8:1::2" };

FIXTURE_SETUP(route)
{
	const char *ip = variant->fam == ZC_TCP4 ? "ip" : "ip -6";
	const char *plen = variant->fam == ZC_TCP4 ? "32" : "128";

	self->undo[0] = 0;
	WORLD_SETUP(&self->w, true);
	ASSERT_EQ(0, zc_net_available(variant->net)) TH_LOG("%s", zc_errmsg());
	/* a host route a test killed by its timeout left (no teardown ran) */
	run("%s route del %s/%s dev %s 2>/dev/null || true; "
	    "%s route del prohibit %s/%s 2>/dev/null || true",
	    ip, variant->peer, plen, variant->ifname, ip, variant->peer, plen);
	ASSERT_EQ(0, zc_pair_open(&self->w.p, variant->fam, variant->net, &bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(route)
{
	if (self->undo[0])
		run("%s", self->undo);
	WORLD_TEARDOWN(&self->w);
}

/* what a send over this route must report, besides agreeing with the oracle */
static void route_expect(struct __test_metadata *_metadata,
			 const FIXTURE_VARIANT(route) *variant,
			 const struct shot *s, const char *what)
{
	char w[128];

	SHOT_CHECKS(s, what);
	if (variant->nosg) {
		EXPECT_EQ(0ULL, s->r.zc_bytes)
			TH_LOG("%s: zero copy claimed over a device without SG: %s",
			       what, zc_report_str(&s->r));
		EXPECT_NE(0U, s->r.why & (WHY_DEV_FEAT | ZCDEV_WHY_ROUTE))
			TH_LOG("%s: why=%s", what, zct_why_str(s->r.why, w, sizeof(w)));
		EXPECT_EQ(0ULL, s->flipped) TH_LOG("%s: the no-SG veth lent bytes", what);
	}
}

static void route_shot(struct __test_metadata *_metadata,
		       FIXTURE_DATA(route) *self,
		       const FIXTURE_VARIANT(route) *variant, uint64_t off,
		       const char *what)
{
	struct shot s;

	ASSERT_EQ(0, zc_shot(self->w.dev, &self->w.p, self->w.fd, self->w.fd, off, WORLD_LEN,
			     self->w.exp + off, self->w.buf, &s))
		TH_LOG("%s: %s", what, zc_errmsg());
	route_expect(_metadata, variant, &s, what);
}

static int set_tos(int fd, enum zc_fam fam, int v)
{
	if (fam == ZC_TCP4)
		return setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
	return setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
}

/* IP_TOS / IPV6_TCLASS reset the cached route (sk_dst_reset) */
TEST_F_TIMEOUT(route, tos_reset_before_send, 60)
{
	int v = 0x10;

	route_shot(_metadata, self, variant, 0, "before");
	ASSERT_EQ(0, set_tos(self->w.p.snd, variant->fam, v)) TH_LOG("%s", strerror(errno));
	route_shot(_metadata, self, variant, 4096, "right after IP_TOS/IPV6_TCLASS");
	v = 0;
	ASSERT_EQ(0, set_tos(self->w.p.snd, variant->fam, v)) TH_LOG("%s", strerror(errno));
	route_shot(_metadata, self, variant, 8192, "after resetting it back");
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* SO_BINDTODEVICE to the device the socket uses anyway */
TEST_F_TIMEOUT(route, bindtodevice_same_dev, 60)
{
	ASSERT_EQ(0, setsockopt(self->w.p.snd, SOL_SOCKET, SO_BINDTODEVICE,
				variant->ifname, strlen(variant->ifname) + 1))
		TH_LOG("SO_BINDTODEVICE %s: %s", variant->ifname, strerror(errno));
	route_shot(_metadata, self, variant, 100, "right after SO_BINDTODEVICE");
	route_shot(_metadata, self, variant, 200, "the next send");
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * A route with a lightweight tunnel that encapsulates what leaves (seg6
 * for IPv6, MPLS for IPv4): the skb then goes out under the device's
 * hw_enc_features or mpls_features (most drivers: none, so the stack
 * linearizes and checksums it) or is routed again (seg6).  PROBE must say
 * ZCDEV_WHY_DEVICE ("cannot know"), not judge the veth's own features.
 * Nothing is sent over it (the peer decapsulates neither).
 */
TEST_F_TIMEOUT(route, lwt_encap_route, 60)
{
	const char *ip = variant->fam == ZC_TCP4 ? "ip" : "ip -6";
	const char *plen = variant->fam == ZC_TCP4 ? "32" : "128";
	struct zcdev_probe pr;
	char w[128];

	ASSERT_EQ(0, zc_probe_args(self->w.dev, self->w.p.snd, self->w.fd, 0, &pr))
		TH_LOG("%s", zc_errmsg());
	TH_LOG("before: %s", zc_probe_str(&pr));
	snprintf(self->undo, sizeof(self->undo), "%s route del %s/%s dev %s",
		 ip, variant->peer, plen, variant->ifname);
	if (variant->fam == ZC_TCP4) {
		/* (modules on Debian's kernels, built in on the debug one) */
		ASSERT_EQ(0, run("modprobe mpls_router || true; "
				 "modprobe mpls_iptunnel || true; "
				 "ip route replace %s/32 encap mpls 100 dev %s",
				 variant->peer, variant->ifname)) TH_LOG("%s", run_out);
	} else {
		ASSERT_EQ(0, run("ip -6 route replace %s/128 encap seg6 mode encap "
				 "segs 2001:db8:99::1 dev %s", variant->peer,
				 variant->ifname)) TH_LOG("%s", run_out);
	}
	ASSERT_EQ(0, zc_probe_args(self->w.dev, self->w.p.snd, self->w.fd, 0, &pr))
		TH_LOG("%s", zc_errmsg());
	TH_LOG("over the encap route: %s", zc_probe_str(&pr));
	EXPECT_EQ(ZCDEV_PATH_COPY, pr.path);
	EXPECT_NE(0U, pr.why & ZCDEV_WHY_DEVICE)
		TH_LOG("why=%s", zct_why_str(pr.why, w, sizeof(w)));
}

/* ip route replace / change between sends: the cached dst goes stale */
TEST_F_TIMEOUT(route, route_replace_change, 60)
{
	const char *ip = variant->fam == ZC_TCP4 ? "ip" : "ip -6";
	const char *plen = variant->fam == ZC_TCP4 ? "32" : "128";

	route_shot(_metadata, self, variant, 0, "before");
	snprintf(self->undo, sizeof(self->undo), "%s route del %s/%s dev %s",
		 ip, variant->peer, plen, variant->ifname);
	ASSERT_EQ(0, run("%s route replace %s/%s dev %s", ip, variant->peer, plen,
			 variant->ifname)) TH_LOG("%s", run_out);
	route_shot(_metadata, self, variant, 4096, "after ip route replace");
	ASSERT_EQ(0, run("%s route change %s/%s dev %s mtu 1400", ip, variant->peer,
			 plen, variant->ifname)) TH_LOG("%s", run_out);
	route_shot(_metadata, self, variant, 8192, "after ip route change");
	ASSERT_EQ(0, run("%s", self->undo)) TH_LOG("%s", run_out);
	self->undo[0] = 0;
	route_shot(_metadata, self, variant, 12288, "after ip route del");
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * No route to the peer at all (a prohibit route added after connecting):
 * the cached route goes stale, the rebuild finds nothing, so no device can
 * be judged.  TCP queues the bytes (they leave once the route is back):
 * the report must say ZCDEV_WHY_ROUTE, never zero copy; STRICT refuses;
 * PROBE says the same.
 */
TEST_F_TIMEOUT(route, no_route_reported, 60)
{
	const char *ip = variant->fam == ZC_TCP4 ? "ip" : "ip -6";
	const char *plen = variant->fam == ZC_TCP4 ? "32" : "128";
	struct zcdev_sendfile r, st;
	struct zcdev_probe pr;
	char w[128];

	route_shot(_metadata, self, variant, 0, "before");
	snprintf(self->undo, sizeof(self->undo), "%s route del prohibit %s/%s",
		 ip, variant->peer, plen);
	ASSERT_EQ(0, run("%s route add prohibit %s/%s", ip, variant->peer, plen))
		TH_LOG("%s", run_out);

	ASSERT_EQ(0, zc_probe_args(self->w.dev, self->w.p.snd, -1, 0, &pr))
		TH_LOG("probe: %s", strerror(errno));
	EXPECT_NE(0U, pr.why & ZCDEV_WHY_ROUTE)
		TH_LOG("probe without a route: why=%s", zct_why_str(pr.why, w, sizeof(w)));
	EXPECT_NE(ZCDEV_PATH_ZEROCOPY, pr.path);

	ASSERT_EQ(-1, zc_sendfile_args(self->w.dev, self->w.fd, self->w.p.snd, 4096,
				       4096, ZCDEV_SEND_STRICT, &st));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0ULL, st.sent);
	EXPECT_NE(0U, st.why & ZCDEV_WHY_ROUTE)
		TH_LOG("STRICT without a route: %s", zc_report_str(&st));

	ASSERT_EQ(0, zc_sendfile_args(self->w.dev, self->w.fd, self->w.p.snd, 4096,
				      4096, 0, &r)) TH_LOG("%s", strerror(errno));
	TH_LOG("without a route: %s", zc_report_str(&r));
	EXPECT_EQ(4096ULL, r.sent);
	EXPECT_EQ(0ULL, r.zc_bytes) TH_LOG("zero copy claimed without a route");
	EXPECT_EQ(4096ULL, r.copied_bytes);
	EXPECT_NE(0U, r.why & ZCDEV_WHY_ROUTE)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));

	/* the route back: TCP's retransmission delivers the queued bytes */
	ASSERT_EQ(0, run("%s", self->undo)) TH_LOG("%s", run_out);
	self->undo[0] = 0;
	ASSERT_EQ(4096, zc_recv_exact(self->w.p.rcv, self->w.buf, 4096, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(0, memcmp(self->w.buf, self->w.exp + 4096, 4096));
	route_shot(_metadata, self, variant, 8192, "after the route is back");
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* midway: offloads turned off on the egress device mid-connection         */
/* ===================================================================== */

/*
 * "sg off" alone leaves checksum offload on: the report must name NO_SG and
 * not NO_CSUM.  "tx off" takes checksum offload away and (on veth, on both
 * kernels) leaves scatter-gather on: NO_CSUM without NO_SG, and the bytes
 * are copied all the same (skb_checksum_help() linearizes an skb whose
 * frags are shared page-cache pages).  What the test expects is read from
 * ethtool -k, not from the module; the page-flip oracle judges the bytes.
 */
FIXTURE(midway) {
	struct world w;
	bool off;
};

FIXTURE_VARIANT(midway) {
	enum zc_fam fam;
	const char *feature;	/* ethtool -K zc0 <feature> off */
};

FIXTURE_VARIANT_ADD(midway, veth4_sg) { .fam = ZC_TCP4, .feature = "sg" };
FIXTURE_VARIANT_ADD(midway, veth6_sg) { .fam = ZC_TCP6, .feature = "sg" };
FIXTURE_VARIANT_ADD(midway, veth4_tx) { .fam = ZC_TCP4, .feature = "tx" };
FIXTURE_VARIANT_ADD(midway, veth6_tx) { .fam = ZC_TCP6, .feature = "tx" };

FIXTURE_SETUP(midway)
{
	WORLD_SETUP(&self->w, true);
	ASSERT_EQ(0, zc_net_available(ZC_NET_VETH)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_pair_open(&self->w.p, variant->fam, ZC_NET_VETH, &bufs))
		TH_LOG("%s", zc_errmsg());
}

/* the ZCDEV_WHY_NO_SG / NO_CSUM bits zc0's features call for, from ethtool */
static int zc0_feature_why(uint32_t *why);

/* offloads back on, checked (0 or -1) */
static int restore_zc0(void)
{
	uint32_t why;

	run("ethtool -K zc0 tx on");
	run("ethtool -K zc0 sg on");
	if (zc0_feature_why(&why) || why)
		return -1;
	return 0;
}

static int zc0_feature_why(uint32_t *why)
{
	*why = 0;
	if (run("ethtool -k zc0 | grep -q '^scatter-gather: off'") == 0)
		*why |= ZCDEV_WHY_NO_SG;
	else if (run("ethtool -k zc0 | grep -q '^scatter-gather: on'"))
		return -1;
	if (run("ethtool -k zc0 | grep -q '^tx-checksumming: off'") == 0)
		*why |= ZCDEV_WHY_NO_CSUM;
	else if (run("ethtool -k zc0 | grep -q '^tx-checksumming: on'"))
		return -1;
	return 0;
}

FIXTURE_TEARDOWN(midway)
{
	if (self->off)
		restore_zc0();
	WORLD_TEARDOWN(&self->w);
}

TEST_F_TIMEOUT(midway, off_on_zc0, 60)
{
	uint32_t exp_why;
	struct shot s;
	char w[128], e[128];

	ASSERT_EQ(0, zc_shot(self->w.dev, &self->w.p, self->w.fd, self->w.fd, 0, WORLD_LEN,
			     self->w.exp, self->w.buf, &s)) TH_LOG("%s", zc_errmsg());
	SHOT_CHECKS(&s, "offloads on");
	self->off = true;
	ASSERT_EQ(0, run("ethtool -K zc0 %s off", variant->feature)) TH_LOG("%s", run_out);
	ASSERT_EQ(0, zc0_feature_why(&exp_why)) TH_LOG("ethtool -k zc0: %s", run_out);
	ASSERT_EQ(0, zc_shot(self->w.dev, &self->w.p, self->w.fd, self->w.fd, 4096, WORLD_LEN,
			     self->w.exp + 4096, self->w.buf, &s)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, restore_zc0()) TH_LOG("%s", run_out);
	self->off = false;
	/* each variant's premise, as the kernel applied it */
	if (!strcmp(variant->feature, "sg")) {
		ASSERT_EQ((uint32_t)ZCDEV_WHY_NO_SG, exp_why);
	} else {
		ASSERT_NE(0U, exp_why & ZCDEV_WHY_NO_CSUM);
	}
	SHOT_CHECKS(&s, "after ethtool -K zc0 off");
	EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
	EXPECT_EQ(exp_why, s.r.why & (ZCDEV_WHY_NO_SG | ZCDEV_WHY_NO_CSUM))
		TH_LOG("why=%s, ethtool says %s", zct_why_str(s.r.why, w, sizeof(w)),
		       zct_why_str(exp_why, e, sizeof(e)));
	EXPECT_EQ(0ULL, s.flipped);
	ASSERT_EQ(0, zc_shot(self->w.dev, &self->w.p, self->w.fd, self->w.fd, 8192, WORLD_LEN,
			     self->w.exp + 8192, self->w.buf, &s)) TH_LOG("%s", zc_errmsg());
	SHOT_CHECKS(&s, "offloads on again");
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* dev: upper and tunnel devices over a veth with and without SG          */
/* ===================================================================== */

enum dev_kind { DK_VLAN, DK_MACVLAN, DK_BRIDGE, DK_BOND, DK_IPIP, DK_GRE,
		DK_IP6TNL, DK_SIT, DK_WIREGUARD, DK_MACSEC, DK_TEAM, DK_XFRM };

/*
 * A fresh veth pair per case, zw0 here and zw0p in the peer namespace
 * ("veth" or "nosg"; only the name), zw0 with sg/tx off for the no-SG
 * variants; the upper device "zwu" over zw0 and its far end over zw0p.
 * Underlay 10.99.0.0/24 and fd00:99::/64, overlay 10.98.0.0/24 and
 * fd00:98::/64; the receiver listens on the far overlay address.
 */
#define MAC_NEAR "02:00:00:00:99:01"
#define MAC_FAR  "02:00:00:00:99:02"
#define MACSEC_K1 "81cb8c93a7d9f1cde9b7a8b6a3e1d2c1"
#define MACSEC_K2 "5c1a6e3b7d2f9a0b4c8e1d7f3a6b9c2e"

FIXTURE(dev) {
	struct world w;
	bool made;
	/*
	 * the device cannot carry the connection here (no wg; team has no
	 * mode without teamd): the pair is connected over the veth, then the
	 * peer is routed through the device, where the data is dropped
	 */
	bool unrouted;
};

FIXTURE_VARIANT(dev) {
	enum dev_kind kind;
	bool nosg;
	const char *mod;
};

#define DEV_VARIANTS(name_, kind_, mod_)				\
	FIXTURE_VARIANT_ADD(dev, name_##_sg) { .kind = kind_, .mod = mod_ }; \
	FIXTURE_VARIANT_ADD(dev, name_##_nosg) {			\
		.kind = kind_, .nosg = true, .mod = mod_ }

#define DEV_VARIANT(name_, kind_, mod_, nosg_)				\
	FIXTURE_VARIANT_ADD(dev, name_) {				\
		.kind = kind_, .nosg = nosg_, .mod = mod_ }

/*
 * Both lowers where the lower's features decide or could (vlan, macvlan,
 * bridge, bond, ipip); the other tunnels over the no-SG veth only, where
 * a zero-copy claim is refuted (over the SG veth they behave as ipip does);
 * WireGuard and macsec over the SG veth only (they copy to encrypt over
 * either).  Every process costs under TCG: each case sets up ~10.
 */
DEV_VARIANTS(vlan, DK_VLAN, "8021q");
DEV_VARIANTS(macvlan, DK_MACVLAN, "macvlan");
DEV_VARIANTS(bridge, DK_BRIDGE, "bridge");
DEV_VARIANTS(bond, DK_BOND, "bonding");
DEV_VARIANTS(ipip, DK_IPIP, "ipip");
DEV_VARIANT(gre_nosg, DK_GRE, "ip_gre", true);
DEV_VARIANT(ip6tnl_nosg, DK_IP6TNL, "ip6_tunnel", true);
DEV_VARIANT(sit_nosg, DK_SIT, "sit", true);
DEV_VARIANT(wireguard_sg, DK_WIREGUARD, "wireguard", false);
DEV_VARIANT(macsec_sg, DK_MACSEC, "macsec", false);
/* team: the data never reaches the veth (no mode): one variant */
DEV_VARIANT(team, DK_TEAM, "team", false);
/* IPsec: ESP transport-mode SAs on the veth itself, no upper device */
DEV_VARIANT(xfrm_esp_sg, DK_XFRM, "esp4", false);

/* the upper device's ip -batch lines: near (here) and far (peer netns) */
static void dev_lines(enum dev_kind k, bool far, char *b, size_t n)
{
	const char *lo = far ? "zw0p" : "zw0";
	const char *me4 = far ? "10.99.0.2" : "10.99.0.1";
	const char *him4 = far ? "10.99.0.1" : "10.99.0.2";
	const char *me6 = far ? "fd00:99::2" : "fd00:99::1";
	const char *him6 = far ? "fd00:99::1" : "fd00:99::2";
	const char *o4 = far ? "10.98.0.2" : "10.98.0.1";
	const char *o6 = far ? "fd00:98::2" : "fd00:98::1";
	const char *himmac = far ? MAC_NEAR : MAC_FAR;
	/* key ids 01 (near's transmit key) and 02 (far's) */
	const char *k_me = far ? "02 " MACSEC_K2 : "01 " MACSEC_K1;
	const char *k_him = far ? "01 " MACSEC_K1 : "02 " MACSEC_K2;

	switch (k) {
	case DK_VLAN:
		snprintf(b, n, "link add link %s name zwu type vlan id 99\n"
			 "addr add %s/24 dev zwu\nlink set zwu up\n", lo, o4);
		break;
	case DK_MACVLAN:
		/* the far end is the veth itself */
		if (far)
			snprintf(b, n, "addr add %s/24 dev %s\n", o4, lo);
		else
			snprintf(b, n, "link add link %s name zwu type macvlan mode bridge\n"
				 "addr add %s/24 dev zwu\nlink set zwu up\n", lo, o4);
		break;
	case DK_BRIDGE:
	case DK_BOND:
		if (far)
			snprintf(b, n, "addr add %s/24 dev %s\n", o4, lo);
		else
			snprintf(b, n, "link add zwu type %s\nlink set %s down\n"
				 "link set %s master zwu\nlink set %s up\n"
				 "addr add %s/24 dev zwu\nlink set zwu up\n",
				 k == DK_BRIDGE ? "bridge" : "bond mode active-backup",
				 lo, lo, lo, o4);
		break;
	case DK_IPIP:
	case DK_GRE:
	case DK_IP6TNL:
	case DK_SIT: {
		/* underlay IPv6 for ip6tnl, overlay IPv6 for ip6tnl and sit */
		bool u6 = k == DK_IP6TNL, v6 = k == DK_IP6TNL || k == DK_SIT;
		const char *type = k == DK_IPIP ? "ipip" : k == DK_GRE ? "gre" :
				   k == DK_SIT ? "sit" : "ip6tnl mode ip6ip6";

		snprintf(b, n, "addr add %s/%s dev %s%s\n"
			 "link add zwu type %s local %s remote %s\n"
			 "addr add %s/%s dev zwu%s\nlink set zwu up\n",
			 u6 ? me6 : me4, u6 ? "64" : "24", lo, u6 ? " nodad" : "",
			 type, u6 ? me6 : me4, u6 ? him6 : him4,
			 v6 ? o6 : o4, v6 ? "64" : "24", v6 ? " nodad" : "");
		break;
	}
	case DK_WIREGUARD:
		snprintf(b, n, "addr add %s/24 dev %s\nlink add zwu type wireguard\n"
			 "addr add %s/24 dev zwu\n", me4, lo, o4);
		break;
	case DK_TEAM:
		/* no mode without teamd (genetlink): routed through, unconfigured */
		snprintf(b, n, "addr add %s/24 dev %s\n%s", me4, lo,
			 far ? "" : "link add zwu type team\n");
		break;
	case DK_XFRM: {
		/* SPIs 0x1001 (near to far) and 0x1002; keys: 16 B AES + 4 B salt */
		const char *k1 = "0x0102030405060708090a0b0c0d0e0f1011121314";
		const char *k2 = "0x2122232425262728292a2b2c2d2e2f3031323334";

		snprintf(b, n, "addr add %s/24 dev %s\n"
			 "xfrm state add src 10.99.0.1 dst 10.99.0.2 proto esp spi 0x1001"
			 " mode transport aead rfc4106(gcm(aes)) %s 128\n"
			 "xfrm state add src 10.99.0.2 dst 10.99.0.1 proto esp spi 0x1002"
			 " mode transport aead rfc4106(gcm(aes)) %s 128\n"
			 "xfrm policy add src %s dst %s dir out"
			 " tmpl src %s dst %s proto esp mode transport\n"
			 "xfrm policy add src %s dst %s dir in"
			 " tmpl src %s dst %s proto esp mode transport\n",
			 me4, lo, k1, k2, me4, him4, me4, him4, him4, me4, him4, me4);
		break;
	}
	case DK_MACSEC:
		snprintf(b, n, "link add link %s zwu type macsec port 1 encrypt on\n"
			 "macsec add zwu tx sa 0 pn 1 on key %s\n"
			 "macsec add zwu rx port 1 address %s\n"
			 "macsec add zwu rx port 1 address %s sa 0 pn 1 on key %s\n"
			 "addr add %s/24 dev zwu\nlink set zwu up\n",
			 lo, k_me, himmac, himmac, k_him, o4);
		break;
	}
}

static const char *dev_ns(const FIXTURE_VARIANT(dev) *v)
{
	return v->nosg ? "nosg" : "veth";
}

/*
 * What dev_open() makes, in both peer namespaces (a case killed by its
 * timeout has no teardown, and the next case may use the other one).
 */
#define DEV_UNDO							\
	"ip -force -batch - 2>/dev/null <<'EOF' || true\n"		\
	"link del zwu\nlink del zw0\nxfrm state flush\nxfrm policy flush\nEOF\n" \
	"for n in veth nosg; do ip -n $n -force -batch - 2>/dev/null <<'EOF' || true\n" \
	"link del zwu\nlink del zw0p\nxfrm state flush\nxfrm policy flush\nEOF\n" \
	"done\nrm -f /tmp/zwk1 /tmp/zwk2 /tmp/zwp1 /tmp/zwp2\n"

/*
 * Setup changes nothing that teardown must undo (the harness skips the
 * teardown of a setup that fails): dev_open(), the test's first step,
 * makes the devices and connects.
 */
FIXTURE_SETUP(dev)
{
	self->made = false;
	WORLD_SETUP(&self->w, true);
	ASSERT_EQ(0, zc_net_available(variant->nosg ? ZC_NET_NOSG : ZC_NET_VETH))
		TH_LOG("%s", zc_errmsg());
}

static void dev_open(struct __test_metadata *_metadata,
		     FIXTURE_DATA(dev) *self,
		     const FIXTURE_VARIANT(dev) *variant)
{
	const char *ns = dev_ns(variant);
	char near[1024], far[1024];
	bool v6 = variant->kind == DK_IP6TNL || variant->kind == DK_SIT;
	int r;

	/* one shell for it all: every process costs under TCG */
	self->made = true;
	dev_lines(variant->kind, false, near, sizeof(near));
	dev_lines(variant->kind, true, far, sizeof(far));
	/* (what a killed case before left behind goes first) */
	r = run("modprobe %s 2>/dev/null || true\n"
		DEV_UNDO
		"ip link add zw0 address %s type veth peer name zw0p address %s netns %s\n"
		"%sip -batch - <<'EOF'\nlink set zw0 up\n%sEOF\n"
		"ip -n %s -batch - <<'EOF'\nlink set zw0p up\n%sEOF",
		variant->mod, MAC_NEAR, MAC_FAR, ns,
		variant->nosg ? "ethtool -K zw0 sg off tx off\n"
		"ethtool -k zw0 | grep -q '^scatter-gather: off'\n" : "",
		near, ns, far);
	ASSERT_EQ(0, r) TH_LOG("creating the %s device: %s", variant->mod, run_out);

	self->unrouted = variant->kind == DK_TEAM;
	if (variant->kind == DK_WIREGUARD) {
		if (run("command -v wg")) {
			self->unrouted = true;
		} else {
			ASSERT_EQ(0, run(
				"cd /tmp && umask 077 && wg genkey > zwk1 && wg genkey > zwk2 &&"
				" wg pubkey < zwk1 > zwp1 && wg pubkey < zwk2 > zwp2 &&"
				" wg set zwu private-key zwk1 listen-port 51820 peer $(cat zwp2)"
				" endpoint 10.99.0.2:51820 allowed-ips 10.98.0.2/32 &&"
				" ip netns exec %s wg set zwu private-key zwk2 listen-port 51820"
				" peer $(cat zwp1) endpoint 10.99.0.1:51820 allowed-ips 10.98.0.1/32 &&"
				" ip link set zwu up && ip -n %s link set zwu up", ns, ns))
				TH_LOG("configuring WireGuard: %s", run_out);
		}
	}

	if (self->unrouted) {
		/* connect over the veth, then route the peer through the device */
		ASSERT_EQ(0, zc_pair_open_at(&self->w.p, zc_netns_path(variant->nosg ?
								       ZC_NET_NOSG : ZC_NET_VETH),
					     "10.99.0.2", &bufs)) TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(0, run("ip link set zwu up && ip route add 10.99.0.2/32 dev zwu"))
			TH_LOG("%s", run_out);
	} else {
		ASSERT_EQ(0, zc_pair_open_at(&self->w.p, zc_netns_path(variant->nosg ?
								       ZC_NET_NOSG : ZC_NET_VETH),
					     v6 ? "fd00:98::2" :
					     variant->kind == DK_XFRM ? "10.99.0.2" : "10.98.0.2",
					     &bufs))
			TH_LOG("%s", zc_errmsg());
	}
}

FIXTURE_TEARDOWN(dev)
{
	if (self->made)
		run("%s", DEV_UNDO);
	WORLD_TEARDOWN(&self->w);
}

static const char *const dev_names[] = {
	[DK_VLAN] = "vlan", [DK_MACVLAN] = "macvlan", [DK_BRIDGE] = "bridge",
	[DK_BOND] = "bond", [DK_IPIP] = "ipip", [DK_GRE] = "gre",
	[DK_IP6TNL] = "ip6tnl", [DK_SIT] = "sit", [DK_WIREGUARD] = "wireguard",
	[DK_MACSEC] = "macsec", [DK_TEAM] = "team", [DK_XFRM] = "xfrm",
};

TEST_F_TIMEOUT(dev, report_is_true, 60)
{
	bool judged = variant->kind == DK_VLAN || variant->kind == DK_MACVLAN;
	uint64_t sff = 0;
	char what[96], w[128];
	struct shot s;

	dev_open(_metadata, self, variant);
	snprintf(what, sizeof(what), "%s over the %s veth", dev_names[variant->kind],
		 variant->nosg ? "no-SG" : "SG");
	if (self->unrouted) {
		/*
		 * nothing reaches the peer: only the report can be judged.  The
		 * socket's cached route still names zw0: it is stale (the new
		 * route), and the send goes out through the device.
		 */
		struct zcdev_sendfile in = { .file_fd = self->w.fd,
					     .sock_fd = self->w.p.snd, .len = WORLD_LEN };
		struct zcdev_sendfile r = in;
		struct zcdev_probe pr;

		ASSERT_EQ(0, zc_probe_args(self->w.dev, self->w.p.snd, self->w.fd, 0, &pr))
			TH_LOG("probe: %s", strerror(errno));
		ASSERT_EQ(0, zct_sendfile(self->w.dev, &r)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, zc_report_check(&in, &r, WORLD_LEN)) TH_LOG("%s", zc_errmsg());
		TH_LOG("%s, unconfigured, routed through after connecting: %s", what,
		       zc_report_str(&r));
		EXPECT_EQ(0ULL, r.zc_bytes) TH_LOG("%s", zc_report_str(&r));
		EXPECT_NE(0U, r.why & ZCDEV_WHY_DEVICE)
			TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
		EXPECT_EQ(0, probe_agrees(&pr, &r)) TH_LOG("%s", zc_errmsg());
		return;
	}
	two_shots(_metadata, self->w.dev, &self->w.p, self->w.fd, self->w.fd,
		  4096, WORLD_LEN, self->w.exp + 4096, self->w.buf, what, &s, &sff);
	if (_metadata->exit_code)
		return;
	if (judged && variant->nosg) {
		EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
		EXPECT_NE(0U, s.r.why & ZCDEV_WHY_NO_SG)
			TH_LOG("the lower device has no SG: why=%s",
			       zct_why_str(s.r.why, w, sizeof(w)));
	} else if (variant->kind == DK_XFRM) {
		/* ESP encrypts into new buffers: the oracle must see copies */
		EXPECT_EQ(0ULL, s.flipped) TH_LOG("bytes lent through ESP");
		EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
		EXPECT_NE(0U, s.r.why & ZCDEV_WHY_XFRM)
			TH_LOG("why=%s", zct_why_str(s.r.why, w, sizeof(w)));
		/* and it was ESP: the SA counted the packets */
		EXPECT_EQ(0, run("ip -s xfrm state get src 10.99.0.1 dst 10.99.0.2"
				 " proto esp spi 0x1001 | grep -Eq '[1-9][0-9]*\\(packets\\)'"))
			TH_LOG("the near SA carried nothing: %s", run_out);
	} else if (!judged) {
		EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
		EXPECT_NE(0U, s.r.why & ZCDEV_WHY_DEVICE)
			TH_LOG("why=%s", zct_why_str(s.r.why, w, sizeof(w)));
	}
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* hook: tc and XDP programs on the path                                  */
/* ===================================================================== */

/*
 * A program the stack runs on the skb between the socket and the receiver
 * can copy what was lent: generic XDP linearizes every skb, and a tc
 * program or action may pull payload into the head (bpf_skb_pull_data(),
 * pedit).  The module does not see what they do, so where one runs (tc on
 * egress of the device, and on lo, which receives its own transmit, XDP
 * and tc on ingress; a veth peer's own hooks go through the same check,
 * whose rx_handler case vethpeer.* tests with a bridge) the report says
 * ZCDEV_WHY_DEVICE.  The programs here: XDP_PASS; a tc classifier
 * (direct action) that pulls the first HOOK_PULL bytes of each skb into
 * its head, a copy of them, and passes it; and one that only passes it.
 */
#define HOOK_BPFFS "/tmp/.zcw-bpf"
#define HOOK_PULL 2048

enum hook_kind { HK_XDP, HK_TC_EGRESS, HK_TC_INGRESS };

FIXTURE(hook) {
	struct world w;
	int prog_fd, link_fd;
	char undo[256];
};

FIXTURE_VARIANT(hook) {
	enum zc_net net;
	const char *ifname;
	enum hook_kind kind;
	bool pull;		/* the program copies bytes (tc: pulls) */
};

FIXTURE_VARIANT_ADD(hook, lo_xdp_generic) {
	.net = ZC_NET_LO, .ifname = "lo", .kind = HK_XDP, .pull = true };
FIXTURE_VARIANT_ADD(hook, lo_tc_egress_pull) {
	.net = ZC_NET_LO, .ifname = "lo", .kind = HK_TC_EGRESS, .pull = true };
FIXTURE_VARIANT_ADD(hook, lo_tc_ingress_pull) {
	.net = ZC_NET_LO, .ifname = "lo", .kind = HK_TC_INGRESS, .pull = true };
FIXTURE_VARIANT_ADD(hook, lo_tc_egress_pass) {
	.net = ZC_NET_LO, .ifname = "lo", .kind = HK_TC_EGRESS };
FIXTURE_VARIANT_ADD(hook, veth_tc_egress_pull) {
	.net = ZC_NET_VETH, .ifname = "zc0", .kind = HK_TC_EGRESS, .pull = true };

FIXTURE_SETUP(hook)
{
	self->prog_fd = self->link_fd = -1;
	self->undo[0] = 0;
	WORLD_SETUP(&self->w, true);
	ASSERT_EQ(0, zc_net_available(variant->net)) TH_LOG("%s", zc_errmsg());
	/* what a test killed by its timeout left (no teardown ran) */
	run("tc qdisc del dev %s clsact 2>/dev/null || true; "
	    "umount " HOOK_BPFFS " 2>/dev/null || true", variant->ifname);
}

FIXTURE_TEARDOWN(hook)
{
	if (self->link_fd >= 0)
		close(self->link_fd);	/* detaches the XDP program */
	if (self->prog_fd >= 0)
		close(self->prog_fd);
	if (self->undo[0])
		run("%s", self->undo);
	WORLD_TEARDOWN(&self->w);
}

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

/* BPF_PROG_LOAD of @n instructions (GPL), the verifier's log in @log */
static int bpf_load(enum bpf_prog_type type, enum bpf_attach_type expected,
		    const struct bpf_insn *insns, unsigned int n, char *log,
		    size_t log_size)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.expected_attach_type = expected;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = n;
	a.license = (uintptr_t)"GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = log_size;
	a.log_level = 1;
	return sys_bpf(BPF_PROG_LOAD, &a);
}

/* the program on the device, recorded for the teardown */
static void hook_open(struct __test_metadata *_metadata, FIXTURE_DATA(hook) *self,
		      const FIXTURE_VARIANT(hook) *variant)
{
	/* XDP: r0 = XDP_PASS */
	static const struct bpf_insn xdp[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	/*
	 * tc: r2 = skb->len; if r2 > HOOK_PULL, r2 = HOOK_PULL;
	 * bpf_skb_pull_data(skb, r2); r0 = TC_ACT_OK
	 */
	static const struct bpf_insn pull[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_REG_1, .off = offsetof(struct __sk_buff, len) },
		{ .code = BPF_JMP | BPF_JLE | BPF_K, .dst_reg = BPF_REG_2,
		  .off = 1, .imm = HOOK_PULL },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2,
		  .imm = HOOK_PULL },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_skb_pull_data },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = TC_ACT_OK },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static const struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = TC_ACT_OK },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[8192];
	union bpf_attr a;

	if (variant->kind == HK_XDP) {
		self->prog_fd = bpf_load(BPF_PROG_TYPE_XDP, BPF_XDP, xdp,
					 ARRAY_SIZE(xdp), log, sizeof(log));
		if (self->prog_fd < 0 && (errno == ENOSYS || errno == EPERM))
			ZC_NEED(return, "no bpf(2) here: %s", strerror(errno));
		ASSERT_LE(0, self->prog_fd) TH_LOG("BPF_PROG_LOAD XDP: %s: %s",
						   strerror(errno), log);
		memset(&a, 0, sizeof(a));
		a.link_create.prog_fd = self->prog_fd;
		a.link_create.target_ifindex = if_nametoindex(variant->ifname);
		a.link_create.attach_type = BPF_XDP;
		a.link_create.flags = XDP_FLAGS_SKB_MODE;
		self->link_fd = sys_bpf(BPF_LINK_CREATE, &a);
		ASSERT_LE(0, self->link_fd) TH_LOG("generic XDP on %s: %s",
						   variant->ifname, strerror(errno));
		return;
	}
	self->prog_fd = variant->pull ?
		bpf_load(BPF_PROG_TYPE_SCHED_CLS, 0, pull, ARRAY_SIZE(pull), log,
			 sizeof(log)) :
		bpf_load(BPF_PROG_TYPE_SCHED_CLS, 0, pass, ARRAY_SIZE(pass), log,
			 sizeof(log));
	if (self->prog_fd < 0 && (errno == ENOSYS || errno == EPERM))
		ZC_NEED(return, "no bpf(2) here: %s", strerror(errno));
	ASSERT_LE(0, self->prog_fd) TH_LOG("BPF_PROG_LOAD SCHED_CLS: %s: %s",
					   strerror(errno), log);
	/* pinned in a bpffs of its own, for tc's object-pinned */
	ASSERT_EQ(0, run("mkdir -p " HOOK_BPFFS "; mount -t bpf bpf " HOOK_BPFFS))
		TH_LOG("%s", run_out);
	snprintf(self->undo, sizeof(self->undo), "umount " HOOK_BPFFS);
	memset(&a, 0, sizeof(a));
	a.pathname = (uintptr_t)HOOK_BPFFS "/prog";
	a.bpf_fd = self->prog_fd;
	ASSERT_EQ(0, sys_bpf(BPF_OBJ_PIN, &a)) TH_LOG("BPF_OBJ_PIN: %s", strerror(errno));
	ASSERT_EQ(0, run("tc qdisc add dev %s clsact", variant->ifname))
		TH_LOG("%s", run_out);
	snprintf(self->undo, sizeof(self->undo),
		 "tc qdisc del dev %s clsact; umount " HOOK_BPFFS, variant->ifname);
	ASSERT_EQ(0, run("tc filter add dev %s %s bpf object-pinned " HOOK_BPFFS "/prog da",
			 variant->ifname,
			 variant->kind == HK_TC_EGRESS ? "egress" : "ingress"))
		TH_LOG("%s", run_out);
}

TEST_F_TIMEOUT(hook, report_is_true, 60)
{
	static const char *const kinds[] = { "generic XDP", "tc egress", "tc ingress" };
	uint64_t sff = 0;
	char what[96], w[128];
	struct shot s;

	hook_open(_metadata, self, variant);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, variant->net, &bufs))
		TH_LOG("%s", zc_errmsg());
	snprintf(what, sizeof(what), "%s (%s) on %s", kinds[variant->kind],
		 variant->pull ? "copies" : "passes", variant->ifname);
	two_shots(_metadata, self->w.dev, &self->w.p, self->w.fd, self->w.fd,
		  4096, WORLD_LEN, self->w.exp + 4096, self->w.buf, what, &s, &sff);
	if (_metadata->exit_code)
		return;
	/* the program ran and copied: the premise of the case */
	if (variant->pull) {
		EXPECT_NE(0ULL, s.same) TH_LOG("%s: the receiver saw nothing copied", what);
	}
	EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
	EXPECT_NE(0U, s.r.why & ZCDEV_WHY_DEVICE)
		TH_LOG("why=%s", zct_why_str(s.r.why, w, sizeof(w)));
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* sock: sockets whose send path copies                                   */
/* ===================================================================== */

FIXTURE(sock) {
	struct world w;
	int map_fd, prog_fd;
};

FIXTURE_SETUP(sock)
{
	self->map_fd = self->prog_fd = -1;
	WORLD_SETUP(&self->w, true);
}

FIXTURE_TEARDOWN(sock)
{
	if (self->prog_fd >= 0)
		close(self->prog_fd);
	if (self->map_fd >= 0)
		close(self->map_fd);
	WORLD_TEARDOWN(&self->w);
}

static void sock_expect_socket(struct __test_metadata *_metadata,
			       FIXTURE_DATA(sock) *self, const char *what)
{
	uint64_t sff = 0;
	struct shot s;
	char w[128];

	two_shots(_metadata, self->w.dev, &self->w.p, self->w.fd, self->w.fd,
		  4096, WORLD_LEN, self->w.exp + 4096, self->w.buf, what, &s, &sff);
	if (_metadata->exit_code)
		return;
	EXPECT_EQ(0ULL, s.r.zc_bytes) TH_LOG("%s", zc_report_str(&s.r));
	EXPECT_NE(0U, s.r.why & ZCDEV_WHY_SOCKET)
		TH_LOG("why=%s", zct_why_str(s.r.why, w, sizeof(w)));
	EXPECT_EQ(0ULL, s.flipped) TH_LOG("%s: the oracle saw bytes lent", what);
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

TEST_F_TIMEOUT(sock, mptcp, 60)
{
	struct zc_pair_opts o = bufs;
	char val[16] = "";
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd < 0)
		ZC_NEED(return, "no MPTCP sockets: %s", strerror(errno));
	close(fd);
	fd = open("/proc/sys/net/mptcp/enabled", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, val, sizeof(val) - 1);

		close(fd);
		if (n > 0 && val[0] == '0')
			ZC_NEED(return, "net.mptcp.enabled is 0");
	}
	o.proto = IPPROTO_MPTCP;
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_VETH, &o))
		TH_LOG("%s", zc_errmsg());
	sock_expect_socket(_metadata, self, "MPTCP over the veth");
}

/*
 * A sockmap holding the sender, with an SK_MSG verdict program
 * (r0 = SK_PASS; exit): the sender's proto is tcp_bpf's from then on.
 */
TEST_F_TIMEOUT(sock, sockmap_sk_msg, 60)
{
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[4096];
	union bpf_attr a;
	uint32_t key = 0, val;

	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_VETH, &bufs))
		TH_LOG("%s", zc_errmsg());
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_SOCKMAP;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	self->map_fd = sys_bpf(BPF_MAP_CREATE, &a);
	if (self->map_fd < 0 && (errno == ENOSYS || errno == EPERM))
		ZC_NEED(return, "no bpf(2) here: %s", strerror(errno));
	ASSERT_LE(0, self->map_fd) TH_LOG("BPF_MAP_CREATE sockmap: %s", strerror(errno));

	self->prog_fd = bpf_load(BPF_PROG_TYPE_SK_MSG, 0, prog, ARRAY_SIZE(prog),
				 log, sizeof(log));
	ASSERT_LE(0, self->prog_fd) TH_LOG("BPF_PROG_LOAD SK_MSG: %s: %s",
					   strerror(errno), log);

	memset(&a, 0, sizeof(a));
	a.target_fd = self->map_fd;
	a.attach_bpf_fd = self->prog_fd;
	a.attach_type = BPF_SK_MSG_VERDICT;
	ASSERT_EQ(0, sys_bpf(BPF_PROG_ATTACH, &a))
		TH_LOG("BPF_PROG_ATTACH sk_msg verdict: %s", strerror(errno));

	val = self->w.p.snd;
	memset(&a, 0, sizeof(a));
	a.map_fd = self->map_fd;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)&val;
	a.flags = BPF_ANY;
	ASSERT_EQ(0, sys_bpf(BPF_MAP_UPDATE_ELEM, &a))
		TH_LOG("sender into the sockmap: %s", strerror(errno));
	sock_expect_socket(_metadata, self, "TCP in a sockmap with SK_MSG");
}

/*
 * SCTP (one-to-one, SOCK_STREAM): a stream socket whose sendmsg copies the
 * payload into chunks.  The oracle needs no wait on the stack: the file is
 * flipped as soon as the call returns and before the receiver reads, so a
 * byte lent by reference would arrive flipped.
 */
TEST_F_TIMEOUT(sock, sctp_stream, 60)
{
	struct zc_pair_opts o = bufs;
	struct zcdev_sendfile in, r;
	struct zcdev_probe pr;
	uint64_t flipped = 0, same = 0;
	char w[128];

	/* sctp is in the guest's module list: its absence is a failure */
	ASSERT_EQ(0, run("modprobe sctp")) TH_LOG("%s", run_out);
	o.proto = IPPROTO_SCTP;
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, &o))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_probe_args(self->w.dev, self->w.p.snd, self->w.fd, 0, &pr))
		TH_LOG("probe: %s", strerror(errno));
	in = (struct zcdev_sendfile){ .file_fd = self->w.fd, .sock_fd = self->w.p.snd,
				      .offset = 4096, .len = WORLD_LEN };
	r = in;
	ASSERT_EQ(0, zct_sendfile(self->w.dev, &r)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, zc_flip_range(self->w.fd, 4096, WORLD_LEN)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_report_check(&in, &r, WORLD_LEN)) TH_LOG("%s", zc_errmsg());
	TH_LOG("SCTP over lo: %s", zc_report_str(&r));
	ASSERT_EQ((ssize_t)r.sent, zc_recv_exact(self->w.p.rcv, self->w.buf, r.sent, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_flip_range(self->w.fd, 4096, WORLD_LEN)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(-1, zc_classify_buf(self->w.buf, self->w.exp + 4096, r.sent, 4096,
				      &flipped, &same)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(0ULL, flipped) TH_LOG("the oracle saw bytes lent over SCTP");
	EXPECT_EQ(r.sent, same);
	EXPECT_EQ((uint64_t)WORLD_LEN, r.sent);
	EXPECT_EQ(0ULL, r.zc_bytes);
	EXPECT_NE(0U, r.why & ZCDEV_WHY_SOCKET)
		TH_LOG("why=%s", zct_why_str(r.why, w, sizeof(w)));
	EXPECT_EQ(0, probe_agrees(&pr, &r)) TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* ===================================================================== */
/* nfs: an NFSv4.2 mount of an ext4 directory, over lo                     */
/* ===================================================================== */

#define NFS_EXPORT	"/mnt/ext4/zcw-nfs"
#define NFS_SIZE	(256 * 1024)

/*
 * The guest's own NFS server, once: the kernel's nfsd (NFSv4 only, so no
 * rpcbind), rpc.mountd for its export upcalls, the export for 127.0.0.1,
 * and the grace period ended (nothing to reclaim).
 */
static int nfs_server_up(void)
{
	char threads[16] = "";
	int fd;

	fd = open("/proc/fs/nfsd/threads", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, threads, sizeof(threads) - 1) < 0)
			threads[0] = 0;
		close(fd);
	}
	if (threads[0] && threads[0] != '0')
		return run("mkdir -p " NFS_EXPORT "\n"
			   "exportfs -o rw,sync,no_subtree_check,no_root_squash,insecure,fsid=1 "
			   "127.0.0.1:" NFS_EXPORT "\n"
			   "pidof rpc.mountd > /dev/null || rpc.mountd -N 2 -N 3 -u");
	return run("grep -q ' /proc/fs/nfsd ' /proc/mounts || mount -t nfsd nfsd /proc/fs/nfsd\n"
		   "mkdir -p /var/lib/nfs/v4recovery " NFS_EXPORT "\n"
		   ": > /etc/exports; touch /var/lib/nfs/etab /var/lib/nfs/rmtab\n"
		   "exportfs -o rw,sync,no_subtree_check,no_root_squash,insecure,fsid=1 "
		   "127.0.0.1:" NFS_EXPORT "\n"
		   "pidof rpc.mountd > /dev/null || rpc.mountd -N 2 -N 3 -u\n"
		   "rpc.nfsd -N 3 -U 2\n"
		   "echo Y > /proc/fs/nfsd/v4_end_grace");
}

/* the kernel has NFSv4 server and client (modules loaded if need be) */
static bool nfs_kernel_has(void)
{
	run("modprobe nfsd || true; modprobe nfsv4 || true");
	return !run("grep -qw nfsd /proc/filesystems && grep -qw nfs4 /proc/filesystems");
}

FIXTURE(nfs) {
	struct world w;	/* w.fd: the file through NFS, read-only (sent) */
	char mnt[64], npath[128], spath[128];
	char leases[8];	/* fs.leases-enable before the test */
	bool mounted;
	int rw;		/* the file through NFS, O_RDWR: the oracle flips it */
};

FIXTURE_VARIANT(nfs) {
	const char *opts;	/* mount options beyond vers and addresses */
	bool no_deleg;		/* fs.leases-enable 0: nfsd grants none */
};

/* the client's defaults: attributes cached for 3-60 s (close-to-open) */
FIXTURE_VARIANT_ADD(nfs, cached) { .opts = "", .no_deleg = true };
/* no attribute cache: every read asks the server */
FIXTURE_VARIANT_ADD(nfs, noac) { .opts = ",noac", .no_deleg = true };

static int set_leases(const char *v)
{
	return run("echo %s > /proc/sys/fs/leases-enable", v);
}

#define LEASES_SAVED	"/tmp/.zcw-leases"

/* the digit in @path ("1" if unreadable) */
static void read_digit(const char *path, char *v, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, v, n - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (r <= 0 || v[0] < '0' || v[0] > '9')
		snprintf(v, n, "1");
	else
		v[1] = 0;
}

/*
 * fs.leases-enable before the first nfs test of this boot changed it: a
 * test killed by its timeout (no teardown) leaves it at 0, and the next
 * one must not take that for the value to restore.
 */
static void get_leases(char *v, size_t n)
{
	int fd;

	if (!access(LEASES_SAVED, F_OK)) {
		read_digit(LEASES_SAVED, v, n);
		return;
	}
	read_digit("/proc/sys/fs/leases-enable", v, n);
	fd = open(LEASES_SAVED, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, v, 1) != 1)
			unlink(LEASES_SAVED);
		close(fd);
	}
}

/*
 * Setup changes nothing that teardown must undo: the harness skips the
 * teardown of a setup that fails.  nfs_open(), the first step of each
 * test, does the rest (leases, the server's file, the mount).
 */
FIXTURE_SETUP(nfs)
{
	self->rw = -1;
	self->mounted = false;
	self->leases[0] = 0;
	self->spath[0] = 0;
	self->mnt[0] = 0;
	WORLD_SETUP(&self->w, false);
	if (access("/usr/sbin/rpc.nfsd", X_OK))
		ZC_NEED(return, "no rpc.nfsd in the guest (vm/guest-preload.sh)");
	if (!nfs_kernel_has())
		ZC_NEED(return, "no NFSv4 server or client in this kernel");
	ASSERT_EQ(0, nfs_server_up()) TH_LOG("%s", run_out);
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, &bufs))
		TH_LOG("%s", zc_errmsg());
}

/* the test's file on the server, the mount, the client's descriptors */
static void nfs_open(struct __test_metadata *_metadata,
		     FIXTURE_DATA(nfs) *self,
		     const FIXTURE_VARIANT(nfs) *variant)
{
	char opts[256];
	int srv;

	if (variant->no_deleg) {
		get_leases(self->leases, sizeof(self->leases));
		ASSERT_EQ(0, set_leases("0")) TH_LOG("%s", run_out);
	}
	snprintf(self->spath, sizeof(self->spath), NFS_EXPORT "/f-%d", getpid());
	srv = open(self->spath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, srv) TH_LOG("%s: %s", self->spath, strerror(errno));
	zc_payload_fill(self->w.exp, 0, NFS_SIZE);
	ASSERT_EQ(NFS_SIZE, pwrite(srv, self->w.exp, NFS_SIZE, 0));
	ASSERT_EQ(0, fsync(srv));
	close(srv);

	/* a mount a test killed by its timeout left (no teardown ran) */
	run("awk '$2 ~ \"^/tmp/zcw-nfs-\" { print $2 }' /proc/mounts | "
	    "xargs -r umount -l");
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/zcw-nfs-%d", getpid());
	ASSERT_EQ(0, mkdir(self->mnt, 0755));
	snprintf(opts, sizeof(opts), "vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1%s",
		 variant->opts);
	ASSERT_EQ(0, mount("127.0.0.1:" NFS_EXPORT, self->mnt, "nfs4", 0, opts))
		TH_LOG("mount nfs4 %s: %s", opts, strerror(errno));
	self->mounted = true;
	ASSERT_EQ(0, zc_check_fs(self->mnt, ZC_NFS_MAGIC)) TH_LOG("%s", zc_errmsg());
	snprintf(self->npath, sizeof(self->npath), "%s/%s", self->mnt,
		 strrchr(self->spath, '/') + 1);
	self->w.fd = open(self->npath, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->w.fd) TH_LOG("open %s: %s", self->npath, strerror(errno));
	self->rw = open(self->npath, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->rw) TH_LOG("open %s O_RDWR: %s", self->npath,
				      strerror(errno));
}

FIXTURE_TEARDOWN(nfs)
{
	if (self->rw >= 0)
		close(self->rw);
	world_fini(&self->w);
	if (self->mounted)
		EXPECT_EQ(0, umount(self->mnt)) TH_LOG("umount: %s", strerror(errno));
	if (self->mnt[0])
		rmdir(self->mnt);
	if (self->spath[0])
		unlink(self->spath);
	if (self->leases[0])
		EXPECT_EQ(0, set_leases(self->leases)) TH_LOG("%s", run_out);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * NFS reads through its own ->splice_read (it revalidates the mapping
 * first): read(2)'s bytes, and its page cache lent exactly where
 * sendfile(2)'s is (the oracle flips the client's cached pages through a
 * shared mapping).
 */
TEST_F_TIMEOUT(nfs, report_is_true, 60)
{
	const uint64_t off = 100, len = 96 * KiB + 1000;
	uint64_t sff = 0;
	struct shot s;

	nfs_open(_metadata, self, variant);
	ASSERT_EQ((ssize_t)len, pread(self->w.fd, self->w.buf, len, off))
		TH_LOG("read(2): %s", strerror(errno));
	zc_payload_fill(self->w.exp, off, len);
	ASSERT_EQ(-1, zc_verify_buf(self->w.buf, self->w.exp, len, off))
		TH_LOG("read(2): %s", zc_errmsg());
	two_shots(_metadata, self->w.dev, &self->w.p, self->w.fd, self->rw,
		  off, len, self->w.exp, self->w.buf, "NFSv4.2", &s, &sff);
	if (_metadata->exit_code)
		return;
	EXPECT_EQ(sff, s.flipped)
		TH_LOG("sendfile(2) lent %" PRIu64 " bytes, zcdev %" PRIu64,
		       sff, s.flipped);
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/*
 * The server's file changes behind the client's cached pages; then the
 * file is opened again on the client (close-to-open: that open asks the
 * server, and read(2) of the new descriptor gives the new bytes, though
 * the stale pages are still cached until a read revalidates them) and the
 * module sends from it before any read(2): the new bytes, as read(2) gives
 * after it.  A lookup of NFS's page cache of its own would send the stale
 * ones.  Without delegations (fs.leases-enable 0) in both variants, so
 * that only the open shows the client the change.
 */
TEST_F_TIMEOUT(nfs, server_change, 60)
{
	const uint64_t off = 8 * KiB, len = 64 * KiB;
	struct zcdev_sendfile a;
	uint8_t *rd, *old;
	struct timespec ts[2];
	bool is_old, is_new;
	int srv, fd2;

	nfs_open(_metadata, self, variant);
	/*
	 * A client that has the file open for writing takes a changed
	 * change attribute for its own writeback and keeps its cache
	 * (nfs_update_inode()): only the read-only descriptor stays open.
	 */
	close(self->rw);
	self->rw = -1;
	rd = malloc(len);
	old = malloc(len);
	ASSERT_NE(NULL, rd);
	ASSERT_NE(NULL, old);
	/* cached on the client */
	ASSERT_EQ((ssize_t)len, pread(self->w.fd, rd, len, off));
	memcpy(old, rd, len);
	ASSERT_EQ(0, zc_sendfile_args(self->w.dev, self->w.fd, self->w.p.snd,
				      off, len, 0, &a)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(len, a.sent);
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv, self->w.buf, len,
					      IDLE_MS));
	ASSERT_EQ(-1, zc_verify(self->w.buf, len, off)) TH_LOG("%s", zc_errmsg());

	/* the server's file changed by a process there (and its times) */
	srv = open(self->spath, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, srv) TH_LOG("%s: %s", self->spath, strerror(errno));
	for (uint64_t i = 0; i < len; i++)
		self->w.exp[i] = old[i] ^ 0x5a;
	ASSERT_EQ((ssize_t)len, pwrite(srv, self->w.exp, len, off));
	ASSERT_EQ(0, fsync(srv));
	ts[0].tv_sec = ts[1].tv_sec = 1000000000 + getpid();
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ASSERT_EQ(0, futimens(srv, ts));
	close(srv);

	fd2 = open(self->npath, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd2) TH_LOG("open %s: %s", self->npath, strerror(errno));
	ASSERT_EQ(0, zc_sendfile_args(self->w.dev, fd2, self->w.p.snd,
				      off, len, 0, &a)) TH_LOG("%s", strerror(errno));
	TH_LOG("after the server's change, reopened: %s", zc_report_str(&a));
	ASSERT_EQ(len, a.sent);
	ASSERT_EQ((ssize_t)len, zc_recv_exact(self->w.p.rcv, self->w.buf, len,
					      IDLE_MS));
	is_new = !memcmp(self->w.buf, self->w.exp, len);
	is_old = !memcmp(self->w.buf, old, len);
	TH_LOG("the module sent %s", is_new ? "the new bytes" :
	       is_old ? "the stale cached bytes" : "neither");
	ASSERT_EQ((ssize_t)len, pread(fd2, rd, len, off));
	close(fd2);
	/* the premise: close-to-open */
	ASSERT_EQ(0, memcmp(rd, self->w.exp, len))
		TH_LOG("read(2) after the reopen kept the old bytes");
	EXPECT_TRUE(is_new) TH_LOG("not read(2)'s bytes after the reopen");
	free(old);
	free(rd);
}

/* ===================================================================== */
/* shutdown: a file system that stops reading                             */
/* ===================================================================== */

#ifndef EXT4_IOC_SHUTDOWN
#define EXT4_IOC_SHUTDOWN		_IOR('X', 125, uint32_t)
#endif
#define EXT4_GOING_FLAGS_NOLOGFLUSH	0x2
#define SHUT_SIZE			(64 * 1024)

/*
 * An ext4 file system of its own (vm/run-guest.sh's spare disk), with a
 * file whose pages are all cached and clean: the module would lend them.
 */
FIXTURE(shutdown) {
	struct world w;
	char dir[64];
	bool mounted;
	void *map;	/* the file, mapped before the shutdown (mincore) */
};

/* the file's pages in the page cache (mmap(2) fails after a shutdown) */
static int shut_resident(void *map)
{
	unsigned char vec[SHUT_SIZE / 4096];
	int i, n = 0;

	if (mincore(map, SHUT_SIZE, vec))
		return -1;
	for (i = 0; i < SHUT_SIZE / 4096; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * Setup changes nothing that teardown must undo (the harness skips the
 * teardown of a setup that fails): shut_open(), each test's first step,
 * mounts the disk and makes the file.
 */
FIXTURE_SETUP(shutdown)
{
	const char *disk = getenv("ZC_SPARE_DISK");

	self->mounted = false;
	self->map = MAP_FAILED;
	self->dir[0] = 0;
	WORLD_SETUP(&self->w, false);
	if (!disk || !*disk)
		ZC_NEED(return, "no spare disk (ZC_SPARE_DISK: vm/run-guest.sh)");
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, NULL))
		TH_LOG("%s", zc_errmsg());
}

static void shut_open(struct __test_metadata *_metadata,
		      FIXTURE_DATA(shutdown) *self)
{
	const char *disk = getenv("ZC_SPARE_DISK");

	/* a mount a killed test left (a timeout runs no teardown) */
	run("awk -v d='%s' '$1 == d { print $2 }' /proc/mounts | xargs -r umount -l",
	    disk);
	snprintf(self->dir, sizeof(self->dir), "/tmp/zcw-shut-%d", getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	ASSERT_EQ(0, mount(disk, self->dir, "ext4", 0, NULL))
		TH_LOG("mount %s: %s", disk, strerror(errno));
	self->mounted = true;
	self->w.fd = zc_make_payload_file(self->dir, SHUT_SIZE, self->w.path,
					  sizeof(self->w.path));
	ASSERT_LE(0, self->w.fd) TH_LOG("%s", zc_errmsg());
	/* (the disk is made anew for every guest: nothing is left behind) */
	ASSERT_EQ(0, unlink(self->w.path));
	self->w.path[0] = 0;
	self->map = mmap(NULL, SHUT_SIZE, PROT_READ, MAP_SHARED, self->w.fd, 0);
	ASSERT_NE(MAP_FAILED, self->map) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(SHUT_SIZE / 4096, shut_resident(self->map));
}

FIXTURE_TEARDOWN(shutdown)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, SHUT_SIZE);
	if (self->w.fd >= 0)
		close(self->w.fd);
	self->w.fd = -1;
	if (self->mounted)
		EXPECT_EQ(0, umount(self->dir)) TH_LOG("umount: %s", strerror(errno));
	if (self->dir[0])
		rmdir(self->dir);
	WORLD_TEARDOWN(&self->w);
}

/*
 * After a forced shutdown (EXT4_IOC_SHUTDOWN; ext4 also shuts itself down
 * on an error under errors=remount-ro) read(2) and sendfile(2) of the file
 * fail with EIO although its pages are still cached: so does the module,
 * for SENDFILE and for a SENDV file segment, and it sends nothing of the
 * file (the page cache is not the file system's answer).  Before, it lent
 * the cached pages.
 */
TEST_F(shutdown, ext4_cached_file_gives_eio)
{
	const char hdr[] = "HTTP/1.1 200 OK\r\n\r\n";
	uint32_t how = EXT4_GOING_FLAGS_NOLOGFLUSH;
	struct zcdev_seg seg[2] = { };
	struct zcdev_sendfile a;
	struct zcdev_sendv v;
	off_t o = 0;
	char c;

	shut_open(_metadata, self);
	/* the control: before the shutdown it is sent, by reference */
	ASSERT_EQ(0, zc_sendfile_args(self->w.dev, self->w.fd, self->w.p.snd,
				      0, SHUT_SIZE, 0, &a))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(SHUT_SIZE, a.sent);
	EXPECT_EQ(SHUT_SIZE, a.zc_bytes) TH_LOG("%s", zc_report_str(&a));
	ASSERT_EQ(SHUT_SIZE, zc_recv_exact(self->w.p.rcv, self->w.buf,
					   SHUT_SIZE, IDLE_MS));
	ASSERT_EQ(-1, zc_verify(self->w.buf, SHUT_SIZE, 0)) TH_LOG("%s", zc_errmsg());

	ASSERT_EQ(0, ioctl(self->w.fd, EXT4_IOC_SHUTDOWN, &how))
		TH_LOG("EXT4_IOC_SHUTDOWN: %s", strerror(errno));
	/* the premise: still cached, and read(2) and sendfile(2) fail */
	ASSERT_EQ(SHUT_SIZE / 4096, shut_resident(self->map));
	ASSERT_EQ(-1, pread(self->w.fd, &c, 1, 0));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(-1, sendfile(self->w.p.snd, self->w.fd, &o, SHUT_SIZE));
	ASSERT_EQ(EIO, errno);

	EXPECT_EQ(-1, zc_sendfile_args(self->w.dev, self->w.fd, self->w.p.snd,
				       0, SHUT_SIZE, 0, &a))
		TH_LOG("sent %s", zc_report_str(&a));
	EXPECT_EQ(EIO, errno) TH_LOG("%s", strerror(errno));
	/* CACHED_ONLY asks too; and at EOF read(2) fails as well */
	EXPECT_EQ(-1, zc_sendfile_args(self->w.dev, self->w.fd, self->w.p.snd,
				       0, SHUT_SIZE, ZCDEV_SEND_CACHED_ONLY, &a))
		TH_LOG("CACHED_ONLY: %s", zc_report_str(&a));
	EXPECT_EQ(EIO, errno) TH_LOG("CACHED_ONLY: %s", strerror(errno));
	EXPECT_EQ(-1, pread(self->w.fd, &c, 1, SHUT_SIZE));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, zc_sendfile_args(self->w.dev, self->w.fd, self->w.p.snd,
				       SHUT_SIZE, 4096, 0, &a))
		TH_LOG("at EOF: %s", zc_report_str(&a));
	EXPECT_EQ(EIO, errno) TH_LOG("at EOF: %s", strerror(errno));

	/* SENDV: the header goes, the file segment stops the call */
	seg[0].type = ZCDEV_SEG_MEM;
	seg[0].addr = (uintptr_t)hdr;
	seg[0].len = sizeof(hdr) - 1;
	seg[1].type = ZCDEV_SEG_FILE;
	seg[1].file_fd = self->w.fd;
	seg[1].len = SHUT_SIZE;
	memset(&v, 0, sizeof(v));
	v.segs = (uintptr_t)&seg[1];
	v.nr_segs = 1;
	v.sock_fd = self->w.p.snd;
	EXPECT_EQ(-1, zct_sendv(self->w.dev, &v)) TH_LOG("sent %llu",
							 (unsigned long long)v.sent);
	EXPECT_EQ(EIO, errno) TH_LOG("%s", strerror(errno));
	seg[1].offset = SHUT_SIZE;
	memset(&v, 0, sizeof(v));
	v.segs = (uintptr_t)&seg[1];
	v.nr_segs = 1;
	v.sock_fd = self->w.p.snd;
	EXPECT_EQ(-1, zct_sendv(self->w.dev, &v)) TH_LOG("at EOF: sent %llu",
							 (unsigned long long)v.sent);
	EXPECT_EQ(EIO, errno) TH_LOG("at EOF: %s", strerror(errno));
	seg[1].offset = 0;
	memset(&v, 0, sizeof(v));
	v.segs = (uintptr_t)seg;
	v.nr_segs = 2;
	v.sock_fd = self->w.p.snd;
	ASSERT_EQ(0, zct_sendv(self->w.dev, &v)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(sizeof(hdr) - 1, v.sent);
	EXPECT_EQ(1, v.seg_index);
	EXPECT_EQ(0, v.seg_sent);
	ASSERT_EQ((ssize_t)sizeof(hdr) - 1,
		  zc_recv_exact(self->w.p.rcv, self->w.buf, sizeof(hdr) - 1,
				IDLE_MS));
	EXPECT_EQ(0, memcmp(self->w.buf, hdr, sizeof(hdr) - 1));
	/* and nothing of the file came after it */
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
}

/* a blocking send from another thread */
struct shut_send {
	int dev, fd, sock;
	uint64_t len;
	struct zcdev_sendfile a;
	int ret, err;
	int done;	/* set (atomically) when the call returned */
};

static void *shut_send_thread(void *arg)
{
	struct shut_send *t = arg;

	t->ret = zc_sendfile_args(t->dev, t->fd, t->sock, 0, t->len, 0, &t->a);
	t->err = t->ret ? errno : 0;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The file system is asked before every batch, not once per call: a
 * blocking 2 MiB send (batches of at most 1 MiB) waits in its first
 * batch on a full socket while ext4 is shut down; when the peer drains,
 * the call ends after that batch with what it sent, and the next call
 * gives EIO.  The bytes that arrived are the file's.
 */
TEST_F_TIMEOUT(shutdown, ext4_shutdown_mid_call, 90)
{
	const struct zc_pair_opts small = { .sndbuf = 64 * KiB, .rcvbuf = 64 * KiB,
					    .sndtimeo_ms = -1 };
	const uint64_t len = 2 * MiB;
	uint32_t how = EXT4_GOING_FLAGS_NOLOGFLUSH;
	struct shut_send t = { 0 };
	struct zcdev_sendfile a;
	char path[PATH_MAX];
	struct zc_rx rx;
	pthread_t th;
	int fd, i, q = 0;

	shut_open(_metadata, self);
	zc_pair_close(&self->w.p);
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, &small))
		TH_LOG("%s", zc_errmsg());
	fd = zc_make_payload_file(self->dir, len, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, unlink(path));
	t.dev = self->w.dev;
	t.fd = fd;
	t.sock = self->w.p.snd;
	t.len = len;
	ASSERT_EQ(0, pthread_create(&th, NULL, shut_send_thread, &t));
	/* the first batch is in TCP, waiting for room */
	for (i = 0; i < 200; i++) {
		zc_sleep_ms(zc_scaled_ms(20));
		if (ioctl(self->w.p.snd, SIOCOUTQ, &q) == 0 && q > 0)
			break;
	}
	ASSERT_LT(0, q) TH_LOG("the send never waited");
	ASSERT_EQ(0, __atomic_load_n(&t.done, __ATOMIC_ACQUIRE))
		TH_LOG("the call returned before the shutdown: %s",
		       zc_report_str(&t.a));
	zc_sleep_ms(zc_scaled_ms(100));
	ASSERT_EQ(0, ioctl(fd, EXT4_IOC_SHUTDOWN, &how))
		TH_LOG("EXT4_IOC_SHUTDOWN: %s", strerror(errno));
	ASSERT_EQ(0, zc_rx_start(&rx, self->w.p.rcv, len + 64 * KiB, IDLE_MS));
	ASSERT_EQ(0, pthread_join(th, NULL));
	TH_LOG("the call: ret %d (%s), %s", t.ret, strerror(t.err),
	       zc_report_str(&t.a));
	ASSERT_EQ(0, t.ret);
	EXPECT_LT(0ULL, t.a.sent);
	EXPECT_GT(len, t.a.sent) TH_LOG("sent all of it after the shutdown");
	EXPECT_EQ(-1, zc_sendfile_args(self->w.dev, fd, self->w.p.snd, t.a.sent,
				       len - t.a.sent, 0, &a))
		TH_LOG("the next call: %s", zc_report_str(&a));
	EXPECT_EQ(EIO, errno);
	ASSERT_EQ(0, shutdown(self->w.p.snd, SHUT_WR));
	ASSERT_EQ(0, zc_rx_join(&rx)) TH_LOG("%s", rx.msg);
	EXPECT_EQ(t.a.sent, rx.len);
	EXPECT_EQ(-1, zc_verify(rx.buf, rx.len, 0)) TH_LOG("%s", zc_errmsg());
	zc_rx_free(&rx);
	close(fd);
}

/* ===================================================================== */
/* hwpoison: a page-cache page with a memory error                        */
/* ===================================================================== */

#ifndef MADV_HWPOISON
#define MADV_HWPOISON	100
#endif
#define HWP_SIZE	(64 * KiB)
#define HWP_PAGE	5	/* the page with the error */
#define HWP_HUGE	(2 * MiB)

/*
 * A file of HWP_SIZE (tmpfs_huge: HWP_HUGE) whose page HWP_PAGE gets a
 * memory error (madvise(MADV_HWPOISON), CONFIG_MEMORY_FAILURE), what
 * memory_failure() does with a page-cache page: tmpfs keeps the poisoned
 * page in its page cache, and read(2) gives EIO there; a clean ext4 page
 * is taken out of the page cache, and read(2) reads it again from disk;
 * a huge tmpfs folio is split first, so that only the page is poisoned.
 */
FIXTURE(hwpoison) {
	struct world w;
	char dir[64];
	bool mounted;	/* a tmpfs of the test's own at dir */
};

FIXTURE_VARIANT(hwpoison) {
	bool ext4;
	bool huge;	/* tmpfs -o huge=always: a large folio */
	bool in_flight;	/* the file was sent and is unread when poisoned */
};

FIXTURE_VARIANT_ADD(hwpoison, tmpfs) { };
FIXTURE_VARIANT_ADD(hwpoison, ext4) { .ext4 = true };
FIXTURE_VARIANT_ADD(hwpoison, tmpfs_huge) { .huge = true };
/* the folio's pages are in skbs not yet read: it cannot be split */
FIXTURE_VARIANT_ADD(hwpoison, tmpfs_huge_in_flight) { .huge = true, .in_flight = true };

/* changes nothing outside the test: a mount is the test's first step */
FIXTURE_SETUP(hwpoison)
{
	self->mounted = false;
	self->dir[0] = 0;
	WORLD_SETUP(&self->w, false);
	ASSERT_EQ(0, zc_pair_open(&self->w.p, ZC_TCP4, ZC_NET_LO, &bufs))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(hwpoison)
{
	world_fini(&self->w);	/* the file first: it may be on the mount */
	if (self->mounted)
		EXPECT_EQ(0, umount(self->dir)) TH_LOG("umount: %s", strerror(errno));
	if (self->dir[0])
		rmdir(self->dir);
	EXPECT_EQ(0, zc_sigpipe_count()) TH_LOG("SIGPIPE was raised");
}

/*
 * madvise(MADV_HWPOISON) of the page at @off of @fd, from a child: from
 * 6.9 the caller gets SIGBUS if it maps the page (MF_ACTION_REQUIRED).
 * 0 when the memory error was injected (the caller checks what read(2)
 * says of it), -EOPNOTSUPP when the kernel has no memory-failure
 * handling, else -1.
 */
static int hwp_poison(int fd, off_t off)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		volatile char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, off);

		if (m == MAP_FAILED)
			_exit(2);
		(void)m[0];
		/* 6.1: EBUSY for a huge folio it could not split (poisoned) */
		if (madvise((void *)m, 4096, MADV_HWPOISON) && errno != EBUSY)
			_exit(errno == EINVAL ? 3 : 4);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS)
		return 0;
	if (!WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) == 3)
		return -EOPNOTSUPP;
	return WEXITSTATUS(st) ? -1 : 0;
}

/* read(2) from @off to @end: bytes before the first error, and the error */
static int64_t hwp_read(int fd, uint8_t *buf, uint64_t off, uint64_t end,
			int *err)
{
	uint64_t got = 0;

	*err = 0;
	while (off + got < end) {
		ssize_t n = pread(fd, buf + got, end - off - got, off + got);

		if (n < 0) {
			*err = errno;
			break;
		}
		if (!n)
			break;
		got += n;
	}
	return got;
}

/* one SENDFILE of [off, off + len): ret, errno in *err, bytes received */
static int hwp_send(struct world *w, uint64_t off, uint64_t len,
		    uint32_t flags, struct zcdev_sendfile *a, int *err)
{
	int ret = zc_sendfile_args(w->dev, w->fd, w->p.snd, off, len, flags, a);

	*err = ret ? errno : 0;
	if (!ret && a->sent &&
	    zc_recv_exact(w->p.rcv, w->buf, a->sent, IDLE_MS) != (ssize_t)a->sent)
		return -2;
	return ret;
}

/*
 * The bytes the module sends around a page with a memory error are what
 * read(2) gives: on tmpfs those before it, then EIO at it, then those
 * after it; the page is never lent (SENDFILE, CACHED_ONLY, a SENDV file
 * segment after a header).  On ext4 the page was dropped and is read
 * again: every byte, the file's.  A huge tmpfs folio (its premise: 2 MiB
 * more of shmem in huge pages) behaves as the small pages do, because
 * memory_failure() splits it, and so does one it cannot split (its pages
 * in unread skbs), where 6.12's sendfile(2) fails the whole folio.
 * sendfile(2)'s count is logged.
 */
TEST_F_TIMEOUT(hwpoison, bytes_equal_read, 90)
{
	const uint64_t size = variant->huge ? HWP_HUGE : HWP_SIZE;
	const uint64_t bad = HWP_PAGE * 4096ULL;
	const char hdr[] = "HTTP/1.1 200 OK\r\n\r\n";
	struct zcdev_seg seg[2] = { };
	struct zcdev_sendfile a;
	struct zcdev_sendv v;
	long huge_kb = 0;
	int64_t rd, rd2;
	uint8_t *ref = NULL;
	int ret, err, rerr;
	ssize_t sf;
	off_t o = 0;
	const char *dir;

	/* properties of a kernel (the debug kernel has neither) */
	if (access("/proc/sys/vm/memory_failure_recovery", F_OK))
		SKIP(goto out, "this kernel has no CONFIG_MEMORY_FAILURE");
	if (variant->huge && access("/sys/kernel/mm/transparent_hugepage", F_OK))
		SKIP(goto out, "this kernel has no CONFIG_TRANSPARENT_HUGEPAGE");
	if (variant->ext4) {
		dir = zc_ext4_dir();
	} else if (variant->huge) {
		snprintf(self->dir, sizeof(self->dir), "/tmp/zcw-hwp-%d", getpid());
		ASSERT_EQ(0, mkdir(self->dir, 0755));
		ASSERT_EQ(0, mount("zcw-hwp", self->dir, "tmpfs", 0,
				   "huge=always,size=8m"))
			TH_LOG("mount tmpfs huge=always: %s", strerror(errno));
		self->mounted = true;
		dir = self->dir;
		huge_kb = zc_meminfo_kb("ShmemHugePages");
		ASSERT_LE(0, huge_kb);
	} else {
		dir = zc_tmpfs_dir();
	}
	self->w.fd = zc_make_payload_file(dir, size, self->w.path,
					  sizeof(self->w.path));
	ASSERT_LE(0, self->w.fd) TH_LOG("%s", zc_errmsg());
	ref = malloc(size);
	ASSERT_NE(NULL, ref);
	/* every page cached (and, on ext4, clean: written and fsynced) */
	ASSERT_EQ((int64_t)size, hwp_read(self->w.fd, ref, 0, size, &rerr));
	/* the premise: the file is one huge folio (2 MiB more in huge pages) */
	if (variant->huge)
		ASSERT_LE(huge_kb + (long)(HWP_HUGE / 1024), zc_meminfo_kb("ShmemHugePages"));

	if (variant->in_flight) {
		/* lent, and unread: the skbs hold the folio's pages */
		ASSERT_EQ(0, zc_sendfile_args(self->w.dev, self->w.fd,
					      self->w.p.snd, 0, size, 0, &a))
			TH_LOG("%s", strerror(errno));
		ASSERT_EQ(size, a.sent);
		ASSERT_EQ(size, a.zc_bytes) TH_LOG("%s", zc_report_str(&a));
	}
	ret = hwp_poison(self->w.fd, bad);
	if (ret == -EOPNOTSUPP)
		ZC_NEED(goto out, "MADV_HWPOISON: EINVAL (CONFIG_MEMORY_FAILURE)");
	ASSERT_EQ(0, ret) TH_LOG("could not inject the memory error");
	if (variant->in_flight) {
		/* the premise: not split, one large folio with a bad page */
		ASSERT_LE(huge_kb + (long)(HWP_HUGE / 1024), zc_meminfo_kb("ShmemHugePages"));
		ASSERT_EQ((ssize_t)size, zc_recv_exact(self->w.p.rcv, self->w.buf,
						       size, IDLE_MS));
		ASSERT_EQ(-1, zc_verify(self->w.buf, size, 0)) TH_LOG("%s", zc_errmsg());
	}

	/* what read(2) and sendfile(2) give now */
	rd = hwp_read(self->w.fd, ref, 0, size, &rerr);
	TH_LOG("read(2): %" PRId64 " bytes, then %s", rd,
	       rerr ? strerror(rerr) : "EOF");
	ASSERT_EQ(-1, zc_verify(ref, rd, 0)) TH_LOG("read(2): %s", zc_errmsg());
	if (variant->ext4) {
		/* the premise: the clean page was dropped, and read again */
		ASSERT_EQ((int64_t)size, rd);
	} else {
		/* the premise: the poisoned page stays, read(2) stops there */
		ASSERT_EQ((int64_t)bad, rd);
		ASSERT_EQ(EIO, rerr);
	}
	sf = sendfile(self->w.p.snd, self->w.fd, &o, size);
	TH_LOG("sendfile(2): %zd%s%s", sf, sf < 0 ? ", " : "",
	       sf < 0 ? strerror(errno) : "");
	if (sf > 0) {
		ASSERT_EQ(sf, zc_recv_exact(self->w.p.rcv, self->w.buf, sf,
					    IDLE_MS));
	}

	/* SENDFILE of the whole file: what read(2) gave (rd > 0 above) */
	ret = hwp_send(&self->w, 0, size, 0, &a, &err);
	ASSERT_NE(-2, ret) TH_LOG("fewer bytes arrived than sent");
	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(err));
	TH_LOG("SENDFILE: %s", zc_report_str(&a));
	EXPECT_EQ((uint64_t)rd, a.sent);
	EXPECT_EQ(-1, zc_verify(self->w.buf, a.sent, 0)) TH_LOG("%s", zc_errmsg());
	if (variant->ext4)
		goto out;

	/* at the bad page: EIO */
	EXPECT_EQ(-1, hwp_send(&self->w, a.sent, size - a.sent, 0, &a, &err))
		TH_LOG("at the bad page: %s", zc_report_str(&a));
	EXPECT_EQ(EIO, err) TH_LOG("%s", strerror(err));
	EXPECT_EQ(-1, hwp_send(&self->w, bad, 4096, ZCDEV_SEND_CACHED_ONLY, &a,
			       &err))
		TH_LOG("CACHED_ONLY: %s", zc_report_str(&a));
	EXPECT_EQ(EIO, err) TH_LOG("CACHED_ONLY: %s", strerror(err));

	/* after it, where read(2) reads again */
	rd2 = hwp_read(self->w.fd, ref, bad + 4096, size, &rerr);
	TH_LOG("read(2) after the bad page: %" PRId64 " bytes, then %s", rd2,
	       rerr ? strerror(rerr) : "EOF");
	/* the premise: only the one page is bad */
	ASSERT_EQ((int64_t)(size - bad - 4096), rd2);
	ret = hwp_send(&self->w, bad + 4096, size - bad - 4096, 0, &a, &err);
	ASSERT_EQ(0, ret) TH_LOG("after: %s", strerror(err));
	EXPECT_EQ((uint64_t)rd2, a.sent) TH_LOG("%s", zc_report_str(&a));
	EXPECT_EQ(-1, zc_verify(self->w.buf, a.sent, bad + 4096))
		TH_LOG("%s", zc_errmsg());

	/* SENDV: the header and the file's bytes up to the page */
	seg[0].type = ZCDEV_SEG_MEM;
	seg[0].addr = (uintptr_t)hdr;
	seg[0].len = sizeof(hdr) - 1;
	seg[1].type = ZCDEV_SEG_FILE;
	seg[1].file_fd = self->w.fd;
	seg[1].len = size;
	memset(&v, 0, sizeof(v));
	v.segs = (uintptr_t)seg;
	v.nr_segs = 2;
	v.sock_fd = self->w.p.snd;
	ASSERT_EQ(0, zct_sendv(self->w.dev, &v)) TH_LOG("%s", strerror(errno));
	TH_LOG("SENDV: sent %llu, seg %u + %llu", (unsigned long long)v.sent,
	       v.seg_index, (unsigned long long)v.seg_sent);
	EXPECT_EQ(1, v.seg_index);
	EXPECT_EQ((uint64_t)rd, v.seg_sent);
	ASSERT_EQ((ssize_t)v.sent,
		  zc_recv_exact(self->w.p.rcv, self->w.buf, v.sent, IDLE_MS));
	EXPECT_EQ(0, memcmp(self->w.buf, hdr, sizeof(hdr) - 1));
	EXPECT_EQ(-1, zc_verify(self->w.buf + sizeof(hdr) - 1, v.seg_sent, 0))
		TH_LOG("%s", zc_errmsg());
	seg[1].offset = v.seg_sent;
	seg[1].len = size - v.seg_sent;
	memset(&v, 0, sizeof(v));
	v.segs = (uintptr_t)&seg[1];
	v.nr_segs = 1;
	v.sock_fd = self->w.p.snd;
	EXPECT_EQ(-1, zct_sendv(self->w.dev, &v)) TH_LOG("at the bad page: sent %llu",
							 (unsigned long long)v.sent);
	EXPECT_EQ(EIO, errno) TH_LOG("%s", strerror(errno));
	/* and nothing else reached the peer */
	EXPECT_EQ(0, zc_marker_check(self->w.p.snd, self->w.p.rcv, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
out:
	free(ref);
}

TEST_HARNESS_MAIN
