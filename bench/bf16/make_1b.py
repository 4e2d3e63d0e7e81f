#!/usr/bin/env python3
"""A ~1.1B llama-shaped bf16 checkpoint for the bf16 speed bench (TinyLlama-1.1B's shape: hidden
2048, 22 layers, 32 heads / 4 kv heads, intermediate 5632, vocab 32000), random weights, with the
fixture tokenizer. About 2.2 GB on disk; never commit it.

    python3 bench/bf16/make_1b.py OUT_DIR [--layers N]
"""
import argparse
import shutil
from pathlib import Path

import torch

torch.set_num_threads(1)
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layers", type=int, default=22)
a = p.parse_args()
d = Path(a.out) / "llama-1b-bf16"
root = Path(__file__).resolve().parents[2]
if not (d / "config.json").exists():
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=2048, num_hidden_layers=a.layers, num_attention_heads=32, num_key_value_heads=4,
                      intermediate_size=5632, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-5,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
    model.save_pretrained(str(d), safe_serialization=True)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(root / "Tests/Fixtures/models/llama-tiny" / f, d / f)
print(d)
