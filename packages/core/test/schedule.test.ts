import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { describe, expect, test } from 'vitest'
import {
  Accumulator,
  KeySchedule,
  forEachTuple,
  prepareKey,
  scoreTokens,
  ScheduleScorer,
  ServingLog,
  TokenmarkError,
  holmAdjust,
  logStats,
  parseLog,
  parseSchedule,
  parseScheduleDescription,
  scheduleVectors,
  seededRng,
  selectRecords,
  toBase64Url,
  traceText,
  verifyLog,
  watermarkSampler,
  type WatermarkKey,
} from '@tokenmark/core'

const secret = Uint8Array.from({ length: 32 }, (_, i) => 7 * i + 3)
const b64 = toBase64Url(secret)
const opts = {
  // A toy vocabulary of 2,000 ids: the key names no built-in tokenizer, so the sampler takes short logits.
  config: { scheme: 'kgw', params: { gamma: 0.25, delta: 2, context: 2 }, tokenizer: 'toy' },
  cohorts: 8,
  epochSeconds: 3600,
  start: '2026-03-01T00:00:00Z',
  epochs: 3,
  canaries: [{ name: 'fraud-ring', accounts: ['bad-1', 'bad-2'] }],
}
const schedule = new KeySchedule(secret, opts)

/** Tokens from `key`'s sampler over random logits (vocabulary 2,000), or unwatermarked when key is undefined. */
function generate(key: WatermarkKey | undefined, n: number, seed: number): Uint32Array {
  const rng = seededRng(seed)
  const sampler = key ? watermarkSampler(key, { temperature: 1 }, seededRng(seed + 1)) : undefined
  const ids = new Uint32Array(n + 3)
  ids.set([1, 2, 3])
  const logits = new Float32Array(2000)
  for (let i = 3; i < n + 3; i++) {
    for (let j = 0; j < logits.length; j++) logits[j] = 3 * rng.nextFloat()
    if (sampler) ids[i] = sampler(logits, ids.subarray(0, i))
    else ids[i] = Math.floor(rng.nextFloat() * logits.length)
  }
  return ids.subarray(3)
}

