"""A GPT-2-architecture decoder (Radford et al. 2019: pre-LayerNorm blocks, GELU MLP, learned positions,
tied input/output embeddings) with GPT-2's parameter names (transformer.h.N.attn.c_attn, ... ; Conv1D
weights stored [in, out]), so its state dict and ONNX graph read like any GPT-2's.

forward(input_ids, attention_mask, position_ids, *past) -> (logits, *present) with past/present laid out
as transformers.js expects for model_type "gpt2": per layer a key and a value of shape
[batch, n_head, seq, head_dim].
"""
import json
import math
import os

import torch
from torch import nn
from torch.nn import functional as F


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out).normal_(std=0.02))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg['n_head']
        self.head_dim = cfg['n_embd'] // cfg['n_head']
        self.c_attn = Conv1D(cfg['n_embd'], 3 * cfg['n_embd'])
        self.c_proj = Conv1D(cfg['n_embd'], cfg['n_embd'])
        self.c_proj.weight.data.normal_(std=0.02 / math.sqrt(2 * cfg['n_layer']))

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.n_head, self.head_dim).transpose(1, 2)

    def forward(self, x, bias, past_k=None, past_v=None):
        q, k, v = self.c_attn(x).split(x.shape[-1], dim=2)
        q, k, v = self.split(q), self.split(k), self.split(v)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + bias
        y = torch.matmul(torch.softmax(w, dim=-1), v)
        b, _, t, _ = y.shape
        y = y.transpose(1, 2).reshape(b, t, -1)
        return self.c_proj(y), k, v


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg['n_embd'], 4 * cfg['n_embd'])
        self.c_proj = Conv1D(4 * cfg['n_embd'], cfg['n_embd'])
        self.c_proj.weight.data.normal_(std=0.02 / math.sqrt(2 * cfg['n_layer']))

    def forward(self, x):
        # GPT-2's tanh approximation of GELU ("gelu_new").
        return self.c_proj(F.gelu(self.c_fc(x), approximate='tanh'))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg['n_embd'], eps=1e-5)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg['n_embd'], eps=1e-5)
        self.mlp = MLP(cfg)

    def forward(self, x, bias, past_k=None, past_v=None):
        a, k, v = self.attn(self.ln_1(x), bias, past_k, past_v)
        x = x + a
        return x + self.mlp(self.ln_2(x)), k, v


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg['vocab_size'], cfg['n_embd'])
        self.wpe = nn.Embedding(cfg['n_positions'], cfg['n_embd'])
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg['n_layer'])])
        self.ln_f = nn.LayerNorm(cfg['n_embd'], eps=1e-5)


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)

    def forward(self, input_ids, attention_mask=None, position_ids=None, *past):
        b, t = input_ids.shape
        past_len = past[0].shape[2] if past else 0
        total = past_len + t
        if position_ids is None:
            position_ids = torch.arange(past_len, total).unsqueeze(0).expand(b, t)
        if attention_mask is None:
            attention_mask = torch.ones(b, total)
        # Causal over the whole (past + new) sequence, and padding masked by attention_mask; -1e4 keeps the
        # softmax finite in float32 when a row is entirely masked.
        rows = torch.arange(past_len, total).unsqueeze(1)
        cols = torch.arange(0, total).unsqueeze(0)
        causal = (cols <= rows).to(torch.float32)
        keep = causal.unsqueeze(0).unsqueeze(0) * attention_mask.to(torch.float32)[:, None, None, :]
        bias = (1.0 - keep) * -1e4
        x = self.transformer.wte(input_ids) + self.transformer.wpe(position_ids)
        present = []
        for i, block in enumerate(self.transformer.h):
            pk, pv = (past[2 * i], past[2 * i + 1]) if past else (None, None)
            x, k, v = block(x, bias, pk, pv)
            present += [k, v]
        x = self.transformer.ln_f(x)
        logits = torch.matmul(x, self.transformer.wte.weight.t())
        return (logits, *present)


def load_shipped(model_dir):
    """The model a directory holds (config.json + weights.pt, float16 as train.py saves it), in float32 and
    eval mode; returns (model, config.json as a dict)."""
    with open(os.path.join(model_dir, 'config.json')) as f:
        c = json.load(f)
    model = GPT({k: c[k] for k in ('vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head')})
    sd = torch.load(os.path.join(model_dir, 'weights.pt'))
    model.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()})
    model.eval()
    return model, c
