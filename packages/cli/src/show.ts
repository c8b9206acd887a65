/**
 * `detect --show` and `detect --html`: the token view of one detection (@tokenmark/evidence's tokenView, the
 * one model the server's /docs/try page renders too). The terminal gets ANSI background colours — green,
 * red, grey for not scored — when stdout is a terminal and NO_COLOR is unset (https://no-color.org;
 * FORCE_COLOR forces them); otherwise the same marks in plain text, wdiff style: {+matched+} [-missed-].
 */
import type { DetectionResult } from '@tokenmark/core'
import { renderTokenViewPage, tokenView, type TokenView, type TokenViewKind } from '@tokenmark/evidence'
import { writeFileSync } from 'node:fs'
import { CliError } from './errors.js'

/** Whether to colour `stream`: NO_COLOR (any non-empty value) wins, then FORCE_COLOR, then isTTY. */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true
}

// Background colours (black text): 42 green, 41 red, 100 bright black (grey).
const ANSI: Record<TokenViewKind, string> = { match: '\x1b[30;42m', miss: '\x1b[30;41m', unscored: '\x1b[30;100m' }
const RESET = '\x1b[0m'
const PLAIN: Record<TokenViewKind, [string, string]> = { match: ['{+', '+}'], miss: ['[-', '-]'], unscored: ['', ''] }

/** The coloured (or marked) text and a one-line legend, for the terminal. */
export function renderTerminal(v: TokenView, colour: boolean): string {
  // Colour stops at line ends so a terminal does not paint the rest of the line.
  const paint = (kind: TokenViewKind, text: string) =>
    colour ? text.split('\n').map((l) => (l === '' ? l : ANSI[kind] + l + RESET)).join('\n') : PLAIN[kind][0] + text + PLAIN[kind][1]
  // Neighbours of one kind are painted as one run: {+ all the+} rather than {+ all+}{+ the+}.
  const runs: { kind: TokenViewKind; text: string }[] = []
  for (const s of v.segments) {
    const last = runs[runs.length - 1]
    if (last?.kind === s.kind) last.text += s.text
    else runs.push({ kind: s.kind, text: s.text })
  }
  const body = runs.map((r) => paint(r.kind, r.text)).join('')
  const legend = colour
    ? `${paint('match', ' green ')} matched the key  ${paint('miss', ' red ')} did not  ${paint('unscored', ' grey ')} not scored`
    : '{+matched the key+}  [-did not match-]  unmarked: not scored'
  return `${body}${body.endsWith('\n') ? '' : '\n'}\n${legend}: ${v.matched} of ${v.tokensScored} scored tokens matched\n`
}

/** Writes the self-contained page for `detect --html FILE`. */
export function writeHtml(path: string, v: TokenView, source: string): void {
  try {
    writeFileSync(path, renderTokenViewPage(v, `tokenmark detect: ${source}`))
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

export { tokenView, type DetectionResult }
