#!/usr/bin/env python3
"""Make equal-size random models of llama and of each family issue 15 added, for bench/families/run.sh.

    python3 bench/families/make_models.py OUT_DIR [--small]

Every model has the llama-100m shape of bench/engine (hidden 768, 12 layers, 12 heads, MLP 2048,
vocab 32000; --small: a 2-layer 128-wide smoke-test size), random float32 weights, with each
family's own features switched on as released checkpoints have them (Gemma soft-capping and
sliding windows, Qwen3/OLMo 2/Gemma 3 q/k norms, Phi-3 partial rotary and longrope).
OUT_DIR/<family>/ and OUT_DIR/tokens.json (seeded); never commit these.
"""
import json
import sys
from pathlib import Path

import torch
from transformers import (Gemma2Config, Gemma3TextConfig, LlamaConfig, Olmo2Config, Phi3Config, Qwen3Config,
                          AutoModelForCausalLM)

torch.set_num_threads(1)
out = Path(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "/tmp/forgetlens-bench-families")
small = "--small" in sys.argv
H, L, HEADS, INTER, VOCAB = (128, 2, 4, 256, 1000) if small else (768, 12, 12, 2048, 32000)
D = H // HEADS
SEQUENCES, LENGTH = (4, 32) if small else (8, 128)
common = dict(hidden_size=H, num_hidden_layers=L, num_attention_heads=HEADS, num_key_value_heads=HEADS,
              intermediate_size=INTER, vocab_size=VOCAB, max_position_embeddings=2048, rms_norm_eps=1e-6,
              tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=None)
rotary_half = int(D * 0.75) // 2
configs = {
    "llama": LlamaConfig(**common),
    "qwen3": Qwen3Config(**common, head_dim=D),
    "olmo2": Olmo2Config(**common),
    "gemma2": Gemma2Config(**common, head_dim=D, query_pre_attn_scalar=D, sliding_window=64),
    "gemma3_text": Gemma3TextConfig(**common, head_dim=D, query_pre_attn_scalar=D, sliding_window=64,
                                    rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                                                     "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}),
    "phi3": Phi3Config(**{**common, "max_position_embeddings": 8192}, original_max_position_embeddings=4096,
                       rope_parameters={"rope_type": "longrope", "rope_theta": 1e4, "partial_rotary_factor": 0.75,
                                        "short_factor": [1.0] * rotary_half, "long_factor": [4.0] * rotary_half,
                                        "original_max_position_embeddings": 4096}),
}
for name, cfg in configs.items():
    d = out / name
    if (d / "model.safetensors").exists():
        continue
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).eval()
    model.save_pretrained(str(d), safe_serialization=True)
    print(f"wrote {d} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters)")
g = torch.Generator().manual_seed(1)
(out / "tokens.json").write_text(json.dumps(torch.randint(3, VOCAB, (SEQUENCES, LENGTH), generator=g).tolist()))
