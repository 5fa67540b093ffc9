#!/bin/sh
# bench/profile-guest.sh (runs inside a test guest, from bench/profile.sh):
# where does a method's time go?  ftrace function_graph below the method's
# system call (sendfile(2), or ioctl(2) for zcdev/libzc, splice(2)...), depth
# limited so that the tracer's own cost stays small, aggregated in the guest:
# per function and depth, calls per transfer and inclusive microseconds per
# transfer.  Also a run of the same cell without tracing, for the real cost.
#
#   profile-guest.sh "METHODS" SIZE FS NET DEPTH TRANSFERS
#     e.g. profile-guest.sh "sendfile zcdev" 4K tmpfs lo 4 512
#
# The tracer adds a few microseconds (under TCG) per traced function, so
# compare the same depth across methods, not with the untraced figures.
set -u
methods=$1 size=$2 fs=$3 net=$4 depth=$5 n=$6
Z=/selftests/zcbench
T=/sys/kernel/tracing
[ -e $T/current_tracer ] || T=/sys/kernel/debug/tracing
[ -e $T/current_tracer ] || mount -t tracefs tracefs /sys/kernel/tracing
[ -e $T/current_tracer ] || { echo "no tracefs"; exit 1; }

bench() { # method [args]
	$Z --methods "$1" --sizes "$size" --fs "$fs" --net "$net" --conns 1 \
		--bytes "$(( $(echo "$size" | sed 's/K$/*1024/; s/M$/*1048576/; s/G$/*1073741824/') * n ))" \
		--max-iters "$n" --no-warmup --table-only "$@" 2>&1
}

echo "# untraced, 5 reps, every method: $size $fs $net"
bench "$(echo "$methods" | tr ' ' ,)" --reps 5 | grep -v '^# \(files\|calib\)'

# Functions to trace (only these are patched, so the tracer's cost stays on
# them): the entry points, the splice machinery, the socket layer down to
# the device, the receive side that runs in the sender's softirqs, and the
# page-cache helpers.  Names a kernel lacks are dropped.
FUNCS="__x64_sys_sendfile64 __x64_sys_ioctl __x64_sys_splice __x64_sys_sendto
__x64_sys_pread64 __x64_sys_writev __x64_sys_recvmsg
do_sendfile do_splice_direct splice_direct_to_actor direct_splice_actor
splice_file_to_pipe shmem_file_splice_read filemap_splice_read
generic_file_splice_read filemap_read splice_to_socket splice_from_pipe
__splice_from_pipe pipe_to_sendpage kernel_sendpage inet_sendpage
tcp_sendpage do_tcp_sendpages sock_sendmsg __sock_sendmsg tcp_sendmsg
tcp_sendmsg_locked skb_splice_from_iter tcp_build_frag lock_sock_nested
release_sock __release_sock tcp_push __tcp_push_pending_frames tcp_write_xmit
__tcp_transmit_skb ip_queue_xmit __dev_queue_xmit validate_xmit_skb
loopback_xmit veth_xmit __netif_receive_skb_core net_rx_action
__do_softirq handle_softirqs tcp_v4_rcv tcp_rcv_established tcp_ack
tcp_clean_rtx_queue sk_stream_wait_memory tcp_stream_alloc_skb
sk_stream_alloc_skb __kfree_skb kfree_skb_reason skb_release_data
napi_consume_skb rw_verify_area fsnotify touch_atime atime_needs_update
fdget __fget_light sockfd_lookup fput filemap_get_folios_contig
filemap_get_pages filemap_get_read_batch __filemap_get_folio
page_cache_pipe_buf_release __folio_put zcdev_ioctl zcdev_sendfile
__kmalloc kmalloc_trace __kmalloc_cache_noprof kfree
copy_page_to_iter _copy_from_iter _copy_to_iter __skb_datagram_iter
skb_copy_datagram_iter tcp_recvmsg
msg_zerocopy_realloc skb_zerocopy_iter_stream __zerocopy_sg_from_iter
skb_copy_ubufs skb_orphan_frags_rx
security_file_ioctl fget __fget_files sockfd_lookup_light
zcdev_ioctl_sendfile zcdev_ioctl_sendv zc_copy_args_in zc_send_result
zc_req_alloc zc_req_setup zc_check_socket zc_ktls_why zc_route_why
zc_sock_why zc_check_file zc_src_init zc_get_folios zc_fill_cache
zc_send_batch zc_send_range zc_send_mem zc_account zc_req_uncork
zc_src_accessed zc_req_result zcdev_sendv zc_segs_get zc_segs_put"

for m in $methods; do
	case $m in
	sendfile) top=__x64_sys_sendfile64 ;;
	splice) top=__x64_sys_splice ;;
	zcdev|libzc) top=__x64_sys_ioctl ;;
	rw) top="__x64_sys_pread64 __x64_sys_writev" ;;
	msgzc) top="__x64_sys_sendto __x64_sys_recvmsg" ;;
	*) echo "unknown method $m"; continue ;;
	esac
	echo 0 > $T/tracing_on
	echo nop > $T/current_tracer
	echo 65536 > $T/buffer_size_kb
	echo > $T/trace
	awk -v list="$FUNCS" 'BEGIN { n = split(list, a); for (i = 1; i <= n; i++) w[a[i]] = 1 }
		($1 in w) && !seen[$1]++ { print $1 }' $T/available_filter_functions > /tmp/prof-filter
	cat /tmp/prof-filter > $T/set_ftrace_filter
	echo $top > $T/set_graph_function
	echo "$depth" > $T/max_graph_depth
	echo function_graph > $T/current_tracer
	# tracer options exist only while the tracer is current
	echo funcgraph-tail > $T/trace_options
	echo funcgraph-proc > $T/trace_options
	echo nofuncgraph-irqs > $T/trace_options
	echo > $T/trace
	echo 1 > $T/tracing_on
	bench $m --reps 1 > /tmp/prof-run.txt
	echo 0 > $T/tracing_on
	echo "# traced: $m $size $fs $net, $n transfers, $(wc -l < $T/set_ftrace_filter) functions, depth $depth"
	grep -E "^($m |zcbench)" /tmp/prof-run.txt
	lost=$(grep -h 'overrun' $T/per_cpu/cpu*/stats | awk '{ s += $2 } END { print s }')
	echo "# ring buffer overruns: $lost"
	awk -v n="$n" -f /selftests/fgraph.awk $T/trace | sort | cut -f2- |
		awk 'NR == 1 || $1 + 0 >= 0.02'
	echo
done
echo nop > $T/current_tracer
