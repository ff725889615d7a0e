#!/usr/bin/env bash
# Regenerates imports/*.txt: the NVIDIA library symbols that JCuda's native libraries import
# (the stand-ins export every one of them). Run after a JCuda version change:
#   list-imports.sh <folder with the unpacked JCuda natives: libJCudaDriver-*.so, libJCublas2-*.so, libJCudnn-*.so>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:?usage: list-imports.sh <folder of JCuda native libraries>}"
imports() { nm -D --undefined-only "$1" | awk '{print $2}' | grep "^$2" | sed 's/@.*//' | sort -u; }
imports "$(ls "$dir"/libJCudaDriver-*.so | head -n 1)" cu >"$here/imports/libcuda.so.1.txt"
imports "$(ls "$dir"/libJCublas2-*.so | head -n 1)" cublas >"$here/imports/libcublas.so.12.txt"
imports "$(ls "$dir"/libJCudnn-*.so | head -n 1)" cudnn >"$here/imports/libcudnn.so.9.txt"
wc -l "$here"/imports/*.txt
