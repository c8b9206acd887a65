/**
 * The corpus of `scan --workers N` as a stream of blocks, read by the rules of corpus.ts (README.md#reading-a-corpus)
 * with the same texts, ids, prompts, line numbers and errors, but not all at once: this thread only reads
 * bytes and cuts a JSON-lines file at line ends (~1 MB a block); the scan's threads decode and parse their
 * blocks (parseBlock) while the file is still being read, so no phase waits for the whole corpus.
 *
 * A plain-text file (one text, or its paragraphs) is read whole here, as readCorpus does. Which error a bad
 * corpus gets is readCorpus's: the first file (in order) with a fault — unreadable, empty, not UTF-8, NUL
 * bytes, only whitespace, then its first bad line, then no texts — so block results are collected per file
 * (CorpusCheck) and the error is decided once every block has been parsed. A block cut at a line end (0x0A
 * is never inside a UTF-8 sequence) is UTF-8 exactly when that part of the file is.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { decodeText, isJsonLines, jsonlItems, textFaultError, textItems, type CorpusFormat, type InputDescription, type SplitMode, type TextFault } from './corpus.js'
import { CliError } from './errors.js'
import { cannotRead } from './io.js'

/** Bytes per block: ~2,000 texts of a typical corpus, a few tenths of a second of a thread's work. */
export const BLOCK_BYTES = 1 << 20

/**
 * The block size a scan uses, `fallback` unless TOKENMARK_SCAN_BLOCK_BYTES (≥ 1024) sets it: tests cut small
 * corpora into many blocks (`scan --workers`, and the route jobs of `scan --shards`).
 */
export function blockBytes(fallback: number): number {
  const v = Number(process.env.TOKENMARK_SCAN_BLOCK_BYTES)
  return Number.isInteger(v) && v >= 1024 ? v : fallback
}

/** What routing needs of a text: corpus.ts's CorpusItem without its provenance. */
export interface BlockItem {
  text: string
  id: string
  prompt?: string
}

/** A piece of a JSON-lines file cut at a line end (its first line is line `firstLine`), or texts read here (a plain-text file). */
export type CorpusBlock = { file: number; path: string; firstLine: number; bytes: Uint8Array } | { file: number; items: BlockItem[] }

/** A block parsed: its texts, or what is wrong with it. */
export interface ParsedBlock {
  items: BlockItem[]
  fault?: 'utf8' | 'nul'
  blank: boolean
  /** The block's first bad line, as readCorpus words it. */
  error?: string
}

/** A scan thread's half: a block's texts, by jsonlItems (the JSON-lines reader of every command). */
export function parseBlock(b: CorpusBlock): ParsedBlock {
  if ('items' in b) return { items: b.items, blank: false }
  const r = decodeText(b.bytes)
  if (r.fault === 'utf8' || r.fault === 'nul') return { items: [], fault: r.fault, blank: false }
  if (r.fault !== undefined) return { items: [], blank: true }
  try {
    return { items: jsonlItems(b.path, r.text, b.firstLine).map((it) => ({ text: it.text, id: it.id, ...(it.prompt !== undefined ? { prompt: it.prompt } : {}) })), blank: false }
  } catch (e) {
    if (e instanceof CliError) return { items: [], blank: false, error: e.message }
    throw e
  }
}

const LENIENT = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * The texts a block holds if it parses — its lines that are not white space (String.prototype.trim's), as
 * jsonlItems counts them — found without parsing, so that every block's first corpus position (the corpus
 * digest numbers texts) is known when it is handed out. A block that does not parse fails the scan.
 */
export function textsIn(b: CorpusBlock): number {
  if ('items' in b) return b.items.length
  const bytes = b.bytes
  let n = 0
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(10, start)
    if (end < 0) end = bytes.length
    let i = start
    while (i < end && (bytes[i] === 32 || (bytes[i] >= 9 && bytes[i] <= 13))) i++
    if (i < end && (bytes[i] < 0x80 || LENIENT.decode(bytes.subarray(i, end)).trim() !== '')) n++
    start = end + 1
  }
  return n
}

