#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU but no Java and no network.
#   gpu-check.sh [log dir]        (default: $OUT, else ./gpu-check-out)
# Uses the bundle made by benchmarks/make-gpu-bundle.sh: a folder gpu-bundle/ or a tarball
# gpu-bundle.tar.gz next to this script (or this script inside the bundle). It unpacks the
# trimmed Java runtime, finds libcuda and the CUDA libraries (also under Python's site-packages
# nvidia/*/lib; one CUDA major for the cuBLAS family, see below), prints driver and GPU, runs every
# kernel against the CPU reference on the GPU (hybridsam.cuda.GpuCheck: PASS/FAIL per check as it
# finishes), times fsam steps on pendulum full size, and prints a compact table last. Full logs go
# to the log dir; JCuda unpacks its native libraries under it (LOGDIR/tmp). HYBRIDSAM_* settings
# reach the Java side as they are. Exit status: GpuCheck's (0 all passed, 1 a failure, 2 no usable
# GPU), 2 also when there is no bundle or no Java.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-${OUT:-$PWD/gpu-check-out}}"
mkdir -p "$out"
log="$out/gpu-check.log"
: >"$log"
say() { echo "$@" | tee -a "$log"; }

bundle=""
for cand in "$here" "$here/gpu-bundle" "$here/../gpu-bundle"; do
    if [[ -f "$cand/hybridsam.jar" ]]; then bundle="$(cd "$cand" && pwd)"; break; fi
done
if [[ -z "$bundle" ]]; then
    for tarball in "$here/gpu-bundle.tar.gz" "$here/../gpu-bundle.tar.gz"; do
        if [[ -f "$tarball" ]]; then
            mkdir -p "$out/unpacked"
            tar -xzf "$tarball" -C "$out/unpacked"
            bundle="$out/unpacked/gpu-bundle"
            break
        fi
    done
fi
if [[ -z "$bundle" || ! -f "$bundle/hybridsam.jar" ]]; then
    say "gpu-check: no bundle found (gpu-bundle/ or gpu-bundle.tar.gz next to $0); run benchmarks/make-gpu-bundle.sh"
    exit 2
fi
java="$bundle/runtime/bin/java"
[[ -x "$java" ]] || java="$(command -v java || true)"
if [[ -z "$java" ]]; then say "gpu-check: no Java runtime in the bundle"; exit 2; fi

# ---- CUDA libraries -------------------------------------------------------------------------------
# What the Java side loads: JCuda's driver binding needs only the driver's libcuda.so.1; JCublas
# 12.6 links CUDA 12's libcublas.so.12 (versioned symbols: CUDA 13's libcublas.so.13 does not
# satisfy it); JCudnn's 12.6 natives link cuDNN 9's libcudnn.so.9. The Python wheels put their
# libraries in site-packages/nvidia/*/lib, possibly of two CUDA majors at once (nvidia/cu13/lib
# next to a CUDA 12 nvidia/cublas/lib). So: each candidate folder is classified by the CUDA major
# of the cuBLAS-family libraries it holds (libcublas, libcublasLt, libcudart, libnvrtc,
# libnvJitLink: libX.so.12 or libX.so.13); only folders of one major go on LD_LIBRARY_PATH (12
# where a folder has libcublas.so.12, since JCublas needs it), together with the driver's folder
# and a cuDNN folder; every folder left out is listed with the reason.
orig_ld="${LD_LIBRARY_PATH:-}"
# (the 64-bit one: the cache may also list an i386 libcuda.so.1)
cuda_lib="$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 / && /x86-64/ {print $NF; exit}')"
sys_dirs=(/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/local/cuda-*/lib64
          /usr/local/cuda/compat)
for d in "${sys_dirs[@]}"; do
    # (the forward-compatibility libcuda of /usr/local/cuda/compat only where there is no other)
    [[ -e "$d/libcuda.so.1" && -z "$cuda_lib" ]] && cuda_lib="$d/libcuda.so.1"
