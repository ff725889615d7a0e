#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU but no Java and no network.
#   gpu-check.sh [log dir]        (default: $OUT, else ./gpu-check-out)
# Uses the bundle made by benchmarks/make-gpu-bundle.sh: a folder gpu-bundle/ or a tarball
# gpu-bundle.tar.gz next to this script (or this script inside the bundle). It unpacks the
# trimmed Java runtime, finds libcuda and the CUDA libraries (also under Python's site-packages
# nvidia/*/lib), prints driver and GPU, runs every kernel against the CPU reference on the GPU
# (hybridsam.cuda.GpuCheck: PASS/FAIL per check), times fsam steps on pendulum full size, and
# prints a compact table last. Full logs go to the log dir.
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

# CUDA libraries: the driver's libcuda, then the toolkit / Python wheels' libraries
libdirs=()
cuda_lib="$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}')"
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/local/cuda/compat; do
    [[ -e "$d/libcuda.so.1" && -z "$cuda_lib" ]] && cuda_lib="$d/libcuda.so.1"
    [[ -d "$d" ]] && libdirs+=("$d")
done
for py in python3 python; do
    if command -v "$py" >/dev/null 2>&1; then
        while IFS= read -r d; do [[ -d "$d" ]] && libdirs+=("$d"); done < <("$py" - <<'PY' 2>/dev/null
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
[[ -n "$cuda_lib" ]] && libdirs=("$(dirname "$cuda_lib")" "${libdirs[@]}")
LD_LIBRARY_PATH="$(IFS=:; echo "${libdirs[*]:-}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH

say "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
say "bundle:   $bundle"
say "java:     $("$java" -version 2>&1 | head -n 1)"
say "libcuda:  ${cuda_lib:-not found}"
for lib in libcublas.so.13 libcudnn.so.9 libnvrtc.so.13; do
    found="$(for d in "${libdirs[@]}"; do ls "$d"/$lib 2>/dev/null; done | head -n 1)"
    say "$(printf '%-9s %s' "${lib%%.so*}:" "${found:-not found}")"
done
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi >"$out/nvidia-smi.txt" 2>&1
    say "gpu:      $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
else
    say "gpu:      nvidia-smi not found"
fi

"$java" --add-modules jdk.incubator.vector -Xmx8g -cp "$bundle/hybridsam.jar:$bundle/lib/*" \
    hybridsam.cuda.GpuCheck >"$out/gpu-check-java.log" 2>&1
rc=$?
cat "$out/gpu-check-java.log" >>"$log"
grep -E '^(PASS|FAIL|probe:)' "$out/gpu-check-java.log" | sed 's/^/  /'

# ---- PyTorch peer (benchmarks/pytorch_peer.py, issue 4) -- begin --------------------------------
# Times the same pendulum step in PyTorch when `import torch` works; never fails the check.
# Env: PYTORCH_PEER=0 skips it; PYTORCH_PEER_ARGS extra arguments (e.g. "--variants eager,cudagraph");
# PYTORCH_PEER_BUDGET seconds after which no new variant starts (default 180);
# PYTORCH_PEER_TIMEOUT hard limit in seconds (default 300; figures so far stay in the JSON).
peer_json="$out/pytorch-peer.json"
peer=""
for cand in "$here/pytorch_peer.py" "$here/benchmarks/pytorch_peer.py" "$here/../benchmarks/pytorch_peer.py" "$bundle/pytorch_peer.py"; do
    [[ -f "$cand" ]] && { peer="$cand"; break; }
done
# torch brings its own CUDA libraries: run it with the LD_LIBRARY_PATH this script started with
peer_ld="${LD_LIBRARY_PATH#"$(IFS=:; echo "${libdirs[*]:-}")"}"; peer_ld="${peer_ld#:}"
if [[ "${PYTORCH_PEER:-1}" == "0" ]]; then
    say "== PyTorch peer: skipped (PYTORCH_PEER=0)"
elif [[ -z "$peer" ]]; then
    say "== PyTorch peer: skipped (pytorch_peer.py not found next to $0)"
elif ! env LD_LIBRARY_PATH="$peer_ld" python3 -c "import torch" >/dev/null 2>&1; then
    say "== PyTorch peer: skipped (python3 cannot import torch)"
else
    say "== PyTorch peer ($peer ${PYTORCH_PEER_ARGS:-}; log $out/pytorch-peer.log)"
    rm -f "$peer_json"
    # shellcheck disable=SC2086
    env LD_LIBRARY_PATH="$peer_ld" timeout "${PYTORCH_PEER_TIMEOUT:-300}" python3 "$peer" --json "$peer_json" \
        --time-budget "${PYTORCH_PEER_BUDGET:-180}" ${PYTORCH_PEER_ARGS:-} >"$out/pytorch-peer.log" 2>&1
    peer_rc=$?
    cat "$out/pytorch-peer.log" >>"$log"
    say "pytorch_peer exit $peer_rc"
    # the table from the JSON, so that a timed-out run still shows what it measured
    python3 - "$peer_json" <<'PY' 2>&1 | tee -a "$log" || true
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
fi
# ---- PyTorch peer -- end -------------------------------------------------------------------------
echo
say "== summary (exit $rc; full logs in $out)"
# the table: everything after the blank line GpuCheck prints before it
awk 'f{print} /^$/{f=1}' "$out/gpu-check-java.log" | tee -a "$log"
# ---- PyTorch peer side by side -- begin (project fsam K=1 vs PyTorch; never fails the check) ----
if [[ -f "${peer_json:-}" ]]; then
    python3 - "$out/gpu-check-java.log" "$peer_json" <<'PY' 2>&1 | tee -a "$log" || true
import json, sys
proj = None
col = None
for line in open(sys.argv[1]):
    f = line.split()
    if "steps/s" in f and f and f[0] == "replicas":
        col = f.index("steps/s")
    elif col is not None and len(f) > col and f[0] == "1":
        try:
            proj = float(f[col])
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
