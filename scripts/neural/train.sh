#!/usr/bin/env bash
# Rebuild models/tinylm from scratch: corpus splits, BPE + training (one CPU thread), ONNX export.
#   bash scripts/neural/train.sh [out-dir]        (default models/tinylm; needs `pnpm build` first)
# Debian's python3-torch calls whichever libblas.so.3 the system selects; the reference BLAS makes a step
# ~20x slower than OpenBLAS, so this prefers Debian's libopenblas0-pthread (its library directory, or the
# one given in OPENBLAS_DIR, e.g. a `dpkg-deb -x` of the package). Numbers differ in the last bits between
# BLAS builds; the record names the one used.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-models/tinylm}
dir=${OPENBLAS_DIR:-/usr/lib/x86_64-linux-gnu/openblas-pthread}
if [ -e "$dir/libblas.so.3" ]; then
  export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" TOKENMARK_BLAS="openblas ($dir)"
else
  echo "train.sh: no OpenBLAS in $dir; training with the system BLAS (slow)" >&2
  export TOKENMARK_BLAS="system libblas.so.3"
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
corpus=$(mktemp --suffix=.json)
trap 'rm -f "$corpus"' EXIT
node scripts/neural/corpus.mjs "$corpus"
/usr/bin/python3 scripts/neural/train.py --corpus "$corpus" --out "$out"
/usr/bin/python3 scripts/neural/export.py --dir "$out"
