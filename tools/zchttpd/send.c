// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: sending a prepared response: header and file body in one
 * zc_sendv() with ZCDEV_SEND_CACHED_ONLY, resumed exactly from
 * seg_index/seg_sent after a short send.
 */
#include <errno.h>
#include <stdlib.h>
#include "zchttpd.h"

#ifdef ZH_FAKE_COLD
/*
 * Test builds only (tools/zchttpd/asan-test.sh, on a host without the
 * module): every other file send is answered as if its first page were
 * not cached, so that the warming pool and the connection hand-back run
 * under the sanitizers.
 */
static bool fake_cold(const struct zh_conn *c)
{
	static __thread unsigned int seed = 1;
	unsigned int i;

	for (i = c->seg_idx; i < c->nr_seg; i++)
		if (c->seg[i].type == ZCDEV_SEG_FILE)
			return c->cold_rounds < ZH_COLD_ROUNDS && rand_r(&seed) % 2;
	return false;
}
#else
static bool fake_cold(const struct zh_conn *c)
{
	(void)c;
	return false;
}
#endif

/**
 * zh_send() - send what is left of the response.
 * @c: the connection.
 *
 * Return: 1 when the response is complete, 0 when the socket is full
 * (wait for EPOLLOUT), -EBUSY when the next file bytes are not in the
 * page cache (warm them), another negative errno to close.
 */
int zh_send(struct zh_conn *c)
{
	unsigned int flags = ZCDEV_SEND_NONBLOCK;

	/*
	 * CACHED_ONLY on every send, unless the pool warmed this range
	 * ZH_COLD_ROUNDS times and the page cache still lost it (memory
	 * pressure): then one send may wait for the disk, so that the
	 * response ends.
	 */
	if (!zc_is_fallback(zh_zc) && c->cold_rounds < ZH_COLD_ROUNDS)
		flags |= ZCDEV_SEND_CACHED_ONLY;
	if (c->ssl && !c->ktls_tx)
		return zh_tls_send(c);
	if (fake_cold(c))
		return -EBUSY;
	while (c->seg_idx < c->nr_seg) {
		struct zcdev_seg s[2];
		unsigned int i, k = 0;
		struct zc_result r;
		ssize_t n;

		for (i = c->seg_idx; i < c->nr_seg; i++)
			s[k++] = c->seg[i];
		if (s[0].type == ZCDEV_SEG_MEM)
			s[0].addr += c->seg_off;
		else
			s[0].offset += c->seg_off;
		s[0].len -= c->seg_off;
		n = zc_sendv(zh_zc, c->fd, s, k, flags, &r);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n == -EBUSY)
			return -EBUSY;
		if (n < 0)
			return (int)n;
		zc_result_add(&c->acc, &r);
		c->last = time(NULL);
		if (n > 0)
			c->cold_rounds = 0;
		if (r.seg_index == k) {
			c->seg_idx = c->nr_seg;
			break;
		}
		if (r.seg_index > 0)
			c->seg_off = 0;
		c->seg_idx += r.seg_index;
		c->seg_off += r.seg_sent;
		if (r.status & ZCDEV_STATUS_NOT_CACHED)
			return -EBUSY;
		if (r.status & ZCDEV_STATUS_EOF)
			return -EIO;	/* file shrank: framing is lost */
		if (n == 0)
			return -EIO;	/* no progress and no reason to wait */
	}
	return 1;
}
