#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# zchttpd: the static HTTP server of tools/zchttpd in the guest, against
# Debian's curl and wrk (vm/guest-preload.sh stages them with their
# libraries) and raw sockets (busybox nc).  Every expectation comes from
# the file served (cmp, stat, tail/head), from curl or wrk, or from the
# kernel (the module's counters in /sys/class/misc/zcdev/stats,
# /proc/net/tcp, ss, fincore, exit statuses): sizes 0 to 64 MiB
# byte-exact, IPv6, ranges and 416, 304 by ETag and by date, HEAD,
# keep-alive reuse, pipelining, 405, traversal attempts, the seeded request
# fuzzer, a cold ext4 file, hot requests answered in under 1 s while a
# cold file comes in from a throttled disk, 256 connections at once (wrk),
# HTTPS with kTLS (TLS 1.2, 1.3) and with SSL_write (a cipher without
# kTLS), the access log's report against the module's counters, the
# status listener's totals against them, SIGTERM draining a
# download in flight, the server without the module, and SIGHUP's log
# reopen (as root, and after --user through its opener).  KTAP on stdout.

WWW=${ZC_TMPFS:-/mnt/tmpfs}/www
COLD=${ZC_EXT4:-/mnt/ext4}/zchttpd-cold
D=/tmp/zh
LOG=$D/access.log
STATS=/sys/class/misc/zcdev/stats
URL=http://127.0.0.1:8080
N=0 FAILED=0
SCALE=${ZC_TIMEOUT_SCALE:-1}	# vm/init: zc.timeout_scale (the debug kernel: 8)
PLAN=63

echo "KTAP version 1"
echo "1..$PLAN"
ok() { N=$((N + 1)); echo "ok $N $1${2:+ # $2}"; }
nok() { N=$((N + 1)); FAILED=1; echo "not ok $N $1${2:+ # $2}"; }
check() {	# check NAME DIAG 'CONDITION': ok when the shell CONDITION holds
	if eval "$3"; then ok "$1"; else nok "$1" "$2"; fi
}
diag() { sed 's/^/# /' "$@"; }
skip_rest() {	# a missing prerequisite fails every remaining result
	while [ $N -lt $PLAN ]; do nok "zchttpd.not_run" "$1"; done
	exit 1
}
stat_of() { cat $STATS/$1 2>/dev/null || echo 0; }
# log_mark; ...; log_line PATTERN: LINE = the first access-log line after
# the mark matching PATTERN, waiting up to 10 s (the line is written once
# the response is complete, which curl may see first)
log_mark() { MARK=$(cat $LOG 2>/dev/null | wc -l); }
log_line() {
	i=0
	while :; do
		LINE=$(tail -n +$((MARK + 1)) $LOG | grep "$1" | head -n 1)
		[ -n "$LINE" ] || [ $i -ge 100 ] && break
		sleep 0.1
		i=$((i + 1))
	done
}
size_of() { stat -c %s "$1"; }
curl() { /usr/bin/curl -sS --max-time 60 "$@"; }

for b in /usr/bin/curl /usr/bin/zchttpd /usr/bin/zchttpd-fuzz; do
	[ -x $b ] || skip_rest "$b not staged (vm/guest-preload.sh, vm/build-guest.sh)"
done

# ---- the document root --------------------------------------------------------
rm -rf $WWW $D
mkdir -p $WWW/dir $WWW/noindex $WWW/cold $D $COLD
for s in 0 1 4095 4096 4097 16384 1048576; do head -c $s /dev/urandom > $WWW/f$s; done
head -c 67108864 /dev/urandom > $WWW/big
echo "<p>index</p>" > $WWW/dir/index.html
head -c 3000 /dev/urandom | base64 > $WWW/t1.txt
head -c 5000 /dev/urandom | base64 > $WWW/t2.txt
# outside the root: a file with a marker, reached by symlinks
echo "ZH-SECRET-$$-OUTSIDE" > /tmp/zh-secret
ln -s /tmp/zh-secret $WWW/abs-link
ln -s ../../../tmp/zh-secret $WWW/rel-link
# a cold file on ext4, mounted into the root (RESOLVE_BENEATH crosses mounts)
head -c 8388608 /dev/urandom > $COLD/cold.bin
mount --bind $COLD $WWW/cold

# HTTPS: the certificate vm/guest-preload.sh made with the openssl CLI
CERT=/etc/zc-nginx/cert.pem KEY=/etc/zc-nginx/key.pem
modprobe tls 2>/dev/null

