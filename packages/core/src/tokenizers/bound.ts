/**
 * The bound on BPE work per pre-token (docs/spec.md#tokenizer-bound). BPE merges a pre-token's symbols pair by
 * pair; tiktoken's and gpt-tokenizer's merge loops rescan the whole pre-token after every merge (quadratic),
 * and even a heap-based merge (./bpe.ts, Hugging Face's) is O(m log m) in time and holds m nodes. A single
 * pre-token can be the whole input (a run of CJK, one letter with thousands of combining marks, 200,000 × `x`,
 * spaces, one symbol, emoji), so an adapter cuts any pre-token past a fixed size into pieces and merges each
 * piece on its own: the work per input byte is then bounded by a constant, whatever the input.
 *
 * The bound is far above what ordinary text produces (tests: every pre-token of the held-out corpora is below
 * it, so their ids equal the upstream tokenizer's), and only pre-tokens past it can tokenize differently from
 * upstream: at most the tokens that would have straddled a cut.
 */

/**
 * Largest pre-token, in UTF-8 bytes (byte-level BPE: bytes are the merge's initial symbols), that is merged
 * whole. Far above ordinary text: the longest pre-token of the held-out corpora (test/tokenizer-bound.test.ts)
 * is 2,380 bytes, a block of tabs and newlines in an HTML e-mail; words are under 200 bytes.
 */
export const MAX_PIECE_BYTES = 8192

/**
 * Largest word, in characters (the merge's initial symbols for a Hugging Face BPE model, after its normaliser
 * and pre-tokeniser; bytes for byte-level files), that a Hugging Face BPE model merges whole.
 */
export const MAX_PIECE_SYMBOLS = 8192

/** The Metaspace / SentencePiece word marker: a BPE word that holds several words is cut before one. */
const WORD_MARKER = 0x2581

/**
 * Byte rule (docs/spec.md#tokenizer-bound, rule B): the end of the piece that starts at `from` in the UTF-8
 * pre-token bytes[.. to): `to` if at most `maxBytes` bytes remain, else the last character boundary at most
 * `maxBytes` bytes after `from` (the longest run of whole characters that fits).
 */
export function pieceEnd(bytes: Uint8Array, from: number, to: number, maxBytes: number = MAX_PIECE_BYTES): number {
  if (to - from <= maxBytes) return to
  let cut = from + maxBytes
  while (cut > from && (bytes[cut] & 0xc0) === 0x80) cut-- // 10xxxxxx: inside a character
  return cut > from ? cut : from + maxBytes
}

/**
 * Character rule (docs/spec.md#tokenizer-bound, rule C), for a Hugging Face BPE model's words: a word of more
 * than `maxSymbols` code points is cut, left to right, into pieces of at most `maxSymbols` code points. Each cut
 * is placed before the last `▁` (U+2581) of the window that does not follow another `▁` and is not the window's
 * first character, if there is one, else after `maxSymbols` code points. SentencePiece-style files with no
 * pre-tokeniser hand the whole text to the model as one word; cutting before a word marker keeps their ids
 * those of the library (their merges never join across a word start). One forward pass per window; two
 * consecutive pieces span at least a window, so the passes cost at most twice the word.
 */
export function splitBySymbols(word: string, maxSymbols: number = MAX_PIECE_SYMBOLS): string[] {
  if (word.length <= maxSymbols) return [word]
  const out: string[] = []
  for (let start = 0; ; ) {
    let i = start
    let count = 0
    let marker = -1
    while (i < word.length && count < maxSymbols) {
      const c = word.charCodeAt(i)
      if (c === WORD_MARKER && i > start && word.charCodeAt(i - 1) !== WORD_MARKER) marker = i
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < word.length && isLow(word.charCodeAt(i + 1)) ? 2 : 1
      count++
    }
    if (i >= word.length) {
      out.push(word.slice(start))
      return out
    }
    const cut = marker > 0 ? marker : i
    out.push(word.slice(start, cut))
    start = cut
  }
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}
