#!/usr/bin/env bash
# PyTorch-CPU (libtorch 2.7.1 through DJL 0.36, all from Maven Central) timing the reaction-diffusion
# training step of benchmarks/cpu-step.sh --task reaction-diffusion. Not part of hybridsam's build.
#   benchmarks/djl-peer/run.sh [--threads 2] [--methods erm,fsam] [--batch 16] [--reps 15] [--warmup 5]
# DJL must not download anything at run time: ai.djl.offline=true, and the natives come from the
# pytorch-native-cpu and pytorch-jni jars on the class path, unpacked once into target/djl-cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
threads=2
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
# Maven's output goes to stderr, so that standard output is the table alone
mvn -q -B compile >&2
mvn -q -B dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2
# intra-op threads through DJL's property; OpenMP's own variable too, so libgomp agrees with it.
# On a machine shared with other work, run with OMP_WAIT_POLICY=passive in the environment: with
# OpenMP's default spin-waiting, 2 threads on a loaded 2-core box ran 5 to 30 times slower
# (benchmarks/RESULTS.md, 2026-12-01).
export OMP_NUM_THREADS="$threads"
exec java -Dai.djl.offline=true \
  -DENGINE_CACHE_DIR="$here/target/djl-cache" -DDJL_CACHE_DIR="$here/target/djl-cache" \
  -Dai.djl.pytorch.num_threads="$threads" -Dai.djl.pytorch.num_interop_threads=1 \
  -cp "target/classes:$(cat target/classpath.txt)" djlpeer.RdStep "${args[@]}" \
  2> >(grep -v '^SLF4J' >&2)
