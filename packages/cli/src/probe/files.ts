/**
 * The probe's files: the prompts it reads and the append-only JSON-lines output it resumes from.
 * An output line is written whole by one write call; a run killed mid-write can leave at most one partial
 * last line, which `openOutput` cuts off before appending, so the file always parses line by line.
 */
import { closeSync, existsSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs'
import { CliError } from '../errors.js'
import { parseJsonLine } from '../corpus.js'
import { readInput } from '../io.js'

export interface ProbePrompt {
  /** The prompt's `id` field, else its line number (1-based). */
  id: string
  prompt: string
  /** Replay (`--replay LOG`): the serving log record whose prompt this is. */
  served?: { seq: number; keyId: string }
}

/** One probed sample, one line of the output file. */
export interface ProbeSample {
  id: string
  prompt: string
  text: string
  model: string
  endpoint: string
  time: string
  requestId: string | null
  /** Replay only: the log record that served the prompt, and its key id (`scan --schedule` scores under it). */
  seq?: number
  keyId?: string
}

/** Prompts file: JSON lines with `prompt` (or `text`) and an optional `id`; blank lines ignored. */
export function readPrompts(path: string): ProbePrompt[] {
  const out: ProbePrompt[] = []
  const seen = new Set<string>()
  readInput(path)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return
      const o = parseJsonLine(line, `${path}:${i + 1}`)
      const prompt = o?.prompt ?? o?.text
      if (typeof prompt !== 'string' || prompt.trim() === '') throw new CliError(`${path}:${i + 1}: needs a non-empty string field "prompt"`)
      if (o.id !== undefined && typeof o.id !== 'string' && typeof o.id !== 'number') throw new CliError(`${path}:${i + 1}: "id" must be a string or a number`)
      const id = o.id === undefined ? String(i + 1) : String(o.id)
      if (seen.has(id)) throw new CliError(`${path}:${i + 1}: prompt id "${id.slice(0, 40)}" appears twice; ids identify prompts when a probe resumes`)
      seen.add(id)
      out.push({ id, prompt })
    })
  if (out.length === 0) throw new CliError(`${path}: no prompts in the file`)
  return out
}

/**
 * Opens the output for appending after reading the samples it already holds (a resumed run). A partial
 * last line — a write cut short by a crash — is removed first.
 */
export function openOutput(path: string): { samples: ProbeSample[]; append: (s: ProbeSample) => void; close: () => void } {
  const samples: ProbeSample[] = []
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8')
    const end = text.lastIndexOf('\n') + 1
    if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)))
    text
      .slice(0, end)
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return
        const s = parseJsonLine(line, `${path}:${i + 1} (is this the output of an earlier probe?)`) as unknown as ProbeSample
        if (typeof s?.id !== 'string' || typeof s.text !== 'string') throw new CliError(`${path}:${i + 1}: not a probe sample (needs "id" and "text")`)
        samples.push(s)
      })
  }
  let fd: number
  try {
    fd = openSync(path, 'a')
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  return {
    samples,
    append: (s) => void writeSync(fd, JSON.stringify(s) + '\n'),
    close: () => closeSync(fd),
  }
}
