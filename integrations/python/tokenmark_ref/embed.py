"""Every scheme's embed rule (docs/spec.md#schemes) as a next-token distribution, plus the repeated-context
rule (docs/spec.md#repeated-contexts).

`Embedder.distribution(logits, context)` returns the candidate ids and the log-weights of the exact
distribution the watermarked sampler draws from at this position:
- kgw, unigram: p'(x) ∝ p(x)·e^{δ·green(x)}, green iff lane 0 < round(γ·2^32) (Kirchenbauer et al. 2023);
- gumbel: all mass on argmin over candidates of −ln(r_x)/p(x) (Aaronson 2022; Kuditipudi et al. 2023);
- synthid: p_l(x) = p_{l−1}(x)·(1 + g_l(x) − Σ_y p_{l−1}(y) g_l(y)), g_l(x) = bit l of lane 0, over the
  tournament's top-k (Dathathri et al. 2024);
- positions without enough context, and gumbel positions whose context already occurred in this generation,
  get the plain candidate distribution p.
Sampling from that distribution (any RNG) is the scheme's embed step; a logits processor returns the
log-weights as logits (−inf elsewhere) for the engine to sample at temperature 1 without truncation.
"""
from __future__ import annotations

import numpy as np

from .keys import WatermarkKey
from .prf import uniform
from .sampling import Sampling, candidates
from .seeding import KeyedPrf

# Schemes whose embed step draws no randomness besides the key's: a repeated context would repeat the
# token, so they sample plainly on a context already used in the generation (docs/spec.md#repeated-contexts).
SKIP_REPEATED_CONTEXT = frozenset({"gumbel"})


def green_threshold(gamma: float) -> int:
    return min(4294967295, max(1, int(np.floor(gamma * 4294967296 + 0.5))))


def keyed_prf(key: WatermarkKey) -> KeyedPrf:
    p = key.params
    if key.scheme == "unigram":
        return KeyedPrf(key.derive_subkey("prf", 16), "none", 0)
    return KeyedPrf(key.derive_subkey("prf", 16), p["seeding"], p["context"])


class ContextHistory:
    """Contexts used since the current generation began. A generation advances one token per call; a call
    whose sequence is not exactly one token longer than the previous call's starts a new generation
    (the same rule as core's ContextHistory, so both skip the same positions)."""

    def __init__(self):
        self._seen: set[int] = set()
        self._last_len = -1

    def step(self, length: int) -> None:
        if length != self._last_len + 1:
            self._seen.clear()
        self._last_len = length

    def first_use(self, context_id: int) -> bool:
        """True the first time a context id is offered in this generation (and records it)."""
        if context_id in self._seen:
            return False
        self._seen.add(context_id)
        return True

    def reset(self) -> None:
        self._seen.clear()
        self._last_len = -1


class Embedder:
    """The embed side of one key for one stream of generations (one per request, or call `reset`)."""

    def __init__(self, key: WatermarkKey, sampling: Sampling | None = None):
        self.key = key
        self.sampling = sampling or Sampling()
        self.prf = keyed_prf(key)
        self.history = ContextHistory()
        p = key.params
        if key.scheme in ("kgw", "unigram"):
            self._threshold = green_threshold(p["gamma"])
            self._delta = float(p["delta"])
        elif key.scheme == "synthid":
            self._layers = int(p["layers"])
            k = int(p["topK"])
            self._top_k = min(self.sampling.top_k, k) if self.sampling.top_k > 0 else k

    def reset(self) -> None:
        self.history.reset()

    def watermarks(self, context) -> bool:
        """Whether the position after `context` is watermarked; advances the generation history."""
        ctx = np.asarray(context).reshape(-1)
        self.history.step(ctx.shape[0])
        if ctx.shape[0] < self.prf.need:
            return False
        if self.key.scheme in SKIP_REPEATED_CONTEXT:
            return self.history.first_use(self.prf.context_id(ctx))
        return True

    def distribution(self, logits, context):
        """(ids, logw): candidate ids and unnormalised log-probabilities of the watermarked draw."""
        scheme = self.key.scheme
        top_k = self._top_k if scheme == "synthid" else 0
        ids, w = candidates(logits, self.sampling, top_k)
        if not self.watermarks(context):
            with np.errstate(divide="ignore"):
                return ids, np.log(w)
        if scheme in ("kgw", "unigram"):
            green = self.prf.lane0(context, ids) < np.uint32(self._threshold)
            with np.errstate(divide="ignore"):
                return ids, np.log(w) + self._delta * green
        if scheme == "gumbel":
            best = self._gumbel_argmin(context, ids, w)
            logw = np.full(ids.shape[0], -np.inf)
            logw[best] = 0.0
            return ids, logw
        if scheme == "synthid":
            g = self.prf.lane0(context, ids)
            q = w / float(np.cumsum(w)[-1])
            for layer in range(self._layers):
                bit = ((g >> np.uint32(layer)) & np.uint32(1)).astype(np.float64)
                q = q * (1.0 + bit - float(np.dot(q, bit)))
            # 1 − mean ≥ 0 exactly, but when (nearly) all mass sits on g = 1 candidates rounding can leave the
            # mean an ulp above 1 and the others at −1e−17: zero mass (core's sampler skips them the same way).
            with np.errstate(divide="ignore"):
                return ids, np.log(np.maximum(q, 0.0))
        raise ValueError(f"unknown scheme {scheme}")

    def _gumbel_argmin(self, context, ids, w) -> int:
        """Index of argmin_i −ln(r_i)/w_i, the first on ties (core's order). As in core, lane 0 alone bounds
        −ln r ≥ 1 − r > 1 − ((w0 >>> 12) + 1)·2^−20, so lane 1 and the log are computed only for candidates
        whose bound beats the most likely candidate's exact value; the result is the same argmin."""
        (w0,) = self.prf.words(context, ids, (0,))
        bound = 1.0 - ((w0 >> np.uint32(12)).astype(np.float64) + 1.0) * 2.0**-20
        top = int(np.argmax(w))
        a, b = self.prf.words(context, ids[top : top + 1])
        v_top = float(-np.log(uniform(a, b))[0] / w[top])
        keep = np.nonzero(bound < v_top * w)[0]  # w = 0 never passes: bound ≥ 0
        a, b = self.prf.words(context, ids[keep])
        v = -np.log(uniform(a, b)) / w[keep]
        return int(keep[int(np.argmin(v))])

    def process(self, logits, context) -> np.ndarray:
        """Logits-processor form: full-vocabulary logits (float32) whose softmax is the watermarked
        distribution; −inf outside the candidates."""
        ids, logw = self.distribution(logits, context)
        out = np.full(np.asarray(logits).reshape(-1).shape[0], -np.inf, dtype=np.float32)
        out[ids] = logw
        return out

    def sample(self, logits, context, rng: np.random.Generator) -> int:
        """The embed step: the next token, drawn from `distribution` with `rng` (unused by gumbel)."""
        ids, logw = self.distribution(logits, context)
        p = np.exp(logw - logw.max())
        return int(ids[rng.choice(ids.shape[0], p=p / p.sum())])
