# bench/fgraph.awk: aggregate an ftrace function_graph trace (options
# funcgraph-proc and funcgraph-tail on) into a call tree: for every call path
# of traced functions, calls and inclusive/self microseconds per transfer.
#   awk -v n=TRANSFERS -f fgraph.awk trace | sort | cut -f2-
# (busybox awk compatible; lines are keyed by the path so that sort(1) puts
# children under their parents).
function record(pid, name, dur,    path, i) {
	path = ""
	for (i = 1; i <= sp[pid]; i++) path = path st[pid, i] ">"
	path = path name
	tm[path] += dur
	cn[path]++
	dp[path] = sp[pid]
	if (sp[pid] > 0) {
		par = substr(path, 1, length(path) - length(name) - 1)
		ch[par] += dur
	} else {
		top += dur
	}
}
/^#/ { next }
{
	np = split($0, P, "|")
	if (np < 3) next
	pid = P[1]
	sub(/^ *[0-9]+\) */, "", pid)
	sub(/ *$/, "", pid)
	dur = ""
	if (match(P[2], /[0-9]+\.[0-9]+ us/)) dur = substr(P[2], RSTART, RLENGTH - 3) + 0
	body = P[3]
	for (i = 4; i <= np; i++) body = body "|" P[i]
	sub(/^ +/, "", body)
	if (body ~ /^\} \/\* /) {
		name = body
		sub(/^\} \/\* /, "", name)
		sub(/ \*\/.*$/, "", name)
		if (sp[pid] > 0 && st[pid, sp[pid]] == name) {
			sp[pid]--
			if (dur != "") record(pid, name, dur)
		} else {
			unmatched++
		}
	} else if (body ~ /\(\) \{/) {
		name = body
		sub(/\(\) \{.*$/, "", name)
		sp[pid]++
		st[pid, sp[pid]] = name
	} else if (body ~ /\(\);/) {
		name = body
		sub(/\(\);.*$/, "", name)
		if (dur != "") record(pid, name, dur)
	}
}
END {
	printf("\t# per transfer over %d transfers: calls, inclusive us, self us; top level %.1f us/transfer%s\n",
	       n, top / n, unmatched ? sprintf(" (%d unmatched returns)", unmatched) : "")
	for (p in tm) {
		name = p
		sub(/.*>/, "", name)
		ind = ""
		for (i = 0; i < dp[p]; i++) ind = ind "  "
		printf("%s\t%8.2f %10.2f %9.2f  %s%s\n", p, cn[p] / n, tm[p] / n, (tm[p] - ch[p]) / n, ind, name)
	}
}
