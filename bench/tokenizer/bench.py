#!/usr/bin/env python3
"""HF tokenizers single-thread baseline for forgetlens' tokenizer benchmark.

  bench.py strings TOKENIZER_UNUSED OUT.txt   write every distinct HellaSwag string, one JSON string per line
  bench.py hf TOKENIZER STRINGS.txt           time HF encode one by one and encode_batch (1 thread)

Prints one JSON object per mode: {"mode", "tokens", "seconds", "tokens_per_second"}.
Only the encode loop is timed. RAYON_NUM_THREADS=1 / TOKENIZERS_PARALLELISM=false must be set by
the caller (run.sh does) before the library is imported.
"""
import json
import sys
import time

HELLASWAG = "/work/shared/datasets/hellaswag.validation.jsonl"


def strings_mode(out_path):
    seen, out = set(), []

    def walk(v):
        if isinstance(v, str):
            if v not in seen:
                seen.add(v)
                out.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    with open(HELLASWAG, encoding="utf-8") as f:
        for line in f:
            walk(json.loads(line))
    with open(out_path, "w", encoding="utf-8") as f:
        for s in out:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    print(json.dumps({"strings": len(out), "file": out_path}))


def hf_mode(tokenizer_path, strings_path):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_path)
    with open(strings_path, encoding="utf-8") as f:
        strings = [json.loads(l) for l in f if l.strip()]
    tok.encode_batch(strings[:2000], add_special_tokens=False)  # warm-up (cache, allocator)
    t0 = time.perf_counter()
    n = 0
    for s in strings:
        n += len(tok.encode(s, add_special_tokens=False).ids)
    t1 = time.perf_counter()
    print(json.dumps({"mode": "hf-encode-one-by-one", "tokens": n, "seconds": t1 - t0, "tokens_per_second": n / (t1 - t0)}))
    t0 = time.perf_counter()
    encs = tok.encode_batch(strings, add_special_tokens=False)
    t1 = time.perf_counter()
    n = sum(len(e.ids) for e in encs)
    print(json.dumps({"mode": "hf-encode-batch", "tokens": n, "seconds": t1 - t0, "tokens_per_second": n / (t1 - t0)}))


if __name__ == "__main__":
    if sys.argv[1] == "strings":
        strings_mode(sys.argv[3])
    else:
        hf_mode(sys.argv[2], sys.argv[3])
