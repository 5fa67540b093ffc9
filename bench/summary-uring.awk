# bench/summary-uring.awk: the uring suite in Markdown (awk -F, -f ...
# uring.csv).  bench/zcuring.c's "zcu" lines:
#  2 kernel 3 conns 4 size 5 rep 6 method 7 cpu_us_per_resp 8 resp_per_s
#  9 syscalls_per_resp 10 cpu_x_sf (CPU per response / sendfile(2)'s, same
#  repetition)
# Per kernel and cell: each method's median over repetitions of CPU per
# response, its ratio to sendfile(2), responses/s and system calls per
# response; then issue 16's goals: at 4 KiB with >= 16 ready connections,
# uring CPU/response <= 0.6x epoll + sendfile(2); uring never worse than
# the ioctl (CPU per response) at any cell.

function sz(v) {
	if (v >= 1048576 && v % 1048576 == 0) return (v / 1048576) "M"
	if (v >= 1024 && v % 1024 == 0) return (v / 1024) "K"
	return v
}
function once(arr, ord, cnt, v) { if (!(v in arr)) { arr[v] = 1; ord[++cnt] = v; return cnt } return cnt }
# median of the n values v[key, 1..n]
function med(key, n,   i, j, t, a) {
	for (i = 1; i <= n; i++) a[i] = vals[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(key, v) { vals[key, ++nv[key]] = v }

$1 == "zcu" && $2 != "kernel" {
	nk = once(ks, ko, nk, $2)
	cell = $2 SUBSEP $3 SUBSEP $4
	if (!(cell in cells)) { cells[cell] = 1; co[++nc] = cell }
	nm = once(ms, mo, nm, $6)
	add("cpu" SUBSEP cell SUBSEP $6, $7)
	add("rps" SUBSEP cell SUBSEP $6, $8)
	add("calls" SUBSEP cell SUBSEP $6, $9)
	add("xsf" SUBSEP cell SUBSEP $6, $10)
	# uring against the ioctl, same repetition
	rep = cell SUBSEP $5
	if ($6 == "ioctl") ioctl_cpu[rep] = $7
	if ($6 == "uring") uring_cpu[rep] = $7
	if ($6 == "uring") reps[cell, ++nrep[cell]] = rep
}
END {
	if (!nk) exit
	print ""
	print "## io_uring commands against epoll + sendfile(2), the ioctl and io_uring splice (zcuring)"
	print ""
	print "One server thread, N loopback connections each with one request outstanding;"
	print "CPU per response is the process's but the client thread's (the server thread,"
	print "io_uring's io-wq workers, the loopback delivery charged to them); medians over"
	print "repetitions; x sf: CPU per response / sendfile(2)'s, same repetition."
	for (i = 1; i <= nk; i++) {
		k = ko[i]
		print ""
		print "### " k
		print ""
		print "| conns | size | method | CPU us/resp | x sf | resp/s | syscalls/resp |"
		print "|---|---|---|---|---|---|---|"
		for (c = 1; c <= nc; c++) {
			split(co[c], p, SUBSEP)
			if (p[1] != k) continue
			for (m = 1; m <= nm; m++) {
				key = co[c] SUBSEP mo[m]
				if (!nv["cpu" SUBSEP key]) continue
				printf "| %s | %s | %s | %.1f | %.2f | %.0f | %.2f |\n", p[2], sz(p[3]), mo[m],
					med("cpu" SUBSEP key, nv["cpu" SUBSEP key]), med("xsf" SUBSEP key, nv["xsf" SUBSEP key]),
					med("rps" SUBSEP key, nv["rps" SUBSEP key]), med("calls" SUBSEP key, nv["calls" SUBSEP key])
			}
		}
		print ""
		print "| goal (" k ") | cells | met |"
		print "|---|---|---|"
		n1 = m1 = n2 = m2 = 0
		for (c = 1; c <= nc; c++) {
			split(co[c], p, SUBSEP)
			if (p[1] != k) continue
			key = co[c] SUBSEP "uring"
			if (!nv["xsf" SUBSEP key]) continue
			x = med("xsf" SUBSEP key, nv["xsf" SUBSEP key])
			if (p[3] == 4096 && p[2] >= 16) { n1++; if (x <= 0.6) m1++; g1 = g1 sprintf(" %s conn: %.2f;", p[2], x) }
			for (r = 1; r <= nrep[co[c]]; r++) {
				rp = reps[co[c], r]
				if (!(rp in ioctl_cpu)) continue
				add("uxi" SUBSEP co[c], uring_cpu[rp] / ioctl_cpu[rp])
			}
			if (nv["uxi" SUBSEP co[c]]) {
				y = med("uxi" SUBSEP co[c], nv["uxi" SUBSEP co[c]])
				n2++; if (y <= 1.0) m2++
				g2 = g2 sprintf(" %s/%s: %.2f;", p[2], sz(p[3]), y)
			}
		}
		printf "| uring CPU/resp <= 0.6x sendfile at 4K, >= 16 conns |%s | %d of %d |\n", g1, m1, n1
		printf "| uring CPU/resp <= 1.0x ioctl, every cell |%s | %d of %d |\n", g2, m2, n2
		g1 = g2 = ""
	}
}
