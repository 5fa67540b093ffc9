// SPDX-License-Identifier: GPL-2.0
/*
 * zcdev sources: where the bytes of a file range come from.
 *
 * The bytes sent must always be the bytes read(2) returns, so a file is read
 * the way its filesystem reads it:
 *
 *  - ZC_SRC_CACHE: filesystems whose ->read_iter() is the generic page cache
 *    (an explicit list: ext2/3/4, btrfs, tmpfs).  The module looks the
 *    folios up itself, reads missing ones in through ->read_folio() under
 *    the mapping's invalidate_lock as filemap_read() does, and lends them.
 *    tmpfs has no ->read_folio(): swapped-out pages are swapped in through
 *    shmem's own lookup, holes (and fallocated, unwritten pages) are zeros
 *    the module copies.  A stacked file (overlayfs) whose data inode, as
 *    d_real_inode() gives it, is on one of these filesystems is read from
 *    that inode's page cache: overlayfs's own read path reads that file.
 *  - ZC_SRC_SPLICE: every other filesystem goes through its own
 *    ->splice_read(), exactly as sendfile(2) does (splice_direct_to_actor()),
 *    so NFS, FUSE, procfs, sysfs, cgroupfs, configfs, debugfs and overlayfs
 *    over other filesystems give what they give sendfile(2).  Pages the
 *    filesystem hands over from a page cache (any file's: overlayfs gives
 *    its backing file's) are lent; pages it filled for the occasion are
 *    counted as copied.
 *  - ZC_SRC_READ: O_DIRECT, DAX, files without ->splice_read and files
 *    whose ->splice_read is known not to give read(2)'s bytes (FUSE from
 *    6.5, see compat.h) are read through ->read_iter() into pages the
 *    module owns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/pipe_fs_i.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/splice.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "engine.h"
#include "zcdev.h"

/*
 * Filesystems whose regular files are read by the generic page cache
 * (filemap_read(), or shmem_file_read_iter() for tmpfs) with nothing of
 * their own in between that the module would have to know about: no
 * revalidation, no caps, no lower file, no lock of their own (xfs reads
 * under its IOLOCK, which a module cannot take: it goes through its
 * splice_read, which takes it).
 */
static const char * const zc_cache_fs[] = {
	"ext4", "ext3", "ext2", "btrfs", "tmpfs",
};

static bool zc_cache_fs_known(struct super_block *sb)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(zc_cache_fs); i++) {
		if (!strcmp(sb->s_type->name, zc_cache_fs[i]))
			return true;
	}
	return false;
}

/*
 * The inode whose page cache read(2) of @file reads.  A stacked file
 * (overlayfs) reads its backing file's: d_real_inode() is the VFS's own
 * answer, the same inode overlayfs's read path opens (the upper file once
 * the data is copied up, else the lower data file; checked at open).
 */
static struct inode *zc_src_data_inode(struct file *file)
{
	return d_real_inode(file->f_path.dentry);
}

static enum zc_src_kind zc_src_classify(struct file *file,
					struct inode *inode)
{
	if (IS_DAX(inode) || (file->f_flags & O_DIRECT))
		return ZC_SRC_READ;
	if (S_ISREG(inode->i_mode) && zc_cache_fs_known(inode->i_sb)) {
		if (inode->i_sb->s_magic == TMPFS_MAGIC ||
		    inode->i_mapping->a_ops->read_folio)
			return ZC_SRC_CACHE;
	}
	inode = file_inode(file);
	if (file->f_op->splice_read && (file->f_mode & FMODE_LSEEK) &&
	    zc_splice_reads_as_read(inode->i_sb))
		return ZC_SRC_SPLICE;
	return ZC_SRC_READ;
}

/**
 * zc_src_kind() - how the bytes of @file are read
 * @file: a regular file open for reading
 *
 * Return: ZC_SRC_CACHE when the module may look up and lend the page-cache
 * folios of the file (of its backing file, on overlayfs) itself,
 * ZC_SRC_SPLICE when the file must be read through its filesystem's
 * ->splice_read(), ZC_SRC_READ when it can only be read into pages the
 * module owns.
 */
enum zc_src_kind zc_src_kind(struct file *file)
{
	return zc_src_classify(file, zc_src_data_inode(file));
}

