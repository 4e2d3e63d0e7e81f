#!/usr/bin/env python3
"""The ~110M-parameter random Llama the eval benchmark runs on, with a real tokenizer.

    python3 bench/eval/make_model.py OUT_DIR      (default /tmp/forgetlens-bench-eval)

OUT_DIR/llama-110m: config.json + model.safetensors (float32, seeded random weights: hidden 768,
10 layers, 12 heads, intermediate 2048, tied embeddings, 2048 positions) + GPT-NeoX-20B's
tokenizer.json from shared/ (vocab 50277 -> embedding rows 50304) + tokenizer_config.json.
bench/engine's model has no tokenizer, so evaluation needs this sibling. Never commit it.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/forgetlens-bench-eval")
model_dir = out / "llama-110m"
tokenizer = Path(__file__).resolve().parents[2].parent / "shared" / "tokenizers" / "gpt-neox-20b.tokenizer.json"
if not tokenizer.exists():
    tokenizer = Path("/work/shared/tokenizers/gpt-neox-20b.tokenizer.json")

if not (model_dir / "model.safetensors").exists():
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=768, num_hidden_layers=10, num_attention_heads=12, num_key_value_heads=12,
                      intermediate_size=2048, vocab_size=50304, max_position_embeddings=2048,
                      rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(str(model_dir), safe_serialization=True)
    shutil.copy(tokenizer, model_dir / "tokenizer.json")
    (model_dir / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "model_max_length": 2048,
        "tokenizer_class": "PreTrainedTokenizerFast"}, indent=2))
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {model_dir} ({n / 1e6:.1f}M parameters)", file=sys.stderr)
print(model_dir)
