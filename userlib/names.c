// SPDX-License-Identifier: MIT OR LGPL-2.1-or-later
/*
 * libzc: names for paths, reasons and statuses.  Tables only, no state: every function
 * here is thread-safe and never touches errno.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "zc.h"

#define ZC_EXPORT __attribute__((visibility("default")))

struct bit_entry {
	uint32_t bit;
	const char *name;
	const char *desc;
};

static const struct bit_entry why_table[] = {
	{ ZCDEV_WHY_NO_SG, "no_sg",
	  "egress device has no scatter-gather" },
	{ ZCDEV_WHY_NO_CSUM, "no_csum",
	  "egress device has no checksum offload" },
	{ ZCDEV_WHY_KTLS, "ktls",
	  "kTLS encrypts into new buffers" },
	{ ZCDEV_WHY_NO_PAGECACHE, "no_pagecache",
	  "file has no page cache to lend" },
	{ ZCDEV_WHY_SOCKET, "socket",
	  "socket cannot hold page references (or its send path is replaced)" },
	{ ZCDEV_WHY_XFRM, "xfrm",
	  "route goes through an IPsec transform" },
	{ ZCDEV_WHY_HOLE, "hole",
	  "file hole: zeros are copied" },
	{ ZCDEV_WHY_MEMORY, "memory",
	  "memory segment: always copied" },
	{ ZCDEV_WHY_NOTIFY, "notify",
	  "socket cannot report page release: copied for the notification" },
	{ ZCDEV_WHY_ROUTE, "route",
	  "no valid route known: the egress device cannot be judged" },
	{ ZCDEV_WHY_DEVICE, "device",
	  "egress device may copy or transform (tunnel, bond, bridge...)" },
	{ ZCDEV_WHY_BOUNCE, "bounce",
	  "egress device's DMA is bounced (swiotlb): it reads a copy" },
	{ ZC_WHY_NO_MODULE, "no_module",
	  "zcdev module absent: sent with sendfile(2)" },
};

static const struct bit_entry status_table[] = {
	{ ZCDEV_STATUS_NOT_CACHED, "not_cached",
	  "not in the page cache yet: readahead started" },
	{ ZCDEV_STATUS_EOF, "eof",
	  "the file ended before the length asked for" },
};

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

static const struct bit_entry *bit_lookup(const struct bit_entry *table,
					  size_t n, uint32_t bit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (table[i].bit == bit)
			return &table[i];
	return NULL;
}

static const struct bit_entry *why_lookup(uint32_t bit)
{
	return bit_lookup(why_table, ARRAY_SIZE(why_table), bit);
}

static const struct bit_entry *status_lookup(uint32_t bit)
{
	return bit_lookup(status_table, ARRAY_SIZE(status_table), bit);
}

const char ZC_EXPORT *zc_path_name(uint32_t path)
{
	switch (path) {
	case ZCDEV_PATH_NONE:
		return "none";
	case ZCDEV_PATH_ZEROCOPY:
		return "zerocopy";
	case ZCDEV_PATH_COPY:
		return "copy";
	case ZCDEV_PATH_MIXED:
		return "mixed";
	case ZC_PATH_UNKNOWN:
		return "unknown";
	}
	return NULL;
}

const char ZC_EXPORT *zc_why_name(uint32_t bit)
{
	const struct bit_entry *e = why_lookup(bit);

	return e ? e->name : NULL;
}

const char ZC_EXPORT *zc_why_desc(uint32_t bit)
{
	const struct bit_entry *e = why_lookup(bit);

	return e ? e->desc : NULL;
}

/* Append @s to @buf (snprintf semantics); returns the new full length. */
static size_t append(char *buf, size_t size, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (len < size) {
		size_t room = size - len - 1;

		memcpy(buf + len, s, n < room ? n : room);
		buf[len + (n < room ? n : room)] = '\0';
	}
	return len + n;
}

/* A mask as names or descriptions, lowest bit first; snprintf semantics. */
static int bits_str(const struct bit_entry *(*lookup)(uint32_t), uint32_t mask,
		    char *buf, size_t size, unsigned int flags)
{
	const char *sep = (flags & ZC_WHY_STR_DESC) ? "; " : ",";
	size_t len = 0;
	unsigned int i;

	if ((flags & ~ZC_WHY_STR_DESC) || (!buf && size))
		return -EINVAL;
	if (size)
		buf[0] = '\0';

	for (i = 0; i < 32; i++) {
		uint32_t bit = 1U << i;
		const struct bit_entry *e;
		char hex[16];
		const char *s;

		if (!(mask & bit))
			continue;
		e = lookup(bit);
		if (e) {
			s = (flags & ZC_WHY_STR_DESC) ? e->desc : e->name;
		} else {
			snprintf(hex, sizeof(hex), "0x%x", bit);
			s = hex;
		}
		if (len)
			len = append(buf, size, len, sep);
		len = append(buf, size, len, s);
	}
	if (len > INT_MAX)	/* cannot happen: 32 short strings */
		return -EOVERFLOW;
	return (int)len;
}

int ZC_EXPORT zc_why_str(uint32_t why, char *buf, size_t size,
			 unsigned int flags)
{
	return bits_str(why_lookup, why, buf, size, flags);
}

const char ZC_EXPORT *zc_status_name(uint32_t bit)
{
	const struct bit_entry *e = status_lookup(bit);

	return e ? e->name : NULL;
}

int ZC_EXPORT zc_status_str(uint32_t status, char *buf, size_t size,
			    unsigned int flags)
{
	return bits_str(status_lookup, status, buf, size, flags);
}
