#!/bin/sh
# bench/http-guest.sh: the http suite in a guest (bench/guest.sh runs it;
# busybox sh, programs from vm/guest-preload.sh and vm/build-guest.sh).
#
#   http-guest.sh MODE KVER REPS [--sizes 16K,1M,100M] [--conns 1,16,256]
#       [--big-conns 1] [--tls-sizes 1M] [--tls-conns 1,16] [--secs 1]
#       [--big-secs 2] [--parts wrk,sys,mem]
#
# The matrix: wrk -dSECS at each of --sizes x --conns (HTTP) and
# --tls-sizes x --tls-conns (HTTPS); the 100M file at --big-conns for
# --big-secs.  quick (the defaults above): 16K and 1M at 1, 16 and 256
# connections, 100M at 1, HTTPS 1M at 1 and 16, 1 s a cell (2 s for 100M):
# 27 cells a repetition, about two minutes of guest time with the strace
# and memory parts.  full: 16K, 1M, 100M at 1, 16 and 256
# connections, HTTP and HTTPS, 3 s a cell (100M: 6 s; at 256 connections
# 10 times that, for 256 responses of 100M to complete at all).  --parts:
# which of the three kinds below to run (default all); --sizes none or
# --tls-sizes none: no HTTP or no HTTPS cells.
# zchttpd (tools/zchttpd, on libzc) against Debian's nginx 1.22 in the same
# guest, over lo, files on the tmpfs; wrk (Debian's) is the client.  The
# servers, each with an access log on the tmpfs, keep-alive 75 s:
#   http   zchttpd         zc_sendv() per response (header + body)
#          nginx-sf        sendfile on; tcp_nopush on
#          nginx-nosf      sendfile off; output_buffers 2 32k
#   https  zchttpd-ktls    the same zchttpd's TLS listener (kTLS, zcdev)
#          nginx-ktls      ssl_conf_command Options KTLS; sendfile on
#          nginx-tls       user-space TLS (SSL_write), sendfile on
# TLS 1.2 and 1.3 offered, wrk's OpenSSL chooses.
# nginx runs worker_processes auto, zchttpd one worker per CPU (default):
# under icount there is one vCPU, which the server and wrk share.
#
# Per repetition, per cell (size x connections), every server of the
# protocol in turn, the starting server rotating with the repetition, so
# that drift hits all alike.  CSV lines "zcw,", kind:
#   wrk   wrk -t1 -cC -dS: responses, req/s, errors; the server's CPU
#         (utime+stime of its processes, /proc/PID/stat, before/after) per
#         response; zchttpd: its status endpoint's bytes by reference and
#         copied and the reasons over the cell; https: the sockets that got
#         kTLS TX (/proc/net/tls_stat TlsTxSw + TlsTxDevice, delta)
#   sys   one download (curl) of 16K, 1M and the big file with strace -f -y
#         attached to the server: all its syscalls, the sends on the TCP
#         socket (write, writev, sendfile, sendmsg, sendto, splice) plus
#         ioctls on /dev/zcdev, those of them that failed with EAGAIN (the
#         socket was full), the reads of the file, the most frequent calls
#   mem   RSS of the server's processes (VmRSS) with 256 idle keep-alive
#         connections (zcidle, each after one 16K response) minus idle, /256;
#         measured first, before the wrk cells grow the servers' heaps
# Exit status 1 if a server did not start or a cell failed.
mode=$1 k=$2 reps=$3
shift 3
sizes=16K,1M,100M conns=1,16,256 big_conns=1 tls_sizes=1M tls_conns=1,16 secs=1 big_secs=2 parts=wrk,sys,mem
if [ "$mode" = full ]; then
	sizes=16K,1M,100M conns=1,16,256 big_conns=1,16,256 tls_sizes=16K,1M,100M
	tls_conns=1,16,256 secs=3 big_secs=6
fi
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2 ;; --conns) conns=$2 ;; --big-conns) big_conns=$2 ;;
	--tls-sizes) tls_sizes=$2 ;; --tls-conns) tls_conns=$2 ;;
	--secs) secs=$2 ;; --big-secs) big_secs=$2 ;; --parts) parts=$2 ;;
	*) echo "# http-guest.sh: unknown option $1"; exit 1 ;;
	esac
	shift 2
