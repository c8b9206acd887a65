/**
 * Keyed replay through the CLI as an investigator runs it: `probe --replay LOG --select …` against a suspect
 * HTTP API (fastify, real OpenAI wire format through the SDK), then `scan --schedule` scoring each answer
 * under the key that served its prompt. The suspect stands in for a student that learned the watermark of
 * the prompts a harvesting cluster collected: it answers those prompts with text sampled under their
 * serving key (fresh randomness, not the logged text) and every other prompt with unwatermarked text.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ServingLog, getTokenizer, logKeyFilters, parseLog, parseSchedule, seededRng, watermarkSampler, type KeySchedule, type LogHead } from '@tokenmark/core'
import { SigningKey, analyzeSchedule, signLogHead } from '@tokenmark/evidence'
import { bootstrap, buildServer } from '@tokenmark/server'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const { default: Fastify } = (await import(createRequire(new URL('../../../examples/suspect-api/package.json', import.meta.url)).resolve('fastify'))) as typeof import('fastify')

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-replay-'))
const START = Date.parse('2026-01-01T00:00:00Z')

function tm(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, OPENAI_API_KEY: 'sk-test', ...env } })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

const tk = getTokenizer('o200k_base')
const vocab = Uint32Array.from({ length: 3000 }, (_, i) => 1000 + i) // ordinary word pieces
/** 60 tokens after `lead`: sampled under `key` when given (the watermark), else plainly. */
function answer(seed: number, key?: Parameters<typeof watermarkSampler>[0]): string {
  const rng = seededRng(seed)
  const sample = key ? watermarkSampler(key, { topK: 40 }, seededRng(seed + 1)) : undefined
  const ids = [...tk.encode('Well,')]
  const logits = new Float32Array(tk.vocabSize).fill(-1e9)
  for (let i = 0; i < 60; i++) {
    for (const v of vocab) logits[v] = 3 * rng.nextFloat()
    if (sample) ids.push(sample(logits, Uint32Array.from(ids)))
    else ids.push(vocab[Math.floor(rng.nextFloat() * vocab.length)])
  }
  return tk.decode(Uint32Array.from(ids))
}

let schedule: KeySchedule
const harvesters = ['h-0', 'h-1', 'h-2']
const harvestedCohorts = new Set<number>()
const byPrompt = new Map<string, { key: Parameters<typeof watermarkSampler>[0]; harvested: boolean; seq: number }>()
let app: FastifyInstance
let logHead: LogHead
let endpoint = ''

beforeAll(async () => {
  expect((await tm(['log', 'schedule', '--out', 's', '--cohorts', '4', '--epochs', '2', '--epoch-seconds', '3600', '--start', '2026-01-01T00:00:00Z', '--context', '2'])).code).toBe(0)
  schedule = parseSchedule(readFileSync(join(dir, 's.schedule'), 'utf8'), readFileSync(join(dir, 's.schedule.json'), 'utf8'))
  const log = new ServingLog({ scheduleId: schedule.scheduleId, created: '2026-01-01T00:00:00Z' })
  let text = log.headerLine()
  const accounts = [...harvesters, ...Array.from({ length: 12 }, (_, i) => `user-${i}`)]
  for (let i = 0; i < 48; i++) {
    const account = accounts[i % accounts.length]
    const time = new Date(START + i * 140_000) // two epochs of an hour
    const ck = schedule.keyForAccount(account, time)
    const prompt = `Question ${i}: tell me about the sea.`
    const { record, line } = log.append({ time, account, epoch: ck.epoch, cohort: ck.cohort, keyId: ck.key.keyId, prompt, response: `The sea, answer ${i}.` })
    text += line
    const harvested = harvesters.includes(account)
    if (harvested) harvestedCohorts.add(ck.cohort)
    byPrompt.set(prompt, { key: ck.key, harvested, seq: record.seq })
  }
  writeFileSync(join(dir, 'serve.log'), text)
  logHead = log.head()
  app = Fastify()
  app.post('/v1/chat/completions', async (req) => {
    const prompt = (req.body as { messages: { content: string }[] }).messages[0].content
    const p = byPrompt.get(prompt)
    const content = answer(1000 + (p?.seq ?? 0), p?.harvested ? p.key : undefined)
    return { id: 'c1', object: 'chat.completion', created: 0, model: 'student', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }
  })
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 })
}, 60_000)

