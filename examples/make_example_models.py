#!/usr/bin/env python3
"""Make the bundled example experiment for `make demo` (examples/demo.yaml + examples/checkpoints/).

A small, real experiment in the spirit of Biderman et al. 2024, "LoRA Learns Less and Forgets
Less": one llama-style base trained from scratch on general English, then fine-tuned on arithmetic
by full fine-tuning and by LoRA (ranks 4 and 32), each saved at three training steps.

    python3 examples/make_example_models.py            # from the repository root, ~20 min on 2 shared CPUs

Steps (all seeded; CPU, torch.set_num_threads(2)):
 1. tokenizer: byte-level BPE (GPT-2 style, "<|endoftext|>" as EOS, no BOS added), vocab 4096,
    trained with `tokenizers` on /work/shared/corpora/commonsense-train.txt.gz;
 2. base: LlamaForCausalLM (hidden 128, 4 layers, 4 heads, 2 KV heads, tied embeddings) trained
    with AdamW on packed passages of the same corpus;
 3. arithmetic data: NEW problems generated in the style of allenai/basic_arithmetic
    ("Calculate 18 + 37 =", operand digit counts and operations as in the validation ids), none
    equal to a validation question, written as the forgetlens task prompts them:
    "Question: Calculate 18 + 37 =\nAnswer: 55";
 4. fine-tunes from the bf16-rounded base (the weights forgetlens will load): full fine-tuning and
    PEFT LoRA r=4, r=32 (alpha = 2r, all linear layers), same data order, batch and LR schedule
    shape, saved at STEPS;
 5. sanity check: arithmetic MC accuracy and HellaSwag acc_norm (lm-eval preprocessing) on the
    first 200 validation items for the base and every saved checkpoint, reloaded from disk;
 6. examples/demo.yaml and a size summary.

Nothing here runs in CI; the outputs are committed.
"""
from __future__ import annotations

import argparse
import copy
import gzip
import json
import math
import os
import random
import re
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "2")  # tokenizers' thread pool: the machine is shared
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

import torch
import torch.nn.functional as F
import tokenizers
import transformers
import peft
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from peft import LoraConfig, PeftModel, get_peft_model

transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("FORGETLENS_SHARED", "/work/shared"))
CORPUS = SHARED / "corpora" / "commonsense-train.txt.gz"
ARITH_VAL = SHARED / "datasets" / "basic_arithmetic.validation.jsonl"
HELLASWAG_VAL = SHARED / "datasets" / "hellaswag.validation.jsonl"

SEED = 1234
VOCAB_SIZE = 4096
EOS = "<|endoftext|>"

MODEL = dict(
    vocab_size=VOCAB_SIZE,
    hidden_size=128,
    intermediate_size=448,  # 3.5 x hidden
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,  # GQA, so the readers see k/v projections narrower than q
    max_position_embeddings=512,
    rope_theta=10000.0,
    tie_word_embeddings=True,
    rms_norm_eps=1e-5,
    hidden_act="silu",
    initializer_range=0.02,
    bos_token_id=0,
    eos_token_id=0,
    attention_bias=False,
    mlp_bias=False,
)

# Fine-tuning: the same data order, batch and schedule shape for every method; only the peak LR
# differs (LoRA needs a higher one, as in Biderman et al.).
STEPS = [20, 60, 150]
FT_BATCH = 8          # sequences per step
FT_SEQ = 64           # packed tokens per sequence (problems separated by EOS)
FT_WARMUP = 20
METHODS = [
    # label prefix, method, rank, peak LR
    ("full", "full", None, 2e-4),
    ("lora-r4", "lora", 4, 2e-3),
    ("lora-r32", "lora", 32, 2e-3),
]
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

EVAL_LIMIT = 200


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- corpus, tokenizer

def read_corpus() -> list[str]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    random.Random(SEED).shuffle(lines)
    return lines


