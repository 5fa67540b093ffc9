#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# libzc_preload_nginx: Debian's nginx with "sendfile on" under
# LD_PRELOAD=libzc-preload.so, in the guest (vm/guest-preload.sh stages
# nginx, curl and their libraries).  Debian's curl downloads a file from
# tmpfs over lo, over the veth (zc0) and over the veth without
# scatter-gather (zc1, from netns nosg), and over HTTPS with
# "ssl_conf_command Options KTLS"; each download is compared by sha256 with
# the file, and the preload's log and the module's counters
# (/sys/class/misc/zcdev/stats) must say how its bytes went: by reference,
# copied because of no_sg, copied because of ktls.  KTAP on stdout.

SO=/usr/lib/zcdev/libzc-preload.so
WWW=${ZC_TMPFS:-/mnt/tmpfs}/www
NGX=/tmp/ngx
LOG=/tmp/ngx/zc-preload.log
STATS=/sys/class/misc/zcdev/stats
SIZE=2097152
N=0 FAILED=0
PLAN=19

echo "KTAP version 1"
echo "1..$PLAN"
ok() { N=$((N + 1)); echo "ok $N $1${2:+ # $2}"; }
nok() { N=$((N + 1)); FAILED=1; echo "not ok $N $1${2:+ # $2}"; }
diag() { sed 's/^/# /' "$@"; }
skip_rest() {	# skip_rest WHY: the remaining results skip
	while [ $N -lt $PLAN ]; do N=$((N + 1)); echo "ok $N preload_nginx.skipped # SKIP $1"; done
	exit 4
}
stat_of() { cat $STATS/$1 2>/dev/null || echo 0; }

for b in /usr/sbin/nginx /usr/bin/curl $SO; do
	[ -x $b ] || skip_rest "$b not staged (vm/guest-preload.sh)"
done

mkdir -p $WWW $NGX
head -c $SIZE /dev/urandom > $WWW/f.bin
want=$(sha256sum $WWW/f.bin | cut -d' ' -f1)
modprobe tls 2>/dev/null
cat > $NGX/nginx.conf <<EOF
daemon off;
master_process on;
worker_processes 1;
user root root;
pid $NGX/nginx.pid;
error_log $NGX/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/proxy;
	fastcgi_temp_path $NGX/fastcgi;
	uwsgi_temp_path $NGX/uwsgi;
	scgi_temp_path $NGX/scgi;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 0;
	server {
		listen 8080;
		root $WWW;
	}
	server {
		listen 8443 ssl;
		ssl_certificate /etc/zc-nginx/cert.pem;
		ssl_certificate_key /etc/zc-nginx/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_conf_command Options KTLS;
		root $WWW;
	}
}
EOF

