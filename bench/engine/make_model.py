#!/usr/bin/env python3
"""Make the ~100M-parameter random Llama and the token batches the engine benchmark runs on.

    python3 bench/engine/make_model.py OUT_DIR

OUT_DIR (default /tmp/forgetlens-bench) gets llama-100m/ (config.json + model.safetensors, float32,
random weights) and tokens.json (seeded token sequences). Never commit these.
"""
import json
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/forgetlens-bench")
model_dir = out / "llama-100m"
SEQUENCES, LENGTH = 16, 128

if not (model_dir / "model.safetensors").exists():
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=12,
                      intermediate_size=2048, vocab_size=32000, max_position_embeddings=2048,
                      rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(str(model_dir), safe_serialization=True)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {model_dir} ({n / 1e6:.1f}M parameters)")
g = torch.Generator().manual_seed(1)
tokens = torch.randint(3, 32000, (SEQUENCES, LENGTH), generator=g).tolist()
(out / "tokens.json").write_text(json.dumps(tokens))
