#!/usr/bin/env bash
# Tokenizer speed: forgetlens vs HF tokenizers (Rust, one thread) on every distinct HellaSwag string.
#
#   FORGETLENS=.build/release/forgetlens bench/tokenizer/run.sh [TOKENIZER.json]
#
# Default tokenizer: Tests/Fixtures/tokenizers/gpt-neox-20b.json. Needs python3 with `tokenizers`.
# Both sides encode without special tokens and time only the encode loop (after a warm-up).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tok="${1:-$repo/Tests/Fixtures/tokenizers/gpt-neox-20b.json}"
: "${FORGETLENS:?set FORGETLENS to the forgetlens binary (e.g. .build/release/forgetlens)}"
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
strings="$work/hellaswag-strings.txt"
python3 "$here/bench.py" strings - "$strings" >/dev/null

hf="$(python3 "$here/bench.py" hf "$tok" "$strings")"
ours="$("$FORGETLENS" tokenize --tokenizer "$tok" --no-special-tokens --bench "$strings")"
echo "$hf"
echo "{\"mode\":\"forgetlens\",$(echo "$ours" | sed 's/^{//')"
python3 - "$ours" "$hf" <<'PY'
import json, sys
ours = json.loads(sys.argv[1])
hf = [json.loads(l) for l in sys.argv[2].splitlines()]
ours_tps = ours["tokens"] / ours["seconds"]
for h in hf:
    print(f'{h["mode"]}: {h["tokens_per_second"]:,.0f} tok/s; forgetlens {ours_tps:,.0f} tok/s; ratio {ours_tps / h["tokens_per_second"]:.2f}'
          + ("" if h["tokens"] == ours["tokens"] else f'  (token counts differ: {h["tokens"]} vs {ours["tokens"]})'))
PY
