#!/bin/bash
# bench/exp-summary.sh [RESULTS_DIR...]: one Markdown table of bench/exp.sh
# runs (default: the newest run of each patch in bench/results/exp-*).
# Per patch, kernel and transfer size: zcdevx's sender CPU per byte divided
# by sendfile(2)'s and by the unpatched zcdev's, and its throughput divided
# by sendfile(2)'s (medians over the fs x network cells of the run).
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
dirs=("$@")
if ((${#dirs[@]} == 0)); then
	mapfile -t dirs < <(ls -d "$BENCH"/results/exp-*-20* 2> /dev/null |
		sed -E 's/-[0-9]{8}-[0-9]{6}$//' | sort -u |
		while read -r p; do ls -d "$p"-20* | tail -n 1; done)
fi
echo "| patch | kernel | size | CPU/B ÷ sendfile: zcdev → zcdevx | zcdevx CPU/B ÷ zcdev | zcdevx MiB/s ÷ sendfile |"
echo "|---|---|---|---|---|---|"
for d in "${dirs[@]}"; do
	name=$(basename "$d" | sed -E 's/^exp-//; s/-[0-9]{8}-[0-9]{6}$//')
	for f in "$d"/*.txt; do
		[[ -f $f ]] || continue
		k=$(basename "$f" .txt)
		awk -v name="$name" -v k="$k" '
		function med(s,    a, n, i, j, t) {
			n = split(s, a, " ")
			for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
			return n ? ((n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0
		}
		/^== / { for (i = 1; i <= NF; i++) if ($i ~ /^size=/) { size = substr($i, 6) } if (!(size in seen)) { seen[size] = 1; ord[++n] = size } }
		$1 == "zcdev" && size != "" { z[size] = z[size] " " $7 }
		$1 == "zcdevx" && size != "" { x[size] = x[size] " " $7; v[size] = v[size] " " $8; t[size] = t[size] " " $4 }
		END {
			for (i = 1; i <= n; i++) {
				s = ord[i]
				printf("| %s | %s | %s | %.2f → %.2f | %.2f | %.2f |\n", name, k, s, med(z[s]), med(x[s]), med(v[s]), med(t[s]))
			}
		}' "$f"
	done
done
