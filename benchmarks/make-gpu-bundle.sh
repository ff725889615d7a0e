#!/usr/bin/env bash
# Builds gpu-bundle/ (git-ignored) and target/gpu-bundle.tar.gz for benchmarks/gpu-check.sh: the jar
# (with the CUDA kernels; needs nvcc at build time), its runtime dependencies, a trimmed Java
# runtime (jlink) and the check script. At most 64 MB compressed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mvn -q -DskipTests package
jar=""
for j in target/hybridsam-*.jar; do
    case "$j" in *-sources.jar | *-javadoc.jar) ;; *) [[ -f "$j" ]] && { jar="$j"; break; } ;; esac
done
[[ -n "$jar" ]] || { echo "make-gpu-bundle: no target/hybridsam-*.jar after mvn package" >&2; exit 1; }
# (no `grep -q` in a pipe: it would close the pipe early and pipefail would report unzip's SIGPIPE)
if ! grep -q 'hybridsam/kernels/kernels.list' <<<"$(unzip -l "$jar")"; then
    echo "make-gpu-bundle: $jar has no CUDA kernels (nvcc missing at build time)" >&2
    exit 1
fi
rm -rf gpu-bundle
mkdir -p gpu-bundle/lib
cp "$jar" gpu-bundle/hybridsam.jar
cp target/lib/*.jar gpu-bundle/lib/
# (no java.desktop: a train run on this runtime says "plots skipped" and writes no loss.png / theta.png)
jlink --add-modules java.base,java.logging,java.management,jdk.unsupported,jdk.incubator.vector \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output gpu-bundle/runtime
cp benchmarks/gpu-check.sh benchmarks/pytorch_peer.py gpu-bundle/
# what gpu-check.sh runs: the bundled java, the jar, the JCuda jars in lib/ and itself
for f in gpu-bundle/runtime/bin/java gpu-bundle/hybridsam.jar gpu-bundle/gpu-check.sh gpu-bundle/pytorch_peer.py; do
    [[ -e "$f" ]] || { echo "make-gpu-bundle: $f missing" >&2; exit 1; }
done
compgen -G 'gpu-bundle/lib/jcuda-natives-*.jar' >/dev/null || { echo "make-gpu-bundle: no JCuda natives in gpu-bundle/lib" >&2; exit 1; }
# where there is no NVIDIA driver (the build machines): GpuCheck starts on the bundled runtime as
# gpu-check.sh starts it, says there is no usable GPU (exit 2) and still prints its table (without
# LD_LIBRARY_PATH, so that a stand-in libcuda.so.1 on it does not turn this into a full check)
if ! grep -q 'libcuda\.so\.1 ' <<<"$(ldconfig -p 2>/dev/null)"; then
    smoke="$(mktemp -d)"
    smoke_rc=0
    env -u LD_LIBRARY_PATH gpu-bundle/runtime/bin/java --add-modules jdk.incubator.vector -Djava.io.tmpdir="$smoke" \
        -cp "gpu-bundle/hybridsam.jar:gpu-bundle/lib/*" hybridsam.cuda.GpuCheck >"$smoke/out.log" 2>&1 || smoke_rc=$?
    if [[ $smoke_rc -ne 2 ]] || ! grep -qx '== GpuCheck table' "$smoke/out.log"; then
        echo "make-gpu-bundle: GpuCheck on the bundled runtime without a GPU: exit $smoke_rc (expected 2 and a table):" >&2
        cat "$smoke/out.log" >&2
        rm -rf "$smoke"
        exit 1
    fi
    rm -rf "$smoke"
fi
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