describe('key schedules', () => {
  test('docs/vectors/schedule.json is what this build computes', () => {
    const file = fileURLToPath(new URL('../../../docs/vectors/schedule.json', import.meta.url))
    expect(JSON.parse(JSON.stringify(scheduleVectors()))).toEqual(JSON.parse(readFileSync(file, 'utf8')))
  })

  test('keys differ per cohort and epoch; canaries keep their cohort, others are re-drawn each epoch', () => {
    const ids = new Set<string>()
    for (const k of schedule.keys()) ids.add(k.key.keyId)
    expect(ids.size).toBe(schedule.ringSize)
    expect(schedule.ringSize).toBe((8 + 1) * 3)
    expect([0, 1, 2].map((e) => schedule.cohortOf('bad-1', e))).toEqual([8, 8, 8])
    let moved = 0
    const counts = new Array(8).fill(0)
    for (let a = 0; a < 800; a++) {
      const c = [0, 1, 2].map((e) => schedule.cohortOf(`acct-${a}`, e))
      if (c[0] !== c[1]) moved++
      counts[c[0]]++
    }
    expect(moved).toBeGreaterThan(600) // 7/8 expected
    for (const n of counts) expect(n).toBeGreaterThan(60) // 100 expected each
    const k = schedule.keyForAccount('acct-5', '2026-03-01T01:30:00Z')
    expect(k.epoch).toBe(1)
    expect(k.key.keyId).toBe(schedule.keyFor(schedule.cohortOf('acct-5', 1), 1).keyId)
    expect(() => schedule.epochAt('2026-03-01T03:00:00Z')).toThrow(TokenmarkError)
  })

  test('the secret file and the public description round-trip, and the pair must match', () => {
    const again = parseSchedule(schedule.toSecretFile(), schedule.toPublicFile())
    expect(again.keyFor(3, 2).keyId).toBe(schedule.keyFor(3, 2).keyId)
    expect(schedule.toPublicFile()).not.toContain(b64)
    expect(JSON.stringify(schedule)).not.toContain(b64)
    expect(inspect(schedule)).not.toContain(b64)
    expect(parseScheduleDescription(schedule.toPublicFile()).cohorts).toBe(8)
    const other = new KeySchedule(secret, { ...opts, cohorts: 9 })
    try {
      parseSchedule(schedule.toSecretFile(), other.toPublicFile())
      throw new Error('accepted a mismatched pair')
    } catch (e) {
      expect((e as TokenmarkError).code).toBe('E_KEY_MISMATCH')
      expect((e as Error).message).not.toContain(b64.slice(0, 10))
    }
  })

  test('an answer embedded with the account\'s key is detected under it by keyed replay, not under another cohort', () => {
    const scorer = new ScheduleScorer(schedule)
    const served = schedule.keyForAccount('acct-1', '2026-03-01T00:10:00Z')
    scorer.add(served, generate(served.key, 150, 1))
    const r = scorer.result()
    expect(r.log10P).toBeLessThan(-6)
    expect(r.cohortsFlagged).toEqual([served.cohort])
    expect(r.epochsFlagged).toEqual([0])
    const wrong = new ScheduleScorer(schedule)
    wrong.add({ cohort: (served.cohort + 1) % 8, epoch: 0 }, generate(served.key, 150, 1))
    expect(wrong.result().log10P).toBeGreaterThan(-3)
    expect(wrong.result().cohortsFlagged).toEqual([])
  })

  test('ring scoring (no serving key) finds the cohort with a Bonferroni-corrected global p-value', () => {
    const scorer = new ScheduleScorer(schedule)
    scorer.scoreRing([{ ids: generate(schedule.keyFor(8, 2), 150, 2) }])
    const r = scorer.result()
    expect(r.globalRule).toBe('bonferroni')
    expect(r.cohortsFlagged).toEqual([8])
    expect(r.log10P).toBeCloseTo(r.cohorts[8].log10P + Math.log10(9), 9)
  })

  test('mergeKey: each key\'s evidence scored elsewhere, in parts merged, gives the result of add over the same answers', () => {
    // Answers under three keys, two watermarked; the third answer's prompt repeats tuples of the first answer.
    const answers = [
      { ck: { cohort: 2, epoch: 0 }, ids: generate(schedule.keyFor(2, 0), 80, 11) },
      { ck: { cohort: 5, epoch: 1 }, ids: generate(undefined, 80, 12) },
      { ck: { cohort: 2, epoch: 0 }, ids: generate(schedule.keyFor(2, 0), 80, 13) },
      { ck: { cohort: 8, epoch: 2 }, ids: generate(schedule.keyFor(8, 2), 80, 14) },
    ].map((a, i) => ({ ...a, prompt: i === 2 ? generate(schedule.keyFor(2, 0), 80, 11).slice(10, 30) : Uint32Array.of(7, 8, 9) }))
    const direct = new ScheduleScorer(schedule)
    for (const a of answers) direct.add(a.ck, a.ids, a.prompt)
    // Elsewhere: each answer into an accumulator of its own (a batch: prompt tuples excluded, prompt as
    // context), merged key by key — the later prompt's exclusion reaches back into the earlier answer.
    const perKey = new Map<number, { ck: { cohort: number; epoch: number }; acc: Accumulator }>()
    for (const a of answers) {
      const pk = prepareKey(schedule.keyFor(a.ck.cohort, a.ck.epoch))
      const part = new Accumulator(pk)
      forEachTuple(pk, a.prompt, (w0, w1) => part.excludeTuple(w0, w1))
      scoreTokens(pk, a.ids, part, { context: a.prompt })
      const slot = a.ck.epoch * schedule.cohortCount + a.ck.cohort
      const held = perKey.get(slot)
      if (held) held.acc.merge(part)
      else perKey.set(slot, { ck: a.ck, acc: part })
    }
    const folded = new ScheduleScorer(schedule)
    for (const { ck, acc } of perKey.values()) folded.mergeKey(ck, acc)
    const r = folded.result({ alpha: 0.01 })
    expect(r).toEqual(direct.result({ alpha: 0.01 }))
    expect(r.cohortsFlagged).toContain(2)
    expect(r.cohorts[2].tokensScored).toBeLessThan(160) // the repeated tuples were excluded
    // A key is taken once, and only with its own key's accumulator.
    const [first] = perKey.values()
    expect(() => folded.mergeKey(first.ck, first.acc)).toThrow(/taken once/)
    expect(() => new ScheduleScorer(schedule).mergeKey({ cohort: 0, epoch: 0 }, first.acc)).toThrow(TokenmarkError)
  })

  test('Holm: adjusted values are monotone in the raw ones and count the whole family', () => {
    const adj = holmAdjust([-5, -1, -3], 10)
    expect(adj[0]).toBeCloseTo(-5 + 1, 12)
    expect(adj[2]).toBeCloseTo(-3 + Math.log10(9), 12)
    expect(adj[1]).toBeCloseTo(-1 + Math.log10(8), 12)
    expect(holmAdjust([-0.1], 5)).toEqual([0])
  })

  test('addUnderKeys: an answer scored under every given key is add under each (tokens seen once); a fragment counts under the key that made it', () => {
    const keys = [{ cohort: 1, epoch: 0 }, { cohort: 5, epoch: 2 }, { cohort: 8, epoch: 1 }]
    // answer 0 replays a prompt of cohort 1's key but carries cohort 5's watermark (a blended harvest)
    const answers = [generate(schedule.keyFor(5, 2), 120, 11), generate(undefined, 80, 12)]
    const prompts = [generate(undefined, 10, 13), generate(undefined, 10, 14)]
    const every = new ScheduleScorer(schedule)
    answers.forEach((a, i) => every.addUnderKeys(keys, a, prompts[i]))
    const each = new ScheduleScorer(schedule)
    answers.forEach((a, i) => keys.forEach((k) => each.add(k, a, prompts[i])))
    const r = every.result()
    const { tokensSeen, ...rest } = each.result()
    expect({ ...r, tokensSeen: 0 }).toEqual({ ...rest, tokensSeen: 0 })
    expect(r.tokensSeen).toBe(200)
    expect(tokensSeen).toBe(600)
    expect(r.log10P).toBeLessThan(-6)
    expect(r.cohortsFlagged).toEqual([5])
    // own key only: the fragment is noise under cohort 1's key
    const own = new ScheduleScorer(schedule)
    own.add(keys[0], answers[0], prompts[0])
    expect(own.result().log10P).toBeGreaterThan(-3)
  })

  test.each([
    ['each under its own key (add)', 100, (sc: ScheduleScorer, answers: Uint32Array[], keys: { cohort: number; epoch: number }[]) => answers.forEach((ids, i) => sc.add(keys[i], ids))],
    ['each under every given key (addUnderKeys)', 200, (sc: ScheduleScorer, answers: Uint32Array[], keys: { cohort: number; epoch: number }[]) => answers.forEach((ids) => sc.addUnderKeys(keys, ids))],
  ] as const)('null: unwatermarked answers scored %s under 100 schedules give p-values that are not small too often', (_, seed, score) => {
    // H0 over key draws: the answers are fixed, each schedule is a fresh master secret.
    const answers = Array.from({ length: 8 }, (_, i) => generate(undefined, 60, seed + i))
    const keys = answers.map((_, i) => ({ cohort: i % 8, epoch: i % 3 }))
    let below5 = 0
    let flagged = 0
    for (let s = 0; s < 100; s++) {
      const sch = new KeySchedule(Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + s * 7 + (s >> 3) + seed) & 255), { ...opts, canaries: [] })
      const scorer = new ScheduleScorer(sch)
      score(scorer, answers, keys)
      const r = scorer.result({ alpha: 0.05 })
      if (r.pValue <= 0.05) below5++
      if (r.cohortsFlagged.length > 0) flagged++
    }
    expect(below5).toBeLessThanOrEqual(12) // nominal 5 of 100 (P[Bin(100, .05) > 12] < 0.002)
    expect(flagged).toBeLessThanOrEqual(12) // family-wise rate ≤ 5 %: at most 5 of 100 expected
  })
})

