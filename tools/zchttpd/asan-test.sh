#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/zchttpd/asan-test.sh: zchttpd under AddressSanitizer and UBSan on
# the host (no module: libzc's fallback), built with -DZH_FAKE_COLD so that
# every other file send takes the warming pool's round trip.  Meanwhile:
# the seeded request fuzzer, concurrent byte-exact curl downloads (HTTP and
# HTTPS in user space), curl
# downloads aborted mid-body and slow readers closed by --send-timeout
# while the pool holds their connection, then SIGTERM with a download in
# flight (it must complete, then the server must exit 0); semantics-test.py
# (preconditions, Host, versions, redirects, the signal mask, a server out
# of descriptors, a stray CRLF).  Any sanitizer
# report, wrong byte or failed step fails (exit 1).  Needs curl, openssl and python3.
set -uo pipefail
src=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$src/../.." && pwd)
out=${OUT:-$top/tools/build/asan}
port=${PORT:-18089}
www=$out/www
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

san="-fsanitize=address,undefined -fno-omit-frame-pointer"
make --no-print-directory -C "$top/tools" O="$out" STATIC=0 \
	CFLAGS="-O1 -g $san -DZH_FAKE_COLD" LDFLAGS="$san" >/dev/null || exit 1
export LD_LIBRARY_PATH=$top/tools/build/obj-dynamic/libzc
export ASAN_OPTIONS=detect_leaks=1:log_path=$out/asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$out/ubsan
rm -rf "$www" "$out"/asan.* "$out"/ubsan.*
mkdir -p "$www/dir"
for s in 0 1 4095 4096 4097 1048576; do head -c $s /dev/urandom > "$www/f$s"; done
head -c $((32 << 20)) /dev/urandom > "$www/big"
echo index > "$www/dir/index.html"

# HTTPS in user space only (--no-ktls: no tls.ko on this host)
[[ -s $out/key.pem ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=zchttpd-test \
	-keyout "$out/key.pem" -out "$out/cert.pem" >/dev/null 2>&1 || exit 1
"$out/usr/bin/zchttpd" -r "$www" -l 127.0.0.1:$port -w 2 -a "$out/access.log" \
	-L 127.0.0.1:$((port + 2)) --cert "$out/cert.pem" --key "$out/key.pem" --no-ktls \
	-s 127.0.0.1:$((port + 1)) --send-timeout 2 --drain-timeout 30 > "$out/err.log" 2>&1 &
pid=$!
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/f1" && break; sleep 0.1; done

# slow readers: a request, then nothing read; --send-timeout closes them
# while their connection may sit in the pool
python3 - "$port" <<'PY' &
import socket, sys, time
ss = []
for i in range(16):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    ss.append(s)
time.sleep(5)
PY
slow=$!
# a stalled TLS handshake: connected, nothing sent, for longer than
# --send-timeout (2 s) and shorter than --header-timeout (10 s): closed
# by the handshake's own timeout only, never logged as a response (the
# send timeout's abort logged it, and since the request moved out of the
# connection read a request it does not have: a crash)
python3 - "$((port + 2))" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(4)
PY
stall=$!
pids=()
for i in $(seq 8); do
	curl -s -o "$out/got$i" "http://127.0.0.1:$port/big" & pids+=($!)
	curl -s -m 0.2 -o /dev/null "http://127.0.0.1:$port/big" &	# aborted
done
for i in $(seq 4); do
	curl -sk -o "$out/tls$i" "https://127.0.0.1:$((port + 2))/big" & pids+=($!)
	curl -sk -m 0.3 -o /dev/null "https://127.0.0.1:$((port + 2))/big" &	# aborted
done
"$out/usr/bin/zchttpd-fuzz" 11 3000 127.0.0.1 $port > "$out/fuzz1.txt" 2>&1 || bad "fuzz seed 11: $(tail -n 3 "$out/fuzz1.txt")"
for s in 0 1 4095 4096 4097 1048576; do
	curl -s -o "$out/small" "http://127.0.0.1:$port/f$s" http://127.0.0.1:$port/f$s -o "$out/small2" &&
		cmp -s "$out/small" "$www/f$s" && cmp -s "$out/small2" "$www/f$s" || bad "f$s twice on one connection"
done
for p in "${pids[@]}"; do wait "$p"; done
for i in $(seq 8); do cmp -s "$out/got$i" "$www/big" || bad "concurrent download $i differs"; done
for i in $(seq 4); do cmp -s "$out/tls$i" "$www/big" || bad "concurrent HTTPS download $i differs"; done
wait $slow
wait $stall
kill -0 $pid 2> /dev/null && curl -s -o /dev/null "http://127.0.0.1:$port/f1" &&
	ok "a stalled TLS handshake past --send-timeout: the server goes on" ||
	bad "the server died after a stalled TLS handshake"
"$out/usr/bin/zchttpd-fuzz" 12 3000 127.0.0.1 $port > "$out/fuzz2.txt" 2>&1 || bad "fuzz seed 12: $(tail -n 3 "$out/fuzz2.txt")"
# preconditions, Host, versions, the directory redirect, the signal mask
python3 "$src/semantics-test.py" $port $pid "$www" || fail=1
# out of descriptors (a second server, 32 of them) and a stray CRLF
(ulimit -n 32; exec "$out/usr/bin/zchttpd" -r "$www" -l 127.0.0.1:$((port + 3)) -w 1 \
	-a "$out/access-emfile.log" --header-timeout 2 > "$out/err-emfile.log" 2>&1) &
epid=$!
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$((port + 3))/f1" && break; sleep 0.1; done
python3 "$src/semantics-test.py" --emfile $((port + 3)) $epid || fail=1
grep -q "accept4: Too many open files" "$out/err-emfile.log" &&
	ok "out of descriptors: said in the error log" || bad "out of descriptors: nothing in the error log"
kill -TERM $epid
wait $epid || bad "the descriptor-starved server: exit $?"
warmed=$(curl -s http://127.0.0.1:$((port + 1))/ | sed -n 's/^pool_warmings //p')
[[ ${warmed:-0} -gt 0 ]] && ok "the pool warmed $warmed ranges" || bad "the pool warmed nothing: ${warmed:-no status}"
curl -s --limit-rate 8M -o "$out/drain" "http://127.0.0.1:$port/big" &
c=$!
sleep 1
kill -TERM $pid
wait $c && cmp -s "$out/drain" "$www/big" && ok "SIGTERM: the download in flight completed" ||
	bad "SIGTERM: the download in flight did not complete"
wait $pid
rc=$?
[[ $rc == 0 ]] && ok "SIGTERM: exit 0 after draining" || bad "SIGTERM: exit $rc"
echo "# $(cat "$out/fuzz1.txt" "$out/fuzz2.txt" | tr '\n' ' ')"
if ls "$out"/asan.* "$out"/ubsan.* >/dev/null 2>&1; then
	cat "$out"/asan.* "$out"/ubsan.* 2>/dev/null | head -n 60
	bad "sanitizer reports"
else
	ok "no AddressSanitizer, LeakSanitizer or UBSan report"
fi
exit $fail
