// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev_nic: zcdev sends judged at an emulated NIC (issue 13).
 *
 * The guest has NIC pairs back to back on QEMU hubs (vm/run-guest.sh
 * NICS=1, vm/init setup.nics, /run/zc-nics): side A in the root namespace
 * sends, side B in netns nic<h> receives, so every byte leaves through a
 * real driver's transmit path and the device's DMA.
 *
 *   pause.*    e1000e and e1000 (scatter-gather): the DMA-pause oracle of
 *              ../shared/nic-notes.md.  Transmit DMA is stopped by clearing
 *              TCTL.EN (BAR0 0x400, bit 1) through the device's sysfs
 *              resource0, the send is made, the file's range is overwritten
 *              with its complement (pwrite), DMA is resumed 150 ms later.
 *              A byte the device read from the page cache arrives as the
 *              complement; a byte the CPU copied before arrives as the
 *              original.  Decided are only the bytes TCP had handed to
 *              the driver at the overwrite (sent - SIOCOUTQNSD): TSQ may
 *              hold the rest back until a transmit completion, and a copy
 *              made later in validate_xmit_skb() (sg off) reads the new
 *              bytes like the device would.  Copies are judged on the
 *              decided bytes (non-empty) only; by-reference sends on
 *              those, and the held-back rest must arrive new as well.
 *              BQL's minimum is raised so the queue never stops while
 *              DMA is paused.  Nothing here trusts the module: the module's
 *              report is compared with what the device read.  Each case
 *              sends three files in the same run: zcdev, and as controls
 *              write(2) (must arrive original: proves the oracle sees a copy)
 *              and sendfile(2) (must arrive complemented on an SG device:
 *              proves it sees a reference).  Variants: model x source fs x
 *              size x device settings:
 *                tso_off  every byte by reference, report ZEROCOPY
 *                tso_on   the same, with the one tolerance: e1000e's TSO
 *                         workaround pulls 4 payload bytes of each TSO skb
 *                         into the header (a real driver copy the report
 *                         cannot see); at most 4 x ceil(len / 1448) bytes
 *                         may arrive original, on e1000e only
 *                sg_off   every byte copied, report COPY + ZCDEV_WHY_NO_SG
 *                tx_off   every byte copied, report COPY + ZCDEV_WHY_NO_CSUM
 *   pausev.*   the same oracle for ZCDEV_IOC_SENDV (memory header + two
 *              file segments) and for ZCDEV_SEND_NOTIFY (the completion of
 *              a by-reference send has no ZCDEV_COMPL_COPIED)
 *   vbounce.*  virtio-net without and with VIRTIO_F_ACCESS_PLATFORM: PROBE
 *              says BOUNCE only for the one that maps through the DMA API,
 *              and only under swiotlb=force
 *   bounce.*   swiotlb=force (the make check guest of each kernel booted
 *              with it): the device reads bounce buffers filled at map
 *              time, so sendfile(2) and zcdev arrive original; PROBE,
 *              STRICT (-EOPNOTSUPP) and the report say ZCDEV_WHY_BOUNCE.
 *              In the other guests the same case asserts the opposite.
 *   trace.*    e1000e, judged on the host from QEMU's e1000e_tx_descr trace
 *              of every transmit descriptor (vm/check.sh [K-trace],
 *              vm/nic-trace.sh): the device read every byte of a
 *              by-reference send from the file's pages (but the TSO pull)
 *              and none of a copied one; see the fixture
 *   report.*   8139cp (SG) and ne2k-pci (no SG): these devices cannot be
 *              paused from the guest, so only the bytes (exact) and the
 *              report are checked: ZEROCOPY over 8139cp, COPY + NO_SG over
 *              ne2k-pci, whose driver copies every frame by PIO
 *
 * Needs the NIC guest (iomem=relaxed for resource0); without /run/zc-nics
 * every case fails (it is not a skip: make check always boots with NICs
 * for this program).  Runs only inside the QEMU guests, never on the host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "kselftest_harness.h"

#include "zc_util.h"

#define IDLE_MS 5000
#define TCTL 0x400
#define TCTL_EN (1U << 1)
#define PAUSE_MS 150
/* e1000e's TSO header pull, per TSO skb (nic-notes.md) */
#define TSO_PULL 4
#define MSS 1448

enum nic_set { SET_TSO_OFF, SET_TSO_ON, SET_SG_OFF, SET_TX_OFF };

struct nic {
	int hub;
	char drv[32];
	char a[32];
	char ns[64];
	char addr[32];
};

/* Find the @nth (0: first) pair whose driver is @drv in /run/zc-nics. */
static int nic_find_nth(const char *drv, int nth, struct nic *n)
{
	char line[256], d[32], a[32], b[32], pci[64];
	FILE *f = fopen("/run/zc-nics", "r");
	int h;

	if (!f) {
		zc_seterr(true, "/run/zc-nics (guest without NIC pairs?)");
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %31s %31s %31s %63s", &h, d, a, b, pci) != 5)
			continue;
		if (strcmp(d, drv) || nth-- > 0)
			continue;
		n->hub = h;
		snprintf(n->drv, sizeof(n->drv), "%s", d);
		snprintf(n->a, sizeof(n->a), "%s", a);
		snprintf(n->ns, sizeof(n->ns), "/run/netns/nic%d", h);
		snprintf(n->addr, sizeof(n->addr), "10.77.%d.2", h);
		fclose(f);
		return 0;
	}
	fclose(f);
	zc_seterr(false, "no %s pair in /run/zc-nics", drv);
	return -1;
}

static int nic_find(const char *drv, struct nic *n)
{
	return nic_find_nth(drv, 0, n);
}

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc) {
		zc_seterr(false, "'%s' exited %d", cmd, rc);
		return -1;
	}
	return 0;
}

