// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: the access log's opener for SIGHUP after --user.
 *
 * nginx's master process keeps root and reopens the logs for its workers
 * (nginx -s reopen, logrotate's postrotate).  zchttpd is one process that
 * drops its privileges, so before it does, it forks this helper: a root
 * process that holds nothing but its end of a socketpair (every other
 * descriptor closed) and does one thing, on request: opens the configured
 * access log path, as the server did at start, and passes the descriptor
 * back (SCM_RIGHTS).  The server needs no right to the log's directory,
 * and the helper cannot be asked to open anything else.  It ignores SIGHUP
 * (pkill -HUP zchttpd reaches it too) and exits when the server does (EOF
 * on the socket; PR_SET_PDEATHSIG if the server is killed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zchttpd.h"

static int logd_fd = -1;
static pid_t logd_pid;

/* the helper: one reply (an errno, 0 with a descriptor) per request byte */
static void __attribute__((noreturn)) logd_serve(int sk, pid_t server)
{
	char req;

	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_NAME, "zchttpd-logd");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != server)
		_exit(0);
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		struct msghdr msg = { 0 };
		struct iovec iov;
		int err = 0, fd;
		ssize_t n;

		n = recv(sk, &req, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		fd = zh_log_open_path();
		if (fd < 0)
			err = errno;
		iov.iov_base = &err;
		iov.iov_len = sizeof(err);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (fd >= 0) {
			struct cmsghdr *cm;

			msg.msg_control = cbuf;
			msg.msg_controllen = sizeof(cbuf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		n = sendmsg(sk, &msg, MSG_NOSIGNAL);
		if (fd >= 0)
			close(fd);
		if (n < 0)
			_exit(0);
	}
}

/**
 * zh_logd_start() - fork the log opener (as root, before --user drops).
 *
 * Only for an access log file, by a root process that will drop its
 * privileges; otherwise SIGHUP reopens the log itself.
 *
 * Return: 0 (also when no helper is needed) or a negative errno.
 */
int zh_logd_start(void)
{
	pid_t server = getpid(), pid;
	int sv[2];

	if (geteuid() != 0 || !zh_cfg.user || zh_log_to_stderr())
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (!pid) {
		/* nothing of the server's: its root, /dev/zcdev, its log */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		logd_serve(3, server);
	}
	close(sv[1]);
	logd_fd = sv[0];
	logd_pid = pid;
	return 0;
}

/**
 * zh_logd_open() - a new descriptor of the access log from the opener.
 *
 * Return: the descriptor, -1 with errno set if it could not open the log,
 * or -2 when there is no opener (then the caller opens the log itself).
 */
int zh_logd_open(void)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	int err = 0, fd = -1;
	char req = 'o';
	ssize_t n;

	if (logd_fd < 0)
		return -2;
	iov.iov_base = &err;
	iov.iov_len = sizeof(err);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (send(logd_fd, &req, 1, MSG_NOSIGNAL) != 1)
		goto gone;
	do
		n = recvmsg(logd_fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(err))
		goto gone;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd < 0) {
		errno = err ? err : EIO;
		return -1;
	}
	return fd;
gone:
	/* killed: the log stays as it is, and every SIGHUP says so */
	if (logd_pid > 0 && waitpid(logd_pid, NULL, WNOHANG) == logd_pid)
		logd_pid = 0;
	errno = EPIPE;
	return -1;
}
