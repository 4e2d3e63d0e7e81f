#!/usr/bin/env bash
# Tokenizer speed: forgetlens vs HF tokenizers (Rust, one thread) on every distinct HellaSwag string.
#
#   FORGETLENS=.build/release/forgetlens bench/tokenizer/run.sh [TOKENIZER.json ...]
#
# Default tokenizers: the GPT-NeoX-20B one and the Llama-3, Qwen2 and Llama-2 style fixtures in
# Tests/Fixtures/tokenizers. Needs python3 with `tokenizers`. Both sides encode without special
# tokens and time only the encode loop (after a warm-up), each in its own process. ROUNDS (default
# 3) interleaved rounds (HF, forgetlens, HF, forgetlens, ...); prints the median tokens/s of each
# side and the median of the per-round ratios. Run on an otherwise idle machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
fixtures="$repo/Tests/Fixtures/tokenizers"
if [ $# -gt 0 ]; then toks=("$@"); else
  toks=("$fixtures/gpt-neox-20b.json" "$fixtures/llama3-style.json" "$fixtures/qwen2-style.json" "$fixtures/llama2-style.json")
fi
: "${FORGETLENS:?set FORGETLENS to the forgetlens binary (e.g. .build/release/forgetlens)}"
rounds="${ROUNDS:-3}"
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
strings="$work/hellaswag-strings.txt"
python3 "$here/bench.py" strings - "$strings" >/dev/null

for tok in "${toks[@]}"; do
  : >"$work/rounds.jsonl"
  for r in $(seq "$rounds"); do
    python3 "$here/bench.py" hf "$tok" "$strings" >>"$work/rounds.jsonl"
    ours="$("$FORGETLENS" tokenize --tokenizer "$tok" --no-special-tokens --bench "$strings")"
    echo "{\"mode\":\"forgetlens\",\"round\":$r,$(echo "$ours" | sed 's/^{//')" >>"$work/rounds.jsonl"
  done
  python3 - "$(basename "$tok" .json)" "$work/rounds.jsonl" <<'PY'
import json, statistics, sys
name, rows = sys.argv[1], [json.loads(l) for l in open(sys.argv[2])]
ours = [r["tokens"] / r["seconds"] for r in rows if r["mode"] == "forgetlens"]
counts = {r["tokens"] for r in rows}
print(f"{name}: forgetlens median {statistics.median(ours):,.0f} tok/s" + ("" if len(counts) == 1 else f"  (token counts differ: {sorted(counts)})"))
for mode in ("hf-encode-one-by-one", "hf-encode-batch"):
    hf = [r["tokens_per_second"] for r in rows if r["mode"] == mode]
    ratios = [o / h for o, h in zip(ours, hf)]
    print(f"  {mode}: median {statistics.median(hf):,.0f} tok/s; per-round ratios "
          + ", ".join(f"{x:.2f}x" for x in ratios) + f"; median ratio {statistics.median(ratios):.2f}x")
PY
done