/**
 * zc_src_init() - a file range to send
 * @src: filled in
 * @file: the file, checked by the caller
 * @pos: first byte
 * @count: bytes wanted (@pos + @count does not overflow)
 *
 * The data inode is looked up once per range: a copy-up during the call
 * is seen by the next call, as overlayfs's read path sees it per read.
 */
void zc_src_init(struct zc_src *src, struct file *file, loff_t pos, u64 count)
{
	struct inode *inode = zc_src_data_inode(file);

	src->file = file;
	src->pos = pos;
	src->end = pos + count;
	src->kind = zc_src_classify(file, inode);
	if (src->kind != ZC_SRC_CACHE)
		inode = file_inode(file);
	src->inode = inode;
	/* a backing inode's ->read_folio() is not given the overlay's file */
	if (inode == file_inode(file)) {
		src->mapping = file->f_mapping;
		src->rfile = file;
	} else {
		src->mapping = inode->i_mapping;
		src->rfile = NULL;
	}
	src->shmem = src->kind == ZC_SRC_CACHE &&
		     inode->i_sb->s_magic == TMPFS_MAGIC;
	src->read_gate = src->kind == ZC_SRC_CACHE && !src->shmem &&
			 src->rfile;
}

/**
 * zc_src_accessed() - what read(2) would note after bytes were read
 * @src: the range, src->pos advanced past what was sent
 * @start: where it started
 */
void zc_src_accessed(struct zc_src *src, loff_t start)
{
	if (src->pos <= start)
		return;
	switch (src->kind) {
	case ZC_SRC_CACHE:
		fsnotify_access(src->file);
		file_accessed(src->file);
		break;
	case ZC_SRC_SPLICE:
		/* splice_direct_to_actor() did file_accessed() */
		fsnotify_access(src->file);
		break;
	case ZC_SRC_READ:
		/* vfs_iter_read() did both */
		break;
	}
}

/**
 * zc_batch_release() - drop every reference a batch holds and empty it
 * @b: the batch
 */
void zc_batch_release(struct zc_batch *b)
{
	unsigned int i;

	if (b->owned) {
		for (i = 0; i < b->nr_bv; i++)
			__free_page(b->bv[i].bv_page);
	}
	for (i = 0; i < b->nr_folios; i++)
		folio_put(b->folios[i]);
	b->nr_bv = 0;
	b->nr_folios = 0;
	b->len = 0;
	b->owned = false;
	b->why = 0;
}

/*
 * Read up to @max bytes of the file at src->pos into pages the module owns
 * (at most one batch).  vfs_iter_read() does the permission hook and
 * fsnotify itself.
 */
static int zc_fill_copy(struct zc_req *req, struct zc_src *src, size_t max,
			u32 why)
{
	struct zc_batch *b = &req->b;
	struct iov_iter iter;
	unsigned int nr, i;
	size_t want;
	loff_t pos = src->pos;
	ssize_t ret;

	want = min_t(u64, max, src->end - src->pos);
	want = min_t(size_t, want, (size_t)b->cap * PAGE_SIZE);
	nr = DIV_ROUND_UP(want, PAGE_SIZE);

	b->owned = true;
	b->why = why;
	for (i = 0; i < nr; i++) {
		struct page *page = alloc_page(GFP_KERNEL_ACCOUNT);

		if (!page)
			return -ENOMEM;
		bvec_set_page(&b->bv[i], page, PAGE_SIZE, 0);
		b->nr_bv++;
	}
	b->bv[nr - 1].bv_len = want - (size_t)(nr - 1) * PAGE_SIZE;

	iov_iter_bvec(&iter, ITER_DEST, b->bv, nr, want);
	ret = vfs_iter_read(src->file, &iter, &pos, 0);
	if (ret < 0)
		return ret;

	/* trim to what was read; free the pages that got nothing */
	b->len = ret;
	nr = DIV_ROUND_UP(ret, PAGE_SIZE);
	for (i = nr; i < b->nr_bv; i++)
		__free_page(b->bv[i].bv_page);
	b->nr_bv = nr;
	if (nr)
		b->bv[nr - 1].bv_len = ret - (size_t)(nr - 1) * PAGE_SIZE;
	return 0;
}

/* ---- ZC_SRC_SPLICE: the filesystem's own ->splice_read ---------------- */

/*
 * A page the filesystem gave from a page cache (its own or a backing
 * file's), rather than one it filled for this read: lending it is zero
 * copy.  Anonymous, swap-cache, slab and freshly allocated pages (and the
 * zero page) have no mapping.  (The zero page is counted as copied: no file
 * page is lent.)
 */
