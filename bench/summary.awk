# bench/summary.awk: the goals of issues 6 and 11 from zcbench CSV (awk -F,
# -f ...).  Prints Markdown: per kernel, each goal's measured zcdev ratios
# (paired medians from the same run) and how many cells meet it; every
# method's ratios against sendfile(2); then the per-cell detail.
# The goals of issue 6 and issue 11's 0.60 / 1.5 are over the tmpfs and
# ext4 cells; the overlay cells (issue 11: CPU/byte <= 0.75, and zero copy)
# are counted apart, so the issue 6 figures compare with earlier runs.
#
# CSV columns (zcbench.c csv_header()):
#  2 kernel 3 fs 4 net 5 conns 6 size 7 method 10 thr_MiBps_med
#  13 cpu_nspB_med 16 cpu_us_xfer_med 18 sys_xfer 19 vcsw_xfer 20 ivcsw_xfer
#  21 thr_x_sf_med 24 cpu_x_sf_med 27 cpu_x_rw_med 30 path 31 zc_pct 32 why

function sz(v) {
	if (v >= 1073741824 && v % 1073741824 == 0) return (v / 1073741824) "G"
	if (v >= 1048576 && v % 1048576 == 0) return (v / 1048576) "M"
	if (v >= 1024 && v % 1024 == 0) return (v / 1024) "K"
	return v
}
# median/min/max of the space-separated list s -> MED, MIN, MAX, N
function mstat(s,    a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) {
		t = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	N = n
	if (!n) { MED = MIN = MAX = ""; return }
	MIN = a[1] + 0; MAX = a[n] + 0
	MED = (n % 2) ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(arr, key, v) { arr[key] = (key in arr) ? arr[key] " " v : v }

$1 == "zcb" && $2 != "kernel" {
	k = $2; m = $7; size = $6 + 0
	if (!(k in seenk)) { seenk[k] = 1; kord[++nk] = k }
	if (!(m in seenm)) { seenm[m] = 1; mord[++nm] = m }
	big = size >= 1048576
	small = size >= 4096 && size <= 65536
	ovl = $3 == "overlay"
	grp = ovl ? "overlay" : "main"
	if (ovl) hasovl[k] = 1
	if (m != "sendfile" && $24 != "") {
		if (big) { add(bcpu, k SUBSEP grp SUBSEP m, $24); add(bthr, k SUBSEP grp SUBSEP m, $21) }
		if (small) add(scpu, k SUBSEP grp SUBSEP m, $24)
	}
	if (m == "zcdev" && big) {
		if (ovl) {
			add(o1, k, $24); add(o3, k, $21); no[k]++
			if ($24 <= 0.75) oko1[k]++
			if ($30 == "zerocopy") okzc[k]++
			opath[k] = (k in opath && index(" " opath[k] " ", " " $30 " ")) ? opath[k] : \
				((k in opath) ? opath[k] " " $30 : $30)
			add(ozc, k, $31)
		} else {
			n11[k]++
			if ($24 <= 0.60) ok11a[k]++
			if ($21 >= 1.5) ok11b[k]++
		}
	}
	if (m == "zcdev") {
		cell = $3 "/" $4 "/" $5
		if (big && !ovl) {
			add(g1, k, $24); add(g2, k, $27); add(g3, k, $21)
			n1[k]++; if ($24 <= 0.75) ok1[k]++
			if ($27 != "" && $27 <= 0.25) ok2[k]++
			if ($21 >= 1.25) ok3[k]++
		}
		if (small && !ovl) {
			add(g4, k, $24); n4[k]++; if ($24 <= 1.0) ok4[k]++
		}
		det[++nd] = sprintf("| %s | %s | %s | %s | %s | %.2f | %s | %.2f | %.1f / %.1f | %s |",
			k, $3, $4, $5, sz(size), $24, ($27 == "" ? "-" : sprintf("%.3f", $27)), $21,
			$16, sf_us[k, $3, $4, $5, size], $30 ($32 != "-" ? " (" $32 ")" : ""))
	}
	if (m == "sendfile") sf_us[k, $3, $4, $5, size] = $16
}

function goal(name, target, list, n, ok,    s) {
	mstat(list)
	if (!N) { printf("| %s | %s | - | - | - |\n", name, target); return }
	printf("| %s | %s | **%.2f** | %.2f – %.2f | %d of %d |\n", name, target, MED, MIN, MAX, ok + 0, n + 0)
}

function mtable(k, grp,    j, m, a, b, c) {
	print "| method | CPU/byte ≥ 1 MiB | throughput ≥ 1 MiB | CPU/transfer 4–64 KiB |"
	print "|---|---|---|---|"
	for (j = 1; j <= nm; j++) {
		m = mord[j]
		if (m == "sendfile") continue
		mstat(bcpu[k, grp, m]); a = N ? sprintf("%.2f (%.2f – %.2f)", MED, MIN, MAX) : "-"
		mstat(bthr[k, grp, m]); b = N ? sprintf("%.2f (%.2f – %.2f)", MED, MIN, MAX) : "-"
		mstat(scpu[k, grp, m]); c = N ? sprintf("%.2f (%.2f – %.2f)", MED, MIN, MAX) : "-"
		printf("| %s | %s | %s | %s |\n", m, a, b, c)
	}
}

END {
	print "# zcbench: the goals of issues 6 and 11, measured"
	print ""
	if (mode != "" || clock != "") { print "Run: " mode " mode; clock " clock "."; print "" }
	print "Ratios are zcdev's figure divided by the other method's from the same repetition"
	print "(methods interleaved), median over repetitions; \"median of cells\" is the median"
	print "of those per-cell medians over every fs × network × connections × size cell of"
	print "the size range; the range is the lowest and highest cell."
	for (i = 1; i <= nk; i++) {
		k = kord[i]
		print ""
		print "## Kernel " k
		print ""
		print "| goal | target | median of cells | range | cells meeting it |"
		print "|---|---|---|---|---|"
		goal("CPU/byte vs sendfile(2), ≥ 1 MiB", "≤ 0.75", g1[k], n1[k], ok1[k])
		goal("CPU/byte vs rw loop, ≥ 1 MiB", "≤ 0.25", g2[k], n1[k], ok2[k])
		goal("throughput vs sendfile(2), ≥ 1 MiB", "≥ 1.25", g3[k], n1[k], ok3[k])
		goal("CPU per transfer vs sendfile(2), 4–64 KiB", "≤ 1.00", g4[k], n4[k], ok4[k])
		print ""
		print "Issue 11 (tmpfs and ext4 cells, then the overlay cells):"
		print ""
		print "| goal | target | median of cells | range | cells meeting it |"
		print "|---|---|---|---|---|"
		goal("CPU/byte vs sendfile(2), ≥ 1 MiB", "≤ 0.60", g1[k], n11[k], ok11a[k])
		goal("throughput vs sendfile(2), ≥ 1 MiB", "≥ 1.50", g3[k], n11[k], ok11b[k])
		if (k in hasovl) {
			goal("overlay: CPU/byte vs sendfile(2), ≥ 1 MiB", "≤ 0.75", o1[k], no[k], oko1[k])
			goal("overlay: throughput vs sendfile(2), ≥ 1 MiB", "(none)", o3[k], no[k], no[k])
			mstat(ozc[k])
			printf("| overlay: zcdev's report, ≥ 1 MiB | zerocopy | %s | %.1f – %.1f %% by reference | %d of %d |\n",
			       opath[k], MIN, MAX, okzc[k] + 0, no[k] + 0)
		}
		print ""
		print "Every method against sendfile(2), tmpfs and ext4 cells (median of cells; < 1 is less CPU / > 1 is faster):"
		print ""
		mtable(k, "main")
		if (k in hasovl) {
			print ""
			print "The same, overlay cells:"
			print ""
			mtable(k, "overlay")
		}
	}
	print ""
	print "## Per cell (zcdev)"
	print ""
	print "| kernel | fs | net | conns | size | CPU/B ×sendfile | CPU/B ×rw | MiB/s ×sendfile | CPU µs/transfer zcdev / sendfile | path |"
	print "|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= nd; i++) print det[i]
}
