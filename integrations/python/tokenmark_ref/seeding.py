"""Seeding rules (docs/spec.md#seeding): which previous tokens key the PRF for a candidate.

- lefthash: seed = SipHash(t[i-h..i-1]);
- selfhash: anchor a = t[i-1]; window W = t[i-h+1..i-1] ∪ {candidate}; seed = min over W of SipHash(a, w)
  as unsigned 64-bit (Kirchenbauer et al. 2024, anchored min-hash) — one seed per candidate;
- none: SipHash of the empty message, one seed for every position (unigram).
"""
from __future__ import annotations

import numpy as np

from .prf import words as _words
from .siphash import siphash_words, siphash_words_int


def context_needed(rule: str, width: int) -> int:
    return {"lefthash": width, "selfhash": width - 1, "none": 0}[rule]


class KeyedPrf:
    """The PRF bound to a 16-byte sub-key and a seeding rule. `words(context, tokens)` gives lanes 0 and 1
    of every candidate in `tokens` for the position that follows `context` (its last `need` tokens)."""

    def __init__(self, subkey: bytes, rule: str, width: int):
        if rule == "selfhash" and width < 2:
            raise ValueError("selfhash needs a context width of at least 2")
        if rule == "lefthash" and width < 1:
            raise ValueError("lefthash needs a context width of at least 1")
        self.key = bytes(subkey)
        self.rule = rule
        self.width = width
        self.need = context_needed(rule, width)
        self._const = siphash_words_int(self.key, []) if rule == "none" else None

    def _tail(self, context) -> list:
        n = len(context)
        if n < self.need:
            raise ValueError("not enough context tokens for this seeding rule")
        return [int(t) for t in context[n - self.need:]]

    def seeds(self, context, tokens):
        """The 64-bit seed for each candidate (an int when it does not depend on the candidate)."""
        if self.rule == "none":
            return self._const
        tail = self._tail(context)
        if self.rule == "lefthash":
            return siphash_words_int(self.key, tail)
        anchor = tail[-1]
        m = np.uint64(min(siphash_words_int(self.key, [anchor, w]) for w in tail))
        t = np.asarray(tokens, dtype=np.uint64).reshape(-1)
        cand = siphash_words(self.key, np.stack([np.full(t.shape[0], anchor, dtype=np.uint64), t], axis=1))
        return np.minimum(cand, m)

    def words(self, context, tokens, lanes=(0, 1)):
        return _words(self.seeds(context, tokens), np.asarray(tokens, dtype=np.uint32), lanes)

    def lane0(self, context, tokens) -> np.ndarray:
        return self.words(context, tokens, (0,))[0]

    def context_id(self, context) -> int:
        """Keyed hash of the previous tokens alone (never the candidate): SipHash of the last `need` tokens."""
        if self.rule == "none":
            raise ValueError("a context-free seeding rule has no context id")
        return siphash_words_int(self.key, self._tail(context))
