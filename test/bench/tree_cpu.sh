#!/usr/bin/env bash
# tree_cpu.sh BACKEND_PID - prints "C BACKEND_NS TREE_NS": the CPU time the
# backend has used so far, and the postmaster's process tree's: the
# postmaster, its live children (backends, lock workers, the server's own
# processes) and the children it has already reaped, in nanoseconds.
# Live processes are read from /proc/PID/schedstat (nanoseconds); reaped
# children only exist as the postmaster's cutime + cstime (clock ticks, so
# a child reaped between two samples moves the tree by up to 20 ms: callers
# sample with no other client backend left).  A process gone between the
# listing and its read is left out.  One awk: cheap enough to run next to a
# measure.
set -euo pipefail
backend=$1
postmaster=$(awk '{print $4}' "/proc/$backend/stat")
exec awk -v backend="$backend" -v pm="$postmaster" -v hz="$(getconf CLK_TCK)" '
	function on_cpu(pid,    line, f, v) {
		f = "/proc/" pid "/schedstat"
		line = ""
		if ((getline line < f) <= 0) return 0
		close(f)
		split(line, v, " ")
		return v[1]
	}
	BEGIN {
		cmd = "ls /proc"
		while ((cmd | getline pid) > 0) {
			if (pid !~ /^[0-9]+$/) continue
			f = "/proc/" pid "/stat"
			s = ""
			if ((getline s < f) <= 0) continue
			close(f)
			sub(/^.*\) /, "", s)
			split(s, st, " ")
			if (pid == pm)
				tree += on_cpu(pid) + (st[14] + st[15]) * 1e9 / hz
			else if (st[2] == pm)
				tree += on_cpu(pid)
		}
		close(cmd)
		printf "C %.0f %.0f\n", on_cpu(backend), tree
	}'
