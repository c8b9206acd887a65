import { describe, expect, test } from 'vitest'
import { CorpusScanner, detect, eValueFor, keyFromSecret, OUTCOME_SCHEMA, Scorer } from '@tokenmark/core'

const key = keyFromSecret(new Uint8Array(32).fill(9), { scheme: 'kgw' })
const texts = [
  'The whale swam on and on through the quiet grey sea, and the sea was quiet.',
  'A ship came out of the fog at dawn; the quiet grey sea lay under it.',
  'Nobody on the ship had seen the whale, but everyone had heard of it.',
]
const prompts = ['Tell me about the quiet grey sea.', 'What came out of the fog?', 'Who saw the whale?']

describe('Scorer', () => {
  test('scoring each text in a fork and merging equals scoring the corpus directly', () => {
    for (const dedup of [true, false]) {
      const direct = new Scorer(key, { dedup })
      texts.forEach((t, i) => direct.add(t, { prompt: prompts[i] }))
      const folded = new Scorer(key, { dedup })
      const perText: number[] = []
      texts.forEach((t, i) => {
        const context = folded.excludePrompt(prompts[i])
        const view = folded.fork()
        const ids = view.encode(t)
        view.addTokens(ids, context)
        perText.push(view.accumulator.tokensScored)
        folded.merge(view)
      })
      const a = direct.outcome()
      const b = folded.outcome()
      expect(b.tokensScored).toBe(a.tokensScored)
      expect(b.value).toBe(a.value)
      expect(b.log10P).toBe(a.log10P)
      expect(b.tokensTotal).toBe(a.tokensTotal)
      expect(folded.texts).toBe(3)
      // With de-duplication the corpus scores fewer tuples than the texts do one by one (the texts share tuples).
      if (dedup) expect(perText.reduce((x, y) => x + y, 0)).toBeGreaterThan(a.tokensScored)
    }
  })

  test('a fork sees the exclusions of prompts added to its parent after it was made', () => {
    const s = new Scorer(key)
    const view = s.fork()
    s.excludePrompt('the quiet grey sea')
    view.add('the quiet grey sea')
    expect(view.outcome().tokensScored).toBe(0)
    expect(view.outcome().tokensSkipped.excluded).toBeGreaterThan(0)
  })

  test('CorpusScanner is a Scorer: same texts, same outcome', () => {
    const s = new Scorer(key)
    const c = new CorpusScanner(key)
    for (const t of texts) {
      s.add(t)
      c.add(t)
    }
    const { texts: n, scheme, keyId, filter, ...outcome } = c.result()
    expect(outcome).toEqual(s.outcome())
    expect([n, scheme, keyId, filter]).toEqual([3, 'kgw', key.keyId, false])
  })
})

describe('outcome', () => {
  test('without de-duplication the outcome is not a valid test: no verdict, no anytime-valid e-value, a warning', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(100)
    const off = detect({ text, keys: key, dedup: false, alpha: 0.5 })
    expect(off.valid).toBe(false)
    expect(off.detected).toBe(false)
    expect(off.anytimeValid).toBe(false)
    expect(off.warnings.join(' ')).toMatch(/not a valid test/)
    const on = detect({ text, keys: key })
    expect(on.valid).toBe(true)
    expect(on.warnings).toEqual([])
  })

  test('log10 E is finite far below the null mean and beyond the largest double', () => {
    const low = eValueFor({ kind: 'binomial', p: 0.25, trialsPerToken: 1 }, 100_000, 20_000)
    expect(Number.isFinite(low.log10E)).toBe(true)
    expect(low.log10E).toBeLessThan(-4)
    const high = eValueFor({ kind: 'binomial', p: 0.25, trialsPerToken: 1 }, 100_000, 90_000)
    expect(high.log10E).toBeGreaterThan(308)
    expect(high.eValue).toBe(Number.MAX_VALUE)
    const g = eValueFor({ kind: 'gamma' }, 10_000, 100)
    expect(Number.isFinite(g.log10E)).toBe(true)
  })

  test('OUTCOME_SCHEMA names every field of an outcome, and only those', () => {
    const o = new Scorer(key).outcome()
    expect(Object.keys(o).sort()).toEqual(Object.keys(OUTCOME_SCHEMA.properties).sort())
    expect([...OUTCOME_SCHEMA.required].sort()).toEqual(Object.keys(o).sort())
  })
})

describe('detect --window', () => {
  test('one verdict from both tests, corrected for two, naming the test that decided', () => {
    const human = 'It was a long day and nobody knew where the boat had gone, or why. '.repeat(6)
    const r = detect({ text: human, keys: key, window: true })
    expect(r.decision).toBeDefined()
    const d = r.decision!
    const smaller = Math.min(r.log10P, r.window?.log10P ?? 0)
    expect(d.log10P).toBeCloseTo(Math.min(0, smaller + Math.log10(2)), 12)
    expect(d.test).toBe(r.window && r.window.log10P < r.log10P ? 'window' : 'text')
    expect(r.detected).toBe(d.log10P <= Math.log10(r.alpha))
  })
})