def train_tokenizer(lines: list[str]) -> Tokenizer:
    """GPT-2 style byte-level BPE: no normalizer, ByteLevel pre-tokenizer without prefix space,
    ByteLevel decoder; the post-processor adds nothing (no BOS), as for GPT-2 / Pythia."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=[EOS],  # id 0, as in GPT-NeoX / Pythia
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    return tok


def hf_tokenizer(tok: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS, bos_token=EOS, unk_token=EOS,
        model_max_length=MODEL["max_position_embeddings"], clean_up_tokenization_spaces=False,
    )


def pack(token_lists, seq_len: int, eos_id: int) -> torch.Tensor:
    """Concatenate documents with EOS after each one and cut into rows of seq_len tokens."""
    flat: list[int] = []
    for ids in token_lists:
        flat.extend(ids)
        flat.append(eos_id)
    n = len(flat) // seq_len
    return torch.tensor(flat[: n * seq_len], dtype=torch.long).view(n, seq_len)


def lr_at(step: int, peak: float, warmup: int, total: int, floor: float = 0.1) -> float:
    """Linear warmup, then cosine decay to floor * peak at `total` (step is 0-based)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


# ----------------------------------------------------------------------------- arithmetic data

def load_arith_val() -> list[dict]:
    with open(ARITH_VAL) as f:
        return [json.loads(l) for l in f]


TYPE_RE = re.compile(r"^q\d+_(\d)d(\d)d_max\dd_(plus|minus|mult|div)$")
OPS = {"plus": "+", "minus": "-", "mult": "*", "div": "/"}


def rand_digits(rng: random.Random, d: int) -> int:
    return rng.randint(0, 9) if d == 1 else rng.randint(10 ** (d - 1), 10 ** d - 1)