static int nic_settings(const struct nic *n, enum nic_set s)
{
	static const char *const k[] = {
		[SET_TSO_OFF] = "tx on sg on tso off",
		[SET_TSO_ON] = "tx on sg on tso on",
		[SET_SG_OFF] = "tx on sg off",
		[SET_TX_OFF] = "tx off",
	};

	/* ethtool -K exits 0 also when it could not change a feature:
	 * check the result */
	if (sh("ethtool -K %s %s >/dev/null 2>&1; true", n->a, k[s]))
		return -1;
	switch (s) {
	case SET_TSO_OFF:
		return sh("ethtool -k %s | grep -q '^tcp-segmentation-offload: off'", n->a);
	case SET_TSO_ON:
		return sh("ethtool -k %s | grep -q '^tcp-segmentation-offload: on'", n->a);
	case SET_SG_OFF:
		return sh("ethtool -k %s | grep -q '^scatter-gather: off'", n->a);
	case SET_TX_OFF:
		return sh("ethtool -k %s | grep -q '^tx-checksumming: off'", n->a);
	}
	return -1;
}

/*
 * The oracle's condition for copies: every skb of the send must reach the
 * driver's ring before the overwrite.  Byte queue limits would stop the
 * queue after the first frames (no transmit completion while DMA is
 * paused), the rest would wait in the qdisc and be linearized by
 * validate_xmit_skb() only after the overwrite: a CPU copy reading the new
 * bytes, indistinguishable by content from the device reading the page.
 * A large BQL minimum lets the whole send into the ring at once.
 */
static int bql_min(const struct nic *n, const char *val)
{
	return sh("for q in /sys/class/net/%s/queues/tx-*/byte_queue_limits; do "
		  "echo %s > $q/limit_min || exit 1; done", n->a, val);
}

/* the NIC as the guest booted: what every teardown puts back */
static void nic_restore(const struct nic *n)
{
	sh("ethtool -K %s tx on sg on tso on >/dev/null 2>&1; true", n->a);
	bql_min(n, "0");
}

/*
 * The variant's offloads and a large BQL minimum, as the last step of a
 * setup: if it fails, it puts the NIC back itself (the harness runs no
 * teardown for a setup that fails).
 */
static int nic_prepare(const struct nic *n, enum nic_set s)
{
	char msg[512];

	if (!nic_settings(n, s) && !bql_min(n, "4194304"))
		return 0;
	snprintf(msg, sizeof(msg), "%s", zc_errmsg());
	nic_restore(n);
	zc_seterr(false, "%s", msg);
	return -1;
}

/* BAR0 of an e1000/e1000e, for TCTL */
struct bar {
	volatile uint32_t *regs;
	size_t len;
};

static int bar_map(const struct nic *n, struct bar *b)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/resource0", n->a);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0) {
		zc_seterr(true, "open %s", path);
		return -1;
	}
	b->len = 0x1000;
	b->regs = mmap(NULL, b->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (b->regs == MAP_FAILED) {
		b->regs = NULL;
		zc_seterr(true, "mmap %s (iomem=relaxed?)", path);
		return -1;
	}
	return 0;
}

static void dma_set(struct bar *b, bool on)
{
	uint32_t v = b->regs[TCTL / 4];

	b->regs[TCTL / 4] = on ? v | TCTL_EN : v & ~TCTL_EN;
	__sync_synchronize();
}

enum sender { SND_ZCDEV, SND_WRITE, SND_SENDFILE, SND_SENDV, SND_NOTIFY };

struct result {
	uint64_t flipped, same;		/* of the decided file bytes */
	uint64_t decided;		/* file bytes in the ring at the overwrite */
	uint64_t late_flipped, late_same;	/* of the rest */
	struct zcdev_sendfile a;	/* SND_ZCDEV, SND_NOTIFY */
	struct zcdev_sendv v;		/* SND_SENDV */
	struct zcdev_completion c;	/* SND_NOTIFY */
};

#define HDR 100

/* SENDV's segments: the memory header, then the file's @len bytes in two */
static void sendv_segs(struct zcdev_seg seg[3], uint8_t *hdr, int fd,
		       uint64_t len)
{
	memset(seg, 0, 3 * sizeof(*seg));
	seg[0].type = ZCDEV_SEG_MEM;
	seg[0].addr = (uintptr_t)hdr;
	seg[0].len = HDR;
	seg[1].type = ZCDEV_SEG_FILE;
	seg[1].file_fd = fd;
	seg[1].len = len / 2;
	seg[2].type = ZCDEV_SEG_FILE;
	seg[2].file_fd = fd;
	seg[2].offset = len / 2;
	seg[2].len = len - len / 2;
}

/*
 * One paused send of @len bytes of a fresh payload file in @dir over pair
 * @n by @how, then the oracle.  0 or -1 with a message.
 */
