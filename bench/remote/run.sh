#!/usr/bin/env bash
# Remote backend throughput: `forgetlens eval --backend openai` against llama-cpp-python's server
# (the llama-tiny GGUF fixture, loopback) at --concurrency 1, 4, 16 on hellaswag; requests/s for each.
#   bash bench/remote/run.sh [FORGETLENS_BIN] [LIMIT]   (defaults: .build/release/forgetlens, 50 hellaswag docs = 200 requests)
# Needs: pip install 'llama-cpp-python[server]==0.3.36'. SERVER_THREADS (default 2) = llama.cpp threads.
# To bench another server (vLLM on a GPU box), set BASE_URL (and SERVED_MODEL) and no server is started.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/.build/release/forgetlens}"
limit="${2:-50}"
out="$(mktemp -d /tmp/forgetlens-remote-bench.XXXXXX)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT

if [ -z "${BASE_URL:-}" ]; then
  python3 -c 'import llama_cpp.server' || { echo "llama-cpp-python[server] is not installed" >&2; exit 1; }
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  t="${SERVER_THREADS:-2}"
  python3 -m llama_cpp.server --model "$root/Tests/Fixtures/gguf/llama-tiny-f32.gguf" --logits_all true \
    --host 127.0.0.1 --port "$port" --n_ctx 512 --n_threads "$t" --n_threads_batch "$t" > "$out/server.log" 2>&1 &
  server_pid=$!
  BASE_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 240); do curl -sf "$BASE_URL/v1/models" >/dev/null && break; sleep 0.5; done
  curl -sf "$BASE_URL/v1/models" >/dev/null || { echo "server did not start:"; tail -20 "$out/server.log"; exit 1; }
  echo "server: llama-cpp-python $(python3 -c 'import llama_cpp; print(llama_cpp.__version__)'), $t threads, $BASE_URL"
fi

sweep() {  # URL LIMIT LABEL
  for c in 1 4 16; do
    start=$(date +%s.%N)
    "$bin" eval --backend openai --base-url "$1" ${SERVED_MODEL:+--served-model "$SERVED_MODEL"} \
      --model "$root/Tests/Fixtures/models/llama-tiny" --tasks hellaswag --limit "$2" \
      --concurrency "$c" --output "$out/$3-c$c" --log-samples > "$out/$3-c$c.log" 2>&1 || { cat "$out/$3-c$c.log"; exit 1; }
    end=$(date +%s.%N)
    python3 - "$out/$3-c$c/samples_hellaswag.jsonl" "$start" "$end" "$c" "$3" <<'PY'
import json, sys
n = sum(len(json.loads(l)["arguments"]) for l in open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
print(f"{sys.argv[5]}: concurrency {int(sys.argv[4]):>2}: {n} requests in {secs:.1f} s = {n / secs:.1f} requests/s (wall time incl. start-up and probe)")
PY
  done
}
sweep "$BASE_URL" "$limit" direct
# The same server behind a loopback proxy that adds 200 ms per request in parallel (a stand-in for
# network/GPU-queue latency): shows the client's own scaling while the server is not saturated.
if [ -n "$server_pid" ]; then
  python3 "$root/scripts/remote/fault_proxy.py" --upstream "$BASE_URL" --delay 0.2 --lifetime 600 > "$out/proxy.log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 100); do grep -q '^PORT ' "$out/proxy.log" 2>/dev/null && break; sleep 0.1; done
  sweep "http://127.0.0.1:$(sed -n 's/^PORT //p' "$out/proxy.log")" $((limit / 2)) latency200ms
  kill "$proxy_pid" 2>/dev/null || true
fi
