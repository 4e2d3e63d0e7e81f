"""Writes base/fine-tune checkpoint pairs and a LoRA adapter for the spectra benchmark.

Usage: python3 make_pairs.py OUTDIR [--memory]
  default: a llama-style pair with one 2048x2048 and one 5632x2048 weight (fp32), and a
           4096x4096 base with an r=16 PEFT-layout adapter.
  --memory: a pair of >= 1 GiB each (bf16, 7B-like 4096x11008 / 4096x4096 weights) for the
           peak-RSS measurement.
"""
import json, os, sys
import numpy as np
from safetensors.numpy import save_file

def config(hidden, inter, layers, vocab=256):
    return {"model_type": "llama", "vocab_size": vocab, "hidden_size": hidden, "intermediate_size": inter,
            "num_hidden_layers": layers, "num_attention_heads": 16, "num_key_value_heads": 16,
            "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "tie_word_embeddings": False}

def write_model(path, tensors, cfg):
    os.makedirs(path, exist_ok=True)
    save_file(tensors, os.path.join(path, "model.safetensors"))
    json.dump(cfg, open(os.path.join(path, "config.json"), "w"))

def to_bf16(x):
    # numpy has no bfloat16: round-to-nearest-even on the top 16 bits, stored as uint16 views.
    u = x.astype(np.float32).view(np.uint32)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return r

def main():
    out = sys.argv[1]
    rng = np.random.default_rng(0)
    if "--memory" in sys.argv:
        # bf16 pair: 8 layers x (q,k,v,o 4096x4096 + gate,up,down 4096x11008) ~ 1.5 GB each.
        for name, scale in (("base", 0.0), ("ft", 1.0)):
            tensors = {}
            for layer in range(4):
                for mod, shape in (("self_attn.q_proj", (4096, 4096)), ("self_attn.k_proj", (4096, 4096)),
                                   ("self_attn.v_proj", (4096, 4096)), ("self_attn.o_proj", (4096, 4096)),
                                   ("mlp.gate_proj", (11008, 4096)), ("mlp.up_proj", (11008, 4096)),
                                   ("mlp.down_proj", (4096, 11008))):
                    r = np.random.default_rng(hash((layer, mod)) % 2**32)
                    w = r.standard_normal(shape, dtype=np.float32) * 0.02
                    if scale:
                        w += rng.standard_normal(shape, dtype=np.float32) * 1e-3
                    tensors[f"model.layers.{layer}.{mod}.weight"] = w
            path = os.path.join(out, name)
            os.makedirs(path, exist_ok=True)
            # Write as BF16 through the raw format (header + bytes) since numpy lacks bfloat16.
            header, blobs, offset = {}, [], 0
            for k in sorted(tensors):
                b = to_bf16(tensors[k]).tobytes()
                header[k] = {"dtype": "BF16", "shape": list(tensors[k].shape), "data_offsets": [offset, offset + len(b)]}
                offset += len(b); blobs.append(b)
            h = json.dumps(header).encode()
            h += b" " * ((8 - len(h) % 8) % 8)
            with open(os.path.join(path, "model.safetensors"), "wb") as f:
                f.write(len(h).to_bytes(8, "little")); f.write(h)
                for b in blobs: f.write(b)
            json.dump(config(4096, 11008, 4), open(os.path.join(path, "config.json"), "w"))
        return
    base = {"model.layers.0.self_attn.q_proj.weight": rng.standard_normal((2048, 2048), dtype=np.float32) * 0.02,
            "model.layers.0.mlp.up_proj.weight": rng.standard_normal((5632, 2048), dtype=np.float32) * 0.02}
    # A fine-tune-like change: a few strong directions plus small dense noise.
    ft = {}
    for k, w in base.items():
        m, n = w.shape
        low = rng.standard_normal((m, 8), dtype=np.float32) @ rng.standard_normal((8, n), dtype=np.float32) * 1e-3
        ft[k] = w + low + rng.standard_normal((m, n), dtype=np.float32) * 1e-4
    write_model(os.path.join(out, "base"), base, config(2048, 5632, 1))
    write_model(os.path.join(out, "ft"), ft, config(2048, 5632, 1))
    # LoRA r=16 on a 4096x4096 weight.
    big = {"model.layers.0.self_attn.q_proj.weight": rng.standard_normal((4096, 4096), dtype=np.float32) * 0.02}
    write_model(os.path.join(out, "base4096"), big, config(4096, 11008, 1))
    ad = os.path.join(out, "lora16"); os.makedirs(ad, exist_ok=True)
    save_file({"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": rng.standard_normal((16, 4096), dtype=np.float32) * 0.01,
               "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": rng.standard_normal((4096, 16), dtype=np.float32) * 0.01},
              os.path.join(ad, "adapter_model.safetensors"))
    json.dump({"peft_type": "LORA", "r": 16, "lora_alpha": 32, "target_modules": ["q_proj"]}, open(os.path.join(ad, "adapter_config.json"), "w"))

if __name__ == "__main__":
    main()
