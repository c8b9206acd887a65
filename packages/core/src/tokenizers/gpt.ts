/**
 * OpenAI's byte-level BPE encodings `o200k_base` (GPT-4o, o-series, GPT-5) and `cl100k_base` (GPT-4,
 * GPT-3.5), with the merge tables shipped inside the `gpt-tokenizer` package (no download at run time).
 *
 * Deliberate choices, one line each:
 * - Ids, special tokens and `vocabSize` follow tiktoken's reference definition
 *   (tiktoken_ext/openai_public.py): o200k_base n_vocab 200,019 (<|endoftext|> 199999, <|endofprompt|>
 *   200018); cl100k_base n_vocab 100,277 (<|endoftext|> 100257, FIM 100258-100260, <|endofprompt|> 100276).
 *   gpt-tokenizer 4.0.0 numbers o200k_base's extra special tokens differently (200000-200006); that never
 *   matters for encoding, because special-token strings are encoded as ordinary text.
 * - `encode` never emits a special token and never throws on `<|endoftext|>` in untrusted text
 *   (gpt-tokenizer throws by default): special-token strings are not looked for at all.
 * - `encode` is ours, on gpt-tokenizer's tables and tiktoken's pre-token pattern: gpt-tokenizer's merge loop is
 *   quadratic in a pre-token's length, and one pre-token can be the whole input. A pre-token that is a token is
 *   looked up whole; any other is merged by ./bpe.ts (tiktoken's rule, O(m log m)), and one of more than
 *   8,192 UTF-8 bytes in pieces (./bound.ts, docs/spec.md#tokenizer-bound). Ids equal tiktoken's for every
 *   pre-token within the bound. The merged ids of short pre-tokens are cached (bounded), as gpt-tokenizer does.
 * - `decode` and `offsets` use our own id → bytes table, not gpt-tokenizer's `decode`, which keeps
 *   incomplete UTF-8 in a module-level streaming `TextDecoder` that leaks into the next call. Invalid UTF-8
 *   (a token sequence cut inside a character) decodes to U+FFFD.
 * - Lazy where a synchronous interface allows: building the encoder (a text → id map, our id → bytes table
 *   and its hash index; a few tenths of a second and ~15 MB for o200k_base, as gpt-tokenizer's own) waits for
 *   the first `encode`, the byte table alone for the first `decode`/`offsets` if that comes first. The
 *   merge tables themselves are JS modules (2.4 + 1.2 MB) evaluated when this module is imported (~0.3 s
 *   in Node); deferring that too needs a dynamic `import()`, i.e. an async `getTokenizer`.
 */
