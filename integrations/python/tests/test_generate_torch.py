"""End to end on the shipped model (issue 14 §3): 200-token answers generated through the torch adapters on
models/tinylm's torch weights (tests/shipped_lm.py) are detected by @tokenmark/core's detector (via
tests/core_bridge.mjs, the text re-tokenized with the model's own tokenizer.json through core's Hugging Face
adapter) at p < 1e-6, for every scheme, with key files written by this package; another key finds nothing."""
import unittest
from types import SimpleNamespace

import numpy as np
import torch

from tokenmark_ref import Sampling, WatermarkKey
from tokenmark_ref.processors import HFWatermarkProcessor, RequestProcessor, SGLangWatermarkProcessor

from .bridge import core
from .shipped_lm import ShippedLM

torch.set_num_threads(1)
LM = None
PROMPTS = None
TOKENS = 200


def setUpModule():
    global LM, PROMPTS
    LM = ShippedLM()
    data = core("prompts")
    assert data["vocabSize"] == LM.vocab_size, "tokenizer.json and config.json disagree on the vocabulary"
    PROMPTS = data["prompts"]


def key_for(scheme: str, n: int = 1) -> WatermarkKey:
    return WatermarkKey(bytes((i * 17 + n * 101) & 255 for i in range(32)), scheme, {}, "tinylm")


def generate_hf(proc, prompt, seed):
    """A transformers-style loop: scores for the batch, the processor, then multinomial at temperature 1."""
    ids = torch.tensor([prompt])
    gen = torch.Generator().manual_seed(seed)
    for _ in range(TOKENS):
        scores = LM.logits(ids[0].tolist()).unsqueeze(0)
        scores = proc(ids, scores)
        nxt = torch.multinomial(torch.softmax(scores, -1), 1, generator=gen)
        ids = torch.cat([ids, nxt], 1)
    return ids[0, len(prompt):].tolist()


def generate_request(proc, prompt, seed):
    """A vLLM-style loop: the per-request callable sees (prompt ids, output ids, 1-D logits)."""
    out = []
    gen = torch.Generator().manual_seed(seed)
    for _ in range(TOKENS):
        logits = proc(prompt, out, LM.logits(prompt + out))
        out.append(int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)))
    return out


class DetectedByCore(unittest.TestCase):
    def check(self, key, responses):
        res = core("detect", {"keyFile": key.to_key_file(), "responses": responses})
        other = core("detect", {"keyFile": key_for(key.scheme, 2).to_key_file(), "responses": responses})
        for r, o in zip(res, other):
            self.assertGreater(r["tokensScored"], 100)
            self.assertLess(r["pValue"], 1e-6, f"{key.scheme}: {r}")
            self.assertGreater(o["pValue"], 1e-3, f"{key.scheme} under another key: {o}")

    def test_hf_processor_kgw_and_synthid(self):
        for scheme in ("kgw", "synthid"):
            key = key_for(scheme)
            resp = [generate_hf(HFWatermarkProcessor(key, Sampling(top_k=100)), PROMPTS[i], i) for i in range(2)]
            self.check(key, resp)

    def test_request_processor_gumbel_and_unigram(self):
        for scheme in ("gumbel", "unigram"):
            key = key_for(scheme)
            resp = [generate_request(RequestProcessor(key, Sampling(temperature=1.0)), PROMPTS[i], 10 + i) for i in range(2)]
            self.check(key, resp)

    def test_sglang_processor_uses_each_requests_key(self):
        ka, kb = key_for("kgw", 3), key_for("kgw", 4)
        proc = SGLangWatermarkProcessor({ka.key_id: ka, kb.key_id: kb})
        reqs = [SimpleNamespace(rid=f"r{i}", origin_input_ids=PROMPTS[i], output_ids=[]) for i in range(2)]
        gen = torch.Generator().manual_seed(5)
        for _ in range(TOKENS):
            logits = torch.stack([LM.logits(r.origin_input_ids + r.output_ids) for r in reqs])
            logits = proc(logits, [{"tokenmark_key": ka.key_id, "__req__": reqs[0]}, {"tokenmark_key": kb.key_id, "__req__": reqs[1]}])
            nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)[:, 0]
            for r, t in zip(reqs, nxt.tolist()):
                r.output_ids.append(t)
        a = core("detect", {"keyFile": ka.to_key_file(), "responses": [reqs[0].output_ids, reqs[1].output_ids]})
        self.assertLess(a[0]["pValue"], 1e-6)
        self.assertGreater(a[1]["pValue"], 1e-3)  # request 1 was marked with its own key, not ka

    def test_model_is_the_shipped_lm(self):
        # Its held-out perplexity (train-record.json: ~240) is far below the 4096 of a uniform guess, and
        # the cache ran each generated token once (bounded work, not time).
        text = PROMPTS[0] + PROMPTS[1]
        nll = sum(float(-torch.log_softmax(LM.logits(text[:i]), -1)[text[i]]) for i in range(1, len(text)))
        self.assertLess(nll / (len(text) - 1), 7.0)  # ln 4096 ≈ 8.3
        self.assertLess(LM.tokens_run, 10_000)  # 4 generations of ~230 tokens so far, plus this text


if __name__ == "__main__":
    unittest.main()