done
BIG=104857600
WWW=${ZC_TMPFS:-/mnt/tmpfs}/www-bench
D=/tmp/zhbench
CERT=/etc/zc-nginx/cert.pem KEY=/etc/zc-nginx/key.pem
t0=$(cut -d' ' -f1 /proc/uptime)
rc=0

part() { case ,$parts, in *,$1,*) return 0 ;; esac; return 1; }
bytes() { # 16K, 1M, 100M -> bytes
	case $1 in
	*K) echo $((${1%K} * 1024)) ;; *M) echo $((${1%M} * 1048576)) ;; *) echo "$1" ;;
	esac
}
for b in /usr/bin/zchttpd /usr/sbin/nginx /usr/bin/wrk /usr/bin/curl /usr/bin/strace /selftests/zcidle; do
	if [ ! -x $b ]; then
		echo "# zcbench http: $b missing (vm/guest-preload.sh, vm/build-guest.sh)"
		exit 1
	fi
done
rm -rf $WWW $D
mkdir -p $WWW $D
for s in 16K 1M 100M; do
	head -c "$(bytes $s)" /dev/urandom > $WWW/f$s || exit 1
done
modprobe tls 2> /dev/null
# the AES-NI and PCLMUL implementations, which udev loads on a real system
# (by CPU feature): without them the kernel's gcm(aes) for kTLS is the
# generic C code while OpenSSL in user space uses AES-NI
modprobe aesni_intel 2> /dev/null
modprobe ghash_clmulni_intel 2> /dev/null

# ---- the servers -----------------------------------------------------------------
# nginx_conf NAME PORT SSL(0|ktls|tls) BODY-DIRECTIVES
nginx_conf() {
	n=$1 port=$2 ssl=$3 body=$4
	mkdir -p $D/$n
	{
		echo "daemon off; master_process on; worker_processes auto; user root root;"
		echo "pid $D/$n/nginx.pid; error_log $D/$n/error.log warn;"
		echo "events { worker_connections 1024; }"
		echo "http {"
		echo "	access_log $D/$n/access.log combined;"
		for t in client_body proxy fastcgi uwsgi scgi; do echo "	${t}_temp_path $D/$n/$t;"; done
		echo "	default_type application/octet-stream;"
		echo "	keepalive_timeout 75s; keepalive_requests 1000000;"
		echo "	$body"
		echo "	server {"
		if [ "$ssl" = 0 ]; then
			echo "		listen 127.0.0.1:$port;"
		else
			echo "		listen 127.0.0.1:$port ssl;"
			echo "		ssl_certificate $CERT; ssl_certificate_key $KEY;"
			echo "		ssl_protocols TLSv1.2 TLSv1.3;"
			[ "$ssl" = ktls ] && echo "		ssl_conf_command Options KTLS;"
		fi
		echo "		root $WWW;"
		echo "	}"
		echo "}"
	} > $D/$n/nginx.conf
}
nginx_conf nginx-sf 8090 0 "sendfile on; tcp_nopush on;"
nginx_conf nginx-nosf 8091 0 "sendfile off; output_buffers 2 32k;"
nginx_conf nginx-ktls 8453 ktls "sendfile on; tcp_nopush on;"
nginx_conf nginx-tls 8454 tls "sendfile on; tcp_nopush on;"

