# bench/summary-nic.awk: the nic suite in Markdown (awk -F, -f ... nic.csv).
# zcbench --suite nic, "zcn" lines (columns as zcbench.c csv_header(), the
# reference being sendfile):
#  2 kernel 3 fs 4 net 5 conns 6 size 7 method 10 thr_MiBps_med
#  13 cpu_nspB_med 21 thr_x_sf_med 24 cpu_x_sf_med 27 cpu_x_rw_med
#  30 path 31 zc_pct 32 why
# One table per kernel: every method of every cell, its ratios to sendfile(2)
# and to the read/write loop in the same run, and the path report (zcdev and
# libzc: what the module said; the others: "-").  The emulated NIC's cost is
# part of every figure: read the ratios, not the MiB/s.

function sz(v) {
	if (v >= 1048576 && v % 1048576 == 0) return (v / 1048576) "M"
	if (v >= 1024 && v % 1024 == 0) return (v / 1024) "K"
	return v
}
function once(arr, ord, cnt, v) { if (!(v in arr)) { arr[v] = 1; ord[++cnt] = v; return cnt } return cnt }

$1 == "zcn" && $2 != "kernel" {
	nk = once(ks, ko, nk, $2)
	key = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5 SUBSEP $6
	if (!(key in cells)) { cells[key] = 1; ck[++nc] = key }
	row[key, ++nrow[key]] = sprintf("| %s | %.1f | %.2f | %.2f | %.2f | %s | %s | %s |",
		$7, $10, $21, $24, $27, $30, ($31 == "" ? "-" : $31), ($32 == "" ? "-" : $32))
}
END {
	if (!nk) exit
	print ""
	print "## NIC cell: the six methods over the guest's e1000e pair (zcbench --suite nic)"
	print ""
	print "Two emulated e1000e NICs back to back on a QEMU hub, the receiver in its own"
	print "network namespace. The NIC emulation's cost is in every figure: read the ratios"
	print "(x sf: to sendfile(2), x rw: to the read/write loop, same run), not the MiB/s."
	for (i = 1; i <= nk; i++) {
		k = ko[i]
		print ""
		print "### " k
		for (c = 1; c <= nc; c++) {
			split(ck[c], p, SUBSEP)
			if (p[1] != k) continue
			print ""
			printf "%s, %s, %s conn, %s\n\n", p[2], p[3], p[4], sz(p[5])
			print "| method | MiB/s | thr x sf | CPU/B x sf | CPU/B x rw | path | zc % | why |"
			print "|---|---|---|---|---|---|---|---|"
			for (r = 1; r <= nrow[ck[c]]; r++) print row[ck[c], r]
		}
	}
}