describe('serving log', () => {
  function writeLog(n: number): { text: string; log: ServingLog } {
    const log = new ServingLog({ scheduleId: schedule.scheduleId, created: '2026-03-01T00:00:00Z' })
    let text = log.headerLine()
    for (let i = 0; i < n; i++) {
      const account = i % 5 === 0 ? 'bad-1' : `acct-${i % 7}`
      const time = new Date(Date.parse('2026-03-01T00:00:00Z') + i * 600_000)
      const ck = schedule.keyForAccount(account, time)
      text += log.append({ time, account, epoch: ck.epoch, cohort: ck.cohort, keyId: ck.key.keyId, prompt: `prompt ${i}`, response: `response ${i}` }).line
    }
    return { text, log }
  }

  test('a written log verifies against its schedule, and its head is the last hash', () => {
    const { text, log } = writeLog(12)
    const v = verifyLog(parseLog(text), schedule)
    expect(v.ok).toBe(true)
    expect(v.head).toEqual(log.head())
    expect(v.withText).toBe(12)
    const stats = logStats(parseLog(text).records)
    expect(stats.records).toBe(12)
    expect(stats.epochs.map((e) => e.epoch)).toEqual([0, 1])
    expect(selectRecords(parseLog(text).records, { cohorts: [8] }).every((r) => r.account === 'bad-1')).toBe(true)
  })

  test('stripping texts keeps the chain; editing, removing or reordering a record breaks it', () => {
    const { text } = writeLog(10)
    const lines = text.trimEnd().split('\n')
    const stripped = lines.map((l, i) => (i === 0 ? l : JSON.stringify({ ...JSON.parse(l), prompt: undefined, response: undefined }))).join('\n')
    expect(verifyLog(parseLog(stripped), schedule).ok).toBe(true)
    const edited = [...lines]
    edited[4] = edited[4].replace('"account":"acct-3"', '"account":"acct-4"')
    expect(edited[4]).not.toBe(lines[4])
    expect(verifyLog(parseLog(edited.join('\n'))).error?.line).toBe(5)
    const removed = lines.filter((_, i) => i !== 3)
    expect(verifyLog(parseLog(removed.join('\n'))).ok).toBe(false)
    const textEdit = [...lines]
    textEdit[2] = textEdit[2].replace('response 1', 'response X')
    expect(verifyLog(parseLog(textEdit.join('\n'))).error?.reason).toMatch(/response text/)
  })

  test('a record whose cohort is not the schedule\'s fails verification against the schedule only', () => {
    const log = new ServingLog({ scheduleId: schedule.scheduleId })
    const time = '2026-03-01T00:00:00Z'
    const ck = schedule.keyForAccount('acct-1', time)
    const wrong = (ck.cohort + 1) % 8
    const text = log.headerLine() + log.append({ time, account: 'acct-1', epoch: 0, cohort: wrong, keyId: schedule.keyFor(wrong, 0).keyId, prompt: 'p', response: 'r' }).line
    expect(verifyLog(parseLog(text)).ok).toBe(true)
    expect(verifyLog(parseLog(text), schedule).error?.reason).toMatch(/cohort/)
  })
})

describe('leaked-text tracing', () => {
  test('names the (cohort, epoch) key that produced a text, corrected for the ring, and says "no key" otherwise', () => {
    const leaked = generate(schedule.keyFor(5, 1), 120, 9)
    const t = traceText(schedule, leaked)
    expect(t.match).toMatchObject({ cohort: 5, epoch: 1, label: 'cohort/5' })
    expect(t.ringSize).toBe(27)
    expect(t.log10P).toBeCloseTo(t.rawLog10P + Math.log10(27), 9)
    expect(t.log10P).toBeLessThan(-6)
    const clean = traceText(schedule, generate(undefined, 120, 10))
    expect(clean.match).toBeNull()
    expect(clean.log10P).toBeGreaterThan(-3)
  })
})