import o200kRanks from 'gpt-tokenizer/bpeRanks/o200k_base'
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base'
import { CL100K_TOKEN_SPLIT_REGEX, O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants'
import { TokenmarkError } from '../errors.js'
import { MAX_PIECE_BYTES, pieceEnd } from './bound.js'
import { BytePairMerger } from './bpe.js'
import { byteToUtf16Offsets } from './offsets.js'
import type { Tokenizer } from './types.js'

/**
 * Version of `gpt-tokenizer`, recorded in evidence. Core cannot read package.json at run time (no fs, and a
 * JSON import would ship the whole manifest), so keep this in step with packages/core/package.json.
 */
export const GPT_TOKENIZER_VERSION = '4.0.0'

/** Names of the built-in OpenAI encodings. */
export type GptEncodingName = 'o200k_base' | 'cl100k_base'

export const GPT_ENCODING_NAMES: readonly GptEncodingName[] = ['o200k_base', 'cl100k_base']

type RankTable = (string | number[])[]

interface EncodingSpec {
  ranks: RankTable
  /** tiktoken's pre-token pattern (tiktoken_ext/openai_public.py, as gpt-tokenizer ships it). */
  pattern: RegExp
  /** tiktoken's special tokens: string → id. */
  special: ReadonlyArray<readonly [string, number]>
  /** tiktoken's n_vocab: max id + 1 over merges and special tokens. */
  vocabSize: number
}

const SPECS: Record<GptEncodingName, EncodingSpec> = {
  o200k_base: {
    ranks: o200kRanks,
    pattern: O200K_TOKEN_SPLIT_REGEX,
    special: [
      ['<|endoftext|>', 199999],
      ['<|endofprompt|>', 200018],
    ],
    vocabSize: 200019,
  },
  cl100k_base: {
    ranks: cl100kRanks,
    pattern: CL100K_TOKEN_SPLIT_REGEX,
    special: [
      ['<|endoftext|>', 100257],
      ['<|fim_prefix|>', 100258],
      ['<|fim_middle|>', 100259],
      ['<|fim_suffix|>', 100260],
      ['<|endofprompt|>', 100276],
    ],
    vocabSize: 100277,
  },
}

/** The merge cache holds pre-tokens of at most this many UTF-16 units, and at most this many of them (~2 MB). */
const CACHED_PIECE = 32
const CACHE_ENTRIES = 16_384

/** What `encode` needs, built on its first call. */
interface Encoder {
  /** Tokens that are valid UTF-8, by their text: most pre-tokens of ordinary text are one of these. */
  whole: Map<string, number>
  merger: BytePairMerger
}

/** id → UTF-8 bytes, stored flat: token i is bytes[start[i] .. start[i + 1]); empty = not a token. */
interface ByteTable {
  bytes: Uint8Array
  start: Uint32Array
}

function buildByteTable(spec: EncodingSpec): ByteTable {
  const { ranks, special, vocabSize } = spec
  const entries: (string | number[] | undefined)[] = new Array(vocabSize)
  for (let id = 0; id < ranks.length; id++) entries[id] = ranks[id] // holes stay undefined: unused ids
  for (const [text, id] of special) entries[id] = text
  let capacity = 0
  for (const e of entries) if (e !== undefined) capacity += typeof e === 'string' ? 3 * e.length : e.length
  const bytes = new Uint8Array(capacity)
  const start = new Uint32Array(vocabSize + 1)
  let at = 0
  for (let id = 0; id < vocabSize; id++) {
    start[id] = at
    const e = entries[id]
    if (e === undefined) continue
    if (typeof e === 'string') at = writeUtf8(e, bytes, at)
    else for (const b of e) bytes[at++] = b
  }
  start[vocabSize] = at
  return { bytes: bytes.subarray(0, at), start }
}

/** UTF-8 of a well-formed string (the merge table's strings are decoded UTF-8), written at `at`. */
function writeUtf8(s: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) out[at++] = c
    else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6)
      out[at++] = 0x80 | (c & 63)
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00)
      out[at++] = 0xf0 | (c >> 18)
      out[at++] = 0x80 | ((c >> 12) & 63)
      out[at++] = 0x80 | ((c >> 6) & 63)
      out[at++] = 0x80 | (c & 63)
    } else {
      out[at++] = 0xe0 | (c >> 12)
      out[at++] = 0x80 | ((c >> 6) & 63)
      out[at++] = 0x80 | (c & 63)
    }
  }
  return at
}

class GptTokenizer implements Tokenizer {
  readonly name: GptEncodingName
  readonly version = GPT_TOKENIZER_VERSION
  readonly vocabSize: number
  readonly #spec: EncodingSpec
  #encoder: Encoder | undefined
  /** Merged ids of recent short pre-tokens that are not tokens (prose repeats its words); cleared when full. */
  readonly #merged = new Map<string, number[]>()
  /** UTF-8 of the pre-token being merged; grows as needed. */
  #scratch = new Uint8Array(256)
  #table: ByteTable | undefined
  /** ignoreBOM: a leading U+FEFF is text (token 5574 of o200k_base), not a byte-order mark to drop. */
  readonly #utf8 = new TextDecoder('utf-8', { ignoreBOM: true })
  readonly #textEncoder = new TextEncoder()
  /** The pre-token pattern, this instance's own copy (encode moves its lastIndex). */
  readonly #pattern: RegExp

  constructor(name: GptEncodingName) {
    this.name = name
    this.#spec = SPECS[name]
    this.#pattern = new RegExp(this.#spec.pattern.source, this.#spec.pattern.flags.includes('g') ? this.#spec.pattern.flags : `${this.#spec.pattern.flags}g`)
    this.vocabSize = this.#spec.vocabSize
  }

  #enc(): Encoder {
    if (this.#encoder === undefined) {
      const maxRank = this.#spec.ranks.length - 1
      const maxSpecial = Math.max(...this.#spec.special.map(([, id]) => id))
      if (Math.max(maxRank, maxSpecial) + 1 !== this.vocabSize) {
        // Only reachable if the gpt-tokenizer dependency changed its tables.
        throw new TokenmarkError(
          'E_TOKENIZER_FILE',
          `${this.name}: gpt-tokenizer ships ${maxRank + 1} merge ranks, which does not match vocabulary ` +
            `size ${this.vocabSize}; reinstall gpt-tokenizer ${GPT_TOKENIZER_VERSION}`,
        )
      }
      const { ranks } = this.#spec
      const whole = new Map<string, number>()
      for (let id = 0; id < ranks.length; id++) {
        const r = ranks[id]
        if (typeof r === 'string') whole.set(r, id)
      }
      const { bytes, start } = this.#bytes()
      this.#encoder = { whole, merger: new BytePairMerger(bytes, start, ranks.length) }
    }
    return this.#encoder
  }

  #bytes(): ByteTable {
    return (this.#table ??= buildByteTable(this.#spec))
  }

