"""Watermark keys (docs/spec.md#keys): canonical configuration, HKDF-SHA256 sub-keys, commitment, key id,
and the strict key-file parser. Errors never contain any part of the secret."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from datetime import datetime, timezone
from decimal import Decimal

KEY_FILE_FORMAT = "tokenmark-key"
KEY_FILE_VERSION = 1
SECRET_BYTES = 32
_KEY_FIELDS = ("format", "version", "keyId", "commitment", "scheme", "params", "tokenizer", "created", "secret")


class TokenmarkError(ValueError):
    """A key or configuration is unusable; `code` matches the TypeScript implementation's codes."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# ---- parameters: the same defaults and ranges as packages/core/src/schemes/*.ts ----

def _num(raw, name, default, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    v = raw.get(name, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise TokenmarkError("E_BAD_PARAM", f"parameter {name} must be a finite number")
    bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and (v >= hi if hi_open else v > hi))
    if bad or (integer and v != int(v)):
        raise TokenmarkError("E_BAD_PARAM", f"parameter {name} is out of range")
    return int(v) if float(v).is_integer() else float(v)


def _seeding(raw, allowed, default):
    v = raw.get("seeding", default)
    if v not in allowed:
        raise TokenmarkError("E_BAD_PARAM", f"parameter seeding must be one of {', '.join(allowed)}")
    return v


def _known(raw, known, scheme):
    for k in raw:
        if k not in known:
            raise TokenmarkError("E_BAD_PARAM", f"unknown parameter {k} for scheme {scheme}")


def resolve_params(scheme: str, raw: dict | None) -> dict:
    """Validates parameters and fills every default, so one configuration has one canonical form."""
    raw = dict(raw or {})
    if scheme == "kgw":
        _known(raw, ("gamma", "delta", "seeding", "context"), scheme)
        s = _seeding(raw, ("lefthash", "selfhash"), "lefthash")
        return {
            "gamma": _num(raw, "gamma", 0.25, 0, 1, True, True),
            "delta": _num(raw, "delta", 2, 0, 20),
            "seeding": s,
            "context": _num(raw, "context", 4 if s == "selfhash" else 1, 2 if s == "selfhash" else 1, 16, integer=True),
        }
    if scheme == "unigram":
        _known(raw, ("gamma", "delta"), scheme)
        return {"gamma": _num(raw, "gamma", 0.5, 0, 1, True, True), "delta": _num(raw, "delta", 2, 0, 20)}
    if scheme == "gumbel":
        _known(raw, ("seeding", "context"), scheme)
        s = _seeding(raw, ("lefthash", "selfhash"), "lefthash")
        return {"seeding": s, "context": _num(raw, "context", 4, 2 if s == "selfhash" else 1, 16, integer=True)}
    if scheme == "synthid":
        _known(raw, ("layers", "topK", "seeding", "context"), scheme)
        s = _seeding(raw, ("lefthash", "selfhash"), "lefthash")
        return {
            "layers": _num(raw, "layers", 30, 1, 32, integer=True),
            "topK": _num(raw, "topK", 40, 2, 1024, integer=True),
            "seeding": s,
            "context": _num(raw, "context", 4, 2 if s == "selfhash" else 1, 16, integer=True),
        }
    raise TokenmarkError("E_UNKNOWN_SCHEME", f'unknown scheme "{str(scheme)[:40]}" (known: kgw, gumbel, synthid, unigram)')


# ---- canonical JSON (ECMAScript JSON.stringify numbers, keys sorted recursively) ----

def js_number(x) -> str:
    """A number as ECMAScript's Number::toString writes it (shortest round-trip digits, JS exponent rules)."""
    if isinstance(x, bool) or not math.isfinite(x):
        raise ValueError("not a finite number")
    if x == 0:
        return "0"
    sign, digits, exp = Decimal(repr(float(x))).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    exp += len(digits) - len(ds)
    k = len(ds)
    n = exp + k
    out = "-" if sign else ""
    if k <= n <= 21:
        return out + ds + "0" * (n - k)
    if 0 < n <= 21:
        return out + ds[:n] + "." + ds[n:]
    if -6 < n <= 0:
        return out + "0." + "0" * (-n) + ds
    e = n - 1
    mant = ds if k == 1 else ds[0] + "." + ds[1:]
    return out + mant + "e" + ("+" if e > 0 else "-") + str(abs(e))


def canonical_json(v) -> str:
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_json(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(canonical_json(x) for x in v) + "]"
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, (int, float)):
        return js_number(v)
    return json.dumps(v, ensure_ascii=False)


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 extract-and-expand with SHA-256."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


class WatermarkKey:
    """32 secret bytes plus a configuration {scheme, params, tokenizer}. The secret is not printed by repr."""

    __slots__ = ("_secret", "scheme", "params", "tokenizer", "commitment", "key_id")

    def __init__(self, secret: bytes, scheme: str, params: dict | None = None, tokenizer: str = "o200k_base"):
        if not isinstance(secret, (bytes, bytearray)) or len(secret) != SECRET_BYTES:
            raise TokenmarkError("E_KEY_LENGTH", f"a watermark key secret must be {SECRET_BYTES} bytes")
        if not isinstance(tokenizer, str) or not 0 < len(tokenizer) <= 200:
            raise TokenmarkError("E_BAD_PARAM", "tokenizer must be a non-empty name")
        self._secret = bytes(secret)
        self.params = resolve_params(scheme, params)
        self.scheme = scheme
        self.tokenizer = tokenizer
        c = self.canonical_config().encode()
        self.commitment = hashlib.sha256(b"tokenmark/v1/commitment\x00" + self._secret + c).hexdigest()
        self.key_id = "tmk_" + self.commitment[:16]

    def canonical_config(self) -> str:
        return canonical_json({"scheme": self.scheme, "params": self.params, "tokenizer": self.tokenizer})

    def derive_subkey(self, purpose: str = "prf", length: int = 16) -> bytes:
        info = f"tokenmark/v1/{purpose}\x00{self.canonical_config()}".encode()
        return hkdf_sha256(self._secret, b"tokenmark/v1", info, length)

    def to_key_file(self, created: datetime | None = None) -> str:
        """Key file text (docs/spec.md#key-file); the only place the secret is written out. Store it 0600."""
        when = (created or datetime.now(timezone.utc)).astimezone(timezone.utc)
        body = {
            "format": KEY_FILE_FORMAT, "version": KEY_FILE_VERSION, "keyId": self.key_id, "commitment": self.commitment,
            "scheme": self.scheme, "params": self.params, "tokenizer": self.tokenizer,
            "created": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "secret": base64.urlsafe_b64encode(self._secret).decode().rstrip("="),
        }
        return json.dumps(body, indent=2) + "\n"

    def __repr__(self) -> str:
        return f"WatermarkKey({self.key_id}, {self.scheme})"


def _b64url_decode(s: str) -> bytes | None:
    """Canonical base64url without padding (RFC 4648 §5), or None."""
    if not s or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in s) or len(s) % 4 == 1:
        return None
    try:
        b = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError):
        return None
    return b if base64.urlsafe_b64encode(b).decode().rstrip("=") == s else None


