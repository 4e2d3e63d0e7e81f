#!/usr/bin/env bash
# bf16 compute (issue 17): scoring throughput of `forgetlens logprobs` on bf16 checkpoints with
# --compute-dtype fp32 (the default engine) and bf16 (oneDNN), against PyTorch CPU in bf16 and
# fp32 on the same prompts (prefill-heavy: 32 prompts of ~180 tokens, full scoring). Models: the
# 110M llama (bench/quant/make_110m.py) and a ~1.1B llama-shaped one (make_1b.py). Median of
# ROUNDS (default 3) interleaved runs; prints tokens/s and ratios (issue 17: bf16 >= 1.6x fp32).
#   bash bench/bf16/speed.sh [FORGETLENS] [OUT_DIR]
# forgetlens's number is its --timing line (scoring after load; bf16 weights are packed at load);
# PyTorch's times its forward passes after load. BENCH_THREADS (default 2) for all. Run on an
# otherwise idle machine. SMOKE=1 runs it on the tiny fixture models (checks the script only).
# BENCH_MODELS (default "110m 1b") picks the models; BENCH_PROMPTS=N scores only the first N prompts
# (the 1B model at all 32 prompts takes ~6 minutes a round on 2 cores; 8 prompts = 1,400 tokens).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-.build/release/forgetlens}"
out="${2:-/tmp/forgetlens-bf16-bench}"
threads="${BENCH_THREADS:-2}"
rounds="${ROUNDS:-3}"
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
mkdir -p "$out"
if [ "${SMOKE:-0}" = 1 ]; then
  root="$here/../.."
  models=("$root/Tests/Fixtures/models/llama-tiny-ft-bf16")
  prompts="$out/smoke-prompts.jsonl"
  python3 -c 'import json; [print(json.dumps(json.loads(l)["text"])) for l in open("'"$root"'/Tests/Fixtures/reference/logprob_prompts.jsonl")]' >"$prompts"
else
  models=()
  for which in ${BENCH_MODELS:-110m 1b}; do
    case "$which" in
      110m) python3 "$here/../quant/make_110m.py" "$out" >&2; models+=("$out/llama-110m-bf16") ;;
      1b) python3 "$here/../quant/make_110m.py" "$out" >&2; python3 "$here/make_1b.py" "$out" >&2; models+=("$out/llama-1b-bf16") ;;
      *) echo "BENCH_MODELS: '$which' is not 110m or 1b" >&2; exit 2 ;;
    esac
  done
  prompts="$out/prompts.jsonl"
  if [ -n "${BENCH_PROMPTS:-}" ]; then head -n "$BENCH_PROMPTS" "$prompts" >"$out/prompts-$BENCH_PROMPTS.jsonl"; prompts="$out/prompts-$BENCH_PROMPTS.jsonl"; fi
fi
rate() { sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p'; }
torch_rate() { sed -n 's/.*= \([0-9.]*\) tokens\/s/\1/p'; }
for m in "${models[@]}"; do
  declare -A runs=([fp32]="" [bf16]="" [tbf16]="" [tfp32]="")
  for r in $(seq "$rounds"); do
    runs[fp32]+=" $("$bin" logprobs --model "$m" --threads "$threads" --timing <"$prompts" 2>&1 >/dev/null | rate)"
    runs[bf16]+=" $("$bin" logprobs --model "$m" --compute-dtype bf16 --threads "$threads" --timing <"$prompts" 2>&1 >/dev/null | rate)"
    runs[tbf16]+=" $(python3 "$here/torch_score.py" "$m" "$prompts" "$threads" bf16 2>/dev/null | torch_rate)"
    runs[tfp32]+=" $(python3 "$here/torch_score.py" "$m" "$prompts" "$threads" fp32 2>/dev/null | torch_rate)"
  done
  python3 - "$(basename "$m")" "${runs[fp32]}" "${runs[bf16]}" "${runs[tbf16]}" "${runs[tfp32]}" <<'PY'
import statistics, sys
name = sys.argv[1]
fp32, bf16, tbf16, tfp32 = (statistics.median(float(x) for x in a.split()) for a in sys.argv[2:6])
print(f"{name}:")
print(f"  forgetlens fp32 compute: {fp32:8.1f} tokens/s")
print(f"  forgetlens bf16 compute: {bf16:8.1f} tokens/s = {bf16 / fp32:.2f}x fp32 (issue 17: >= 1.6x)")
print(f"  PyTorch CPU bf16:        {tbf16:8.1f} tokens/s; forgetlens bf16 / PyTorch bf16 = {bf16 / tbf16:.2f}x")
print(f"  PyTorch CPU fp32:        {tfp32:8.1f} tokens/s; forgetlens fp32 / PyTorch fp32 = {fp32 / tfp32:.2f}x, forgetlens bf16 / PyTorch fp32 = {bf16 / tfp32:.2f}x")
PY
  unset runs
done