static int paused_send(int dev, const struct nic *n, struct bar *b,
		       const char *dir, uint64_t len, enum sender how,
		       struct result *r)
{
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20,
				  .nodelay = true };
	uint64_t wire = len + (how == SND_SENDV ? HDR : 0);
	uint8_t *exp = NULL, *comp = NULL, *got = NULL, hdr[HDR];
	struct zcdev_seg seg[3];
	struct zc_pair p;
	char path[256];
	int fd, rc = -1, nsd = 0;
	ssize_t k;
	int64_t bad;

	memset(r, 0, sizeof(*r));
	fd = zc_make_payload_file(dir, len, path, sizeof(path));
	if (fd < 0)
		return -1;
	unlink(path);
	if (zc_pair_open_at(&p, n->ns, n->addr, &o))
		goto out_file;
	exp = malloc(len);
	comp = malloc(len);
	got = malloc(wire);
	if (!exp || !comp || !got) {
		zc_seterr(false, "malloc");
		goto out_pair;
	}
	zc_payload_fill(exp, 0, len);
	for (uint64_t i = 0; i < len; i++)
		comp[i] = ~exp[i];
	memset(hdr, 'H', sizeof(hdr));
	/* the handshake's last ACK has left: nothing of ours is queued */
	if (zc_wait_outq_empty(p.snd, IDLE_MS))
		goto out_pair;

	dma_set(b, false);
	switch (how) {
	case SND_ZCDEV:
	case SND_NOTIFY:
		if (zc_sendfile_args(dev, fd, p.snd, 0, len,
				     how == SND_NOTIFY ? ZCDEV_SEND_NOTIFY : 0,
				     &r->a))
			goto out_resume;
		if (r->a.sent != len) {
			zc_seterr(false, "zcdev sent %llu of %llu",
				  (unsigned long long)r->a.sent,
				  (unsigned long long)len);
			goto out_resume;
		}
		break;
	case SND_SENDV:
		sendv_segs(seg, hdr, fd, len);
		r->v.segs = (uintptr_t)seg;
		r->v.nr_segs = 3;
		r->v.sock_fd = p.snd;
		if (ioctl(dev, ZCDEV_IOC_SENDV, &r->v)) {
			zc_seterr(true, "ZCDEV_IOC_SENDV");
			goto out_resume;
		}
		if (r->v.sent != wire) {
			zc_seterr(false, "sendv sent %llu of %llu",
				  (unsigned long long)r->v.sent,
				  (unsigned long long)wire);
			goto out_resume;
		}
		break;
	case SND_WRITE:
		k = write(p.snd, exp, len);
		if (k != (ssize_t)len) {
			zc_seterr(true, "write %zd of %llu", k,
				  (unsigned long long)len);
			goto out_resume;
		}
		break;
	case SND_SENDFILE: {
		off_t off = 0;

		k = sendfile(p.snd, fd, &off, len);
		if (k != (ssize_t)len) {
			zc_seterr(true, "sendfile %zd of %llu", k,
				  (unsigned long long)len);
			goto out_resume;
		}
		break;
	}
	}
	/*
	 * Only bytes TCP had handed to the driver when the file is
	 * overwritten are decided by the oracle: a segment TCP still holds
	 * (TSQ: no transmit completion while DMA is paused) goes through
	 * validate_xmit_skb() later, and a copy made there (sg off) reads the
	 * new bytes just as the device reading the page would.
	 */
	if (ioctl(p.snd, SIOCOUTQNSD, &nsd)) {
		zc_seterr(true, "SIOCOUTQNSD");
		goto out_resume;
	}
	r->decided = wire - nsd > wire - len ? wire - nsd - (wire - len) : 0;
	/* overwrite the pages the device has not read yet */
	if (pwrite(fd, comp, len, 0) != (ssize_t)len) {
		zc_seterr(true, "pwrite");
		goto out_resume;
	}
	zc_sleep_ms(PAUSE_MS);
	dma_set(b, true);

	if (zc_recv_exact(p.rcv, got, wire, IDLE_MS) != (ssize_t)wire)
		goto out_pair;
	if (how == SND_SENDV && memcmp(got, hdr, HDR)) {
		zc_seterr(false, "sendv memory segment arrived changed");
		goto out_pair;
	}
	bad = zc_classify_buf(got + (wire - len), exp, r->decided, 0,
			      &r->flipped, &r->same);
	if (bad >= 0)
		goto out_pair;
	/* the undecided rest: each byte old or new, nothing else */
	bad = zc_classify_buf(got + (wire - len) + r->decided, exp + r->decided,
			      len - r->decided, r->decided, &r->late_flipped,
			      &r->late_same);
	if (bad >= 0)
		goto out_pair;
	if (how == SND_NOTIFY && r->a.notify_id) {
		/* the peer has all bytes and ACKs them: the completion comes */
		if (zc_wait_outq_empty(p.snd, IDLE_MS))
			goto out_pair;
		for (int i = 0; i < 100; i++) {
			k = read(dev, &r->c, sizeof(r->c));
			if (k == (ssize_t)sizeof(r->c) || (k < 0 && errno != EAGAIN))
				break;
			zc_sleep_ms(50);
		}
		if (k != (ssize_t)sizeof(r->c) || r->c.id != r->a.notify_id) {
			zc_seterr(true, "no completion for id %llu",
				  (unsigned long long)r->a.notify_id);
			goto out_pair;
		}
	}
	rc = 0;
	goto out_pair;
out_resume:
	dma_set(b, true);
out_pair:
	zc_pair_close(&p);
out_file:
	free(exp);
	free(comp);
	free(got);
	close(fd);
	return rc;
}

/* ---- pause: the DMA-pause oracle ---------------------------------------- */

FIXTURE(pause) {
	int dev;
	struct nic n;
	struct bar b;
};

FIXTURE_VARIANT(pause) {
	const char *drv;
	bool ext4;
	uint64_t len;
	enum nic_set set;
};

#define PAUSE_V(name, d, e, l, s) \
	FIXTURE_VARIANT_ADD(pause, name) { .drv = d, .ext4 = e, .len = l, .set = s }

PAUSE_V(e1000e_tmpfs_8k_tso_off, "e1000e", false, 8192, SET_TSO_OFF);
PAUSE_V(e1000e_ext4_12k_tso_off, "e1000e", true, 12288, SET_TSO_OFF);
PAUSE_V(e1000e_tmpfs_3000_tso_off, "e1000e", false, 3000, SET_TSO_OFF);
PAUSE_V(e1000e_tmpfs_12k_tso_on, "e1000e", false, 12288, SET_TSO_ON);
PAUSE_V(e1000e_ext4_8k_tso_on, "e1000e", true, 8192, SET_TSO_ON);
PAUSE_V(e1000e_tmpfs_8k_sg_off, "e1000e", false, 8192, SET_SG_OFF);
PAUSE_V(e1000e_ext4_8k_tx_off, "e1000e", true, 8192, SET_TX_OFF);
PAUSE_V(e1000_tmpfs_8k_tso_off, "e1000", false, 8192, SET_TSO_OFF);
PAUSE_V(e1000_ext4_12k_tso_on, "e1000", true, 12288, SET_TSO_ON);
PAUSE_V(e1000_ext4_8k_sg_off, "e1000", true, 8192, SET_SG_OFF);
PAUSE_V(e1000_tmpfs_8k_tx_off, "e1000", false, 8192, SET_TX_OFF);

