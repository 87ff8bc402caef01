#!/usr/bin/env bash
# tree_cpu.sh BACKEND_PID - prints "C BACKEND_NS TREE_NS": the CPU time the
# backend has used so far, and the whole postmaster process tree's (the
# postmaster, every live child - backends, lock workers, the server's own
# processes - and the children it has already reaped), in nanoseconds.
# Live processes are read from /proc/PID/schedstat (nanoseconds); reaped
# children only exist as the postmaster's cutime + cstime (clock ticks).
# One awk over /proc: cheap enough to run next to a measure.
set -euo pipefail
backend=$1
postmaster=$(awk '{print $4}' "/proc/$backend/stat")
exec awk -v backend="$backend" -v pm="$postmaster" -v hz="$(getconf CLK_TCK)" '
	function on_cpu(pid,    line, f) {
		f = "/proc/" pid "/schedstat"
		line = ""
		if ((getline line < f) <= 0) line = "0"
		close(f)
		split(line, v, " ")
		return v[1]
	}
	FNR == 1 {
		pid = FILENAME
		sub(/^\/proc\//, "", pid)
		sub(/\/stat$/, "", pid)
		s = $0
		sub(/^.*\) /, "", s)
		split(s, f, " ")
		if (pid == pm)
			tree += on_cpu(pid) + (f[14] + f[15]) * 1e9 / hz
		else if (f[2] == pm)
			tree += on_cpu(pid)
		nextfile
	}
	END {printf "C %.0f %.0f\n", on_cpu(backend), tree}' /proc/[0-9]*/stat 2>/dev/null