static bool zc_page_in_cache(struct page *page)
{
	struct folio *folio = page_folio(page);

	return folio_mapping(folio) && !folio_test_swapcache(folio);
}

struct zc_splice {
	struct zc_req	*req;
	int		err;
};

/*
 * Take the pipe's buffers into the batch: a page reference each (taken
 * here, see below), then the pipe's own is released so the
 * pipe is empty for the next ->splice_read().  A batch holds pages of one
 * kind only (lent or copied): the actor stops at the first page of the
 * other kind, and the next batch reads from there again.
 */
static int zc_splice_actor(struct pipe_inode_info *pipe,
			   struct splice_desc *sd)
{
	struct zc_splice *sp = sd->u.data;
	struct zc_batch *b = &sp->req->b;
	unsigned int mask = pipe->ring_size - 1;
	int took = 0;

	while (!pipe_empty(pipe->head, pipe->tail) && b->nr_bv < b->cap) {
		struct pipe_buffer *buf = &pipe->bufs[pipe->tail & mask];
		u32 why;
		int ret;

		ret = pipe_buf_confirm(pipe, buf);
		if (ret) {
			sp->err = ret;
			break;
		}
		why = zc_page_in_cache(buf->page) ? 0 : ZCDEV_WHY_NO_PAGECACHE;
		if (b->nr_bv && why != b->why)
			break;
		if (buf->len) {
			/*
			 * A page reference of our own, whatever the buffer's
			 * ->get() does: shmem's zero_pipe_buf_ops (6.12 tmpfs
			 * holes, e.g. through overlayfs) take none for the
			 * zero page, and the batch drops what it holds with
			 * folio_put().
			 */
			if (!try_get_page(buf->page)) {
				sp->err = -ENOMEM;
				break;
			}
			b->why = why;
			bvec_set_page(&b->bv[b->nr_bv++], buf->page, buf->len,
				      buf->offset);
			b->folios[b->nr_folios++] = page_folio(buf->page);
			b->len += buf->len;
			took += buf->len;
		}
		pipe_buf_release(pipe, buf);
		pipe->tail++;
	}
	return took;
}

/* Fill the batch through the filesystem's ->splice_read(), as sendfile(2). */
static int zc_fill_splice(struct zc_req *req, struct zc_src *src)
{
	struct zc_batch *b = &req->b;
	struct zc_splice sp = { .req = req };
	struct splice_desc sd = {
		.total_len = min_t(u64, src->end - src->pos,
				   (u64)b->cap << PAGE_SHIFT),
		.pos = src->pos,
		.u.data = &sp,
	};
	ssize_t ret;

	/* do_sendfile(): a non-blocking input file reads non-blocking */
	if (src->file->f_flags & O_NONBLOCK)
		sd.flags |= SPLICE_F_NONBLOCK;
	ret = splice_direct_to_actor(src->file, &sd, zc_splice_actor);
	/* send what was read; an error comes back on the next read */
	if (b->len)
		return 0;
	if (sp.err)
		return sp.err;
	return ret < 0 ? ret : 0;
}

/* ---- ZC_SRC_CACHE: the page cache, looked up by the module ------------- */

/*
 * A large folio with a memory error that memory_failure() could not split
 * (its pages were in use, in skbs for one) stays whole: the bad page has
 * PG_hwpoison and the folio has_hwpoisoned.  tmpfs read(2) fails only at
 * that page, so the module lends the folio's other pages and stops at the
 * bad one.  (ext2/3/4 and btrfs have no large folios on 6.1 and 6.12.)
 */
static bool zc_folio_has_bad_page(struct folio *folio)
{
	return folio_test_large(folio) && folio_test_has_hwpoisoned(folio);
}

/*
 * The page of @folio at @index has a memory error: tmpfs read(2) gives EIO.
 * A small folio's flag is its page's; a large one's pages are looked at
 * only once it has_hwpoisoned (the common case costs two flag tests).
 * memory_failure() flags the page before the folio: a send that races it
 * may lend the page, as it may any page poisoned after it looked.
 */
static bool zc_page_hwpoisoned(struct folio *folio, pgoff_t index)
{
	if (!zc_folio_has_bad_page(folio))
		return folio_test_hwpoison(folio);
	return PageHWPoison(folio_file_page(folio, index));
}

