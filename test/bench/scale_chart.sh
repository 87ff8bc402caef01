#!/usr/bin/env bash
# scale_chart.sh - draws test/bench/results/scale.png from scale.csv (medians)
# and scale.machine (what it was measured on).  Run by scale_session.sh.
set -euo pipefail
dir=${1:-$(dirname "${BASH_SOURCE[0]}")/results}
csv="$dir/scale.csv"
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
reps=$(cut -d, -f1 "$csv" | tail -n +2 | sort -u | wc -l)
n=$(cat "$dir/scale.n" 2>/dev/null || echo "?")
for m in "sequential raw libcurl" "sequential dynamo_increment" "sequential boto3" "8 clients raw libcurl" \
	"8 clients dynamo_increment" "8 clients boto3" \
	"nextval cache 1 (1 backend: 1 per statement)" "nextval cache 100 (1 backend: 1 per statement)" \
	"nextval cache 1000 (1 backend: 1 per statement)" "native nextval CACHE 1000 (1 backend: 1 per statement)" \
	"nextval cache 100 (1 backend: 1 statement)" "nextval cache 1000 (1 backend: 1 statement)" \
	"nextval from a reserved block (1 backend: 1 statement)" "native nextval CACHE 1000 (1 backend: 1 statement)" \
	"nextval cache 1 (8 clients)" "nextval cache 100 (8 clients)" "nextval cache 1000 (8 clients)" \
	"native nextval CACHE 1000 (8 clients)"; do
	printf '"%s"\t%s\n' "$m" "$(grep ",$m," "$csv" | cut -d, -f3 | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
done >"$dat"
gnuplot <<GP
set terminal pngcairo size 1400,780 font ",10"
set output "$dir/scale.png"
set title "dynamo_atomic: operations per second, medians of $reps interleaved runs, $n, DynamoDB Local on loopback\n$(cat "$dir/scale.machine")" noenhanced
set style data histograms
set style fill solid 0.8
set boxwidth 0.8
set logscale y
set ylabel "operations per second (log scale)"
set xtics rotate by -35 noenhanced
set bmargin 19
set rmargin 22
set grid ytics
unset key
plot "$dat" using 2:xtic(1) linecolor rgb "#3b6ea5", "" using 0:2:(sprintf("%.0f", \$2)) with labels offset 0,0.7 notitle
GP
