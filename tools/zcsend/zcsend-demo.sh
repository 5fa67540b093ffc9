#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# zcsend-demo: a zcsend session inside a zcdev test guest (selftests/README.md
# describes its environment: netns veth and nosg, busybox nc, $ZC_MODULE).
# `make -C tools O=<dir>` installs it next to zcsend as zcsend-demo.
#
#   zero copy over loopback, a copy (and why) behind a device without
#   scatter-gather, --json over IPv6 into a namespace, --strict refusing,
#   --probe asking first, a header in the same call with --notify saying
#   when the file is safe, --listen serving nc, and the fallback with the
#   module unloaded.
#
# Environment: ZCSEND_DEMO_SIZE (bytes, default 16777216), ZC_TMPFS.
cd "${ZC_TMPFS:-/mnt/tmpfs}" || exit 1
size=${ZCSEND_DEMO_SIZE:-16777216}
rc=0

say() { printf '$ %s\n' "$*"; }
# nc_listen [-n NETNS] PORT FILE: start a receiver, wait until it listens
nc_listen() {
	if [ "$1" = -n ]; then
		ip netns exec "$2" nc -l -p "$3" > "$4" &
		shift 2
	else
		nc -l -p "$1" > "$2" &
	fi
	hex=$(printf ':%04X ' "$1")
	i=0
	while [ $i -lt 50 ]; do
		cat /proc/$!/net/tcp /proc/$!/net/tcp6 2>/dev/null |
			grep -q "$hex.* 0A " && return 0
		sleep 0.1
		i=$((i + 1))
	done
}
reload() { [ -e /sys/module/zcdev ] || insmod "${ZC_MODULE:-/zcdev.ko}"; }
trap reload EXIT

head -c "$size" /dev/urandom > disk.img

say "nc -l -p 9000 > copy.img &"
nc_listen 9000 copy.img
say "zcsend disk.img 127.0.0.1:9000"
zcsend disk.img 127.0.0.1:9000 || rc=1
wait
say "cmp disk.img copy.img && echo identical"
cmp disk.img copy.img && echo identical || rc=1
echo

say "ip netns exec nosg nc -l -p 9000 > copy.img &   # egress zc1: sg off, tx off"
nc_listen -n nosg 9000 copy.img
say "zcsend disk.img 203.0.113.2:9000"
zcsend disk.img 203.0.113.2:9000 || rc=1
wait
echo

say "ip netns exec veth nc -l -p 9000 > part.bin &"
nc_listen -n veth 9000 part.bin
say "zcsend --json --offset 1M --length 4M disk.img [2001:db8:1::2]:9000"
zcsend --json --offset 1M --length 4M disk.img '[2001:db8:1::2]:9000' || rc=1
wait
echo

say "ip netns exec nosg nc -l -p 9000 > copy.img &"
nc_listen -n nosg 9000 copy.img
say "zcsend --strict disk.img 203.0.113.2:9000; echo \"exit \$?\""
zcsend --strict disk.img 203.0.113.2:9000
echo "exit $?"
wait
echo

say "ip netns exec nosg nc -l -p 9000 > copy.img &"
nc_listen -n nosg 9000 copy.img
say "zcsend --probe disk.img 203.0.113.2:9000"
zcsend --probe disk.img 203.0.113.2:9000 || rc=1
wait
echo

say "nc -l -p 9000 > copy.img &"
nc_listen 9000 copy.img
say "zcsend --notify --header 'HTTP/1.1 200 OK\\r\\n\\r\\n' disk.img 127.0.0.1:9000"
zcsend --notify --header 'HTTP/1.1 200 OK\r\n\r\n' disk.img 127.0.0.1:9000 || rc=1
wait
say "tail -c +20 copy.img | cmp - disk.img && echo identical"
tail -c +20 copy.img | cmp - disk.img && echo identical || rc=1
echo

say "zcsend --listen --once [::1]:9000 disk.img &"
zcsend --listen --once '[::1]:9000' disk.img &
zpid=$!
i=0
while [ $i -lt 50 ] && ! grep -q ':2328 .* 0A ' /proc/net/tcp6; do
	sleep 0.1
	i=$((i + 1))
done
say "nc ::1 9000 > copy.img"
nc ::1 9000 > copy.img
wait $zpid || rc=1
echo

say "rmmod zcdev"
rmmod zcdev
say "nc -l -p 9000 > copy.img &"
nc_listen 9000 copy.img
say "zcsend disk.img 127.0.0.1:9000"
zcsend disk.img 127.0.0.1:9000 || rc=1
wait
say "zcsend --strict disk.img 127.0.0.1:9000; echo \"exit \$?\""
zcsend --strict disk.img 127.0.0.1:9000
echo "exit $?"
say "insmod \$ZC_MODULE"
reload

rm -f disk.img copy.img part.bin
exit $rc
