/**
 * The one corpus reader of the CLI (`scan`, `report`, `detect --jsonl`; `probe` writes what it reads).
 * The rules, in README.md#reading-a-corpus:
 * - a file is JSON lines when its name ends in .jsonl/.ndjson or `--format jsonl` says so, or (auto)
 *   when its first non-blank character is `{`; otherwise it is plain text;
 * - plain text is one text per file, unless `--split paragraphs` (texts separated by blank lines);
 * - a JSON line needs a string `text`; its `prompt`, when present, is always honoured (context for the
 *   text's first tokens, and its tuples excluded); its `id` labels it; probe's endpoint, model, time and
 *   requestId (or a `source` object) are kept as the text's provenance;
 * - a JSON line's `seq` (whole number) and `keyId` (string), as `probe --replay` writes them, name the serving
 *   log record and key of its prompt (`scan --schedule` scores it under that key);
 * - `--prompts FILE` adds prompts: a prompt whose id names a text without a prompt of its own becomes
 *   that text's prompt; every other prompt is excluded from the whole corpus;
 * - no usable text is an error (exit 2): an empty file, a file that is not UTF-8 text (binary), no texts.
 * Line numbers in errors are 1-based, as `path:line`.
 * Every command prints how it read its input (describeInput), in human and JSON output.
 */
import { basename } from 'node:path'
import { CliError } from './errors.js'
import { readFileBytes } from './io.js'

export type SplitMode = 'none' | 'paragraphs'
export type CorpusFormat = 'auto' | 'jsonl' | 'text'

export interface CorpusItem {
  text: string
  /** `path:line` for a JSON line (or its `id`), the file name for a whole file, `path#n` for a paragraph. */
  id: string
  prompt?: string
  provenance?: Record<string, string | number>
  /** A replay answer's serving log record (`seq`) and key (`keyId`), as `probe --replay` writes them (`scan --schedule`). */
  served?: { seq?: number; keyId?: string }
}

export interface GlobalPrompt {
  id: string
  prompt: string
}

/** How the input was read: printed by every command that reads a corpus. */
export interface InputDescription {
  files: number
  texts: number
  /** Texts with a prompt (their own `prompt` field, or one added by id from --prompts). */
  withPrompts: number
  /** Prompts excluded from the whole corpus (from --prompts, not matched to a text). */
  globalPrompts: number
  split: SplitMode
  /** Per format, how many files were read that way. */
  formats: { jsonl: number; text: number }
}

export interface Corpus {
  items: CorpusItem[]
  /** Prompts excluded everywhere. */
  prompts: string[]
  input: InputDescription
}

