/**
 * Bounded work for the models of `@huggingface/tokenizers` 0.2.0 (docs/spec.md#tokenizer-bound), installed on a
 * loaded tokenizer's model object by `boundModel`:
 * - BPE (src/core/tokenizerModelImplementations/BPE.ts): a word of more than 8,192 characters is merged in
 *   pieces (rule C; ./bound.ts). The library's heap merge is O(m log m) with an object per character, and a
 *   SentencePiece-style file with no pre-tokeniser hands it the whole text as one word.
 * - WordPiece (WordPiece.ts): the library finds each sub-token by trying every end from the word's end down,
 *   joining the characters each time: cubic in the word (up to `max_input_chars_per_word`, 100 by default),
 *   ~30× the per-KB cost of prose on words of 100 random letters. Ours tries only ends within the longest
 *   vocabulary entry, so the result is the same, longest match first, in work bounded by the file.
 * - Unigram and WordLevel are left alone: a lattice bounded by the longest piece, a lookup.
 */
import { splitBySymbols } from './bound.js'

/** The parts of the library's models that we replace (its published types resolve to `any`). */
interface HfModel {
  config: { type?: string; continuing_subword_prefix?: string | null }
  tokens_to_ids: Map<string, number>
  unk_token?: string
}

interface HfBpeModel extends HfModel {
  bpe(word: string): string[]
  cache: { get(word: string): string[] | undefined; put(word: string, tokens: string[]): void }
  end_of_word_suffix?: string | null
  continuing_subword_suffix?: string | null
}

interface HfWordPieceModel extends HfModel {
  encode(words: string[]): string[]
  max_input_chars_per_word: number
}

/** Replace the model's unbounded steps with bounded ones giving the same tokens (within the bound, for BPE). */
export function boundModel(model: unknown): void {
  if (model === null || (typeof model !== 'function' && typeof model !== 'object')) return
  const m = model as HfModel
  if (m.config?.type === 'BPE' && typeof (m as HfBpeModel).bpe === 'function') boundBpe(m as HfBpeModel)
  else if (m.config?.type === 'WordPiece' && typeof (m as HfWordPieceModel).encode === 'function') {
    boundWordPiece(m as HfWordPieceModel)
  }
}

/** Stands in for the BPE model's LRU cache while a piece that is not a whole word is merged. */
const NO_CACHE = { get: (): undefined => undefined, put: (): void => {} }

/**
 * Words of more than 8,192 characters are merged in pieces (rule C). The last piece is merged as a word of its
 * own; the others as inner parts of a word: no end-of-word suffix on their last character, the
 * continuing-subword suffix on their last token, and kept out of the model's cache (keyed by string, it holds
 * whole words only).
 */
function boundBpe(m: HfBpeModel): void {
  const whole = m.bpe
  m.bpe = function bounded(this: HfBpeModel, word: string): string[] {
    const pieces = splitBySymbols(word)
    if (pieces.length === 1) return whole.call(this, word)
    const out: string[] = []
    const { cache, end_of_word_suffix: end, continuing_subword_suffix: cont } = this
    for (let p = 0; p < pieces.length; p++) {
      let tokens: string[]
      if (p === pieces.length - 1) tokens = whole.call(this, pieces[p])
      else {
        this.cache = NO_CACHE
        this.end_of_word_suffix = undefined
        try {
          tokens = whole.call(this, pieces[p])
        } finally {
          this.cache = cache
          this.end_of_word_suffix = end
        }
        if (cont && tokens.length > 0) tokens = [...tokens.slice(0, -1), tokens[tokens.length - 1] + cont]
      }
      for (const t of tokens) out.push(t)
    }
    return out
  }
}

/**
 * The library's WordPiece (greedy longest match first, `[UNK]` for a word with an unmatched part or longer than
 * `max_input_chars_per_word`), trying only ends within the longest vocabulary entry. The vocabulary is read on
 * the first call, after the tokenizer has added its added tokens to it, as the library's lookups see it.
 */
function boundWordPiece(m: HfWordPieceModel): void {
  // The library concatenates the prefix as given (an absent one becomes "undefined"): so do we.
  const prefix = `${m.config.continuing_subword_prefix}`
  let longest = -1
  m.encode = function bounded(this: HfWordPieceModel, words: string[]): string[] {
    const vocab = this.tokens_to_ids
    if (longest < 0) for (const key of vocab.keys()) longest = Math.max(longest, codePoints(key))
    const out: string[] = []
    const ends: number[] = []
    for (const word of words) {
      // UTF-16 end of each code point: the library indexes words by code point.
      ends.length = 0
      for (let i = 0; i < word.length; ) {
        const c = word.charCodeAt(i)
        i += c >= 0xd800 && c <= 0xdbff && i + 1 < word.length && isLow(word.charCodeAt(i + 1)) ? 2 : 1
        ends.push(i)
      }
      const n = ends.length
      if (n > this.max_input_chars_per_word) {
        out.push(this.unk_token as string)
        continue
      }
      const parts: string[] = []
      let start = 0
      for (; start < n; ) {
        const from = start === 0 ? 0 : ends[start - 1]
        let found = ''
        let end = Math.min(n, start + longest)
        for (; end > start; end--) {
          const piece = word.slice(from, ends[end - 1])
          const candidate = start > 0 ? prefix + piece : piece
          if (vocab.has(candidate)) {
            found = candidate
            break
          }
        }
        if (end === start) break
        parts.push(found)
        start = end
      }
      if (start < n) out.push(this.unk_token as string)
      else for (const p of parts) out.push(p)
    }
    return out
  }
}

function codePoints(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) i++
  }
  return n
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}
