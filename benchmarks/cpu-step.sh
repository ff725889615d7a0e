#!/usr/bin/env bash
# Times erm and fsam training steps of the CPU backend on pendulum, full preset (batch 256,
# 50 frames, 98 RK4 steps, MLP 2-64-64-2 tanh) and prints a Markdown table: median seconds per
# step, steps per second and sustained GFLOP/s. Extra arguments go to the benchmark, e.g.
#   benchmarks/cpu-step.sh --reps 30 --threads 1
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$here/target/hybridsam-0.1.0.jar"
[ -f "$jar" ] || (cd "$here" && mvn -q -B -DskipTests package)
exec java --add-modules jdk.incubator.vector -cp "$jar" hybridsam.bench.CpuStepBenchmark "$@" \
  2> >(grep -v '^WARNING: Using incubator modules' >&2)
