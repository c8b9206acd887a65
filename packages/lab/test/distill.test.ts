/**
 * The distillation simulation (issue 3 §5): validity under H0 and power under distillation, at a scale
 * that runs in seconds. The full table (docs/results.md) uses the same code with its default sizes.
 */
import { describe, expect, it } from 'vitest'
import { EmissionFilter, binomialUpperTailLog10, eProcess, CorpusScanner, getTokenizer, prepareKey, seededRng } from '@tokenmark/core'
import {
  Distillation,
  NGramModel,
  distillKey,
  encodeCorpus,
  harvestedResponses,
  ksUniform,
  mixTrainingSet,
  parseDistillFilter,
  partModel,
  probeStudent,
  recordFilter,
  resolveDistillOptions,
  scanAnswers,
  serveTeacher,
  splitPrompts,
  type Exchange,
} from '@tokenmark/lab'

const tk = getTokenizer('o200k_base')

describe('Kolmogorov–Smirnov test against U(0, 1)', () => {
  it('accepts a uniform sample and rejects a skewed one', () => {
    const r = seededRng(11)
    const u = Array.from({ length: 500 }, () => r.nextFloat())
    expect(ksUniform(u).pValue).toBeGreaterThan(0.01)
    expect(ksUniform(u.map((x) => x * x)).pValue).toBeLessThan(1e-6)
    // D by hand: sorted {0.1, 0.2, 0.9}; the largest gap is 2/3 − 0.2 (i = 2)
    expect(ksUniform([0.9, 0.1, 0.2]).statistic).toBeCloseTo(2 / 3 - 0.2, 12)
  })
})

describe('student training mix', () => {
  it('counts ρ in tokens: round(ρ·N) teacher response tokens, the rest human', () => {
    const responses: Exchange[] = Array.from({ length: 10 }, (_, i) => ({ prompt: '', promptIds: new Uint32Array(0), ids: new Uint32Array(37).fill(i) }))
    const human = [new Uint32Array(300).fill(7), new Uint32Array(300).fill(8)]
    for (const rho of [0, 0.05, 0.5, 1]) {
      const m = mixTrainingSet(responses, rho === 1 ? [] : human, rho, 300)
      expect(m.teacherTokens).toBe(Math.round(rho * 300))
      expect(m.humanTokens).toBe(300 - Math.round(rho * 300))
      expect(m.sequences.reduce((a, s) => a + s.length, 0)).toBe(300)
    }
    expect(() => mixTrainingSet(responses, human, 1, 1000)).toThrow(/not enough teacher/)
  })
})