export interface ReadCorpusOptions {
  format?: CorpusFormat
  split?: SplitMode
  /** A prompts file: JSON lines `{id?, prompt}` (or `text`), or plain text with one prompt per line. */
  prompts?: string
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Why a file's bytes are no text to test, in the order readTextFile checks them. */
export type TextFault = 'empty' | 'utf8' | 'nul' | 'blank'

/** The one-line error for a file with a TextFault (`name`: the path, or stdin). */
export function textFaultError(name: string, fault: TextFault): CliError {
  const why = { empty: 'is empty', utf8: 'is not UTF-8 text (binary?)', nul: 'holds NUL bytes (binary?)', blank: 'holds only whitespace' }[fault]
  return new CliError(`${name} ${why}: no text to test`)
}

/**
 * Bytes as text, or the first fault (empty, not UTF-8, NUL bytes, only whitespace). Bytes cut at line ends
 * (0x0A is never inside a UTF-8 sequence) can be checked piece by piece: the file is UTF-8 when every piece
 * is, holds NUL when a piece does, and is blank when every piece is (scan --workers: corpus-blocks.ts).
 */
export function decodeText(bytes: Uint8Array): { text: string; fault?: undefined } | { fault: TextFault } {
  if (bytes.length === 0) return { fault: 'empty' }
  let text: string
  try {
    text = UTF8.decode(bytes)
  } catch {
    return { fault: 'utf8' }
  }
  if (text.includes('\0')) return { fault: 'nul' }
  if (text.trim() === '') return { fault: 'blank' }
  return { text }
}

/** A file's text; not UTF-8 or holding NUL bytes (binary) is an error, as is an empty file. */
export function readTextFile(path: string, what: string): string {
  const r = decodeText(readFileBytes(path, what, true))
  if (r.fault !== undefined) throw textFaultError(path === '-' ? 'stdin' : path, r.fault)
  return r.text
}

export function isJsonLines(path: string, text: string, format: CorpusFormat): boolean {
  if (format !== 'auto') return format === 'jsonl'
  return /\.(jsonl|ndjson)$/i.test(path) || /^\s*\{/.test(text)
}

/** One JSON line as a record, or a CliError naming `where`. */
export function parseJsonLine(line: string, where: string): Record<string, unknown> {
  let o: unknown
  try {
    o = JSON.parse(line)
  } catch {
    throw new CliError(`${where}: not valid JSON (one JSON object per line)`)
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new CliError(`${where}: not a JSON object`)
  return o as Record<string, unknown>
}

/** Probe's fields (and a `source` object) of a JSON line, as provenance. */
function provenanceOf(o: Record<string, unknown>): Record<string, string | number> | undefined {
  const out: Record<string, string | number> = {}
  const put = (k: string, v: unknown) => {
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v
  }
  for (const k of ['endpoint', 'model', 'requestId', 'time']) put(k, o[k])
  if (o.source !== null && typeof o.source === 'object' && !Array.isArray(o.source)) for (const [k, v] of Object.entries(o.source)) put(k, v)
  if (Object.keys(out).length === 0) return undefined
  put('sampleId', o.id)
  return out
}

/** The texts of one JSON-lines file, or of a piece of it cut at a line end whose first line is line `firstLine` of the file. */
export function jsonlItems(path: string, text: string, firstLine = 1): CorpusItem[] {
  const out: CorpusItem[] = []
  const name = path === '-' ? 'stdin' : path
  text.split('\n').forEach((raw, k) => {
    const i = k + firstLine - 1
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') return
    const where = `${name}:${i + 1}`
    const o = parseJsonLine(line, where)
    if (typeof o.text !== 'string') throw new CliError(`${where}: needs a string field "text"`)
    if (o.prompt !== undefined && o.prompt !== null && typeof o.prompt !== 'string') throw new CliError(`${where}: field "prompt" must be a string`)
    const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : `${basename(name)}:${i + 1}`
    const provenance = provenanceOf(o)
    if (o.seq !== undefined && !(typeof o.seq === 'number' && Number.isSafeInteger(o.seq) && o.seq >= 0)) throw new CliError(`${where}: field "seq" must be a whole number`)
    if (o.keyId !== undefined && typeof o.keyId !== 'string') throw new CliError(`${where}: field "keyId" must be a string`)
    const served = o.seq !== undefined || o.keyId !== undefined ? { ...(o.seq !== undefined ? { seq: o.seq as number } : {}), ...(o.keyId !== undefined ? { keyId: o.keyId as string } : {}) } : undefined
    out.push({ text: o.text, id, ...(typeof o.prompt === 'string' ? { prompt: o.prompt } : {}), ...(provenance ? { provenance } : {}), ...(served ? { served } : {}) })
  })
  return out
}

/** The texts of one plain-text file: the whole file, or its blank-line-separated paragraphs. */
export function textItems(path: string, text: string, split: SplitMode): CorpusItem[] {
  const name = basename(path === '-' ? 'stdin' : path)
  if (split === 'none') return [{ text, id: name }]
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((p) => p.replace(/^\s*\n|\n\s*$/g, ''))
    .filter((p) => p.trim() !== '')
    .map((p, i) => ({ text: p, id: `${name}#${i + 1}` }))
}

/** Prompts of a --prompts file, with ids (JSON lines) or by line (plain text). */
export function readPromptsFile(path: string): GlobalPrompt[] {
  const text = readTextFile(path, 'prompts file')
  if (!isJsonLines(path, text, 'auto')) {
    return text
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => l.trim() !== '')
      .map((prompt, i) => ({ id: String(i + 1), prompt }))
  }
  const out: GlobalPrompt[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    const where = `${path}:${i + 1}`
    const o = parseJsonLine(line, where)
    // `prompt`, else `text`; a record whose `prompt` is there but not a string is an error, not a fallback.
    const prompt = o.prompt ?? o.text
    if (typeof prompt !== 'string') throw new CliError(`${where}: needs a string field "prompt" (or "text")`)
    out.push({ id: typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : String(i + 1), prompt })
  })
  if (out.length === 0) throw new CliError(`${path}: no prompts in the file`)
  return out
}

/**
 * `--prompts` matched to texts by id: the first text (in corpus order) without a prompt of its own whose id a
 * prompt names gets the first prompt with that id; every prompt no text takes is excluded from the whole
 * corpus. Fed in corpus order, so a reader that sees the texts block by block (scan --workers) matches as one
 * that holds them all.
 */
export class PromptMatcher {
  /** Prompt indexes by id, in file order. */
  private readonly byId = new Map<string, number>()
  private readonly taken: boolean[]
  /** Ids already met on a text without a prompt (only the first such text may take a prompt). */
  private readonly met = new Set<string>()

