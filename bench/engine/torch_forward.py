#!/usr/bin/env python3
"""PyTorch CPU reference timing for the engine benchmark: float32, no_grad, 2 threads.

    python3 bench/engine/torch_forward.py MODEL_DIR TOKENS_JSON BATCH [REPEATS]

Runs the same token batches as `engine-bench forward` (full logits for every token) and prints
tokens/s, best of REPEATS passes over all batches.
"""
import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM

threads = int(os.environ.get("BENCH_THREADS", "2"))
torch.set_num_threads(threads)
model_dir, tokens_path, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
attn = os.environ.get("BENCH_TORCH_ATTN", "sdpa")
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation=attn).eval()
sequences = json.load(open(tokens_path))
batches = [torch.tensor(sequences[i:i + batch]) for i in range(0, len(sequences), batch)]
with torch.no_grad():
    model(input_ids=batches[0][:1, :16])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for b in batches:
            logits = model(input_ids=b, use_cache=False).logits
        best = min(best, time.perf_counter() - start)
n = sum(len(s) for s in sequences)
print(f"torch forward: {n} tokens in {best:.3f} s = {n / best:.1f} tokens/s "
      f"(threads {torch.get_num_threads()}, attn {attn}, checksum {float(logits[0, 0, 0]):.4f})")
