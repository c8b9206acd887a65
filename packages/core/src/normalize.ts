/**
 * Text normalisation before detection: undo the cheap Unicode tricks that change a text's tokens without
 * changing what a reader sees, and nothing else. It is a logged, optional step: every change is counted,
 * and each of the three steps can be switched off.
 *
 * 1. `invisible` — remove zero-width and formatting characters (ZWSP, WJ, BOM, soft hyphen, Mongolian vowel
 *    separator, invisible math operators, Hangul fillers, CGJ), every bidi control (LRM/RLM/ALM, embeddings,
 *    overrides, isolates) and stray variation selectors and tag characters. Kept where they are ordinary:
 *    ZWJ/ZWNJ between letters of scripts that use them (Arabic, Indic, ...) and inside emoji sequences;
 *    variation selectors after a non-ASCII character or in a keycap; tags in an emoji flag sequence.
 * 2. `nfc` — Unicode NFC (after step 1, since an invisible character can block a composition). A cluster
 *    (a character and the combining marks after it) of more than 31 code points — more non-starters than
 *    UAX #15's stream-safe bound of 30 (https://unicode.org/reports/tr15/#Stream_Safe_Text_Format), which
 *    no real text reaches — is left as it is: canonical reordering in ICU, behind String.prototype.normalize,
 *    is an insertion sort, quadratic in the run (64,000 random marks: 3 s; a 2 MB body: minutes). The rest of
 *    the text is normalised as usual, so the step stays linear for any input (issue 12).
 * 3. `homoglyph` — map look-alike characters to ASCII with the Unicode confusables data of the
 *    `unhomoglyph` package (confusables.txt 13.0), restricted so that legitimate text is left alone:
 *    - ASCII is never changed (the raw table maps "I"→"l", "m"→"rn", "0"→"O");
 *    - only letters and decimal digits whose look-alike is all ASCII letters/digits are mapped — never
 *      punctuation or symbols, so typographic quotes, dashes, ellipses, ×, ∞ survive;
 *    - never non-ASCII letters of the Latin script (Turkish ı, IPA ɑ ɡ ɪ, æ œ ſ, Roman numerals, small
 *      capitals are ordinary somewhere), except fullwidth forms and the ligatures ﬀ–ﬆ;
 *    - a look-alike is mapped inside a word (run of letters, marks, digits) whose ordinary (cased) Latin
 *      letters outnumber its other letters: "pаypal" with Cyrillic а → "paypal", but "Привeт" with a
 *      planted Latin e stays Russian. Greek letters and mathematical or letterlike symbols (α, ρ, ℓ, 𝑥)
 *      are ordinary as symbols in Latin-script technical writing, so in a two-character word ("αx") they
 *      stay;
 *    - a word made only of look-alikes is mapped when most letters of the text are Latin, unless it is a
 *      single Greek letter or symbol. So Russian or Greek text, a lone α in English, and fullwidth words in
 *      CJK text are kept, while "а" (Cyrillic) standing for the English "a" is mapped;
 *    - the table's prototypes are corrected for case and digits: an uppercase source gets "I", not the
 *      prototype "l" (Cyrillic І → I); a digit gets "0"/"1", not "O"/"l";
 *    - a no-break or typographic space between two ASCII letters becomes a plain space.
 *    Only mapping towards ASCII is possible: Latin letters planted in Cyrillic text stay.
 *
 * `normalizeWithMap` also returns, for every UTF-16 unit of the result, its offset in the input, so spans
 * found in the normalised text can be reported in the user's original text.
 */
import confusables from 'unhomoglyph/data.json' with { type: 'json' }

export interface NormalizeOptions {
  /** Remove invisible formatting characters and bidi controls (default true). */
  invisible?: boolean
  /** Unicode NFC (default true). */
  nfc?: boolean
  /** Map look-alike characters in Latin-script words to ASCII (default true). */
  homoglyph?: boolean
}

/** What changed: code points removed, NFC clusters rewritten, code points (or spaces) mapped. */
export interface NormalizeChanges {
  invisible: number
  nfc: number
  homoglyph: number
}

export type NormalizeStep = 'invisible' | 'nfc' | 'homoglyph'

export interface NormalizeResult {
  text: string
  changes: NormalizeChanges
  /** Steps that ran, in order. */
  applied: NormalizeStep[]
}

export interface NormalizeMapResult extends NormalizeResult {
  /**
   * `originalOffsets[i]` is the UTF-16 offset in the input of unit `i` of `text` (a unit produced by a
   * rewrite maps to the start of what it replaced); `originalOffsets[text.length]` is the input's length.
   * Non-decreasing.
   */
  originalOffsets: Uint32Array
}

