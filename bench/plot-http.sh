#!/bin/bash
# bench/plot-http.sh RESULTS_DIR: RESULTS_DIR/http.csv (the http suite,
# bench/http-guest.sh) as one PNG per kernel K with gnuplot:
#   K-http.png   left: HTTP req/s of zchttpd and nginx sendfile off as
#                ratios to nginx sendfile on, per cell (size, connections);
#                right: HTTPS req/s of zchttpd (kTLS) ÷ nginx kTLS and
#                ÷ nginx user-space TLS; medians over the repetitions,
#                issue 14's goals dashed (1.25 at 1 MiB, 1.0 at 16 KiB;
#                1.1 and 2)
# Called by bench/plot.sh; data files in RESULTS_DIR/plot/.
set -euo pipefail
dir=${1:?usage: bench/plot-http.sh RESULTS_DIR}
csv=$dir/http.csv
[[ -s $csv ]] || { echo "plot-http.sh: no $csv" >&2; exit 1; }
clock=icount
[[ -f $dir/CLOCK ]] && clock=$(cut -d: -f1 "$dir/CLOCK")
case $clock in
icount) clockt="guest time = emulated instructions" ;;
*) clockt="TCG guest, host time" ;;
esac
pd=$dir/plot
mkdir -p "$pd"
# per kernel and protocol: "label ratio1 ratio2" a line, one line per cell
awk -F, -v pd="$pd" '
function sz(v) {
	if (v >= 1048576 && v % 1048576 == 0) return (v / 1048576) "M"
	return (v / 1024) "K"
}
function med(key, n,   a, i, j, t) {
	for (i = 1; i <= n; i++) a[i] = v[key, i] + 0
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$1 == "zcw" && $3 == "wrk" {
	cell = $2 SUBSEP $5 SUBSEP $6 SUBSEP $7
	if (!(cell in seen)) { seen[cell] = 1; order[++nc] = cell }
	key = cell SUBSEP $4
	v[key, ++n[key]] = $11
}
END {
	for (c = 1; c <= nc; c++) {
		split(order[c], p, SUBSEP)
		if (p[2] == "http") { ref = "nginx-sf"; a = "zchttpd"; b = "nginx-nosf" }
		else { ref = "nginx-ktls"; a = "zchttpd-ktls"; b = "nginx-tls" }
		r = order[c] SUBSEP ref
		if (!n[r] || med(r, n[r]) == 0) continue
		x = order[c] SUBSEP a; y = order[c] SUBSEP b
		if (p[2] == "http")
			printf "\"%s %sc\" %s %s\n", sz(p[3]), p[4],
				(n[x] ? med(x, n[x]) / med(r, n[r]) : "NaN"),
				(n[y] ? med(y, n[y]) / med(r, n[r]) : "NaN") > (pd "/http-" p[1] "-" p[2] ".dat")
		else
			printf "\"%s %sc\" %s %s\n", sz(p[3]), p[4],
				(n[x] ? med(x, n[x]) / med(r, n[r]) : "NaN"),
				(n[x] && n[y] && med(y, n[y]) > 0 ? med(x, n[x]) / med(y, n[y]) : "NaN") > (pd "/http-" p[1] "-" p[2] ".dat")
	}
}' "$csv"
for k in $(awk -F, '$1 == "zcw" && $2 != "kernel" { print $2 }' "$csv" | awk '!s[$0]++'); do
	png=$dir/$k-http.png
	gp=$pd/http-$k.gp
	{
		echo "set terminal pngcairo noenhanced size 1100,480 font 'DejaVu Sans,10'"
		echo "set output '$png'"
		echo "set multiplot layout 1,2 title 'Linux $k: zchttpd against nginx 1.22, wrk over lo, req/s ratios (median; $clockt)'"
		echo "set style data histogram; set style histogram clustered gap 1"
		echo "set style fill solid 0.8 border -1; set boxwidth 0.9"
		echo "set grid y; set yrange [0:1.5<*]; set xtics rotate by -30"
		echo "set key outside bottom center horizontal font ',9'"
		for proto in http https; do
			f=$pd/http-$k-$proto.dat
			[[ -s $f ]] || continue
			if [[ $proto == http ]]; then
				echo "set title 'HTTP: ÷ nginx sendfile on (size, connections)'"
				echo "unset arrow; unset label; set arrow from graph 0, first 1.25 to graph 1, first 1.25 nohead dt 2 lc rgb '#d62728'"
				echo "set label 'goal 1.25 at 1M, 1.0 at 16K' at graph 0.02, first 1.25 left offset 0,0.7 tc rgb '#d62728' font ',8'"
				echo "set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#000000'"
				echo "plot '$f' using 2:xtic(1) title 'zchttpd' lc rgb '#d62728', '' using 3 title 'nginx sendfile off, output_buffers 2 32k' lc rgb '#7f7f7f'"
			else
				echo "set title 'HTTPS: zchttpd kTLS ÷ nginx (size, connections)'"
				echo "unset arrow; unset label; set arrow from graph 0, first 1.1 to graph 1, first 1.1 nohead dt 2 lc rgb '#d62728'"
				echo "set label 'goal 1.1' at graph 0.02, first 1.1 left offset 0,0.7 tc rgb '#d62728' font ',8'"
				echo "set arrow from graph 0, first 2 to graph 1, first 2 nohead dt 2 lc rgb '#7f7f7f'"
				echo "set label 'goal 2' at graph 0.02, first 2 left offset 0,0.7 tc rgb '#7f7f7f' font ',8'"
				echo "set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#000000'"
				echo "set yrange [0:2.3<*]"
				echo "plot '$f' using 2:xtic(1) title '÷ nginx kTLS' lc rgb '#d62728', '' using 3 title '÷ nginx user-space TLS' lc rgb '#7f7f7f'"
			fi
		done
		echo "unset multiplot"
	} > "$gp"
	gnuplot "$gp"
	echo "# plot: ${png#"$PWD"/}"
done