port_of() {
	case $1 in
	zchttpd) echo 8080 ;; zchttpd-ktls) echo 8443 ;;
	nginx-sf) echo 8090 ;; nginx-nosf) echo 8091 ;;
	nginx-ktls) echo 8453 ;; nginx-tls) echo 8454 ;;
	esac
}
scheme_of() { case $1 in *ktls | *-tls) echo https ;; *) echo http ;; esac; }
# listening PORT: a listener on 127.0.0.1:PORT (/proc/net/tcp, state 0A)
listening() {
	grep -q ":$(printf %04X "$1") 00000000:0000 0A" /proc/net/tcp
}
wait_listen() { # PORT PID
	i=0
	while [ $i -lt 200 ]; do
		listening "$1" && return 0
		kill -0 "$2" 2> /dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
/usr/bin/zchttpd -r $WWW -l 127.0.0.1:8080 -L 127.0.0.1:8443 --cert $CERT --key $KEY \
	-s 127.0.0.1:8081 -a $D/zchttpd-access.log --keepalive-timeout 75 \
	> $D/zchttpd.err 2>&1 &
ZH_PID=$!
wait_listen 8080 $ZH_PID && wait_listen 8443 $ZH_PID ||
	{ echo "# zcbench http: zchttpd did not start:"; sed 's/^/#   /' $D/zchttpd.err; exit 1; }
echo "# zchttpd: $(head -n 1 $D/zchttpd.err)"
for n in nginx-sf nginx-nosf nginx-ktls nginx-tls; do
	/usr/sbin/nginx -p $D/$n -c $D/$n/nginx.conf -e $D/$n/error.log > $D/$n/stdout 2>&1 &
	eval "PID_$(echo $n | tr - _)=$!"
	if ! wait_listen "$(port_of $n)" $!; then
		echo "# zcbench http: $n did not start:"
		sed 's/^/#   /' $D/$n/error.log $D/$n/stdout
		rc=1
	fi
done
echo "# $(/usr/sbin/nginx -v 2>&1); $(/usr/bin/wrk -v 2>&1 | head -n 1)"
master() { eval "echo \$PID_$(echo "$1" | tr - _)"; }
# pids NAME: the server's processes (nginx: the master and its workers)
pids() {
	case $1 in
	zchttpd*) echo $ZH_PID ;;
	*)
		m=$(master "$1")
		cat /proc/[0-9]*/stat 2> /dev/null | awk -v m="$m" '$1 == m || $4 == m { print $1 }'
		;;
	esac
}
workers() { # NAME: the processes that serve (nginx: not the master)
	case $1 in
	zchttpd*) echo $ZH_PID ;;
	*)
		m=$(master "$1")
		cat /proc/[0-9]*/stat 2> /dev/null | awk -v m="$m" '$4 == m { print $1 }'
		;;
	esac
}
cpu_ticks() { # PIDS: utime + stime, clock ticks
	t=0
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' /proc/$p/stat)))
	done
	echo $t
}
rss_kb() { # PIDS: VmRSS, KiB
	t=0
	for p in "$@"; do
		t=$((t + $(awk '$1 == "VmRSS:" { print $2 }' /proc/$p/status)))
	done
	echo $t
}
hz=$(getconf CLK_TCK 2> /dev/null || echo 100)
# zchttpd's status endpoint, one "name value" a line (why: "why_NAME N")
zh_status() {
	curl -sS --max-time 30 http://127.0.0.1:8081/ |
		awk '$1 == "why" { print "why_" $2, $3; next } NF == 2 { print }'
}
val() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$2"; }
tls_tx() { awk '$1 == "TlsTxSw" || $1 == "TlsTxDevice" { t += $2 } END { print t + 0 }' /proc/net/tls_stat 2> /dev/null || echo 0; }
curl() { /usr/bin/curl -sS --max-time 600 -k "$@"; }
# warm: every server answers the small files once (and so proves it
# serves; the big one is fetched under strace below)
for n in zchttpd nginx-sf nginx-nosf zchttpd-ktls nginx-ktls nginx-tls; do
	for s in 16K 1M; do
		got=$(curl -o /dev/null -w '%{http_code} %{size_download}' "$(scheme_of $n)://127.0.0.1:$(port_of $n)/f$s")
		if [ "$got" != "200 $(bytes $s)" ]; then
			echo "# zcbench http: $n /f$s: $got"
			rc=1
		fi
	done
done
[ $rc = 0 ] || exit 1

echo "zcw,kernel,kind,server,proto,size,conns,rep,secs,responses,rps,mibps,errors,cpu_ticks,cpu_ns_resp,zc_bytes,copied_bytes,why,ktls_tx,syscalls,sends,eagain,file_reads,calls,rss_idle_kb,rss_kb,conns_open,bytes_per_conn"

