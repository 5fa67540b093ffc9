// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: start-up (root, libzc handle, listeners, privileges, workers)
 * and signals: SIGHUP reopens the access log, SIGTERM/SIGINT drain
 * (bounded by --drain-timeout; a second one ends the process).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "zchttpd.h"

struct zc *zh_zc;
int zh_root_fd = -1;
volatile int zh_draining;
int zh_workers_running;

/*
 * SIGTERM/SIGINT: stop accepting, let the workers finish the responses in
 * flight (idle keep-alive connections are closed), for at most
 * --drain-timeout seconds; a second SIGTERM/SIGINT, or the timeout, ends
 * the process at once (exit status 1, the connections left are reset by
 * the kernel).  Return: the exit status.
 */
static int drain(struct zh_worker *w, pthread_t *t, const sigset_t *set, int sig)
{
	struct timespec step = { .tv_nsec = 100 * 1000 * 1000 };
	time_t deadline = time(NULL) + zh_cfg.drain_timeout;
	int i, left;

	zh_err("signal %d: draining (at most %d s; a second signal ends it now)",
	       sig, zh_cfg.drain_timeout);
	zh_draining = 1;
	for (i = 0; i < zh_cfg.workers; i++)
		zh_worker_wake(&w[i]);
	while ((left = __atomic_load_n(&zh_workers_running, __ATOMIC_ACQUIRE)) > 0) {
		sig = sigtimedwait(set, NULL, &step);
		if (sig == SIGHUP) {
			zh_log_reopen();
		} else if (sig > 0 || time(NULL) >= deadline) {
			zh_err("%s: %d connections still open, %d workers busy: exiting now",
			       sig > 0 ? "second signal" : "drain timeout",
			       __atomic_load_n(&zh_nr_conns, __ATOMIC_RELAXED), left);
			return 1;
		}
	}
	for (i = 0; i < zh_cfg.workers; i++)
		pthread_join(t[i], NULL);
	zh_pool_stop();
	zh_err("drained, exiting");
	zc_close(zh_zc);
	return 0;
}

static int drop_privileges(void)
{
	unsigned long uid, gid;
	char *end;

	if (geteuid() != 0)
		return 0;
	if (!zh_cfg.user) {
		zh_err("running as root (no --user): privileges kept");
		return 0;
	}
	uid = strtoul(zh_cfg.user, &end, 10);
	gid = *end == ':' ? strtoul(end + 1, &end, 10) : uid;
	if (*end) {
		zh_err("--user takes UID[:GID]");
		return -EINVAL;
	}
	if (setgroups(0, NULL) || setgid((gid_t)gid) || setuid((uid_t)uid))
		return -errno;
	zh_err("dropped privileges to %lu:%lu", uid, gid);
	return 0;
}

int main(int argc, char **argv)
{
	struct zh_worker *w;
	pthread_t *t;
	sigset_t set;
	int i, r, sig;

	zh_parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	zh_root_fd = open(zh_cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (zh_root_fd < 0) {
		zh_err("root %s: %s", zh_cfg.root, strerror(errno));
		return 1;
	}
	r = zc_open(&zh_zc, NULL, zh_cfg.fallback ? ZC_OPEN_FALLBACK : 0);
	if (r < 0) {
		zh_err("zc_open: %s", strerror(-r));
		return 1;
	}
	if (zc_is_fallback(zh_zc))
		zh_err("no /dev/zcdev: running on libzc's fallback (sendfile(2), no zero-copy report, no cold-range warming)");
	else
		zh_err("zcdev: bodies sent with ZCDEV_SEND_CACHED_ONLY");
	for (i = 0; i < zh_cfg.nr_listen; i++) {
		if (!zh_cfg.listen_tls[i])
			continue;
		if (zh_tls_init() < 0)
			return 1;
		if (zh_cfg.no_ktls)
			zh_err("TLS (%s): user space only (--no-ktls): SSL_write",
			       OpenSSL_version(OPENSSL_VERSION));
		else
			zh_err("TLS (%s): SSL_OP_ENABLE_KTLS; bodies through zcdev when the kernel has the keys, else SSL_write",
			       OpenSSL_version(OPENSSL_VERSION));
		break;
	}
	if (zh_log_open() < 0) {
		zh_err("access log %s: %s", zh_cfg.access_log, strerror(errno));
		return 1;
	}
	/* before any thread: SIGHUP's reopen after --user (logd.c) */
	r = zh_logd_start();
	if (r < 0) {
		zh_err("access log opener: %s", strerror(-r));
		return 1;
	}
	/*
	 * Blocked before any thread starts (the status thread, the pool, the
	 * workers inherit the mask): only sigwait() below takes them, else a
	 * SIGHUP that finds a thread with it unblocked kills the process.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	w = calloc((size_t)zh_cfg.workers, sizeof(*w));
	t = calloc((size_t)zh_cfg.workers, sizeof(*t));
	if (!w || !t)
		return 1;
	for (i = 0; i < zh_cfg.workers; i++)
		if (zh_worker_init(&w[i], i) < 0)
			return 1;
	if (zh_cfg.status_listen) {
		int sfd = zh_listen_socket(zh_cfg.status_listen);

		if (sfd < 0) {
			zh_err("status %s: %s", zh_cfg.status_listen, strerror(-sfd));
			return 1;
		}
		fcntl(sfd, F_SETFL, 0);
		zh_status_start(sfd);
	}
	if (drop_privileges() < 0) {
		zh_err("cannot drop privileges");
		return 1;
	}
	if (zh_pool_start(zh_cfg.pool_threads) < 0)
		return 1;
	zh_workers_running = zh_cfg.workers;
	for (i = 0; i < zh_cfg.workers; i++)
		pthread_create(&t[i], NULL, zh_worker_run, &w[i]);
	zh_err("%d workers, root %s, listening on %s%s", zh_cfg.workers, zh_cfg.root,
	       zh_cfg.listen[0], zh_cfg.nr_listen > 1 ? " ..." : "");
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig != SIGHUP)
			break;
		zh_log_reopen();
	}
	r = drain(w, t, &set, sig);
	if (r)
		_exit(r);	/* the workers are still running: no cleanup */
	free(w);
	free(t);
	return 0;
}
