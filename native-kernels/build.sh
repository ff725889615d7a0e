#!/usr/bin/env bash
# Builds the native parts of hybridsam; Maven runs it in generate-resources.
#   build.sh <target dir> [java home]
# (a) with nvcc on the PATH: each native-kernels/*.cu -> a fatbin (SASS for sm_80/86/89/90 and
#     compute_75 PTX) and a .ptx under <target>/classes/hybridsam/kernels/, plus the ptxas
#     resource report (registers, shared memory, spills) in ptxas-report.txt; without nvcc it
#     says so and skips (the jar then has no kernels and the CUDA probe reports why).
#     kernels.properties says which nvcc built them, the oldest driver for their PTX (driver.min)
#     and the sm_ architectures the fatbins hold SASS for (sass.archs).
# (b) always: the kernel index, generated from the extern "C" __global__ declarations of
#     native-kernels/*.cu: <target>/classes/hybridsam/kernels/kernels.index ("module kernel
#     barriers signature" per line; KernelNames reads it) and <target>/generated/kernel_table.inc
#     (the emulator's kernel table).
# (c) always: the emulation library (the same .cu sources as host C++ behind JNI) into
#     <target>/native/ for the tests that run the kernels without a GPU.
# (d) native-kernels/standin/build.sh, when there is one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${1:?usage: build.sh <target dir> [java home]}"
java_home="${2:-}"
kernels_out="$target/classes/hybridsam/kernels"
generated="$target/generated"
mkdir -p "$kernels_out" "$target/native" "$generated"

