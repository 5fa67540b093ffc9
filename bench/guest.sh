#!/bin/sh
# bench/guest.sh: what bench/run.sh has a guest run (as its zc.run command;
# dash in vm/init's environment, programs in /selftests/).
#
#   guest.sh MODE KVER REPS TMPFS_MB "SUITES" "DISK_LATS" "HDR_ARGS" "COLD_ARGS"
#            "NIC_ARGS" "HTTP_ARGS" "URING_ARGS" [zcbench args...]
#
# SUITES: any of file (zcbench, the six methods), hdr (zcbench --suite hdr,
# vectored send and its alternatives), cold (zccold, cached-only against
# blocking sends on a cold cache), nic (zcbench --suite nic: the six methods
# over the guest's emulated e1000e pair, which bench/run.sh asks for with
# NICS=1; vm/init's setup.nics puts it on hub 1, B in netns nic1), http
# (http-guest.sh: zchttpd against nginx, wrk the client; the guest's root
# has them from vm/guest-preload.sh, bench/run.sh's overlay archive), uring
# (zcuring: io_uring zcdev commands against epoll + sendfile(2), the ioctl
# and io_uring splice).
# The zcbench args apply to the file suite,
# HDR_ARGS to the hdr suite (e.g. "--trailer 7"), COLD_ARGS to zccold,
# NIC_ARGS to the nic suite (e.g. "--sizes 1M"), HTTP_ARGS to
# http-guest.sh (e.g. "--sizes 1M --conns 16"), URING_ARGS to zcuring
# (e.g. "--conns 16 --sizes 4K").
# cold: for each latency of DISK_LATS (ns), a null_blk disk (memory backed,
# every request completed by a timer after that latency) is formatted from
# /selftests/zccold.img.gz (ext4, made on the host) and mounted on /mnt/cold.
# Exit status: 1 if any suite failed.
mode=$1 k=$2 reps=$3 tmpfs_mb=$4 suites=$5 lats=$6 hdr_args=$7 cold_args=$8
nic_args=$9 http_args=${10} uring_args=${11}
shift 11
rc=0
mount -o remount,size="${tmpfs_mb}m" /mnt/tmpfs || rc=1
for s in $suites; do
	case $s in
	file)
		# the overlay cell (overlayfs may be built in or loaded already;
		# without it zcbench skips that cell and says so)
		[ -e /selftests/overlay.ko ] && insmod /selftests/overlay.ko 2> /dev/null
		/selftests/zcbench "--$mode" --kernel "$k" --reps "$reps" "$@" || rc=1
		;;
	hdr)
		# shellcheck disable=SC2086 # a list of options
		/selftests/zcbench --suite hdr "--$mode" --kernel "$k" --reps "$reps" $hdr_args || rc=1
		;;
	nic)
		# hub 1 must be the e1000e pair, up (vm/init: /run/zc-nics)
		if ! grep -q '^1 e1000e ' /run/zc-nics 2> /dev/null; then
			echo "# zcbench nic: no e1000e pair on hub 1 (/run/zc-nics: $(cat /run/zc-nics 2> /dev/null))"
			rc=1
			continue
		fi
		# shellcheck disable=SC2086 # a list of options
		/selftests/zcbench --suite nic "--$mode" --kernel "$k" --reps "$reps" $nic_args || rc=1
		;;
	http)
		# shellcheck disable=SC2086 # a list of options
		/selftests/http-guest.sh "$mode" "$k" "$reps" $http_args || rc=1
		;;
	uring)
		# shellcheck disable=SC2086 # a list of options
		/selftests/zcuring "--$mode" --kernel "$k" --reps "$reps" $uring_args || rc=1
		;;
	cold)
		# configfs may be built in or loaded already
		insmod /selftests/configfs.ko 2> /dev/null
		mkdir -p /mnt/cold
		for lat in $lats; do
			label="null_blk $((lat / 1000))us"
			if ! insmod /selftests/null_blk.ko nr_devices=1 memory_backed=1 \
				irqmode=2 completion_nsec="$lat" gb=1 bs=4096; then
				echo "# zccold: loading null_blk failed"
				rc=1
				break
			fi
			i=0
			while [ ! -b /dev/nullb0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
			if zcat /selftests/zccold.img.gz > /dev/nullb0 && sync &&
			   mount -t ext4 /dev/nullb0 /mnt/cold; then
				# shellcheck disable=SC2086 # a list of options
				/selftests/zccold "--$mode" --dir /mnt/cold --disk "$label" \
					--kernel "$k" --reps "$reps" $cold_args || rc=1
				umount /mnt/cold || rc=1
			else
				echo "# zccold: making the ext4 on null_blk failed"
				rc=1
			fi
			rmmod null_blk || rc=1
		done
		;;
	*)
		echo "# guest.sh: unknown suite $s"
		rc=1
		;;
	esac
done
exit $rc
