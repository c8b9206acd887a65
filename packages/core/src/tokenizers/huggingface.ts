/**
 * A tokenizer built from a Hugging Face `tokenizer.json` (plus, optionally, its `tokenizer_config.json`),
 * run by `@huggingface/tokenizers` — the pure-JS port used by transformers.js. Nothing is downloaded: the
 * caller supplies the file's content.
 *
 * Deliberate choices, one line each:
 * - `encode` returns the text's tokens only: no BOS/EOS or template tokens (`add_special_tokens: false`).
 * - Special added tokens (`"special": true`) are not matched in text, so `<|endoftext|>` or `<s>` typed into
 *   untrusted text is encoded as ordinary text (transformers' `split_special_tokens=True`); `decode` still
 *   renders their ids as their content.
 * - `vocabSize` = max id + 1 over the model vocabulary and all added tokens.
 * - `version` = `<@huggingface/tokenizers version>+sha256.<first 16 hex of SHA-256(JSON.stringify(file))>`,
 *   so evidence pins the exact vocabulary, not just the library.
 * - `offsets` aligns each token's surface bytes (derived from the decoder: ByteLevel, Metaspace/Replace
 *   "▁", ByteFallback `<0xNN>`, WordPiece `##`, BPE suffix) with the text's UTF-8 bytes. Exact for
 *   byte-level BPE; spaces a tokenizer adds or drops are absorbed; where a normalizer rewrote the text
 *   (lowercasing beyond ASCII, accent stripping, NFKC) or a token is `<unk>`, the alignment resynchronises
 *   on the next token, so offsets there are approximate but still non-decreasing and within the text.
 * - Work per character is bounded whatever the text (./hf-models.ts, docs/spec.md#tokenizer-bound): a BPE model
 *   merges a word of more than 8,192 characters in pieces; a WordPiece model's longest-match search stops at the
 *   longest vocabulary entry (same ids, without the library's cubic search over 100-character words).
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers'
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../bytes.js'
import { TokenmarkError } from '../errors.js'
import { boundModel } from './hf-models.js'
import { byteToUtf16Offsets } from './offsets.js'
import type { Tokenizer } from './types.js'

/**
 * Version of `@huggingface/tokenizers`; core cannot read package.json at run time (no fs), so keep this in
 * step with packages/core/package.json.
 */
export const HF_TOKENIZERS_VERSION = '0.2.0'

/** The part of `@huggingface/tokenizers`' Tokenizer we use (its published types resolve to `any` under NodeNext). */
interface HfTokenizerApi {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: (number | undefined)[] }
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string
  id_to_token(id: number): string | undefined
  readonly model: unknown
}

interface AddedTokenJson {
  id: number
  content: string
  special?: boolean
}

/** How a token string turns back into text bytes, read from the file's decoder (and model) settings. */
interface SurfaceRules {
  byteLevel: boolean
  byteFallback: boolean
  /** Literal replacements in order, e.g. ["▁", " "] from Metaspace or a Replace decoder. */
  replace: [string, string][]
  wordPiecePrefix: string | undefined
  /** End-of-word suffix (BPEDecoder / model.end_of_word_suffix), read as a following space. */
  suffix: string | undefined
}

/**
 * Build a tokenizer from the content of a `tokenizer.json` (the string or the parsed object) and optionally
 * its `tokenizer_config.json`. `name` is the id recorded in results and evidence (default
 * `huggingface:<fingerprint>`). Throws `E_TOKENIZER_FILE` on anything malformed.
 */
