#!/usr/bin/env bash
# Engine vs PyTorch CPU forward throughput on the same ~100M-parameter llama and token batches,
# plus OpenBLAS sgemm GFLOP/s at the prefill shapes and the prefix-sharing speedup.
#   bash bench/engine/run.sh [OUT_DIR]      (OUT_DIR default /tmp/forgetlens-bench; never committed)
# BENCH_THREADS (default 2) sets both torch.set_num_threads and OpenBLAS's thread count.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-/tmp/forgetlens-bench}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
export OPENBLAS_NUM_THREADS="$BENCH_THREADS" OMP_NUM_THREADS="$BENCH_THREADS"
batch="${BENCH_BATCH:-4}"

python3 "$here/make_model.py" "$out"
(cd "$here" && swift build -c release --product engine-bench --scratch-path "$out/.build" >&2)
bench="$out/.build/release/engine-bench"
model="$out/llama-100m"

torch_line="$(python3 "$here/torch_forward.py" "$model" "$out/tokens.json" "$batch")"
engine_line="$("$bench" forward "$model" "$out/tokens.json" "$batch")"
echo "$torch_line"
echo "$engine_line"
python3 - "$torch_line" "$engine_line" <<'PY'
import re, sys
t = float(re.search(r"= ([\d.]+) tokens/s", sys.argv[1]).group(1))
e = float(re.search(r"= ([\d.]+) tokens/s", sys.argv[2]).group(1))
print(f"ratio engine / torch: {e / t:.2f}x")
PY
"$bench" sgemm "$model" $((batch * 128)) | tail -2
"$bench" prefix "$model" 16
