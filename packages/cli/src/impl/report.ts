/** What `tokenmark report` does. Its options are declared in commands/report.ts; this module loads only when it runs. */
import { writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { TokenmarkError } from '@tokenmark/core'
import {
  createBundle,
  EvidenceError,
  openBundle,
  parseSigningKeyFile,
  renderReport,
  REPORT_FORMATS,
  type CorpusText,
  type ReportFormat,
  type SigningKey,
} from '@tokenmark/evidence'
import { CliError } from '../errors.js'
import { formatP, oneIn } from '../format.js'
import { parseFile, parseNumber, parsePromptsJsonl, readFileText, readInput } from '../io.js'
import { loadFilter, loadKey } from '../load.js'
import type { ReportCliOptions } from '../commands/report.js'

const isJsonLines = (path: string, text: string) => /\.jsonl$/i.test(path) || /^\s*\{/.test(text)

/** Texts of one corpus file: JSON lines with `text`, or the whole file as one text. */
export function readCorpusFile(path: string): CorpusText[] {
  const content = readInput(path)
  if (!isJsonLines(path, content)) {
    if (content.trim() === '') throw new CliError(`${path}: the file is empty`)
    return [{ text: content, id: basename(path) }]
  }
  const out: CorpusText[] = []
  content.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch {
      throw new CliError(`${path}:${i + 1}: not valid JSON (a corpus file holds one JSON object per line, with a "text" field)`)
    }
    const o = obj as Record<string, unknown>
    if (obj === null || typeof obj !== 'object' || typeof o.text !== 'string') throw new CliError(`${path}:${i + 1}: needs a string field "text"`)
    if (o.prompt !== undefined && typeof o.prompt !== 'string') throw new CliError(`${path}:${i + 1}: field "prompt" must be a string`)
    const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : `${basename(path)}:${i + 1}`
    out.push({ text: o.text, id, ...(typeof o.prompt === 'string' ? { prompt: o.prompt } : {}) })
  })
  if (out.length === 0) throw new CliError(`${path}: no texts in the file`)
  return out
}

/** Prompts to exclude: JSON lines with `prompt` (or `text`), or a plain file with one prompt per line. */
function readPrompts(path: string): string[] {
  const content = readInput(path)
  if (!isJsonLines(path, content)) return content.split('\n').filter((l) => l.trim() !== '')
  return parsePromptsJsonl(path, content).map((p) => p.prompt)
}

function loadSigningKey(path: string): SigningKey {
  return parseFile(path, () => parseSigningKeyFile(readFileText(path, 'signing key')), EvidenceError)
}

function formatOf(o: ReportCliOptions): ReportFormat {
  const f = o.format ?? (/\.md$/i.test(o.out) ? 'md' : /\.json$/i.test(o.out) ? 'json' : 'html')
  if (!(REPORT_FORMATS as readonly string[]).includes(f)) throw new CliError(`--format must be one of ${REPORT_FORMATS.join(', ')}, got "${f.slice(0, 20)}"`)
  return f as ReportFormat
}

function write(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data)
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

export function run(corpusPaths: string[], o: ReportCliOptions): void {
  const format = formatOf(o)
  const alpha = parseNumber('--alpha', o.alpha)
  if (!(alpha > 0 && alpha < 1)) throw new CliError('--alpha must be in (0, 1)')
  const key = loadKey(o.key)
  const signer = loadSigningKey(o.signingKey)
  const prompts = o.prompts ? readPrompts(o.prompts) : undefined
  const filter = o.filter ? loadFilter(o.filter) : undefined
  const texts = corpusPaths.flatMap(readCorpusFile)
  process.stderr.write(`tokenmark: scoring ${texts.length} texts from ${corpusPaths.length} file(s)…\n`)
  let bundle: Uint8Array
  try {
    bundle = createBundle(key, texts, signer, {
      case: { title: o.title, description: o.description },
      notes: o.notes,
      includeInputs: o.inputs,
      dedup: o.dedup,
      normalize: o.normalize,
      alpha,
      prompts,
      filter,
      filterDescription: o.filter ? `emission filter ${basename(o.filter)}` : undefined,
    })
  } catch (e) {
    if (e instanceof EvidenceError || e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
  const bundleName = o.bundle ? basename(o.bundle) : undefined
  if (o.bundle) write(o.bundle, bundle)
  const out = renderReport(bundle, { format, publicKey: signer.publicKey, bundleName })
  write(o.out, out)
  const { result, statistics } = openBundle(bundle).body
  process.stdout.write(
    `${result.detected ? 'WATERMARK DETECTED' : 'no significant evidence'}: p = ${formatP(result.log10P)} (${oneIn(result.log10P)}), ${statistics.tokensScored} tokens scored in ${texts.length} texts\n` +
      `  report ${o.out} (${format})${o.bundle ? `\n  bundle ${o.bundle} (signed by ${signer.signerId})` : ''}\n`,
  )
}
