#!/usr/bin/env bash
# scale_chart.sh - draws test/bench/results/scale.png from scale.csv (medians)
# and scale.machine (what it was measured on).  Run by scale_session.sh.
# One panel per question, each bar labelled with its ratio to the panel's
# baseline (the raw libcurl loop for increments, a native CACHE 1000
# sequence for IDs); each panel has its own linear axis.
set -euo pipefail
dir=${1:-$(dirname "${BASH_SOURCE[0]}")/results}
csv="$dir/scale.csv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
reps=$(cut -d, -f1 "$csv" | tail -n +2 | sort -u | wc -l)
n=$(cat "$dir/scale.n" 2>/dev/null || echo "?")
median() { grep ",$1," "$csv" | cut -d, -f3 | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# panel FILE BASELINE "label|measure"...: label, ops/s, ratio to the baseline measure
panel() {
	local file=$1 base entry
	base=$(median "$2")
	shift 2
	for entry in "$@"; do
		printf '"%s"\t%s\t%s\n' "${entry%%|*}" "$(median "${entry#*|}")" "$base"
	done >"$work/$file"
}
panel seq.dat "sequential raw libcurl" "raw libcurl|sequential raw libcurl" \
	"dynamo_increment|sequential dynamo_increment" "boto3|sequential boto3"
panel par.dat "8 clients raw libcurl" "raw libcurl|8 clients raw libcurl" \
	"loops in backends|8 clients dynamo_increment" "pgbench|8 clients dynamo_increment (pgbench)" "boto3|8 clients boto3"
panel one.dat "native nextval CACHE 1000 (1 backend: 1 per statement)" \
	"native|native nextval CACHE 1000 (1 backend: 1 per statement)" \
	"cache 1|nextval cache 1 (1 backend: 1 per statement)" "cache 100|nextval cache 100 (1 backend: 1 per statement)" \
	"cache 1000|nextval cache 1000 (1 backend: 1 per statement)"
panel bulk.dat "native nextval CACHE 1000 (1 backend: 1 statement)" \
	"native|native nextval CACHE 1000 (1 backend: 1 statement)" \
	"cache 100|nextval cache 100 (1 backend: 1 statement)" "cache 1000|nextval cache 1000 (1 backend: 1 statement)" \
	"adaptive|nextval cache 1000 adaptive (1 backend: 1 statement)" \
	"from a block|nextval from a reserved block (1 backend: 1 statement)"
panel eight.dat "native nextval CACHE 1000 (8 clients)" "native|native nextval CACHE 1000 (8 clients)" \
	"cache 1|nextval cache 1 (8 clients)" "cache 100|nextval cache 100 (8 clients)" \
	"cache 1000|nextval cache 1000 (8 clients)" "adaptive|nextval cache 1000 adaptive (8 clients)"

gnuplot <<GP
set terminal pngcairo size 1500,900 font ",10"
set output "$dir/scale.png"
set multiplot layout 2,3 title "dynamo_atomic against its baselines: operations per second, medians of $reps interleaved runs, $n; labels: ratio to the first bar\n$(cat "$dir/scale.machine" 2>/dev/null || echo "machine not recorded")" noenhanced
set style data histograms
set style fill solid 0.8
set boxwidth 0.7
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics
set xtics noenhanced
unset key
set ylabel "operations per second"
set title "Increments, one backend (baseline: raw libcurl loop)" noenhanced
plot "$work/seq.dat" using 2:xtic(1) linecolor rgb "#3b6ea5", "" using 0:2:(sprintf("%.2fx", \$2 / \$3)) with labels offset 0,0.8 notitle
set title "Increments, 8 clients (baseline: 8 raw loops)" noenhanced
plot "$work/par.dat" using 2:xtic(1) linecolor rgb "#3b6ea5", "" using 0:2:(sprintf("%.2fx", \$2 / \$3)) with labels offset 0,0.8 notitle
set title "IDs, one per statement, one backend (baseline: native CACHE 1000)" noenhanced
plot "$work/one.dat" using 2:xtic(1) linecolor rgb "#5a9e4b", "" using 0:2:(sprintf("%.2fx", \$2 / \$3)) with labels offset 0,0.8 notitle
set title "IDs, 200,000 in one statement (baseline: native)" noenhanced
plot "$work/bulk.dat" using 2:xtic(1) linecolor rgb "#5a9e4b", "" using 0:2:(sprintf("%.2fx", \$2 / \$3)) with labels offset 0,0.8 notitle
set title "IDs, 8 clients (baseline: native)" noenhanced
plot "$work/eight.dat" using 2:xtic(1) linecolor rgb "#5a9e4b", "" using 0:2:(sprintf("%.2fx", \$2 / \$3)) with labels offset 0,0.8 notitle
unset multiplot
GP