# ---- memory per connection: 256 idle keep-alive connections ------------------------
# First, before any wrk cell: RSS keeps a heap's high-water mark, so after the
# 256-connection cells every server's idle RSS already holds 256 connections.
for n in zchttpd nginx-sf nginx-nosf; do
	part mem || break
	# shellcheck disable=SC2046 # a list of pids
	set -- $(pids $n)
	port=$(port_of $n)
	sleep 1
	idle=$(rss_kb "$@")
	rm -f $D/idle.out
	/selftests/zcidle 127.0.0.1 "$port" 256 /f16K 600 > $D/idle.out 2> $D/idle.err &
	ipid=$!
	i=0
	while ! grep -q '^zcidle open' $D/idle.out 2> /dev/null && [ $i -lt 3000 ]; do
		kill -0 $ipid 2> /dev/null || break
		sleep 0.2
		i=$((i + 1))
	done
	sleep 1
	busy=$(rss_kb "$@")
	# the server side's established connections (state 01) on the port
	est=$(grep -c "^ *[0-9]*: 0100007F:$(printf %04X "$port") [0-9A-F]*:[0-9A-F]* 01 " /proc/net/tcp)
	kill -TERM $ipid
	wait $ipid
	opened=$(sed -n 's/^zcidle open //p' $D/idle.out)
	still=$(sed -n 's/^zcidle still_open //p' $D/idle.out)
	if [ "$opened" != 256 ] || [ "$still" != 256 ] || [ "$est" != 256 ]; then
		echo "# zcbench http: $n: zcidle opened ${opened:-?}, still open ${still:-?}, server side established $est"
		sed 's/^/#   /' $D/idle.err
		rc=1
	fi
	echo "zcw,$k,mem,$n,http,$(bytes 16K),256,1,,,,,,,,,,,,,,,,,$idle,$busy,$est,$(((busy - idle) * 1024 / 256))"
done

