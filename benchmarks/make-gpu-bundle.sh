#!/usr/bin/env bash
# Builds gpu-bundle/ (git-ignored) and target/gpu-bundle.tar.gz for benchmarks/gpu-check.sh: the jar
# (with the CUDA kernels; needs nvcc at build time), its runtime dependencies, a trimmed Java
# runtime (jlink) and the check script. At most 64 MB compressed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mvn -q -DskipTests package
jar="$(ls target/hybridsam-*.jar | grep -v -e sources -e javadoc | head -n 1)"
# (no `grep -q` in a pipe: it would close the pipe early and pipefail would report unzip's SIGPIPE)
if ! grep -q 'hybridsam/kernels/kernels.list' <<<"$(unzip -l "$jar")"; then
    echo "make-gpu-bundle: $jar has no CUDA kernels (nvcc missing at build time)" >&2
    exit 1
fi
rm -rf gpu-bundle
mkdir -p gpu-bundle/lib
cp "$jar" gpu-bundle/hybridsam.jar
cp target/lib/*.jar gpu-bundle/lib/
jlink --add-modules java.base,java.logging,java.management,jdk.unsupported,jdk.incubator.vector \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output gpu-bundle/runtime
cp benchmarks/gpu-check.sh benchmarks/pytorch_peer.py gpu-bundle/
# gpu-bundle/ (unpacked) is what a session carries to the GPU machine; the tarball, for copying
# by hand, goes to target/ so the carried folder does not hold the bundle twice
tar -czf target/gpu-bundle.tar.gz gpu-bundle
unpacked=$(du -sb gpu-bundle | cut -f1)
size=$(stat -c %s target/gpu-bundle.tar.gz)
echo "gpu-bundle/: $((unpacked / 1048576)) MB unpacked; target/gpu-bundle.tar.gz: $((size / 1048576)) MB"
if (( unpacked > 64 * 1048576 || size > 64 * 1048576 )); then
    echo "make-gpu-bundle: bundle exceeds 64 MB" >&2
    exit 1
fi