# ---- start --------------------------------------------------------------
# start_nginx LOG: nginx under the preload, logging to LOG; 0 once it listens
start_nginx() {
	rm -f "$1"
	env LD_PRELOAD=$SO ZC_PRELOAD_LOG=$1 ZC_PRELOAD_LOG_EVERY=1 \
		/usr/sbin/nginx -p $NGX -c $NGX/nginx.conf -e $NGX/error.log \
		> $NGX/stdout 2>&1 &
	NGINX_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		grep -q ':1F90 00000000:0000 0A' /proc/net/tcp 2>/dev/null &&
			grep -q ':20FB 00000000:0000 0A' /proc/net/tcp 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# stop_nginx: SIGQUIT (graceful: the worker's destructor writes its totals)
stop_nginx() {
	kill -QUIT $NGINX_PID
	i=0
	while kill -0 $NGINX_PID 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 $NGINX_PID 2>/dev/null; then
		kill -KILL $NGINX_PID
		return 1
	fi
}
if start_nginx $LOG; then
	ok preload_nginx.starts "$(/usr/sbin/nginx -v 2>&1)"
else
	diag $NGX/error.log $NGX/stdout
	nok preload_nginx.starts
	kill $NGINX_PID 2>/dev/null
	skip_rest "nginx did not start"
fi

# fetch NAME URL [NETNS] [CURL OPTIONS...]: download, check sha256, then
# the preload's last progress line and the counters' deltas
fetch() {
	name=$1 url=$2 ns=$3
	shift 3
	zc0=$(stat_of bytes_zerocopy) cp0=$(stat_of bytes_copied)
	sg0=$(stat_of bytes_why_no_sg) tls0=$(stat_of bytes_why_ktls)
	lines0=$(cat $LOG 2>/dev/null | wc -l)
	rm -f /tmp/ngx/got
	if [ -n "$ns" ]; then
		ip netns exec $ns /usr/bin/curl -sS --max-time 30 "$@" -o /tmp/ngx/got "$url" > /tmp/ngx/curl.err 2>&1
	else
		/usr/bin/curl -sS --max-time 30 "$@" -o /tmp/ngx/got "$url" > /tmp/ngx/curl.err 2>&1
	fi
	rc=$?
	got=$(sha256sum /tmp/ngx/got 2>/dev/null | cut -d' ' -f1)
	if [ $rc = 0 ] && [ "$got" = "$want" ]; then
		ok "preload_nginx.$name.byte_exact" "sha256 $got"
	else
		diag /tmp/ngx/curl.err
		nok "preload_nginx.$name.byte_exact" "curl rc=$rc sha256 ${got:-none}"
	fi
	# the connection's last progress line (cumulative for that connection)
	tail -n +$((lines0 + 1)) $LOG 2>/dev/null | grep ' progress ' | tail -n 1 > /tmp/ngx/line
	LINE=$(sed 's/^zc-preload\[[0-9]*\]: //' /tmp/ngx/line)
	DZC=$(($(stat_of bytes_zerocopy) - zc0)) DCP=$(($(stat_of bytes_copied) - cp0))
	DSG=$(($(stat_of bytes_why_no_sg) - sg0)) DTLS=$(($(stat_of bytes_why_ktls) - tls0))
	echo "# $name: log: ${LINE:-<no sendfile call>}"
	echo "# $name: module counters: +$DZC by reference, +$DCP copied (no_sg +$DSG, ktls +$DTLS)"
}
has() { case " $LINE " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- lo, the veth, the veth without scatter-gather --------------------------
# expect_zerocopy NAME: the last fetch went by reference, log and counters
expect_zerocopy() {
	if has "bytes=$SIZE" && has "zc=$SIZE" && has "copied=0" && has "path=zerocopy"; then
		ok "preload_nginx.$1.log_zerocopy"
	else
		nok "preload_nginx.$1.log_zerocopy" "$LINE"
	fi
	[ $DZC = $SIZE ] && [ $DCP = 0 ] && ok "preload_nginx.$1.module_counters" ||
		nok "preload_nginx.$1.module_counters" "+$DZC zc +$DCP copied"
}
fetch lo http://127.0.0.1:8080/f.bin ""
expect_zerocopy lo
fetch veth http://198.51.100.1:8080/f.bin veth
expect_zerocopy veth

fetch nosg http://203.0.113.1:8080/f.bin nosg
case " $LINE " in *" why="*no_sg*) why_ok=1 ;; *) why_ok=0 ;; esac
if has "bytes=$SIZE" && has "zc=0" && has "copied=$SIZE" && has "path=copy" && [ $why_ok = 1 ]; then
	ok preload_nginx.nosg.log_copied_no_sg
else
	nok preload_nginx.nosg.log_copied_no_sg "$LINE"
fi
[ $DCP = $SIZE ] && [ $DSG = $SIZE ] && [ $DZC = 0 ] && ok preload_nginx.nosg.module_counters ||
	nok preload_nginx.nosg.module_counters "+$DZC zc +$DCP copied +$DSG no_sg"

