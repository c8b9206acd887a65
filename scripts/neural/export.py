"""Export models/tinylm/weights.pt to ONNX with a KV cache, in the layout transformers.js loads for a
GPT-2 model (onnx/model.onnx):

  inputs   input_ids [batch, seq] int64, attention_mask [batch, past + seq] int64,
           position_ids [batch, seq] int64, past_key_values.N.key / .value [batch, n_head, past, head_dim]
  outputs  logits [batch, seq, vocab], present.N.key / .value [batch, n_head, past + seq, head_dim]

The first step passes past tensors with past = 0. Weights are exported in float32 (the file stays under
30 MB at this size; float16 weights would only slow CPU inference).

  python3 scripts/neural/export.py --dir models/tinylm
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import load_shipped  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, c = load_shipped(args.dir)
    cfg = model.cfg

    hd = cfg['n_embd'] // cfg['n_head']
    past_len, seq = 3, 2
    past = []
    names_past, names_present = [], []
    for i in range(cfg['n_layer']):
        past += [torch.randn(1, cfg['n_head'], past_len, hd), torch.randn(1, cfg['n_head'], past_len, hd)]
        names_past += [f'past_key_values.{i}.key', f'past_key_values.{i}.value']
        names_present += [f'present.{i}.key', f'present.{i}.value']
    ids = torch.tensor([[5, 7]])
    mask = torch.ones(1, past_len + seq, dtype=torch.int64)
    pos = torch.tensor([[past_len, past_len + 1]])
    dyn = {'input_ids': {0: 'batch_size', 1: 'sequence_length'},
           'attention_mask': {0: 'batch_size', 1: 'total_sequence_length'},
           'position_ids': {0: 'batch_size', 1: 'sequence_length'},
           'logits': {0: 'batch_size', 1: 'sequence_length'}}
    for n in names_past:
        dyn[n] = {0: 'batch_size', 2: 'past_sequence_length'}
    for n in names_present:
        dyn[n] = {0: 'batch_size', 2: 'total_sequence_length'}
    os.makedirs(os.path.join(args.dir, 'onnx'), exist_ok=True)
    path = os.path.join(args.dir, 'onnx', 'model.onnx')
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask, pos, *past), path, input_names=['input_ids', 'attention_mask', 'position_ids', *names_past],
                          output_names=['logits', *names_present], dynamic_axes=dyn, opset_version=14, do_constant_folding=True)

    # Torch's logits for a fixed sequence, which the lab's test compares with onnxruntime run token by token
    # through the KV cache (Debian has no onnxruntime for Python, so the check runs in Node).
    # It starts with <|endoftext|>, as every window the lab's NeuralModel runs does.
    check_ids = [c['eos_token_id']] + [int(i) for i in np.random.RandomState(7).randint(0, cfg['vocab_size'] - 1, 11)]
    with torch.no_grad():
        logits = model(torch.tensor([check_ids]))[0][0]
    with open(os.path.join(args.dir, 'export-check.json'), 'w') as f:
        json.dump({'ids': check_ids, 'logits': [[round(float(v), 5) for v in row[:32]] for row in logits],
                   'argmax': [int(row.argmax()) for row in logits]}, f)


if __name__ == '__main__':
    main()
