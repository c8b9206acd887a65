"""Byte-level BPE (GPT-2's scheme: Radford et al. 2019, section 2.2) trained on our own text, written as a
Hugging Face tokenizer.json that core's huggingFaceTokenizer and transformers.js both read.

Words come from GPT-2's pre-tokenisation regex (the one the ByteLevel pre-tokenizer applies with
use_regex: true), bytes map to printable characters with GPT-2's bytes_to_unicode, and merges are learned
greedily by pair frequency over distinct words (ties: the pair seen first, so the result is a function of
the text alone). Encoding applies merges by rank, as the Hugging Face BPE model does.
"""
import json
from collections import Counter, defaultdict

import re

# GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ in the standard
# library's re (Debian's python has no `regex` module): letters are [^\W\d_], numbers \d. It differs only on
# numeric characters outside Nd (², ½), which re counts as letters; such words are merely tokenised less
# well in training, since merges are applied to whatever words the reader's pre-tokenizer makes.
GPT2_PATTERN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")
EOT = '<|endoftext|>'


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHAR = bytes_to_unicode()


def words(text):
    for w in GPT2_PATTERN.findall(text):
        yield ''.join(BYTE_CHAR[b] for b in w.encode('utf-8'))


def train(texts, vocab_size):
    """Learn vocab_size - 257 merges (256 byte tokens, the merges, then <|endoftext|>)."""
    counts = Counter()
    for t in texts:
        counts.update(words(t))
    base = [BYTE_CHAR[b] for b in range(256)]
    vocab = {c: i for i, c in enumerate(base)}
    word_syms = [list(w) for w in counts]
    word_freq = list(counts.values())
    pairs = Counter()
    where = defaultdict(set)
    for wi, syms in enumerate(word_syms):
        f = word_freq[wi]
        for a, b in zip(syms, syms[1:]):
            pairs[(a, b)] += f
            where[(a, b)].add(wi)
    merges = []
    while len(vocab) < vocab_size - 1 and pairs:
        best, n = max(pairs.items(), key=lambda kv: kv[1])
        if n < 2:
            break
        a, b = best
        ab = a + b
        merges.append(best)
        vocab[ab] = len(vocab)
        for wi in sorted(where.pop(best, ())):
            syms = word_syms[wi]
            f = word_freq[wi]
            for p in zip(syms, syms[1:]):
                pairs[p] -= f
                if pairs[p] <= 0:
                    del pairs[p]
            out = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(ab)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            word_syms[wi] = out
            for p in zip(out, out[1:]):
                pairs[p] += f
                where[p].add(wi)
        pairs.pop(best, None)
    vocab[EOT] = len(vocab)
    return vocab, merges


class Encoder:
    """Rank-ordered merges per word, as the Hugging Face BPE model applies them; cached per word."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.cache = {}

    def word(self, w):
        ids = self.cache.get(w)
        if ids is not None:
            return ids
        syms = list(w)
        while len(syms) > 1:
            best = None
            for i, p in enumerate(zip(syms, syms[1:])):
                r = self.ranks.get(p)
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            a, b = syms[best[1]], syms[best[1] + 1]
            out = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        ids = [self.vocab[s] for s in syms]
        self.cache[w] = ids
        return ids

    def encode(self, text):
        out = []
        for w in words(text):
            out.extend(self.word(w))
        return out


def tokenizer_json(vocab, merges):
    eot = vocab[EOT]
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [
            {'id': eot, 'content': EOT, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
        ],
        'normalizer': None,
        'pre_tokenizer': byte_level,
        'post_processor': {**byte_level, 'trim_offsets': False},
        'decoder': byte_level,
        'model': {
            'type': 'BPE',
            'dropout': None,
            'unk_token': None,
            'continuing_subword_prefix': '',
            'end_of_word_suffix': '',
            'fuse_unk': False,
            'byte_fallback': False,
            'vocab': {k: v for k, v in vocab.items() if k != EOT},
            'merges': [f'{a} {b}' for a, b in merges],
        },
    }


def save(path, vocab, merges):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False)


def load(path):
    with open(path, encoding='utf-8') as f:
        d = json.load(f)
    vocab = dict(d['model']['vocab'])
    for t in d['added_tokens']:
        vocab[t['content']] = t['id']
    merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m) for m in d['model']['merges']]
    return vocab, merges
