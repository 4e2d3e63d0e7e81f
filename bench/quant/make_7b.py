#!/usr/bin/env python3
"""Write a Llama-2-7B-shaped bfloat16 checkpoint with random weights (13.5 GB) for the memory bench.

    python3 bench/quant/make_7b.py OUT_DIR [--layers N]

Streams one tensor at a time into per-layer safetensors shards (peak memory: one layer, ~0.4 GB).
hidden 4096, 32 layers, 32 heads, intermediate 11008, vocab 32000, untied: 6.74e9 parameters,
as Llama-2-7B. tokenizer.json is the small fixture tokenizer (ids < 1024): the bench measures
memory, not text. --layers makes a shallower model of the same width (smoke tests). Never commit.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "/tmp/forgetlens-7b")
layers = int(sys.argv[sys.argv.index("--layers") + 1]) if "--layers" in sys.argv else 32
H, I, V = 4096, 11008, 32000
root = Path(__file__).resolve().parents[2]
out.mkdir(parents=True, exist_ok=True)
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": I,
          "num_hidden_layers": layers, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": V,
          "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
          "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"}
(out / "config.json").write_text(json.dumps(config, indent=1))
for f in ["tokenizer.json", "tokenizer_config.json"]:
    shutil.copy(root / "Tests/Fixtures/models/llama-tiny" / f, out / f)
g = torch.Generator().manual_seed(0)


def rand(*shape):
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * 0.02).to(torch.bfloat16)


weight_map = {}
shards = [("model-embed.safetensors", {"model.embed_tokens.weight": lambda: rand(V, H)}),
          ("model-head.safetensors", {"lm_head.weight": lambda: rand(V, H), "model.norm.weight": lambda: torch.ones(H, dtype=torch.bfloat16)})]
for l in range(layers):
    p = f"model.layers.{l}."
    shards.append((f"model-layer{l:02d}.safetensors", {
        p + "self_attn.q_proj.weight": lambda: rand(H, H), p + "self_attn.k_proj.weight": lambda: rand(H, H),
        p + "self_attn.v_proj.weight": lambda: rand(H, H), p + "self_attn.o_proj.weight": lambda: rand(H, H),
        p + "mlp.gate_proj.weight": lambda: rand(I, H), p + "mlp.up_proj.weight": lambda: rand(I, H),
        p + "mlp.down_proj.weight": lambda: rand(H, I),
        p + "input_layernorm.weight": lambda: torch.ones(H, dtype=torch.bfloat16),
        p + "post_attention_layernorm.weight": lambda: torch.ones(H, dtype=torch.bfloat16)}))
total = 0
for name, tensors in shards:
    path = out / name
    made = {k: f() for k, f in tensors.items()}
    for k, t in made.items():
        weight_map[k] = name
        total += t.numel() * 2
    if not path.exists():
        save_file(made, str(path))
    del made
(out / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=1))
print(f"{out}: {total / 1e9:.2f} GB of bf16 weights ({total // 2 / 1e9:.2f}e9 parameters)")
