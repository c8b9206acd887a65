/**
 * Token offsets: from UTF-8 byte positions (what byte-level tokenizers count in) to UTF-16 offsets (what
 * JavaScript strings index by). Shared by the adapters so every tokenizer honours one contract, stated on
 * `Tokenizer.offsets`: one start per token plus a final `text.length`, non-decreasing, and a token that
 * starts inside a multi-byte character maps to that character's start.
 *
 * Lone surrogates count as U+FFFD (3 bytes), which is what `TextEncoder` — and so every tokenizer here —
 * turns them into.
 */

/**
 * Map non-decreasing UTF-8 byte positions in `text` to UTF-16 offsets. A position inside a character maps
 * to the start of that character; positions at or past the end map to `text.length`. One linear pass.
 */
export function byteToUtf16Offsets(text: string, bytePositions: ArrayLike<number>): Uint32Array {
  const n = bytePositions.length
  const out = new Uint32Array(n)
  const len = text.length
  let i = 0 // UTF-16 index of the current character
  let at = 0 // its UTF-8 byte position
  for (let k = 0; k < n; k++) {
    const target = bytePositions[k]
    while (i < len) {
      const c = text.charCodeAt(i)
      let bytes = 3
      let units = 1
      if (c < 0x80) bytes = 1
      else if (c < 0x800) bytes = 2
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && isLowSurrogate(text.charCodeAt(i + 1))) {
        bytes = 4
        units = 2
      }
      if (at + bytes > target) break
      at += bytes
      i += units
    }
    out[k] = i
  }
  return out
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}
