#!/usr/bin/env python3
"""Writes the fuzz seed corpora under Tests/Fixtures/fuzz/<target>/ from the committed fixtures
(small: a few files per target). Run once from the repo root after fixtures change; the outputs
are committed. Crash inputs found later go beside them as regression-<name> and stay.

    python3 scripts/fuzz/make_seeds.py
"""
import json
import re
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.getcwd()
OUT = os.path.join(ROOT, "Tests/Fixtures/fuzz")
MODELS = os.path.join(ROOT, "Tests/Fixtures/models")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(payload)]}
        blobs.append(payload)
        offset += len(payload)
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    put("safetensors", "f32", safetensors({"w": ("F32", [2, 3], struct.pack("<6f", *range(6))), "b": ("F32", [3], b"\0" * 12)}))
    put("safetensors", "bf16", safetensors({"x": ("BF16", [4], b"\x80\x3f" * 4)}))
    put("safetensors", "mixed", safetensors({"a": ("F16", [2, 2], b"\x00\x3c" * 4), "i": ("I64", [1], b"\1" + b"\0" * 7), "u": ("U8", [3], b"abc")}))
    put("shard-index", "ok", json.dumps({"metadata": {"total_size": 8}, "weight_map": {"a": "model-00001-of-00001.safetensors"}}))
    put("shard-index", "missing", json.dumps({"weight_map": {"a": "model-00001-of-00001.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    for name in ["llama-tiny", "mistral-tiny", "qwen2-tiny", "neox-tiny", "gpt2-tiny", "llama-tiny-llama3"]:
        with open(os.path.join(MODELS, name, "config.json"), "rb") as f:
            put("config", name, f.read())
    for name in ["lora-llama-r8", "lora-llama-rslora-patterns", "lora-gpt2-fifo", "dora-llama", "lora-llama-bias-save"]:
        with open(os.path.join(MODELS, name, "adapter_config.json"), "rb") as f:
            put("adapter", name, f.read())
    tok = os.path.join(ROOT, "Tests/Fixtures/tokenizers")
    for name in ["gpt2-style.json", "llama2-style.json"]:
        with open(os.path.join(tok, name), "rb") as f:
            put("tokenizer", name, f.read())
    with open(os.path.join(tok, "hard_cases.jsonl")) as f:
        for i, line in enumerate(f):
            if i % 4 == 0 and i < 120:
                put("encode", f"case-{i}", json.loads(line)["text"])
    tasks = os.path.join(ROOT, "tasks")
    for name in sorted(os.listdir(tasks)):
        if name.endswith(".yaml"):
            with open(os.path.join(tasks, name), "rb") as f:
                text = f.read()
            # The fuzz target puts its data file beside the YAML as data.jsonl.
            put("task", name, re.sub(rb"(?m)^data: .*$", b"data: data.jsonl", text))
    for i, t in enumerate(["Question: {{question}}\nAnswer:", "{{choices.label.index(answerKey)}}", "{{ (n|int) - 1 }}",
                           "{{choices.text|join(', ')}} {{question.strip()|upper}}", "{{[question, answerKey]}}",
                           "{{choices['text'][-1]|capitalize}}{{flag}}{{x}}"]):
        put("template", f"t{i}", t)
    for i, j in enumerate(['{"a": [1, -2.5e-3, "x\\u00e9\\ud83d\\ude00", null, true, false, {}]}', '[]', '"\\n\\t"', '{"nested": {"k": [[[1]]]}}',
                           # the one reader's own cases: duplicate keys, canonically equivalent keys,
                           # integers past 2^53 and 2^64, -0.0, exponents, lone surrogates, Python's NaN
                           '{"a": 1, "b": 2, "a": 3}', '{"\\u00e9": 1, "e\\u0301": 2, "\u00e9": 3, "e\u0301": 4}',
                           '[18446744073709551615, 18446744073709551616, 9007199254740993, -9223372036854775808]',
                           '[-0, -0.0, 1E+2, 2.5e-3, 1e400, 1e-400, 9007199254740993.0]', '"\\ud800\\u0041\\udc00"',
                           '[NaN, Infinity, -Infinity]']):
        put("json", f"j{i}", j)
    put("response", "echo", json.dumps({"choices": [{"text": "The cat", "logprobs": {"tokens": ["The", " cat"], "token_logprobs": [None, -1.5],
                                        "top_logprobs": [None, {" cat": -1.5, " dog": -0.5}], "text_offset": [0, 3]}}]}))
    put("response", "prompt_logprobs", json.dumps({"choices": [{"text": "x", "prompt_logprobs": [None, {"17": {"logprob": -0.1, "rank": 1, "decoded_token": " a"}},
                                                   {"9": {"logprob": -3.0, "rank": 4}, "5": {"logprob": -0.2, "rank": 1}}]}]}))
    put("response", "error", '{"error": {"message": "nope"}}')
    put("response", "python-nonfinite", '{"choices": [{"text": "a", "logprobs": {"tokens": ["a"], "token_logprobs": [-Infinity]}}]}')
    with open(os.path.join(ROOT, "examples/demo.yaml"), "rb") as f:
        put("experiment", "demo", f.read().replace(b"examples/", b""))
    put("experiment", "small", "name: x\nbase: base\ntargets: [basic_arithmetic]\nprobes: [hellaswag]\nlimit: {hellaswag: 10, default: 5}\n"
        "variants:\n  - {label: full-s1, method: full, step: 1, model: base}\n  - {label: l, method: lora, rank: 4, adapter: base}\n")
    # A fresh, valid results store: the store fuzz target creates one from an empty input.
    binary = os.path.join(ROOT, ".build/debug/fuzz-store")
    if os.path.exists(binary):
        with tempfile.TemporaryDirectory() as tmp:
            empty = os.path.join(tmp, "empty")
            open(empty, "wb").close()
            env = dict(os.environ, TMPDIR=tmp + "/")
            subprocess.run([binary, empty], check=True, env=env, stdout=subprocess.DEVNULL)
            made = [os.path.join(dp, f) for dp, _, fs in os.walk(tmp) for f in fs if f == "results.sqlite"]
            with open(made[0], "rb") as f:
                put("store", "fresh.sqlite", f.read())
    else:
        sys.exit("build first (swift build): the store seed is made by .build/debug/fuzz-store")
    put("store", "empty", b"")
    # One quantized weight (and its absmax, quant_map, nested tables, quant_state) of the saved
    # NF4 + double-quant fixture, and the FP4 one without double quantization.
    for model, name in [("llama-tiny-nf4-dq", "nf4-dq"), ("llama-tiny-fp4", "fp4")]:
        from safetensors import safe_open
        path = os.path.join(MODELS, model, "model.safetensors")
        weight = "model.layers.0.self_attn.k_proj.weight"
        tensors = {}
        with safe_open(path, "np") as f:
            for key in f.keys():
                if key == weight or key.startswith(weight + "."):
                    arr = f.get_tensor(key)
                    dtype = {"uint8": "U8", "float32": "F32", "float16": "F16"}[str(arr.dtype)]
                    tensors[key] = (dtype, list(arr.shape), arr.tobytes())
        put("quant-state", name, safetensors(tensors))
    print("seeds written to", OUT)


if __name__ == "__main__":
    main()