FIXTURE_SETUP(pause)
{
	self->b.regs = NULL;
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_find(variant->drv, &self->n)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, bar_map(&self->n, &self->b)) TH_LOG("%s", zc_errmsg());
	/* the register is what we think it is: EN is set while running */
	ASSERT_NE(0, self->b.regs[TCTL / 4] & TCTL_EN);
	ASSERT_EQ(0, nic_prepare(&self->n, variant->set)) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(pause)
{
	if (self->b.regs) {
		dma_set(&self->b, true);
		munmap((void *)self->b.regs, self->b.len);
	}
	nic_restore(&self->n);
	close(self->dev);
}

static bool sg_path(enum nic_set s)
{
	return s == SET_TSO_OFF || s == SET_TSO_ON;
}

/* bytes that may arrive original on a by-reference send (see the top) */
static uint64_t tolerance(const char *drv, enum nic_set s, uint64_t len)
{
	if (s == SET_TSO_ON && !strcmp(drv, "e1000e"))
		return TSO_PULL * ((len + MSS - 1) / MSS);
	return 0;
}

TEST_F(pause, zcdev_and_controls)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();
	uint64_t len = variant->len;
	uint64_t tol = tolerance(variant->drv, variant->set, len);
	struct result w, s, z;

	ASSERT_EQ(0, paused_send(self->dev, &self->n, &self->b, dir, len,
				 SND_WRITE, &w)) TH_LOG("write: %s", zc_errmsg());
	ASSERT_EQ(0, paused_send(self->dev, &self->n, &self->b, dir, len,
				 SND_SENDFILE, &s)) TH_LOG("sendfile: %s", zc_errmsg());
	ASSERT_EQ(0, paused_send(self->dev, &self->n, &self->b, dir, len,
				 SND_ZCDEV, &z)) TH_LOG("zcdev: %s", zc_errmsg());
	TH_LOG("%s %s: decided (in the ring at the overwrite) write %" PRIu64
	       " sendfile %" PRIu64 " zcdev %" PRIu64 " of %" PRIu64
	       "; write %" PRIu64 " original; sendfile %" PRIu64
	       " by reference; zcdev %" PRIu64 " by reference, %" PRIu64
	       " original, report path %u why %#x zc %llu copied %llu",
	       self->n.drv, self->n.a, w.decided, s.decided, z.decided, len,
	       w.same, s.flipped, z.flipped, z.same, z.a.path, z.a.why,
	       (unsigned long long)z.a.zc_bytes,
	       (unsigned long long)z.a.copied_bytes);

	/* control 1: a copy is seen as a copy */
	EXPECT_LT(0, w.decided);
	EXPECT_EQ(w.decided, w.same);
	if (sg_path(variant->set)) {
		/*
		 * control 2: a reference is seen as a reference.  The proof
		 * is the decided part (non-empty); what TSQ held back must
		 * arrive new too (the device read it later, by reference).
		 */
		EXPECT_LT(0, s.decided);
		EXPECT_LE(s.decided - tol, s.flipped);
		EXPECT_LE(len - tol, s.flipped + s.late_flipped);
		/* the device read every byte from the page cache ... */
		EXPECT_LT(0, z.decided);
		EXPECT_LE(z.decided - tol, z.flipped);
		EXPECT_LE(len - tol, z.flipped + z.late_flipped);
		/* ... and the report says zero copy */
		EXPECT_EQ(ZCDEV_PATH_ZEROCOPY, z.a.path);
		EXPECT_EQ(0, z.a.why);
		EXPECT_EQ(len, z.a.zc_bytes);
	} else {
		/* sendfile(2) too is copied at transmit (linearized) */
		EXPECT_LT(0, s.decided);
		EXPECT_EQ(s.decided, s.same);
		/* the device read a copy ... */
		EXPECT_LT(0, z.decided);
		EXPECT_EQ(z.decided, z.same);
		/* ... and the report says copied, and why */
		EXPECT_EQ(ZCDEV_PATH_COPY, z.a.path);
		EXPECT_EQ(len, z.a.copied_bytes);
		EXPECT_NE(0, z.a.why & (variant->set == SET_SG_OFF ?
					ZCDEV_WHY_NO_SG : ZCDEV_WHY_NO_CSUM));
	}
}

/* ---- pausev: SENDV file segments and NOTIFY over e1000e -------------------- */

FIXTURE(pausev) {
	int dev;
	struct nic n;
	struct bar b;
};

FIXTURE_VARIANT(pausev) {
	const char *drv;
	bool ext4;
	enum nic_set set;
};

FIXTURE_VARIANT_ADD(pausev, e1000e_tmpfs_tso_off) { "e1000e", false, SET_TSO_OFF };
FIXTURE_VARIANT_ADD(pausev, e1000_ext4_tso_off) { "e1000", true, SET_TSO_OFF };
FIXTURE_VARIANT_ADD(pausev, e1000e_ext4_sg_off) { "e1000e", true, SET_SG_OFF };

