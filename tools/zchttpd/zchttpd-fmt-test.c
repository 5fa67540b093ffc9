// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd-fmt-test: fmt.c's appenders against the libc functions they
 * replace on the response path (snprintf(3) for numbers and strings,
 * strftime(3) for HTTP dates), over fixed edge cases and a seeded random
 * sweep; truncation as snprintf() truncates.  Host only (tests; not
 * installed).  Exit status 0 when every comparison agreed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "zchttpd.h"

static unsigned long failures, checks;

static void expect(const char *what, const char *want, const char *got,
		   size_t got_len)
{
	checks++;
	if (strcmp(want, got) || got_len != strlen(want)) {
		if (failures++ < 20)
			fprintf(stderr, "%s: want \"%s\", got \"%s\" (length %zu)\n",
				what, want, got, got_len);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void date_case(time_t t)
{
	char want[64] = "", got[64];
	struct tm tm;
	size_t n;

	if (gmtime_r(&t, &tm))
		strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	n = zh_http_date(t, got, sizeof(got));
	expect("zh_http_date", want, got, n);
}

static void number_case(uint64_t v)
{
	char want[64], got[64];
	struct zh_buf b;
	size_t n;

	snprintf(want, sizeof(want), "%" PRIu64 " \"%" PRIx64 "\"", v, v);
	zh_buf_init(&b, got, sizeof(got));
	zh_put_u64(&b, v);
	zh_puts(&b, " \"");
	zh_put_x64(&b, v);
	zh_put(&b, "\"", 1);
	n = zh_buf_len(&b);
	expect("zh_put_u64/x64", want, got, n);
}

/* Every buffer size from 1 up: the same prefix snprintf() keeps. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
static void truncation_cases(void)
{
	char want[64], got[64];
	size_t size, n;

	for (size = 1; size <= 40; size++) {
		struct zh_buf b;

		memset(got, 'X', sizeof(got));
		snprintf(want, size, "HTTP/1.1 %d %s %" PRIu64, 416,
			 "Range Not Satisfiable", (uint64_t)1234567890123);
		zh_buf_init(&b, got, size);
		zh_put(&b, "HTTP/1.1 ", 9);
		zh_put_u64(&b, 416);
		zh_put(&b, " ", 1);
		zh_puts(&b, "Range Not Satisfiable");
		zh_put(&b, " ", 1);
		zh_put_u64(&b, 1234567890123);
		n = zh_buf_len(&b);
		expect("truncation", want, got, n);
		checks++;
		if (got[size] != 'X' && failures++ < 20)
			fprintf(stderr, "truncation: wrote past a buffer of %zu\n", size);
	}
}

int main(void)
{
	static const time_t dates[] = {
		0, 1, 59, 86399, 86400, 951782400 /* 2000-02-29 */,
		784111777 /* RFC 9110's example */, 1700000000, 2147483647,
		4102444800 /* 2100-01-01 */, 253402300799 /* 9999-12-31 */,
		253402300800 /* 10000 */, -1, -62135596800 /* year 1 */,
		-30610224000 /* 1000-01-01 */, -30610224001,
	};
	static const uint64_t numbers[] = {
		0, 1, 9, 10, 15, 16, 99, 100, 4095, 4096, 65535, 1048576,
		UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	size_t i;

	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++)
		date_case(dates[i]);
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		number_case(numbers[i]);
	for (i = 0; i < 200000; i++) {
		/* 1900 .. 2500, then any 64-bit value with fewer digits */
		date_case((time_t)(rnd(&s) % 19000000000ULL) - 2208988800LL);
		number_case(rnd(&s) >> (rnd(&s) % 64));
	}
	truncation_cases();
	printf("%lu comparisons, %lu failed\n", checks, failures);
	return failures ? 1 : 0;
}
