"""SipHash-2-4 (Aumasson & Bernstein 2012), vectorised over many messages with numpy uint64.

docs/spec.md#prf: the context seed is SipHash-2-4 keyed with the 16-byte PRF sub-key over the
context tokens packed as little-endian u32. Messages of equal length are hashed together, one row
each, so selfhash can seed a whole vocabulary of candidates in one pass. numpy's uint64 arithmetic
wraps modulo 2^64, which is what SipHash's additions need.
"""
from __future__ import annotations

import numpy as np

_U64 = np.uint64
_MASK = (1 << 64) - 1


def _rotl(x: np.ndarray, b: int) -> np.ndarray:
    return (x << _U64(b)) | (x >> _U64(64 - b))


def _rounds(v0, v1, v2, v3, n):
    for _ in range(n):
        v0 = v0 + v1
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = v2 + v3
        v3 = _rotl(v3, 16) ^ v2
        v0 = v0 + v3
        v3 = _rotl(v3, 21) ^ v0
        v2 = v2 + v1
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def sip24_blocks(key: bytes, blocks: np.ndarray) -> np.ndarray:
    """SipHash-2-4 of pre-padded messages: `blocks` is (N, B) uint64, the last block carrying the
    length byte (SipHash paper §2). Returns N 64-bit tags as uint64."""
    if len(key) != 16:
        raise ValueError("SipHash key must be 16 bytes")
    k0 = _U64(int.from_bytes(key[:8], "little"))
    k1 = _U64(int.from_bytes(key[8:], "little"))
    n = blocks.shape[0]
    v0 = np.full(n, k0 ^ _U64(0x736F6D6570736575), dtype=np.uint64)
    v1 = np.full(n, k1 ^ _U64(0x646F72616E646F6D), dtype=np.uint64)
    v2 = np.full(n, k0 ^ _U64(0x6C7967656E657261), dtype=np.uint64)
    v3 = np.full(n, k1 ^ _U64(0x7465646279746573), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(blocks.shape[1]):
            m = blocks[:, b]
            v3 = v3 ^ m
            v0, v1, v2, v3 = _rounds(v0, v1, v2, v3, 2)
            v0 = v0 ^ m
        v2 = v2 ^ _U64(0xFF)
        v0, v1, v2, v3 = _rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def _rotl_int(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK


def sip24_int(key: bytes, blocks) -> int:
    """The same function on Python ints for one message: ~50× faster than numpy for a single context seed
    (the per-step cost of lefthash), and the definition the vectorised form is tested against."""
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:], "little")
    v0, v1, v2, v3 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573

    def rounds(v0, v1, v2, v3, n):
        for _ in range(n):
            v0 = (v0 + v1) & _MASK; v1 = _rotl_int(v1, 13) ^ v0; v0 = _rotl_int(v0, 32)
            v2 = (v2 + v3) & _MASK; v3 = _rotl_int(v3, 16) ^ v2
            v0 = (v0 + v3) & _MASK; v3 = _rotl_int(v3, 21) ^ v0
            v2 = (v2 + v1) & _MASK; v1 = _rotl_int(v1, 17) ^ v2; v2 = _rotl_int(v2, 32)
        return v0, v1, v2, v3

    for m in blocks:
        v3 ^= m
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
        v0 ^= m
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def siphash_bytes(key: bytes, msg: bytes) -> int:
    """SipHash-2-4 of a byte string (the reference definition; used for conformance vectors)."""
    n = len(msg)
    padded = msg + b"\x00" * (7 - n % 8) + bytes([n & 0xFF])
    return sip24_int(key, [int.from_bytes(padded[i : i + 8], "little") for i in range(0, len(padded), 8)])


def siphash_words_int(key: bytes, words) -> int:
    """SipHash-2-4 of one message of u32 words (ints), packed little-endian."""
    ws = [int(w) & 0xFFFFFFFF for w in words]
    c = len(ws)
    blocks = [0] * (c // 2 + 1)
    for i, w in enumerate(ws):
        blocks[i // 2] |= w << (32 * (i % 2))
    blocks[-1] |= ((4 * c) & 0xFF) << 56
    return sip24_int(key, blocks)


def siphash_words(key: bytes, words: np.ndarray) -> np.ndarray:
    """SipHash-2-4 of each row of `words` ((N, c) u32), packed little-endian: 4·c bytes per message.
    Returns N uint64 tags. Identical to `siphash_bytes` on the packed bytes."""
    words = np.asarray(words, dtype=np.uint64)
    if words.ndim == 1:
        words = words.reshape(1, -1)
    n, c = words.shape
    nblocks = c // 2 + 1
    blocks = np.zeros((n, nblocks), dtype=np.uint64)
    for i in range(c):
        blocks[:, i // 2] |= words[:, i] << _U64(32 * (i % 2))
    blocks[:, nblocks - 1] |= _U64(((4 * c) & 0xFF) << 56)
    return sip24_blocks(key, blocks)