FIXTURE_SETUP(pausev)
{
	self->b.regs = NULL;
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, fcntl(self->dev, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, nic_find(variant->drv, &self->n)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, bar_map(&self->n, &self->b)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_prepare(&self->n, variant->set)) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(pausev)
{
	if (self->b.regs) {
		dma_set(&self->b, true);
		munmap((void *)self->b.regs, self->b.len);
	}
	nic_restore(&self->n);
	close(self->dev);
}

TEST_F(pausev, sendv_file_segments)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();
	uint64_t len = 8192;
	struct result r;

	ASSERT_EQ(0, paused_send(self->dev, &self->n, &self->b, dir, len,
				 SND_SENDV, &r)) TH_LOG("%s", zc_errmsg());
	TH_LOG("sendv: decided %" PRIu64 " of %" PRIu64 ": %" PRIu64 " by reference, %" PRIu64 " original; path %u why %#x zc %llu",
	       r.decided, len, r.flipped, r.same, r.v.path, r.v.why,
	       (unsigned long long)r.v.zc_bytes);
	/* the memory header is always copied: the report is MIXED at best */
	EXPECT_EQ(HDR + len, r.v.zc_bytes + r.v.copied_bytes);
	if (sg_path(variant->set)) {
		EXPECT_LT(0, r.decided);
		EXPECT_EQ(len, r.flipped + r.late_flipped);
		EXPECT_EQ(len, r.v.zc_bytes);
		EXPECT_EQ(ZCDEV_PATH_MIXED, r.v.path);
	} else {
		EXPECT_LT(0, r.decided);
		EXPECT_EQ(r.decided, r.same);
		EXPECT_EQ(0, r.v.zc_bytes);
		EXPECT_EQ(ZCDEV_PATH_COPY, r.v.path);
		EXPECT_NE(0, r.v.why & ZCDEV_WHY_NO_SG);
	}
}

TEST_F(pausev, notify)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();
	uint64_t len = 8192;
	struct result r;

	ASSERT_EQ(0, paused_send(self->dev, &self->n, &self->b, dir, len,
				 SND_NOTIFY, &r)) TH_LOG("%s", zc_errmsg());
	TH_LOG("notify: decided %" PRIu64 ": %" PRIu64 " by reference, %" PRIu64 " original; path %u why %#x id %llu compl flags %#x",
	       r.decided, r.flipped, r.same, r.a.path, r.a.why,
	       (unsigned long long)r.a.notify_id, r.c.flags);
	ASSERT_NE(0, r.a.notify_id);
	if (sg_path(variant->set)) {
		EXPECT_LT(0, r.decided);
		EXPECT_EQ(len, r.flipped + r.late_flipped);
		EXPECT_EQ(ZCDEV_PATH_ZEROCOPY, r.a.path);
		/* the device read the pages: nothing copied them later */
		EXPECT_EQ(0, r.c.flags & ZCDEV_COMPL_COPIED);
	} else {
		EXPECT_LT(0, r.decided);
		EXPECT_EQ(r.decided, r.same);
		EXPECT_EQ(ZCDEV_PATH_COPY, r.a.path);
		EXPECT_NE(0, r.c.flags & ZCDEV_COMPL_COPIED);
	}
}

/* ---- bounce: swiotlb=force (the device reads bounce buffers) --------------- */

/* Whether this guest was booted with swiotlb=force (vm/run-guest.sh
 * CMDLINE_EXTRA; make check boots one such guest per kernel). */
static bool swiotlb_forced(void)
{
	char buf[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return strstr(buf, "swiotlb=force") != NULL;
}

FIXTURE(bounce) {
	int dev;
	struct nic n;
	struct bar b;
};

FIXTURE_VARIANT(bounce) {
	const char *drv;
	bool ext4;
};

FIXTURE_VARIANT_ADD(bounce, e1000e_tmpfs) { "e1000e", false };
FIXTURE_VARIANT_ADD(bounce, e1000_ext4) { "e1000", true };

FIXTURE_SETUP(bounce)
{
	self->b.regs = NULL;
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_find(variant->drv, &self->n)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, bar_map(&self->n, &self->b)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_prepare(&self->n, SET_TSO_OFF)) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(bounce)
{
	if (self->b.regs) {
		dma_set(&self->b, true);
		munmap((void *)self->b.regs, self->b.len);
	}
	nic_restore(&self->n);
	close(self->dev);
}

/*
 * In the swiotlb=force guest: the device reads bounce buffers filled at
 * DMA-map time (before the overwrite), so sendfile(2) and zcdev both arrive
 * original, and zcdev's probe, STRICT send and report say ZCDEV_WHY_BOUNCE.
 * In every other guest: by reference, and no BOUNCE anywhere (the same
 * checks the other way round).
 */
TEST_F(bounce, oracle_probe_strict_report)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20 };
	bool forced = swiotlb_forced();
	uint64_t len = 8192;
	struct zcdev_sendfile a;
	struct zcdev_probe pr;
	struct result s, z;
	struct zc_pair p;
	char path[256];
	int fd, rc;

	/* PROBE and STRICT on a pair of this device */
	fd = zc_make_payload_file(dir, len, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	unlink(path);
	ASSERT_EQ(0, zc_pair_open_at(&p, self->n.ns, self->n.addr, &o))
		TH_LOG("%s", zc_errmsg());
	memset(&pr, 0, sizeof(pr));
	pr.sock_fd = p.snd;
	pr.file_fd = fd;
	ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_PROBE, &pr));
	EXPECT_NE(0, pr.why_known & ZCDEV_WHY_BOUNCE);
	rc = zc_sendfile_args(self->dev, fd, p.snd, 0, len, ZCDEV_SEND_STRICT, &a);
	TH_LOG("swiotlb forced %d: probe path %u why %#x; strict rc %d sent %llu why %#x",
	       forced, pr.path, pr.why, rc, (unsigned long long)a.sent, a.why);
	if (forced) {
		EXPECT_EQ(ZCDEV_PATH_COPY, pr.path);
		EXPECT_EQ(ZCDEV_WHY_BOUNCE, pr.why);
		EXPECT_EQ(-1, rc);
		EXPECT_EQ(EOPNOTSUPP, errno);
		EXPECT_EQ(0, a.sent);
		EXPECT_EQ(ZCDEV_WHY_BOUNCE, a.why);
	} else {
		EXPECT_EQ(ZCDEV_PATH_ZEROCOPY, pr.path);
		EXPECT_EQ(0, pr.why);
		EXPECT_EQ(0, rc);
		EXPECT_EQ(len, a.sent);
	}
	zc_pair_close(&p);
	close(fd);

	/* the oracle */
	ASSERT_EQ(0, paused_send(self->dev, &self->n, &self->b, dir, len,
				 SND_SENDFILE, &s)) TH_LOG("sendfile: %s", zc_errmsg());
	ASSERT_EQ(0, paused_send(self->dev, &self->n, &self->b, dir, len,
				 SND_ZCDEV, &z)) TH_LOG("zcdev: %s", zc_errmsg());
	TH_LOG("decided sendfile %" PRIu64 " zcdev %" PRIu64 "; sendfile %" PRIu64
	       " original; zcdev %" PRIu64 " original, path %u why %#x",
	       s.decided, z.decided, s.same, z.same, z.a.path, z.a.why);
	EXPECT_LT(0, s.decided);
	EXPECT_LT(0, z.decided);
	if (forced) {
		/* the device read copies made at DMA-map time ... */
		EXPECT_EQ(s.decided, s.same);
		EXPECT_EQ(z.decided, z.same);
		/* ... and the report says so */
		EXPECT_EQ(ZCDEV_PATH_COPY, z.a.path);
		EXPECT_EQ(ZCDEV_WHY_BOUNCE, z.a.why);
		EXPECT_EQ(len, z.a.copied_bytes);
	} else {
		EXPECT_EQ(s.decided, s.flipped);
		EXPECT_EQ(z.decided, z.flipped);
		EXPECT_EQ(ZCDEV_PATH_ZEROCOPY, z.a.path);
		EXPECT_EQ(0, z.a.why);
	}
}

