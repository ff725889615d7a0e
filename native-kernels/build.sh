#!/usr/bin/env bash
# Builds the native parts of hybridsam; Maven runs it in generate-resources.
#   build.sh <target dir> [java home]
# (a) with nvcc on the PATH: each native-kernels/*.cu -> a fatbin (SASS for sm_80/86/89/90 and
#     compute_75 PTX) and a .ptx under <target>/classes/hybridsam/kernels/, plus the ptxas
#     resource report (registers, shared memory, spills) in ptxas-report.txt; without nvcc it
#     says so and skips (the jar then has no kernels and the CUDA probe reports why).
# (b) always: the emulation library (the same .cu sources as host C++ behind JNI) into
#     <target>/native/ for the tests that run the kernels without a GPU.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${1:?usage: build.sh <target dir> [java home]}"
java_home="${2:-}"
kernels_out="$target/classes/hybridsam/kernels"
mkdir -p "$kernels_out" "$target/native"

sources=()
for f in "$here"/*.cu; do sources+=("$f"); done

if command -v nvcc >/dev/null 2>&1; then
    archs=(80 86 89 90)
    available="$(nvcc --list-gpu-arch 2>/dev/null || true)"
    gencode=()
    for a in "${archs[@]}"; do
        if grep -qx "compute_$a" <<<"$available"; then
            gencode+=(-gencode "arch=compute_$a,code=sm_$a")
        else
            echo "[native-kernels] nvcc cannot target sm_$a; leaving it out"
        fi
    done
    gencode+=(-gencode "arch=compute_75,code=compute_75")
    report="$kernels_out/ptxas-report.txt"
    {
        echo "# nvcc $(nvcc --version | tail -n 2 | head -n 1)"
        echo "# flags: -O3 ${gencode[*]}"
    } >"$report"
    cache="$target/native/ptxas"
    mkdir -p "$cache"
    release="$(nvcc --version | sed -n 's/.*release \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
    read -r major minor <<<"$release"
    # PTX from CUDA major.minor needs a driver of at least that CUDA version (cuDriverGetVersion form)
    {
        echo "nvcc.release=$major.$minor"
        echo "driver.min=$((major * 1000 + minor * 10))"
    } >"$kernels_out/kernels.properties"
    : >"$kernels_out/kernels.list"
    for src in "${sources[@]}"; do
        name="$(basename "$src" .cu)"
        # only rebuild when a source or the shared header changed
        if [[ -f "$kernels_out/$name.fatbin" && "$kernels_out/$name.fatbin" -nt "$src" \
              && "$kernels_out/$name.fatbin" -nt "$here/common.cuh" && -f "$cache/$name.txt" ]]; then
            :
        else
            echo "[native-kernels] nvcc $name.cu"
            nvcc -O3 -std=c++17 -fatbin "${gencode[@]}" -Xptxas -v -I"$here" \
                -o "$kernels_out/$name.fatbin" "$src" 2>"$cache/$name.txt" \
                || { cat "$cache/$name.txt" >&2; exit 1; }
            nvcc -O3 -std=c++17 -ptx -arch=compute_75 -I"$here" -o "$kernels_out/$name.ptx" "$src"
        fi
        echo "$name" >>"$kernels_out/kernels.list"
        { echo "## $name.cu"; cat "$cache/$name.txt"; } >>"$report"
    done
    echo "[native-kernels] kernels and ptxas report in $kernels_out"
else
    echo "[native-kernels] NOTICE: nvcc not found; building without CUDA kernels (the CUDA backend will report that the jar has none)"
    rm -f "$kernels_out"/*.fatbin "$kernels_out"/*.ptx "$kernels_out/kernels.list" "$kernels_out/kernels.properties"
fi

# (b) emulation library
if [[ -z "$java_home" || ! -f "$java_home/include/jni.h" ]]; then
    java_home="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.home = //p')"
fi
if [[ ! -f "$java_home/include/jni.h" ]]; then
    echo "[native-kernels] NOTICE: no JNI headers under '$java_home'; emulation library not built (its tests will be skipped)"
    exit 0
fi
if ! command -v g++ >/dev/null 2>&1; then
    echo "[native-kernels] NOTICE: g++ not found; emulation library not built (its tests will be skipped)"
    exit 0
fi
lib="$target/native/libhybridsam_emu.so"
newest="$(ls -t "$here"/*.cu "$here"/*.cuh "$here"/emu/* | sed -n 1p)"  # sed reads it all: no SIGPIPE under pipefail
if [[ ! -f "$lib" || "$newest" -nt "$lib" ]]; then
    echo "[native-kernels] g++ emulation library"
    g++ -std=c++20 -O2 -fPIC -shared -Wall -Wextra -DHYBRIDSAM_EMULATION -I"$here" \
        -I"$java_home/include" -I"$java_home/include/linux" \
        "$here/emu/emu_jni.cpp" -o "$lib"
fi
