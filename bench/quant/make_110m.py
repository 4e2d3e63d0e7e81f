#!/usr/bin/env python3
"""The 110M llama of the speed bench in float32 and bfloat16, with the fixture tokenizer.

    python3 bench/quant/make_110m.py OUT_DIR

OUT_DIR gets llama-110m-f32/ and llama-110m-bf16/ (random weights, hidden 768, 12 layers,
intermediate 2048, vocab 32000) and prompts.jsonl (corpus-like texts, one JSON string a line).
Never commit these.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/forgetlens-quant-bench")
root = Path(__file__).resolve().parents[2]
torch.manual_seed(0)
cfg = LlamaConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=12,
                  intermediate_size=2048, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-6,
                  tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
model = None
for name, dtype in [("llama-110m-f32", torch.float32), ("llama-110m-bf16", torch.bfloat16)]:
    d = out / name
    if (d / "model.safetensors").exists():
        continue
    if model is None:
        model = LlamaForCausalLM(cfg).eval()
    model.to(dtype).save_pretrained(str(d), safe_serialization=True)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(root / "Tests/Fixtures/models/llama-tiny" / f, d / f)
words = "the of and to in a is that for it as was with be by on not he this are or his from at which".split()
g = torch.Generator().manual_seed(1)
lines = []
for i in range(32):
    idx = torch.randint(0, len(words), (180,), generator=g).tolist()
    lines.append(json.dumps(" ".join(words[j] for j in idx)))
(out / "prompts.jsonl").write_text("\n".join(lines) + "\n")
print(f"wrote {out}")