/* A folio with the readahead mark: start reading the next window. */
static void zc_async_readahead(struct zc_src *src, struct folio *folio,
			       pgoff_t last)
{
	DEFINE_READAHEAD(ractl, src->file, &src->file->f_ra, src->mapping,
			 folio->index);

	if (folio_test_readahead(folio))
		page_cache_async_ra(&ractl, folio, last - folio->index + 1);
}

/* No folio at @index: start reading [@index, @last], as filemap_read(). */
static void zc_sync_readahead(struct zc_src *src, pgoff_t index,
			      pgoff_t last)
{
	DEFINE_READAHEAD(ractl, src->file, &src->file->f_ra, src->mapping,
			 index);

	page_cache_sync_ra(&ractl, last - index + 1);
}

/*
 * Read the folio at @index in and wait for it (it may already be under
 * I/O: then only the wait).  read_mapping_folio() expects the mapping's
 * invalidate_lock, as filemap_update_page() and filemap_create_folio() take
 * it, so a racing hole punch or truncate cannot bring stale blocks back.
 */
static struct folio *zc_read_folio(struct zc_src *src, pgoff_t index)
{
	struct folio *folio;

	filemap_invalidate_lock_shared(src->mapping);
	folio = read_mapping_folio(src->mapping, index, src->rfile);
	filemap_invalidate_unlock_shared(src->mapping);
	return folio;
}

/*
 * CACHED_ONLY met @folio present but not uptodate.  Under I/O (locked):
 * nothing to do.  Else nobody is reading it (an earlier read failed, or it
 * was only added): start the read it needs, without waiting.
 */
static void zc_start_folio_read(struct zc_src *src, struct folio *folio)
{
	struct address_space *mapping = src->mapping;

	if (folio_test_locked(folio))
		return;
	if (!filemap_invalidate_trylock_shared(mapping))
		return;
	if (folio_trylock(folio)) {
		/* ->read_folio() unlocks the folio when the read is done */
		if (folio->mapping == mapping && !folio_test_uptodate(folio)) {
			zc_folio_clear_error(folio);
			mapping->a_ops->read_folio(src->rfile, folio);
		} else {
			folio_unlock(folio);
		}
	}
	filemap_invalidate_unlock_shared(mapping);
}

/* tmpfs: what is at @index now that the lookup found no folio there? */
enum zc_shmem_slot { ZC_SHMEM_HOLE, ZC_SHMEM_SWAPPED, ZC_SHMEM_PRESENT };

static enum zc_shmem_slot zc_shmem_slot(struct address_space *mapping,
					pgoff_t index)
{
	void *entry;

	rcu_read_lock();
	entry = xa_load(&mapping->i_pages, index);
	rcu_read_unlock();
	if (!entry)
		return ZC_SHMEM_HOLE;
	/* a swap entry; or a folio that came in (swap-in) since the lookup */
	return xa_is_value(entry) ? ZC_SHMEM_SWAPPED : ZC_SHMEM_PRESENT;
}

/*
 * zc_folio_miss() result: a folio appeared at the index, look it up again
 * (at most ZC_RETRIES_MAX times in a row; then ZC_COPY_PAGE: the page is
 * read through ->read_iter() and copied)
 */
#define ZC_RETRY	3
#define ZC_COPY_PAGE	4
#define ZC_RETRIES_MAX	16

/*
 * tmpfs and CACHED_ONLY: swap the page in from a worker, so that the retry
 * finds it.  At most ZC_SWAPIN_MAX at a time; beyond that the retry starts
 * one.
 */
#define ZC_SWAPIN_MAX	64

struct zc_swapin {
	struct work_struct	work;
	struct file		*file;	/* pins the mapping's inode */
	struct address_space	*mapping;
	pgoff_t			index;
};

static atomic_t zc_swapins = ATOMIC_INIT(0);

static void zc_swapin_work(struct work_struct *work)
{
	struct zc_swapin *s = container_of(work, struct zc_swapin, work);
	struct address_space *mapping = s->mapping;
	struct page *page;

	/* still in swap? (a hole punched meanwhile must stay a hole) */
	if (zc_shmem_slot(mapping, s->index) == ZC_SHMEM_SWAPPED) {
		page = shmem_read_mapping_page_gfp(mapping, s->index,
						   mapping_gfp_mask(mapping));
		if (!IS_ERR(page))
			put_page(page);
	}
	fput(s->file);
	kfree(s);
	atomic_dec(&zc_swapins);
}

