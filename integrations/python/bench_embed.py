"""Times the reference's embed step (Embedder.sample) per scheme on logits written by bench/python.mjs.
Usage: python3 bench_embed.py LOGITS.f32 CONTEXT_CSV SECRET_HEX MIN_SECONDS ROUNDS; prints JSON {scheme: seconds per step}."""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenmark_ref import Embedder, Sampling, WatermarkKey  # noqa: E402


def per_step(fn, min_seconds: float, rounds: int) -> float:
    """Median over rounds of the mean time of one call (each round repeats fn for ≥ min_seconds / rounds)."""
    fn()
    out = []
    for _ in range(rounds):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_seconds / rounds:
                break
        out.append(dt / n)
    return float(np.median(out))


def main():
    logits = np.fromfile(sys.argv[1], dtype="<f4")
    ctx = [int(x) for x in sys.argv[2].split(",")]
    secret = bytes.fromhex(sys.argv[3])
    min_seconds, rounds = float(sys.argv[4]), int(sys.argv[5])
    rng = np.random.default_rng(2)
    res = {}
    for scheme in ("kgw", "gumbel", "synthid", "unigram"):
        emb = Embedder(WatermarkKey(secret, scheme), Sampling(temperature=1.0))
        res[scheme] = per_step(lambda: emb.sample(logits, ctx, rng), min_seconds, rounds)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