done
driver_dir=""
[[ -n "$cuda_lib" ]] && driver_dir="$(cd -P "$(dirname "$cuda_lib")" 2>/dev/null && pwd)"
# candidates in order of preference: the driver's folder, the Python wheels, the toolkits, the system
candidates=()
[[ -n "$driver_dir" ]] && candidates+=("$driver_dir")
for py in python3 python; do
    if command -v "$py" >/dev/null 2>&1; then
        while IFS= read -r d; do [[ -d "$d" ]] && candidates+=("$d"); done < <("$py" - <<'PY' 2>/dev/null
import glob, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()]
for r in roots:
    for d in sorted(glob.glob(r + "/nvidia/*/lib")):
        print(d)
PY
)
        break
    fi
done
for d in /usr/local/cuda/lib64 /usr/local/cuda-*/lib64 /usr/local/nvidia/lib64 /usr/local/cuda/compat /usr/lib/x86_64-linux-gnu /usr/lib64; do
    [[ -d "$d" ]] && candidates+=("$d")
done

family_libs=(libcublas libcublasLt libcudart libnvrtc libnvJitLink)
# the cuBLAS-family sonames a folder holds (libcublas.so.12 ...), one a line
family_sonames() {
    local f b
    for b in "${family_libs[@]}"; do
        for f in "$1/$b".so.[0-9]*; do [[ -e "$f" ]] && echo "${f##*/}"; done
    done | sed -E 's/^(lib[A-Za-z]+\.so\.[0-9]+).*/\1/' | sort -u
}
# the CUDA majors of those, space separated ("12", "13", "12 13")
family_majors() {
    family_sonames "$1" | sed -E 's/.*\.so\.//' | sort -un | tr '\n' ' ' | sed 's/ $//'
}
# the libraries a folder provides that the check loads or that they load (for duplicate detection)
provided() {
    local f
    {
        family_sonames "$1"
        for f in "$1"/libcudnn.so.[0-9]*; do [[ -e "$f" ]] && echo "${f##*/}"; done | sed -E 's/^(libcudnn\.so\.[0-9]+).*/\1/'
    } | sort -u
}

declare -A seen_dir=() provider=()
uniq_candidates=()
for d in "${candidates[@]}"; do
    c="$(cd -P "$d" 2>/dev/null && pwd)" || continue
    [[ -n "${seen_dir[$c]:-}" ]] && continue
    seen_dir[$c]=1
    uniq_candidates+=("$c")
done
# the cuBLAS family's major: 12 where a single-major folder holds libcublas.so.12, else the newest libcublas found
want=""
for d in "${uniq_candidates[@]}"; do
    [[ -e "$d/libcublas.so.12" && "$(family_majors "$d")" == "12" ]] && { want=12; break; }
done
if [[ -z "$want" ]]; then
    for d in "${uniq_candidates[@]}"; do
        for f in "$d"/libcublas.so.[0-9]*; do
            [[ -e "$f" ]] || continue
            m="${f##*.so.}"; m="${m%%.*}"
            [[ -z "$want" || "$m" -gt "$want" ]] && want="$m"
        done
    done
fi

