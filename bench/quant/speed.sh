#!/usr/bin/env bash
# Scoring throughput of `forgetlens logprobs` on a 110M llama with weights kept as float32, as
# stored bf16, and NF4 (+ double quant, bf16 compute), against transformers + bitsandbytes CPU on
# the same NF4 model and prompts. Median of ROUNDS (default 3) interleaved runs; prints ratios
# (issue 11: bf16 >= 0.9x float32, NF4 >= 0.7x float32).
#   bash bench/quant/speed.sh [FORGETLENS] [OUT_DIR]
# forgetlens's number is its own --timing line (scoring after load); transformers' times its
# forward passes after load. BENCH_THREADS (default 2) for both. Run on an otherwise idle machine.
# SMOKE=1 runs it on the tiny fixture models instead (checks the script, not the speed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-.build/release/forgetlens}"
out="${2:-/tmp/forgetlens-quant-bench}"
threads="${BENCH_THREADS:-2}"
rounds="${ROUNDS:-3}"
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
f32="$out/llama-110m-f32" bf16="$out/llama-110m-bf16" prompts="$out/prompts.jsonl"
if [ "${SMOKE:-0}" = 1 ]; then
  # smoke test only: the tiny fixture models (numbers meaningless)
  root="$here/../.."
  f32="$root/Tests/Fixtures/models/llama-tiny" bf16="$root/Tests/Fixtures/models/llama-tiny-ft-bf16"
  mkdir -p "$out"; prompts="$out/smoke-prompts.jsonl"
  python3 -c 'import json; [print(json.dumps(json.loads(l)["text"])) for l in open("'"$root"'/Tests/Fixtures/reference/logprob_prompts.jsonl")]' >"$prompts"
else
  python3 "$here/make_110m.py" "$out" >&2
fi
rate() { sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p'; }
declare -A runs
for r in $(seq "$rounds"); do
  runs[f32]+=" $("$bin" logprobs --model "$f32" --threads "$threads" --timing <"$prompts" 2>&1 >/dev/null | rate)"
  runs[bf16]+=" $("$bin" logprobs --model "$bf16" --threads "$threads" --timing <"$prompts" 2>&1 >/dev/null | rate)"
  runs[nf4]+=" $("$bin" logprobs --model "$bf16" --quantize nf4 --double-quant --threads "$threads" --timing <"$prompts" 2>&1 >/dev/null | rate)"
  runs[hf]+=" $(python3 "$here/hf_bnb_forward.py" "$bf16" "$prompts" "$threads" 2>/dev/null | sed -n 's/.*= \([0-9.]*\) tokens\/s/\1/p')"
done
python3 - "${runs[f32]}" "${runs[bf16]}" "${runs[nf4]}" "${runs[hf]}" <<'PY'
import statistics, sys
f32, bf16, nf4, hf = (statistics.median(float(x) for x in a.split()) for a in sys.argv[1:5])
print(f"forgetlens float32 weights: {f32:8.1f} tokens/s")
print(f"forgetlens bf16 resident:   {bf16:8.1f} tokens/s = {bf16 / f32:.2f}x float32")
print(f"forgetlens nf4 + dq:        {nf4:8.1f} tokens/s = {nf4 / f32:.2f}x float32")
print(f"transformers+bnb nf4 + dq:  {hf:8.1f} tokens/s; forgetlens nf4 / transformers+bnb = {nf4 / hf:.2f}x")
PY