  constructor(private readonly prompts: readonly GlobalPrompt[]) {
    prompts.forEach((p, i) => {
      if (!this.byId.has(p.id)) this.byId.set(p.id, i)
    })
    this.taken = prompts.map(() => false)
  }

  /** The ids a prompt names: only texts with one of them can take a prompt. */
  ids(): string[] {
    return [...this.byId.keys()]
  }

  /** The prompt of the next text (in corpus order) without one of its own whose id is `id`, if it takes one. */
  claim(id: string): string | undefined {
    const i = this.byId.get(id)
    if (i === undefined || this.met.has(id)) return undefined
    this.met.add(id)
    this.taken[i] = true
    return this.prompts[i].prompt
  }

  /** Prompts no text took, in file order: excluded everywhere. */
  rest(): string[] {
    return this.prompts.filter((_, i) => !this.taken[i]).map((p) => p.prompt)
  }
}

/** Reads every corpus file by the rules above. */
export function readCorpus(paths: readonly string[], opts: ReadCorpusOptions = {}): Corpus {
  const format = opts.format ?? 'auto'
  const split = opts.split ?? 'none'
  const items: CorpusItem[] = []
  const formats = { jsonl: 0, text: 0 }
  for (const path of paths) {
    const text = readTextFile(path, 'corpus file')
    if (isJsonLines(path, text, format)) {
      formats.jsonl++
      const got = jsonlItems(path, text)
      if (got.length === 0) throw new CliError(`${path === '-' ? 'stdin' : path}: no JSON lines with text in the file`)
      for (const it of got) items.push(it) // not push(...got): a spread of ~10⁵ arguments overflows the stack
    } else {
      formats.text++
      for (const it of textItems(path, text, split)) items.push(it)
    }
  }
  if (items.length === 0) throw new CliError('no texts to test')
  let prompts: string[] = []
  if (opts.prompts !== undefined) {
    const matcher = new PromptMatcher(readPromptsFile(opts.prompts))
    for (const it of items) {
      const prompt = it.prompt === undefined ? matcher.claim(it.id) : undefined
      if (prompt !== undefined) it.prompt = prompt
    }
    prompts = matcher.rest()
  }
  const input: InputDescription = {
    files: paths.length,
    texts: items.length,
    withPrompts: items.filter((i) => i.prompt !== undefined).length,
    globalPrompts: prompts.length,
    split,
    formats,
  }
  return { items, prompts, input }
}

/** One line for humans: how the input was read. */
export function describeInput(d: InputDescription): string {
  const kinds = [d.formats.jsonl ? `${d.formats.jsonl} JSON-lines` : '', d.formats.text ? `${d.formats.text} plain-text` : ''].filter(Boolean).join(' and ')
  const split = d.formats.text ? (d.split === 'paragraphs' ? ', plain text split into paragraphs (--split paragraphs)' : ', each plain-text file one text (--split paragraphs to split)') : ''
  return `input: ${d.texts} text${d.texts === 1 ? '' : 's'} from ${kinds} file${d.files === 1 ? '' : 's'}${split}; ${d.withPrompts} with prompts${d.globalPrompts ? `, ${d.globalPrompts} more prompts excluded everywhere` : ''}`
}
