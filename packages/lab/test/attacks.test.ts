import { describe, expect, it } from 'vitest'
import {
  HOMOGLYPHS,
  LabError,
  ZERO_WIDTH,
  attackNames,
  attacks,
  changeCase,
  changeWhitespace,
  copyPaste,
  corpusPart,
  deleteTokens,
  generateIds,
  homoglyphs,
  insertTokens,
  nextBest,
  resampleSpans,
  substituteTokens,
  swapAdjacent,
  truncateTokens,
  zeroWidth,
  type AttackEnv,
} from '@tokenmark/lab'
import { smallByteModel } from './helpers.js'

function fixture() {
  const { model, codec, heldout } = smallByteModel()
  const prefix = heldout[0].subarray(0, 20)
  const ids = generateIds(model, prefix, { maxTokens: 400, seed: 11 }).ids
  const human = heldout[1]
  return { model, codec, ids, prefix, human }
}

/** Positions where a and b differ (same length). */
function diff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++
  return d
}

describe('token-level attacks', () => {
  const strengths = [0, 0.1, 0.3, 1]

  it('deletion removes round(strength · n) tokens and keeps the rest in order', () => {
    const { ids } = fixture()
    for (const strength of strengths) {
      const out = deleteTokens(ids, { strength, seed: 1 })
      expect(out.length).toBe(ids.length - Math.round(strength * ids.length))
      let j = 0 // out is a subsequence of ids
      for (let i = 0; i < ids.length && j < out.length; i++) if (ids[i] === out[j]) j++
      expect(j).toBe(out.length)
    }
  })

  it('insertion adds round(strength · n) tokens the model finds plausible, keeping the original as a subsequence', () => {
    const { ids, model, prefix } = fixture()
    const out = insertTokens(ids, { strength: 0.2, seed: 1, model, prefix })
    expect(out.length).toBe(ids.length + 80)
    let j = 0
    for (let i = 0; i < out.length && j < ids.length; i++) if (out[i] === ids[j]) j++
    expect(j).toBe(ids.length)
    expect(out.every((t) => t < model.vocabSize)).toBe(true)
  })

  it('substitution replaces exactly round(strength · n) tokens with the model’s next-best choice', () => {
    const { ids, model, prefix } = fixture()
    for (const strength of strengths) {
      const out = substituteTokens(ids, { strength, seed: 2, model, prefix })
      expect(out.length).toBe(ids.length)
      expect(diff(ids, out)).toBe(Math.round(strength * ids.length))
    }
    // context-aware: each replacement is the most probable other token after the attacked text before it
    const out = substituteTokens(ids, { strength: 0.3, seed: 2, model, prefix })
    for (let i = 3; i < ids.length; i++) {
      if (out[i] !== ids[i]) expect(out[i]).toBe(nextBest(model, out.subarray(i - 3, i), ids[i]))
    }
  })

  it('adjacent swaps move about strength · n tokens and keep the multiset', () => {
    const { ids } = fixture()
    const out = swapAdjacent(ids, { strength: 0.3, seed: 3 })
    expect(Array.from(out).sort()).toEqual(Array.from(ids).sort())
    const changed = diff(ids, out)
    expect(changed).toBeLessThanOrEqual(120)
    expect(changed).toBeGreaterThan(80)
  })

  it('span re-sampling rewrites about strength · n tokens in aligned spans', () => {
    const { ids, model, prefix } = fixture()
    const out = resampleSpans(ids, { strength: 0.25, seed: 4, model, prefix, spanLength: 10 })
    expect(out.length).toBe(ids.length)
    const changed = diff(ids, out)
    expect(changed).toBeLessThanOrEqual(100)
    expect(changed).toBeGreaterThan(40) // a re-sampled token may equal the original
    const blocks = new Set<number>()
    for (let i = 0; i < ids.length; i++) if (ids[i] !== out[i]) blocks.add(Math.floor(i / 10))
    expect(blocks.size).toBeLessThanOrEqual(10)
  })

  it('truncation keeps the first n − round(strength · n) tokens', () => {
    const { ids } = fixture()
    expect(truncateTokens(ids, { strength: 0.25, seed: 0 })).toEqual(ids.subarray(0, 300))
    expect(truncateTokens(ids, { strength: 1, seed: 0 })).toHaveLength(0)
  })

  it('copy-paste embeds the watermarked prefix in human text at the human share `strength`', () => {
    const { ids, human } = fixture()
    const out = copyPaste(ids, { strength: 0.75, seed: 5, human })
    expect(out.length).toBe(ids.length)
    const wm = Array.from(ids.subarray(0, 100)).join()
    expect(Array.from(out).join().includes(wm)).toBe(true)
    expect(() => copyPaste(ids, { strength: 0.5, seed: 5, human: human.subarray(0, 10) })).toThrow(/human tokens/)
  })
})

