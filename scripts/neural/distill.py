"""Neural distillation (issue 14 §1, issue 13 §5's replay setting): the model side of
scripts/neural/distill.mjs, which prepares the job (key, prompt and human-text ids from the lab) and scores
what this writes with @tokenmark/core.

  python3 scripts/neural/distill.py --job job.json --out answers.json     (one thread; driven by distill.mjs)

1. Teacher: the shipped model (models/tinylm, weights.pt through scripts/neural/model.py) serves watermarked
   answers to the harvest prompts, cycling through them (record i answers prompt i mod n), each drawn by the
   Python reference's embedder (integrations/python, conformant with core: docs/vectors) over the top-k
   (default 50, as the n-gram teacher of docs/results.md §1).
2. Students: for each ρ, a copy of the shipped model is fine-tuned on a data set of D tokens: the first
   harvest records (prompt + answer sequences, `<|endoftext|>`-led as the model reads documents) making
   ρ·D tokens, and (1 − ρ)·D tokens of 256-token human-text windows; `passes` epochs over it, AdamW,
   linear warm-up then cosine to 10 %. ρ = 0 is the control student (human text only).
3. Probes, plain sampling at temperature 1 over the student's top-k (no watermark): `heldout` cycles through prompts the teacher never
   served, `replay` through the prompts of the records that student trained on (the control replays the
   smallest ρ > 0 student's records), each answer with a fresh seed, until `probe_tokens` answer tokens.

Everything is deterministic for the job's seed on one thread (torch.use_deterministic_algorithms; the BLAS
build can change the last bits, as in train.py). Answers are token ids; the driver decodes and scores them.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "integrations", "python"))
from model import GPT, load_shipped  # noqa: E402
from tokenmark_ref import Sampling, parse_key_file  # noqa: E402
from tokenmark_ref.embed import Embedder  # noqa: E402


def load_model(model_dir):
    model, c = load_shipped(model_dir)
    return model, c["eos_token_id"], c["n_positions"]


@torch.no_grad()
def generate(model, eot, prompts, max_new, pick, batch=32, batched=False):
    """Answers to `prompts` (lists of ids), `batch` at a time with a KV cache: rows are left-padded, masked
    and given their own positions, so each row sees exactly `<|endoftext|>` + its prompt + its answer.
    pick(row, logits[vocab] float32 tensor, context ids) -> next id, row counted within the batch, or with
    `batched` pick(logits[rows, vocab]) -> ids[rows] in one call; an answer ends at `<|endoftext|>` or when
    the row fills the model's window."""
    model.eval()
    n_pos = model.cfg["n_positions"]
    out = []
    for s in range(0, len(prompts), batch):
        rows = prompts[s:s + batch]
        width = 1 + max(len(p) for p in rows)
        ids = torch.full((len(rows), width), eot, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, p in enumerate(rows):
            ids[r, width - 1 - len(p):] = torch.tensor([eot] + p)
            mask[r, width - 1 - len(p):] = 1
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        res = model(ids, mask, pos)
        logits, past = res[0][:, -1], res[1:]
        answers = [[] for _ in rows]
        done = [False] * len(rows)
        nxt_pos = mask.sum(1, keepdim=True)
        for step in range(max_new):
            nxt = torch.empty((len(rows), 1), dtype=torch.long)
            drawn = pick(logits).tolist() if batched else None
            for r in range(len(rows)):
                t = eot if done[r] else drawn[r] if batched else pick(r, logits[r], rows[r] + answers[r])
                if not done[r]:
                    if t == eot:
                        done[r] = True
                    else:
                        answers[r].append(t)
                        done[r] = 2 + len(rows[r]) + len(answers[r]) > n_pos  # the next step would not fit
                nxt[r, 0] = t
            if all(done) or step == max_new - 1:
                break
            mask = torch.cat([mask, torch.ones((len(rows), 1), dtype=torch.long)], 1)
            # Finished rows keep feeding <|endoftext|> (ignored); their positions are clamped to the table.
            res = model(nxt, mask, nxt_pos.clamp(max=n_pos - 1), *past)
            nxt_pos = nxt_pos + 1
            logits, past = res[0][:, -1], res[1:]
        out.extend(answers)
    return out


def train_student(base_sd, cfg, examples, passes, lr, batch, seed):
    """Fine-tunes a copy of the shipped model on `examples` (lists of ids), `passes` shuffled epochs."""
    torch.manual_seed(seed)
    model = GPT(cfg)
    model.load_state_dict(base_sd)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
    rng = np.random.RandomState(seed)
    order = [rng.permutation(len(examples)) for _ in range(passes)]
    batches = [o[i:i + batch] for o in order for i in range(0, len(o), batch)]
    warmup = max(1, len(batches) // 20)
    losses = []
    t0 = time.time()
    for step, b in enumerate(batches):
        f = (step + 1) / warmup if step < warmup else 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / max(1, len(batches) - warmup)))
        for g in opt.param_groups:
            g["lr"] = lr * f
        seqs = [examples[i] for i in b]
        width = max(len(x) for x in seqs)
        x = torch.zeros((len(seqs), width), dtype=torch.long)
        y = torch.full((len(seqs), width - 1), -100, dtype=torch.long)  # -100: padding, no loss
        for r, q in enumerate(seqs):
            x[r, :len(q)] = torch.tensor(q)
            y[r, :len(q) - 1] = torch.tensor(q[1:])
        logits = model(x[:, :-1])[0]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    seconds = time.time() - t0
    model.eval()
    return model, {"steps": len(batches), "seconds": round(seconds, 1), "perStep": round(seconds / max(1, len(batches)), 3),
                   "tokens": int(sum(len(examples[i]) for o in order for i in o)),
                   "lossFirst": round(float(np.mean(losses[:10])), 3), "lossLast": round(float(np.mean(losses[-10:])), 3)}


