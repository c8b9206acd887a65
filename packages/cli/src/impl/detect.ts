/** What `tokenmark detect` does. Its options type lives here; commands/detect.ts declares the flags and loads this module only when it runs. */
import { detect, type DetectionResult, type WatermarkKey } from '@tokenmark/core'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'
import { describeInput, jsonlItems, readTextFile, type InputDescription } from '../corpus.js'
import { nothingScored } from './scan.js'
import { loadKey, resolveTokenizer } from '../load.js'

/** `detect`'s options once checked (commands/detect.ts declares the flags). */
export interface DetectOptions {
  key: string[]
  tokenizer?: string
  tokenizerFile?: string
  alpha: number
  window?: boolean
  dedup: boolean
  normalize: boolean
  json?: boolean
  jsonl?: boolean
  marks?: boolean
  /** Print the text with each token coloured (show.ts). */
  show?: boolean
  /** Write that view as a self-contained HTML page to this file. */
  html?: string
  /** The prompt that produced the text (a JSON line's own prompt wins). */
  prompt?: string
  /** Try the plausible mismatched configurations too (impl/diagnose.ts). */
  diagnose?: boolean
}

/** The JSON shape of a detection, shared by `--json`, `--jsonl` and the server's detect route. */
export function detectionJson(r: DetectionResult): Record<string, unknown> {
  return { ...r }
}

function summary(r: DetectionResult): string {
  const verdict = !r.valid ? 'NOT A VALID TEST (de-duplication off)' : r.detected ? 'WATERMARK DETECTED' : 'no watermark detected'
  const d = r.decision
  const lines = [
    d
      ? `${verdict}: p = ${formatP(d.log10P)} (${oneIn(d.log10P)}; log10 p = ${d.log10P.toFixed(2)}; alpha = ${r.alpha}), decided by the ${d.test === 'window' ? 'span' : 'whole-text'} test, corrected for two tests`
      : `${verdict}: p = ${formatP(r.log10P)} (${oneIn(r.log10P)}; log10 p = ${r.log10P.toFixed(2)}; alpha = ${r.alpha})`,
    `  key ${r.keyId} (${r.scheme} ${JSON.stringify(r.params)})${r.keysTested > 1 ? `, best of ${r.keysTested} keys, corrected` : ''}`,
    `  tokens: ${r.tokensTotal} total, ${r.tokensScored} scored, ${r.tokensSkipped.total} skipped (${r.tokensSkipped.noContext} without context, ${r.tokensSkipped.duplicate} repeated)${r.dedup ? '' : ' — de-duplication OFF'}`,
  ]
  if (r.tokensScored > 0) lines.push(`  ${statisticLine(r)}, z = ${r.zScore.toFixed(2)}`)
  if (d) lines.push(`  whole text: p = ${formatP(r.log10P)}`)
  if (r.window) {
    lines.push(
      `  strongest span: tokens ${r.window.startToken}–${r.window.endToken}${r.window.startChar !== undefined ? ` (chars ${r.window.startChar}–${r.window.endChar})` : ''}, p = ${formatP(r.window.log10P)} corrected for ${r.window.windowsExamined} windows`,
    )
  }
  if (r.normalization && Object.values(r.normalization.changes).some((v) => v > 0)) {
    lines.push(`  normalised: ${Object.entries(r.normalization.changes).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`).join(', ')}`)
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`)
  return lines.join('\n') + '\n'
}

/** The statistic in words: green share, mean g-value or mean score against its null expectation. */
function statisticLine(r: DetectionResult): string {
  const n = r.tokensScored
  if (r.statistic === 'greenCount') return `green: ${r.value} of ${n} (${((100 * r.value) / n).toFixed(1)}%)`
  if (r.statistic === 'gSum') {
    const layers = Number(r.params.layers ?? 1)
    return `mean g: ${(r.value / (n * layers)).toFixed(4)} over ${layers} layers (0.5 expected)`
  }
  return `mean score: ${(r.value / n).toFixed(4)} (1 expected)`
}

export async function run(path: string, o: DetectOptions): Promise<void> {
  if (o.diagnose) return (await import('./diagnose.js')).runDiagnose(path, o)
  const { alpha } = o
  const keys: WatermarkKey[] = o.key.map(loadKey)
  const tokenizer = resolveTokenizer(o.tokenizer, o.tokenizerFile)
  const input = readTextFile(path, 'text')
  const test = (text: string, prompt?: string): DetectionResult =>
    detect({ text, prompt, keys, tokenizer, alpha, window: o.window, dedup: o.dedup, normalize: o.normalize, marks: o.marks || o.show || o.html !== undefined })
  if (o.jsonl) {
    // One result line per input line; a line with nothing to score gets an error record, not "p = 1".
    const items = jsonlItems(path, input)
    if (items.length === 0) throw new CliError(`${path === '-' ? 'stdin' : path}: no JSON lines with text`)
    const description: InputDescription = {
      files: 1,
      texts: items.length,
      withPrompts: items.filter((i) => i.prompt !== undefined).length,
      globalPrompts: 0,
      split: 'none',
      formats: { jsonl: 1, text: 0 },
    }
    process.stderr.write(`tokenmark: ${describeInput(description)}\n`)
    for (const it of items) {
      const r = test(it.text, it.prompt ?? o.prompt)
      const line =
        r.tokensScored === 0
          ? { id: it.id, error: { code: 'E_NOTHING_TO_SCORE', message: nothingScored(r.tokensTotal, 'this text').message } }
          : { id: it.id, ...detectionJson(r) }
      process.stdout.write(JSON.stringify(line) + '\n')
    }
    return
  }
  const r = test(input, o.prompt)
  if (r.tokensScored === 0) throw nothingScored(r.tokensTotal, 'the text')
  if (o.show || o.html !== undefined) {
    const { renderTerminal, tokenView, useColour, writeHtml } = await import('../show.js')
    const view = tokenView(input, r)
    if (o.html !== undefined) writeHtml(o.html, view, path === '-' ? 'stdin' : path)
    if (o.show) process.stdout.write(renderTerminal(view, useColour(process.stdout)) + '\n')
    if (!o.marks) delete r.marks // asked for the view, not for marks in the output
  }
  const description: InputDescription = { files: 1, texts: 1, withPrompts: o.prompt !== undefined ? 1 : 0, globalPrompts: 0, split: 'none', formats: { jsonl: 0, text: 1 } }
  process.stdout.write(o.json ? JSON.stringify({ ...detectionJson(r), input: description }) + '\n' : `${describeInput(description)}\n${summary(r)}`)
}