# ---- HTTPS with kTLS -----------------------------------------------------------
fetch ktls https://127.0.0.1:8443/f.bin "" -k --tlsv1.2 --tls-max 1.2
if [ -z "$LINE" ]; then
	# nginx used SSL_write, not SSL_sendfile: kTLS was not enabled
	echo "# no sendfile on the TLS connection; nginx error.log:"
	grep -iE 'ktls|ssl|sendfile' $NGX/error.log | tail -n 5 | sed 's/^/#   /'
	nok preload_nginx.ktls.log_copied_ktls "no SSL_sendfile: kTLS not in use"
	nok preload_nginx.ktls.module_counters "no SSL_sendfile: kTLS not in use"
else
	case " $LINE " in *" why="*ktls*) why_ok=1 ;; *) why_ok=0 ;; esac
	if has "bytes=$SIZE" && has "copied=$SIZE" && [ $why_ok = 1 ]; then
		ok preload_nginx.ktls.log_copied_ktls
	else
		nok preload_nginx.ktls.log_copied_ktls "$LINE"
	fi
	[ $DTLS = $SIZE ] && [ $DCP = $SIZE ] && ok preload_nginx.ktls.module_counters ||
		nok preload_nginx.ktls.module_counters "+$DCP copied +$DTLS ktls"
fi

# ---- quit: per-connection lines and the worker's exit totals -------------------
stop_nginx && ok preload_nginx.quit || nok preload_nginx.quit "nginx did not exit on SIGQUIT"
echo "# the preload's log without progress lines:"
grep -v ' progress ' $LOG | sed 's/^/#   /'
nconn=$(grep -c ': conn ' $LOG)
[ "$nconn" -ge 3 ] && ok preload_nginx.log_conn_lines "$nconn" ||
	nok preload_nginx.log_conn_lines "$nconn conn lines"
LINE=$(grep ': exit ' $LOG | sed 's/^zc-preload\[[0-9]*\]: //' | tail -n 1)
# (errors: the EAGAINs of nginx's nonblocking sockets, eagain=N; unknown=0:
# no byte went by the real sendfile)
if has "bytes=$((4 * SIZE))" && has "zc=$((2 * SIZE))" && has "copied=$((2 * SIZE))" &&
   has "unknown=0" && has "path=mixed"; then
	case " $LINE " in *" copied_why="*no_sg:$SIZE*ktls:$SIZE*) ok preload_nginx.log_exit_totals ;;
	*) nok preload_nginx.log_exit_totals "$LINE" ;; esac
else
	nok preload_nginx.log_exit_totals "${LINE:-no exit line}"
fi

# ---- without the module: the real sendfile(2), silently ------------------------
LOG=/tmp/ngx/zc-preload-nomod.log
if rmmod zcdev 2>/tmp/ngx/rmmod.err && start_nginx $LOG; then
	fetch no_module http://127.0.0.1:8080/f.bin ""
	stop_nginx
	LINE=$(grep ': exit ' $LOG | sed 's/^zc-preload\[[0-9]*\]: //' | tail -n 1)
	echo "# no_module: exit: $LINE"
	if has "bytes=$SIZE" && has "zc=0" && has "unknown=$SIZE" && has "path=unknown" &&
	   has "device=absent"; then
		ok preload_nginx.no_module.log_unknown
	else
		nok preload_nginx.no_module.log_unknown "${LINE:-no exit line}"
	fi
	if grep -qv '^zc-preload\[' $NGX/stdout 2>/dev/null; then
		nok preload_nginx.no_module.silent "$(head -c 200 $NGX/stdout)"
	else
		ok preload_nginx.no_module.silent
	fi
else
	diag /tmp/ngx/rmmod.err
	nok preload_nginx.no_module.byte_exact "rmmod or nginx start failed"
	nok preload_nginx.no_module.log_unknown
	nok preload_nginx.no_module.silent
	kill $NGINX_PID 2>/dev/null
fi
[ -e /sys/module/zcdev ] || insmod ${ZC_MODULE:-/zcdev.ko}
exit $FAILED