def probe(model, eot, prompts, tokens, max_new, seed, batch, top_k):
    """Cycles through `prompts` with fresh seeds until `tokens` answer tokens: [(prompt index, answer ids)].
    Plain sampling at temperature 1 over the top_k most likely tokens (0: all)."""
    gen = torch.Generator().manual_seed(seed)

    def pick(logits):
        if top_k:
            v, i = torch.topk(logits, top_k, dim=-1)
            return i.gather(1, torch.multinomial(torch.softmax(v, -1), 1, generator=gen))[:, 0]
        return torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)[:, 0]

    out, n, i = [], 0, 0
    while n < tokens:
        idx = [(i + j) % len(prompts) for j in range(batch)]
        i += batch
        for k, a in zip(idx, generate(model, eot, [prompts[k] for k in idx], max_new, pick, batch, batched=True)):
            if n >= tokens:
                break
            out.append((k, a))
            n += len(a)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    with open(args.job) as f:
        job = json.load(f)
    seed, rhos, D, passes = job["seed"], job["rhos"], job["datasetTokens"], job["passes"]
    max_new, batch = job["answerTokens"], job["batch"]
    with open(job["keyPath"]) as f:
        key = parse_key_file(f.read())
    model, eot, n_pos = load_model(job["modelDir"])
    cfg = model.cfg
    base_sd = {k: v.clone() for k, v in model.state_dict().items()}
    harvest_prompts, heldout_prompts, human = job["harvestPrompts"], job["heldoutPrompts"], job["human"]
    timing = {}

    # 1. Teacher: enough records for the largest ρ·D (prompt + answer tokens, each led by <|endoftext|>).
    t0 = time.time()
    need = max(rhos) * D
    records, have, rng = [], 0, np.random.default_rng(seed)
    while have < need:
        print(f"teacher: {have} / {need:.0f} tokens, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        k0 = len(records)
        idx = [(k0 + j) % len(harvest_prompts) for j in range(batch)]
        embedders = [Embedder(key, Sampling(top_k=job["teacherTopK"])) for _ in idx]
        answers = generate(model, eot, [harvest_prompts[k] for k in idx], max_new,
                           lambda row, logits, ctx: embedders[row].sample(logits.numpy(), ctx, rng), batch)
        for k, a in zip(idx, answers):
            if have >= need:
                break
            records.append((k, a))
            have += 1 + len(harvest_prompts[k]) + len(a)
    timing["teacher"] = round(time.time() - t0, 1)
    teacher_tokens = sum(len(a) for _, a in records)

    # Human windows: 256-token windows of the human stream, in order, as many as any student needs.
    win = n_pos
    human_windows = [human[i:i + win] for i in range(0, len(human) - win + 1, win)]

    def dataset(rho):
        ex, h = [], 0
        for k, a in records:
            if h >= rho * D:
                break
            seq = [eot] + harvest_prompts[k] + a
            ex.append(seq[:win])
            h += len(ex[-1])
        used = len(ex)
        m = 0
        while m < (1 - rho) * D:
            if len(ex) - used >= len(human_windows):
                raise SystemExit(f"distill.py: the human text has {len(human_windows)} windows; ρ = {rho} needs more")
            ex.append(human_windows[len(ex) - used])
            m += len(ex[-1])
        return ex, used, h, m

    smallest = min((r for r in rhos if r > 0), default=None)
    smallest_used = dataset(smallest)[1] if smallest is not None else 0
    students = []
    for rho in rhos:
        ex, used, h, m = dataset(rho)
        student, train = train_student(base_sd, cfg, ex, passes, job["lr"], job["trainBatch"], seed * 1000 + round(rho * 1e4))
        replay_records = records[:used] if used else records[:smallest_used]
        print(f"rho {rho}: trained {train['steps']} steps in {train['seconds']} s; probing", file=sys.stderr, flush=True)
        t1 = time.time()
        probes = {
            "heldout": probe(student, eot, heldout_prompts, job["probeTokens"], max_new, seed * 7919 + 1, batch, job["probeTopK"]),
            "replay": [(replay_records[k][0], a) for k, a in
                       probe(student, eot, [harvest_prompts[p] for p, _ in replay_records], job["probeTokens"], max_new, seed * 7919 + 2, batch, job["probeTopK"])]
            if replay_records else [],
        }
        train["probeSeconds"] = round(time.time() - t1, 1)
        students.append({"rho": rho, "records": used, "harvestTokens": h, "humanTokens": m, "replayRecords": len(replay_records),
                         "train": train, "probes": {k: [{"prompt": p, "ids": a} for p, a in v] for k, v in probes.items()}})
        print(f"rho {rho}: {used} records, {h} harvest + {m} human tokens, {train['steps']} steps {train['seconds']} s "
              f"(loss {train['lossFirst']} -> {train['lossLast']}), probes {train['probeSeconds']} s", file=sys.stderr, flush=True)

    with open(args.out, "w") as f:
        json.dump({"seed": seed, "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": os.environ.get("TOKENMARK_BLAS", "unknown"),
                   "teacher": {"records": len(records), "answerTokens": teacher_tokens, "seconds": timing["teacher"],
                               "answers": [{"prompt": k, "ids": a} for k, a in records]},
                   "students": students}, f)


if __name__ == "__main__":
    main()
