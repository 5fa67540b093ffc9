// SPDX-License-Identifier: MIT
/*
 * http_response: send FILE to fd 1 (a socket) as one HTTP response, header
 * and body in one zc_sendv() call, then wait until the file may be changed:
 *	http_response FILE >&SOCK
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zc.h>

int main(int argc, char **argv)
{
	struct zc_probe_result caps;
	struct zcdev_completion c;
	struct zcdev_seg seg[2], *cur = seg;
	unsigned int flags = 0, nr = 2;
	struct zc_result r;
	struct stat st;
	char hdr[128];
	struct zc *zc;
	ssize_t n;
	int fd, len;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 ||
	    fstat(fd, &st) < 0 || zc_open(&zc, NULL, 0) < 0)
		return 2;
	len = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\n"
		       "Content-Length: %jd\r\n\r\n", (intmax_t)st.st_size);
	zc_seg_mem(&seg[0], hdr, (size_t)len);
	zc_seg_file(&seg[1], fd, 0, (uint64_t)st.st_size);

	/* One id per call: loop over zc_sendv() to learn every one. */
	if (zc_probe(zc, -1, -1, 0, &caps) == 0 &&
	    (caps.send_flags & ZCDEV_SEND_NOTIFY))
		flags |= ZCDEV_SEND_NOTIFY;
	while (nr) {
		n = zc_sendv(zc, 1, cur, nr, flags, &r);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "zc_sendv: %s\n", strerror((int)-n));
			return 1;
		}
		fprintf(stderr, "%zd bytes: %s\n", n, zc_path_name(r.path));
		if (r.notify_id) {	/* wait for this call's pages */
			int k;

			while ((k = zc_read_completions(zc, &c, 1,
							ZC_COMPL_WAIT)) == 1 &&
			       c.id != r.notify_id)
				;
			if (k == 1)
				fprintf(stderr, "  file safe to modify%s\n",
					c.flags & ZCDEV_COMPL_COPIED ?
					" (copied)" : "");
		}
		if (!n)		/* the file shrank */
			break;
		/* continue from where the call stopped */
		cur += r.seg_index;
		nr -= r.seg_index;
		if (!nr)
			break;
		if (cur->type == ZCDEV_SEG_MEM)
			cur->addr += r.seg_sent;
		else
			cur->offset += r.seg_sent;
		cur->len -= r.seg_sent;
	}
	zc_close(zc);
	return 0;
}
