/**
 * The bound on BPE work per pre-token (docs/spec.md#tokenizer-bound). BPE merges a pre-token's symbols pair by
 * pair; gpt-tokenizer's merge loop rescans the whole pre-token after every merge (quadratic), and even a
 * heap-based merge is O(m log m) in time and holds m nodes. A single pre-token can be the whole input (a run of
 * CJK, one letter with thousands of combining marks, 200,000 × `x`, spaces, one symbol, emoji), so an adapter
 * cuts any pre-token past a fixed size into pieces and merges each piece on its own: the work per input byte is
 * then bounded by a constant, whatever the input.
 *
 * The bound is far above what ordinary text produces (tests: every pre-token of the held-out corpora is below
 * it, so their ids equal the upstream tokenizer's), and only pre-tokens past it can tokenize differently from
 * upstream: at most the tokens that would have straddled a cut.
 */

/**
 * Largest pre-token, in UTF-8 bytes (byte-level BPE: bytes are the merge loop's initial symbols), that is
 * merged whole. At 512 bytes one piece costs gpt-tokenizer's merge ~2× the per-byte time of English prose
 * (bench/tokenizer.mjs), and the longest pre-token of the held-out corpora is 170 bytes.
 */
export const MAX_PIECE_BYTES = 512

/**
 * Largest word, in characters (the merge loop's initial symbols for a Hugging Face BPE model, after its
 * normaliser and pre-tokeniser), that a Hugging Face BPE model merges whole.
 */
export const MAX_PIECE_SYMBOLS = 512

/** The Metaspace / SentencePiece word marker: a BPE word that holds several words is cut before one. */
const WORD_MARKER = 0x2581

/** UTF-8 length of `s`, a lone surrogate counting 3 bytes (it encodes as U+FFFD, as `TextEncoder` does). */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/**
 * Byte-level rule (spec: tokenizer bound, rule B): a pre-token of more than `maxBytes` UTF-8 bytes is cut, left to
 * right, into pieces each holding the longest run of whole code points that fits in `maxBytes` bytes. A
 * pre-token within the bound is returned as it is (one piece).
 */
export function splitByBytes(piece: string, maxBytes: number = MAX_PIECE_BYTES): string[] {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: the common case needs no count.
  if (piece.length * 3 <= maxBytes || utf8Length(piece) <= maxBytes) return [piece]
  const out: string[] = []
  let start = 0
  let bytes = 0
  for (let i = 0; i < piece.length; ) {
    const c = piece.charCodeAt(i)
    let units = 1
    let size = 3
    if (c < 0x80) size = 1
    else if (c < 0x800) size = 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < piece.length && isLow(piece.charCodeAt(i + 1))) {
      size = 4
      units = 2
    }
    if (bytes + size > maxBytes) {
      out.push(piece.slice(start, i))
      start = i
      bytes = 0
    }
    bytes += size
    i += units
  }
  out.push(piece.slice(start))
  return out
}

/**
 * Character rule (spec: tokenizer bound, rule C), for a Hugging Face BPE model's words: a word of more than
 * `maxSymbols` code points is cut, left to right, into pieces of at most `maxSymbols` code points. Each cut is
 * placed before the last `▁` (U+2581) of the window that does not follow another `▁` and is not the window's
 * first character, if there is one, else after `maxSymbols` code points. SentencePiece-style files with no
 * pre-tokeniser hand the whole text to the model as one word; cutting before a word marker keeps their ids
 * those of the library (their merges never join across a word start).
 */
export function splitBySymbols(word: string, maxSymbols: number = MAX_PIECE_SYMBOLS): string[] {
  if (word.length <= maxSymbols) return [word]
  const symbols = Array.from(word)
  if (symbols.length <= maxSymbols) return [word]
  const out: string[] = []
  let start = 0
  while (symbols.length - start > maxSymbols) {
    let cut = start + maxSymbols
    for (let i = start + maxSymbols - 1; i > start; i--) {
      if (symbols[i].charCodeAt(0) === WORD_MARKER && symbols[i - 1].charCodeAt(0) !== WORD_MARKER) {
        cut = i
        break
      }
    }
    out.push(symbols.slice(start, cut).join(''))
    start = cut
  }
  out.push(symbols.slice(start).join(''))
  return out
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}
