#!/usr/bin/env bash
# Rolling log-likelihood on many short passages: `forgetlens eval` with the documents of a batch
# sharing forward passes (default --batch-size 64) against one document per forward pass
# (--batch-size 1), on bench/eval's 110M llama and 300 one-line passages from the shared
# commonsense training corpus (a lm-eval style loglikelihood_rolling task written here).
# Both are whole `forgetlens eval` processes; ROUNDS (default 3) interleaved rounds, medians, and
# a check that both give the same bits per byte.
#   bash bench/rolling/run.sh [FORGETLENS] [OUT_DIR]
# Run on an otherwise idle machine. Needs python3 with torch + transformers (for the model).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/.build/release/forgetlens}"
out="${2:-/tmp/forgetlens-bench-rolling}"
threads="${BENCH_THREADS:-2}"
export OPENBLAS_NUM_THREADS="$threads"
mkdir -p "$out/tasks/data"
model="$(python3 "$root/bench/eval/make_model.py" "$out")"
corpus="${CORPUS:-$root/../shared/corpora/commonsense-train.txt.gz}"
python3 - "$corpus" "$out/tasks/data/short_passages.jsonl" <<'PY'
import gzip, json, sys
out = []
with gzip.open(sys.argv[1], "rt", encoding="utf-8") as f:
    for line in f:
        line = line.strip()
        if 40 <= len(line) <= 200:
            out.append(line)
        if len(out) == 300:
            break
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for t in out:
        f.write(json.dumps({"text": t}) + "\n")
PY
cat >"$out/tasks/short_passages.yaml" <<'YAML'
task: short_passages
dataset_path: json
dataset_kwargs:
  data_files:
    validation: data/short_passages.jsonl
validation_split: validation
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{text}}"
metric_list:
  - metric: bits_per_byte
YAML
: >"$out/times"
for r in $(seq 1 "${ROUNDS:-3}"); do
  for b in 64 1; do
    t0=$(date +%s.%N)
    "$bin" eval --model "$model" --tasks short_passages --include-path "$out/tasks" --threads "$threads" \
      --batch-size "$b" --output "$out/b$b" >/dev/null 2>"$out/b$b.log"
    t1=$(date +%s.%N)
    echo "$b $t0 $t1" >>"$out/times"
  done
done
python3 - "$out/times" "$out/b64/results.json" "$out/b1/results.json" <<'PY'
import json, statistics, sys
t = {}
for line in open(sys.argv[1]):
    b, t0, t1 = line.split(); t.setdefault(b, []).append(float(t1) - float(t0))
ratios = [one / batched for one, batched in zip(t["1"], t["64"])]
def bpb(p):
    r = json.load(open(p))["results"]["short_passages"]
    return next(v for k, v in r.items() if k.startswith("bits_per_byte") and "stderr" not in k)
a, b = bpb(sys.argv[2]), bpb(sys.argv[3])
print(f"300 one-line passages: --batch-size 64 median {statistics.median(t['64']):.1f} s, --batch-size 1 median {statistics.median(t['1']):.1f} s; "
      f"per-round ratios {', '.join(f'{x:.2f}x' for x in ratios)}, median {statistics.median(ratios):.2f}x; bits per byte {a:.6f} vs {b:.6f}")
sys.exit(0 if abs(a - b) <= 1e-4 * max(1.0, abs(a)) else 1)
PY