describe('text-level attacks', () => {
  const text = corpusPart('heldout')[0].slice(0, 3000)

  it('homoglyphs replace round(strength · m) of the letters that have one', () => {
    const eligible = Array.from(text).filter((c) => c in HOMOGLYPHS).length
    const out = homoglyphs(text, { strength: 0.3, seed: 1 })
    expect(Array.from(out)).toHaveLength(Array.from(text).length)
    expect(diff(Array.from(text), Array.from(out))).toBe(Math.round(0.3 * eligible))
  })

  it('zero-width injection adds round(strength · m) invisible characters and nothing else', () => {
    const out = zeroWidth(text, { strength: 0.1, seed: 2 })
    const zw = Array.from(out).filter((c) => (ZERO_WIDTH as readonly string[]).includes(c)).length
    expect(zw).toBe(Math.round(0.1 * Array.from(text).length))
    expect(Array.from(out).filter((c) => !(ZERO_WIDTH as readonly string[]).includes(c)).join('')).toBe(text)
  })

  it('case changes alter exactly round(strength · m) cased words and keep the letters', () => {
    const words = text.match(/[\p{L}\p{M}][\p{L}\p{M}'’-]*/gu) ?? []
    const out = changeCase(text, { strength: 0.2, seed: 3 })
    expect(out.toLowerCase()).toBe(text.toLowerCase())
    const outWords = out.match(/[\p{L}\p{M}][\p{L}\p{M}'’-]*/gu) ?? []
    expect(diff(words, outWords)).toBe(Math.round(0.2 * words.length))
  })

  it('whitespace changes alter exactly round(strength · m) runs and keep the words', () => {
    const runs = text.match(/\s+/g) ?? []
    const out = changeWhitespace(text, { strength: 0.2, seed: 4 })
    expect(out.split(/\s+/)).toEqual(text.split(/\s+/))
    expect(diff(runs, out.match(/\s+/g) ?? [])).toBe(Math.round(0.2 * runs.length))
  })
})

describe('attack registry', () => {
  it('runs every attack by name, deterministically, within the vocabulary, without touching the input', () => {
    const { ids, model, codec, prefix, human } = fixture()
    const env: AttackEnv = { model, tokenizer: codec, prefix, human }
    expect(attackNames).toHaveLength(12)
    for (const name of attackNames) {
      const before = ids.slice()
      const a = attacks[name].apply(ids, { strength: 0.2, seed: 7 }, env)
      const b = attacks[name].apply(ids, { strength: 0.2, seed: 7 }, env)
      const c = attacks[name].apply(ids, { strength: 0.2, seed: 8 }, env)
      expect(ids, name).toEqual(before)
      expect(a.ids, name).toEqual(b.ids)
      expect(a.text, name).toBe(b.text)
      expect(a.ids.every((t) => t < model.vocabSize), name).toBe(true)
      if (!['none', 'truncate'].includes(name)) expect(c.text, name).not.toBe(a.text)
      if (name !== 'none') expect(a.text, name).not.toBe(codec.decode(ids))
      expect(attacks[name].apply(ids, { strength: 0, seed: 7 }, env).text, name).toBe(codec.decode(ids))
    }
  })

  it('rejects strengths outside [0, 1] and non-u32 seeds with LabError', () => {
    const { ids } = fixture()
    expect(() => deleteTokens(ids, { strength: 1.5, seed: 0 })).toThrow(LabError)
    expect(() => deleteTokens(ids, { strength: 0.1, seed: -1 })).toThrow(/seed/)
    expect(() => homoglyphs('abc', { strength: Number.NaN, seed: 0 })).toThrow(/strength/)
  })
})
