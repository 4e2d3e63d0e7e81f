#!/usr/bin/env bash
# Peak RSS of `forgetlens logprobs` on a Llama-2-7B-shaped bf16 checkpoint (random weights,
# 13.5 GB), kept as stored (bf16) and with --quantize nf4 --double-quant; each against the
# checkpoint's bf16 size (issue 11: <= 1.1x and <= 0.35x).
#   bash bench/quant/memory.sh [FORGETLENS] [OUT_DIR]
# FORGETLENS defaults to .build/release/forgetlens; OUT_DIR (default /tmp/forgetlens-7b, 13.5 GB
# of disk) is made by make_7b.py on the first run. LAYERS=2 makes a shallow model (smoke test).
# Needs /usr/bin/time (Debian: time). Run on an otherwise idle machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-.build/release/forgetlens}"
out="${2:-/tmp/forgetlens-7b}"
layers="${LAYERS:-32}"
python3 "$here/make_7b.py" "$out" --layers "$layers"
size=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metadata']['total_size'])" "$out/model.safetensors.index.json")
prompts='"The quick brown fox jumps over the lazy dog."
"Memory is measured, not guessed: the whole process, from start to exit."
"12 + 35 = 47"'
measure() {
  local label="$1"; shift
  local log; log="$(mktemp)"
  echo "$prompts" | /usr/bin/time -v "$bin" logprobs --model "$out" --threads 2 "$@" >/dev/null 2>"$log" || { cat "$log"; exit 1; }
  local kb; kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$log")
  python3 - "$label" "$kb" "$size" <<'PY'
import sys
label, kb, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(f"{label:>22}: peak RSS {kb * 1024 / 2**30:6.2f} GiB = {kb * 1024 / size:.3f}x the bf16 checkpoint ({size / 2**30:.2f} GiB)")
PY
  rm -f "$log"
}
measure "bf16 (as stored)"
measure "nf4 + double quant" --quantize nf4 --double-quant
