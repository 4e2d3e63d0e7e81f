#!/usr/bin/env python3
"""Per-item comparison of lm-eval's samples with ours: python3 compare.py LMEVAL_OUT OURS_OUT tasks [fp32|bf16]

fp32: every decision must be equal (exit 1 otherwise). bf16: the two engines round in different
places, so it reports max and mean |d loglikelihood| and the share of equal decisions (exit 0)."""
import glob
import json
import sys

lm_out, ours_out, tasks = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
bf16 = len(sys.argv) > 4 and sys.argv[4] == "bf16"
all_same = True
for t in tasks:
    files = glob.glob(f"{lm_out}/**/samples_flref_{t}_*.jsonl", recursive=True)
    theirs = {s["doc_id"]: s for s in map(json.loads, open(sorted(files)[-1]))}
    ours = {s["doc_id"]: s for s in map(json.loads, open(f"{ours_out}/samples_{t}.jsonl"))}
    dll, diff, total, dsum, dcount = 0.0, 0, 0, 0.0, 0
    for i, s in ours.items():
        if "exact_match" in s:  # generate_until: the raw generations and the scores must be equal
            diff += s["resps"] != theirs[i]["resps"] or float(s["exact_match"]) != float(theirs[i]["exact_match"])
            continue
        # multiple choice: [[ll, is_greedy], ...]; loglikelihood_rolling: [ll]
        a = [float(x[0] if isinstance(x, list) else x) for x in s["filtered_resps"]]
        b = [float(x[0] if isinstance(x, list) else x) for x in theirs[i]["filtered_resps"]]
        dll = max(dll, max(abs(x - y) for x, y in zip(a, b)))
        dsum += sum(abs(x - y) for x, y in zip(a, b))
        dcount += len(a)
        for m in ("acc", "acc_norm"):
            if m in s:
                total += 1
                if float(s[m]) != float(theirs[i][m]):
                    diff += 1
    all_same &= diff == 0 and len(ours) == len(theirs)
    share = f", equal decisions {(total - diff) / total:.3f} of {total}" if total else ""
    print(f"  {t}: {len(ours)} docs, max |d loglikelihood| {dll:.2e}, mean {dsum / max(dcount, 1):.2e}, "
          f"decisions (or generations) differing: {diff}{share}")
if bf16:
    sys.exit(0)
print("per-item decisions identical" if all_same else "DECISIONS DIFFER")
sys.exit(0 if all_same else 1)
