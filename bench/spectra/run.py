"""Spectra benchmark driver: forgetlens vs numpy on the same deltas, interleaved, same run.

forgetlens is timed as a whole process (start-up, mmap, conversion, SVD); numpy only around
np.linalg.svd (its loading excluded), so the reported ratio is conservative for forgetlens.
"""
import json, os, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/forgetlens"
d = os.environ.get("BENCH_DIR", "/tmp/forgetlens-bench-spectra")
runs = int(os.environ.get("RUNS", "3"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
if not os.path.exists(f"{d}/lora16/adapter_config.json"):
    subprocess.run([sys.executable, f"{here}/make_pairs.py", d], check=True)

def timed(cmd):
    t0 = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL); return time.perf_counter() - t0

ours_full, ours_lora, np_full, np_lora = [], [], [], []
for _ in range(runs):
    ours_full.append(timed([binary, "spectra", "--base", f"{d}/base", "--finetuned", f"{d}/ft", "--json", f"{d}/ours.json", "--quiet"]))
    ours_lora.append(timed([binary, "spectra", "--base", f"{d}/base4096", "--adapter", f"{d}/lora16", "--json", f"{d}/ours-lora.json", "--quiet"]))
    npj = json.loads(subprocess.run([sys.executable, f"{here}/numpy_svd.py", d], check=True, capture_output=True, text=True).stdout)
    np_full.append(npj["svd_total_s"]); np_lora.append(npj["lora_dense_svd_s"])

med = lambda xs: sorted(xs)[len(xs) // 2]
of, nf, ol, nl = med(ours_full), med(np_full), med(ours_lora), med(np_lora)
ours = {t["name"]: t for t in json.load(open(f"{d}/ours.json"))["tensors"]}
lora = json.load(open(f"{d}/ours-lora.json"))["tensors"][0]["singular_values"]
err = max(abs(a - b) / b for a, b in zip(lora, npj["lora_top16"]))
full_err = max(abs(ours[k]["spectral_norm"] - v["sigma1"]) / v["sigma1"] for k, v in npj["tensors"].items())
print(f"runs={runs} median; numpy {npj['numpy']}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
print(f"full Delta (2048x2048 + 5632x2048): forgetlens {of:.2f} s whole process | numpy svd {nf:.2f} s | numpy/forgetlens = {nf/of:.2f}x | sigma_1 rel. diff {full_err:.1e}")
print(f"LoRA r=16 on 4096x4096:            forgetlens {ol:.3f} s whole process | numpy dense svd {nl:.2f} s | speedup {nl/ol:.0f}x | top-16 sigma rel. diff {err:.1e}")
