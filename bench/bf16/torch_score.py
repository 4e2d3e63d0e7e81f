#!/usr/bin/env python3
"""PyTorch CPU scoring of the same prompts as `forgetlens logprobs`, in bf16 or fp32.

    python3 bench/bf16/torch_score.py MODEL_DIR PROMPTS_JSONL THREADS bf16|fp32

Loads the model with dtype=torch.bfloat16 or torch.float32, then times (load excluded, as
`forgetlens logprobs --timing`) forward passes over all prompts in batches of 8 padded to the
batch's longest, plus the float32 log-softmax of the logits and the gather of each next
token's log-prob (what scoring needs). Prints "torch DTYPE: N tokens in S s = R tokens/s".
"""
import json
import sys
import time

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

model_dir, prompts, threads, dtype = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
seqs = [tok.encode(json.loads(l)).ids[:2048] for l in open(prompts) if l.strip()]
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype={"bf16": torch.bfloat16, "fp32": torch.float32}[dtype]).eval()
tokens = sum(len(s) for s in seqs)
start = time.perf_counter()
with torch.no_grad():
    for b in range(0, len(seqs), 8):
        chunk = seqs[b:b + 8]
        width = max(len(s) for s in chunk)
        ids = torch.tensor([s + [0] * (width - len(s)) for s in chunk])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in chunk])
        logits = model(input_ids=ids, attention_mask=mask).logits
        lp = torch.log_softmax(logits.float(), dim=-1)[:, :-1].gather(-1, ids[:, 1:, None])
seconds = time.perf_counter() - start
print(f"torch {dtype}: {tokens} tokens in {seconds:.3f} s = {tokens / seconds:.1f} tokens/s")