interface FileState {
  format?: 'jsonl' | 'text'
  bytes: number
  /** Found while reading (unreadable, or a plain-text file's fault). */
  error?: CliError
  fault?: 'utf8' | 'nul'
  blocks: number
  blank: number
  /** The bad line of the earliest block that has one. */
  lineError?: { seq: number; message: string }
  texts: number
}

/** Per file, what its blocks turned out to be; the error readCorpus would give, once all are parsed. */
export class CorpusCheck {
  private readonly files: FileState[]

  constructor(
    private readonly paths: readonly string[],
    private readonly split: SplitMode,
  ) {
    this.files = paths.map(() => ({ bytes: 0, blocks: 0, blank: 0, texts: 0 }))
  }

  /** Block `seq` (corpus order) of file `file`, parsed. */
  noteBlock(file: number, seq: number, b: { fault?: 'utf8' | 'nul'; blank: boolean; error?: string; texts: number }): void {
    const f = this.files[file]
    f.blocks++
    if (b.blank) f.blank++
    if (b.fault === 'utf8' || (b.fault === 'nul' && f.fault === undefined)) f.fault = b.fault
    if (b.error !== undefined && (f.lineError === undefined || seq < f.lineError.seq)) f.lineError = { seq, message: b.error }
    f.texts += b.texts
  }

  /** Whether some file is already known to be bad (later blocks need only be checked). */
  get failing(): boolean {
    return this.files.some((f) => f.error !== undefined || f.fault !== undefined || f.lineError !== undefined)
  }

  /** readCorpus's error for these files, if any (the prompts file is read apart). */
  error(): CliError | undefined {
    let texts = 0
    for (let i = 0; i < this.files.length; i++) {
      const f = this.files[i]
      const name = this.paths[i] === '-' ? 'stdin' : this.paths[i]
      if (f.error !== undefined) return f.error
      if (f.format === undefined) break // not reached: an earlier file stopped the reading
      if (f.format === 'text') {
        texts += f.texts
        continue
      }
      const fault: TextFault | undefined = f.bytes === 0 ? 'empty' : (f.fault ?? (f.blank === f.blocks ? 'blank' : undefined))
      if (fault !== undefined) return textFaultError(name, fault)
      if (f.lineError !== undefined) return new CliError(f.lineError.message)
      if (f.texts === 0) return new CliError(`${name}: no JSON lines with text in the file`)
      texts += f.texts
    }
    return texts === 0 ? new CliError('no texts to test') : undefined
  }

  /** How the input was read, as readCorpus describes it. */
  input(withPrompts: number, globalPrompts: number): InputDescription {
    const count = (k: 'jsonl' | 'text') => this.files.filter((f) => f.format === k).length
    const texts = this.files.reduce((a, f) => a + f.texts, 0)
    return { files: this.paths.length, texts, withPrompts, globalPrompts, split: this.split, formats: { jsonl: count('jsonl'), text: count('text') } }
  }

  /**
   * The blocks of every file in corpus order, `size` bytes or so each; a file that cannot be read, or a
   * plain-text file that is no text, ends the reading (its error is the corpus's unless an earlier file has one).
   * Over the last 2·`threads` blocks' worth of bytes the blocks shrink geometrically (to `size`/16), so the threads
   * finish routing within a small block of each other.
   */
  *blocks(format: CorpusFormat, size = BLOCK_BYTES, threads = 1): Generator<CorpusBlock> {
    this.left = this.paths.reduce((a, p) => a + fileSize(p), 0)
    this.tail = 2 * threads
    for (let file = 0; file < this.paths.length; file++) {
      const path = this.paths[file]
      const f = this.files[file]
      let fd: number
      try {
        fd = path === '-' ? 0 : openSync(path, 'r')
      } catch (e) {
        f.error = cannotRead('corpus file', path, e)
        return
      }
      try {
        yield* this.fileBlocks(file, fd, format, size)
      } catch (e) {
        if (!(e instanceof ReadError)) throw e
        f.error = cannotRead('corpus file', path, e.cause)
      } finally {
        if (fd !== 0) closeSync(fd)
      }
      if (f.error !== undefined) return
    }
  }

