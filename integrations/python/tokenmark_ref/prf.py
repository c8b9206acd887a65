"""Candidate words and uniforms of the keyed PRF (docs/spec.md#candidate-words), over numpy arrays.

For a 64-bit context seed (hi, lo), a candidate token t and a lane l:
    a    = fmix32(lo ^ imul(t, 0x9E3779B1))
    b    = fmix32(a ^ hi ^ imul(l + 1, 0x85EBCA77))
    word = fmix32(b + lo)
fmix32 is the murmur3 32-bit finaliser (Appleby). numpy's uint32 multiplication wraps modulo 2^32,
which is `imul`. Seeds may be scalars or arrays broadcast against the tokens (selfhash: one seed
per candidate).
"""
from __future__ import annotations

import numpy as np

_U32 = np.uint32


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


def _mix_token(lo, tokens):
    return fmix32(lo ^ (tokens * _U32(0x9E3779B1)))


def _mix_lane(a, hi, lo, lane: int):
    b = fmix32(a ^ hi ^ _U32(((lane + 1) * 0x85EBCA77) & 0xFFFFFFFF))
    return fmix32(b + lo)


def split_seed(seed):
    """(hi, lo) u32 halves of a 64-bit seed (int or uint64 array)."""
    s = np.asarray(seed, dtype=np.uint64)
    return (s >> np.uint64(32)).astype(np.uint32), (s & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def words(seed, tokens, lanes=(0, 1)):
    """PRF words of `tokens` (u32 array) under `seed` (64-bit int or per-token uint64 array), one array
    per lane."""
    t = np.asarray(tokens, dtype=np.uint32)
    hi, lo = split_seed(seed)
    with np.errstate(over="ignore"):
        a = _mix_token(lo, t)
        return tuple(_mix_lane(a, hi, lo, lane) for lane in lanes)


def uniform(w0, w1):
    """r = ((w0 >>> 12)·2^32 + w1 + ½)·2^-52, exact in float64; 0 < r < 1 (docs/spec.md#prf)."""
    w0 = np.asarray(w0, dtype=np.uint32)
    w1 = np.asarray(w1, dtype=np.uint32)
    return ((w0 >> _U32(12)).astype(np.float64) * 4294967296.0 + w1.astype(np.float64) + 0.5) * 2.0**-52