libdirs=()
chosen_notes=()
left_out=()
for d in "${uniq_candidates[@]}"; do
    majors="$(family_majors "$d")"
    libs="$(provided "$d" | tr '\n' ' ' | sed 's/ $//')"
    why=""
    if [[ "$d" == "$driver_dir" ]]; then
        note="the driver's libcuda.so.1${libs:+; also $libs}"
    elif [[ "$majors" == *" "* ]]; then
        why="holds libraries of several CUDA majors ($libs)"
    elif [[ -n "$majors" && "$majors" != "$want" ]]; then
        why="CUDA $majors libraries ($libs); the cuBLAS family used is CUDA ${want:-?}'s"
        [[ "$majors" == 13 && "$libs" == *libcublas.so.13* ]] && why+=" (libcublas.so.13 is not used by JCublas)"
        [[ -e "$d/libcudnn.so.9" ]] && why+="; its libcudnn.so.9 is left out with it"
    elif [[ -z "$libs" ]]; then
        if [[ -e "$d/libcuda.so.1" ]]; then
            why="another libcuda.so.1 (the driver's is ${cuda_lib})"
        else
            why="nothing JCuda, JCublas or JCudnn loads"
        fi
    else
        dup=""
        for l in $libs; do [[ -n "${provider[$l]:-}" ]] && { dup="$l already from ${provider[$l]}"; break; }; done
        if [[ -n "$dup" ]]; then
            why="duplicates $dup"
        elif [[ -n "$majors" ]]; then
            note="CUDA $majors: $libs"
        else
            note="$libs"
        fi
    fi
    if [[ -n "$why" ]]; then
        left_out+=("$d: $why")
    else
        libdirs+=("$d")
        chosen_notes+=("$d ($note)")
        for l in $libs; do [[ -z "${provider[$l]:-}" ]] && provider[$l]="$d"; done
    fi
done
LD_LIBRARY_PATH="$(IFS=:; echo "${libdirs[*]:-}")"
[[ -n "$orig_ld" ]] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$orig_ld"
export LD_LIBRARY_PATH

# where a library is found: the chosen folders first, then the loader's cache
find_lib() {
    local d
    for d in "${libdirs[@]+"${libdirs[@]}"}"; do [[ -e "$d/$1" ]] && { echo "$d/$1"; return; }; done
    ldconfig -p 2>/dev/null | awk -v l="$1" '$1 == l {print $NF " (loader cache)"; exit}'
}
# every copy of a library in all candidate folders (chosen or not), space separated
all_copies() {
    local d
    for d in "${uniq_candidates[@]+"${uniq_candidates[@]}"}"; do [[ -e "$d/$1" ]] && printf '%s ' "$d/$1"; done
}