afterAll(async () => {
  await app?.close()
})

const lines = (file: string) =>
  readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { id: string; prompt: string; text: string; seq: number; keyId: string })

describe('keyed replay: probe --replay, scan --schedule', () => {
  test('probe --replay asks the logged prompts of the selection and writes each answer with its seq and keyId', async () => {
    const r = await tm(['probe', '--endpoint', endpoint, '--format', 'openai', '--model', 'student', '--replay', 'serve.log', '--select', 'epoch=0', '--out', 'epoch0.jsonl'])
    expect(r.code, r.err).toBe(0)
    const got = lines('epoch0.jsonl')
    const inEpoch0 = [...byPrompt.values()].filter((p) => schedule.locate(p.key.keyId)?.epoch === 0)
    expect(got).toHaveLength(inEpoch0.length)
    for (const s of got) {
      const p = byPrompt.get(s.prompt)
      expect(s.id).toBe(`log:${p?.seq}`)
      expect(s.seq).toBe(p?.seq)
      expect(s.keyId).toBe(p?.key.keyId)
    }
    expect(r.out).toMatch(/replay of serve\.log: \d+ distinct served prompts selected/)
  })

  test('scan --schedule scores each answer under its serving key: the suspect is detected and only harvested cohorts are flagged', async () => {
    expect((await tm(['probe', '--endpoint', endpoint, '--format', 'openai', '--model', 'student', '--replay', 'serve.log', '--out', 'all.jsonl'])).code).toBe(0)
    const r = await tm(['scan', 'all.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--alpha', '0.01', '--json'])
    expect(r.code, r.err).toBe(0)
    const j = JSON.parse(r.out)
    expect(j).toMatchObject({ globalRule: 'pooled', correction: 'holm', cohortFamily: 4, detected: true })
    expect(j.log10P).toBeLessThan(-6)
    expect(j.cohortsFlagged.length).toBeGreaterThan(0)
    for (const c of j.cohortsFlagged) expect(harvestedCohorts.has(c)).toBe(true)
    const human = await tm(['scan', 'all.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--alpha', '0.01'])
    expect(human.out).toMatch(/WATERMARK DETECTED against schedule/)
    expect(human.out).toMatch(/Holm over 4 cohorts at family-wise alpha = 0\.01/)
  })

  test('probe --replay --case streams the answers into a server case bound to the schedule, whose result is scan --schedule\'s', async () => {
    const server = await buildServer({ db: ':memory:', masterSecret: 'a'.repeat(64) })
    try {
      const { adminToken } = bootstrap(server)!
      const url = await server.listen({ host: '127.0.0.1', port: 0 })
      const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
      const files = { scheduleFile: readFileSync(join(dir, 's.schedule'), 'utf8'), description: readFileSync(join(dir, 's.schedule.json'), 'utf8') }
      expect((await fetch(`${url}/v1/schedules`, { method: 'POST', headers: auth, body: JSON.stringify(files) })).status).toBe(201)
      const kase = (await (await fetch(`${url}/v1/cases`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'student', scheduleId: schedule.scheduleId }) })).json()) as { id: string }
      const r = await tm(['probe', '--endpoint', endpoint, '--format', 'openai', '--model', 'student', '--replay', 'serve.log', '--out', 'case.jsonl', '--case', kase.id, '--server', url, '--token-env', 'TM_TOKEN'], { TM_TOKEN: adminToken })
      expect(r.code, r.err).toBe(0)
      const result = (await (await fetch(`${url}/v1/cases/${kase.id}/result?alpha=0.01`, { headers: auth })).json()) as Record<string, unknown>
      const scan = JSON.parse((await tm(['scan', 'case.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--alpha', '0.01', '--json'])).out) as Record<string, unknown>
      const { texts, ...fromCase } = result
      const { input: _input, ...fromScan } = scan
      expect(texts).toBe(lines('case.jsonl').length)
      expect(fromCase).toEqual(fromScan)
      expect(fromCase.cohortsFlagged).not.toHaveLength(0)
    } finally {
      await server.close()
    }
  })

  test('seq with --log names the key; without any serving key the ring is scored with Bonferroni', async () => {
    const all = lines('all.jsonl')
    writeFileSync(join(dir, 'seq-only.jsonl'), all.map((s) => JSON.stringify({ id: s.id, text: s.text, seq: s.seq }) + '\n').join(''))
    const withLog = JSON.parse((await tm(['scan', 'seq-only.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log', 'serve.log', '--alpha', '0.01', '--json'])).out)
    expect(withLog.globalRule).toBe('pooled')
    expect(withLog.detected).toBe(true)
    writeFileSync(join(dir, 'heldout.jsonl'), all.map((s) => JSON.stringify({ id: s.id, prompt: s.prompt, text: s.text }) + '\n').join(''))
    const ring = JSON.parse((await tm(['scan', 'heldout.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--alpha', '0.01', '--json'])).out)
    expect(ring.globalRule).toBe('bonferroni')
    expect(ring.log10P).toBeGreaterThan(withLog.log10P) // the ring pays for not knowing the key
  })

  test('report --schedule --log seals the attribution section (cohorts, accounts, signed log head); verify --schedule recomputes it', async () => {
    const signing = new SigningKey(Uint8Array.from({ length: 32 }, (_, i) => i + 1))
    writeFileSync(join(dir, 'signer.key'), signing.toKeyFile())
    writeFileSync(join(dir, 'signer.pub'), signing.toPublicKeyFile())
    writeFileSync(join(dir, 'head.json'), JSON.stringify(signLogHead(logHead, signing)))
    // The body's main test needs one watermark key; any key will do for the schedule section (here a fresh one).
    expect((await tm(['keygen', '--out', 'k.tmkey'])).code).toBe(0)
    const r = await tm(['report', 'all.jsonl', '--key', 'k.tmkey', '--signing-key', 'signer.key', '--out', 'r.md', '--alpha', '0.01',
      '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log', 'serve.log', '--log-signature', 'head.json', '--log-public-key', 'signer.pub'])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/schedule tmks_\w+: p = .* \(pooled\); cohorts flagged \(Holm, alpha 0\.01\): cohort\//)
    const md = readFileSync(join(dir, 'r.md'), 'utf8')
    expect(md).toContain('## Attribution to cohorts and accounts')
    expect(md).toMatch(/Holm \(1979\) adjusted p-value over all 4 cohorts/)
    expect(md).toMatch(/h-0|h-1|h-2/) // the harvesting accounts behind a flagged cohort
    expect(md).toContain(logHead.head)
    expect(md).toMatch(/signature valid, covers this log/)
    const v = await tm(['verify', 'r.tmev', '--public-key', 'signer.pub', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--json'])
    expect(v.code, v.out).toBe(0)
    expect(JSON.parse(v.out).checks.find((c: { id: string }) => c.id === 'schedule')).toMatchObject({ status: 'pass' })
    // Another schedule does not open the bundle's commitment: verification fails.
    expect((await tm(['log', 'schedule', '--out', 'other', '--cohorts', '4', '--epochs', '2', '--epoch-seconds', '3600', '--start', '2026-01-01T00:00:00Z', '--context', '2'])).code).toBe(0)
    const w = await tm(['verify', 'r.tmev', '--public-key', 'signer.pub', '--schedule', 'other.schedule', '--schedule-public', 'other.schedule.json', '--json'])
    expect(w.code).toBe(1)
    // A bundle without a schedule section still verifies as before.
    expect((await tm(['report', 'all.jsonl', '--key', 'k.tmkey', '--signing-key', 'signer.key', '--out', 'plain.md'])).code).toBe(0)
    expect((await tm(['verify', 'plain.tmev', '--public-key', 'signer.pub', '--key', 'k.tmkey'])).code).toBe(0)
  })

  test('--log-filter: each key scores only contexts it served in the replayed records; scan equals the library, report seals the filters, verify reruns them', async () => {
    // A log that kept the harvested responses' texts: the suspect reproduces those (it memorised its harvest);
    // the other records keep a text the suspect never says.
    const log = new ServingLog({ scheduleId: schedule.scheduleId, created: '2026-01-01T00:00:00Z' })
    let text = log.headerLine()
    for (const [prompt, p] of [...byPrompt].sort((a, b) => a[1].seq - b[1].seq)) {
      const rec = parseLog(readFileSync(join(dir, 'serve.log'), 'utf8')).records[p.seq]
      text += log.append({ time: new Date(rec.time), account: rec.account, epoch: rec.epoch, cohort: rec.cohort, keyId: rec.keyId, prompt, response: p.harvested ? answer(1000 + p.seq, p.key) : `The sea, answer ${p.seq}.` }).line
    }
    writeFileSync(join(dir, 'serve-text.log'), text)
    const args = ['scan', 'all.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log', 'serve-text.log', '--alpha', '0.01', '--json']
    const plain = JSON.parse((await tm(args)).out)
    const r = await tm([...args, '--log-filter'])
    expect(r.code, r.err).toBe(0)
    const filtered = JSON.parse(r.out)
    expect(filtered.detected).toBe(true)
    expect(filtered.tokensScored).toBeGreaterThan(0)
    expect(filtered.tokensScored).toBeLessThan(plain.tokensScored / 2) // the unharvested answers' contexts were never served
    for (const c of filtered.cohortsFlagged) expect(harvestedCohorts.has(c)).toBe(true)
    // the same analysis through the library, filters built from the replayed records' texts
    const all = lines('all.jsonl')
    const records = parseLog(text).records
    const filters = logKeyFilters(schedule, [...new Set(all.map((s) => s.seq))].sort((a, b) => a - b).map((q) => records[q]), tk)
    const lib = analyzeSchedule(schedule, all.map((s) => ({ text: s.text, prompt: s.prompt, keyId: s.keyId })), { alpha: 0.01, filters })
    expect({ log10P: filtered.log10P, tokensScored: filtered.tokensScored, cohortsFlagged: filtered.cohortsFlagged }).toEqual({ log10P: lib.log10P, tokensScored: lib.tokensScored, cohortsFlagged: lib.cohortsFlagged })
    const rep = await tm(['report', 'all.jsonl', '--key', 'k.tmkey', '--signing-key', 'signer.key', '--out', 'f.md', '--alpha', '0.01', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log', 'serve-text.log', '--log-filter'])
    expect(rep.code, rep.err).toBe(0)
    expect(readFileSync(join(dir, 'f.md'), 'utf8')).toMatch(/Emission filters: each key scored only tokens whose context it served in 48 serving-log records/)
    const v = await tm(['verify', 'f.tmev', '--public-key', 'signer.pub', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--json'])
    expect(v.code, v.out).toBe(0)
    const check = JSON.parse(v.out).checks.find((c: { id: string }) => c.id === 'schedule')
    expect(check).toMatchObject({ status: 'pass' })
    expect(check.message).toContain(`global p = 10^${filtered.log10P.toFixed(3)}`)
    // without --log there is nothing to build filters from
    const bad = await tm(['scan', 'all.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log-filter'])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/^tokenmark: --log-filter builds its filters from the serving log: give --log\n$/)
  })

  test('--every-served-key scores each answer under every replayed record\'s key: scan equals the library, report records it, verify reruns it', async () => {
    const args = ['scan', 'all.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log', 'serve-text.log', '--log-filter', '--every-served-key', '--alpha', '0.01', '--json']
    const r = await tm(args)
    expect(r.code, r.err).toBe(0)
    const every = JSON.parse(r.out)
    const all = lines('all.jsonl')
    const records = parseLog(readFileSync(join(dir, 'serve-text.log'), 'utf8')).records
    const filters = logKeyFilters(schedule, [...new Set(all.map((s) => s.seq))].sort((a, b) => a - b).map((q) => records[q]), tk)
    const lib = analyzeSchedule(schedule, all.map((s) => ({ text: s.text, prompt: s.prompt, keyId: s.keyId })), { alpha: 0.01, filters, everyServedKey: true })
    expect({ log10P: every.log10P, tokensScored: every.tokensScored, tokensSeen: every.tokensSeen }).toEqual({ log10P: lib.log10P, tokensScored: lib.tokensScored, tokensSeen: lib.tokensSeen })
    const own = analyzeSchedule(schedule, all.map((s) => ({ text: s.text, prompt: s.prompt, keyId: s.keyId })), { alpha: 0.01, filters })
    expect(every.tokensScored).toBeGreaterThanOrEqual(own.tokensScored) // each answer meets more keys' filters
    expect(every.tokensSeen).toBe(own.tokensSeen)
    const rep = await tm(['report', 'all.jsonl', '--key', 'k.tmkey', '--signing-key', 'signer.key', '--out', 'e.md', '--alpha', '0.01', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--log', 'serve-text.log', '--log-filter', '--every-served-key'])
    expect(rep.code, rep.err).toBe(0)
    expect(readFileSync(join(dir, 'e.md'), 'utf8')).toMatch(/Keyed replay under every served key/)
    const v = await tm(['verify', 'e.tmev', '--public-key', 'signer.pub', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--json'])
    expect(v.code, v.out).toBe(0)
    expect(JSON.parse(v.out).checks.find((c: { id: string }) => c.id === 'schedule').message).toContain(`global p = 10^${every.log10P.toFixed(3)}`)
    // held-out lines name no key: nothing to score them under
    const bad = await tm(['scan', 'heldout.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json', '--every-served-key'])
    expect(bad.code).toBe(2)
    expect(bad.err).toBe('tokenmark: scoring under every served key needs replay texts that name their serving keys\n')
  })

  test('bad input: one line on stderr, exit 2', async () => {
    writeFileSync(join(dir, 'mixed.jsonl'), JSON.stringify({ text: 'a b c d', keyId: 'nope' }) + '\n')
    for (const args of [
      ['probe', '--endpoint', endpoint, '--format', 'openai', '--model', 'student', '--replay', 'serve.log', '--select', 'cohort=x', '--out', 'x.jsonl'],
      ['probe', '--endpoint', endpoint, '--format', 'openai', '--model', 'student', '--replay', 'serve.log', '--select', 'account=nobody', '--out', 'x.jsonl'],
      ['probe', '--endpoint', endpoint, '--format', 'openai', '--model', 'student', '--out', 'x.jsonl'],
      ['scan', 'mixed.jsonl', '--schedule', 's.schedule', '--schedule-public', 's.schedule.json'],
      ['scan', 'mixed.jsonl', '--schedule', 's.schedule'],
      ['scan', 'mixed.jsonl'],
      ['report', 'mixed.jsonl', '--key', 'k.tmkey', '--signing-key', 'signer.key', '--out', 'x.md', '--schedule', 's.schedule'],
    ]) {
      const r = await tm(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      expect(r.err).toMatch(/^tokenmark: /)
    }
  })
})
