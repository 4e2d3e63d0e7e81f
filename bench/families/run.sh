#!/usr/bin/env bash
# Forward tokens/s of each family issue 15 added against llama at equal size (target: within 10%).
#   bash bench/families/run.sh [OUT_DIR] [--small]   (OUT_DIR default /tmp/forgetlens-bench-families)
# Reuses bench/engine's engine-bench executable (`forward`: best of 2 passes over 8 x 128 tokens,
# all logits). Three rounds, each running every family once in turn (interleaved, so a machine
# that slows down or speeds up affects every family alike); the report is each family's median
# over the rounds and its ratio to llama's median. BENCH_THREADS (default 2) sets OpenBLAS's
# threads. Run it on a quiet machine. --small is a smoke test (2-layer 128-wide models).
# Time on 2 cores: ~1 min for the models, the release build of engine-bench (cached in
# OUT_DIR/.build; ~4 min the first time on a quiet machine), ~2 min for the 18 runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-/tmp/forgetlens-bench-families}"
small="${2:-}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
export OPENBLAS_NUM_THREADS="$BENCH_THREADS" OMP_NUM_THREADS="$BENCH_THREADS"
batch="${BENCH_BATCH:-4}"
rounds="${BENCH_ROUNDS:-3}"
families=(llama qwen3 olmo2 gemma2 gemma3_text phi3)

python3 "$here/make_models.py" "$out" $small
(cd "$here/../engine" && swift build -c release --product engine-bench --scratch-path "$out/.build" >&2)
bench="$out/.build/release/engine-bench"

results=()
for round in $(seq 1 "$rounds"); do
  for family in "${families[@]}"; do
    line="$("$bench" forward "$out/$family" "$out/tokens.json" "$batch" 2)"
    echo "round $round $family: $line"
    results+=("$family=$line")
  done
done
python3 - "${results[@]}" <<'PY'
import re, statistics, sys
rates = {}
for arg in sys.argv[1:]:
    name, line = arg.split("=", 1)
    rates.setdefault(name, []).append(float(re.search(r"= ([\d.]+) tokens/s", line).group(1)))
median = {name: statistics.median(r) for name, r in rates.items()}
print(f"median of {len(rates['llama'])} interleaved runs per family (forward tokens/s, all logits):")
print(f"{'llama':12s} {median['llama']:10.1f} tokens/s  1.00x llama")
worst = 0.0
for name, rate in median.items():
    if name == "llama":
        continue
    ratio = rate / median["llama"]
    worst = max(worst, 1 - ratio)
    print(f"{name:12s} {rate:10.1f} tokens/s  {ratio:.2f}x llama{'' if ratio >= 0.9 else '  (more than 10% slower)'}")
print(f"largest shortfall against llama: {max(worst, 0) * 100:.1f}%")
PY