/* ---- vbounce: virtio-net, with and without VIRTIO_F_ACCESS_PLATFORM -------- */

/*
 * virtio maps its buffers through the DMA API only with
 * VIRTIO_F_ACCESS_PLATFORM (vring_use_dma_api()); without it the host reads
 * guest memory itself, and nothing is bounced, even under swiotlb=force.
 * The NIC guests' two virtio-net pairs (vm/run-guest.sh NIC_MODELS): the
 * first without the feature, the second with it (iommu_platform=on).
 * Hub-backed virtio-net has no SG or checksum offload (nic-notes.md), so
 * every send is copied anyway: what is judged is PROBE's BOUNCE bit.
 */
FIXTURE(vbounce) {
	int dev;
	struct nic n;
};

FIXTURE_VARIANT(vbounce) {
	int nth;
	bool platform;
};

FIXTURE_VARIANT_ADD(vbounce, no_access_platform) { 0, false };
FIXTURE_VARIANT_ADD(vbounce, access_platform) { 1, true };

FIXTURE_SETUP(vbounce)
{
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_find_nth("virtio_net", variant->nth, &self->n))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(vbounce)
{
	close(self->dev);
}

/* bit @bit of a virtio device's sysfs "features" (a string of 0 and 1) */
static int virtio_feature(const char *ifname, int bit)
{
	char path[128], buf[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/features", ifname);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if ((int)strlen(buf) <= bit)
		return -1;
	return buf[bit] == '1';
}

TEST_F(vbounce, probe_says_bounce_only_with_the_dma_api)
{
	struct zc_pair_opts o = { .sndbuf = 1 << 20, .rcvbuf = 1 << 20 };
	bool forced = swiotlb_forced();
	struct zcdev_probe pr;
	struct zc_pair p;

	/* the premise: the pair is the virtio-net it should be */
	ASSERT_EQ(variant->platform, virtio_feature(self->n.a, 33))
		TH_LOG("%s: VIRTIO_F_ACCESS_PLATFORM (33) not as configured", self->n.a);
	ASSERT_EQ(0, zc_pair_open_at(&p, self->n.ns, self->n.addr, &o))
		TH_LOG("%s", zc_errmsg());
	memset(&pr, 0, sizeof(pr));
	pr.sock_fd = p.snd;
	pr.file_fd = -1;	/* the socket's path only */
	ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_PROBE, &pr))
		TH_LOG("PROBE: %s", strerror(errno));
	zc_pair_close(&p);
	TH_LOG("%s (access_platform %d), swiotlb forced %d: probe path %u why %#x",
	       self->n.a, variant->platform, forced, pr.path, pr.why);
	EXPECT_NE(0, pr.why_known & ZCDEV_WHY_BOUNCE);
	EXPECT_EQ(forced && variant->platform, !!(pr.why & ZCDEV_WHY_BOUNCE));
}

/* ---- report: devices that cannot be paused ---------------------------------- */

FIXTURE(report) {
	int dev;
	struct nic n;
};

FIXTURE_VARIANT(report) {
	const char *drv;
	bool ext4;
	uint64_t len;
	bool sg;
};

FIXTURE_VARIANT_ADD(report, r8139cp_tmpfs_64k) { "8139cp", false, 65536, true };
FIXTURE_VARIANT_ADD(report, r8139cp_ext4_8k) { "8139cp", true, 8192, true };
FIXTURE_VARIANT_ADD(report, ne2k_tmpfs_64k) { "ne2k-pci", false, 65536, false };
FIXTURE_VARIANT_ADD(report, ne2k_ext4_8k) { "ne2k-pci", true, 8192, false };

FIXTURE_SETUP(report)
{
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_find(variant->drv, &self->n)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, sh("ethtool -k %s | grep -q '^scatter-gather: %s'",
			self->n.a, variant->sg ? "on" : "off"))
		TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(report)
{
	close(self->dev);
}

