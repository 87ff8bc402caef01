#!/usr/bin/env bash
# memory_chart.sh - draws test/bench/results/memory.png from memory.csv: one
# panel a workload, its RSS (and, for the backend, its memory contexts'
# total) as growth over the first sample, the warm-up.  Run by
# memory_session.sh.
set -euo pipefail
dir=${1:-$(dirname "${BASH_SOURCE[0]}")/results}
csv="$dir/memory.csv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -t workloads < <(tail -n +2 "$csv" | cut -d, -f1 | awk '!seen[$0]++')
plots=""
for w in "${workloads[@]}"; do
	awk -F, -v w="$w" '$1 == w { if (first == "") { first = $3; cfirst = $4 }
		print $2, $3 - first, ($4 == "" ? "NaN" : $4 - cfirst) }' "$csv" >"$tmp/$w.dat"
	xlabel=$([[ $w == lock-workers ]] && echo "seconds (200 locks, 2 s leases)" || echo "operations")
	plots+="set title '$w'; set xlabel '$xlabel';
plot '$tmp/$w.dat' using 1:2 with linespoints title 'RSS', '' using 1:3 with linespoints title 'memory contexts'
"
done
gnuplot <<GP
set terminal pngcairo size 1500,900 font ",10"
set output "$dir/memory.png"
set multiplot layout 2,4 title "dynamo_atomic: memory growth after a warm-up (kB), DynamoDB Local on loopback\n$(uname -srm), $(nproc) cores" noenhanced
set yrange [-256:1024]
set ylabel "kB over the first sample"
set grid
set key top left
$plots
unset multiplot
GP
