#!/bin/bash
# bench/plot.sh RESULTS_DIR: PNG plots of RESULTS_DIR/all.csv with gnuplot.
#
# Per kernel K and connection count C (one image each):
#   K-cC.png        top row: throughput (MiB/s) vs transfer size; bottom row:
#                   sender CPU time per byte (ns/B) vs size; one column per
#                   file system x network; one line per method, bars min-max
#   K-cC-ratio.png  the same cells as ratios against sendfile(2) from the same
#                   repetitions: CPU/byte (top; issue 11's goals dashed: 0.60, overlay 0.75) and
#                   throughput (bottom; the 1.5 goal dashed)
# and from RESULTS_DIR/hdr.csv (zcbench --suite hdr), per kernel:
#   K-hdr.png       CPU per response (top) and throughput (bottom) as ratios
#                   to cork (writev + sendfile under TCP_CORK) vs body size,
#                   1 connection, one column per file system x network
# and from RESULTS_DIR/http.csv (the http suite), per kernel: K-http.png
# (bench/plot-http.sh).
# Data files for each line are left in RESULTS_DIR/plot/.
set -euo pipefail
dir=${1:?usage: bench/plot.sh RESULTS_DIR}
csv=$dir/all.csv
hcsv=$dir/hdr.csv
[[ -s $csv || -s $hcsv || -s $dir/http.csv ]] ||
	{ echo "plot.sh: no $csv, $hcsv or $dir/http.csv" >&2; exit 1; }
command -v gnuplot > /dev/null || { echo "plot.sh: gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 1; }
clock=icount
[[ -f $dir/CLOCK ]] && clock=$(cut -d: -f1 "$dir/CLOCK")
case $clock in
icount) clockt="guest time = emulated instructions" ;;
*) clockt="TCG guest, host time" ;;
esac
pd=$dir/plot
rm -rf "$pd"
mkdir -p "$pd"
if [[ -s $dir/http.csv ]]; then
	"$(dirname "$0")/plot-http.sh" "$dir"
fi

# One data file per kernel/conns/fs/net/method:
#   size thr_med thr_min thr_max cpu_med cpu_min cpu_max
#   cpu_x_sf_med min max thr_x_sf_med min max
[[ -s $csv ]] || csv=/dev/null
awk -F, -v pd="$pd" '$1 == "zcb" && $2 != "kernel" {
	f = pd "/" $2 "-c" $5 "-" $3 "-" $4 "-" $7 ".dat"
	print $6, $10, $11, $12, $13, $14, $15, \
	      ($24 == "" ? "NaN" : $24), ($25 == "" ? "NaN" : $25), ($26 == "" ? "NaN" : $26), \
	      ($21 == "" ? "NaN" : $21), ($22 == "" ? "NaN" : $22), ($23 == "" ? "NaN" : $23) > f
}' "$csv"

kernels=$(awk -F, '$1 == "zcb" && $2 != "kernel" { print $2 }' "$csv" | awk '!s[$0]++')
methods=(rw sendfile splice msgzc zcdev libzc)
declare -A style=(
	[rw]='lc rgb "#7f7f7f" lw 1.5 pt 4 ps 0.7'
	[sendfile]='lc rgb "#000000" lw 2 pt 7 ps 0.7'
	[splice]='lc rgb "#1f77b4" lw 1.5 pt 8 ps 0.7'
	[msgzc]='lc rgb "#ff7f0e" lw 1.5 pt 6 ps 0.7'
	[zcdev]='lc rgb "#d62728" lw 3 pt 5 ps 0.8'
	[libzc]='lc rgb "#9467bd" lw 1.5 dt 2 pt 9 ps 0.7'
)
label() {
	case $1 in
	rw) echo "read/write 2x32K" ;; msgzc) echo "MSG_ZEROCOPY" ;; *) echo "$1" ;;
	esac
}

