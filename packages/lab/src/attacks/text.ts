/**
 * Text-level attacks: they act on the string, so the detector sees them only after re-tokenisation
 * (and after core's normalisation, which is meant to undo the first two). Units are Unicode code points,
 * never UTF-16 halves, so no surrogate pair is split.
 */
import { createRng } from '../rng.js'
import { type AttackOptions, checkAttack, choosePositions } from './common.js'
import { LabError } from '../errors.js'

/**
 * Latin letters and visually identical Cyrillic letters (Unicode confusables, UTS #39
 * confusables.txt: U+0430 а ↔ a, U+0435 е ↔ e, …).
 */
export const HOMOGLYPHS: Readonly<Record<string, string>> = {
  a: '\u0430', c: '\u0441', e: '\u0435', i: '\u0456', j: '\u0458', o: '\u043e', p: '\u0440', s: '\u0455', x: '\u0445', y: '\u0443',
  A: '\u0410', B: '\u0412', C: '\u0421', E: '\u0415', H: '\u041d', I: '\u0406', J: '\u0408', K: '\u041a', M: '\u041c', O: '\u041e',
  P: '\u0420', S: '\u0405', T: '\u0422', X: '\u0425', Y: '\u04ae',
}

/** Zero-width space, non-joiner, joiner, word joiner and BOM (ZWNBSP): all render as nothing. */
export const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff'] as const

function checkText(name: string, text: unknown): asserts text is string {
  if (typeof text !== 'string') throw new LabError('E_BAD_INPUT', `${name}: text must be a string`)
}

/** Replaces round(strength · m) of the m letters that have a homoglyph (see HOMOGLYPHS). */
export function homoglyphs(text: string, options: AttackOptions): string {
  checkText('homoglyphs', text)
  checkAttack('homoglyphs', options)
  const cps = Array.from(text)
  const eligible = cps.flatMap((c, i) => (c in HOMOGLYPHS ? [i] : []))
  for (const e of choosePositions(eligible.length, options.strength, createRng(options.seed))) {
    cps[eligible[e]] = HOMOGLYPHS[cps[eligible[e]]]
  }
  return cps.join('')
}

/** Inserts a zero-width character (seeded choice from ZERO_WIDTH) after round(strength · m) of the m code points. */
export function zeroWidth(text: string, options: AttackOptions): string {
  checkText('zeroWidth', text)
  checkAttack('zeroWidth', options)
  const cps = Array.from(text)
  const rng = createRng(options.seed)
  for (const i of choosePositions(cps.length, options.strength, rng)) cps[i] += ZERO_WIDTH[rng.nextInt(ZERO_WIDTH.length)]
  return cps.join('')
}

const WORD = /[\p{L}\p{M}][\p{L}\p{M}'’-]*/gu

/**
 * Changes the case of round(strength · m) of the m words that contain a cased letter: a lower-case word
 * becomes UPPER or Capitalised (seeded), any other becomes lower case. Every chosen word changes.
 */
export function changeCase(text: string, options: AttackOptions): string {
  checkText('changeCase', text)
  checkAttack('changeCase', options)
  const words = [...text.matchAll(WORD)].filter((m) => m[0].toLowerCase() !== m[0].toUpperCase())
  const rng = createRng(options.seed)
  const chosen = choosePositions(words.length, options.strength, rng)
  let out = ''
  let last = 0
  for (const c of chosen) {
    const m = words[c]
    const w = m[0]
    const lower = w.toLowerCase()
    let repl: string
    if (w !== lower) repl = lower
    else if (rng.nextInt(2) === 0) repl = w.toUpperCase()
    else {
      const [first, ...rest] = Array.from(w)
      repl = first.toUpperCase() + rest.join('')
      if (repl === w) repl = w.toUpperCase()
    }
    out += text.slice(last, m.index) + repl
    last = (m.index ?? 0) + w.length
  }
  return out + text.slice(last)
}

const WHITESPACE_FORMS = [' ', '  ', '\n', '\t'] as const

/**
 * Replaces round(strength · m) of the m whitespace runs by another of: one space, two spaces, a line break,
 * a tab (seeded, never the run itself). Every chosen run changes.
 */
export function changeWhitespace(text: string, options: AttackOptions): string {
  checkText('changeWhitespace', text)
  checkAttack('changeWhitespace', options)
  const runs = [...text.matchAll(/\s+/g)]
  const rng = createRng(options.seed)
  let out = ''
  let last = 0
  for (const c of choosePositions(runs.length, options.strength, rng)) {
    const m = runs[c]
    const forms = WHITESPACE_FORMS.filter((f) => f !== m[0])
    out += text.slice(last, m.index) + forms[rng.nextInt(forms.length)]
    last = (m.index ?? 0) + m[0].length
  }
  return out + text.slice(last)
}
