"""Thin torch adapters around `Embedder` for serving stacks (docs/serving-stacks.md).

Each returns logits whose softmax is the watermarked next-token distribution (−inf outside the candidates),
so the engine must sample them at temperature 1 with no further top-k / top-p / penalties after ours:
temperature, top-k and top-p belong to the tokenmark `Sampling` given here.

- `HFWatermarkProcessor`: Hugging Face transformers' LogitsProcessor protocol,
  `__call__(input_ids: LongTensor[batch, seq], scores: FloatTensor[batch, vocab]) -> FloatTensor`
  (transformers/generation/logits_process.py). Pass it in `generate(logits_processor=LogitsProcessorList([p]))`.
- `RequestProcessor`: the per-request callable `(prompt_ids, output_ids, logits) -> logits` on one request's
  1-D logits. vLLM V0 takes it in `SamplingParams(logits_processors=[...])`; vLLM V1 wraps such callables with
  `vllm.v1.sample.logits_processor.AdapterLogitsProcessor.new_req_logits_processor(params)` (see
  `vllm_adapter`); one instance per request, so each request may use its own key.
- `SGLangWatermarkProcessor`: SGLang's `CustomLogitProcessor.__call__(logits, custom_param_list)`
  (python/sglang/srt/sampling/custom_logit_processor.py); each request names its key in `custom_params`
  and SGLang adds `__req__` (origin_input_ids, output_ids, rid).
None of these imports transformers, vLLM or SGLang: they follow the protocols, so this package's tests run
with torch alone; subclass the engine's base class where it demands one (examples in the README).
"""
from __future__ import annotations

import os
from typing import Callable, Mapping

import numpy as np
import torch

from .embed import Embedder
from .keys import WatermarkKey, load_key_file
from .sampling import Sampling


def _process_row(emb: Embedder, logits: torch.Tensor, context) -> torch.Tensor:
    out = emb.process(logits.detach().to(torch.float32).cpu().numpy(), context)
    return torch.from_numpy(out).to(device=logits.device, dtype=logits.dtype)


class HFWatermarkProcessor:
    """transformers LogitsProcessor: one embedder per batch row (rows are independent generations)."""

    def __init__(self, key: WatermarkKey, sampling: Sampling | None = None):
        self.key = key
        self.sampling = sampling or Sampling()
        self._rows: list[Embedder] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        while len(self._rows) < scores.shape[0]:
            self._rows.append(Embedder(self.key, self.sampling))
        out = torch.empty_like(scores)
        for b in range(scores.shape[0]):
            out[b] = _process_row(self._rows[b], scores[b], input_ids[b].tolist())
        return out


class RequestProcessor:
    """Per-request logits processor `(prompt_ids, output_ids, logits) -> logits` (vLLM, SGLang, custom loops)."""

    def __init__(self, key: WatermarkKey, sampling: Sampling | None = None):
        self.embedder = Embedder(key, sampling)

    def __call__(self, prompt_ids, output_ids, logits: torch.Tensor) -> torch.Tensor:
        return _process_row(self.embedder, logits, list(prompt_ids) + list(output_ids))


def sampling_from(params: Mapping) -> Sampling:
    """Sampling options named in a request (`temperature`, `top_k`, `top_p`), defaults otherwise."""
    return Sampling(float(params.get("temperature", 1.0)), int(params.get("top_k", 0)), float(params.get("top_p", 1.0)))


def keyring_from_dir(path: str) -> dict[str, WatermarkKey]:
    """Every `*.json` key file in a directory, by key id (a server's key store for per-request keys)."""
    ring = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".json"):
            k = load_key_file(os.path.join(path, name))
            ring[k.key_id] = k
    return ring


def request_processor_for(keyring: Mapping[str, WatermarkKey], args: Mapping | None) -> RequestProcessor | None:
    """The processor a request asks for with `{"tokenmark_key": key id, "temperature"?, "top_k"?, "top_p"?}`;
    None when it asks for none. An unknown key id is an error naming the id (never any secret)."""
    if not args or "tokenmark_key" not in args:
        return None
    kid = args["tokenmark_key"]
    if kid not in keyring:
        raise ValueError(f"unknown tokenmark key id {str(kid)[:40]!r}")
    return RequestProcessor(keyring[kid], sampling_from(args))


class SGLangWatermarkProcessor:
    """SGLang CustomLogitProcessor protocol. Keys come from the directory in $TOKENMARK_KEYS (SGLang rebuilds
    the processor from its class, so it cannot carry key objects); requests choose one with
    `custom_params={"tokenmark_key": "tmk_…"}`. Subclass `sglang.srt.sampling.custom_logit_processor.
    CustomLogitProcessor` and this class together to register it (README)."""

    def __init__(self, keyring: Mapping[str, WatermarkKey] | None = None):
        self.keyring = keyring if keyring is not None else keyring_from_dir(os.environ["TOKENMARK_KEYS"])
        self._requests: dict[str, RequestProcessor] = {}

    def __call__(self, logits: torch.Tensor, custom_param_list=None) -> torch.Tensor:
        for i, params in enumerate(custom_param_list or []):
            if not params or "tokenmark_key" not in params:
                continue
            req = params["__req__"]
            proc = self._requests.get(req.rid)
            if proc is None:
                proc = self._requests[req.rid] = request_processor_for(self.keyring, params)
            logits[i] = proc(req.origin_input_ids, req.output_ids, logits[i])
            if getattr(req, "finished", lambda: False)():
                del self._requests[req.rid]
        return logits


def vllm_adapter(keyring: Mapping[str, WatermarkKey]) -> type:
    """A vLLM V1 `AdapterLogitsProcessor` subclass (needs vLLM installed): requests choose a key with
    `SamplingParams(extra_args={"tokenmark_key": "tmk_…", "temperature": …})` and keep temperature=1 in vLLM."""
    from vllm.v1.sample.logits_processor import AdapterLogitsProcessor  # type: ignore[import-not-found]

    class TokenmarkLogitsProcessor(AdapterLogitsProcessor):
        def is_argmax_invariant(self) -> bool:
            return False  # the watermark changes which token wins

        def new_req_logits_processor(self, params) -> Callable | None:
            return request_processor_for(keyring, getattr(params, "extra_args", None))

    return TokenmarkLogitsProcessor