for k in $kernels; do
	conns=$(awk -F, -v k="$k" '$1 == "zcb" && $2 == k { print $5 }' "$csv" | sort -n -u)
	for c in $conns; do
		cells=()
		for fs in tmpfs ext4 overlay; do
			for net in lo veth nosg; do
				ls "$pd/$k-c$c-$fs-$net-"*.dat > /dev/null 2>&1 && cells+=("$fs-$net")
			done
		done
		((${#cells[@]})) || continue
		ncol=${#cells[@]}
		sizes=$(cat "$pd/$k-c$c-"*.dat | awk '{ print $1 }' | sort -n -u)
		xtics=$(for s in $sizes; do
			if ((s >= 1073741824)); then l="$((s / 1073741824))G"
			elif ((s >= 1048576)); then l="$((s / 1048576))M"
			else l="$((s / 1024))K"; fi
			printf '"%s" %s, ' "$l" "$s"
		done | sed 's/, $//')
		xmin=$(echo "$sizes" | sed -n 1p)	# (head would close the pipe early: SIGPIPE under pipefail)
		xmax=$(echo "$sizes" | tail -n 1)

		for kind in abs ratio; do
			if [[ $kind == abs ]]; then png=$dir/$k-c$c.png; else png=$dir/$k-c$c-ratio.png; fi
			gp=$pd/$k-c$c-$kind.gp
			{
				echo "set terminal pngcairo noenhanced size $((430 * ncol + 60)),820 font 'DejaVu Sans,10'"
				echo "set output '$png'"
				if [[ $kind == abs ]]; then
					echo "set multiplot layout 2,$ncol title 'Linux $k, $c connection(s): throughput and sender CPU per byte vs transfer size (median, bars min-max; $clockt)'"
				else
					echo "set multiplot layout 2,$ncol title 'Linux $k, $c connection(s): ratio to sendfile(2) in the same repetitions (median, bars min-max; $clockt)'"
				fi
				echo "set logscale x 2"
				echo "set xrange [$xmin/1.5:$xmax*1.5]"
				echo "set xtics ($xtics) rotate by -45"
				echo "set grid"
				echo "set key top left font ',8' samplen 2 spacing 0.9"
				echo "set style data yerrorlines"
				echo "set bars small"
				for row in 1 2; do
					i=0
					for cell in "${cells[@]}"; do
						fs=${cell%-*} net=${cell#*-}
						if [[ $kind == abs && $row == 1 ]]; then
							echo "set logscale y 10; set autoscale y; set ylabel 'MiB/s'; unset arrow; unset label"; u='1:2:3:4'
						elif [[ $kind == abs ]]; then
							echo "set logscale y 10; set autoscale y; set ylabel 'CPU ns/byte'; unset arrow; unset label"; u='1:5:6:7'
						elif [[ $row == 1 ]]; then
							# issue 11: 0.60 (overlay: 0.75) at >= 1 MiB
							g=0.60
							[[ $fs == overlay ]] && g=0.75
							echo "set logscale y 2; set yrange [0.25:16]; set ylabel 'CPU/byte ÷ sendfile'"
							echo "unset arrow; unset label; set arrow from graph 0, first $g to graph 1, first $g nohead dt 2 lc rgb '#d62728'"
							echo "set label 'goal $g' at graph 0.02, first $g left offset 0,-0.7 tc rgb '#d62728' font ',8'"
							echo "set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#000000'"
							u='1:8:9:10'
						else
							echo "set logscale y 2; set yrange [0.125:4]; set ylabel 'throughput ÷ sendfile'"
							echo "unset arrow; unset label"
							if [[ $fs != overlay ]]; then
								echo "set arrow from graph 0, first 1.5 to graph 1, first 1.5 nohead dt 2 lc rgb '#d62728'"
								echo "set label 'goal 1.5' at graph 0.02, first 1.5 left offset 0,0.7 tc rgb '#d62728' font ',8'"
							fi
							echo "set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#000000'"
							u='1:11:12:13'
						fi
						echo "set title '$fs, $net'"
						if ((i == 0 && row == 1)); then echo "set key"; else echo "unset key"; fi
						plots=()
						for m in "${methods[@]}"; do
							f=$pd/$k-c$c-$fs-$net-$m.dat
							[[ -f $f ]] || continue
							[[ $kind == ratio && $m == sendfile ]] && continue
							plots+=("'$f' using $u title '$(label "$m")' ${style[$m]}")
						done
						(IFS=,; echo "plot ${plots[*]}")
						i=$((i + 1))
					done
				done
				echo "unset multiplot"
			} > "$gp"
			gnuplot "$gp"
			echo "# plot: ${png#"$PWD"/}"
		done
	done
done

# ---- the hdr suite: ratios to cork, 1 connection ------------------------------
[[ -s $hcsv ]] || exit 0
awk -F, -v pd="$pd" '$1 == "zch" && $2 != "kernel" && $5 == 1 {
	f = pd "/hdr-" $2 "-" $3 "-" $4 "-" $7 ".dat"
	print $6, ($24 == "" ? "NaN" : $24), ($25 == "" ? "NaN" : $25), ($26 == "" ? "NaN" : $26), \
	      ($21 == "" ? "NaN" : $21), ($22 == "" ? "NaN" : $22), ($23 == "" ? "NaN" : $23) > f
}' "$hcsv"
hmethods=(cork more zcmore sendv libzcv)
style[cork]=${style[sendfile]}
style[more]=${style[splice]}
style[zcmore]=${style[libzc]}
style[sendv]=${style[zcdev]}
style[libzcv]='lc rgb "#ff7f0e" lw 1.5 dt 2 pt 6 ps 0.7'
hlabel() {
	case $1 in
	cork) echo "writev+sendfile, TCP_CORK" ;; more) echo "send(MSG_MORE)+sendfile" ;;
	zcmore) echo "send(MSG_MORE)+zcdev SENDFILE" ;; sendv) echo "ZCDEV_IOC_SENDV" ;;
	libzcv) echo "libzc zc_sendv_all()" ;;
	esac
}
for k in $(awk -F, '$1 == "zch" && $2 != "kernel" { print $2 }' "$hcsv" | awk '!s[$0]++'); do
	cells=()
	for fs in tmpfs ext4; do
		for net in lo veth nosg; do
			ls "$pd/hdr-$k-$fs-$net-"*.dat > /dev/null 2>&1 && cells+=("$fs-$net")
		done
	done
	((${#cells[@]})) || continue
	ncol=${#cells[@]}
	sizes=$(cat "$pd/hdr-$k-"*.dat | awk '{ print $1 }' | sort -n -u)
	xtics=$(for s in $sizes; do
		if ((s >= 1048576)); then l="$((s / 1048576))M"; else l="$((s / 1024))K"; fi
		printf '"%s" %s, ' "$l" "$s"
	done | sed 's/, $//')
	xmin=$(echo "$sizes" | sed -n 1p)	# (head would close the pipe early: SIGPIPE under pipefail)
	xmax=$(echo "$sizes" | tail -n 1)
	png=$dir/$k-hdr.png
	gp=$pd/hdr-$k.gp
	{
		echo "set terminal pngcairo noenhanced size $((430 * ncol + 60)),820 font 'DejaVu Sans,10'"
		echo "set output '$png'"
		echo "set multiplot layout 2,$ncol title 'Linux $k: one HTTP-like response (320 B header + body) per call, ratio to cork in the same repetitions (median, bars min-max; $clockt)'"
		echo "set logscale x 2"
		echo "set xrange [$xmin/1.5:$xmax*1.5]"
		echo "set xtics ($xtics) rotate by -45"
		echo "set grid"
		echo "set key bottom left font ',8' samplen 2 spacing 0.9"
		echo "set style data yerrorlines"
		echo "set bars small"
		for row in 1 2; do
			i=0
			for cell in "${cells[@]}"; do
				fs=${cell%-*} net=${cell#*-}
				if [[ $row == 1 ]]; then
					echo "set yrange [0.4:1.3]; set ylabel 'CPU per response ÷ cork'"; u='1:2:3:4'
				else
					echo "set yrange [0.7:2.5]; set ylabel 'throughput ÷ cork'"; u='1:5:6:7'
				fi
				echo "unset arrow; set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#000000'"
				echo "set title '$fs, $net, body size'"
				if ((i == 0 && row == 1)); then echo "set key"; else echo "unset key"; fi
				plots=()
				for m in "${hmethods[@]}"; do
					f=$pd/hdr-$k-$fs-$net-$m.dat
					[[ -f $f && $m != cork ]] || continue
					plots+=("'$f' using $u title '$(hlabel "$m")' ${style[$m]}")
				done
				(IFS=,; echo "plot ${plots[*]}")
				i=$((i + 1))
			done
		done
		echo "unset multiplot"
	} > "$gp"
	gnuplot "$gp"
	echo "# plot: ${png#"$PWD"/}"
done
