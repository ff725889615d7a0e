#!/usr/bin/env bash
# Times erm and fsam training steps of the CPU backend and prints a Markdown table: median seconds
# per step, steps per second and sustained GFLOP/s (corrector FLOPs only). Default: pendulum, full
# preset (batch 256, 50 frames, 98 RK4 steps, MLP 2-64-64-2 tanh); --task reaction-diffusion: 32x32
# grid, 16 frames, 15 RK4 steps, conv 2-16-16-2 3x3, batch 16; --task pendulum-images: the nested
# hybrid, 32x32 images, 20 frames, 38 RK4 steps, encoder 3072-128-2, corrector 2-64-64-2, decoder
# 2-128-1024 + sigmoid, batch 64, random images (FLOPs of all three networks). Extra arguments go to
# the benchmark, e.g.
#   benchmarks/cpu-step.sh --reps 30 --threads 1
#   benchmarks/cpu-step.sh --task reaction-diffusion --methods erm,fsam --threads 2
#   benchmarks/cpu-step.sh --task pendulum-images --reps 5 --warmup 2
# The benchmark is test code (src/test/java/hybridsam/bench/CpuStepBenchmark.java), so it is not in
# the jar: this compiles the main and test classes and runs it on them with the runtime dependencies.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# Maven's output goes to stderr, so that standard output is the table alone (e.g. for > file)
mvn -q -B -DskipTests test-compile >&2
# the library's runtime dependencies: the benchmark needs nothing else (no JUnit)
cp_file="$here/target/bench-classpath.txt"
mvn -q -B dependency:build-classpath -DincludeScope=runtime -Dmdep.outputFile="$cp_file" >&2
exec java --add-modules jdk.incubator.vector \
  -cp "$here/target/classes:$here/target/test-classes:$(cat "$cp_file")" \
  hybridsam.bench.CpuStepBenchmark "$@" \
  2> >(grep -v '^WARNING: Using incubator modules' >&2)