static void zc_start_swapin(struct zc_src *src, pgoff_t index)
{
	struct zc_swapin *s;

	if (atomic_inc_return(&zc_swapins) > ZC_SWAPIN_MAX)
		goto out_dec;
	s = kmalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		goto out_dec;
	INIT_WORK(&s->work, zc_swapin_work);
	s->file = get_file(src->file);
	s->mapping = src->mapping;
	s->index = index;
	queue_work(zc_wq, &s->work);
	return;
out_dec:
	atomic_dec(&zc_swapins);
}

/*
 * No usable folio at @index (@pending: the one present there, not
 * uptodate, referenced; NULL if none).  Returns 0 with *@foliop a
 * referenced folio read in, ZC_HOLE for a tmpfs hole, ZC_RETRY when a
 * folio came in meanwhile (look it up again), ZC_NOT_CACHED, or -errno.
 */
static int zc_folio_miss(struct zc_req *req, struct zc_src *src,
			 pgoff_t index, pgoff_t last, struct folio *pending,
			 struct folio **foliop)
{
	struct folio *folio;
	struct page *page;

	if (src->shmem) {
		/* present but unwritten (fallocate): read(2) gives zeros */
		if (pending) {
			folio_put(pending);
			return ZC_HOLE;
		}
		switch (zc_shmem_slot(src->mapping, index)) {
		case ZC_SHMEM_HOLE:
			return ZC_HOLE;
		case ZC_SHMEM_PRESENT:
			return ZC_RETRY;
		case ZC_SHMEM_SWAPPED:
			break;
		}
		if (req->cached_only) {
			zc_start_swapin(src, index);
			return ZC_NOT_CACHED;
		}
		page = shmem_read_mapping_page_gfp(src->mapping, index,
						   mapping_gfp_mask(src->mapping));
		if (IS_ERR(page))
			return PTR_ERR(page);
		*foliop = page_folio(page);
		folio_mark_accessed(*foliop);
		return 0;
	}

	if (pending) {
		/* being read (or failed): no new readahead window for it */
		zc_async_readahead(src, pending, last);
		/* (filemap_update_page() does not read under IOCB_NOWAIT) */
		if (req->cached_only && req->nowait_io)
			req->read_deferred = true;
		else if (req->cached_only)
			zc_start_folio_read(src, pending);
		folio_put(pending);
	} else {
		zc_sync_readahead(src, index, last);
	}
	if (req->cached_only)
		return ZC_NOT_CACHED;
	folio = zc_read_folio(src, index);
	if (IS_ERR(folio))
		return PTR_ERR(folio);
	*foliop = folio;
	return 0;
}

/*
 * Collect referenced, uptodate page-cache folios from src->pos on, at most
 * one batch.  Returns 0 (b->nr_folios may be 0 at EOF), ZC_HOLE when the
 * first page is a tmpfs hole, ZC_NOT_CACHED when it is not cached and the
 * request is CACHED_ONLY, or -errno (-EIO when the first page has a memory
 * error, as read(2) gives).  A large folio with a bad page ends the batch.
 */