TEST_F(report, bytes_and_report)
{
	const char *dir = variant->ext4 ? zc_ext4_dir() : zc_tmpfs_dir();
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20 };
	uint64_t len = variant->len;
	struct zcdev_sendfile a;
	struct zc_pair p;
	char path[256];
	uint8_t *got;
	int fd;

	fd = zc_make_payload_file(dir, len, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	unlink(path);
	ASSERT_EQ(0, zc_pair_open_at(&p, self->n.ns, self->n.addr, &o))
		TH_LOG("%s", zc_errmsg());
	got = malloc(len);
	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, zc_sendfile_args(self->dev, fd, p.snd, 0, len, 0, &a))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(len, a.sent);
	ASSERT_EQ((ssize_t)len, zc_recv_exact(p.rcv, got, len, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	EXPECT_EQ(-1, zc_verify(got, len, 0)) TH_LOG("%s", zc_errmsg());
	TH_LOG("%s: path %u why %#x zc %llu copied %llu", self->n.drv, a.path,
	       a.why, (unsigned long long)a.zc_bytes,
	       (unsigned long long)a.copied_bytes);
	if (variant->sg) {
		EXPECT_EQ(ZCDEV_PATH_ZEROCOPY, a.path);
		EXPECT_EQ(len, a.zc_bytes);
	} else {
		EXPECT_EQ(ZCDEV_PATH_COPY, a.path);
		EXPECT_EQ(len, a.copied_bytes);
		EXPECT_NE(0, a.why & ZCDEV_WHY_NO_SG);
	}
	free(got);
	zc_pair_close(&p);
	close(fd);
}

/* ---- trace: the device's own view (QEMU's e1000e_tx_descr trace) ---------- */

/*
 * Each case sends a fresh tmpfs file over the e1000e pair and prints what
 * the host needs to judge it from QEMU's trace of every transmit
 * descriptor (vm/check.sh's [K-trace] guest, vm/nic-trace.sh): the
 * guest-physical address of each page of the file (/proc/self/pagemap),
 * and two markers, 8-byte sendfile(2)s from a page of a marker file, sent
 * with scatter-gather on before and after the case, so that the device
 * reads them by address and they bracket the case in the trace:
 *   # zctrace CASE expect=ref|copy tol=N len=N begin=PA end=PA pages=PA,PA,...
 * The host counts the bytes the device read from the file's pages between
 * the markers: "ref" needs every byte but the tolerance (e1000e's 4-byte
 * TSO header pull per TSO skb), "copy" none.  Here, in the guest, the
 * bytes and zcdev's report are checked; without the trace (the main check
 * guest) that is all the case proves.
 */
#define PG 4096U

FIXTURE(trace) {
	int dev;
	struct nic n;
};

FIXTURE_VARIANT(trace) {
	enum sender how;
	enum nic_set set;
	bool ref;	/* the device must read the file's pages */
	const char *tag;	/* the variant's name, for the zctrace line */
};

#define TRACE_V(name, h, s, r) \
	FIXTURE_VARIANT_ADD(trace, name) { h, s, r, #name }

TRACE_V(zcdev_tso_off, SND_ZCDEV, SET_TSO_OFF, true);
TRACE_V(zcdev_tso_on, SND_ZCDEV, SET_TSO_ON, true);
TRACE_V(sendv_tso_off, SND_SENDV, SET_TSO_OFF, true);
TRACE_V(zcdev_sg_off, SND_ZCDEV, SET_SG_OFF, false);
TRACE_V(sendfile_tso_on, SND_SENDFILE, SET_TSO_ON, true);
TRACE_V(write_tso_on, SND_WRITE, SET_TSO_ON, false);

FIXTURE_SETUP(trace)
{
	self->dev = zc_open_dev();
	ASSERT_LE(0, self->dev) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_find("e1000e", &self->n)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_settings(&self->n, SET_TSO_ON)) TH_LOG("%s", zc_errmsg());
}

FIXTURE_TEARDOWN(trace)
{
	sh("ethtool -K %s tx on sg on tso on >/dev/null 2>&1; true", self->n.a);
	close(self->dev);
}

/* guest-physical address of the page mapped at @p (root: pagemap has PFNs) */
static int phys_of(const void *p, uint64_t *pa)
{
	uint64_t e;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (off_t)((uintptr_t)p / PG) * 8;

	if (fd < 0) {
		zc_seterr(true, "open pagemap");
		return -1;
	}
	if (pread(fd, &e, 8, off) != 8) {
		zc_seterr(true, "pread pagemap");
		close(fd);
		return -1;
	}
	close(fd);
	if (!(e & (1ULL << 63)) || !(e & ((1ULL << 55) - 1))) {
		zc_seterr(false, "page not present or no PFN (pagemap %#llx)",
			  (unsigned long long)e);
		return -1;
	}
	*pa = (e & ((1ULL << 55) - 1)) * PG;
	return 0;
}

/* an 8-byte marker from @mfd at @off, sent and acknowledged */
static int marker(int mfd, int snd, int rcv, off_t off)
{
	uint8_t got[8];
	ssize_t k = sendfile(snd, mfd, &off, 8);

	if (k != 8) {
		zc_seterr(true, "marker sendfile %zd", k);
		return -1;
	}
	if (zc_recv_exact(rcv, got, 8, IDLE_MS) != 8)
		return -1;
	return zc_wait_outq_empty(snd, IDLE_MS);
}

#define TRACE_LEN (16 * 1024U)
#define TRACE_PAGES (TRACE_LEN / PG)

TEST_F(trace, device_reads)
{
	struct zc_pair_opts o = { .sndbuf = 4 << 20, .rcvbuf = 4 << 20,
				  .nodelay = true };
	uint64_t len = TRACE_LEN, pa[TRACE_PAGES], mpa, wire;
	uint8_t *exp, *got, hdr[HDR], *fm, *mm;
	char path[256], mpath[256], line[1024];
	struct zcdev_sendfile a = { 0 };
	struct zcdev_sendv v = { 0 };
	struct zcdev_seg seg[3];
	struct zc_pair p;
	int fd, mfd, i, n;

	wire = len + (variant->how == SND_SENDV ? HDR : 0);
	fd = zc_make_payload_file(zc_tmpfs_dir(), len, path, sizeof(path));
	ASSERT_LE(0, fd) TH_LOG("%s", zc_errmsg());
	unlink(path);
	mfd = zc_make_payload_file(zc_tmpfs_dir(), PG, mpath, sizeof(mpath));
	ASSERT_LE(0, mfd) TH_LOG("%s", zc_errmsg());
	unlink(mpath);
	/* the pages, mapped and locked for as long as the case runs */
	fm = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	ASSERT_NE(MAP_FAILED, fm);
	mm = mmap(NULL, PG, PROT_READ, MAP_SHARED | MAP_POPULATE, mfd, 0);
	ASSERT_NE(MAP_FAILED, mm);
	ASSERT_EQ(0, mlock(fm, len));
	ASSERT_EQ(0, mlock(mm, PG));
	for (i = 0; i < (int)TRACE_PAGES; i++)
		ASSERT_EQ(0, phys_of(fm + i * PG, &pa[i])) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, phys_of(mm, &mpa)) TH_LOG("%s", zc_errmsg());

	exp = malloc(len);
	got = malloc(wire);
	ASSERT_NE(NULL, exp);
	ASSERT_NE(NULL, got);
	zc_payload_fill(exp, 0, len);
	memset(hdr, 'H', sizeof(hdr));
	ASSERT_EQ(0, zc_pair_open_at(&p, self->n.ns, self->n.addr, &o))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_wait_outq_empty(p.snd, IDLE_MS)) TH_LOG("%s", zc_errmsg());

	/* begin marker with SG on, then the case's settings */
	ASSERT_EQ(0, marker(mfd, p.snd, p.rcv, 0)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, nic_settings(&self->n, variant->set)) TH_LOG("%s", zc_errmsg());
	switch (variant->how) {
	case SND_ZCDEV:
		ASSERT_EQ(0, zc_sendfile_args(self->dev, fd, p.snd, 0, len, 0, &a))
			TH_LOG("%s", zc_errmsg());
		ASSERT_EQ(len, a.sent);
		break;
	case SND_SENDV:
		sendv_segs(seg, hdr, fd, len);
		v.segs = (uintptr_t)seg;
		v.nr_segs = 3;
		v.sock_fd = p.snd;
		ASSERT_EQ(0, ioctl(self->dev, ZCDEV_IOC_SENDV, &v))
			TH_LOG("errno %d", errno);
		ASSERT_EQ(wire, v.sent);
		break;
	case SND_SENDFILE: {
		off_t off = 0;

		ASSERT_EQ((ssize_t)len, sendfile(p.snd, fd, &off, len));
		break;
	}
	case SND_WRITE:
		ASSERT_EQ((ssize_t)len, write(p.snd, exp, len));
		break;
	default:
		ASSERT_TRUE(false);
	}
	ASSERT_EQ((ssize_t)wire, zc_recv_exact(p.rcv, got, wire, IDLE_MS))
		TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, zc_wait_outq_empty(p.snd, IDLE_MS)) TH_LOG("%s", zc_errmsg());
	/* end marker, SG on again */
	ASSERT_EQ(0, nic_settings(&self->n, SET_TSO_ON)) TH_LOG("%s", zc_errmsg());
	ASSERT_EQ(0, marker(mfd, p.snd, p.rcv, 64)) TH_LOG("%s", zc_errmsg());

	if (variant->how == SND_SENDV)
		EXPECT_EQ(0, memcmp(got, hdr, HDR));
	EXPECT_EQ(0, memcmp(got + (wire - len), exp, len));
	/* the report, where there is one */
	if (variant->how == SND_ZCDEV || variant->how == SND_SENDV) {
		uint32_t path = variant->how == SND_ZCDEV ? a.path : v.path;
		uint32_t why = variant->how == SND_ZCDEV ? a.why : v.why;
		uint64_t zc = variant->how == SND_ZCDEV ? a.zc_bytes : v.zc_bytes;

		TH_LOG("report path %u why %#x zc %llu", path, why,
		       (unsigned long long)zc);
		if (variant->ref) {
			/* (SENDV: the memory header is copied, and says so) */
			EXPECT_EQ(len, zc);
			EXPECT_EQ(variant->how == SND_SENDV ? ZCDEV_WHY_MEMORY : 0, why);
		} else {
			EXPECT_EQ(ZCDEV_PATH_COPY, path);
			EXPECT_EQ(0, zc);
			EXPECT_NE(0, why & ZCDEV_WHY_NO_SG);
		}
	}
	n = snprintf(line, sizeof(line),
		     "# zctrace trace.%s expect=%s tol=%" PRIu64 " len=%" PRIu64
		     " begin=%#" PRIx64 " end=%#" PRIx64 " pages=",
		     variant->tag, variant->ref ? "ref" : "copy",
		     variant->set == SET_TSO_ON && variant->ref ?
			tolerance("e1000e", SET_TSO_ON, len) : (uint64_t)0,
		     len, mpa, mpa + 64);
	for (i = 0; i < (int)TRACE_PAGES; i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%#" PRIx64,
			      i ? "," : "", pa[i]);
	printf("%s\n", line);
	fflush(stdout);
	zc_pair_close(&p);
	munmap(fm, len);
	munmap(mm, PG);
	free(exp);
	free(got);
	close(fd);
	close(mfd);
}

TEST_HARNESS_MAIN