sources=()
for f in "$here"/*.cu; do sources+=("$f"); done

# Moves $1 onto $2 unless $2 already has the same content (its mtime then stays, so what depends
# on it is not rebuilt).
install_if_changed() {
    if cmp -s "$1" "$2"; then rm -f "$1"; else chmod 644 "$1" && mv -f "$1" "$2"; fi
}

# (b) The kernel index: awk -v module=NAME "$index_awk" common.cuh NAME.cu prints "NAME kernel
# barriers signature" for every extern "C" __global__ void kernel( of NAME.cu, barriers = 1 when
# its body calls __syncthreads() directly or through a __device__ function or #define of
# common.cuh or NAME.cu (transitively, e.g. hs_block_sum), else 0. Comments are ignored; function
# bodies are found by brace matching. A __global__ that is not declared that way on one line is an
# error, so that no kernel is left out of the index silently.
# signature: one letter per parameter, as KernelArgs.signature() and the emulator's
# Kernel::signature spell them, read from the parameter list (which may span lines up to its
# closing parenthesis): a type with * -> p, long long [int] -> l, int / unsigned [int] -> i,
# float -> f, double -> d (const, volatile and __restrict__ aside); "-" for a kernel without
# parameters. Any other parameter type is an error naming the kernel and the parameter, since
# KernelArgs could not pass it.
index_awk='
function scan(s,    c, i, n) {
    n = length(s)
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (c == "{") { depth++; started = 1 }
        else if (c == "}") {
            depth--
            if (fn != "" && started && depth == base) finish()
        } else if (c == ";" && fn != "" && !started && depth == base) fn = ""  # a prototype
    }
}
function params_take(s,    c, i, n) {          # a piece of a kernel parameter list
    n = length(s)
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (c == "(") pdepth++
        else if (c == ")") {
            if (pdepth == 0) {
                if (nparams > 0 || ptext !~ /^[ \t]*$/) param_add()
                if (psig == "v") psig = ""            # (void)
                else if (index(psig, "v") > 0) param_fail("void")
                sigs[pname] = psig; inparams = 0
                return
            }
            pdepth--
        } else if (c == "," && pdepth == 0) { param_add(); continue }
        ptext = ptext c
    }
    ptext = ptext " "
}
function param_fail(p) {
    printf "%s:%d: kernel %s: parameter \047%s\047 has no kernel-argument type (a pointer, int, unsigned, long long, float or double)\n", FILENAME, pstart, pname, p > "/dev/stderr"
    failed = 1; exit 1
}
function param_add(    p, w, n, i, ty, last) {
    p = ptext; ptext = ""; nparams++
    gsub(/[ \t]+/, " ", p); sub(/^ /, "", p); sub(/ $/, "", p)
    if (p == "") param_fail(p)
    if (index(p, "*") > 0) { psig = psig "p"; return }
    if (p ~ /[^A-Za-z0-9_ ]/) param_fail(p)      # references, arrays, defaults, templates
    n = split(p, w, " "); ty = ""
    for (i = 1; i <= n; i++) {
        if (w[i] == "const" || w[i] == "volatile" || w[i] == "__restrict__") continue
        ty = ty (ty == "" ? "" : " ") w[i]
    }
    last = ty; sub(/.* /, "", last)               # the parameter name, when there is one
    if (last != ty && last !~ /^(int|long|unsigned|signed|short|char|float|double|void|bool)$/) sub(/ [^ ]*$/, "", ty)
    if (ty == "long long" || ty == "long long int" || ty == "unsigned long long" || ty == "unsigned long long int") psig = psig "l"
    else if (ty == "int" || ty == "unsigned" || ty == "unsigned int") psig = psig "i"
    else if (ty == "float") psig = psig "f"
    else if (ty == "double") psig = psig "d"
    else if (ty == "void" && n == 1) psig = psig "v"  # only as (void), checked at the )
    else param_fail(p)
}
function finish(    s, tok) {
    body = body " "
    if (body ~ /__syncthreads[ \t]*\(/) sync[fn] = 1
    s = body
    while (match(s, /[A-Za-z_][A-Za-z0-9_]*/)) {
        tok = substr(s, RSTART, RLENGTH)
        if (tok != fn) uses[fn] = uses[fn] " " tok
        s = substr(s, RSTART + RLENGTH)
    }
    if (kind == "k") {
        if (!(fn in seen)) { seen[fn] = 1; kernels[++nk] = fn }
    } else callable[fn] = 1
    fn = ""
}
FNR == 1 {
    if (inparams) { printf "%s: unbalanced parentheses in the parameters of %s\n", prev, pname > "/dev/stderr"; failed = 1; exit 1 }
    if (fn != "") { printf "%s: unbalanced braces in %s\n", prev, fn > "/dev/stderr"; failed = 1; exit 1 }
    incomment = 0; indefine = 0; depth = 0; prev = FILENAME
}
{
    line = $0; out = ""
    while (line != "") {                             # drop comments
        if (incomment) {
            i = index(line, "*/")
            if (i == 0) line = ""
            else { line = substr(line, i + 2); incomment = 0 }
        } else {
            i = index(line, "/*"); j = index(line, "//")
            if (j > 0 && (i == 0 || j < i)) { out = out substr(line, 1, j - 1); line = "" }
            else if (i == 0) { out = out line; line = "" }
            else { out = out substr(line, 1, i - 1) " "; line = substr(line, i + 2); incomment = 1 }
        }
    }
    line = out
    fresh = 0
    if (indefine || line ~ /^[ \t]*#/) {             # preprocessor lines; a #define is a callable
        if (!indefine && line ~ /^[ \t]*#[ \t]*define[ \t]/) {
            s = line; sub(/^[ \t]*#[ \t]*define[ \t]+/, "", s)
            match(s, /^[A-Za-z_][A-Za-z0-9_]*/); macro = substr(s, 1, RLENGTH)
            s = substr(s, RLENGTH + 1); mbody = ""
        } else if (!indefine) macro = ""
        if (macro != "") mbody = mbody " " (indefine ? line : s)
        indefine = (line ~ /\\[ \t]*$/)
        if (!indefine && macro != "") {
            fn = macro; body = mbody; kind = "m"; finish(); macro = ""
        }
        next
    }
    if (fn == "") {
        if (line ~ /__global__/) {
            s = line
            if (gsub(/__global__/, "", s) > 1) {
                printf "%s:%d: one kernel declaration per line\n", FILENAME, FNR > "/dev/stderr"
                failed = 1; exit 1
            }
            if (line !~ /extern[ \t]+"C"[ \t]+__global__[ \t]+void[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/) {
                printf "%s:%d: a kernel must be declared as extern \"C\" __global__ void NAME( on one line\n", FILENAME, FNR > "/dev/stderr"
                failed = 1; exit 1
            }
            if (FILENAME != ARGV[ARGC - 1]) {
                printf "%s:%d: kernels belong in a .cu module, not a shared header\n", FILENAME, FNR > "/dev/stderr"
                failed = 1; exit 1
            }
            s = line; sub(/.*__global__[ \t]+void[ \t]+/, "", s)
            match(s, /^[A-Za-z_][A-Za-z0-9_]*/); fn = substr(s, 1, RLENGTH); kind = "k"
            s = substr(s, RLENGTH + 1); sub(/^[ \t]*\(/, "", s)
            pname = fn; pstart = FNR; inparams = 1; pdepth = 0; ptext = ""; psig = ""; nparams = 0
            fresh = 1; params_take(s)
        } else if (line ~ /__device__/ && line !~ /[(;]/) {
            printf "%s:%d: put the name and ( of a __device__ function on its __device__ line\n", FILENAME, FNR > "/dev/stderr"
            failed = 1; exit 1
        } else if (line ~ /__device__/ && line ~ /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/) {
            s = line; sub(/.*__device__/, "", s)
            if (match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
                fn = substr(s, RSTART, RLENGTH); sub(/[ \t]*\($/, "", fn); kind = "d"
            }
        }
        if (fn != "") { base = depth; started = 0; body = "" }
    }
    if (inparams && !fresh) params_take(line)
    if (fn != "") body = body " " line
    scan(line)
}
END {
    if (failed) exit 1
    if (inparams) { printf "%s: unbalanced parentheses in the parameters of %s\n", ARGV[ARGC - 1], pname > "/dev/stderr"; exit 1 }
    if (fn != "") { printf "%s: unbalanced braces in %s\n", ARGV[ARGC - 1], fn > "/dev/stderr"; exit 1 }
    do {                                             # sync through callables, to a fixed point
        changed = 0
        for (f in callable) {
            if (f in sync) continue
            n = split(uses[f], t, " ")
            for (i = 1; i <= n; i++) if ((t[i] in callable) && (t[i] in sync)) { sync[f] = 1; changed = 1; break }
        }
    } while (changed)
    for (k = 1; k <= nk; k++) {
        f = kernels[k]; b = (f in sync) ? 1 : 0
        n = split(uses[f], t, " ")
        for (i = 1; i <= n && !b; i++) if ((t[i] in callable) && (t[i] in sync)) b = 1
        print module, f, b, (sigs[f] == "" ? "-" : sigs[f])
    }
}
'
index_tmp="$(mktemp "$generated/kernels.index.XXXXXX")"
table_tmp="$(mktemp "$generated/kernel_table.inc.XXXXXX")"
for src in "${sources[@]}"; do
    awk -v module="$(basename "$src" .cu)" "$index_awk" "$here/common.cuh" "$src" >>"$index_tmp" \
        || { echo "[native-kernels] cannot index the kernels of $src" >&2; rm -f "$index_tmp" "$table_tmp"; exit 1; }
done
if ! awk 'seen[$2]++ { print "[native-kernels] kernel " $2 " is defined in more than one module" > "/dev/stderr"; bad = 1 }
          END { exit bad }' "$index_tmp"; then
    rm -f "$index_tmp" "$table_tmp"
    exit 1
fi
{
    echo "// Generated by native-kernels/build.sh from native-kernels/*.cu; included by emu/runtime.h."
    awk '{ printf "%s(%s)\n", ($3 == 1 ? "HS_SYNC_KERNEL" : "HS_KERNEL"), $2 }' "$index_tmp"
} >"$table_tmp"
install_if_changed "$index_tmp" "$kernels_out/kernels.index"
install_if_changed "$table_tmp" "$generated/kernel_table.inc"
# the ids Java passes to the kernels (activations, rules, rule-table fields, models): the enums
# of common.cuh are their one source; KernelConstants reads this "NAME VALUE" list and maps the
# Java enums onto it by name, so the two sides cannot drift apart
constants_tmp="$(mktemp "$generated/kernels.constants.XXXXXX")"
if ! awk '
    /^enum[ \t]*\{/ { inside = 1; next_value = 0 }
    inside {
        line = $0
        sub(/\/\/.*/, "", line)
        sub(/^enum[ \t]*\{/, "", line)
        done = sub(/\};.*/, "", line)
        n = split(line, items, ",")
        for (i = 1; i <= n; i++) {
            item = items[i]
            gsub(/[ \t]/, "", item)
            if (item == "") continue
            if (split(item, kv, "=") == 2) { name = kv[1]; next_value = kv[2] + 0 } else name = item
            if (name !~ /^HS_[A-Z0-9_]+$/) { print "[native-kernels] common.cuh: enum entry " item " is not HS_NAME [= value]" > "/dev/stderr"; bad = 1 }
            print name, next_value
            next_value++
        }
        if (done) inside = 0
    }
    # integer #defines too (HS_BLOCK, HS_MAX_THETA, HS_D): sizes both sides must agree on
    /^#define[ \t]+HS_[A-Z0-9_]+[ \t]+[0-9]+([ \t]|$)/ { print $2, $3 + 0 }
    END { exit bad }' "$here/common.cuh" >"$constants_tmp"; then
    rm -f "$constants_tmp"
    exit 1
fi
install_if_changed "$constants_tmp" "$kernels_out/kernels.constants"
# the sources the emulation runtime compiles: every .cu file, so a new one needs no hand edit
sources_tmp="$(mktemp "$generated/kernel_sources.inc.XXXXXX")"
{
    echo "// Generated by native-kernels/build.sh: every native-kernels/*.cu, included by emu/runtime.h."
    for src in "${sources[@]}"; do echo "#include \"$src\""; done
} >"$sources_tmp"
install_if_changed "$sources_tmp" "$generated/kernel_sources.inc"

if command -v nvcc >/dev/null 2>&1; then
    archs=(80 86 89 90)
    available="$(nvcc --list-gpu-arch 2>/dev/null || true)"
    gencode=()
    kept=()
    for a in "${archs[@]}"; do
        if grep -qx "compute_$a" <<<"$available"; then
            gencode+=(-gencode "arch=compute_$a,code=sm_$a")
            kept+=("$a")
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
    # PTX from CUDA major.minor needs a driver of at least that CUDA version (cuDriverGetVersion
    # form); the SASS in the fatbins loads on any driver of that CUDA major (CudaProbe)
    {
        echo "nvcc.release=$major.$minor"
        echo "driver.min=$((major * 1000 + minor * 10))"
        echo "sass.archs=$(IFS=,; echo "${kept[*]}")"
    } >"$kernels_out/kernels.properties"
    # the fatbins of an earlier build are reused only when nvcc and its flags are the same (so
    # that the properties above describe them)
    stamp="$cache/build-flags"
    flags="$(nvcc --version | tail -n 2 | head -n 1) ${gencode[*]}"
    same_flags=0
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$flags" ]]; then same_flags=1; fi
    : >"$kernels_out/kernels.list"
    for src in "${sources[@]}"; do
        name="$(basename "$src" .cu)"
        # only rebuild when a source, the shared header or the flags changed
        if [[ $same_flags == 1 && -f "$kernels_out/$name.fatbin" && "$kernels_out/$name.fatbin" -nt "$src" \
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
    echo "$flags" >"$stamp"
    echo "[native-kernels] kernels and ptxas report in $kernels_out"
else
    echo "[native-kernels] NOTICE: nvcc not found; building without CUDA kernels (the CUDA backend will report that the jar has none)"
    rm -f "$kernels_out"/*.fatbin "$kernels_out"/*.ptx "$kernels_out/kernels.list" "$kernels_out/kernels.properties"
fi

# (c) emulation library
if [[ -z "$java_home" || ! -f "$java_home/include/jni.h" ]]; then
    java_home="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.home = //p')"
fi
build_emulator() {
    if [[ ! -f "$java_home/include/jni.h" ]]; then
        echo "[native-kernels] NOTICE: no JNI headers under '$java_home'; emulation library not built (its tests will be skipped)"
        return 0
    fi
    if ! command -v g++ >/dev/null 2>&1; then
        echo "[native-kernels] NOTICE: g++ not found; emulation library not built (its tests will be skipped)"
        return 0
    fi
    local lib="$target/native/libhybridsam_emu.so" newest
    # sed reads it all: no SIGPIPE under pipefail
    newest="$(ls -t "$here"/*.cu "$here"/*.cuh "$here"/emu/* "$generated/kernel_table.inc" "$generated/kernel_sources.inc" | sed -n 1p)"
    if [[ ! -f "$lib" || "$newest" -nt "$lib" ]]; then
        echo "[native-kernels] g++ emulation library"
        g++ -std=c++20 -O2 -fPIC -shared -Wall -Wextra -DHYBRIDSAM_EMULATION -I"$here" -I"$generated" \
            -I"$java_home/include" -I"$java_home/include/linux" \
            "$here/emu/emu_jni.cpp" -o "$lib"
    fi
}
build_emulator

# (d) the stand-in libraries (their script does its own checks)
if [[ -f "$here/standin/build.sh" ]]; then bash "$here/standin/build.sh" "$target" "$java_home"; fi
