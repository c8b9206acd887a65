"""The candidate distribution every scheme starts from (docs/spec.md#schemes): logits divided by the
temperature, softmax, then top-k (the k largest logits, lower id first on ties) and top-p (smallest set of
most likely tokens with mass ≥ p, lower id first on ties). Candidate order and arithmetic follow
packages/core/src/sampling.ts so that Gumbel's argmin breaks ties the same way."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self):
        if not (self.temperature > 0 and np.isfinite(self.temperature)):
            raise ValueError("temperature must be a finite number > 0")
        if int(self.top_k) != self.top_k or self.top_k < 0:
            raise ValueError("top_k must be a whole number >= 0 (0 keeps every token)")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")


def candidates(logits, s: Sampling, top_k: int = 0):
    """(ids, weights): candidate token ids in core's order and their unnormalised probabilities
    exp((l - max)·(1/τ)). `top_k` (when > 0) overrides `s.top_k` (SynthID's tournament size)."""
    lg = np.asarray(logits, dtype=np.float32).reshape(-1).astype(np.float64)
    V = lg.shape[0]
    if V == 0:
        raise ValueError("logits are empty")
    k = top_k or s.top_k
    # Tokens at −inf have weight 0 in core too and can never be drawn; dropping them first makes a model
    # with a sparse support cheap without changing any result.
    live = np.nonzero(lg > -np.inf)[0] if np.isneginf(lg).any() else None
    if 0 < k < V and live is not None and live.shape[0] <= k:
        ids = live[np.argsort(-lg[live], kind="stable")]  # core's top-k order; the rest weigh 0
    elif 0 < k < V:
        # The k largest logits, lower id first on ties (a stable descending sort), via one partition.
        thr = -np.partition(-lg, k - 1)[k - 1]
        above = np.nonzero(lg > thr)[0]
        sel = np.sort(np.concatenate([above, np.nonzero(lg == thr)[0][: k - above.shape[0]]]))
        ids = sel[np.argsort(-lg[sel], kind="stable")]
    else:
        ids = np.arange(V) if live is None else live
    cl = lg[ids]
    mx = cl.max()
    if not np.isfinite(mx):
        raise ValueError("logits must contain a finite maximum")
    w = np.exp((cl - mx) * (1.0 / s.temperature))
    if s.top_p < 1:
        total = float(np.cumsum(w)[-1])  # summed in candidate order, as core does
        n = w.shape[0]
        keep = np.nonzero(w >= (1 - s.top_p) / (2 * n) * total)[0]
        order = keep[np.lexsort((ids[keep], -w[keep]))]  # weight descending, then id ascending
        mass = np.cumsum(w[order])
        m = int(np.searchsorted(mass, s.top_p * total, side="left")) + 1
        chosen = np.sort(order[: min(m, order.shape[0])])
        ids, w = ids[chosen], w[chosen]
    return ids.astype(np.int64), w
