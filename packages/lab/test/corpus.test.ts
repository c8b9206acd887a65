import { describe, expect, it } from 'vitest'
import { PART_TARGETS, corpusPart, corpusSummary, leadingSentences, mobyDickChapters, prompts } from '@tokenmark/lab'

describe('Moby Dick corpus split', () => {
  it('assigns all 135 chapters and the epilogue, each to exactly one part', () => {
    const chapters = mobyDickChapters()
    expect(chapters).toHaveLength(136)
    expect(chapters[0].text.startsWith('Call me Ishmael.')).toBe(true)
    expect(chapters[135].id).toBe('epilogue')
    const parts = ['teacher', 'student', 'heldout', 'prompts'] as const
    const seen = new Set<string>()
    for (const p of parts) for (const t of corpusPart(p)) {
      expect(seen.has(t)).toBe(false)
      seen.add(t)
    }
    expect(seen.size).toBe(136)
  })

  it('gives each part its target share of characters within 2 points', () => {
    const s = corpusSummary()
    for (const [p, target] of Object.entries(PART_TARGETS)) {
      expect(Math.abs(s[p as keyof typeof s].share - target)).toBeLessThan(0.02)
    }
  })

  it('makes train the union of the disjoint teacher and student parts', () => {
    const train = corpusPart('train')
    const teacher = new Set(corpusPart('teacher'))
    const student = corpusPart('student')
    expect(student.some((t) => teacher.has(t))).toBe(false)
    expect(train.length).toBe(teacher.size + student.length)
  })

  it('is deterministic: the same chapters land in the same parts on every call', () => {
    const a = mobyDickChapters().map((c) => c.part).join()
    // Two calls in one process agree, and the snapshot pins the split across runs and machines.
    expect(mobyDickChapters().map((c) => c.part).join()).toBe(a)
    expect(a).toMatchSnapshot()
  })

  it('cuts the prompts part into short prompts of one or two sentences', () => {
    const ps = prompts()
    expect(ps.length).toBeGreaterThan(100)
    for (const p of ps) {
      expect(p.length).toBeGreaterThanOrEqual(40)
      expect(p.length).toBeLessThanOrEqual(200)
      expect(p).not.toMatch(/\n|\s{2}/)
    }
    const promptText = corpusPart('prompts').join('\n').replace(/\s+/g, ' ')
    const trainText = corpusPart('train').join('\n')
    expect(ps.filter((p) => promptText.includes(p)).length).toBe(ps.length)
    expect(ps.filter((p) => trainText.includes(p)).length).toBeLessThan(3)
  })

  it('takes sentences until the minimum length and cuts an overlong one at a word', () => {
    expect(leadingSentences('Call me Ishmael. Some years ago I sailed. More.', 20, 200)).toBe('Call me Ishmael. Some years ago I sailed.')
    expect(leadingSentences('Short. ' + 'word '.repeat(60), 20, 50).length).toBeLessThanOrEqual(50)
    expect(leadingSentences('"Hello!" he said. Then more.', 12, 200)).toBe('"Hello!" he said.')
  })
})
