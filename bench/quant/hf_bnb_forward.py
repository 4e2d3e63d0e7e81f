#!/usr/bin/env python3
"""transformers + bitsandbytes on CPU: tokens/s of the same forward passes as `forgetlens logprobs`
on the same NF4 model (nf4, double quant, bf16 compute) and the same prompts.

    python3 bench/quant/hf_bnb_forward.py MODEL_DIR PROMPTS_JSONL THREADS

Times the forward passes only (model load excluded), one batch of all prompts padded to the
longest, as `forgetlens logprobs --timing` times its scoring after load. Prints
"transformers+bnb nf4: N tokens in S s = R tokens/s".
"""
import json
import sys
import time

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

model_dir, prompts, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
texts = [json.loads(l) for l in open(prompts) if l.strip()]
seqs = [tok.encode(t).ids[:2048] for t in texts]
cfg = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                         bnb_4bit_compute_dtype=torch.bfloat16)
model = AutoModelForCausalLM.from_pretrained(model_dir, quantization_config=cfg, device_map="cpu").eval()
width = max(len(s) for s in seqs)
ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
tokens = sum(len(s) for s in seqs)
start = time.perf_counter()
with torch.no_grad():
    for b in range(0, len(seqs), 8):
        model(input_ids=ids[b:b + 8], attention_mask=mask[b:b + 8])
seconds = time.perf_counter() - start
print(f"transformers+bnb nf4: {tokens} tokens in {seconds:.3f} s = {tokens / seconds:.1f} tokens/s")
