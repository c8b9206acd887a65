"""tokenmark reference for Python serving stacks: keys, PRF, seeding and every scheme's embed rule as
specified in docs/spec.md, bit-exact with @tokenmark/core (docs/vectors/prf.json). numpy only; the torch
adapters live in tokenmark_ref.processors."""
from .embed import SKIP_REPEATED_CONTEXT, ContextHistory, Embedder, green_threshold, keyed_prf
from .keys import TokenmarkError, WatermarkKey, canonical_json, hkdf_sha256, load_key_file, parse_key_file, resolve_params
from .prf import fmix32, uniform, words
from .sampling import Sampling, candidates
from .seeding import KeyedPrf, context_needed
from .siphash import siphash_bytes, siphash_words

__all__ = [
    "SKIP_REPEATED_CONTEXT", "ContextHistory", "Embedder", "green_threshold", "keyed_prf",
    "TokenmarkError", "WatermarkKey", "canonical_json", "hkdf_sha256", "load_key_file", "parse_key_file", "resolve_params",
    "fmix32", "uniform", "words", "Sampling", "candidates", "KeyedPrf", "context_needed", "siphash_bytes", "siphash_words",
]
