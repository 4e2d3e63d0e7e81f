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
# Whole processes on both sides (start-up, model load and the same 3 passes over the batches):
# what a user waits for. 3 interleaved rounds, median wall time each.
python3 - "$bench" "$model" "$out/tokens.json" "$batch" "$here/torch_forward.py" <<'PY'
import statistics, subprocess, sys, time
bench, model, tokens, batch, torch_script = sys.argv[1:6]
ours, theirs = [], []
for _ in range(3):
    t0 = time.perf_counter(); subprocess.run([bench, "forward", model, tokens, batch], check=True, capture_output=True); ours.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); subprocess.run([sys.executable, torch_script, model, tokens, batch], check=True, capture_output=True); theirs.append(time.perf_counter() - t0)
o, t = statistics.median(ours), statistics.median(theirs)
print(f"whole process (load + 3 passes), median of 3 interleaved: engine-bench {o:.1f} s, torch_forward.py {t:.1f} s, ratio {t / o:.2f}x")
PY
"$bench" sgemm "$model" $((batch * 128)) | tail -2
"$bench" prefix "$model" 16
