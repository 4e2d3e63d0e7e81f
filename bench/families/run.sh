#!/usr/bin/env bash
# Forward tokens/s of each family issue 15 added against llama at equal size (target: within 10%).
#   bash bench/families/run.sh [OUT_DIR] [--small]   (OUT_DIR default /tmp/forgetlens-bench-families)
# Reuses bench/engine's engine-bench executable (`forward`: best of 3 passes over 16 x 128 tokens).
# BENCH_THREADS (default 2) sets OpenBLAS's threads. Run it on a quiet machine: the numbers are
# ratios of back-to-back runs, and anything else running skews them. --small is a smoke test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-/tmp/forgetlens-bench-families}"
small="${2:-}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
export OPENBLAS_NUM_THREADS="$BENCH_THREADS" OMP_NUM_THREADS="$BENCH_THREADS"
batch="${BENCH_BATCH:-4}"

python3 "$here/make_models.py" "$out" $small
(cd "$here/../engine" && swift build -c release --product engine-bench --scratch-path "$out/.build" >&2)
bench="$out/.build/release/engine-bench"

results=()
for family in llama qwen3 olmo2 gemma2 gemma3_text phi3; do
  line="$("$bench" forward "$out/$family" "$out/tokens.json" "$batch")"
  echo "$family: $line"
  results+=("$family=$line")
done
python3 - "${results[@]}" <<'PY'
import re, sys
rates = {}
for arg in sys.argv[1:]:
    name, line = arg.split("=", 1)
    rates[name] = float(re.search(r"= ([\d.]+) tokens/s", line).group(1))
worst = 0.0
for name, rate in rates.items():
    if name == "llama":
        continue
    ratio = rate / rates["llama"]
    worst = max(worst, 1 - ratio)
    print(f"{name:12s} {rate:10.1f} tokens/s  {ratio:.2f}x llama{'' if ratio >= 0.9 else '  (more than 10% slower)'}")
print(f"largest shortfall against llama: {max(worst, 0) * 100:.1f}%")
PY