/** Normalise `text` for detection; see the module comment for exactly what each step does. */
export function normalizeText(text: string, opts?: NormalizeOptions): NormalizeResult {
  const r = run(text, opts, false)
  return { text: r.text, changes: r.changes, applied: r.applied }
}

/** `normalizeText` plus a map from offsets in the result back to offsets in `text`. */
export function normalizeWithMap(text: string, opts?: NormalizeOptions): NormalizeMapResult {
  return run(text, opts, true)
}

// ---------------------------------------------------------------------------------------------------------

const MAX_ROUNDS = 16

/**
 * Characters any step can act on: all but ASCII and U+2010–U+2029, U+2030–U+205E (dashes, quotes,
 * bullets, primes, line/paragraph separators), which hold no invisible, no odd space, no letter and
 * nothing NFC changes or composes (tested over the whole range).
 */
const MAY_CHANGE = /[^\x00-\x7f\u2010-\u2029\u2030-\u205e]/

/** One step's output: its text and, when it changed anything and a map is wanted, output unit → input offset. */
interface Stage {
  text: string
  src: Uint32Array | undefined
  count: number
}

/** originalOffsets of a result whose map was not asked for (normalizeText drops it). */
const NO_OFFSETS = new Uint32Array(0)

function run(input: string, opts: NormalizeOptions | undefined, withMap: boolean): NormalizeMapResult {
  const on = { invisible: opts?.invisible !== false, nfc: opts?.nfc !== false, homoglyph: opts?.homoglyph !== false }
  const applied: NormalizeStep[] = []
  if (on.invisible) applied.push('invisible')
  if (on.nfc) applied.push('nfc')
  if (on.homoglyph) applied.push('homoglyph')
  const changes: NormalizeChanges = { invisible: 0, nfc: 0, homoglyph: 0 }
  let text = input
  let map: Uint32Array | undefined // current unit → input offset; undefined = identity
  const step = (name: NormalizeStep, f: (t: string, m: boolean) => Stage): number => {
    const s = f(text, withMap)
    if (s.count > 0) {
      changes[name] += s.count
      if (withMap && s.src !== undefined) map = compose(s.src, map)
      text = s.text
    }
    return s.count
  }
  // ASCII plus typographic punctuation cannot change (no invisibles, already NFC, no look-alikes): the
  // common case, English with curly quotes and dashes, costs one scan.
  if (MAY_CHANGE.test(text)) {
    // A mapped look-alike can change what the other steps see (a variation selector now follows ASCII, a
    // joiner now sits in a Latin word, two words join), so the steps repeat until the look-alike step finds
    // nothing: the result is a fixed point, and normalising it again changes nothing. Every round that
    // continues has removed a non-ASCII character, so this ends; real text takes one or two rounds.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (on.invisible) step('invisible', invisibleStage)
      if (on.nfc) step('nfc', nfcStage)
      if (!on.homoglyph || step('homoglyph', homoglyphStage) === 0) break
    }
  }
  let originalOffsets = NO_OFFSETS
  if (withMap) {
    originalOffsets = new Uint32Array(text.length + 1)
    for (let i = 0; i < text.length; i++) originalOffsets[i] = map === undefined ? i : map[i]
    originalOffsets[text.length] = input.length
  }
  return { text, changes, applied, originalOffsets }
}

/** `inner` maps the previous text to the input; `outer` maps the new text to the previous one. */
function compose(outer: Uint32Array, inner: Uint32Array | undefined): Uint32Array {
  if (inner === undefined) return outer
  const out = new Uint32Array(outer.length)
  for (let i = 0; i < outer.length; i++) out[i] = inner[outer[i]]
  return out
}

