#!/usr/bin/env bash
# run.sh - mutation testing: do the tests fail when a guarantee breaks?
#
# Each test/mutants/NN-name.mutant is one small, plausible change to a
# guarantee-bearing line, with the guarantee it breaks and the test cases
# meant to catch it:
#
#   guarantee: what the change breaks
#   cases: names for test/run.sh (test/cases/NAME.sh, regress, soak)
#   env: NAME=VALUE ...          (optional) for that run
#   file: the source file
#   from: the exact text to replace (once in the file; tabs included)
#   to: its replacement
#
# One at a time, the runner applies a mutant to a scratch copy of the tree,
# builds and installs that copy and runs its cases with test/run.sh.  A
# mutant is killed when a case fails; it survives when all pass.  The usual
# build is installed again at the end.  Not part of the test command (about
# two minutes a mutant); ends with "N killed, N survived".
#
#   bash test/mutants/run.sh            every mutant
#   bash test/mutants/run.sh 04 17      those whose file names start so
# Each run's output is kept in test/mutants/last-NAME.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
ROOT=$PWD

harness_scrub_env
harness_install_deps
harness_build
scratch=$(mktemp -d -t dynamo_atomic_mutants.XXXXXX)
restore_build() {
	log "installing the usual build again"
	make -s -C "$ROOT" install >/dev/null
	rm -rf "$scratch"
}
trap restore_build EXIT
# the whole built tree (README.md too: cases read it), timestamps kept: a
# mutant rebuilds only its file
tar -C "$ROOT" --exclude=./.git --exclude=./.deps --exclude='./test/mutants/last-*' -cf - . | tar -C "$scratch" -xf -
ln -s "$ROOT/.deps" "$scratch/.deps"

field() { sed -n "s/^$1: \{0,1\}//p" "$2" | head -1; }

mutants=()
for m in test/mutants/*.mutant; do
	if (($#)); then
		for want in "$@"; do [[ $(basename "$m") == "$want"* ]] && mutants+=("$m"); done
	else
		mutants+=("$m")
	fi
done
((${#mutants[@]})) || die "no mutant matches $*"

killed=0 survived=0 broken=0
report=()
for m in "${mutants[@]}"; do
	name=$(basename "$m" .mutant)
	file=$(field file "$m")
	from=$(field from "$m")
	to=$(field to "$m")
	read -ra cases <<<"$(field cases "$m")"
	read -ra env <<<"$(field env "$m")"
	[[ -n $file && -n $from && ${#cases[@]} -gt 0 ]] || die "$m: file, from and cases are required"
	original=$(<"$ROOT/$file")
	rest=${original#*"$from"}
	[[ $rest != "$original" ]] || die "$m: its from-text is not in $file (the code moved: update the mutant)"
	[[ $rest != *"$from"* ]] || die "$m: its from-text is in $file more than once"
	printf '%s\n' "${original%%"$from"*}$to$rest" >"$scratch/$file"

	log "mutant $name: $(field guarantee "$m")"
	start=$SECONDS
	out=$(cd "$scratch" && env "${env[@]}" bash test/run.sh "${cases[@]}" 2>&1) || true
	echo "$out" >"$ROOT/test/mutants/last-$name.log"
	# the original back, newer than the mutant's object, so the next build redoes it
	cp "$ROOT/$file" "$scratch/$file"
	touch "$scratch/$file"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$out" | tail -1)
	failed=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' <<<"$summary")
	if [[ -z $summary ]]; then
		broken=$((broken + 1))
		verdict="BROKEN (the run did not finish: $(grep -m1 -E 'error|Error' <<<"$out" || echo '?'))"
	elif ((failed > 0)); then
		killed=$((killed + 1))
		verdict="killed: $failed failed, first: $(sed -n '/^Failures:/{n;s/^  //p;q}' <<<"$out" | cut -c1-110)"
	else
		survived=$((survived + 1))
		verdict="SURVIVED ($summary)"
	fi
	report+=("$(printf '%-32s %4d s  %s' "$name" $((SECONDS - start)) "$verdict")")
	echo "   ${report[-1]}"
done

echo
printf '%s\n' "${report[@]}"
echo
echo "$killed killed, $survived survived$( ((broken)) && echo ", $broken broken") (of ${#mutants[@]} mutants)"
((survived == 0 && broken == 0))
