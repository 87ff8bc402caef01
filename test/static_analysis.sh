#!/usr/bin/env bash
# static_analysis.sh - cppcheck and clang-tidy over src/, with the server's
# headers, as the compiler sees them.  Any finding fails; a finding judged
# wrong is suppressed where it stands (cppcheck-suppress / NOLINT), with the
# reason beside it.  Appends pass/fail lines to $RESULTS when set.
#
#   bash test/static_analysis.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

includes=(-I"$(pg_config --includedir-server)" $(for d in src/api src/server src/dynamodb src/aws src/net src/base; do echo "-I$d"; done))
# the library's version, as the Makefile passes it (from the control file)
includes+=("-DDYNAMO_ATOMIC_VERSION=\"$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" dynamo_atomic.control)\"")
# <cjson/cJSON.h> alone from /usr/include: cppcheck cannot parse glibc's headers
cjson_root=$(mktemp -d)
trap 'rm -rf "$cjson_root"' EXIT
ln -s /usr/include/cjson "$cjson_root/cjson"
mapfile -t sources < <(find src -name '*.c' | sort)
record() { [[ -n ${RESULTS:-} ]] && echo "$1" >>"$RESULTS"; echo "${1/#pass/ok  }"; }

# cppcheck: its bug classes (warning: undefined behaviour and likely bugs;
# portability; performance), not style.  The defines are the ones gcc sets
# here, so it reads the one configuration that is built.
cppcheck_out=$(cppcheck -q --enable=warning,portability,performance --inline-suppr --std=c99 \
	--error-exitcode=1 -D__GNUC__=12 -D__x86_64__ -D__linux__ -D__SIZEOF_INT128__=16 \
	"${includes[@]}" -I"$cjson_root" "${sources[@]}" 2>&1)
cppcheck_status=$?
findings=$(grep -cE ': (error|warning|portability|performance):' <<<"$cppcheck_out" || true)
if ((findings == 0 && cppcheck_status == 0)); then
	record "pass static: cppcheck over ${#sources[@]} files, no finding"
else
	grep -A2 -E ': (error|warning|portability|performance):' <<<"$cppcheck_out"
	record "fail static: cppcheck: $findings findings (status $cppcheck_status)"
fi

# clang-tidy: the bug-finding families (bugprone-*, the static analyzer),
# less the checks whose every finding here is a PostgreSQL idiom:
#   easily-swappable-parameters      a style opinion on signatures
#   narrowing-conversions            int/size_t mixing that palloc'd lengths bounded
#   implicit-widening-of-multiplication-result  constant products of small macros (ALLOCSET_*_SIZES)
#   reserved-identifier              _PG_init is the name PostgreSQL calls
#   DeprecatedOrUnsafeBufferHandling C11 Annex K (memset_s), which glibc lacks
#   optin.performance.Padding        struct layout, not correctness
checks='-*,bugprone-*,clang-analyzer-*'
checks+=',-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions'
checks+=',-bugprone-implicit-widening-of-multiplication-result,-bugprone-reserved-identifier'
checks+=',-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,-clang-analyzer-optin.performance.Padding'
# Each file's run ends with a line of its own, so a run that crashed or never
# started cannot pass for one that found nothing.  (clang-tidy's stderr is only
# "N warnings generated": findings and compile errors come on stdout.)
tidy_out=$(printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -I{} sh -c \
	'clang-tidy --quiet --checks="$1" "$2" -- -D_GNU_SOURCE $3 2>/dev/null && echo "analysed: $2"' \
	sh "$checks" {} "${includes[*]}")
tidy_status=$?
findings=$(grep -cE '^/.*: (warning|error):' <<<"$tidy_out" || true)
analysed=$(grep -c '^analysed: ' <<<"$tidy_out" || true)
if ((findings == 0 && tidy_status == 0 && analysed == ${#sources[@]})); then
	record "pass static: clang-tidy (bugprone-*, clang-analyzer-*) over ${#sources[@]} files, no finding"
else
	grep -A3 -E '^/.*: (warning|error):' <<<"$tidy_out"
	record "fail static: clang-tidy: $findings findings, $analysed of ${#sources[@]} files analysed (status $tidy_status)"
fi

# One floor per folder: a file includes the project's headers only from its
# own floor and the floors below it (base < net < aws < dynamodb < server <
# api), so that no arrow runs up and no two folders form a circle.
floors=(base net aws dynamodb server api)
floor_of() { local i; for i in "${!floors[@]}"; do [[ ${floors[$i]} == "$1" ]] && echo "$i"; done; }
declare -A header_floor
for h in src/*/*.h; do header_floor[$(basename "$h")]=$(floor_of "$(basename "$(dirname "$h")")"); done
upward=()
for f in src/*/*.c src/*/*.h; do
	mine=$(floor_of "$(basename "$(dirname "$f")")")
	[[ -n $mine ]] || { upward+=("$f is in a folder that is no floor"); continue; }
	grep -qE '^#include "(\.\./|src/)' "$f" && upward+=("$f includes a project header by path (include by name only)")
	for inc in $(sed -n 's/^#include "\([a-z_0-9]*\.h\)"/\1/p' "$f"); do
		theirs=${header_floor[$inc]:-}
		[[ -n $theirs ]] && ((theirs > mine)) && upward+=("$f includes $inc (${floors[$theirs]}/)")
	done
done
if ((${#upward[@]} == 0)); then
	record "pass static: one floor per folder (${floors[*]}), no include runs up"
else
	printf '  %s\n' "${upward[@]}"
	record "fail static: ${#upward[@]} includes run up a floor"
fi