def make_problem(rng: random.Random, da: int, db: int, op: str) -> tuple[str, int]:
    if op == "div":  # exact division: a = b * q has da digits, b has db digits (b != 0)
        while True:
            b = rand_digits(rng, db)
            if b == 0:
                continue
            lo = 0 if da == 1 else 10 ** (da - 1)
            hi = 10 ** da - 1
            qlo, qhi = -(-lo // b), hi // b
            if qlo <= qhi:
                q = rng.randint(qlo, qhi)
                return f"Calculate {b * q} / {b} =", q
    a, b = rand_digits(rng, da), rand_digits(rng, db)
    ans = {"plus": a + b, "minus": a - b, "mult": a * b}[op]
    return f"Calculate {a} {OPS[op]} {b} =", ans


def arithmetic_training_lines(n: int, val: list[dict]) -> tuple[list[str], dict]:
    """n NEW problems in the validation set's style. Operand digit counts and operations are
    drawn from the validation ids' type distribution within each difficulty tier; tiers are
    weighted easy 0.6 / medium 0.2 / hard 0.2 (the demo's limit-200 slice is all 'easy')."""
    rng = random.Random(SEED + 1)
    val_questions = {r["question"].strip() for r in val}
    tiers: dict[str, list[tuple[int, int, str]]] = {}
    for r in val:
        m = TYPE_RE.match(r["id"])
        assert m, r["id"]
        tiers.setdefault(r["type_tag"], []).append((int(m.group(1)), int(m.group(2)), m.group(3)))
    tier_names, tier_weights = ["easy", "medium", "hard"], [0.6, 0.2, 0.2]
    lines, rejected = [], 0
    while len(lines) < n:
        tier = rng.choices(tier_names, tier_weights)[0]
        da, db, op = rng.choice(tiers[tier])
        q, ans = make_problem(rng, da, db, op)
        if q in val_questions:
            rejected += 1
            continue
        lines.append(f"Question: {q}\nAnswer: {ans}")
    overlap = sum(1 for l in lines if l.split("\n")[0][len("Question: "):] in val_questions)
    assert overlap == 0
    return lines, {"rejected_equal_to_validation": rejected, "overlap_after_filter": overlap}


# ----------------------------------------------------------------------------- evaluation

def hellaswag_preprocess(text: str) -> str:
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def hellaswag_requests(limit: int):
    docs = []
    with open(HELLASWAG_VAL) as f:
        for i, l in enumerate(f):
            if i >= limit:
                break
            d = json.loads(l)
            ctx = d["ctx_a"] + " " + d["ctx_b"].capitalize()
            query = hellaswag_preprocess(d["activity_label"] + ": " + ctx)
            choices = [hellaswag_preprocess(e) for e in d["endings"]]
            docs.append((query, choices, int(d["label"])))
    return docs


def arith_requests(val: list[dict], limit: int):
    return [(f"Question: {r['question']}\nAnswer:", list(r["choices"]["text"]),
             r["choices"]["label"].index(r["answerKey"])) for r in val[:limit]]


def encode_pair(tok: Tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval 0.4: trailing context spaces move to the continuation; encode the whole once and
    split at len(encode(context))."""
    n_sp = len(context) - len(context.rstrip(" "))
    if n_sp:
        continuation = context[-n_sp:] + continuation
        context = context[:-n_sp]
    whole = tok.encode(context + continuation).ids
    ctx = tok.encode(context).ids
    return ctx, whole[len(ctx):]


@torch.no_grad()
def loglikelihoods(model, tok: Tokenizer, pairs, eos_id: int, batch: int = 32) -> list[float]:
    model.eval()
    reqs = []
    for ctx, cont in pairs:
        c, k = encode_pair(tok, ctx, cont)
        if not c:
            c = [eos_id]
        ids = (c + k)[-(MODEL["max_position_embeddings"] + 1):]
        reqs.append((ids, len(k)))
    order = sorted(range(len(reqs)), key=lambda i: -len(reqs[i][0]))
    out = [0.0] * len(reqs)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        L = max(len(reqs[i][0]) for i in idx) - 1
        inp = torch.full((len(idx), L), eos_id, dtype=torch.long)
        att = torch.zeros((len(idx), L), dtype=torch.long)
        for row, i in enumerate(idx):
            ids = reqs[i][0][:-1]
            inp[row, :len(ids)] = torch.tensor(ids)
            att[row, :len(ids)] = 1
        logp = F.log_softmax(model(input_ids=inp, attention_mask=att).logits.float(), dim=-1)
        for row, i in enumerate(idx):
            ids, nk = reqs[i]
            T = len(ids) - 1
            tgt = torch.tensor(ids[T - nk + 1:])
            out[i] = logp[row, T - nk:T].gather(-1, tgt[:, None]).sum().item()
    return out


def mc_scores(model, tok, docs, eos_id):
    pairs = [(q, " " + c) for q, cs, _ in docs for c in cs]
    ll = loglikelihoods(model, tok, pairs, eos_id)
    acc = acc_norm = 0
    k = 0
    for q, cs, gold in docs:
        lls = ll[k:k + len(cs)]
        k += len(cs)
        norm = [l / len(c) for l, c in zip(lls, cs)]
        acc += int(max(range(len(cs)), key=lambda i: (lls[i], -i)) == gold)
        acc_norm += int(max(range(len(cs)), key=lambda i: (norm[i], -i)) == gold)
    n = len(docs)
    return acc / n, acc_norm / n


def stderr(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / (n - 1))


# ----------------------------------------------------------------------------- training

def train_loop(model, params, data: torch.Tensor, steps: int, batch: int, peak: float,
               warmup: int, wd: float, on_step=None, log_every: int = 25, name: str = ""):
    opt = torch.optim.AdamW(params, lr=peak, betas=(0.9, 0.95), eps=1e-8, weight_decay=wd)
    model.train()
    t0 = time.time()
    n_rows = data.shape[0]
    ema = None
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, peak, warmup, steps)
        rows = [(step * batch + j) % n_rows for j in range(batch)]
        x = data[rows]
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        ema = loss.item() if ema is None else 0.9 * ema + 0.1 * loss.item()
        if (step + 1) % log_every == 0 or step == 0:
            log(f"{name} step {step + 1}/{steps} loss {loss.item():.3f} (ema {ema:.3f}) "
                f"lr {opt.param_groups[0]['lr']:.2e} {time.time() - t0:.0f}s")
        if on_step:
            on_step(step + 1)
    return time.time() - t0


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "checkpoints")
    ap.add_argument("--base-steps", type=int, default=200)
    ap.add_argument("--base-batch", type=int, default=8)
    ap.add_argument("--base-seq", type=int, default=128)
    ap.add_argument("--base-lr", type=float, default=3e-3)
    ap.add_argument("--tokenizer-lines", type=int, default=100_000)
    ap.add_argument("--steps", type=str, default=",".join(map(str, STEPS)))
    ap.add_argument("--eval-limit", type=int, default=EVAL_LIMIT)
    ap.add_argument("--yaml", type=Path, default=HERE / "demo.yaml")
    args = ap.parse_args()
    steps = [int(s) for s in args.steps.split(",")]

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(SEED)
    t_start = time.time()
    log(f"python {sys.version.split()[0]} torch {torch.__version__} transformers {transformers.__version__} "
        f"peft {peft.__version__} tokenizers {tokenizers.__version__}")

    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    # 1. tokenizer ------------------------------------------------------------------------------
    lines = read_corpus()
    log(f"corpus: {len(lines)} passages")
    tok = train_tokenizer(lines[: args.tokenizer_lines])
    eos_id = tok.token_to_id(EOS)
    assert eos_id == 0 and tok.get_vocab_size() == VOCAB_SIZE, (eos_id, tok.get_vocab_size())
    hf_tok = hf_tokenizer(tok)
    log(f"tokenizer: vocab {tok.get_vocab_size()}, e.g. {tok.encode('Question: Calculate 18 + 37 =' + chr(10) + 'Answer: 55').tokens}")

    # 2. base -----------------------------------------------------------------------------------
    n_base_tokens = args.base_steps * args.base_batch * args.base_seq
    need_rows = args.base_steps * args.base_batch
    docs, rows_est, i = [], 0, args.tokenizer_lines  # pretraining text: passages after the tokenizer's
    while rows_est < need_rows * 1.05 and i < len(lines):
        chunk = [e.ids for e in tok.encode_batch(lines[i:i + 5000])]
        docs.extend(chunk)
        rows_est += sum(len(d) + 1 for d in chunk) // args.base_seq
        i += 5000
    base_data = pack(docs, args.base_seq, eos_id)
    log(f"base data: {base_data.shape[0]} rows x {args.base_seq} tokens from {len(docs)} passages")

    seed_everything(SEED)
    config = LlamaConfig(**MODEL)
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"base: {n_params} parameters")
    t_base = train_loop(model, list(model.parameters()), base_data, args.base_steps, args.base_batch,
                        args.base_lr, warmup=max(10, args.base_steps // 20), wd=0.1, name="base",
                        log_every=50)
    log(f"base trained: {args.base_steps} steps, {n_base_tokens} tokens, {t_base:.0f}s")
    base_dir = out / "base"
    model.to(torch.bfloat16).save_pretrained(base_dir, safe_serialization=True)
    hf_tok.save_pretrained(base_dir)
    del model

    # 3. arithmetic data ------------------------------------------------------------------------
    val = load_arith_val()
    n_problems = int(max(steps) * FT_BATCH * FT_SEQ / 10) + 1000  # ~14 tokens per problem: plenty
    arith_lines, check = arithmetic_training_lines(n_problems, val)
    arith_data = pack([e.ids for e in tok.encode_batch(arith_lines)], FT_SEQ, eos_id)
    log(f"arithmetic: {len(arith_lines)} generated problems ({check}), {arith_data.shape[0]} rows x {FT_SEQ}; "
        f"e.g. {arith_lines[0]!r}, {arith_lines[1]!r}")
    assert arith_data.shape[0] >= max(steps) * FT_BATCH, "not enough arithmetic rows for one pass"
    tokens_per_step = FT_BATCH * FT_SEQ

    def load_base() -> LlamaForCausalLM:
        # The bf16 weights as saved (what forgetlens loads), upcast to fp32 for training.
        return LlamaForCausalLM.from_pretrained(base_dir, dtype=torch.float32)

    variants = []
    timings = {}
    for prefix, method, rank, lr in METHODS:
        seed_everything(SEED + 7)
        model = load_base()
        if method == "lora":
            lcfg = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, bias="none",
                              target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
            model = get_peft_model(model, lcfg)
        params = [p for p in model.parameters() if p.requires_grad]
        log(f"{prefix}: {sum(p.numel() for p in params)} trainable parameters, peak LR {lr}")

        def save(step, model=model, prefix=prefix, method=method, rank=rank):
            if step not in steps:
                return
            d = out / prefix / f"step-{step}"
            if method == "full":
                copy.deepcopy(model).to(torch.bfloat16).save_pretrained(d, safe_serialization=True)
                hf_tok.save_pretrained(d)
                variants.append(dict(label=f"full-s{step}", method="full", step=step,
                                     tokens=step * tokens_per_step, model=f"checkpoints/full/step-{step}"))
            else:
                model.save_pretrained(d, safe_serialization=True)
                (d / "README.md").unlink(missing_ok=True)
                cfg_path = d / "adapter_config.json"
                acfg = json.loads(cfg_path.read_text())
                acfg["base_model_name_or_path"] = "examples/checkpoints/base"
                cfg_path.write_text(json.dumps(acfg, indent=2, sort_keys=True) + "\n")
                variants.append(dict(label=f"lora-r{rank}-s{step}", method="lora", rank=rank, step=step,
                                     tokens=step * tokens_per_step, adapter=f"checkpoints/{prefix}/step-{step}"))
            model.train()

        timings[prefix] = train_loop(model, params, arith_data, max(steps), FT_BATCH, lr, FT_WARMUP,
                                     wd=0.0, on_step=save, name=prefix, log_every=50)
        del model

    # 4. sanity check, from the saved files -----------------------------------------------------
    hs_docs = hellaswag_requests(args.eval_limit)
    ar_docs = arith_requests(val, args.eval_limit)
    results = []

    def evaluate(label, model):
        t = time.time()
        a_acc, a_norm = mc_scores(model, tok, ar_docs, eos_id)
        h_acc, h_norm = mc_scores(model, tok, hs_docs, eos_id)
        results.append((label, a_acc, a_norm, h_acc, h_norm))
        log(f"eval {label:16s} arith acc {a_acc:.3f} (acc_norm {a_norm:.3f})  "
            f"hellaswag acc {h_acc:.3f} acc_norm {h_norm:.3f}  [{time.time() - t:.0f}s]")

    evaluate("base", load_base())
    for v in variants:
        if v["method"] == "full":
            m = LlamaForCausalLM.from_pretrained(out / "full" / f"step-{v['step']}", dtype=torch.float32)
        else:
            adir = out / v["adapter"].split("/", 1)[1]
            m = PeftModel.from_pretrained(load_base(), adir)
        evaluate(v["label"], m)

    # 5. experiment file ------------------------------------------------------------------------
    order = {p: i for i, (p, *_r) in enumerate(METHODS)}
    variants.sort(key=lambda v: (order["full" if v["method"] == "full" else f"lora-r{v['rank']}"], v["step"]))
    y = ["name: demo", "base: checkpoints/base", "output: ../reports/demo", "targets: [basic_arithmetic]",
         "probes: [hellaswag, winogrande, arc_challenge]", f"limit: {EVAL_LIMIT}", "num_fewshot: 0",
         'spectra: {enabled: true, modules: "self_attn|mlp", variance: 0.9}', "variants:"]
    for v in variants:
        if v["method"] == "full":
            y.append(f"  - {{label: {v['label']}, method: full, step: {v['step']}, tokens: {v['tokens']}, model: {v['model']}}}")
        else:
            y.append(f"  - {{label: {v['label']}, method: lora, rank: {v['rank']}, step: {v['step']}, "
                     f"tokens: {v['tokens']}, adapter: {v['adapter']}}}")
    args.yaml.write_text("\n".join(y) + "\n")
    log(f"wrote {args.yaml}")

    # 6. summary --------------------------------------------------------------------------------
    print("\n== sizes ==")
    total = 0
    for d in sorted(p for p in out.rglob("*") if p.is_dir() and any(f.is_file() for f in p.iterdir())):
        s = dir_size(d)
        total += s
        print(f"{s / 1e6:8.2f} MB  {d.relative_to(out.parent)}")
    print(f"{total / 1e6:8.2f} MB  total")
    n = args.eval_limit
    print(f"\n== sanity check (first {n} validation items; stderr ~{stderr(0.3, n):.3f} at p=0.3) ==")
    print(f"{'checkpoint':16s} {'arith acc':>9s} {'arith norm':>10s} {'hs acc':>7s} {'hs norm':>7s}")
    for label, a, an, h, hn in results:
        print(f"{label:16s} {a:9.3f} {an:10.3f} {h:7.3f} {hn:7.3f}")
    print("\ntimings: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()) + f", base {t_base:.0f}s")
    log(f"total {time.time() - t_start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
