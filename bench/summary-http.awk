# bench/summary-http.awk: the http suite in Markdown (awk -F, -v clock=...
# -v mode=... -f ... http.csv).  bench/http-guest.sh, "zcw" lines:
#  2 kernel 3 kind (wrk|sys|mem) 4 server 5 proto 6 size 7 conns 8 rep
#  9 secs 10 responses 11 rps 12 mibps 13 errors 14 cpu_ticks 15 cpu_ns_resp
#  16 zc_bytes 17 copied_bytes 18 why 19 ktls_tx 20 syscalls 21 sends
#  22 eagain 23 file_reads 24 calls 25 rss_idle_kb 26 rss_kb 27 conns_open
#  28 bytes_per_conn
# Per kernel: issue 14's goals as ratios of medians over the repetitions
# of the same run (the servers interleaved), then req/s and server CPU
# per response of every cell, zchttpd's path report, syscalls of one
# download under strace, memory per idle keep-alive connection.

function sz(v) {
	if (v >= 1048576 && v % 1048576 == 0) return (v / 1048576) "M"
	if (v >= 1024 && v % 1024 == 0) return (v / 1024) "K"
	return v
}
function once(arr, ord, cnt, v) { if (!(v in arr)) { arr[v] = 1; ord[++cnt] = v; return cnt } return cnt }
# median of the n values v[key, 1..n]
function med(key, n,   a, i, j, t) {
	if (n < 1) return ""
	for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function m(k, srv, p, s, c, what,   key) {
	key = k SUBSEP srv SUBSEP p SUBSEP s SUBSEP c SUBSEP what
	return (key in nval) ? med(key, nval[key]) : ""
}
function add(k, srv, p, s, c, what, v,   key) {
	if (v == "") return
	key = k SUBSEP srv SUBSEP p SUBSEP s SUBSEP c SUBSEP what
	val[key, ++nval[key]] = v
}
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "" : a / b }
function fr(r) { return r == "" ? "-" : sprintf("%.2f", r) }
function verdict(r, goal) { return r == "" ? "not measured" : (r >= goal ? "**met**" : "not met") }
function us(ns) { return ns == "" ? "-" : sprintf("%.1f", ns / 1000) }

