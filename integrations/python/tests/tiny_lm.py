"""A small seeded torch LM over real o200k_base token ids, for end-to-end tests until the shipped neural model
(issue 14 §1) is available: a fixed-window neural LM (Bengio et al. 2003) over the previous 3 tokens, trained
for 120 steps on Moby-Dick chapters tokenized by @tokenmark/core, over their 2048 most frequent
ids (the rest map to the most frequent id as input and are never predicted). Its output covers the whole
o200k_base vocabulary: the other ids get −inf, like a real model's vanishing probabilities."""
import numpy as np
import torch

WINDOW = 3


class TinyLM(torch.nn.Module):
    def __init__(self, n_local: int, dim: int = 64):
        super().__init__()
        self.emb = torch.nn.Embedding(n_local, dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(WINDOW * dim, 128), torch.nn.Tanh(), torch.nn.Linear(128, n_local))

    def forward(self, ctx: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.emb(ctx).flatten(1))


class FullVocabLM:
    """`logits(ids) -> FloatTensor[vocab]` over the tokenizer's ids, with the TinyLM inside."""

    def __init__(self, train_ids, vocab_size: int, seed: int = 0, steps: int = 120, n_local: int = 2048):
        torch.manual_seed(seed)
        ids = np.asarray(train_ids, dtype=np.int64)
        uniq, counts = np.unique(ids, return_counts=True)
        self.local_ids = np.sort(uniq[np.argsort(-counts, kind="stable")[:n_local]])
        self.to_local = {int(t): i for i, t in enumerate(self.local_ids)}
        ids = ids[np.isin(ids, self.local_ids)]  # train on the kept ids' sequence
        self.vocab_size = vocab_size
        local = torch.tensor([self.to_local[int(t)] for t in ids])
        self.model = TinyLM(len(self.local_ids))
        opt = torch.optim.Adam(self.model.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(seed)
        n = local.shape[0] - WINDOW
        for _ in range(steps):
            at = torch.randint(0, n, (128,), generator=gen)
            ctx = torch.stack([local[at + j] for j in range(WINDOW)], 1)
            loss = torch.nn.functional.cross_entropy(self.model(ctx), local[at + WINDOW])
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.final_loss = float(loss)
        self.model.eval()
        self._full_index = torch.from_numpy(self.local_ids)

    @torch.no_grad()
    def logits(self, ids) -> torch.Tensor:
        tail = [self.to_local.get(int(t), 0) for t in list(ids)[-WINDOW:]]
        tail = [0] * (WINDOW - len(tail)) + tail
        local = self.model(torch.tensor([tail]))[0]
        out = torch.full((self.vocab_size,), float("-inf"))
        out[self._full_index] = local
        return out