/** Builds a step's output from kept slices of its input and replacements, recording the map on request. */
class Output {
  #parts: string[] = []
  #src: number[] | undefined
  #at = 0 // input position copied up to
  constructor(
    private readonly input: string,
    withMap: boolean,
  ) {
    this.#src = withMap ? [] : undefined
  }
  /** Replace input[from, to) with `text`, keeping everything before it. */
  replace(from: number, to: number, text: string): void {
    this.#keepUntil(from)
    this.#parts.push(text)
    if (this.#src) for (let i = 0; i < text.length; i++) this.#src.push(from)
    this.#at = to
  }
  finish(count: number): Stage {
    this.#keepUntil(this.input.length)
    return { text: this.#parts.join(''), src: this.#src && Uint32Array.from(this.#src), count }
  }
  #keepUntil(pos: number): void {
    if (pos <= this.#at) return
    this.#parts.push(this.input.slice(this.#at, pos))
    if (this.#src) for (let i = this.#at; i < pos; i++) this.#src.push(i)
    this.#at = pos
  }
}

// Step 1: invisible characters ---------------------------------------------------------------------------

/** Candidates, matched on UTF-16 units: runs of tag characters (U+E0000–E007F) are matched whole. */
const INVISIBLE =
  /[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]|(?:\udb40[\udc00-\udc7f])+|\udb40[\udd00-\uddef]/g
const PICTOGRAPHIC = /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\ufe0f]$/u
const MARK = /^\p{M}$/u
/** Scripts that never use ZWJ/ZWNJ between letters (anything else with letters may: Arabic, Indic, ...). */
const NO_JOINER_SCRIPT =
  /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Armenian}\p{Script=Georgian}\p{Script=Cherokee}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Common}]$/u

