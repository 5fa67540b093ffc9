# bench/summary7.awk: the issue 7 suites in Markdown (awk -F, -f ... hdr.csv
# cold.csv; either may be missing).
#
# hdr.csv (zcbench --suite hdr, "zch" lines; columns as zcbench.c
# csv_header(), the reference being cork):
#  2 kernel 3 fs 4 net 5 conns 6 size 7 method 10 thr_MiBps_med
#  16 cpu_us_xfer_med (per response) 18 sys_xfer (syscalls per response)
#  21 thr_x_cork_med 24 cpu_x_cork_med 30 path 31 zc_pct 32 why
# cold.csv (zccold, "zcc" lines): see zccold.c.

function sz(v) {
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
function once(arr, ord, cnt, v) { if (!(v in arr)) { arr[v] = 1; ord[++cnt] = v; return cnt } return cnt }
function rng(s, fmt) {
	mstat(s)
	if (N == 0) return "-"
	if (N == 1 || MIN == MAX) return sprintf(fmt, MED)
	return sprintf(fmt " (" fmt "–" fmt ")", MED, MIN, MAX)
}

$1 == "zch" && $2 != "kernel" {
	k = $2; m = $7; s = $6 + 0
	nhk = once(hk, hko, nhk, k)
	nhm = once(hm, hmo, nhm, m)
	nhs = once(hs, hso, nhs, s)
	key = k SUBSEP s SUBSEP m
	add(h_cpu, key, $24); add(h_thr, key, $21); add(h_sys, key, $18)
	add(h_us, key, $16)
	hcells[k SUBSEP s]++
	if ($32 != "-" && $32 != "") why[m] = $32
	path[m] = $30
}
$1 == "zcc" && $2 != "kernel" {
	k = $2; d = $3; m = $4
	nck = once(ck, cko, nck, k)
	ncd = once(cd, cdo, ncd, d)
	ncm = once(cm, cmo, ncm, m)
	key = k SUBSEP d SUBSEP m
	c_have[key] = 1
	c_n[key] = $6; c_p50[key] = $7; c_p99[key] = $8; c_p99r[key] = $9 "–" $10
	c_max[key] = $11; c_maxr[key] = $12 "–" $13; c_cold[key] = $14
	c_thr[key] = $15; c_long[key] = $18; c_calls[key] = $19; c_sys[key] = $20
	c_cpuh[key] = $21; c_cpuc[key] = $22; c_nc[key] = $24; c_xp99[key] = $25
	c_xmax[key] = $26; c_xthr[key] = $27; c_xthrr[key] = $28 "–" $29
	c_cres[key] = $30; c_hres[key] = $31; c_rd[key] = $33; c_rdk[key] = $34
}

END {
	if (nhk) {
		print "# Vectored send (issue 7): one HTTP-like response per call"
		print ""
		print "A response is a header from memory (zcbench --hdr-len, 320 bytes by"
		print "default) plus a file body (the cell's size).  Ratios are each method's figure divided by cork's"
		print "(writev + sendfile between TCP_CORK on and off) from the same repetition,"
		print "median over repetitions, then median (lowest–highest) over the fs ×"
		print "network × connections cells of that body size.  CPU is the sending"
		print "thread's per response; syscalls are per response."
		print ""
		print "| kernel | body | cork µs/resp | method | CPU/resp × cork | throughput × cork | syscalls/resp |"
		print "|---|---|---|---|---|---|---|"
		for (a = 1; a <= nhk; a++) for (b = 1; b <= nhs; b++) {
			k = hko[a]; s = hso[b]
			if (!((k SUBSEP s) in hcells)) continue
			for (c = 1; c <= nhm; c++) {
				m = hmo[c]; key = k SUBSEP s SUBSEP m
				if (!(key in h_cpu)) continue
				if (m == "cork") {
					corkus = rng(h_us[key], "%.1f"); corksys = rng(h_sys[key], "%.2f")
					continue
				}
				printf("| %s | %s | %s (%s sys) | %s | **%s** | %s | %s |\n", k, sz(s),
				       corkus, corksys, m, rng(h_cpu[key], "%.2f"),
				       rng(h_thr[key], "%.2f"), rng(h_sys[key], "%.2f"))
			}
		}
		print ""
		printf("Path reports:")
		for (c = 1; c <= nhm; c++) {
			m = hmo[c]
			printf(" %s: %s%s;", m, path[m], (m in why) ? " (" why[m] ")" : "")
		}
		print ""
		print ""
	}
	if (nck) {
		print "# Cached-only against blocking sends on a cold cache (issue 7)"
		print ""
		print "One event-loop thread serves hot clients (small files in the page cache,"
		print "one request at a time with a pause between requests) and cold clients"
		print "(large files dropped from the cache, back to back) over loopback.  Hot"
		print "latency: request written → last byte read.  × sf: ratio to blocking"
		print "sendfile(2) in the same repetition (median over repetitions).  longest:"
		print "the longest single send call the loop made.  CPU: the server thread's,"
		print "in its send calls, per hot and per cold response.  retries: NOT_CACHED/"
		print "-EBUSY returns per cold response.  disk reads: read requests per MiB of"
		print "cold files (× their average size).  cached: the cold and hot files' pages"
		print "in the page cache before each measurement (should be 0 / 100)."
		print ""
		print "| kernel | disk | method | hot p50 µs | hot p99 µs | × sf | hot max µs | × sf | cold resp ms | MiB/s | × sf | longest call µs | send calls/resp | CPU µs hot / cold | retries/cold | disk reads/MiB | cached % cold / hot |"
		print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
		for (a = 1; a <= nck; a++) for (b = 1; b <= ncd; b++) for (c = 1; c <= ncm; c++) {
			key = cko[a] SUBSEP cdo[b] SUBSEP cmo[c]
			if (!(key in c_have)) continue
			printf("| %s | %s | %s | %.0f | %.0f (%s) | **%.3f** | %.0f (%s) | **%.3f** | %.2f | %.1f | **%.2f** (%s) | %.0f | %.2f | %.1f / %.0f | %.2f | %.1f × %.0f KiB | %.0f / %.0f |\n",
			       cko[a], cdo[b], cmo[c], c_p50[key], c_p99[key], c_p99r[key],
			       c_xp99[key], c_max[key], c_maxr[key], c_xmax[key], c_cold[key],
			       c_thr[key], c_xthr[key], c_xthrr[key], c_long[key], c_calls[key],
			       c_cpuh[key], c_cpuc[key], c_nc[key], c_rd[key], c_rdk[key],
			       c_cres[key], c_hres[key])
		}
		print ""
	}
}
