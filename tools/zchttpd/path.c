// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: from a request target to an open file below the document root.
 * The kernel does the containment: openat2(RESOLVE_BENEATH) refuses any
 * path that would leave the root, by "..", an absolute symlink or a
 * magic link; RESOLVE_NO_SYMLINKS unless --follow-symlinks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include "zchttpd.h"

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode the path of @url into @out; 0 or an HTTP status. */
static int decode_path(const char *url, size_t url_len, char *out,
		       size_t size)
{
	struct http_parser_url u;
	const char *p;
	size_t len, i, o = 0;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, url_len, 0, &u) ||
	    !(u.field_set & (1 << UF_PATH)))
		return 400;
	p = url + u.field_data[UF_PATH].off;
	len = u.field_data[UF_PATH].len;
	if (len == 0 || p[0] != '/')
		return 400;
	for (i = 0; i < len; i++) {
		int ch = (unsigned char)p[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return 400;
			hi = hexval(p[i + 1]);
			lo = i + 2 < len ? hexval(p[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return 400;
			ch = hi << 4 | lo;
			i += 2;
		}
		if (ch == '\0')
			return 400;
		if (o + 1 >= size)
			return 414;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* Any ".." component is refused before the kernel sees it. */
static bool has_dotdot(const char *s)
{
	const char *p = s;

	while ((p = strstr(p, "..")) != NULL) {
		if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
		p += 2;
	}
	return false;
}

static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!zh_cfg.follow_symlinks)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int errno_status(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -ENAMETOOLONG:
		return 404;
	case -EMFILE:	/* the server's own trouble, not the client's */
	case -ENFILE:
	case -ENOMEM:
	case -EIO:
	case -EAGAIN:
	case -EINTR:
		return 500;
	default:	/* EACCES, EPERM, EXDEV (escape), ELOOP (symlink) */
		return 403;
	}
}

/**
 * zh_resolve() - open the file a request target names.
 * @url: the request target.
 * @url_len: its length.
 * @fd: the open regular file on success.
 * @st: its stat.
 *
 * Return: 0, or the HTTP status to answer (301 for a directory named
 * without its trailing slash, 400 for a malformed target, 403 for "..", a
 * symlink or an escape, 404, 414, 500 for the server's own errors such as
 * EMFILE).
 */
int zh_resolve(const char *url, size_t url_len, int *fd, struct stat *st)
{
	char path[ZH_URL_MAX + 16];
	const char *rel;
	int f, st_code;

	st_code = decode_path(url, url_len, path, sizeof(path) - 16);
	if (st_code)
		return st_code;
	if (has_dotdot(path))
		return 403;
	rel = path;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		rel = ".";
	f = open_beneath(zh_root_fd, rel);
	if (f < 0)
		return errno_status(f);
	if (fstat(f, st) < 0) {
		close(f);
		return 403;
	}
	if (S_ISDIR(st->st_mode)) {
		int idx;

		if (path[strlen(path) - 1] != '/') {
			close(f);
			return 301;	/* the target with a trailing slash */
		}
		idx = open_beneath(f, "index.html");
		close(f);
		if (idx < 0)
			return idx == -ENOENT ? 403 : errno_status(idx);
		f = idx;
		if (fstat(f, st) < 0) {
			close(f);
			return 403;
		}
	}
	if (!S_ISREG(st->st_mode)) {
		close(f);
		return 403;
	}
	*fd = f;
	return 0;
}