$1 == "zcw" && $2 != "kernel" {
	k = $2
	nk = once(ks, ko, nk, k)
	if ($3 == "wrk") {
		cell = $5 SUBSEP $6 SUBSEP $7
		if (!((k, cell) in cells)) { cells[k, cell] = 1; ck[k, ++nc[k]] = cell }
		if (!($4 in sseen)) { sseen[$4] = 1; sord[++ns] = $4 }
		add(k, $4, $5, $6, $7, "rps", $11)
		add(k, $4, $5, $6, $7, "cpu", $15)
		add(k, $4, $5, $6, $7, "err", $13)
		add(k, $4, $5, $6, $7, "zc", $16)
		add(k, $4, $5, $6, $7, "cp", $17)
		add(k, $4, $5, $6, $7, "ktls", $19)
		add(k, $4, $5, $6, $7, "resp", $10)
		if ($18 != "") why[k, $4, $5, $6, $7] = $18
		reps[k] = ($8 > reps[k]) ? $8 : reps[k]
		secs[k, $6] = $9
	} else if ($3 == "sys") {
		sys[k, ++nsys[k]] = sprintf("| %s | %s | %s | %s | %s | %s | %s |", $4, sz($6), $20, $21, $22, $23, $24)
		if ($4 == "zchttpd") { zsends[k, $6] = $21; zeagain[k, $6] = $22 }
		if ($4 == "nginx-sf") { nsends[k, $6] = $21 }
	} else if ($3 == "mem") {
		mem[k, ++nmem[k]] = sprintf("| %s | %d | %d | %s | %s |", $4, $25, $26, $27, $28)
	}
}
END {
	if (!nk) exit
	print ""
	print "## zchttpd against nginx (issue 14; suite http)"
	print ""
	print "zchttpd (tools/zchttpd, libzc, /dev/zcdev) and Debian's nginx 1.22 in the same"
	print "guest, wrk (Debian's, -t1) the client over lo, files on the tmpfs, access logs on."
	print "nginx-sf: sendfile on; nginx-nosf: sendfile off + output_buffers 2 32k;"
	print "zchttpd-ktls: kTLS, bodies through zcdev; nginx-ktls: ssl_conf_command Options KTLS;"
	print "nginx-tls: user-space TLS. Each repetition runs every server on a cell in turn, the"
	print "first server rotating. Server CPU: utime+stime of its processes per response."
	print "The server and wrk share the guest's CPU" (clock ~ /^icount/ ? " (icount: one vCPU)" : "") "."
	if (clock != "") print "Clock: " clock "."
	for (i = 1; i <= nk; i++) {
		k = ko[i]
		print ""
		print "### " k
		print ""
		printf "%s repetition(s); medians of req/s over them; ratios of the medians.\n\n", reps[k]
		print "| goal | cell | zchttpd | reference | ratio | goal | |"
		print "|---|---|---|---|---|---|---|"
		for (c = 1; c <= nc[k]; c++) {
			split(ck[k, c], p, SUBSEP)
			if (p[1] == "http" && (p[2] == 1048576 || p[2] == 16384)) {
				g = (p[2] == 1048576) ? 1.25 : 1.0
				a = m(k, "zchttpd", p[1], p[2], p[3], "rps")
				b = m(k, "nginx-sf", p[1], p[2], p[3], "rps")
				printf "| req/s ÷ nginx sendfile on | %s, %s conn | %.1f | %.1f | %s | ≥ %.2f | %s |\n",
					sz(p[2]), p[3], a, b, fr(ratio(a, b)), g, verdict(ratio(a, b), g)
			}
		}
		for (c = 1; c <= nc[k]; c++) {
			split(ck[k, c], p, SUBSEP)
			if (p[1] != "https" || p[2] != 1048576) continue
			a = m(k, "zchttpd-ktls", p[1], p[2], p[3], "rps")
			b = m(k, "nginx-ktls", p[1], p[2], p[3], "rps")
			d = m(k, "nginx-tls", p[1], p[2], p[3], "rps")
			printf "| HTTPS req/s ÷ nginx kTLS | %s, %s conn | %.1f | %.1f | %s | ≥ 1.10 | %s |\n",
				sz(p[2]), p[3], a, b, fr(ratio(a, b)), verdict(ratio(a, b), 1.1)
			printf "| HTTPS req/s ÷ nginx user-space TLS | %s, %s conn | %.1f | %.1f | %s | ≥ 2.00 | %s |\n",
				sz(p[2]), p[3], a, d, fr(ratio(a, d)), verdict(ratio(a, d), 2)
		}
		nsz = split("16384 1048576 104857600", szs, " ")
		for (j = 1; j <= nsz; j++) {
			s = szs[j]
			if (!((k, s) in zsends)) continue
			room = (zeagain[k, s] == 0)
			printf "| send calls per response body (strace) | %s, 1 download | %s (EAGAIN %s) | nginx-sf %s | - | ≤ 1 when the socket has room | %s |\n",
				sz(s), zsends[k, s], zeagain[k, s], nsends[k, s],
				room ? (zsends[k, s] <= 1 ? "**met**" : "not met") : "socket was full (EAGAIN): goal does not apply"
		}
		for (q = 1; q <= 2; q++) {
			proto = (q == 1) ? "http" : "https"
			if (proto == "http") { n3 = split("zchttpd nginx-sf nginx-nosf", sv, " ") }
			else { n3 = split("zchttpd-ktls nginx-ktls nginx-tls", sv, " ") }
			any = 0
			for (c = 1; c <= nc[k]; c++) { split(ck[k, c], p, SUBSEP); if (p[1] == proto) any = 1 }
			if (!any) continue
			print ""
			if (proto == "http") {
				print "HTTP: req/s (median), server CPU per response in µs (median), the ratios of zchttpd's to"
				print "nginx's, wrk's errors (socket errors + non-2xx, median), zchttpd's status endpoint over"
				print "the cell (bytes by reference, % of those sent; why: responses):"
			} else {
				print "HTTPS (TLS 1.2 and 1.3 offered, wrk's OpenSSL chooses): the same, and the sockets that got kTLS TX in"
				print "the cell (/proc/net/tls_stat TlsTxSw + TlsTxDevice, median):"
			}
			print ""
			printf "| size | conns |"
			for (j = 1; j <= n3; j++) printf " %s req/s |", sv[j]
			for (j = 2; j <= n3; j++) printf " req/s ÷ %s |", sv[j]
			for (j = 1; j <= n3; j++) printf " %s CPU µs |", sv[j]
			for (j = 2; j <= n3; j++) printf " CPU ÷ %s |", sv[j]
			printf " errors | %s path |", sv[1]
			print (proto == "https") ? " kTLS TX sockets |" : ""
			printf "|---|---|"
			for (j = 1; j <= 4 * n3 - 2 + 2 + (proto == "https"); j++) printf "---|"
			print ""
			for (c = 1; c <= nc[k]; c++) {
				split(ck[k, c], p, SUBSEP)
				if (p[1] != proto) continue
				printf "| %s | %s |", sz(p[2]), p[3]
				for (j = 1; j <= n3; j++) {
					v = m(k, sv[j], p[1], p[2], p[3], "rps")
					printf " %s |", v == "" ? "-" : sprintf("%.1f", v)
				}
				a = m(k, sv[1], p[1], p[2], p[3], "rps")
				for (j = 2; j <= n3; j++) printf " %s |", fr(ratio(a, m(k, sv[j], p[1], p[2], p[3], "rps")))
				for (j = 1; j <= n3; j++) printf " %s |", us(m(k, sv[j], p[1], p[2], p[3], "cpu"))
				a = m(k, sv[1], p[1], p[2], p[3], "cpu")
				for (j = 2; j <= n3; j++) printf " %s |", fr(ratio(a, m(k, sv[j], p[1], p[2], p[3], "cpu")))
				e = ""
				for (j = 1; j <= n3; j++) {
					v = m(k, sv[j], p[1], p[2], p[3], "err")
					if (v != "" && v > 0) e = e sprintf("%s%s: %d", (e == "" ? "" : ", "), sv[j], v)
				}
				zc = m(k, sv[1], p[1], p[2], p[3], "zc")
				cp = m(k, sv[1], p[1], p[2], p[3], "cp")
				pth = (zc + cp > 0) ? sprintf("%.1f %% by reference; %s", 100 * zc / (zc + cp), why[k, sv[1], p[1], p[2], p[3]]) : "-"
				printf " %s | %s |", (e == "" ? "0" : e), pth
				if (proto == "https") {
					printf " %s |", sprintf("%s, %s, %s", m(k, sv[1], p[1], p[2], p[3], "ktls"),
						m(k, sv[2], p[1], p[2], p[3], "ktls"), m(k, sv[3], p[1], p[2], p[3], "ktls"))
				}
				print ""
			}
		}
		if (nsys[k]) {
			print ""
			print "One download (curl) under strace -f -yy attached to the server's workers: every syscall,"
			print "the sends on the TCP socket (write, writev, sendfile, sendmsg, splice; zchttpd: its"
			print "ioctls on /dev/zcdev), the sends that failed with EAGAIN (socket full), reads of the"
			print "file, the eight most frequent calls (the access-log write is among them):"
			print ""
			print "| server | size | syscalls | sends | sends EAGAIN | file reads | most frequent |"
			print "|---|---|---|---|---|---|---|"
			for (j = 1; j <= nsys[k]; j++) print sys[k, j]
		}
		if (nmem[k]) {
			print ""
			print "RSS of the server's processes idle and with 256 idle keep-alive connections (each after"
			print "one 16K response), and (difference)/256:"
			print ""
			print "| server | RSS idle KiB | RSS 256 conns KiB | established | bytes per connection |"
			print "|---|---|---|---|---|"
			for (j = 1; j <= nmem[k]; j++) print mem[k, j]
		}
	}
}
