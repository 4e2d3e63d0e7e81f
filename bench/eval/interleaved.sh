#!/usr/bin/env bash
# bench/eval/run.sh ROUNDS times per dtype, interleaved (fp32, bf16, fp32, bf16, ...), then the
# median wall time of each side and the median of the per-round ratios. Same model, tasks, limit
# and thread count as run.sh (its BENCH_* variables apply).
#   BENCH_BIN=.build/release/forgetlens bash bench/eval/interleaved.sh [OUT_DIR]
# ROUNDS (default 3), BENCH_DTYPES (default "fp32 bf16"). Run on an otherwise idle machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-/tmp/forgetlens-bench-eval}"
rounds="${ROUNDS:-3}"
dtypes="${BENCH_DTYPES:-fp32 bf16}"
log="$out/interleaved.log"
mkdir -p "$out"; : >"$log"
for r in $(seq "$rounds"); do
  for d in $dtypes; do
    echo "== round $r $d" | tee -a "$log"
    BENCH_DTYPE="$d" bash "$here/run.sh" "$out" 2>&1 | tee -a "$log" | grep -E "lm_eval --model hf:|forgetlens eval:|ratio|decisions" || true
  done
done
python3 - "$log" <<'PY'
import re, statistics, sys
rows = {}
dtype = None
for line in open(sys.argv[1]):
    m = re.match(r"== round (\d+) (\w+)", line)
    if m: dtype = m.group(2); rows.setdefault(dtype, {"lm": [], "ours": []}); continue
    m = re.match(r"lm_eval --model hf: ([\d.]+) s", line)
    if m: rows[dtype]["lm"].append(float(m.group(1)))
    m = re.match(r"forgetlens eval:\s+([\d.]+) s", line)
    if m: rows[dtype]["ours"].append(float(m.group(1)))
for d, r in rows.items():
    ratios = [a / b for a, b in zip(r["lm"], r["ours"])]
    print(f"{d}: lm_eval median {statistics.median(r['lm']):.1f} s, forgetlens median {statistics.median(r['ours']):.1f} s, "
          f"per-round ratios {', '.join(f'{x:.2f}x' for x in ratios)}, median ratio {statistics.median(ratios):.2f}x")
PY
