#!/usr/bin/env bash
# Sharded runs against the whole run, in the same session: the bundled demo experiment run once
# unsharded (--threads N) and as N shards side by side (--threads 1 each) plus `merge`; prints
# both wall times, the ratio, the merge time, and checks that the merged store holds the same
# documents with the same decisions and aggregates as the whole run.
#   bash bench/shards/run.sh [FORGETLENS_BIN] [N]   (defaults: .build/release/forgetlens, 2 = this machine's cores)
# BENCH_LIMIT (default 200) documents per task.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/.build/release/forgetlens}"
n="${2:-2}"
out="$(mktemp -d /tmp/forgetlens-shard-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT
[ -x "$bin" ] || (cd "$root" && swift build -c release --product forgetlens >&2)

# The demo experiment with absolute paths and its own output folder.
sed -e "s#^base: checkpoints/#base: $root/examples/checkpoints/#" \
    -e "s#model: checkpoints/#model: $root/examples/checkpoints/#; s#adapter: checkpoints/#adapter: $root/examples/checkpoints/#" \
    -e "s#runs: checkpoints/#runs: $root/examples/checkpoints/#; s#^task_paths: \[tasks\]#task_paths: [$root/examples/tasks]#" \
    -e "s#^output: .*#output: $out/out#" -e "s#^limit: .*#limit: ${BENCH_LIMIT:-200}#" \
    "$root/examples/demo.yaml" > "$out/exp.yaml"

now() { date +%s.%N; }
# ROUNDS (default 3) rounds, each from empty stores: whole run, then the shards and merge; the
# medians of the wall times are reported (the equality check reads the last round's stores).
: >"$out/times"
for r in $(seq 1 "${ROUNDS:-3}"); do
  rm -rf "$out/out" "$out"/*.sqlite
  t0=$(now)
  "$bin" run "$out/exp.yaml" --store "$out/whole.sqlite" --threads "$n" > /dev/null 2> "$out/whole.log"
  t1=$(now)
  pids=()
  for i in $(seq 1 "$n"); do
    OPENBLAS_NUM_THREADS=1 "$bin" run "$out/exp.yaml" --shard "$i/$n" --threads 1 > /dev/null 2> "$out/shard$i.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t2=$(now)
  "$bin" merge "$out/merged.sqlite" "$out"/out/shards/*.sqlite --include-path "$root/examples/tasks" > "$out/merge.log"
  t3=$(now)
  echo "$t0 $t1 $t2 $t3" >>"$out/times"
done

python3 - "$out/times" "$n" "$out/whole.sqlite" "$out/merged.sqlite" <<'PY'
import json, sqlite3, statistics, sys
rounds = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
whole, merged = (sqlite3.connect(p) for p in sys.argv[3:5])
def items(c):
    return {r[:3]: (r[3], json.loads(r[4]) if r[4] else None) for r in c.execute(
        "SELECT fingerprint, task, doc_id, acc, outcomes FROM item_results")}
def aggregates(c):
    return {r[:3]: json.loads(r[3]) for r in c.execute("SELECT fingerprint, task, \"limit\", metrics FROM task_results")}
a, b = items(whole), items(merged)
same_docs = a.keys() == b.keys()
decisions = sum(a[k][0] != b[k][0] for k in a if k in b)
dll = max((abs(x["ll"] - y["ll"]) for k in a if k in b and a[k][1] for x, y in zip(a[k][1], b[k][1])), default=0.0)
ga, gb = aggregates(whole), aggregates(merged)
# relative: word/byte perplexities are ~1e5 on the tiny demo model
dagg = max(abs(ga[k][m]["value"] - gb[k][m]["value"]) / max(1.0, abs(ga[k][m]["value"])) for k in ga for m in ga[k]) if ga.keys() == gb.keys() else float("inf")
med = lambda xs: statistics.median(xs)
whole_s = med([t1 - t0 for t0, t1, t2, t3 in rounds])
shards_s = med([t2 - t1 for t0, t1, t2, t3 in rounds])
merge_s = med([t3 - t2 for t0, t1, t2, t3 in rounds])
ratios = [(t1 - t0) / (t3 - t1) for t0, t1, t2, t3 in rounds]
checkpoints = whole.execute("SELECT COUNT(DISTINCT fingerprint) FROM item_results").fetchone()[0]
print(f"demo experiment, {len(a)} documents over {checkpoints} checkpoints, {n} shards, median of {len(rounds)} rounds")
print(f"whole run (--threads {n}):       {whole_s:.1f} s")
print(f"{n} shards side by side (1 thread each): {shards_s:.1f} s, then merge {merge_s:.2f} s")
print(f"ratio whole / (shards + merge): per round {', '.join(f'{x:.2f}x' for x in ratios)}; median {med(ratios):.2f}x")
print(f"same documents: {same_docs}; decisions differing: {decisions}; max |d ll| {dll:.2e}; max relative |d aggregate| {dagg:.2e}")
if ga.keys() != gb.keys():
    print(f"aggregates only in the whole run: {sorted(ga.keys() - gb.keys())}; only in the merged store: {sorted(gb.keys() - ga.keys())}")
sys.exit(0 if same_docs and decisions == 0 else 1)
PY
