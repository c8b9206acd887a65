/**
 * Hugging Face tokenizer.json files, built here from code (no download): a GPT-2-style byte-level BPE and a
 * Llama-2-style SentencePiece BPE with byte fallback, both trained on the start of Moby-Dick.
 */
import { mobyDickText } from './moby.js'

const MOBY_DICK = mobyDickText()

/** GPT-2's byte → printable character table (bytes_to_unicode). */
function bytesToUnicode(): string[] {
  const bs: number[] = []
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b)
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b)
  for (let b = 0xae; b <= 0xff; b++) bs.push(b)
  const table: string[] = new Array(256)
  for (const b of bs) table[b] = String.fromCharCode(b)
  let n = 0
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++)
  return table
}

/** Train `merges` BPE merges over pre-tokenized words (each word a list of symbols). Deterministic. */
function trainBpe(words: string[][], merges: number): [string, string][] {
  const out: [string, string][] = []
  for (let m = 0; m < merges; m++) {
    const counts = new Map<string, number>()
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] + '\u0000' + w[i + 1]
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    let best = ''
    let bestCount = 1
    for (const [k, c] of counts) if (c > bestCount || (c === bestCount && best !== '' && k < best)) [best, bestCount] = [k, c]
    if (best === '') break
    const [a, b] = best.split('\u0000')
    out.push([a, b])
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) w.splice(i, 2, a + b)
  }
  return out
}

const memo = new Map<string, unknown>()

/** Each file is built once per test module (training the BPE merges takes a second or two). */
function once<T>(name: string, build: () => T): T {
  if (!memo.has(name)) memo.set(name, build())
  return memo.get(name) as T
}

export function byteLevelBpeJson(): { json: string; textVocab: number } {
  return once('byte-level', buildByteLevelBpeJson)
}

export function sentencePieceBpeJson(): string {
  return once('sentencepiece', buildSentencePieceBpeJson)
}

function buildByteLevelBpeJson(): { json: string; textVocab: number } {
  const b2u = bytesToUnicode()
  const utf8 = new TextEncoder()
  const pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu
  const words = (MOBY_DICK.slice(0, 40_000).match(pattern) ?? []).map((w) => [...utf8.encode(w)].map((b) => b2u[b]))
  const merges = trainBpe(words, 300)
  const vocab: Record<string, number> = {}
  b2u.forEach((ch, i) => (vocab[ch] = i))
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length
  const textVocab = Object.keys(vocab).length
  const file = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: textVocab + 5, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  }
  return { json: JSON.stringify(file), textVocab }
}

function buildSentencePieceBpeJson(): string {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 }
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b
  const alphabet = '▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:!?\'"-—'
  for (const ch of alphabet) vocab[ch] = Object.keys(vocab).length
  const words = (MOBY_DICK.slice(0, 20_000).replace(/\s+/g, ' ').split(' ')).map((w) => ['▁', ...w].filter((c) => c in vocab))
  const merges = trainBpe(words, 200)
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length
  return JSON.stringify({
    version: '1.0',
    added_tokens: [
      { id: 0, content: '<unk>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
      { id: 1, content: '<s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
      { id: 2, content: '</s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  })
}

/**
 * A BERT-style WordPiece file: lowercasing BertNormalizer, BertPreTokenizer, every letter alone and as a
 * `##` continuation, and the 3,000 most frequent longer words of the start of Moby-Dick.
 */
export function wordPieceJson(): string {
  return once('wordpiece', buildWordPieceJson)
}

function buildWordPieceJson(): string {
  const vocab: Record<string, number> = { '[UNK]': 0 }
  let size = 1
  const add = (token: string): void => {
    if (!(token in vocab)) vocab[token] = size++
  }
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789.,;:!?\'"-') {
    add(c)
    add('##' + c)
  }
  const counts = new Map<string, number>()
  for (const w of MOBY_DICK.slice(0, 200_000).toLowerCase().match(/[a-z]{3,}/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1)
  const frequent = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3000)
  for (const [w] of frequent) {
    add(w)
    add('##' + w)
  }
  return JSON.stringify({
    added_tokens: [{ id: 0, content: '[UNK]', special: true }],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  })
}
