#!/usr/bin/env bash
# Serve a GGUF model with llama-cpp-python's OpenAI-compatible server on loopback, for
# `forgetlens eval --backend openai` and the remote-backend tests/bench.
#   scripts/remote/serve_llamacpp.sh [GGUF] [PORT]      (defaults: the llama-tiny fixture, 8765)
# Needs: pip install 'llama-cpp-python[server]==0.3.36'   (builds llama.cpp from source: ~25 min on 2 busy cores)
# --logits_all true is required for echoed prompt log-probs (loglikelihood requests).
# Extra server options can follow in LLAMA_SERVER_ARGS, e.g. LLAMA_SERVER_ARGS="--n_threads 1".
set -euo pipefail
cd "$(dirname "$0")/../.."
GGUF="${1:-Tests/Fixtures/gguf/llama-tiny-f32.gguf}"
PORT="${2:-8765}"
python3 -c 'import llama_cpp.server' 2>/dev/null || {
  echo "llama_cpp.server is not importable: pip install 'llama-cpp-python[server]==0.3.36'" >&2; exit 1; }
# n_ctx 512: the fixture's 128 positions + room (prompts are at most max_length + 1 tokens, plus 1 generated)
exec python3 -m llama_cpp.server --model "$GGUF" --logits_all true --host 127.0.0.1 --port "$PORT" \
  --n_ctx 512 ${LLAMA_SERVER_ARGS:-}
