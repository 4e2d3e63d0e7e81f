#!/usr/bin/env bash
# Peak memory of `forgetlens spectra` on a base + fine-tune pair of ~3 GB together (bf16,
# 7B-shaped 4096x4096 and 4096x11008 weights), measured with GNU time's maximum RSS.
#   bash bench/spectra/memory.sh [path/to/forgetlens]
set -euo pipefail
BIN=${1:-.build/release/forgetlens}
DIR=${BENCH_DIR:-/tmp/forgetlens-bench-memory}
[ -f "$DIR/ft/model.safetensors" ] || python3 "$(dirname "$0")/make_pairs.py" "$DIR" --memory
size=$(( $(stat -c %s "$DIR/base/model.safetensors") + $(stat -c %s "$DIR/ft/model.safetensors") ))
/usr/bin/time -v "$BIN" spectra --base "$DIR/base" --finetuned "$DIR/ft" --json "$DIR/spectra.json" --quiet 2> "$DIR/time.txt"
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$DIR/time.txt")
python3 -c "
size=$size; rss=$rss_kb*1024
print(f'checkpoints {size/2**30:.2f} GiB together; peak RSS {rss/2**20:.0f} MiB = {100*rss/size:.1f}% of their size')"
