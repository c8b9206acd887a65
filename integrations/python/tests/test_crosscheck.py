"""The reference agrees with @tokenmark/core bit for bit: key files, lane-0 words (green lists, g-values)
for 2000 random contexts per configuration, Gumbel draws on 1000 logits vectors under five samplings,
and the repeated-context rule over a generation whose contexts repeat."""
import unittest

import numpy as np

from tokenmark_ref import Embedder, Sampling, fmix32, green_threshold, keyed_prf, parse_key_file

from .bridge import core

DATA = None


def setUpModule():
    global DATA
    DATA = core("crosscheck")


def formula_logits(c: int, n: int) -> np.ndarray:
    """Same as core_bridge.mjs: fmix32 of (case, token) / 2^32 × scale, rounded to float32."""
    with np.errstate(over="ignore"):
        u = fmix32((np.uint32(c) * np.uint32(65536)) + np.arange(n, dtype=np.uint32))
    return (u.astype(np.float64) / 4294967296.0 * (1 + c % 12)).astype(np.float32)


def sampling_of(s: dict) -> Sampling:
    return Sampling(temperature=s.get("temperature", 1.0), top_k=s.get("topK", 0), top_p=s.get("topP", 1.0))


class AgreesWithCore(unittest.TestCase):
    def test_lane0_words_green_lists_and_g_values(self):
        for cfg in DATA["configs"]:
            key = parse_key_file(cfg["keyFile"])
            prf = keyed_prf(key)
            self.assertEqual(len(cfg["lanes"]), 2000)
            got = np.stack([prf.lane0(case["context"], case["tokens"]) for case in cfg["lanes"]])
            want = np.array([case["lane0"] for case in cfg["lanes"]], dtype=np.uint32)
            with self.subTest(config=cfg["config"]):
                self.assertTrue(np.array_equal(got, want), f"{int((got != want).sum())} of {want.size} words differ")
                if key.scheme in ("kgw", "unigram"):
                    green = got < np.uint32(green_threshold(key.params["gamma"]))
                    self.assertTrue(0.1 < green.mean() < 0.9)  # both colours occur: the comparison is not vacuous

    def test_gumbel_draws(self):
        n = 0
        for cfg in DATA["configs"]:
            if cfg["config"]["scheme"] != "gumbel":
                continue
            key = parse_key_file(cfg["keyFile"])
            for d in cfg["draws"]:
                emb = Embedder(key, sampling_of(d["sampling"]))
                tok = int(np.argmax(emb.process(formula_logits(d["case"], d["n"]), d["context"])))
                self.assertEqual(tok, d["token"], f"case {d['case']} {d['sampling']}")
                n += 1
        self.assertEqual(n, 2000)

    def test_repeated_contexts_are_skipped_at_the_same_positions(self):
        for cfg in DATA["configs"]:
            gen = cfg.get("generation")
            if gen is None:
                continue
            key = parse_key_file(cfg["keyFile"])
            emb = Embedder(key)
            seq = gen["tokens"]
            skipped = 0
            for i in range(gen["prompt"], len(seq)):
                ctx = seq[:i]
                ids, logw = emb.distribution(formula_logits(seq[i - 1], 4), ctx)
                if np.isfinite(logw).sum() == 1:  # watermarked: the Gumbel choice must be core's token
                    self.assertEqual(int(ids[np.argmax(logw)]), seq[i], f"position {i}")
                else:
                    skipped += 1
            # 4 tokens and contexts of width ≤ 4 (≤ 256 contexts): many of 300 positions repeat a context.
            self.assertGreater(skipped, 40)


if __name__ == "__main__":
    unittest.main()