static int zc_get_folios(struct zc_req *req, struct zc_src *src, loff_t end)
{
	struct zc_batch *b = &req->b;
	pgoff_t index = src->pos >> PAGE_SHIFT;
	pgoff_t last = (end - 1) >> PAGE_SHIFT;
	struct folio_batch fbatch;
	struct folio *folio, *pending;
	unsigned int i, nr, retries = 0;
	int ret;

	last = min_t(pgoff_t, last, index + b->cap - 1);
	folio_batch_init(&fbatch);

	while (index <= last && b->nr_folios < b->cap) {
		pgoff_t next = index;
		bool miss, poisoned = false;

		pending = NULL;
		nr = filemap_get_folios_contig(src->mapping, &next, last,
					       &fbatch);
		miss = !nr;
		for (i = 0; i < nr; i++) {
			folio = fbatch.folios[i];
			if (miss || b->nr_folios == b->cap) {
				folio_put(folio);
				continue;
			}
			miss = true;
			if (folio->mapping != src->mapping) {
				/* truncated: looked up again below */
				folio_put(folio);
				continue;
			}
			if (!folio_test_uptodate(folio)) {
				pending = folio;
				continue;
			}
			if (zc_page_hwpoisoned(folio, index)) {
				poisoned = true;
				folio_put(folio);
				continue;
			}
			zc_async_readahead(src, folio, last);
			/*
			 * Used, for reclaim: as filemap_splice_read() and
			 * shmem_file_splice_read() mark every folio they
			 * send (read_mapping_folio() marks those it reads).
			 */
			folio_mark_accessed(folio);
			b->folios[b->nr_folios++] = folio;
			index = folio->index + folio_nr_pages(folio);
			/* the batch ends with it (the fill stops at the page) */
			if (zc_folio_has_bad_page(folio))
				continue;
			miss = false;
		}
		folio_batch_init(&fbatch);
		if (!miss)
			continue;
		/* send what we have; the next batch starts at the miss */
		if (b->nr_folios || poisoned) {
			if (pending)
				folio_put(pending);
			return b->nr_folios ? 0 : -EIO;
		}

		ret = zc_folio_miss(req, src, index, last, pending, &folio);
		if (ret == ZC_RETRY) {
			/* a folio keeps coming and going: read(2) it instead */
			if (++retries > ZC_RETRIES_MAX)
				return ZC_COPY_PAGE;
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
			continue;
		}
		if (ret)
			return ret;
		if (folio->mapping != src->mapping) {
			/* truncated under us: look again */
			folio_put(folio);
			if (fatal_signal_pending(current))
				return -EINTR;
			continue;
		}
		if (zc_page_hwpoisoned(folio, index)) {
			folio_put(folio);
			return -EIO;
		}
		/* the window behind it starts now, as filemap_read() does */
		zc_async_readahead(src, folio, last);
		b->folios[b->nr_folios++] = folio;
		index = folio->index + folio_nr_pages(folio);
		if (zc_folio_has_bad_page(folio))
			break;
	}
	return 0;
}

/*
 * What the filesystem's own read path refuses before it reads anything
 * (ext4 after a forced shutdown, or from 6.6 after an error under
 * errors=remount-ro: -EIO), asked the way read(2) asks: a read of no
 * bytes through the file's ->read_iter(), which returns before it looks
 * at the page cache (ext4, ext2/3 and btrfs end in filemap_read(), which
 * returns 0 for nothing).  Only where src->read_gate: not for tmpfs,
 * whose ->read_iter() looks the page up first, nor for an overlayfs
 * backing inode: overlayfs answers a read of nothing itself, and the
 * backing file is not the module's to read through.
 */
static int zc_read_gate(struct zc_src *src)
{
	struct iov_iter iter;
	struct kiocb kiocb;
	ssize_t ret;

	if (!src->read_gate)
		return 0;
	init_sync_kiocb(&kiocb, src->file);
	/* none of the file's flags: an O_DIRECT set since would lock btrfs */
	kiocb.ki_flags = 0;
	kiocb.ki_pos = src->pos;
	iov_iter_discard(&iter, ITER_DEST, 0);
	ret = src->file->f_op->read_iter(&kiocb, &iter);
	return ret < 0 ? ret : 0;
}

/*
 * Fill req->b with page-cache pages from src->pos.  i_size is read after
 * the folios are uptodate, and nothing past it is sent: the tail of the
 * last page never leaves.
 */
static int zc_fill_cache(struct zc_req *req, struct zc_src *src)
{
	struct zc_batch *b = &req->b;
	loff_t end, pos = src->pos;
	bool bad = false;
	unsigned int i;
	int ret;

	ret = zc_read_gate(src);
	if (ret)
		return ret;
	end = min_t(loff_t, src->end, i_size_read(src->inode));
	if (pos >= end)
		return 0;

	ret = zc_get_folios(req, src, end);
	if (ret)
		return ret;

	end = min_t(loff_t, src->end, i_size_read(src->inode));
	for (i = 0; i < b->nr_folios && pos < end && !bad; i++) {
		struct folio *folio = b->folios[i];
		loff_t fpos = folio_pos(folio);
		loff_t fend = fpos + folio_size(folio);
		bool check = zc_folio_has_bad_page(folio);

		if (pos < fpos || pos >= fend)
			break;
		while (pos < fend && pos < end && b->nr_bv < b->cap) {
			size_t off = offset_in_page(pos);
			size_t len = min_t(loff_t, PAGE_SIZE - off, end - pos);
			struct page *page;

			page = folio_page(folio, (pos - fpos) >> PAGE_SHIFT);
			/* read(2) stops there too; the next call gets EIO */
			if (check && PageHWPoison(page)) {
				bad = true;
				break;
			}
			bvec_set_page(&b->bv[b->nr_bv++], page, len, off);
			pos += len;
		}
	}
	/* its first page poisoned meanwhile (the caller releases b) */
	if (bad && pos == src->pos)
		return -EIO;
	b->len = pos - src->pos;
	return 0;
}

