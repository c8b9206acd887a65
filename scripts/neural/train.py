"""Train models/tinylm: the BPE vocabulary, then the GPT-2-style model, deterministically for --seed on one
CPU thread. Writes tokenizer.json, config.json, weights.pt (float16 state dict) and the training record
train-record.json into --out; export.py then writes onnx/model.onnx.

  node scripts/neural/corpus.mjs /tmp/corpus.json
  python3 scripts/neural/train.py --corpus /tmp/corpus.json --out models/tinylm

Batches draw windows of n_positions + 1 tokens from Moby-Dick's train chapters and the State of the Union
training addresses half and half (the addresses have ~12x the text; the lab prompts and measures on
Moby-Dick). Held-out perplexity is exp of the mean token cross-entropy over non-overlapping windows of the
held-out documents (each document separately, Moby-Dick and SOTU reported apart).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from model import GPT  # noqa: E402


def stream(enc, docs, eot):
    out = []
    for d in docs:
        out.extend(enc.encode(d))
        out.append(eot)
    return np.array(out, dtype=np.int64)


@torch.no_grad()
def perplexity(model, enc, docs, ctx):
    model.eval()
    nll, n = 0.0, 0
    for d in docs:
        ids = enc.encode(d)
        for s in range(0, len(ids) - 1, ctx):
            chunk = torch.tensor(ids[s:s + ctx + 1]).unsqueeze(0)
            if chunk.shape[1] < 2:
                continue
            logits = model(chunk[:, :-1])[0]
            nll += torch.nn.functional.cross_entropy(logits[0], chunk[0, 1:], reduction='sum').item()
            n += chunk.shape[1] - 1
    model.train()
    return math.exp(nll / n), n


def write_tokenizer_config(out, ctx):
    """tokenizer_config.json as transformers and transformers.js read it for a GPT-2 tokenizer."""
    cfg = {'tokenizer_class': 'GPT2Tokenizer', 'model_max_length': ctx, 'add_prefix_space': False,
           'bos_token': bpe.EOT, 'eos_token': bpe.EOT, 'unk_token': bpe.EOT, 'clean_up_tokenization_spaces': False}
    with open(os.path.join(out, 'tokenizer_config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--corpus', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--vocab', type=int, default=4096)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--width', type=int, default=256)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--ctx', type=int, default=256)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--steps', type=int, default=400)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--time-steps', type=int, default=0, help='only time this many steps and exit')
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.RandomState(args.seed)
    t0 = time.time()

    with open(args.corpus, encoding='utf-8') as f:
        corpus = json.load(f)
    train_docs = corpus['train']['mobyDick'] + corpus['train']['sotu']
    os.makedirs(args.out, exist_ok=True)
    vocab, merges = bpe.train(train_docs, args.vocab)
    bpe.save(os.path.join(args.out, 'tokenizer.json'), vocab, merges)
    enc = bpe.Encoder(vocab, merges)
    eot = vocab[bpe.EOT]
    streams = [stream(enc, corpus['train']['mobyDick'], eot), stream(enc, corpus['train']['sotu'], eot)]
    t_tok = time.time() - t0

    cfg = {'vocab_size': len(vocab), 'n_positions': args.ctx, 'n_embd': args.width, 'n_layer': args.layers, 'n_head': args.heads}
    model = GPT(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr, betas=(0.9, 0.95))
    warmup = max(1, args.steps // 20)
    steps = args.time_steps or args.steps
    losses = []
    t1 = time.time()
    for step in range(steps):
        # Linear warm-up then cosine decay to 10 % (the GPT-2/3 recipe at toy scale).
        lr = args.lr * (step + 1) / warmup if step < warmup else args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / (args.steps - warmup))))
        for g in opt.param_groups:
            g['lr'] = lr
        xs = []
        for b in range(args.batch):
            s = streams[b % 2]
            i = rng.randint(0, len(s) - args.ctx - 1)
            xs.append(s[i:i + args.ctx + 1])
        x = torch.from_numpy(np.stack(xs))
        logits = model(x[:, :-1])[0]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            print(f'step {step} loss {loss.item():.3f} lr {lr:.2e} {time.time() - t1:.0f}s', flush=True)
    t_train = time.time() - t1
    if args.time_steps:
        print(f'{t_train / steps:.3f} s/step, params {n_params}, tokens {[len(s) for s in streams]}, tokenizer {t_tok:.0f}s')
        return

    ppl_md, n_md = perplexity(model, enc, corpus['heldout']['mobyDick'], args.ctx)
    # The first five held-out addresses (~50k tokens) bound the evaluation's CPU time.
    ppl_sotu, n_sotu = perplexity(model, enc, corpus['heldout']['sotu'][:5], args.ctx)
    sd = {k: v.to(torch.float16) for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(args.out, 'weights.pt'))
    config = {
        'model_type': 'gpt2',
        'architectures': ['GPT2LMHeadModel'],
        'vocab_size': cfg['vocab_size'],
        'n_positions': cfg['n_positions'],
        'n_ctx': cfg['n_positions'],
        'n_embd': cfg['n_embd'],
        'n_layer': cfg['n_layer'],
        'n_head': cfg['n_head'],
        'n_inner': None,
        'activation_function': 'gelu_new',
        'layer_norm_epsilon': 1e-5,
        'tie_word_embeddings': True,
        'bos_token_id': eot,
        'eos_token_id': eot,
        'use_cache': True,
    }
    with open(os.path.join(args.out, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    write_tokenizer_config(args.out, args.ctx)
    record = {
        'seed': args.seed,
        'command': 'python3 scripts/neural/train.py --corpus <corpus.json> --out models/tinylm' + ''.join(
            f' --{k.replace("_", "-")} {v}' for k, v in vars(args).items() if k not in ('corpus', 'out', 'time_steps')),
        'torch': torch.__version__,
        'blas': os.environ.get('TOKENMARK_BLAS', 'unknown'),
        'threads': 1,
        'parameters': n_params,
        'config': cfg,
        'optimizer': {'type': 'AdamW', 'lr': args.lr, 'betas': [0.9, 0.95], 'weight_decay': 0.1, 'warmup': warmup, 'schedule': 'cosine to 10 %', 'clip': 1.0},
        'batch': {'sequences': args.batch, 'tokens': args.batch * args.ctx, 'mix': 'half Moby-Dick train, half SOTU train'},
        'steps': args.steps,
        'trainTokensSeen': args.steps * args.batch * args.ctx,
        'trainTokens': {'mobyDick': int(len(streams[0])), 'sotu': int(len(streams[1]))},
        'seconds': {'tokenizer': round(t_tok, 1), 'training': round(t_train, 1), 'perStep': round(t_train / args.steps, 4)},
        'finalTrainLoss': round(float(np.mean(losses[-100:])), 4),
        'heldoutPerplexity': {'mobyDick': round(ppl_md, 2), 'mobyDickTokens': n_md, 'sotu': round(ppl_sotu, 2), 'sotuTokens': n_sotu},
        'lossEvery100': [round(float(np.mean(losses[i:i + 100])), 4) for i in range(0, len(losses), 100)],
    }
    with open(os.path.join(args.out, 'train-record.json'), 'w') as f:
        json.dump(record, f, indent=2)
    print(json.dumps({k: record[k] for k in ('parameters', 'seconds', 'finalTrainLoss', 'heldoutPerplexity')}))


if __name__ == '__main__':
    main()