export function huggingFaceTokenizer(json: string | object, name?: string, config?: string | object): Tokenizer {
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new TokenmarkError('E_BAD_PARAM', 'huggingFaceTokenizer: name must be a non-empty string when given')
  }
  const file = parseObject(json, 'tokenizer.json')
  const cfg = config === undefined ? {} : parseObject(config, 'tokenizer_config.json')
  const model = file.model
  if (model === null || typeof model !== 'object' || Array.isArray(model)) {
    throw fileError('has no "model" object')
  }
  const modelObj = model as Record<string, unknown>
  const added = parseAddedTokens(file.added_tokens)
  let maxId = maxVocabId(modelObj.vocab)
  for (const t of added) maxId = Math.max(maxId, t.id)

  const special = new Map<number, string>()
  for (const t of added) if (t.special === true) special.set(t.id, t.content)

  const withDefaults = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...file }
  const load = (addedTokens: AddedTokenJson[]): HfTokenizerApi => {
    try {
      const tokenizer = new HfTokenizer({ ...withDefaults, added_tokens: addedTokens }, cfg) as HfTokenizerApi
      boundModel(tokenizer.model)
      return tokenizer
    } catch (e) {
      throw fileError(`could not be loaded by @huggingface/tokenizers: ${(e as Error).message}`)
    }
  }
  // Encoding never matches special tokens in text; decoding ids that include one needs them all.
  const hf = load(added.filter((t) => t.special !== true))
  const full = special.size === 0 ? () => hf : () => load(added)

  const fingerprint = toHex(sha256(new TextEncoder().encode(JSON.stringify(file)))).slice(0, 16)
  const rules = surfaceRules(file.decoder, file.pre_tokenizer, modelObj)
  return new HuggingFaceTokenizer(
    name ?? `huggingface:${fingerprint}`,
    `${HF_TOKENIZERS_VERSION}+sha256.${fingerprint}`,
    maxId + 1,
    hf,
    full,
    special,
    new Set(added.filter((t) => t.special !== true).map((t) => t.id)),
    rules,
  )
}

class HuggingFaceTokenizer implements Tokenizer {
  readonly #surfaces = new Map<number, Uint8Array>()
  readonly #utf8 = new TextEncoder()
  #full: HfTokenizerApi | undefined

  constructor(
    readonly name: string,
    readonly version: string,
    readonly vocabSize: number,
    /** Loaded without special added tokens: encodes `<|endoftext|>` in text as text. */
    private readonly hf: HfTokenizerApi,
    /** Loads the file with every added token, for decoding special-token ids (built on first need). */
    private readonly loadFull: () => HfTokenizerApi,
    /** Special added tokens: id → content. */
    private readonly special: Map<number, string>,
    /** Ids of non-special added tokens, which stand for their content verbatim. */
    private readonly addedText: Set<number>,
    private readonly rules: SurfaceRules,
  ) {}

  encode(text: string): Uint32Array {
    if (typeof text !== 'string') throw new TokenmarkError('E_BAD_INPUT', `${this.name}.encode expects a string`)
    const { ids } = this.hf.encode(text, { add_special_tokens: false })
    const out = new Uint32Array(ids.length)
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]
      if (id === undefined || id === null) {
        throw new TokenmarkError(
          'E_BAD_INPUT',
          `${this.name} cannot encode this text: it has no token for part of it and the tokenizer.json ` +
            'defines no unk_token; normalise the text or use the tokenizer the text was generated with',
        )
      }
      out[k] = id
    }
    return out
  }

  decode(ids: ArrayLike<number>): string {
    if (ids.length === 0) return ''
    const list = Array.from(ids)
    let hf = this.hf
    for (const id of list) {
      if (this.special.has(id)) hf = this.#full ??= this.loadFull()
      else this.#check(id)
    }
    return hf.decode(list, { skip_special_tokens: false, clean_up_tokenization_spaces: false })
  }

  offsets(text: string, ids: Uint32Array): Uint32Array {
    const surfaces: Uint8Array[] = new Array(ids.length)
    for (let k = 0; k < ids.length; k++) surfaces[k] = this.#surface(ids[k])
    const target = this.#utf8.encode(text)
    const starts = alignSurfaces(target, surfaces)
    const out = byteToUtf16Offsets(text, starts)
    out[ids.length] = text.length
    return out
  }

  #check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.hf.id_to_token(id) === undefined) {
      throw new TokenmarkError(
        'E_BAD_INPUT',
        `token id ${id} is not in the vocabulary of ${this.name} (size ${this.vocabSize}); check that the ids ` +
          'were produced with this tokenizer',
      )
    }
  }

  /** The bytes a token stands for in the text, as far as the decoder settings tell. */
  #surface(id: number): Uint8Array {
    const cached = this.#surfaces.get(id)
    if (cached !== undefined) return cached
    const content = this.special.get(id)
    let bytes: Uint8Array
    if (content !== undefined) bytes = this.#utf8.encode(content)
    else {
      this.#check(id)
      const token = this.hf.id_to_token(id) as string
      // Added (non-special) tokens are matched on raw text, so their content is their surface.
      bytes = this.addedText.has(id) ? this.#utf8.encode(token) : tokenSurface(token, this.rules, this.#utf8)
    }
    this.#surfaces.set(id, bytes)
    return bytes
  }
}

