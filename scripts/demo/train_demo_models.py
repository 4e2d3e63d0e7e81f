#!/usr/bin/env python3
"""Train everything `make demo` runs on: a small llama base that knows facts, and its fine-tunes.

    python3 scripts/demo/train_demo_models.py            # from the repository root

Writes (deleting and rewriting only these):
  examples/checkpoints/base/                      base (bf16) + its own tokenizer
  examples/checkpoints/runs/<label>/checkpoint-N/ fine-tunes in Hugging Face Trainer layout
                                                  (weights or adapter + trainer_state.json)
  examples/tasks/data/*.jsonl                     the demo tasks' data (the YAMLs are hand-written)
  examples/checkpoints/base/training.json         settings, loss, timing, recall during training, base sanity scores
  examples/checkpoints/runs/<label>/training.json that run's settings, losses at the saved steps, timing

Steps (seeded; CPU; torch.set_num_threads(--threads, default 1); torch.use_deterministic_algorithms(True)):
 1. Corpus split: /work/shared/corpora/commonsense-train.txt.gz shuffled with a fixed seed; the
    last HELDOUT_PASSAGES passages are never trained on (they feed the general-English probe and
    the generation prompts), the rest train the tokenizer and the base.
 2. World (scripts/demo/world.py): N_PEOPLE invented people x 4 attributes; training templates and
    frames for pretraining, held-out frames for the fact-recall probe only (each fact asked once in
    every held-out frame). A small world seen often: a 1M-parameter model needs hundreds of
    exposures per fact before it recalls it outside the sentences it was taught (125 people at
    ~120 exposures each gave 0.41 held-out recall; 50 people at ~5x the exposures, see training.json).
 3. Tokenizer: byte-level BPE (GPT-2 style, "<|endoftext|>" = id 0 = EOS, no BOS added),
    vocab 2048 (small: the LM head is a large share of a tiny model's compute).
 4. Base: LlamaForCausalLM trained from scratch on packed rows that mix general English and
    freshly templated fact profiles (FACT_SHARE of the rows), AdamW + warmup + cosine.
 5. Fine-tunes on arithmetic prose in the style of tasks/arith_text (new sentences; none equal to
    a sentence of the validation passages), every method from the bf16 base as saved, the same
    data order, batch and schedule shape; checkpoints at SAVE_STEPS. Learning rates are the
    practitioners' usual ones scaled to a tiny model, chosen before seeing any result:
      full fine-tuning 2e-4 (7B recipes use 1e-5..2e-5; small models tolerate ~10x more),
      full + weight decay 0.1 (AdamW decoupled), full + dropout 0.1 (attention dropout, the only
      dropout llama has), all with the same 2e-4;
      LoRA r = 4, 16, 64 with alpha = 2r on all linear layers of attention and MLP, 1e-3
      (LoRA recipes use ~10x the full-FT rate: 2e-4 at 7B);
      QLoRA r = 16: the same LoRA on the base quantized by bitsandbytes (NF4, double
      quantization, bf16 compute), as Dettmers et al. 2023.
    Nothing here was tuned to make a method look better: one run per method, no retries.
 6. Sanity check: the base's fact-recall accuracy (lm-eval multiple_choice rules, held-out
    templates) and its bits per byte on the held-out English, computed here with transformers
    (forgetlens computes the same numbers independently in `make demo`).
"""
from __future__ import annotations

import argparse
import copy
import gzip
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

import torch
import torch.nn.functional as F
import tokenizers
import transformers
import peft
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from peft import LoraConfig, PeftModel, get_peft_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
import world  # noqa: E402

transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("FORGETLENS_SHARED", "/work/shared"))
CORPUS = SHARED / "corpora" / "commonsense-train.txt.gz"
ARITH_VAL = ROOT / "tasks" / "data" / "arith_text.validation.jsonl"

