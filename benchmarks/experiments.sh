#!/usr/bin/env bash
# Runs the README's experiment (benchmarks/experiments.txt, or the LIST given), two single-threaded
# runs at a time, into DIR (default runs/experiment), skipping runs already finished; then prints
# the tables.
#   benchmarks/experiments.sh [DIR [LIST]]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$here/runs/experiment}"
mkdir -p "$dir"
"$here/hybridsam" --help > /dev/null   # builds the jar once, before the parallel runs
list="${2:-$here/benchmarks/experiments.txt}"
grep -v '^#' "$list" | grep -v '^$' | while read -r task method seed rest; do
  tag=$(echo "$rest" | tr -d ' -')
  echo "$task $method $seed $dir/$task-$method-s$seed${tag:+-$tag} $rest"
done | xargs -P 2 -L 1 bash -c '
  task=$0 method=$1 seed=$2 out=$3; shift 3
  [ -f "$out/results.json" ] && exit 0
  rm -rf "$out"
  # the README table is at 160 epochs (the defaults became 320 and 480 after the accuracy study)
  case " $* " in *" --epochs "*) ;; *) set -- --epochs 160 "$@" ;; esac
  "'"$here"'/hybridsam" train --task "$task" --method "$method" --seed "$seed" --device cpu --threads 1 --quiet --out "$out" "$@" > "$out.log" 2>&1 \
    || echo "run $out failed, see $out.log" >&2'
python3 "$here/benchmarks/summarize.py" "$dir"