say "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
say "bundle:   $bundle"
say "java:     $("$java" -version 2>&1 | head -n 1)"
say "libcuda:  ${cuda_lib:-not found}"
cublas12="$(find_lib libcublas.so.12)"
say "libcublas: ${cublas12:-libcublas.so.12 not found: JCublas (--nn-engine cublas) will not load}"
cublas13="$(all_copies libcublas.so.13)"
[[ -n "$cublas13" ]] && say "           also libcublas.so.13: ${cublas13% } (not used by JCublas, which links libcublas.so.12)"
cudnn9="$(find_lib libcudnn.so.9)"
say "libcudnn: ${cudnn9:-libcudnn.so.9 not found: JCudnn (--nn-engine cudnn) will not load}"
say "cuBLAS family: CUDA ${want:-none found}"
say "LD_LIBRARY_PATH folders chosen:"
for n in "${chosen_notes[@]+"${chosen_notes[@]}"}"; do say "  + $n"; done
[[ ${#chosen_notes[@]} -eq 0 ]] && say "  (none)"
if [[ ${#left_out[@]} -gt 0 ]]; then
    say "left out:"
    for n in "${left_out[@]}"; do say "  - $n"; done
fi
[[ -n "$orig_ld" ]] && say "  then the LD_LIBRARY_PATH this script started with: $orig_ld"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi >"$out/nvidia-smi.txt" 2>&1
    say "gpu:      $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
else
    say "gpu:      nvidia-smi not found"
fi
# HYBRIDSAM_* settings (e.g. a stand-in driver's) go to the Java side as they are; listed for the log
hs_env=()
while IFS= read -r name; do hs_env+=("$name=${!name}"); done < <(compgen -e | grep '^HYBRIDSAM_' || true)
for e in "${hs_env[@]+"${hs_env[@]}"}"; do say "env:      $e"; done

# JCuda unpacks its native libraries into java.io.tmpdir: under the log dir, since /tmp may be noexec
mkdir -p "$out/tmp"
env "${hs_env[@]+"${hs_env[@]}"}" "$java" --add-modules jdk.incubator.vector -Xmx8g -Djava.io.tmpdir="$out/tmp" \
    -cp "$bundle/hybridsam.jar:$bundle/lib/*" hybridsam.cuda.GpuCheck >"$out/gpu-check-java.log" 2>&1
rc=$?
cat "$out/gpu-check-java.log" >>"$log"
grep -E '^(PASS|FAIL|STOP|probe:|device:|nn engine|time )' "$out/gpu-check-java.log" | sed 's/^/  /'

# ---- PyTorch peer (benchmarks/pytorch_peer.py, issue 4) -- begin --------------------------------
# Times the same pendulum step in PyTorch when `import torch` works, then the nested pendulum-images
# step (pytorch_peer.py --task pendulum-images); never fails the check.
# Env: PYTORCH_PEER=0 skips both; PYTORCH_PEER_ARGS extra arguments (e.g. "--variants eager,cudagraph");
# PYTORCH_PEER_BUDGET seconds after which no new variant starts (default 180);
# PYTORCH_PEER_TIMEOUT hard limit in seconds (default 300; figures so far stay in the JSON);
# PYTORCH_PEER_IMAGES=0 skips the pendulum-images step, PYTORCH_PEER_IMAGES_BUDGET (default 60) and
# PYTORCH_PEER_IMAGES_TIMEOUT (default 120) bound it.
peer_json="$out/pytorch-peer.json"
peer=""
for cand in "$here/pytorch_peer.py" "$here/benchmarks/pytorch_peer.py" "$here/../benchmarks/pytorch_peer.py" "$bundle/pytorch_peer.py"; do
    [[ -f "$cand" ]] && { peer="$cand"; break; }
done
# torch brings its own CUDA libraries: run it with the LD_LIBRARY_PATH this script started with
peer_ld="${LD_LIBRARY_PATH#"$(IFS=:; echo "${libdirs[*]:-}")"}"; peer_ld="${peer_ld#:}"
# one task of the peer: its run, log and JSON, and the table read from the JSON
peer_task() {
    local task="$1" json="$2" budget="$3" limit="$4"
    say "== PyTorch peer, $task ($peer ${PYTORCH_PEER_ARGS:-}; log $out/pytorch-peer-$task.log)"
    rm -f "$json"
    # shellcheck disable=SC2086
    env LD_LIBRARY_PATH="$peer_ld" timeout "$limit" python3 "$peer" --task "$task" --json "$json" \
        --time-budget "$budget" ${PYTORCH_PEER_ARGS:-} >"$out/pytorch-peer-$task.log" 2>&1
    peer_rc=$?
    cat "$out/pytorch-peer-$task.log" >>"$log"
    say "pytorch_peer exit $peer_rc"
    # the table from the JSON, so that a timed-out run still shows what it measured
    python3 - "$json" <<'PY' 2>&1 | tee -a "$log" || true
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:
    print("  no PyTorch figures (%s)" % e); sys.exit(0)
print("  torch %s on %s" % (doc.get("torch"), doc.get("device")))
print("  %-18s %-5s %10s %10s  %s" % ("variant", "rule", "steps/s", "ms/step", "note"))
for r in doc.get("results", []):
    if "steps_per_s" in r:
        note = "K=%d sequential, aggregate" % r["k"] if "k" in r else ""
        print("  %-18s %-5s %10.2f %10.3f  %s" % (r["variant"], r.get("rule", ""), r["steps_per_s"], r["ms_per_step"], note))
    else:
        why = r.get("skipped") or ("FAILED: " + r.get("error", "?").splitlines()[0][:90])
        print("  %-18s %-5s %10s %10s  %s" % (r["variant"], r.get("rule", ""), "-", "-", why))
PY
}
if [[ "${PYTORCH_PEER:-1}" == "0" ]]; then
    say "== PyTorch peer: skipped (PYTORCH_PEER=0)"
elif [[ -z "$peer" ]]; then
    say "== PyTorch peer: skipped (pytorch_peer.py not found next to $0)"
elif ! env LD_LIBRARY_PATH="$peer_ld" python3 -c "import torch" >/dev/null 2>&1; then
    say "== PyTorch peer: skipped (python3 cannot import torch)"
else
    # the pendulum step (side by side with GpuCheck below), then the nested pendulum-images step
    peer_task pendulum "$peer_json" "${PYTORCH_PEER_BUDGET:-180}" "${PYTORCH_PEER_TIMEOUT:-300}"
    if [[ "${PYTORCH_PEER_IMAGES:-1}" != "0" ]]; then
        peer_task pendulum-images "$out/pytorch-peer-pendulum-images.json" "${PYTORCH_PEER_IMAGES_BUDGET:-60}" \
            "${PYTORCH_PEER_IMAGES_TIMEOUT:-120}"
    fi
fi
# ---- PyTorch peer -- end -------------------------------------------------------------------------
echo
say "== summary (exit $rc; full logs in $out)"
# the table: everything after the line "== GpuCheck table" (GpuCheck prints it whatever happened)
if grep -qx '== GpuCheck table' "$out/gpu-check-java.log"; then
    awk 'f{print} /^== GpuCheck table$/{f=1}' "$out/gpu-check-java.log" | tee -a "$log"
else
    say "no table: the JVM ended before GpuCheck printed it (exit $rc); the end of its log follows"
fi
# ---- PyTorch peer side by side -- begin (project fsam K=1 vs PyTorch; never fails the check) ----
if [[ -f "${peer_json:-}" ]]; then
    python3 - "$out/gpu-check-java.log" "$peer_json" <<'PY' 2>&1 | tee -a "$log" || true
import json, sys
# the project's figure: steps/s of the fused engine at replicas 1 in GpuCheck's timing table, whose
# header is "engine replicas batch ms/step steps/s ..." (columns found by name) and whose rows are
# "fused  1  256  <ms/step>  <steps/s> ..." (a row that says FAILED or not run has no figure)
proj = None
cols = None
in_table = False
for line in open(sys.argv[1]):
    f = line.split()
    if line.rstrip("\n") == "== GpuCheck table":
        in_table, cols = True, None
    elif not in_table or not f:
        continue
    elif f[0] == "engine" and "steps/s" in f and "replicas" in f:
        cols = (f.index("replicas"), f.index("steps/s"))
    elif cols is not None and proj is None and f[0] == "fused" and len(f) > max(cols) and f[cols[0]] == "1":
        try:
            proj = float(f[cols[1]])
        except ValueError:
            pass
doc = json.load(open(sys.argv[2]))
ok = {r["variant"]: r["steps_per_s"] for r in doc.get("results", []) if "steps_per_s" in r and r.get("rule") == "fsam"}
eager = ok.get("eager")
best = max(((v, n) for n, v in ok.items() if n != "eager" and not n.startswith("seq-")), default=None)
def fmt(v):
    return "%.1f" % v if v is not None else "n/a"
def ratio(v):
    return " (project %.1fx)" % (proj / v) if proj and v else ""
print("side by side, fsam steps/s, pendulum full, batch 256: project K=1 %s | PyTorch eager %s%s | best PyTorch compile/graph %s%s"
      % (fmt(proj), fmt(eager), ratio(eager),
         ("%s %s" % (best[1], fmt(best[0]))) if best else "n/a", ratio(best[0]) if best else ""))
PY
fi
# ---- PyTorch peer side by side -- end --------------------------------------------------------------
[[ $rc -eq 0 ]] || tail -n 30 "$out/gpu-check-java.log"
exit $rc