/**
 * zc_src_at_eof() - whether a page-cache range starts at EOF
 * @src: the range
 *
 * What a read(2) at src->pos would say before reading: the file system's
 * own refusal (zc_read_gate(): a shut-down ext4 gives -EIO at EOF too).
 *
 * Return: 1 at or past EOF, 0 if not or if @src is not ZC_SRC_CACHE (those
 * find their EOF by reading), or -errno.
 */
int zc_src_at_eof(struct zc_src *src)
{
	int ret;

	if (src->kind != ZC_SRC_CACHE || src->pos < i_size_read(src->inode))
		return 0;
	ret = zc_read_gate(src);
	return ret ? ret : 1;
}

/**
 * zc_src_fill() - fill the request's batch from src->pos
 * @req: the request; its batch is empty
 * @src: the range
 *
 * The batch's @why says why its bytes are copied (0: they are lent).
 *
 * Return: 0 (the batch is empty at EOF), ZC_NOT_CACHED when a CACHED_ONLY
 * request met a page that is not cached (its read was started), or -errno.
 */
int zc_src_fill(struct zc_req *req, struct zc_src *src)
{
	int ret;

	switch (src->kind) {
	case ZC_SRC_CACHE:
		ret = zc_fill_cache(req, src);
		if (ret != ZC_HOLE && ret != ZC_COPY_PAGE)
			return ret;
		/* read(2) of a tmpfs page may swap it in: not inline */
		if (ret == ZC_COPY_PAGE && req->nowait_io) {
			req->read_deferred = true;
			return ZC_NOT_CACHED;
		}
		/* a tmpfs hole: its zeros are copied, a page at a time */
		return zc_fill_copy(req, src,
				    PAGE_SIZE - offset_in_page(src->pos),
				    ret == ZC_HOLE ? ZCDEV_WHY_HOLE :
						     ZCDEV_WHY_NO_PAGECACHE);
	case ZC_SRC_SPLICE:
		return zc_fill_splice(req, src);
	default:
		return zc_fill_copy(req, src, SIZE_MAX,
				    ZCDEV_WHY_NO_PAGECACHE);
	}
}

/* the first page a splice gives, looked at and dropped */
static int zc_probe_actor(struct pipe_inode_info *pipe, struct splice_desc *sd)
{
	unsigned int mask = pipe->ring_size - 1;
	struct pipe_buffer *buf;
	u32 *why = sd->u.data;

	if (pipe_empty(pipe->head, pipe->tail))
		return 0;
	buf = &pipe->bufs[pipe->tail & mask];
	if (!pipe_buf_confirm(pipe, buf) && zc_page_in_cache(buf->page))
		*why = 0;
	/* 0: nothing consumed; splice_direct_to_actor() releases the pipe */
	return 0;
}

/**
 * zc_src_probe_why() - why the bytes of @file at @pos would be copied
 * @file: a checked file
 * @pos: where a send would start
 *
 * Files read through their filesystem's splice path are asked: the page
 * at @pos is read (nothing is sent) and looked at.
 *
 * Return: ZCDEV_WHY_* bits the source adds, 0 if it lends its pages.
 */
u32 zc_src_probe_why(struct file *file, loff_t pos)
{
	u32 why = ZCDEV_WHY_NO_PAGECACHE;
	struct splice_desc sd = {
		.total_len = PAGE_SIZE - offset_in_page(pos),
		.pos = pos,
		.u.data = &why,
	};

	switch (zc_src_kind(file)) {
	case ZC_SRC_CACHE:
		return 0;
	case ZC_SRC_SPLICE:
		if (rw_verify_area(READ, file, &sd.pos, sd.total_len))
			return why;
		if (file->f_flags & O_NONBLOCK)
			sd.flags |= SPLICE_F_NONBLOCK;
		splice_direct_to_actor(file, &sd, zc_probe_actor);
		return why;
	default:
		return ZCDEV_WHY_NO_PAGECACHE;
	}
}