def parse_key_file(text: str) -> WatermarkKey:
    """Parses a key file strictly, as packages/core/src/keys.ts does; raises TokenmarkError with a code."""
    try:
        f = json.loads(text)
    except ValueError:
        raise TokenmarkError("E_KEY_FORMAT", "key file is not valid JSON") from None
    if not isinstance(f, dict):
        raise TokenmarkError("E_KEY_FORMAT", "key file must hold a JSON object")
    if f.get("format") != KEY_FILE_FORMAT:
        raise TokenmarkError("E_KEY_FORMAT", f'not a tokenmark key file (field format must be "{KEY_FILE_FORMAT}")')
    if f.get("version") != KEY_FILE_VERSION or isinstance(f.get("version"), bool):
        raise TokenmarkError("E_KEY_VERSION", f"unsupported key file version (this reader reads version {KEY_FILE_VERSION})")
    for k in _KEY_FIELDS:
        if k not in f:
            raise TokenmarkError("E_KEY_FIELD", f'key file is missing field "{k}"')
    for k in f:
        if k not in _KEY_FIELDS:
            raise TokenmarkError("E_KEY_FIELD", f'key file has unknown field "{k[:40]}"')
    for k in ("keyId", "commitment", "scheme", "tokenizer", "created", "secret"):
        if not isinstance(f[k], str):
            raise TokenmarkError("E_KEY_FIELD", f'key file field "{k}" must be a string')
    if not isinstance(f["params"], dict):
        raise TokenmarkError("E_KEY_FIELD", 'key file field "params" must be an object')
    try:
        datetime.fromisoformat(f["created"].replace("Z", "+00:00"))
    except ValueError:
        raise TokenmarkError("E_KEY_FIELD", 'key file field "created" must be an ISO date') from None
    secret = _b64url_decode(f["secret"])
    if secret is None:
        raise TokenmarkError("E_KEY_FIELD", 'key file field "secret" is not valid base64url')
    if len(secret) != SECRET_BYTES:
        raise TokenmarkError("E_KEY_LENGTH", f"key file secret must decode to {SECRET_BYTES} bytes, found {len(secret)}")
    key = WatermarkKey(secret, f["scheme"], f["params"], f["tokenizer"])
    if not hmac.compare_digest(key.commitment, f["commitment"].lower()):
        raise TokenmarkError("E_KEY_MISMATCH", "key file commitment does not match its secret and configuration (the file was altered)")
    if key.key_id != f["keyId"]:
        raise TokenmarkError("E_KEY_MISMATCH", "key file keyId does not match its commitment (the file was altered)")
    return key


def load_key_file(path: str) -> WatermarkKey:
    with open(path, encoding="utf-8") as fh:
        return parse_key_file(fh.read())
