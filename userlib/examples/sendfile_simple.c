// SPDX-License-Identifier: MIT
/* sendfile_simple: send FILE to fd 1 (a socket): sendfile_simple FILE >&SOCK */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <zc.h>

int main(int argc, char **argv)
{
	struct zc_result r;
	struct zc *zc;
	char why[256];
	ssize_t n;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 ||
	    zc_open(&zc, NULL, 0) < 0)
		return 2;
	n = zc_sendfile_all(zc, 1, fd, 0, UINT64_MAX, 0, &r);
	zc_why_str(r.why, why, sizeof(why), ZC_WHY_STR_DESC);
	fprintf(stderr, "%s: %llu bytes (%llu by reference, %llu copied) %s\n",
		n < 0 ? strerror((int)-n) : zc_path_name(r.path),
		(unsigned long long)r.sent, (unsigned long long)r.zc_bytes,
		(unsigned long long)r.copied_bytes, why);
	zc_close(zc);
	return n < 0;
}
