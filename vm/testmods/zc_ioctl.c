// SPDX-License-Identifier: GPL-2.0
/*
 * Guest program of the harness self-test: one ZCDEV_IOC_SENDFILE call on
 * /dev/zcdev (with a real file and a connected socket), reported as KTAP.
 * With a broken module this call is what WARNs, oopses or hangs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/zcdev.h>

int main(void)
{
	struct zcdev_sendfile a;
	int sv[2], dev, fd;
	long r;

	printf("TAP version 13\n1..1\n");
	fflush(stdout);
	dev = open("/dev/zcdev", O_RDWR);
	fd = open("/init", O_RDONLY);
	if (dev < 0 || fd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		printf("not ok 1 ioctl # setup: %s\n", strerror(errno));
		return 1;
	}
	memset(&a, 0, sizeof(a));
	a.file_fd = fd;
	a.sock_fd = sv[0];
	a.len = 100;
	r = ioctl(dev, ZCDEV_IOC_SENDFILE, &a);
	printf("ok 1 ioctl # returned %ld (%s)\n", r, r < 0 ? strerror(errno) : "ok");
	return 0;
}