# start_zchttpd ARGS...: start it; 0 once 127.0.0.1:8080 listens
start_zchttpd() {
	# (the slow-reader timeout, 30 s, and the idle keep-alive timeout,
	# 15 s, times zc.timeout_scale: on the debug kernel 256 downloads of
	# 1 MiB at once leave some without progress for longer, and the
	# keep-alive timer starts when the last byte is in the socket, which
	# wrk may take longer than 15 s to read before its next request)
	/usr/bin/zchttpd -r $WWW -l 127.0.0.1:8080 -l '[::1]:8080' -s 127.0.0.1:8081 \
		-L 127.0.0.1:8443 --cert $CERT --key $KEY \
		--send-timeout $((30 * SCALE)) --keepalive-timeout $((15 * SCALE)) \
		-w 2 -a $LOG "$@" > $D/stderr 2>&1 &
	ZH_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		grep -q ':1F90 00000000:0000 0A' /proc/net/tcp 2>/dev/null && return 0
		kill -0 $ZH_PID 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# stop_zchttpd: SIGTERM, then wait_zchttpd
stop_zchttpd() {
	kill -TERM $ZH_PID 2>/dev/null
	wait_zchttpd
}
# wait_zchttpd: wait at most 30 s for it to exit (a second SIGTERM would
# end a drain at once); its exit status in ZH_RC
wait_zchttpd() {
	i=0
	while kill -0 $ZH_PID 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 $ZH_PID 2>/dev/null; then
		kill -KILL $ZH_PID
		wait $ZH_PID
		ZH_RC=killed
		return 1
	fi
	wait $ZH_PID
	ZH_RC=$?
}

zc_start=$(stat_of bytes_zerocopy) sent_start=$(stat_of bytes_sent)
if start_zchttpd && grep -q 'ZCDEV_SEND_CACHED_ONLY' $D/stderr; then
	ok zchttpd.starts_on_zcdev
else
	diag $D/stderr
	nok zchttpd.starts_on_zcdev
	kill $ZH_PID 2>/dev/null
	skip_rest "zchttpd did not start"
fi

# ---- byte-exact downloads -------------------------------------------------------
# get NAME FILE URL [CURL OPTIONS...]: 200 and the bytes of FILE
get() {
	name=$1 file=$2 url=$3
	shift 3
	rm -f $D/got
	res=$(curl "$@" -o $D/got -w '%{http_code} %{size_download}' "$url" 2> $D/curl.err)
	if [ "$res" = "200 $(size_of $file)" ] && cmp -s $D/got $file; then
		ok "zchttpd.$name"
	else
		diag $D/curl.err
		nok "zchttpd.$name" "curl: $res; file $(size_of $file) bytes"
	fi
}
for s in 0 1 4095 4096 4097 1048576; do
	get size_$s.byte_exact $WWW/f$s $URL/f$s
done
get size_64m.byte_exact $WWW/big $URL/big
get ipv6.byte_exact $WWW/f4097 'http://[::1]:8080/f4097' -g
get dir_index.byte_exact $WWW/dir/index.html $URL/dir/

# cold: not in the page cache; CACHED_ONLY stops at it (the module's
# not_cached counter) and the pool warms it; meanwhile hot requests
sync
echo 3 > /proc/sys/vm/drop_caches
nc0=$(stat_of not_cached)
curl -o $D/cold $URL/cold/cold.bin 2> $D/curl.err &
cpid=$!
get cold.hot_meanwhile $WWW/f1048576 $URL/f1048576
wait $cpid
crc=$?
DNC=$(($(stat_of not_cached) - nc0))
check zchttpd.cold_ext4.byte_exact "curl exit $crc, module not_cached +$DNC" \
	'[ $crc = 0 ] && cmp -s $D/cold $COLD/cold.bin && [ $DNC -gt 0 ]'

# ---- the event loop never waits for the disk -----------------------------------------
# A second server with one worker (the cold and the hot requests share its
# one event loop) in a cgroup whose reads from the ext4 disk are limited to
# 1 MiB/s (io.max): the 8 MiB cold file (not resident: fincore) takes
# seconds to come in, read by the pool.  Meanwhile one hot request after
# the other for a cached tmpfs file: each must take under 1 s (curl's
# time_total), where a loop that read the disk itself (--fallback:
# sendfile(2) in the loop) holds them for seconds.
SLOW_CG=/sys/fs/cgroup/zh-slow-disk
SLOW_URL=http://127.0.0.1:8090
# slow_cgroup: SLOW_CG with the ext4 disk's reads throttled to 1 MiB/s
slow_cgroup() {
	dev=$(awk -v m=${ZC_EXT4:-/mnt/ext4} '$2 == m { print $1 }' /proc/mounts)
	majmin=$(cat /sys/class/block/${dev#/dev/}/dev) || return 1
	[ -e /sys/fs/cgroup/cgroup.controllers ] ||
		mount -t cgroup2 cgroup2 /sys/fs/cgroup || return 1
	grep -qw io /sys/fs/cgroup/cgroup.subtree_control ||
		echo +io > /sys/fs/cgroup/cgroup.subtree_control || return 1
	mkdir -p $SLOW_CG && echo "$majmin rbps=1048576" > $SLOW_CG/io.max
}
# (its bytes are not the main server's: the status test below leaves them out)
slow_zc0=$(stat_of bytes_zerocopy) slow_sent0=$(stat_of bytes_sent)
/usr/bin/zchttpd -r $WWW -l 127.0.0.1:8090 -w 1 -a $D/slow.log > $D/slow.stderr 2>&1 &
SLOW_PID=$!
i=0
while ! grep -q ':1F9A 00000000:0000 0A' /proc/net/tcp && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
sync
echo 3 > /proc/sys/vm/drop_caches
resident=$(fincore -bn -o RES $COLD/cold.bin 2>&1 | tr -d ' ')
if slow_cgroup 2> $D/cg.err && echo $SLOW_PID > $SLOW_CG/cgroup.procs 2>> $D/cg.err &&
   grep -q ':1F9A 00000000:0000 0A' /proc/net/tcp && [ "$resident" = 0 ]; then
	nc0=$(stat_of not_cached)
	curl -o $D/slow -w '%{http_code} %{time_total}' $SLOW_URL/cold/cold.bin > $D/slow.res 2> $D/curl.err &
	cpid=$!
	# from the moment the server met the cold page
	i=0
	while [ $(stat_of not_cached) = $nc0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	: > $D/hot.res
	while kill -0 $cpid 2>/dev/null; do
		curl -o $D/hot -w '%{http_code} %{size_download} %{time_total}\n' $SLOW_URL/f16384 >> $D/hot.res 2>&1
	done
	wait $cpid
	crc=$?
	read -r cres ctime < $D/slow.res
	nhot=$(grep -c . $D/hot.res)
	hbad=$(grep -vc '^200 16384 ' $D/hot.res)
	hmax=$(awk '$3 > m { m = $3 } END { print m + 0 }' $D/hot.res)
	echo "# cold download: $cres in $ctime s (curl exit $crc); $nhot hot requests meanwhile, slowest $hmax s"
	check zchttpd.slow_disk.cold_byte_exact_and_slow "status $cres in $ctime s, curl exit $crc" \
		' [ $crc = 0 ] && [ "$cres" = 200 ] && cmp -s $D/slow $COLD/cold.bin &&
		  awk -v t=$ctime "BEGIN { exit !(t >= 5) }"'
	check zchttpd.slow_disk.hot_under_1s "$nhot hot requests, $hbad not 200 16384 bytes, slowest $hmax s" \
		' [ $nhot -ge 3 ] && [ $hbad = 0 ] && cmp -s $D/hot $WWW/f16384 &&
		  awk -v t=$hmax "BEGIN { exit !(t < 1) }"'
else
	diag $D/cg.err $D/slow.stderr
	nok zchttpd.slow_disk.cold_byte_exact_and_slow "no throttled server (cgroup io.max), or the file resident: '$resident'"
	nok zchttpd.slow_disk.hot_under_1s
fi
ZH_MAIN=$ZH_PID ZH_PID=$SLOW_PID
stop_zchttpd
ZH_PID=$ZH_MAIN
rmdir $SLOW_CG 2>/dev/null
zc_start=$((zc_start + $(stat_of bytes_zerocopy) - slow_zc0))
sent_start=$((sent_start + $(stat_of bytes_sent) - slow_sent0))

# ---- ranges ---------------------------------------------------------------------
F=$WWW/f4097
FS=$(size_of $F)
# range NAME CURL-RANGE FIRST LAST: 206, Content-Range, the bytes FIRST..LAST
range() {
	res=$(curl -r "$2" -D $D/hdr -o $D/got -w '%{http_code}' $URL/f4097)
	tail -c +$(($3 + 1)) $F | head -c $(($4 - $3 + 1)) > $D/want
	if [ "$res" = 206 ] && grep -qi "^Content-Range: bytes $3-$4/$FS"$(printf '\r')'$' $D/hdr &&
	   cmp -s $D/got $D/want; then
		ok "zchttpd.range.$1"
	else
		diag $D/hdr
		nok "zchttpd.range.$1" "status $res"
	fi
}
range a_b 100-199 100 199
range a_ 4000- 4000 $((FS - 1))
range suffix -100 $((FS - 100)) $((FS - 1))
res=$(curl -r 5000-6000 -D $D/hdr -o $D/got -w '%{http_code}' $URL/f4097)
if [ "$res" = 416 ] && grep -qi "^Content-Range: bytes \*/$FS"$(printf '\r')'$' $D/hdr; then
	ok zchttpd.range.unsatisfiable_416
else
	diag $D/hdr
	nok zchttpd.range.unsatisfiable_416 "status $res"
fi

# ---- conditional requests and HEAD ---------------------------------------------
curl --etag-save $D/etag -o /dev/null $URL/f1048576
res=$(curl --etag-compare $D/etag -o $D/got -w '%{http_code} %{size_download}' $URL/f1048576)
echo '"not-this-one"' > $D/etag2
res2=$(curl --etag-compare $D/etag2 -o /dev/null -w '%{http_code} %{size_download}' $URL/f1048576)
check zchttpd.if_none_match_304 "matching ETag: $res, other ETag: $res2" \
	' [ "$res" = "304 0" ] && [ "$res2" = "200 $(size_of $WWW/f1048576)" ]'
# curl -z FILE: If-Modified-Since with FILE's mtime (the file itself)
res=$(curl -z $WWW/f4096 -o /dev/null -w '%{http_code} %{size_download}' $URL/f4096)
res2=$(curl -z 'Thu, 01 Jan 1970 00:00:01 GMT' -o /dev/null -w '%{http_code} %{size_download}' $URL/f4096)
check zchttpd.if_modified_since_304 "mtime: $res, 1970: $res2" \
	' [ "$res" = "304 0" ] && [ "$res2" = "200 4096" ]'
# the validators and the date as the file and the clock say (coreutils date
# and stat, not the server's formatter): IMF-fixdate, ETag "mtime-size" in
# hex, Date the time of one second between before and after the request
imf() { LC_ALL=C date -u -d @$1 '+%a, %d %b %Y %H:%M:%S GMT'; }
t0=$(date +%s)
curl -D $D/hdr -o /dev/null $URL/f4096
t1=$(date +%s)
mt=$(stat -c %Y $WWW/f4096)
want_lm="Last-Modified: $(imf $mt)"
want_et="ETag: \"$(printf '%x-%x' $mt $(size_of $WWW/f4096))\""
got_lm=$(grep -i '^Last-Modified:' $D/hdr | tr -d '\r')
got_et=$(grep -i '^ETag:' $D/hdr | tr -d '\r')
got_dt=$(grep -i '^Date:' $D/hdr | tr -d '\r')
dt_ok=0
t=$t0
while [ $t -le $t1 ]; do
	[ "$got_dt" = "Date: $(imf $t)" ] && dt_ok=1
	t=$((t + 1))
done
check zchttpd.validators_and_date "$got_lm / $got_et / $got_dt; want $want_lm / $want_et / Date: $(imf $t0) .. $(imf $t1)" \
	' [ "$got_lm" = "$want_lm" ] && [ "$got_et" = "$want_et" ] && [ $dt_ok = 1 ]'
# HEAD on a raw socket: the header with the file's length, then nothing
printf 'HEAD /f4097 HTTP/1.0\r\n\r\n' | timeout 10 nc 127.0.0.1 8080 > $D/head
tail4=$(tail -c 4 $D/head | od -An -c | tr -d ' ')
if head -n 1 $D/head | grep -q '^HTTP/1.1 200 ' &&
   grep -q "^Content-Length: $FS"$(printf '\r')'$' $D/head &&
   [ "$tail4" = '\r\n\r\n' ] && [ $(size_of $D/head) -lt 1024 ]; then
	ok zchttpd.head_no_body "$(size_of $D/head) bytes of header"
else
	diag $D/head
	nok zchttpd.head_no_body "ends with $tail4, $(size_of $D/head) bytes"
fi
res=$(curl -X DELETE -D $D/hdr -o /dev/null -w '%{http_code}' $URL/f1)
check zchttpd.delete_405 "status $res" \
	'grep -qi '\''^Allow: GET, HEAD'\'' $D/hdr'

# ---- keep-alive and pipelining ---------------------------------------------------
res=$(curl -o $D/k1 -o $D/k2 -w '%{num_connects} ' $URL/f4097 $URL/f1048576)
check zchttpd.keepalive_reuse "num_connects per transfer: $res" \
	' [ "$res" = "1 0 " ] && cmp -s $D/k1 $WWW/f4097 && cmp -s $D/k2 $WWW/f1048576'
# three requests in one write on one connection; the answers in order
printf 'GET /t1.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /t2.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /t1.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	timeout 20 nc 127.0.0.1 8080 > $D/pipe
rm -f $D/pb.*
awk -v out=$D/pb '
	/^HTTP\/1\.1 / { n++; hdr = 1; print $2 > (out "." n ".status"); next }
	hdr && /^\r$/ { hdr = 0; next }
	hdr { next }
	{ print > (out "." n ".body") }' $D/pipe
st=$(cat $D/pb.1.status $D/pb.2.status $D/pb.3.status 2>/dev/null | tr '\n' ' ')
if [ "$st" = "200 200 200 " ] && cmp -s $D/pb.1.body $WWW/t1.txt &&
   cmp -s $D/pb.2.body $WWW/t2.txt && cmp -s $D/pb.3.body $WWW/t1.txt; then
	ok zchttpd.pipelining "3 answers in order, bodies byte-exact"
else
	nok zchttpd.pipelining "statuses: $st; $(size_of $D/pipe) bytes"
fi

# ---- traversal --------------------------------------------------------------------
# each must be 403 or 404 and never carry the outside file's bytes
trav() {
	res=$(curl --path-as-is -o $D/got -w '%{http_code}' "$URL$2")
	case $res in
	403|404)
		if grep -q ZH-SECRET $D/got; then
			nok "zchttpd.traversal.$1" "$res with the outside file's bytes"
		else
			ok "zchttpd.traversal.$1" "$res"
		fi ;;
	*) nok "zchttpd.traversal.$1" "status $res" ;;
	esac
}
trav dotdot /../../../tmp/zh-secret
trav dotdot_in_dir /dir/../../../../tmp/zh-secret
trav pct_2e2e /%2e%2e/%2e%2e/%2e%2e/tmp/zh-secret
trav pct_slash /dir/..%2f..%2f..%2f..%2ftmp%2fzh-secret
trav double_slash //tmp/zh-secret
trav symlink_absolute /abs-link
trav symlink_relative /rel-link
res=$(curl -o /dev/null -w '%{http_code}' $URL/noindex/)
check zchttpd.dir_without_index_403 "status $res" \
	'[ "$res" = 403 ]'

# ---- the seeded fuzzer -------------------------------------------------------------
for seed in 1 2; do
	timeout 240 /usr/bin/zchttpd-fuzz $seed 3000 127.0.0.1 8080 > $D/fuzz.out 2> $D/fuzz.err
	rc=$?
	line=$(cat $D/fuzz.out)
	c4=$(echo "$line" | sed -n 's/.* 4xx \([0-9]*\) .*/\1/p')
	if [ $rc = 0 ] && [ "${c4:-0}" -gt 0 ]; then
		ok zchttpd.fuzz_seed_$seed "$line"
	else
		head -n 20 $D/fuzz.err | diag
		nok zchttpd.fuzz_seed_$seed "exit $rc: $line"
	fi
done
get after_fuzz.byte_exact $WWW/f4097 $URL/f4097

# ---- 256 connections at once (wrk) -------------------------------------------------
# From wrk: its totals (the Lua done() hook: responses completed, bytes
# read, socket errors, responses with a status above 399) and its text
# ("Socket errors:" and "Non-2xx or 3xx responses:" appear only when not
# zero).  From the kernel (ss, sampled while wrk runs): 256 connections
# established to the port at once, and how many bytes the client
# acknowledged on each; the module's counters at least what wrk received.
# From the access log: every line of the run a 200, and at least as many
# whole bodies as wrk completed.  (zchttpd's default --max-conns, 1024,
# fits 256.)
cat > $D/wrk.lua <<'LUA'
done = function(s)
	local e = s.errors
	io.write(string.format("wrk-totals requests=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
		s.requests, s.bytes, e.connect, e.read, e.write, e.status, e.timeout))
end
LUA
# wv NAME: the value of NAME= in wrk's totals
wv() { echo "$tot" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# acked FILE: bytes_acked of each connection in an ss -i sample (0 if none)
acked() { sed 's/.* bytes_acked:\([0-9]*\).*/\1/; t; s/.*/0/' "$1"; }
# threads_now: each zchttpd thread's state, wait channel and top kernel frames
# (a worker that stopped running its loop shows up here)
threads_now() {
	for t in /proc/$ZH_PID/task/*; do
		echo "${t##*/} $(cut -d' ' -f3 $t/stat 2>/dev/null) $(cat $t/wchan 2>/dev/null) $(head -n 3 $t/stack 2>/dev/null | awk '{printf "%s ", $2}')"
	done
}
# wrk_run NAME FILE SECONDS MIN_RESPONSES ACK_MIN: wrk -t2 -c256 for SECONDS;
# at least MIN_RESPONSES completed, each of the 256 connections with more
# than ACK_MIN bytes acknowledged, in an ss sample 3 s before the end (ss
# takes seconds under TCG with 256 sockets, and takes them from the server:
# one sample, more only while not all 256 are established)
wrk_run() {
	name=$1 file=$2 minreq=$4 ackmin=$5
	fs=$(size_of $WWW/$file)
	zc0=$(stat_of bytes_zerocopy) sent0=$(stat_of bytes_sent)
	log_mark
	# (--timeout 60 s on a slower kernel, not more: wrk allocates its
	# latency histogram by the timeout, 8 bytes a microsecond)
	wto=30
	[ "$SCALE" -gt 1 ] && wto=60
	wrk -t2 -c256 -d$3s --timeout ${wto}s -s $D/wrk.lua $URL/$file > $D/wrk.out 2>&1 &
	wpid=$!
	conns=0
	: > $D/ss.best; : > $D/threads.best
	sleep $(($3 - 3))
	while kill -0 $wpid 2>/dev/null; do
		ss -tinOH state established '( sport = :8080 )' > $D/ss.now 2> $D/ss.err
		threads_now > $D/threads.now
		e=$(grep -c 127.0.0.1:8080 $D/ss.now)
		[ $e -ge $conns ] && conns=$e && cp $D/ss.now $D/ss.best && cp $D/threads.now $D/threads.best
		[ $e -ge 256 ] && break
		sleep 0.5
	done
	wait $wpid
	wrc=$?
	sleep 1		# (responses cut off at wrk's end are logged as they abort)
	DZC=$(($(stat_of bytes_zerocopy) - zc0)) DSENT=$(($(stat_of bytes_sent) - sent0))
	tot=$(sed -n 's/^wrk-totals //p' $D/wrk.out)
	req=$(wv requests) wbytes=$(wv bytes)
	errs="$(wv connect) $(wv read) $(wv write) $(wv timeout) $(wv status)"
	served=$(acked $D/ss.best | awk -v m=$ackmin '$1 > m' | wc -l)
	least=$(acked $D/ss.best | sort -n | head -n 1)
	tail -n +$((MARK + 1)) $LOG > $D/wrk.log
	lines=$(grep -c . $D/wrk.log)
	whole=$(grep -c "\"GET /$file HTTP/1.1\" 200 $fs " $D/wrk.log)
	not200=$(grep -vc "\"GET /$file HTTP/1.1\" 200 " $D/wrk.log)
	echo "# wrk $name: $tot; exit $wrc"
	echo "# wrk $name: $conns connections established at once, $served with more than $ackmin bytes acknowledged (least $least)"
	# (a connection with a request the server has not read: Recv-Q > 0)
	[ $served -ge 256 ] || {
		echo "# wrk $name: $(awk '$1 > 0' $D/ss.best | wc -l) sampled connections with unread bytes (Recv-Q > 0); the server's threads then (tid state wchan, kernel stack top):"
		diag $D/threads.best
		head -n 2 $D/ss.best $D/ss.err | diag
	}
	echo "# wrk $name: log: $lines lines, $whole whole bodies, $not200 not 200; module: +$DZC by reference, +$DSENT sent"
	check zchttpd.wrk_256.$name.no_errors "$(grep -E 'Socket errors|Non-2xx|rror' $D/wrk.out | tr '\n' ' ')" \
		' [ $wrc = 0 ] && [ "$errs" = "0 0 0 0 0" ] && ! grep -qE "Socket errors|Non-2xx" $D/wrk.out'
	check zchttpd.wrk_256.$name.all_served "$req responses; $conns connections at once, $served served" \
		' [ "${req:-0}" -ge $minreq ] && [ $conns -ge 256 ] && [ $served -ge 256 ] &&
		  [ $not200 = 0 ] && [ $whole -ge $req ]'
	check zchttpd.wrk_256.$name.module_counted "$req x $fs body bytes, wrk read $wbytes" \
		' [ $DZC -ge $((req * fs)) ] && [ $DSENT -ge ${wbytes:-1} ]'
}
# (ss -i asks the kernel's sock_diag for tcp_info)
modprobe tcp_diag 2>/dev/null
if [ -x /usr/bin/wrk ]; then
	# 16 KiB: every connection got whole responses (the header's size from curl)
	# (10 s, times zc.timeout_scale: the debug kernel accepts and answers
	# 256 connections several times slower)
	wsecs=$((10 * SCALE))
	h16=$(curl -o /dev/null -w '%{size_header}' $URL/f16384)
	wrk_run 16k f16384 $wsecs 256 $((16384 + h16 - 1))
	# 1 MiB: 256 MiB would take longer than the run under TCG: some
	# responses completed, and every connection was sent body bytes
	h1m=$(curl -o /dev/null -w '%{size_header}' $URL/f1048576)
	wrk_run 1m f1048576 $wsecs 1 $h1m
	get after_wrk.byte_exact $WWW/f1048576 $URL/f1048576
else
	for i in 1 2 3 4 5 6 7; do nok zchttpd.wrk_256 "/usr/bin/wrk not staged (vm/guest-preload.sh)"; done
fi

# ---- HTTPS: kTLS, and SSL_write where the cipher has no kTLS --------------------------
# https NAME CURL-OPTIONS...: download f1048576 over TLS, compare, and take
# the module's counter deltas (DZC DCP DTLS DSV) and the access-log line
https() {
	name=$1
	shift
	zc0=$(stat_of bytes_zerocopy) cp0=$(stat_of bytes_copied)
	tls0=$(stat_of bytes_why_ktls) sv0=$(stat_of calls_sendv)
	rm -f $D/got
	log_mark
	res=$(curl -k "$@" -o $D/got -w '%{http_code} %{size_download}' https://127.0.0.1:8443/f1048576 2> $D/curl.err)
	# (the line is written after the last send returned: counters final)
	log_line '"GET /f1048576 HTTP/1.1" 200 .* tls='
	DZC=$(($(stat_of bytes_zerocopy) - zc0)) DCP=$(($(stat_of bytes_copied) - cp0))
	DTLS=$(($(stat_of bytes_why_ktls) - tls0)) DSV=$(($(stat_of calls_sendv) - sv0))
	echo "# $name: log: $LINE"
	echo "# $name: module: +$DZC by reference, +$DCP copied (ktls +$DTLS), +$DSV SENDV calls"
	if [ "$res" = "200 $FSZ" ] && cmp -s $D/got $WWW/f1048576; then
		return 0
	fi
	diag $D/curl.err
	echo "# $name: curl: $res"
	return 1
}
has() { case " $LINE " in *" $1 "*) return 0 ;; esac; return 1; }
has_why() { case " $LINE " in *" why="*$1*) return 0 ;; esac; return 1; }
FSZ=$(size_of $WWW/f1048576)
# TLS 1.2 AES-GCM: OpenSSL hands the keys to the kernel; the module copies
# (software kTLS encrypts) and says why
if https ktls12 --tlsv1.2 --tls-max 1.2 && has tls=ktls && has "zc=0" &&
   has "copied=$DCP" && has_why ktls && [ $DZC = 0 ] && [ $DTLS -ge $FSZ ] && [ $DSV -gt 0 ]; then
	ok zchttpd.https.ktls_tls12 "module: +$DCP copied, ktls +$DTLS"
else
	nok zchttpd.https.ktls_tls12 "$LINE"
fi
# TLS 1.3: kTLS if this kernel and OpenSSL agree on it, else SSL_write;
# either way byte-exact and reported as it went
if https tls13 --tlsv1.3; then
	if has tls=ktls && has "copied=$DCP" && [ $DZC = 0 ] && [ $DTLS -ge $FSZ ]; then
		ok zchttpd.https.tls13 "kTLS: module +$DCP copied, ktls +$DTLS"
	elif has tls=ssl_write && has "zc=0" && [ $DSV = 0 ] && [ $DCP = 0 ]; then
		ok zchttpd.https.tls13 "SSL_write (no kTLS for TLS 1.3 here); the module saw nothing"
	else
		nok zchttpd.https.tls13 "$LINE"
	fi
else
	nok zchttpd.https.tls13 "$LINE"
fi
# AES-CBC has no kTLS: SSL_write, and the module is not involved
if https ssl_write --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA &&
   has tls=ssl_write && has "zc=0" && [ $DSV = 0 ] && [ $DCP = 0 ] && [ $DZC = 0 ]; then
	ok zchttpd.https.cbc_falls_back_to_ssl_write
else
	nok zchttpd.https.cbc_falls_back_to_ssl_write "$LINE"
fi
res=$(curl -k --tlsv1.2 --tls-max 1.2 -o $D/k1 -o $D/k2 -w '%{num_connects} ' \
	https://127.0.0.1:8443/f4097 https://127.0.0.1:8443/f0)
check zchttpd.https.keepalive_ranges "num_connects: $res" \
	'[ "$res" = "1 0 " ] && cmp -s $D/k1 $WWW/f4097 && cmp -s $D/k2 $WWW/f0'
# a body far larger than the socket's buffer through kTLS: nonblocking
# sends meet a full socket, EAGAIN, EPOLLOUT, resume (on 6.1 the first
# ~2.5 MB stayed corked in TCP and the download hung until the timeout)
res=$(curl -k --tlsv1.2 --tls-max 1.2 --max-time 120 -o $D/got \
	-w '%{http_code} %{size_download}' https://127.0.0.1:8443/big 2> $D/curl.err)
check zchttpd.https.ktls_big_file "curl: $res $(cat $D/curl.err)" \
	'[ "$res" = "200 $(size_of $WWW/big)" ] && cmp -s $D/got $WWW/big'
rm -f $D/got

# ---- the report: access log against the module's counters --------------------------
zc0=$(stat_of bytes_zerocopy) cp0=$(stat_of bytes_copied)
sv0=$(stat_of calls_sendv)
log_mark
hsize=$(curl -o $D/got -w '%{size_header}' $URL/f1048576)
log_line '"GET /f1048576 HTTP/1.1" 200 '
DZC=$(($(stat_of bytes_zerocopy) - zc0)) DCP=$(($(stat_of bytes_copied) - cp0))
DSV=$(($(stat_of calls_sendv) - sv0))
echo "# log: $LINE"
echo "# module: +$DZC by reference, +$DCP copied, +$DSV SENDV calls; curl: $hsize header bytes"
check zchttpd.report.module_zero_copy_lo "module +$DZC by reference, +$DCP copied" \
	' [ $DZC = $FSZ ] && [ $DCP = $hsize ]'
check zchttpd.report.log_agrees "$LINE" \
	' has "zc=$DZC" && has "copied=$DCP" && has "calls=$DSV" && has "why=memory"'
check zchttpd.report.log_bytes "$LINE" \
	'has "200 $FSZ"'
# the status listener's totals since the start against the module's
curl -o $D/status http://127.0.0.1:8081/
szc=$(sed -n 's/^bytes_zerocopy //p' $D/status)
ssent=$(sed -n 's/^bytes_sent //p' $D/status)
# (what went by SSL_write never reached the module)
ssent=$((ssent - $(sed -n 's/^bytes_ssl_write //p' $D/status)))
DZC=$(($(stat_of bytes_zerocopy) - zc_start)) DSENT=$(($(stat_of bytes_sent) - sent_start))
check zchttpd.status_agrees_with_module "status: zc $szc sent $ssent; module: zc +$DZC sent +$DSENT" \
	' [ "$szc" = $DZC ] && [ "$ssent" = $DSENT ] && [ $DZC -gt 0 ]'

# ---- SIGTERM drains ------------------------------------------------------------------
rm -f $D/drain
curl --limit-rate 16M -o $D/drain $URL/big 2> $D/curl.err &
cpid=$!
# in flight: the first bytes are here, not the last (curl's output file)
i=0
while [ ! -s $D/drain ] && [ $i -lt 200 ] && kill -0 $cpid 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
got=$(size_of $D/drain 2>/dev/null || echo 0)
[ "$got" -gt 0 ] && [ "$got" -lt $(size_of $WWW/big) ] && inflight="yes ($got bytes)" || inflight=no
kill -TERM $ZH_PID
sleep 1
res=$(curl --max-time 5 -o /dev/null -w '%{http_code}' $URL/f1 2>/dev/null)
wait $cpid
crc=$?
wait_zchttpd
if [ "$inflight" != no ] && [ $crc = 0 ] && cmp -s $D/drain $WWW/big && [ "$res" = 000 ]; then
	ok zchttpd.sigterm_drains "download in flight at TERM: $inflight, complete; new connection: $res"
else
	diag $D/curl.err
	nok zchttpd.sigterm_drains "in flight at TERM: $inflight, curl exit $crc, new connection after TERM: $res"
fi
check zchttpd.sigterm_exit_0 "exit $ZH_RC" \
	'[ "$ZH_RC" = 0 ]'
grep -q 'drained, exiting' $D/stderr || diag $D/stderr

# ---- without the module ------------------------------------------------------------
if rmmod zcdev 2> $D/rmmod.err && [ ! -e /dev/zcdev ] && start_zchttpd; then
	check zchttpd.no_module.logs_fallback "$(head -n 1 $D/stderr)" \
		' grep -q "running on libzc'\''s fallback" $D/stderr'
	log_mark
	get no_module.byte_exact $WWW/f1048576 $URL/f1048576
	get no_module.f4097 $WWW/f4097 $URL/f4097
	log_line '"GET /f1048576 HTTP/1.1" 200 '
	check zchttpd.no_module.log_claims_no_zero_copy "$LINE" \
		'has "zc=0"'
	stop_zchttpd
else
	diag $D/rmmod.err $D/stderr
	nok zchttpd.no_module.logs_fallback "rmmod or start failed"
	nok zchttpd.no_module.byte_exact
	nok zchttpd.no_module.f4097
	nok zchttpd.no_module.log_claims_no_zero_copy
	kill $ZH_PID 2>/dev/null
fi
[ -e /sys/module/zcdev ] || insmod ${ZC_MODULE:-/zcdev.ko}

# ---- SIGHUP reopens the access log (log rotation) -----------------------------------
# rotate NAME: a request, the log moved aside, SIGHUP, a request: the first
# line is in $LOG.1 only, the second in a new $LOG only
rotate() {
	TAG=$1
	rm -f $LOG.1
	curl -o /dev/null "$URL/f1?first-$TAG"
	mv $LOG $LOG.1
	n0=$(grep -c "access log $LOG reopened" $D/stderr)
	kill -HUP $ZH_PID
	# every line after the error log's "reopened" goes to the new file
	i=0
	while [ "$(grep -c "access log $LOG reopened" $D/stderr)" = "$n0" ] &&
	      [ $i -lt $((50 * SCALE)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	curl -o /dev/null "$URL/f1?second-$TAG"
	check zchttpd.sighup.$1 "$(ls -ln $D/hup 2>&1 | tr '\n' ' ')" \
		' grep -q "f1?first-$TAG" $LOG.1 && ! grep -q "f1?second-$TAG" $LOG.1 &&
		  grep -q "f1?second-$TAG" $LOG && ! grep -q "f1?first-$TAG" $LOG'
}
# opener_of PID: the zchttpd-logd process whose parent is PID (no pgrep in
# the guest's busybox)
opener_of() {
	for st in $(grep -l '^Name:[[:space:]]*zchttpd-logd$' /proc/[0-9]*/status 2>/dev/null); do
		grep -q "^PPid:[[:space:]]*$1\$" $st && { d=${st%/status}; echo ${d#/proc/}; }
	done
}
LOG0=$LOG
rm -rf $D/hup && mkdir -p $D/hup && chmod 755 $D/hup
LOG=$D/hup/access.log
if start_zchttpd; then
	rotate rotate_as_root
	stop_zchttpd
else
	diag $D/stderr
	nok zchttpd.sighup.rotate_as_root "start failed"
fi
# After --user the server cannot create a file in a root-owned directory
# (0755): its opener, a root process forked before the privileges go,
# reopens the log for it, as nginx's master does for its workers.
if start_zchttpd -u 65534; then
	rotate rotate_after_user
	OPID=$(opener_of $ZH_PID)
	fds=$(ls /proc/$OPID/fd 2>/dev/null | sort -n | tr '\n' ' ')
	suid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$ZH_PID/status)
	ouid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$OPID/status 2>/dev/null)
	check zchttpd.sighup.opener_holds_nothing "server uid $suid, opener $OPID uid $ouid, fds: $fds" \
		' [ "$suid" = 65534 ] && [ -n "$OPID" ] && [ "$ouid" = 0 ] && [ "$fds" = "0 1 2 3 " ]'
	# a reopen that fails is said, and the lines go on into the old file
	mv $D/hup $D/hup.old
	kill -HUP $ZH_PID
	i=0
	while ! grep -q "reopen $LOG" $D/stderr && [ $i -lt $((50 * SCALE)) ]; do sleep 0.1; i=$((i + 1)); done
	curl -o /dev/null $URL/f1?third
	check zchttpd.sighup.reopen_failure_logged "$(grep reopen $D/stderr)" \
		' grep -q "reopen $LOG: No such file or directory" $D/stderr &&
		  grep -q "f1?third" $D/hup.old/access.log'
	stop_zchttpd
	i=0
	while [ -e /proc/$OPID ] && [ $i -lt $((50 * SCALE)) ]; do sleep 0.1; i=$((i + 1)); done
	check zchttpd.sighup.opener_exits_with_server "server exit $ZH_RC" \
		' [ "$ZH_RC" = 0 ] && [ ! -e /proc/$OPID ]'
else
	diag $D/stderr
	nok zchttpd.sighup.rotate_after_user "start failed"
	nok zchttpd.sighup.opener_holds_nothing
	nok zchttpd.sighup.reopen_failure_logged
	nok zchttpd.sighup.opener_exits_with_server
fi
LOG=$LOG0
umount $WWW/cold 2>/dev/null
echo "# access log (last lines):"
tail -n 5 $LOG | diag
[ $N = $PLAN ] || { echo "# $N results, plan $PLAN"; FAILED=1; }
exit $FAILED