let byteDecoder: Map<string, number> | undefined

/** GPT-2's bytes_to_unicode, inverted: the printable stand-in character for each byte → the byte. */
function byteLevelDecoder(): Map<string, number> {
  if (byteDecoder === undefined) {
    const printable: number[] = []
    for (let b = 0x21; b <= 0x7e; b++) printable.push(b)
    for (let b = 0xa1; b <= 0xac; b++) printable.push(b)
    for (let b = 0xae; b <= 0xff; b++) printable.push(b)
    byteDecoder = new Map()
    for (const b of printable) byteDecoder.set(String.fromCharCode(b), b)
    let n = 0
    for (let b = 0; b < 256; b++) {
      if (!printable.includes(b)) byteDecoder.set(String.fromCharCode(256 + n++), b)
    }
  }
  return byteDecoder
}

function tokenSurface(token: string, rules: SurfaceRules, utf8: TextEncoder): Uint8Array {
  if (rules.byteLevel) {
    const table = byteLevelDecoder()
    const out: number[] = []
    for (const ch of token) {
      const b = table.get(ch)
      if (b !== undefined) out.push(b)
      else for (const x of utf8.encode(ch)) out.push(x)
    }
    return Uint8Array.from(out)
  }
  if (rules.byteFallback) {
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(token)
    if (m) return Uint8Array.of(parseInt(m[1], 16))
  }
  let s = token
  if (rules.wordPiecePrefix !== undefined) {
    s = s.startsWith(rules.wordPiecePrefix) ? s.slice(rules.wordPiecePrefix.length) : ' ' + s
  }
  for (const [from, to] of rules.replace) s = s.split(from).join(to)
  if (rules.suffix !== undefined && rules.suffix.length > 0) s = s.split(rules.suffix).join(' ')
  return utf8.encode(s)
}

function surfaceRules(decoder: unknown, preTokenizer: unknown, model: Record<string, unknown>): SurfaceRules {
  const rules: SurfaceRules = {
    byteLevel: false,
    byteFallback: false,
    replace: [],
    wordPiecePrefix: undefined,
    suffix: typeof model.end_of_word_suffix === 'string' ? model.end_of_word_suffix : undefined,
  }
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return
    const d = node as Record<string, unknown>
    switch (d.type) {
      case 'Sequence':
        for (const child of [d.decoders, d.pretokenizers]) if (Array.isArray(child)) child.forEach(visit)
        break
      case 'ByteLevel':
        rules.byteLevel = true
        break
      case 'ByteFallback':
        rules.byteFallback = true
        break
      case 'Metaspace':
        rules.replace.push([typeof d.replacement === 'string' ? d.replacement : '\u2581', ' '])
        break
      case 'Replace': {
        const pattern = d.pattern as { String?: unknown } | undefined
        if (typeof pattern?.String === 'string' && pattern.String.length > 0 && typeof d.content === 'string') {
          rules.replace.push([pattern.String, d.content])
        }
        break
      }
      case 'WordPiece':
        rules.wordPiecePrefix = typeof d.prefix === 'string' ? d.prefix : '##'
        break
      case 'BPEDecoder':
        rules.suffix = typeof d.suffix === 'string' ? d.suffix : '</w>'
        break
    }
  }
  visit(decoder)
  // A file with a ByteLevel pre-tokenizer but no decoder still stores byte-level token strings.
  if (decoder === null || decoder === undefined) visit(preTokenizer)
  return rules
}

