// SPDX-License-Identifier: GPL-2.0
/*
 * zchttpd: command-line options and listen addresses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "zchttpd.h"

struct zh_config zh_cfg = {
	.max_conns = 1024,
	.header_max = 8192,
	.header_count_max = 64,
	.header_timeout = 10,
	.send_timeout = 30,
	.keepalive_timeout = 15,
	.drain_timeout = 30,
	.pool_threads = 2,
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: zchttpd -r ROOT [options]\n"
"  -r, --root DIR             document root\n"
"  -l, --listen ADDR:PORT     listen address (repeatable; default [::]:8080,\n"
"                             dual stack)\n"
"  -L, --listen-tls ADDR:PORT HTTPS listen address (repeatable; kTLS when\n"
"                             the kernel and the cipher allow)\n"
"      --cert FILE            TLS certificate chain (PEM)\n"
"      --key FILE             TLS private key (PEM)\n"
"      --no-ktls              TLS in user space only (SSL_write)\n"
"  -s, --status ADDR:PORT     status listener (default none; e.g. 127.0.0.1:8081)\n"
"  -a, --access-log FILE      access log (default: stderr)\n"
"  -u, --user UID[:GID]       drop to this uid/gid after binding when root\n"
"  -w, --workers N            SO_REUSEPORT workers (default: one per CPU)\n"
"  -c, --max-conns N          connection limit (default 1024)\n"
"      --header-max BYTES     request header size limit (default 8192)\n"
"      --header-count N       request header count limit (default 64)\n"
"      --header-timeout S     slow request header timeout (default 10)\n"
"      --send-timeout S       slow reader timeout (default 30)\n"
"      --keepalive-timeout S  idle keep-alive timeout (default 15)\n"
"      --drain-timeout S      SIGTERM: longest wait for responses (default 30)\n"
"      --pool N               page-cache warming threads (default 2)\n"
"      --follow-symlinks      allow symbolic links (still below the root)\n"
"      --fallback             do not open /dev/zcdev (libzc's fallback)\n");
}

static int num(const char *s, int min)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > 1 << 30) {
		fprintf(stderr, "zchttpd: bad number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

/**
 * zh_parse_args() - fill zh_cfg from the command line.
 * @argc: argument count.
 * @argv: arguments.
 *
 * Return: 0, or exits with status 2 on a usage error.
 */
int zh_parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "listen", required_argument, NULL, 'l' },
		{ "listen-tls", required_argument, NULL, 'L' },
		{ "cert", required_argument, NULL, 10 },
		{ "key", required_argument, NULL, 11 },
		{ "no-ktls", no_argument, NULL, 12 },
		{ "status", required_argument, NULL, 's' },
		{ "access-log", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "header-max", required_argument, NULL, 1 },
		{ "header-count", required_argument, NULL, 2 },
		{ "header-timeout", required_argument, NULL, 3 },
		{ "send-timeout", required_argument, NULL, 4 },
		{ "keepalive-timeout", required_argument, NULL, 5 },
		{ "drain-timeout", required_argument, NULL, 6 },
		{ "pool", required_argument, NULL, 7 },
		{ "follow-symlinks", no_argument, NULL, 8 },
		{ "fallback", no_argument, NULL, 9 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o;

	while ((o = getopt_long(argc, argv, "r:l:L:s:a:u:w:c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'r': zh_cfg.root = optarg; break;
		case 'l':
		case 'L':
			if (zh_cfg.nr_listen == ZH_MAX_LISTEN) {
				fprintf(stderr, "zchttpd: more than %d listeners\n", ZH_MAX_LISTEN);
				exit(2);
			}
			zh_cfg.listen_tls[zh_cfg.nr_listen] = o == 'L';
			zh_cfg.listen[zh_cfg.nr_listen++] = optarg;
			break;
		case 10: zh_cfg.cert = optarg; break;
		case 11: zh_cfg.key = optarg; break;
		case 12: zh_cfg.no_ktls = true; break;
		case 's': zh_cfg.status_listen = optarg; break;
		case 'a': zh_cfg.access_log = optarg; break;
		case 'u': zh_cfg.user = optarg; break;
		case 'w': zh_cfg.workers = num(optarg, 1); break;
		case 'c': zh_cfg.max_conns = num(optarg, 1); break;
		case 1: zh_cfg.header_max = num(optarg, 256); break;
		case 2: zh_cfg.header_count_max = num(optarg, 1); break;
		case 3: zh_cfg.header_timeout = num(optarg, 1); break;
		case 4: zh_cfg.send_timeout = num(optarg, 1); break;
		case 5: zh_cfg.keepalive_timeout = num(optarg, 1); break;
		case 6: zh_cfg.drain_timeout = num(optarg, 0); break;
		case 7: zh_cfg.pool_threads = num(optarg, 1); break;
		case 8: zh_cfg.follow_symlinks = true; break;
		case 9: zh_cfg.fallback = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (!zh_cfg.root || optind != argc) {
		usage(stderr);
		exit(2);
	}
	if (!zh_cfg.nr_listen)
		zh_cfg.listen[zh_cfg.nr_listen++] = "[::]:8080";
	if (!zh_cfg.workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		zh_cfg.workers = n > 0 ? (int)n : 1;
	}
	return 0;
}

/**
 * zh_parse_addr() - parse "a.b.c.d:port" or "[v6]:port".
 * @s: the text.
 * @ss: the address.
 * @len: its length.
 *
 * Return: 0 or -EINVAL.
 */
int zh_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	size_t hl;
	int port;

	if (!colon || colon == s)
		return -22;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return -22;
	memcpy(host, s, hl);
	host[hl] = '\0';
	port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return -22;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -22;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -22;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}