function invisibleStage(text: string, withMap: boolean): Stage {
  const out = new Output(text, withMap)
  let count = 0
  let removedEnd = -1 // end of the last removed match, to see whether a selector follows a removed character
  for (const m of text.matchAll(INVISIBLE)) {
    const at = m.index
    const end = at + m[0].length
    const c = m[0].charCodeAt(0)
    const prev = removedEnd === at ? undefined : codePointBefore(text, at)
    const next = codePointAt(text, end)
    let keep = false
    if (c === 0x200c || c === 0x200d) {
      keep =
        prev !== undefined &&
        next !== undefined &&
        ((c === 0x200d && PICTOGRAPHIC.test(prev) && PICTOGRAPHIC.test(next)) || (joins(baseBefore(text, at)) && joins(next)))
    } else if ((c >= 0xfe00 && c <= 0xfe0f) || (c === 0xdb40 && m[0].charCodeAt(1) >= 0xdd00)) {
      keep = prev !== undefined && ((prev.codePointAt(0)! > 0x7f && !/\s/u.test(prev)) || (/[0-9#*]/.test(prev) && next === '\u20e3'))
    } else if (c === 0xdb40) {
      // tags: keep a flag sequence 🏴 + tag letters + CANCEL TAG (e.g. the flag of Scotland)
      keep = prev === '\u{1f3f4}' && m[0].endsWith('\udb40\udc7f') && !/\udb40[\udc00-\udc1f]/.test(m[0])
    }
    if (!keep) {
      out.replace(at, end, '')
      count += c === 0xdb40 ? m[0].length / 2 : 1
      removedEnd = end
    }
  }
  return out.finish(count)
}

/** Whether a joiner next to this letter can be ordinary: a letter of a script that uses ZWJ/ZWNJ. */
function joins(ch: string | undefined): boolean {
  return ch !== undefined && LETTER.test(ch) && !NO_JOINER_SCRIPT.test(ch)
}

/** The character before `i`, skipping combining marks (whose script is "Inherited" from it). */
function baseBefore(text: string, i: number): string | undefined {
  let ch = codePointBefore(text, i)
  while (ch !== undefined && MARK.test(ch)) {
    i -= ch.length
    ch = codePointBefore(text, i)
  }
  return ch
}

// Step 2: NFC -----------------------------------------------------------------------------------------------

/** A code point and what can compose onto it: combining marks and Hangul vowel/trailing jamo. */
const CLUSTER = /[\s\S][\p{M}\u1160-\u11ff\ud7b0-\ud7ff]*/gu
/** Code points of the longest cluster NFC is applied to: a character and UAX #15's 30 non-starters. */
const MAX_CLUSTER = 31
/** A run past that bound somewhere in the text (a cheap, linear test before any normalisation). */
const LONG_RUN = /[\p{M}\u1160-\u11ff\ud7b0-\ud7ff]{31}/u

function nfcStage(text: string, withMap: boolean): Stage {
  // With an over-long cluster the whole text is never handed to normalize() (quadratic in that run).
  const long = LONG_RUN.test(text)
  const normalized = long ? undefined : text.normalize('NFC')
  if (normalized === text) return { text, src: undefined, count: 0 }
  const out = new Output(text, withMap)
  let count = 0
  for (const m of text.matchAll(CLUSTER)) {
    if (long && m[0].length > MAX_CLUSTER && codePointCount(m[0]) > MAX_CLUSTER) continue
    const n = m[0].normalize('NFC')
    if (n !== m[0]) {
      out.replace(m.index, m.index + m[0].length, n)
      count++
    }
  }
  const stage = out.finish(count)
  if (normalized === undefined || stage.text === normalized) return stage
  // A composition across our cluster boundaries (not known to occur): rewrite the differing middle whole.
  let p = 0
  while (p < text.length && p < normalized.length && text[p] === normalized[p]) p++
  let s = 0
  while (s < text.length - p && s < normalized.length - p && text[text.length - 1 - s] === normalized[normalized.length - 1 - s]) s++
  const whole = new Output(text, withMap)
  whole.replace(p, text.length - s, normalized.slice(p, normalized.length - s))
  return whole.finish(Math.max(1, count))
}

// Step 3: look-alikes ---------------------------------------------------------------------------------------

interface LookAlike {
  ascii: string
  /** Greek, or a Common-script letter (mathematical alphanumerics, letterlike symbols). */
  symbolic: boolean
}

let lookAlikes: Map<number, LookAlike> | undefined

/** The restricted table described in the module comment, built on first use from unhomoglyph's data. */
function lookAlikeTable(): Map<number, LookAlike> {
  if (lookAlikes !== undefined) return lookAlikes
  const table = new Map<number, LookAlike>()
  for (const [from, to] of Object.entries(confusables as Record<string, string>)) {
    const cp = from.codePointAt(0)!
    if (cp <= 0x7f || from.length !== String.fromCodePoint(cp).length) continue
    if (!/^[\p{L}\p{Nd}]$/u.test(from) || !/^[A-Za-z0-9]+$/.test(to)) continue
    const compatibilityLatin = (cp >= 0xff21 && cp <= 0xff5a) || (cp >= 0xfb00 && cp <= 0xfb06)
    if (/\p{Script=Latin}/u.test(from) && !compatibilityLatin) continue
    let ascii = to
    if (/\p{Uppercase}/u.test(from)) ascii = ascii.replace(/l/g, 'I')
    if (/\p{Nd}/u.test(from)) ascii = ascii.replace(/O/g, '0').replace(/l/g, '1')
    table.set(cp, { ascii, symbolic: /[\p{Script=Greek}\p{Script=Common}]/u.test(from) })
  }
  // confusables.txt lists only some fullwidth letters (ｆ, ｕ, Ｄ … are missing), which folded "ｆｕｌｌ" to
  // "ｆｕll": every fullwidth Latin letter is its ASCII letter (U+FF21–FF3A, U+FF41–FF5A; offset 0xFEE0).
  for (let cp = 0xff21; cp <= 0xff5a; cp++) {
    if (!isFullwidthLatin(cp)) continue
    table.set(cp, { ascii: String.fromCharCode(cp - 0xfee0), symbolic: false })
  }
  lookAlikes = table
  return table
}

const isFullwidthLatin = (cp: number): boolean => (cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a)

const WORD = /[\p{L}\p{M}\p{N}]+/gu
const LETTER = /\p{L}/u

const NOT_LETTER = 0
const OTHER_LETTER = 1
const LATIN_UNCASED = 2 // Latin-script modifier and other letters: ⁿ, ʰ, ª
const LATIN_CASED = 3
const letterKinds = new Map<number, number>()

function letterKind(cp: number): number {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) ? LATIN_CASED : NOT_LETTER
  let kind = letterKinds.get(cp)
  if (kind === undefined) {
    const ch = String.fromCodePoint(cp)
    if (!LETTER.test(ch)) kind = NOT_LETTER
    else if (!/\p{Script=Latin}/u.test(ch)) kind = OTHER_LETTER
    else kind = /[\p{Ll}\p{Lu}\p{Lt}]/u.test(ch) ? LATIN_CASED : LATIN_UNCASED
    letterKinds.set(cp, kind)
  }
  return kind
}
/** No-break and typographic spaces (not U+3000, which is ordinary in CJK text). */
const ODD_SPACE = /[\u00a0\u2000-\u200a\u202f\u205f]/g
const ODD_SPACE_CHAR = /^[\u00a0\u2000-\u200a\u202f\u205f]$/
/**
 * Every UTF-16 unit that can start a look-alike or an odd space: the table holds letters and digits only,
 * so ASCII and the General Punctuation block (typographic quotes, dashes) are skipped, apart from its
 * spaces. Not a /u regex: irregexp scans a plain class several times faster, and English prose is full of
 * curly quotes.
 */
const CANDIDATE = /[\u00a0-\u1fff\u2000-\u200a\u202f\u205f\u2070-\uffff]/g

interface Edit {
  from: number
  to: number
  text: string
}

function homoglyphStage(text: string, withMap: boolean): Stage {
  const table = lookAlikeTable()
  // Most non-ASCII text (typographic punctuation, accents, other scripts) has no look-alike at all.
  let any = false
  CANDIDATE.lastIndex = 0
  for (let m = CANDIDATE.exec(text); m !== null; m = CANDIDATE.exec(text)) {
    if (table.has(text.codePointAt(m.index)!) || ODD_SPACE_CHAR.test(m[0])) {
      any = true
      break
    }
  }
  if (!any) return { text, src: undefined, count: 0 }
  const edits: Edit[] = []
  const wholeWords: [number, number, LookAlike, boolean][][] = []
  let letters = 0
  let latin = 0
  for (const m of text.matchAll(WORD)) {
    const word = m[0]
    if (!/[^\x00-\x7f]/.test(word)) {
      const n = word.replace(/[^A-Za-z]/g, '').length
      letters += n
      latin += n
      continue
    }
    const found: [number, number, LookAlike, boolean][] = [] // [offset, length, mapping, is a letter]
    let ordinaryLatin = 0
    let otherLetters = 0
    let chars = 0
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i)!
      const len = cp > 0xffff ? 2 : 1
      const hit = table.get(cp)
      const kind = letterKind(cp)
      chars++
      if (hit !== undefined) found.push([m.index + i, len, hit, kind !== NOT_LETTER])
      else if (kind !== NOT_LETTER) {
        letters++
        if (kind === OTHER_LETTER) otherLetters++
        else {
          latin++
          if (kind === LATIN_CASED) ordinaryLatin++
        }
      }
      i += len
    }
    if (found.length === 0) continue
    // A Latin word with look-alikes planted in it, not a word of another script with a Latin letter planted.
    const latinWord = ordinaryLatin > otherLetters
    for (const [at, len, hit, letter] of found) {
      if (latinWord && !(hit.symbolic && chars < 3)) {
        edits.push({ from: at, to: at + len, text: hit.ascii })
        const n = hit.ascii.replace(/[^A-Za-z]/g, '').length
        letters += n
        latin += n
      } else if (letter) {
        letters++
        // A fullwidth Latin letter is a Latin letter: a text of fullwidth words is a Latin text, folded whole.
        if (isFullwidthLatin(text.charCodeAt(at))) latin++
      }
    }
    if (!latinWord && found.length === chars) wholeWords.push(found)
  }
  // Counted on the text as mapped so far, so a second pass reaches the same decision.
  if (2 * latin > letters) {
    for (const w of wholeWords) {
      if (w.length === 1 && w[0][2].symbolic) continue
      for (const [at, len, hit] of w) edits.push({ from: at, to: at + len, text: hit.ascii })
    }
  }
  // Spaces are judged by their neighbours as mapped above: "aa\u00a0І" becomes "aa I" in one pass.
  const endsAt = new Map<number, string>()
  const startsAt = new Map<number, string>()
  for (const e of edits) {
    endsAt.set(e.to, e.text)
    startsAt.set(e.from, e.text)
  }
  const charAt = (i: number, before: boolean): number => {
    const mapped = before ? endsAt.get(i + 1) : startsAt.get(i)
    if (mapped !== undefined) return mapped.charCodeAt(before ? mapped.length - 1 : 0)
    return text.charCodeAt(i)
  }
  for (const m of text.matchAll(ODD_SPACE)) {
    if (isAsciiLetter(charAt(m.index - 1, true)) && isAsciiLetter(charAt(m.index + 1, false))) {
      edits.push({ from: m.index, to: m.index + 1, text: ' ' })
    }
  }
  if (edits.length === 0) return { text, src: undefined, count: 0 }
  edits.sort((a, b) => a.from - b.from)
  const out = new Output(text, withMap)
  for (const e of edits) out.replace(e.from, e.to, e.text)
  return out.finish(edits.length)
}

// Helpers ---------------------------------------------------------------------------------------------------

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

function codePointCount(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdbff || i + 1 === s.length) n++
  }
  return n
}

function codePointAt(text: string, i: number): string | undefined {
  if (i >= text.length) return undefined
  return String.fromCodePoint(text.codePointAt(i)!)
}

function codePointBefore(text: string, i: number): string | undefined {
  if (i <= 0) return undefined
  const c = text.charCodeAt(i - 1)
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
    const h = text.charCodeAt(i - 2)
    if (h >= 0xd800 && h <= 0xdbff) return text.slice(i - 2, i)
  }
  return text[i - 1]
}