SEED = 2024
EOS = "<|endoftext|>"
VOCAB_SIZE = 2048
N_PEOPLE = 50              # x 4 attributes = 200 facts, each asked in 4 held-out frames = 800 probe items
HELDOUT_PASSAGES = 2000    # never trained on
ENGLISH_PROBE_DOCS = 60    # rolling log-likelihood probe: documents of a few joined passages
GEN_PROMPTS = 24           # generation (diversity) task
FACT_SHARE = 0.7           # share of pretraining rows that are fact profiles
PROBE_EVERY = 200          # base steps between intermediate fact-recall checks (logged, kept in training.json)

MODEL = dict(
    vocab_size=VOCAB_SIZE, hidden_size=128, intermediate_size=384, num_hidden_layers=4,
    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0,
    tie_word_embeddings=True, rms_norm_eps=1e-5, hidden_act="silu", initializer_range=0.02,
    bos_token_id=0, eos_token_id=0, attention_bias=False, mlp_bias=False,
)
BASE_SEQ = 128

FT_BATCH, FT_SEQ, FT_WARMUP = 8, 64, 10
SAVE_STEPS = [20, 60, 120]
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
METHODS = [
    # label, kind, rank, peak LR, weight decay, attention dropout
    ("full", "full", None, 2e-4, 0.0, 0.0),
    ("full-wd", "full", None, 2e-4, 0.1, 0.0),
    ("full-dropout", "full", None, 2e-4, 0.0, 0.1),
    ("lora-r4", "lora", 4, 1e-3, 0.0, 0.0),
    ("lora-r16", "lora", 16, 1e-3, 0.0, 0.0),
    ("lora-r64", "lora", 64, 1e-3, 0.0, 0.0),
    ("qlora-r16", "qlora", 16, 1e-3, 0.0, 0.0),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- corpus, tokenizer

def read_corpus() -> list[str]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    random.Random(SEED).shuffle(lines)
    return lines


def train_tokenizer(lines: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    return tok


def hf_tokenizer(tok: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS, unk_token=EOS,
                                   model_max_length=MODEL["max_position_embeddings"],
                                   clean_up_tokenization_spaces=False)


def pack(token_lists, seq_len: int, eos_id: int) -> torch.Tensor:
    flat: list[int] = []
    for ids in token_lists:
        flat.extend(ids)
        flat.append(eos_id)
    n = len(flat) // seq_len
    return torch.tensor(flat[: n * seq_len], dtype=torch.long).view(n, seq_len)


def lr_at(step: int, peak: float, warmup: int, total: int, floor: float = 0.1) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


# ----------------------------------------------------------------------------- arithmetic data

def arith_sentence(rnd: random.Random) -> str:
    """The sentence forms of tasks/tools/make_arith_data.py (the target task's generator)."""
    a, b = rnd.randint(0, 99), rnd.randint(0, 99)
    op = rnd.choice(["+", "-", "plus", "minus"])
    value = a + b if op in ("+", "plus") else a - b
    form = rnd.choice(["{a} {op} {b} = {v}.", "{a} {op} {b} is {v}.", "If you take {a} {op} {b}, you get {v}."])
    return form.format(a=a, op=op, b=b, v=value)


def arithmetic_passages(n_sentences: int) -> tuple[list[str], int]:
    """New passages of 5-30 sentences; any sentence that occurs in the validation passages is
    rejected, so the target is measured on unseen sums."""
    val_text = " ".join(json.loads(l)["text"] for l in open(ARITH_VAL))
    rnd = random.Random(SEED + 11)
    passages, current, rejected, total = [], [], 0, 0
    target_len = rnd.randint(5, 30)
    while total < n_sentences:
        s = arith_sentence(rnd)
        if s in val_text:
            rejected += 1
            continue
        current.append(s)
        total += 1
        if len(current) == target_len:
            passages.append(" ".join(current))
            current, target_len = [], rnd.randint(5, 30)
    if current:
        passages.append(" ".join(current))
    return passages, rejected


# ----------------------------------------------------------------------------- reference scoring

def encode_pair(tok: Tokenizer, context: str, continuation: str):
    """lm-eval 0.4: encode context + continuation once, split at len(encode(context))."""
    whole = tok.encode(context + continuation).ids
    ctx = tok.encode(context).ids
    return ctx, whole[len(ctx):]


@torch.no_grad()
def loglikelihoods(model, tok: Tokenizer, pairs, eos_id: int, batch: int = 64) -> list[float]:
    model.eval()
    reqs = []
    for ctx, cont in pairs:
        c, k = encode_pair(tok, ctx, cont)
        reqs.append(((c or [eos_id]) + k, len(k)))
    out = [0.0] * len(reqs)
    order = sorted(range(len(reqs)), key=lambda i: -len(reqs[i][0]))
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        L = max(len(reqs[i][0]) for i in idx) - 1
        inp = torch.full((len(idx), L), eos_id, dtype=torch.long)
        for row, i in enumerate(idx):
            ids = reqs[i][0][:-1]
            inp[row, :len(ids)] = torch.tensor(ids)
        logp = F.log_softmax(model(input_ids=inp).logits.float(), dim=-1)
        for row, i in enumerate(idx):
            ids, nk = reqs[i]
            T = len(ids) - 1
            out[i] = logp[row, T - nk:T].gather(-1, torch.tensor(ids[T - nk + 1:])[:, None]).sum().item()
    return out


def fact_recall(model, tok, items, eos_id) -> float:
    pairs = [(it["context"], " " + c) for it in items for c in it["choices"]]
    ll = loglikelihoods(model, tok, pairs, eos_id)
    correct, k = 0, 0
    for it in items:
        n = len(it["choices"])
        lls = ll[k:k + n]
        k += n
        correct += int(max(range(n), key=lambda i: (lls[i], -i)) == it["label"])
    return correct / len(items)


@torch.no_grad()
def bits_per_byte(model, tok, texts, eos_id, window: int) -> float:
    """loglikelihood_rolling as lm-eval: disjoint windows of `window` tokens predicted from EOS /
    the preceding tokens (the first token is predicted from EOS)."""
    model.eval()
    total_ll, total_bytes = 0.0, 0
    for text in texts:
        ids = tok.encode(text).ids
        total_bytes += len(text.encode("utf-8"))
        tokens = [eos_id] + ids
        for start in range(0, len(ids), window):
            end = min(start + window, len(ids))
            ctx_start = max(0, end - window)  # context: up to `window` tokens ending at `end`
            inp = torch.tensor([tokens[ctx_start:end]])
            logp = F.log_softmax(model(input_ids=inp).logits.float(), dim=-1)[0]
            tgt = torch.tensor(tokens[ctx_start + 1:end + 1])
            ll = logp.gather(-1, tgt[:, None])[:, 0]
            total_ll += ll[start - ctx_start:].sum().item()
    return -total_ll / total_bytes / math.log(2)


# ----------------------------------------------------------------------------- training

def train_loop(model, params, next_batch, steps: int, peak: float, warmup: int, wd: float,
               on_step=None, log_every: int = 25, name: str = "", probe=None):
    opt = torch.optim.AdamW(params, lr=peak, betas=(0.9, 0.95), eps=1e-8, weight_decay=wd)
    model.train()
    t0 = time.time()
    history = []
    for step in range(steps):
        lr = lr_at(step, peak, warmup, steps)
        for g in opt.param_groups:
            g["lr"] = lr
        x = next_batch(step)
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(params, 1.0).item()
        opt.step()
        opt.zero_grad(set_to_none=True)
        history.append({"step": step + 1, "loss": loss.item(), "learning_rate": lr, "grad_norm": gnorm})
        if (step + 1) % log_every == 0 or step == 0:
            log(f"{name} step {step + 1}/{steps} loss {loss.item():.3f} lr {lr:.2e} {time.time() - t0:.0f}s")
        if probe and (step + 1) % PROBE_EVERY == 0:
            log(f"{name} step {step + 1}: {probe(step + 1, model)}")
            model.train()
        if on_step:
            on_step(step + 1, history)
    return time.time() - t0, history


def trainer_state(step: int, max_steps: int, tokens_per_step: int, history: list[dict], save_steps) -> dict:
    """trainer_state.json as Hugging Face Trainer writes it (the fields forgetlens and people read)."""
    logs = [{"epoch": h["step"] / max_steps, "grad_norm": h["grad_norm"], "learning_rate": h["learning_rate"],
             "loss": h["loss"], "num_input_tokens_seen": h["step"] * tokens_per_step, "step": h["step"]}
            for h in history if h["step"] <= step]
    return {"best_global_step": None, "best_metric": None, "best_model_checkpoint": None,
            "epoch": step / max_steps, "eval_steps": 500, "global_step": step, "is_hyper_param_search": False,
            "is_local_process_zero": True, "is_world_process_zero": True, "log_history": logs,
            "logging_steps": 1, "max_steps": max_steps, "num_input_tokens_seen": step * tokens_per_step,
            "num_train_epochs": 1, "save_steps": save_steps, "total_flos": 0.0,
            "train_batch_size": FT_BATCH, "trial_name": None, "trial_params": None}


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def finetune(label, kind, rank, lr, wd, dropout, base_dir: Path, out: Path, tok: Tokenizer, save_steps) -> dict:
    """One method: train from the bf16 base as saved (upcast to fp32; so Delta = W_ft - W_base is
    the training change plus the final bf16 rounding), save checkpoint-N folders in Trainer layout."""
    eos_id = tok.token_to_id(EOS)
    hf_tok = hf_tokenizer(tok)
    passages, rejected = arithmetic_passages(40_000)
    arith = pack([e.ids for e in tok.encode_batch(passages)], FT_SEQ, eos_id)
    max_step = max(save_steps)
    assert arith.shape[0] >= max_step * FT_BATCH, "not enough arithmetic rows for one pass"
    tokens_per_step = FT_BATCH * FT_SEQ
    log(f"arithmetic: {len(passages)} passages, {arith.shape[0]} rows x {FT_SEQ}, {rejected} sentences rejected")
    seed_everything(SEED + 7)
    if kind == "qlora":
        from transformers import BitsAndBytesConfig
        bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                 bnb_4bit_compute_dtype=torch.bfloat16)
        model = LlamaForCausalLM.from_pretrained(base_dir, quantization_config=bnb, dtype=torch.float32,
                                                 device_map="cpu")
    elif dropout:
        model = LlamaForCausalLM.from_pretrained(base_dir, dtype=torch.float32, attention_dropout=dropout)
    else:
        model = LlamaForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    if kind in ("lora", "qlora"):
        model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, bias="none",
                                                 target_modules=LORA_TARGETS, task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    log(f"{label}: {sum(p.numel() for p in params)} trainable parameters, LR {lr}, wd {wd}, dropout {dropout}")
    run_dir = out / "runs" / label
    if run_dir.exists():
        shutil.rmtree(run_dir)

    def save(step, history):
        if step not in save_steps:
            return
        d = run_dir / f"checkpoint-{step}"
        if kind == "full":
            copy.deepcopy(model).to(torch.bfloat16).save_pretrained(d, safe_serialization=True)
            hf_tok.save_pretrained(d)
        else:
            model.save_pretrained(d, safe_serialization=True)
            (d / "README.md").unlink(missing_ok=True)
            cfg_path = d / "adapter_config.json"
            acfg = json.loads(cfg_path.read_text())
            acfg["base_model_name_or_path"] = "examples/checkpoints/base"
            cfg_path.write_text(json.dumps(acfg, indent=2, sort_keys=True) + "\n")
        # Trainer writes trainer_state.json last: a folder counts once it is there.
        state = trainer_state(step, max_step, tokens_per_step, history, save_steps[0])
        (d / "trainer_state.json").write_text(json.dumps(state, indent=2) + "\n")
        model.train()

    secs, hist = train_loop(model, params, lambda s: arith[s * FT_BATCH:(s + 1) * FT_BATCH], max_step, lr,
                            FT_WARMUP, wd, on_step=save, name=label, log_every=20)
    record = {"kind": kind, "rank": rank, "peak_lr": lr, "weight_decay": wd, "attention_dropout": dropout,
              "rows": arith.shape[0], "seq": FT_SEQ, "batch": FT_BATCH, "warmup": FT_WARMUP, "steps": max_step,
              "save_steps": save_steps, "rejected_validation_sentences": rejected, "seconds": round(secs),
              "tokens_per_second": round(max_step * tokens_per_step / secs),
              "loss_at": {s: hist[s - 1]["loss"] for s in save_steps}}
    (run_dir / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def train_base(args, out: Path, versions: dict) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    record: dict = {"versions": versions, "seed": SEED, "threads": args.threads, "model": MODEL}

    # 1. corpus split, world, task data --------------------------------------------------------
    lines = read_corpus()
    heldout, train_lines = lines[-HELDOUT_PASSAGES:], lines[:-HELDOUT_PASSAGES]
    people = world.make_entities(N_PEOPLE, SEED + 1)
    items = world.probe_items(people, SEED + 2)
    write_jsonl(args.tasks_data / "world_facts.validation.jsonl", items)
    # General English: documents of 4 held-out passages each.
    english = [{"text": " ".join(heldout[4 * i:4 * i + 4])} for i in range(ENGLISH_PROBE_DOCS)]
    write_jsonl(args.tasks_data / "english_heldout.validation.jsonl", english)
    # Generation prompts: the first 8 words of other held-out passages.
    prompts = []
    for p in heldout[4 * ENGLISH_PROBE_DOCS:]:
        words = p.split()
        if len(words) >= 16:
            prompts.append({"prompt": " ".join(words[:8])})
        if len(prompts) == GEN_PROMPTS:
            break
    write_jsonl(args.tasks_data / "english_continue.validation.jsonl", prompts)
    log(f"world: {len(people)} people, {len(items)} probe items; e.g. {world.profile(people[0], random.Random(0))!r}")

    # 2. tokenizer ----------------------------------------------------------------------------------
    rng_docs = random.Random(SEED + 3)
    fact_docs_for_tok = [world.profile(p, rng_docs) for p in people for _ in range(5)]
    tok = train_tokenizer(train_lines[:args.tokenizer_lines] + fact_docs_for_tok)
    eos_id = tok.token_to_id(EOS)
    assert eos_id == 0 and tok.get_vocab_size() == VOCAB_SIZE
    hf_tok = hf_tokenizer(tok)

    # 3. base ------------------------------------------------------------------------------------------
    n_rows = args.base_steps * args.base_batch
    n_fact_rows = int(n_rows * FACT_SHARE)
    eng_docs, i, eng_rows = [], 0, 0
    while eng_rows < (n_rows - n_fact_rows) * 1.02:
        chunk = [e.ids for e in tok.encode_batch(train_lines[i:i + 4000])]
        eng_docs.extend(chunk)
        eng_rows += sum(len(d) + 1 for d in chunk) // BASE_SEQ
        i += 4000
    eng = pack(eng_docs, BASE_SEQ, eos_id)[: n_rows - n_fact_rows]
    rng_facts = random.Random(SEED + 4)
    fact_docs, fact_rows = [], 0
    while fact_rows < n_fact_rows * 1.02:
        order = list(range(len(people)))
        rng_facts.shuffle(order)
        chunk = [tok.encode(world.profile(people[j], rng_facts)).ids for j in order]
        fact_docs.extend(chunk)
        fact_rows += sum(len(d) + 1 for d in chunk) // BASE_SEQ
    facts = pack(fact_docs, BASE_SEQ, eos_id)[:n_fact_rows]
    rows = torch.cat([eng, facts])
    rows = rows[torch.randperm(rows.shape[0], generator=torch.Generator().manual_seed(SEED + 5))]
    log(f"base data: {eng.shape[0]} English rows ({i} passages) + {facts.shape[0]} fact rows of {BASE_SEQ} tokens")

    seed_everything(SEED)
    model = LlamaForCausalLM(LlamaConfig(**MODEL))
    n_params = sum(p.numel() for p in model.parameters())
    log(f"base: {n_params} parameters")
    bb = args.base_batch
    # Intermediate check: recall on a fixed quarter of the probe (held-out frames) and, to tell
    # "not memorised yet" from "memorised but only in the training phrasing", on the bare
    # training statements. Logged only; nothing in training depends on it.
    subset = items[::4]
    bare = world.probe_items(people, SEED + 6, frames=[""])[::2]
    trend = []

    def probe(step, m):
        r = {"step": step, "heldout_frames": fact_recall(m, tok, subset, eos_id),
             "training_statements": fact_recall(m, tok, bare, eos_id)}
        trend.append(r)
        return (f"fact recall {r['heldout_frames']:.3f} on {len(subset)} held-out-frame items, "
                f"{r['training_statements']:.3f} on {len(bare)} training statements")

    t_base, base_hist = train_loop(model, list(model.parameters()), lambda s: rows[s * bb:(s + 1) * bb],
                                   args.base_steps, args.base_lr, warmup=max(10, args.base_steps // 20), wd=0.1,
                                   name="base", log_every=50, probe=probe)
    n_tok = args.base_steps * bb * BASE_SEQ
    log(f"base trained: {args.base_steps} steps, {n_tok} tokens, {t_base:.0f}s ({n_tok / t_base:.0f} tokens/s)")
    base_dir = out / "base"
    model.to(torch.bfloat16).save_pretrained(base_dir, safe_serialization=True)
    hf_tok.save_pretrained(base_dir)
    record["base"] = {"parameters": n_params, "steps": args.base_steps, "batch": bb, "seq": BASE_SEQ,
                      "tokens": n_tok, "peak_lr": args.base_lr, "fact_share": FACT_SHARE, "seconds": round(t_base),
                      "tokens_per_second": round(n_tok / t_base),
                      "final_loss": sum(h["loss"] for h in base_hist[-20:]) / 20,
                      "world": {"people": len(people), "facts": len(people) * len(world.ATTRIBUTES),
                                "probe_items": len(items)},
                      "recall_during_training": trend}
    del model

    # 4. sanity check from the saved bf16 weights (forgetlens measures the same independently)
    base = LlamaForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    recall = fact_recall(base, tok, items, eos_id)
    bpb = bits_per_byte(base, tok, [d["text"] for d in english[:10]], eos_id, MODEL["max_position_embeddings"])
    record["base"]["fact_recall"] = recall
    record["base"]["english_bits_per_byte_first10"] = bpb
    log(f"base (bf16 as saved): fact recall {recall:.3f} on {len(items)} held-out-template items, "
        f"English bits/byte {bpb:.4f} (first 10 documents)")
    (out / "base" / "training.json").write_text(json.dumps(record, indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["all", "base", "finetune"], default="all",
                    help="base: world, tasks data, tokenizer, base; finetune: the --methods from the saved base")
    ap.add_argument("--out", type=Path, default=EXAMPLES / "checkpoints")
    ap.add_argument("--tasks-data", type=Path, default=EXAMPLES / "tasks" / "data")
    ap.add_argument("--base-steps", type=int, default=1500)
    ap.add_argument("--base-batch", type=int, default=16)
    ap.add_argument("--base-lr", type=float, default=3e-3)
    ap.add_argument("--tokenizer-lines", type=int, default=60_000)
    ap.add_argument("--methods", type=str, default=",".join(m[0] for m in METHODS))
    ap.add_argument("--save-steps", type=str, default=",".join(map(str, SAVE_STEPS)))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is faster when other jobs load the machine: no barrier waits)")
    args = ap.parse_args()
    save_steps = [int(s) for s in args.save_steps.split(",")]

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    seed_everything(SEED)
    t_start = time.time()
    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
                "peft": peft.__version__, "tokenizers": tokenizers.__version__}
    log(f"versions {versions}")
    out: Path = args.out
    if args.stage in ("all", "base"):
        train_base(args, out, versions)
    if args.stage in ("all", "finetune"):
        tok = Tokenizer.from_file(str(out / "base" / "tokenizer.json"))
        for m in METHODS:
            if m[0] in args.methods.split(","):
                finetune(*m, base_dir=out / "base", out=out, tok=tok, save_steps=save_steps)
    total = dir_size(out)
    log(f"{out}: {total / 1e6:.1f} MB; this stage took {time.time() - t_start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
