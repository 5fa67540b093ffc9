#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# zchttpd-demo: zchttpd serving a file to curl inside a zcdev test guest
# (selftests/README.md describes its environment: namespace nosg behind
# zc1, the veth without scatter-gather and checksum offload; Debian's
# curl, which vm/run.sh stages).  `make -C tools O=<dir>` installs it next
# to zchttpd as zchttpd-demo.
#
#   a download over loopback (zero copy) and one from namespace nosg over
#   zc1 (copied, and why), each compared with the file and followed by its
#   access-log line; the status listener's totals (those not zero); SIGTERM.
#
# Environment: ZCHTTPD_DEMO_SIZE (bytes, default 4194304), ZC_TMPFS.
cd "${ZC_TMPFS:-/mnt/tmpfs}" || exit 1
size=${ZCHTTPD_DEMO_SIZE:-4194304}
rc=0

say() { printf '$ %s\n' "$*"; }
# log_wait N: wait (up to 5 s) until the access log has N lines: a line is
# written once the response is complete, which curl may see first
log_wait() {
	i=0
	while [ "$(cat access.log 2>/dev/null | wc -l)" -lt "$1" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

mkdir -p www
head -c "$size" /dev/urandom > www/file.bin
rm -f access.log

say "zchttpd -r www -l '[::]:8080' -s 127.0.0.1:8081 -a access.log -u 65534 &"
zchttpd -r www -l '[::]:8080' -s 127.0.0.1:8081 -a access.log -u 65534 2> zchttpd.err &
zpid=$!
# its error log once it listens (its last start-up line), the rest at the end
i=0
while [ $i -lt 100 ] && ! grep -q 'listening on' zchttpd.err; do
	sleep 0.1
	i=$((i + 1))
done
cat zchttpd.err
shown=$(wc -l < zchttpd.err)

n=0
for how in lo zc1; do
	if [ $how = lo ]; then
		url=http://127.0.0.1:8080/file.bin ns=
	else
		url=http://203.0.113.1:8080/file.bin ns="ip netns exec nosg"
		echo
	fi
	say "${ns:+$ns }curl -sS -o got.bin $url"
	$ns curl -sS -o got.bin -w '%{http_code}, %{size_download} bytes in %{time_total} s\n' "$url" || rc=1
	say "cmp www/file.bin got.bin && echo identical"
	cmp www/file.bin got.bin && echo identical || rc=1
	n=$((n + 1))
	log_wait $n
	say "tail -n 1 access.log"
	tail -n 1 access.log
done
echo

say "curl -sS http://127.0.0.1:8081/ | grep -v ' 0\$'"
curl -sS http://127.0.0.1:8081/ > status.txt || rc=1
grep -v ' 0$' status.txt
echo

say "kill -TERM %1; wait"
kill -TERM $zpid
wait $zpid || rc=1
tail -n +$((shown + 1)) zchttpd.err
rm -rf www got.bin access.log status.txt zchttpd.err
exit $rc