  encode(text: string): Uint32Array {
    if (typeof text !== 'string') throw new TokenmarkError('E_BAD_INPUT', `${this.name}.encode expects a string`)
    const { whole, merger } = this.#enc()
    const out: number[] = []
    // exec over this tokenizer's own global pattern rather than matchAll, which clones the pattern and
    // allocates an iterator per call: most of encoding a short text (issue 12). The pattern never
    // matches the empty string; the guard only makes that explicit.
    const re = this.#pattern
    re.lastIndex = 0
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const piece = m[0]
      if (piece.length === 0) {
        re.lastIndex++
        continue
      }
      const id = whole.get(piece)
      if (id !== undefined) {
        out.push(id)
        continue
      }
      const known = this.#merged.get(piece)
      if (known !== undefined) {
        for (let k = 0; k < known.length; k++) out.push(known[k])
        continue
      }
      const first = out.length
      // Keep a scratch buffer for ordinary pre-tokens; a huge one gets its own, freed with it.
      let bytes = this.#scratch
      if (bytes.length < 3 * piece.length) {
        bytes = new Uint8Array(3 * piece.length)
        if (bytes.length <= 3 * MAX_PIECE_BYTES) this.#scratch = bytes
      }
      const n = this.#textEncoder.encodeInto(piece, bytes).written
      // tiktoken looks the whole pre-token up by its bytes; `whole` holds only the tokens gpt-tokenizer keeps
      // as text, not the 9 (o200k_base) that begin with U+FEFF, such as "\uFEFFusing".
      const token = merger.rank(bytes, 0, n)
      if (token >= 0) {
        out.push(token)
        continue
      }
      for (let from = 0; from < n; ) {
        const to = pieceEnd(bytes, from, n)
        merger.merge(bytes, from, to, out)
        from = to
      }
      if (piece.length <= CACHED_PIECE) {
        if (this.#merged.size >= CACHE_ENTRIES) this.#merged.clear()
        this.#merged.set(piece, out.slice(first))
      }
    }
    return new Uint32Array(out)
  }

  decode(ids: ArrayLike<number>): string {
    const { bytes, start } = this.#bytes()
    let total = 0
    for (let k = 0; k < ids.length; k++) total += this.#length(ids[k], start)
    const out = new Uint8Array(total)
    let at = 0
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]
      for (let p = start[id], end = start[id + 1]; p < end; p++) out[at++] = bytes[p]
    }
    return this.#utf8.decode(out)
  }

  offsets(text: string, ids: Uint32Array): Uint32Array {
    const { bytes, start } = this.#bytes()
    const target = this.#textEncoder.encode(text)
    const n = ids.length
    const starts = new Float64Array(n)
    let at = 0
    for (let k = 0; k < n; k++) {
      const id = ids[k]
      const len = this.#length(id, start)
      if (at + len > target.length) return this.#mismatch(n)
      starts[k] = at
      for (let p = start[id], q = at, end = start[id + 1]; p < end; p++, q++) {
        if (bytes[p] !== target[q]) return this.#mismatch(n)
      }
      at += len
    }
    if (at !== target.length) return this.#mismatch(n)
    const out = new Uint32Array(n + 1)
    out.set(byteToUtf16Offsets(text, starts))
    out[n] = text.length
    return out
  }

  #mismatch(count: number): never {
    throw new TokenmarkError(
      'E_BAD_INPUT',
      `offsets: the ${count} token ids do not spell out the text; pass the ids that ${this.name}.encode(text) ` +
        'returned for this exact text',
    )
  }

  /** Byte length of a token, rejecting ids that are not tokens of this encoding. */
  #length(id: number, start: Uint32Array): number {
    const n = Number.isInteger(id) && id >= 0 && id < this.vocabSize ? start[id + 1] - start[id] : 0
    if (n === 0) {
      throw new TokenmarkError(
        'E_BAD_INPUT',
        `token id ${id} is not a token of ${this.name} (ids run from 0 to ${this.vocabSize - 1}, with gaps); ` +
          `check that the ids were produced with the ${this.name} tokenizer`,
      )
    }
    return n
  }
}

const instances = new Map<GptEncodingName, GptTokenizer>()

/**
 * The adapter for one of OpenAI's encodings. One shared instance per name; construction is cheap and the
 * encoder itself is built on first use.
 */
export function gptTokenizer(name: GptEncodingName): Tokenizer {
  if (!Object.hasOwn(SPECS, name)) {
    throw new TokenmarkError(
      'E_UNKNOWN_TOKENIZER',
      `unknown OpenAI encoding "${String(name)}"; available: ${GPT_ENCODING_NAMES.join(', ')}`,
    )
  }
  let t = instances.get(name)
  if (t === undefined) {
    t = new GptTokenizer(name)
    instances.set(name, t)
  }
  return t
}
