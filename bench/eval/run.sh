#!/usr/bin/env bash
# End-to-end `forgetlens eval` vs `lm_eval --model hf` (CPU, float32) on the same ~110M Llama, the
# same tasks and --limit, in the same run; prints both wall times, the ratio and the per-item check.
#   bash bench/eval/run.sh [OUT_DIR]         (default /tmp/forgetlens-bench-eval; never committed)
# BENCH_LIMIT (default 100), BENCH_TASKS (default hellaswag,arc_easy,winogrande),
# BENCH_THREADS (default 2: torch threads and OpenBLAS threads), BENCH_LMEVAL_BATCH (default 8),
# BENCH_BIN (a release forgetlens binary; default: swift build -c release here).
# BENCH_DTYPE=bf16 (issue 17): lm_eval with dtype=bfloat16 against forgetlens --compute-dtype bf16;
# both round differently, so the comparison reports the share of equal decisions instead of
# requiring all equal.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-/tmp/forgetlens-bench-eval}"
limit="${BENCH_LIMIT:-100}"
tasks="${BENCH_TASKS:-hellaswag,arc_easy,winogrande}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
export OPENBLAS_NUM_THREADS="$BENCH_THREADS" OMP_NUM_THREADS="$BENCH_THREADS"
dtype="${BENCH_DTYPE:-fp32}"
case "$dtype" in
  fp32) hf_dtype=float32; ours_dtype=() ;;
  bf16) hf_dtype=bfloat16; ours_dtype=(--compute-dtype bf16) ;;
  *) echo "BENCH_DTYPE must be fp32 or bf16" >&2; exit 2 ;;
esac
mkdir -p "$out"

model="$(python3 "$here/make_model.py" "$out")"
bin="${BENCH_BIN:-}"   # an already built release binary, or build one
if [ -z "$bin" ]; then
  (cd "$root" && swift build -c release --product forgetlens >&2)
  bin="$root/.build/release/forgetlens"
fi
python3 "$here/lmeval_tasks.py" "$out/lmeval-tasks" "$tasks"
flref="$(echo "$tasks" | sed 's/\([^,]*\)/flref_\1/g')"
rm -rf "$out/lmeval-out" "$out/ours"

t0=$(date +%s.%N)
lm_eval --model hf --model_args "pretrained=$model,dtype=$hf_dtype" --device cpu --batch_size "${BENCH_LMEVAL_BATCH:-8}" \
  --tasks "$flref" --include_path "$out/lmeval-tasks" --limit "$limit" --log_samples --output_path "$out/lmeval-out" \
  > "$out/lmeval.log" 2>&1
t1=$(date +%s.%N)
"$bin" eval --model "$model" --tasks "$tasks" --limit "$limit" --output "$out/ours" --log-samples \
  --threads "$BENCH_THREADS" --tasks-dir "$root/tasks" "${ours_dtype[@]}" > "$out/ours.log"
t2=$(date +%s.%N)

python3 - "$t0" "$t1" "$t2" "$limit" "$tasks" "$dtype" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
lm, ours = t1 - t0, t2 - t1
print(f"tasks {sys.argv[5]}, --limit {sys.argv[4]}, model llama-110m ({sys.argv[6]} compute, CPU)")
print(f"lm_eval --model hf: {lm:.1f} s")
print(f"forgetlens eval:    {ours:.1f} s")
print(f"ratio lm_eval / forgetlens: {lm / ours:.2f}x")
PY
python3 "$here/compare.py" "$out/lmeval-out" "$out/ours" "$tasks" "$dtype"
