#!/usr/bin/env python3
"""Per-item comparison of lm-eval's samples with ours: python3 compare.py LMEVAL_OUT OURS_OUT tasks"""
import glob
import json
import sys

lm_out, ours_out, tasks = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
all_same = True
for t in tasks:
    files = glob.glob(f"{lm_out}/**/samples_flref_{t}_*.jsonl", recursive=True)
    theirs = {s["doc_id"]: s for s in map(json.loads, open(sorted(files)[-1]))}
    ours = {s["doc_id"]: s for s in map(json.loads, open(f"{ours_out}/samples_{t}.jsonl"))}
    dll, diff = 0.0, 0
    for i, s in ours.items():
        if "exact_match" in s:  # generate_until: the raw generations and the scores must be equal
            diff += s["resps"] != theirs[i]["resps"] or float(s["exact_match"]) != float(theirs[i]["exact_match"])
            continue
        # multiple choice: [[ll, is_greedy], ...]; loglikelihood_rolling: [ll]
        a = [float(x[0] if isinstance(x, list) else x) for x in s["filtered_resps"]]
        b = [float(x[0] if isinstance(x, list) else x) for x in theirs[i]["filtered_resps"]]
        dll = max(dll, max(abs(x - y) for x, y in zip(a, b)))
        for m in ("acc", "acc_norm"):
            if m in s and float(s[m]) != float(theirs[i][m]):
                diff += 1
    all_same &= diff == 0 and len(ours) == len(theirs)
    print(f"  {t}: {len(ours)} docs, max |d loglikelihood| {dll:.2e}, decisions (or generations) differing: {diff}")
print("per-item decisions identical" if all_same else "DECISIONS DIFFER")
sys.exit(0 if all_same else 1)
