"""The shipped neural model (models/tinylm: weights.pt + config.json, made by scripts/neural/train.sh) run in
torch for the end-to-end tests, with the one model definition of scripts/neural/model.py (imported, not
copied) and a KV cache, so a 200-token answer costs 200 one-token steps.

Like the lab's NeuralModel (packages/lab/src/neural/model.ts), a context is read as a document: the network
sees `<|endoftext|>` then the context's tokens; contexts must fit its n_positions window (prompt + answer
within 255 tokens), which the tests keep to rather than re-running a sliding window.
"""
import os
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODEL_DIR = os.path.join(ROOT, "models", "tinylm")
sys.path.insert(0, os.path.join(ROOT, "scripts", "neural"))
from model import load_shipped  # noqa: E402  (scripts/neural/model.py: the definition the weights were trained with)


class ShippedLM:
    """`logits(ids) -> FloatTensor[vocab]`; keeps the caches of the last few contexts it ran, so interleaved
    generations (a batch of requests) each extend their own cache by one token per step."""

    def __init__(self, model_dir: str = MODEL_DIR, keep: int = 4):
        self.model, c = load_shipped(model_dir)
        self.vocab_size = c["vocab_size"]
        self.n_positions = c["n_positions"]
        self.eot = c["eos_token_id"]
        self.keep = keep
        self._states: list[tuple[list[int], tuple, torch.Tensor]] = []  # (window ids, past, last logits)
        self.tokens_run = 0  # tokens through the network: what the tests bound instead of time

    @torch.no_grad()
    def logits(self, ids) -> torch.Tensor:
        window = [self.eot] + [int(t) for t in ids]
        if len(window) > self.n_positions:
            raise ValueError(f"context of {len(ids)} tokens exceeds the model's window ({self.n_positions - 1})")
        best = None
        for i, (w, past, last) in enumerate(self._states):
            if len(w) <= len(window) and window[:len(w)] == w and (best is None or len(w) > len(self._states[best][0])):
                best = i
        if best is not None and len(self._states[best][0]) == len(window):
            return self._states[best][2].clone()
        if best is not None:
            w, past, _ = self._states.pop(best)
        else:
            w, past = [], ()
        new = torch.tensor([window[len(w):]])
        out = self.model(new, None, None, *past)
        self.tokens_run += new.shape[1]
        last = out[0][0, -1]
        self._states.append((window, tuple(out[1:]), last))
        del self._states[:-self.keep]
        return last.clone()