describe('distillation: validity under H0 (ρ = 0)', () => {
  it('gives uniform p-values and an e-process that rarely crosses 1/α across 400 keys, filter off, served and accounts', () => {
    // Why one student and one probe corpus serve all 400 runs: at ρ = 0 the student is trained on human
    // text only, so neither it nor its answers depend on the key; only the key used for scoring changes.
    // Given the answers, distinct tuples get independent PRF values under independent keys, so the 400
    // p-values are iid under H0 and their empirical law must be U(0, 1) (up to the binomial's atoms).
    // The emission filters are keyed, so they are rebuilt per key — from one fixed set of teacher
    // responses: at ρ = 0 the student never saw them, and a filter keyed on contexts leaves a scored
    // token's green bit independent of whether its context was served (see core's emission.ts).
    //
    // The `accounts` filter at ρ = 0: with ρ = 0 there is no training mix to take the harvest from, and an
    // empty filter would score nothing and test nothing. So ρ = 0 means "the harvesting accounts
    // harvested N response tokens, and the student trained on none of them": the filter holds the first N
    // served tokens' responses (Distillation.harvest(0), N = nullHarvestTokens, by default the ρ = 1 %
    // harvest). It is the small, tight filter of the ρ = 1 % row — few contexts, at its own
    // false-positive rate (1e-4) — whose null this checks; the served filter (6,000 tokens here) is the
    // large one. N = 400 here: the ρ = 1 % harvest of this test's 40,000-token student.
    const o = resolveDistillOptions(undefined, { tokenizer: tk, teacherPrompts: 200, probeAnswers: 60, probeTokens: 120, seed: 3, trainTokens: 40_000 })
    const prompts = splitPrompts(o.teacherPrompts)
    const human = encodeCorpus(tk, 'student')
    const student = NGramModel.train(mixTrainingSet([], human, 0, o.trainTokens).sequences, { order: 4, vocabSize: tk.vocabSize })
    const answers = probeStudent(student, prompts.probe, o)
    const served = serveTeacher(partModel(tk, 'teacher'), distillKey(999), prompts.teacher, 6000, { ...o, responseTokens: 100 })
    expect(o.nullHarvestTokens).toBe(400)
    const harvest = harvestedResponses(served.responses, o.nullHarvestTokens)

    // 400 keys, not 200: the first 200 of these keys alone gave KS p = 0.0008 (filter off) — a chance
    // event at that sample size (keys 200–399: p = 0.17; seeds 4 and 5 with 1000 keys: p = 0.73, 0.69).
    const runs = 400
    const alpha = 0.05
    const modes = ['off', 'served', 'accounts'] as const
    const ps = { off: [] as number[], served: [] as number[], accounts: [] as number[] }
    // Randomized p-values too: P[X > k] + U·P[X = k] is exactly U(0, 1) under H0, atoms or not. The accounts
    // filter scores ~120 tuples per key here, where the binomial's atoms are wide enough to move the KS
    // statistic of the ordinary p-values by themselves (first run: D = 0.088, p = 0.004, with the e-process
    // within Ville's bound) — the randomized ones separate a discreteness effect from a broken null.
    const pr = { off: [] as number[], served: [] as number[], accounts: [] as number[] }
    const u = seededRng(77)
    const crossings = { off: 0, served: 0, accounts: 0 }
    let accountsScored = 0
    for (let s = 0; s < runs; s++) {
      const key = distillKey(1000 + s)
      const filters = { off: undefined, served: recordFilter(key, served.responses), accounts: recordFilter(key, harvest, o.accountsFilterFpr) }
      for (const mode of modes) {
        // evaluated along the stream: the e-process after every answer
        const scanner = new CorpusScanner(key, { tokenizer: tk, prompts: prompts.probe, filter: filters[mode] })
        let maxLog10E = 0
        for (const a of answers) {
          scanner.addTokens(a.ids, a.promptIds)
          maxLog10E = Math.max(maxLog10E, eProcess(scanner.accumulator).log10E)
        }
        if (maxLog10E >= Math.log10(1 / alpha)) crossings[mode]++
        const r = scanner.result()
        ps[mode].push(r.pValue)
        const n = r.tokensScored
        const k = Math.round(r.value)
        const pGt = 10 ** binomialUpperTailLog10(k + 1, n, 0.25)
        pr[mode].push(pGt + u.nextFloat() * (10 ** binomialUpperTailLog10(k, n, 0.25) - pGt))
        if (mode === 'accounts') accountsScored += r.tokensScored
      }
    }
    // Ville: P[cross] ≤ α. Allow the binomial slack: the largest count c with P[Bin(runs, α) ≥ c] ≥ 1e-3.
    let slack = Math.ceil(alpha * runs)
    while (binomialUpperTailLog10(slack + 1, runs, alpha) > -3) slack++
    const ks = modes.map((m) => ksUniform(ps[m]))
    const ksr = modes.map((m) => ksUniform(pr[m]))
    console.log(
      `H0, ${runs} keys: ` +
        modes
          .map((m, i) => `${m}: KS D = ${ks[i].statistic.toFixed(3)} (p = ${ks[i].pValue.toFixed(3)}), randomized D = ${ksr[i].statistic.toFixed(3)} (p = ${ksr[i].pValue.toFixed(3)}), e-process crossed 1/${alpha} in ${crossings[m]} runs`)
          .join('; ') +
        `; accounts filter scored ${(accountsScored / runs).toFixed(0)} tokens per key`,
    )
    // a null check over a filter that lets almost nothing through would be vacuous
    expect(accountsScored / runs).toBeGreaterThan(100)
    for (const [i, m] of modes.entries()) {
      expect(ks[i].pValue, m).toBeGreaterThan(1e-3)
      expect(ksr[i].pValue, m).toBeGreaterThan(1e-3)
      expect(crossings[m], m).toBeLessThanOrEqual(slack)
    }
  }, 90_000)
})

describe('filter modes', () => {
  it('parses the CLI value: a bare --filter is served, as before accounts existed', () => {
    expect(parseDistillFilter(undefined)).toBe('off')
    expect(parseDistillFilter(true)).toBe('served')
    expect(parseDistillFilter('on')).toBe('served')
    expect(parseDistillFilter('accounts')).toBe('accounts')
    expect(() => parseDistillFilter('all')).toThrow(/--filter must be one of off, served, accounts/)
  })

  it('harvests whole responses in serving order, the ones the training mix draws on', () => {
    const responses: Exchange[] = Array.from({ length: 5 }, (_, i) => ({ prompt: '', promptIds: new Uint32Array(0), ids: new Uint32Array(10).fill(i) }))
    expect(harvestedResponses(responses, 25).map((r) => r.ids[0])).toEqual([0, 1, 2])
    expect(harvestedResponses(responses, 20)).toHaveLength(2)
    const mix = mixTrainingSet(responses, [new Uint32Array(100)], 0.25, 100)
    expect(new Set(mix.sequences.slice(0, 3).map((s) => s[0]))).toEqual(new Set([0, 1, 2]))
    expect(() => harvestedResponses(responses, 51)).toThrow(/not enough served/)
  })
})

describe('distillation: power', () => {
  it('detects a student trained with ρ = 10 % teacher tokens at p < 1e-6 (filter on), and not the ρ = 0 student', () => {
    const sim = new Distillation(distillKey(7), { tokenizer: tk, trainTokens: 60_000, servedTokens: 6000, probeAnswers: 300, probeTokens: 200, seed: 7 })
    const [, on, accounts] = sim.rows(0.1)
    const [, nullOn] = sim.rows(0)
    expect(accounts.filterMode).toBe('accounts')
    expect(accounts.filterTokens).toBeGreaterThanOrEqual(6000)
    expect(accounts.log10P).toBeLessThan(-6)
    console.log(`ρ = 10 %: log10 p = ${on.log10P.toFixed(2)}, log10 e = ${on.log10E.toFixed(2)}, ${on.tokensScored} scored; ρ = 0: log10 p = ${nullOn.log10P.toFixed(2)}`)
    expect(on.teacherTokens).toBe(6000)
    expect(on.log10P).toBeLessThan(-6)
    expect(on.log10E).toBeGreaterThan(0)
    expect(nullOn.log10P).toBeGreaterThan(-3)
  }, 60_000)
})