# ---- wrk cells ----------------------------------------------------------------------
# cell PROTO SIZE CONNS REP SERVER
cell() {
	proto=$1 size=$2 c=$3 rep=$4 n=$5
	sb=$(bytes "$size")
	d=$secs
	[ "$sb" -ge $BIG ] && d=$big_secs
	[ "$sb" -ge $BIG ] && [ "$c" -ge 256 ] && d=$((big_secs * 10))
	# shellcheck disable=SC2046 # a list of pids
	set -- $(pids $n)
	zc='' cp='' why='' ktls=''
	[ "$n" = zchttpd ] || [ "$n" = zchttpd-ktls ] && zh_status > $D/st0
	x0=$(tls_tx)
	c0=$(cpu_ticks "$@")
	wrk -t1 -c"$c" -d"${d}s" --timeout 120s "$(scheme_of $n)://127.0.0.1:$(port_of $n)/f$size" > $D/wrk.out 2>&1
	wrc=$?
	# the responses in flight when wrk stopped end in this cell, not the next
	settle "$(port_of $n)"
	c1=$(cpu_ticks "$@")
	x1=$(tls_tx)
	resp=$(awk '/ requests in / { print $1 }' $D/wrk.out)
	rps=$(awk '$1 == "Requests/sec:" { print $2 }' $D/wrk.out)
	# socket errors and non-2xx answers
	errs=$(awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
		/Non-2xx/ { e += $NF } END { print e + 0 }' $D/wrk.out)
	if [ $wrc != 0 ] || [ -z "$resp" ] || [ "$resp" = 0 ]; then
		echo "# zcbench http: $n $size c$c: wrk exit $wrc:"
		sed 's/^/#   /' $D/wrk.out
		rc=1
		resp=0 rps=0
	fi
	if [ "$n" = zchttpd ] || [ "$n" = zchttpd-ktls ]; then
		zh_status > $D/st1
		zc=$(($(val bytes_zerocopy $D/st1) - $(val bytes_zerocopy $D/st0)))
		cp=$(($(val bytes_copied $D/st1) - $(val bytes_copied $D/st0)))
		sw=$(($(val bytes_ssl_write $D/st1) - $(val bytes_ssl_write $D/st0)))
		why=$(cat $D/st0 $D/st1 | awk '$1 ~ /^why_/ { if ($1 in a) d[$1] = $2 - a[$1]; else { a[$1] = $2; d[$1] = $2 } }
			END { for (w in d) if (d[w] > 0) { printf "%s%s:%d", s, substr(w, 5), d[w]; s = ";" } }')
		[ "$sw" -gt 0 ] && why="${why:+$why;}ssl_write_bytes:$sw"
	fi
	[ "$proto" = https ] && ktls=$((x1 - x0))
	awk -v k="$k" -v n="$n" -v p="$proto" -v s="$sb" -v c="$c" -v r="$rep" -v d="$d" \
		-v resp="$resp" -v rps="$rps" -v e="$errs" -v t=$((c1 - c0)) -v hz="$hz" \
		-v zc="$zc" -v cp="$cp" -v why="$why" -v x="$ktls" 'BEGIN {
		printf "zcw,%s,wrk,%s,%s,%s,%s,%s,%s,%s,%.1f,%.1f,%s,%s,%s,%s,%s,%s,%s,,,,,,,,,\n",
			k, n, p, s, c, r, d, resp, rps, rps * s / 1048576, e, t,
			(resp > 0 ? sprintf("%.0f", t * 1e9 / hz / resp) : ""), zc, cp, why, x }'
}
# settle PORT: wait (at most 20 s) until the server has closed every
# connection on PORT (/proc/net/tcp: none but the listener and TIME_WAIT)
settle() {
	i=0
	while [ $i -lt 200 ]; do
		awk -v p=":$(printf %04X "$1")" '$2 ~ p "$" && $4 != "0A" && $4 != "06" { n++ } END { exit n > 0 }' /proc/net/tcp && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# zcbench http: connections on port $1 still open 20 s after wrk"
}
# rotate "a b c" I: the list starting at its I-th (0-based, modulo) element
rotate() {
	echo "$1" | awk -v i="$2" '{ for (j = 0; j < NF; j++) printf "%s%s", (j ? " " : ""), $((i + j) % NF + 1); print "" }'
}
http_servers="zchttpd nginx-sf nginx-nosf"
https_servers="zchttpd-ktls nginx-ktls nginx-tls"
rep=1
part wrk || rep=$((reps + 1))
while [ $rep -le "$reps" ]; do
	for s in $(echo "$sizes" | tr , ' '); do
		[ "$s" = none ] && continue
		cl=$conns
		[ "$(bytes $s)" -ge $BIG ] && cl=$big_conns
		for c in $(echo "$cl" | tr , ' '); do
			for n in $(rotate "$http_servers" $((rep - 1))); do cell http "$s" "$c" $rep $n; done
		done
	done
	for s in $(echo "$tls_sizes" | tr , ' '); do
		[ "$s" = none ] && continue
		cl=$tls_conns
		[ "$(bytes $s)" -ge $BIG ] && cl=$big_conns
		for c in $(echo "$cl" | tr , ' '); do
			for n in $(rotate "$https_servers" $((rep - 1))); do cell https "$s" "$c" $rep $n; done
		done
	done
	echo "# http: repetition $rep of $reps done at $(cut -d' ' -f1 /proc/uptime) s"
	rep=$((rep + 1))
done

# ---- syscalls per response: one download under strace ------------------------------
# traced SERVER SIZE
traced() {
	n=$1 size=$2
	# shellcheck disable=SC2046 # a list of pids
	set -- $(workers $n)
	args=
	for p in "$@"; do args="$args -p $p"; done
	rm -f $D/strace.out
	# shellcheck disable=SC2086 # the -p options
	strace -f -qq -yy -s 0 -o $D/strace.out $args 2> $D/strace.err &
	spid=$!
	# attached: every thread of the workers has a tracer
	i=0
	while [ $i -lt 100 ]; do
		untraced=$(for p in "$@"; do cat /proc/$p/task/*/status; done 2> /dev/null |
			awk '$1 == "TracerPid:" && $2 == 0' | wc -l)
		[ "$untraced" = 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	got=$(curl -o /dev/null -w '%{http_code} %{size_download}' "$(scheme_of $n)://127.0.0.1:$(port_of $n)/f$size")
	# the access-log line and the close come after the last byte
	sleep 1
	kill -INT $spid
	wait $spid
	if [ "$got" != "200 $(bytes $size)" ] || [ "$untraced" != 0 ]; then
		echo "# zcbench http: strace of $n /f$size: curl $got, $untraced threads not traced"
		sed 's/^/#   /' $D/strace.err
		rc=1
		return
	fi
	# "PID name(fd<what>, ...) = ret": calls that did not finish while
	# traced are counted once (their "unfinished" line)
	awk '{ sub(/^[0-9]+ +/, "") }
		/^<\.\.\. / || /^\+\+\+/ || /^---/ { next }
		{
			name = $0; sub(/\(.*/, "", name)
			arg = $0; sub(/^[^(]*\(/, "", arg)
			tot++; cnt[name]++
			send = name ~ /^(write|writev|sendfile|sendfile64|sendmsg|sendto|sendmmsg|splice)$/ && arg ~ /^[0-9]+<TCP/
			send = send || (name == "ioctl" && arg ~ /^[0-9]+<\/dev\/zcdev[<>]/)
			if (send) sends++
			if (send && $0 ~ /= -1 EAGAIN/) eagain++
			if (name ~ /^(read|pread64|readv|preadv|preadv2)$/ && arg ~ /^[0-9]+<[^>]*www-bench/) reads++
		}
		END {
			# the eight most frequent calls, "name:count;..."
			for (j = 1; j <= 8; j++) {
				best = ""
				for (c in cnt)
					if (!(c in used) && (best == "" || cnt[c] > cnt[best])) best = c
				if (best == "") break
				used[best] = 1
				top = top (j > 1 ? ";" : "") best ":" cnt[best]
			}
			printf "%d %d %d %d %s\n", tot, sends, eagain, reads, top
		}' $D/strace.out > $D/strace.sum
	read -r tot sends eagain reads calls < $D/strace.sum
	echo "zcw,$k,sys,$n,$(scheme_of $n),$(bytes $size),1,1,,1,,,,,,,,,,$tot,$sends,$eagain,$reads,$calls,,,,"
}
for s in 16K 1M 100M; do
	part sys || break
	for n in zchttpd nginx-sf nginx-nosf zchttpd-ktls nginx-ktls nginx-tls; do
		traced $n $s
	done
done


# ---- the servers' own words -----------------------------------------------------------
# which gcm(aes) the kernel's kTLS gets (the highest priority; listed once used)
echo "# kernel gcm(aes): $(awk '$1 == "name" { n = $3 } $1 == "driver" { d = $3 } $1 == "priority" && n == "gcm(aes)" { print d " (priority " $3 ")" }' /proc/crypto | sort -t'(' -k2 -rn | tr '\n' ' ')"
echo "# zchttpd status at the end:"
zh_status | sed 's/^/#   /'
echo "# zchttpd access log, last line: $(tail -n 1 $D/zchttpd-access.log)"
for n in nginx-sf nginx-nosf nginx-ktls nginx-tls; do
	[ -s $D/$n/error.log ] && { echo "# $n error.log:"; tail -n 5 $D/$n/error.log | sed 's/^/#   /'; }
done
all=$ZH_PID
kill -TERM $ZH_PID
for n in nginx-sf nginx-nosf nginx-ktls nginx-tls; do
	eval "p=\$PID_$(echo $n | tr - _)"
	kill -QUIT "$p"
	all="$all $p"
done
i=0
for p in $all; do
	while kill -0 "$p" 2> /dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -0 "$p" 2> /dev/null && { echo "# zcbench http: pid $p did not exit"; kill -KILL "$p"; rc=1; }
done
rm -rf $WWW
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# zcbench done in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (suite http)"
exit $rc
