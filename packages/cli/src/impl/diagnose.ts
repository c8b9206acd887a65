/**
 * `tokenmark detect --diagnose`: core's diagnose() (docs/spec.md#diagnosis) on one text or on each JSON
 * line, printed as a table with one row per configuration tried and one sentence naming the mismatch
 * that most likely explains a miss; `--json` / `--jsonl` print every row and the corrected verdict.
 */
import { diagnose, type Diagnosis, type WatermarkKey } from '@tokenmark/core'
import { describeInput, jsonlItems, readTextFile, type InputDescription } from '../corpus.js'
import { CliError } from '../errors.js'
import { formatP } from '../format.js'
import { loadKey, resolveTokenizer } from '../load.js'
import type { DetectOptions } from './detect.js'
import { nothingScored } from './scan.js'

/** Whether any configuration scored a token (else the text is too short for every one of them). */
function scoredAny(d: Diagnosis): boolean {
  return d.rows.some((r) => r.tokensScored > 0)
}

/** The human table: the key's configuration first, then each mismatch tried, then the verdict. */
export function diagnosisText(d: Diagnosis, key: WatermarkKey): string {
  const head = ['#', 'configuration', 'tokens', 'scored', 'p', 'log10 p']
  const cells = d.rows.map((r, i) => [String(i + 1), r.label + (i === d.best ? ' *' : ''), String(r.tokensTotal), String(r.tokensScored), formatP(r.log10P), r.log10P.toFixed(2)])
  const width = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)))
  const line = (row: string[]) => '  ' + row.map((v, c) => (c === 1 ? v.padEnd(width[c]) : v.padStart(width[c]))).join('  ')
  const best = d.rows[d.best]
  const verdict = d.detected ? 'WATERMARK DETECTED' : 'no watermark detected'
  return [
    `diagnosis against key ${key.keyId} (${key.scheme} ${JSON.stringify(key.config.params)}, tokenizer ${key.config.tokenizer}): ${d.configurationsTried} configurations tried`,
    line(head),
    ...cells.map(line),
    `${verdict}: best "${best.label}" (row ${d.best + 1}), p = ${formatP(best.log10P)} × ${d.configurationsTried} configurations = ${formatP(d.log10P)} (log10 p = ${d.log10P.toFixed(2)}; Bonferroni-corrected; alpha = ${d.alpha})`,
    d.explanation.charAt(0).toUpperCase() + d.explanation.slice(1) + '.',
  ].join('\n') + '\n'
}

export function runDiagnose(path: string, o: DetectOptions): void {
  const key = loadKey(o.key[0])
  const extra = resolveTokenizer(o.tokenizer, o.tokenizerFile)
  const input = readTextFile(path, 'text')
  const run = (text: string, prompt?: string) => diagnose({ text, prompt, key, tokenizers: extra ? [extra] : [], alpha: o.alpha })
  if (o.jsonl) {
    const items = jsonlItems(path, input)
    if (items.length === 0) throw new CliError(`${path === '-' ? 'stdin' : path}: no JSON lines with text`)
    for (const it of items) {
      const d = run(it.text, it.prompt ?? o.prompt)
      const line = scoredAny(d) ? { id: it.id, keyId: key.keyId, ...d } : { id: it.id, error: { code: 'E_NOTHING_TO_SCORE', message: nothingScored(d.rows[0].tokensTotal, 'this text').message } }
      process.stdout.write(JSON.stringify(line) + '\n')
    }
    return
  }
  const d = run(input, o.prompt)
  if (!scoredAny(d)) throw nothingScored(d.rows[0].tokensTotal, 'the text')
  const description: InputDescription = { files: 1, texts: 1, withPrompts: o.prompt !== undefined ? 1 : 0, globalPrompts: 0, split: 'none', formats: { jsonl: 0, text: 1 } }
  process.stdout.write(o.json ? JSON.stringify({ keyId: key.keyId, ...d, input: description }) + '\n' : `${describeInput(description)}\n${diagnosisText(d, key)}`)
}
