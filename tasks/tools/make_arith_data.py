#!/usr/bin/env python3
"""Writes the two small arithmetic tasks' data (seeded, so re-running gives the same files).

    python3 tasks/tools/make_arith_data.py

- data/arith_text.validation.jsonl: {"text"}; short passages of worked sums, some longer than a
  128-token window so that rolling scoring uses several windows.
- data/arith_gen.validation.jsonl: {"question", "answer"}; 50 two-number sums and differences.
"""
import json
import random
from pathlib import Path

here = Path(__file__).resolve().parent.parent / "data"
rnd = random.Random(20240601)

def sentence():
    a, b = rnd.randint(0, 99), rnd.randint(0, 99)
    op = rnd.choice(["+", "-", "plus", "minus"])
    value = a + b if op in ("+", "plus") else a - b
    form = rnd.choice(["{a} {op} {b} = {v}.", "{a} {op} {b} is {v}.", "If you take {a} {op} {b}, you get {v}."])
    return form.format(a=a, op=op, b=b, v=value)

with open(here / "arith_text.validation.jsonl", "w") as f:
    for i in range(24):
        n = rnd.choice([3, 5, 8, 30]) if i % 6 else 60
        f.write(json.dumps({"text": " ".join(sentence() for _ in range(n))}) + "\n")

with open(here / "arith_gen.validation.jsonl", "w") as f:
    for i in range(50):
        a, b = rnd.randint(1, 60), rnd.randint(1, 60)
        op = "+" if i % 3 else "-"
        f.write(json.dumps({"question": f"{a}{op}{b}", "answer": str(a + b if op == "+" else a - b)}) + "\n")
