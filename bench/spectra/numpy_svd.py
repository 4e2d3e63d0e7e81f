"""numpy's side of the spectra benchmark: the same deltas, np.linalg.svd(compute_uv=False).

Prints JSON: per tensor, load+subtract seconds and SVD seconds (float32, as the issue asks),
plus the dense SVD of the formed LoRA delta.
"""
import json, sys, time
import numpy as np
from safetensors.numpy import load_file

def main():
    d = sys.argv[1]
    base = load_file(f"{d}/base/model.safetensors"); ft = load_file(f"{d}/ft/model.safetensors")
    out = {"numpy": np.__version__, "tensors": {}}
    total = 0.0
    for k in sorted(base):
        t0 = time.perf_counter(); delta = ft[k] - base[k]; t1 = time.perf_counter()
        s = np.linalg.svd(delta, compute_uv=False); t2 = time.perf_counter()
        out["tensors"][k] = {"shape": list(delta.shape), "subtract_s": t1 - t0, "svd_s": t2 - t1, "sigma1": float(s[0])}
        total += t2 - t1
    out["svd_total_s"] = total
    a = load_file(f"{d}/lora16/adapter_model.safetensors")
    A = a["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]; B = a["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]
    t0 = time.perf_counter(); delta = (32 / 16) * (B @ A); s = np.linalg.svd(delta, compute_uv=False); t1 = time.perf_counter()
    out["lora_dense_svd_s"] = t1 - t0
    out["lora_top16"] = [float(x) for x in s[:16]]
    print(json.dumps(out))

if __name__ == "__main__":
    main()