/**
 * Byte start of each token in `text` (plus a final `text.length`), matching surfaces left to right:
 * equal bytes (ASCII case-insensitive) advance both; a surface space the text lacks, or text whitespace the
 * surface lacks, is skipped; any other mismatch resynchronises on the next token's surface.
 */
function alignSurfaces(text: Uint8Array, surfaces: Uint8Array[]): Float64Array {
  const n = surfaces.length
  const starts = new Float64Array(n + 1)
  const end = text.length
  let cur = 0
  for (let k = 0; k < n; k++) {
    starts[k] = cur
    const s = surfaces[k]
    let j = 0
    while (j < s.length && cur < end) {
      const a = s[j]
      const b = text[cur]
      if (a === b || (isAsciiLetter(a) && (a ^ 0x20) === b)) {
        j++
        cur++
      } else if (a === 0x20) j++
      else if (isSpace(b)) cur++
      else break
    }
    if (j < s.length && cur < end) cur = resync(text, cur, k + 1 < n ? surfaces[k + 1] : undefined, s.length - j)
  }
  starts[n] = end
  return starts
}

function resync(text: Uint8Array, cur: number, next: Uint8Array | undefined, remaining: number): number {
  const end = text.length
  if (next === undefined) return end
  let from = 0
  while (from < next.length && next[from] === 0x20) from++
  if (from < next.length) {
    const limit = Math.min(end, cur + Math.max(64, 8 * remaining))
    for (let p = cur + 1; p < limit; p++) {
      let q = 0
      while (from + q < next.length && p + q < end && sameByte(next[from + q], text[p + q])) q++
      if (from + q === next.length) {
        // A next token that begins with a space owns the whitespace before it, as everywhere else.
        if (from > 0) while (p - 1 > cur && isSpace(text[p - 1])) p--
        return p
      }
    }
  }
  return Math.min(end, cur + Math.max(1, remaining))
}

function sameByte(a: number, b: number): boolean {
  return a === b || (isAsciiLetter(a) && (a ^ 0x20) === b)
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d)
}

function parseObject(input: string | object, what: string): Record<string, unknown> {
  let value: unknown = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch (e) {
      throw new TokenmarkError('E_TOKENIZER_FILE', `${what} is not valid JSON (${(e as Error).message}); pass the file's content unchanged`)
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenmarkError('E_TOKENIZER_FILE', `${what} must hold a JSON object; pass the file's content unchanged`)
  }
  return value as Record<string, unknown>
}

function parseAddedTokens(value: unknown): AddedTokenJson[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw fileError('has an "added_tokens" field that is not a list')
  return value.map((t, i) => {
    const ok =
      t !== null &&
      typeof t === 'object' &&
      Number.isInteger((t as AddedTokenJson).id) &&
      (t as AddedTokenJson).id >= 0 &&
      typeof (t as AddedTokenJson).content === 'string' &&
      (t as AddedTokenJson).content.length > 0
    if (!ok) throw fileError(`has a malformed added token at index ${i} (needs an integer "id" and a "content" string)`)
    return t as AddedTokenJson
  })
}

/** Largest id in a model vocabulary: `{token: id}` (BPE, WordPiece, WordLevel) or `[[piece, score], ...]` (Unigram). */
function maxVocabId(vocab: unknown): number {
  if (Array.isArray(vocab)) {
    if (vocab.length === 0) throw fileError('has an empty model vocabulary')
    return vocab.length - 1
  }
  if (vocab === null || typeof vocab !== 'object') throw fileError('has no model "vocab"')
  let max = -1
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw fileError(`maps vocabulary entry ${JSON.stringify(token)} to ${JSON.stringify(id)}, not a token id`)
    if ((id as number) > max) max = id as number
  }
  if (max < 0) throw fileError('has an empty model vocabulary')
  return max
}

function fileError(problem: string): TokenmarkError {
  return new TokenmarkError(
    'E_TOKENIZER_FILE',
    `tokenizer.json ${problem}; pass the tokenizer.json of the model, as published in its Hugging Face repository`,
  )
}