  /** Bytes of the corpus not yet handed out (from the files' sizes; 0 when unknown, as for stdin). */
  private left = 0
  private tail = 2

  /** How many bytes the next block should hold. */
  private want(size: number): number {
    return Math.min(size, Math.max(size >> 4, Math.ceil(this.left / this.tail)))
  }

  private *fileBlocks(file: number, fd: number, format: CorpusFormat, size: number): Generator<CorpusBlock> {
    const path = this.paths[file]
    const f = this.files[file]
    let buf: Uint8Array = new Uint8Array(size)
    let held = 0
    let eof = false
    let firstLine = 1
    // auto: JSON lines when the name says so or the first character that is not white space is `{` (isJsonLines)
    let jsonl = format === 'auto' ? (isJsonLines(path, '', 'auto') ? true : undefined) : format === 'jsonl'
    let need = 0 // at least this many bytes before the next cut: more than a line without its end
    for (;;) {
      const want = jsonl === true ? Math.max(need, Math.min(buf.length, this.want(size))) : buf.length
      while (held < want && !eof) {
        const n = readChunk(fd, buf, held, want)
        if (n === 0) eof = true
        held += n
      }
      if (jsonl === undefined) {
        // decoded afresh while the start is white space; a character cut at the end waits for the next read
        const seen = new TextDecoder('utf-8', { ignoreBOM: true }).decode(buf.subarray(0, held), { stream: !eof })
        if (seen.trim() !== '' || eof) jsonl = isJsonLines(path, seen, 'auto')
      }
      if (jsonl !== true) {
        if (jsonl === false && eof) break
        buf = grow(buf, held)
        continue
      }
      const cut = eof ? held - 1 : buf.lastIndexOf(10, held - 1)
      if (cut < 0 && !eof) {
        buf = grow(buf, held) // a line longer than the block wanted: it grows
        need = held + 1
        continue
      }
      need = 0
      if (cut >= 0) {
        const next = new Uint8Array(Math.max(size, 2 * (held - cut - 1)))
        next.set(buf.subarray(cut + 1, held))
        const bytes = buf.subarray(0, cut + 1)
        f.bytes += bytes.length
        this.left = Math.max(0, this.left - bytes.length)
        f.format = 'jsonl'
        const lines = newlines(bytes) // before the block is handed out (its bytes move to a thread)
        yield { file, path, firstLine, bytes }
        firstLine += lines
        held -= cut + 1
        buf = next
      }
      if (eof) {
        f.format = 'jsonl'
        return
      }
    }
    // A plain-text file (or an undecided empty one): whole, as readCorpus reads it.
    f.bytes = held
    f.format = 'text'
    const r = decodeText(buf.subarray(0, held))
    if (r.fault !== undefined) {
      f.error = textFaultError(path === '-' ? 'stdin' : path, r.fault)
      return
    }
    const items = textItems(path, r.text, this.split) // counted as their blocks are parsed (noteBlock)
    for (let i = 0; i < items.length; ) {
      const block: BlockItem[] = []
      for (let chars = 0; i < items.length && chars < size; i++) {
        block.push({ text: items[i].text, id: items[i].id })
        chars += items[i].text.length
      }
      yield { file, items: block }
    }
  }
}

class ReadError extends Error {}

function fileSize(path: string): number {
  try {
    return path === '-' ? 0 : statSync(path).size
  } catch {
    return 0 // reported when it is opened
  }
}

function readChunk(fd: number, buf: Uint8Array, at: number, to: number): number {
  try {
    return readSync(fd, buf, at, to - at, null)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return readChunk(fd, buf, at, to) // a non-blocking stdin: try again
    throw new ReadError('read', { cause: e })
  }
}

/** `held` bytes of `buf` in a buffer twice as large. */
function grow(buf: Uint8Array, held: number): Uint8Array {
  if (held < buf.length) return buf
  const next = new Uint8Array(2 * buf.length)
  next.set(buf.subarray(0, held))
  return next
}

function newlines(b: Uint8Array): number {
  let n = 0
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++
  return n
}
