/**
 * A case bound to a key schedule (issue 13 §3, §6), over real HTTP on a real fastify server (SQLite, or
 * PostgreSQL in the server-pg project): the schedule registered (secret sealed, never returned), replay
 * answers added in idempotent batches naming the key that served each prompt, the result equal to what
 * `tokenmark scan --schedule` gives on the same samples (the library function it calls, and the built CLI
 * itself), serving keys checked at intake (422, nothing kept), the evidence persisted across a restart,
 * and the case's bundle carrying the schedule section that `tokenmark verify --schedule` recomputes.
 */
import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { accountsOf, KeySchedule, ServingLog, type LogRecord } from '@tokenmark/core'
import { analyzeSchedule, EVIDENCE_MEDIA_TYPE, generateSigningKey, openBundle, publicKeyFile, resultRecord, signLogHead, verify, type ScheduleText } from '@tokenmark/evidence'
import { buildServer } from '@tokenmark/server'
// The pool's workers load the built dist/detect-worker.js: the worker test runs the built server (as offloop.test.ts).
import { bootstrap as builtBootstrap, buildServer as builtServer } from '../dist/index.js'
import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { bearer, freshPgUrl, LogCapture, MASTER, plainText, STORE_KIND, testServer, watermarkedText } from './helpers.js'

const CLI = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-schedule-case-'))
const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 5) & 255)
const secretB64 = Buffer.from(secret).toString('base64url')
// B = 4 cohorts plus one canary cohort, 3 epochs: a ring of 15 keys.
const schedule = new KeySchedule(secret, {
  config: { scheme: 'kgw' },
  cohorts: 4,
  epochSeconds: 86_400,
  start: '2026-01-01T00:00:00.000Z',
  epochs: 3,
  canaries: [{ name: 'suspects', accounts: ['acct-x', 'acct-y'] }],
})

/**
 * Replay answers: cohort 1 (every epoch) and the canary (epoch 1) fed the suspect, so its answers to their
 * prompts carry their keys' watermarks; cohorts 0 and 2 did not. Prompts repeat words of answers.
 */
interface Answer extends ScheduleText {
  cohort: number
  epoch: number
}
const answers: Answer[] = []
const plan: [number, number, boolean][] = [
  [1, 0, true],
  [0, 0, false],
  [1, 1, true],
  [4, 1, true],
  [2, 1, false],
  [1, 2, true],
  [0, 2, false],
  [4, 1, true],
]
plan.forEach(([cohort, epoch, marked], i) => {
  const key = schedule.keyFor(cohort, epoch)
  const text = marked ? watermarkedText(key, 70, 300 + i) : plainText(70, 400 + i)
  answers.push({ cohort, epoch, keyId: key.keyId, prompt: `Question ${i}: ${text.split(' ').slice(2, 8).join(' ')}?`, text })
})

/**
 * The provider's serving log: 40 ordinary accounts and the two canary accounts, each served once per epoch
 * under the key the schedule assigns it (texts stripped: the chain still verifies).
 */
const servingLog = new ServingLog({ scheduleId: schedule.scheduleId, created: '2026-01-01T00:00:00.000Z' })
const logRecords: LogRecord[] = []
let logText = servingLog.headerLine()
for (let e = 0; e < 3; e++) {
  for (const account of [...Array.from({ length: 40 }, (_, i) => `acct-${i}`), 'acct-x', 'acct-y']) {
    const ck = schedule.keyForAccount(account, Date.parse('2026-01-01T00:00:00.000Z') + e * 86_400_000 + 3_600_000)
    const { record, line } = servingLog.append({ time: new Date(Date.parse('2026-01-01T01:00:00.000Z') + e * 86_400_000), account, epoch: ck.epoch, cohort: ck.cohort, keyId: ck.key.keyId, prompt: `p ${account} ${e}`, response: `r ${account} ${e}`, keepText: false })
    logRecords.push(record)
    logText += line
  }
}
const logSigner = generateSigningKey()

let app: FastifyInstance
let admin = ''
let url = ''
let db = ''
let logs: LogCapture
const bodies: string[] = []

async function api(method: string, path: string, body?: unknown, accept?: string): Promise<{ status: number; json: any; text: string; bytes: Buffer }> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { ...bearer(admin), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(accept ? { accept } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const bytes = Buffer.from(await r.arrayBuffer())
  const text = bytes.toString('utf8')
  bodies.push(text)
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: r.status, json, text, bytes }
}

async function start(): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const a = app.server.address()
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
}

/** A sample naming its serving key by key id (as probe --replay records it) or by cohort and epoch. */
function sample(a: Answer, i: number, by: 'keyId' | 'cohort' = i % 2 === 0 ? 'keyId' : 'cohort') {
  return { text: a.text, prompt: a.prompt, idempotencyKey: `replay-${i}`, served: by === 'keyId' ? { keyId: a.keyId } : { cohort: a.cohort, epoch: a.epoch } }
}

/** What `scan --schedule` computes on the same samples (evidence's analyzeSchedule), as JSON carries it. */
function libraryResult(alpha = 1e-6) {
  const r = analyzeSchedule(schedule, answers.map(({ text, prompt, keyId }) => ({ text, prompt, keyId })), { alpha, dedup: true, normalize: true })
  return JSON.parse(JSON.stringify({ ...r, detected: r.log10P <= Math.log10(alpha), texts: answers.length }))
}

let caseId = ''
beforeAll(async () => {
  db = STORE_KIND === 'postgres' ? ((await freshPgUrl()) ?? '') : join(dir, 'server.db')
  const s = await testServer({ db })
  app = s.app
  admin = s.admin
  logs = s.logs
  await start()
})

afterAll(async () => {
  await app?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('a case bound to a key schedule', () => {
  test('registers a schedule from its files; replies carry the public description, never the secret', async () => {
    expect(app.store.kind).toBe(STORE_KIND)
    const created = await api('POST', '/v1/schedules', { scheduleFile: schedule.toSecretFile(), description: schedule.toPublicFile(), name: 'provider schedule' })
    expect(created.status).toBe(201)
    expect(created.json).toMatchObject({ scheduleId: schedule.scheduleId, commitment: schedule.commitment, origin: 'imported', ringSize: 15 })
    expect(created.json.description).toMatchObject({ cohorts: 4, epochs: 3, epochSeconds: 86_400, canaries: [{ name: 'suspects', accounts: ['acct-x', 'acct-y'] }] })
    expect((await api('GET', `/v1/schedules/${schedule.scheduleId}`)).json.commitment).toBe(schedule.commitment)
    expect((await api('GET', '/v1/schedules')).json.schedules).toHaveLength(1)
    expect((await api('POST', '/v1/schedules', { scheduleFile: schedule.toSecretFile(), description: schedule.toPublicFile() })).status).toBe(409)
    // A secret that does not open the description's commitment is refused (core's check).
    const other = new KeySchedule(new Uint8Array(32).fill(9), schedule.params)
    const wrong = await api('POST', '/v1/schedules', { scheduleFile: other.toSecretFile(), description: schedule.toPublicFile() })
    expect(wrong.status).toBe(400)
    expect(wrong.json.error.code).toBe('E_KEY_MISMATCH')
    // Generated here: its secret never leaves the server.
    const gen = await api('POST', '/v1/schedules', { cohorts: 8, epochSeconds: 3600, start: '2026-02-01T00:00:00Z', epochs: 2, scheme: 'kgw' })
    expect(gen.status).toBe(201)
    expect(gen.json).toMatchObject({ origin: 'generated', ringSize: 16 })
    expect((await api('GET', '/v1/schedules/tmks_0000000000000000')).status).toBe(404)
    // Another tenant sees no trace of it: 404 as for a schedule that does not exist.
    const t = app.access.createTenant('other')
    const otherToken = app.access.createToken(t.id, 'all', ['cases:read', 'cases:write', 'keys:admin']).token
    const asOther = (method: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, { method, headers: { ...bearer(otherToken), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    expect((await asOther('GET', `/v1/schedules/${schedule.scheduleId}`)).status).toBe(404)
    expect(((await (await asOther('GET', '/v1/schedules')).json()) as { schedules: unknown[] }).schedules).toEqual([])
    expect((await asOther('POST', '/v1/cases', { name: 'x', scheduleId: schedule.scheduleId })).status).toBe(404)
  })

  test('opens a case on the schedule; a schedule case refuses dedup off, and keyId with scheduleId', async () => {
    const c = await api('POST', '/v1/cases', { name: 'Suspect: student-1, keyed replay', scheduleId: schedule.scheduleId })
    expect(c.status).toBe(201)
    expect(c.json).toMatchObject({ keyId: null, scheduleId: schedule.scheduleId, scheme: 'kgw', samples: 0 })
    caseId = c.json.id
    expect((await api('POST', '/v1/cases', { name: 'x', scheduleId: schedule.scheduleId, dedup: false })).status).toBe(400)
    expect((await api('POST', '/v1/cases', { name: 'x', scheduleId: schedule.scheduleId, keyId: schedule.keyFor(0, 0).keyId })).status).toBe(400)
    expect((await api('POST', '/v1/cases', { name: 'x', scheduleId: 'tmks_ffffffffffffffff' })).status).toBe(404)
  })

  test('adds samples in idempotent batches; the result equals scan --schedule on the same samples', async () => {
    const first = await api('POST', `/v1/cases/${caseId}/samples`, { samples: answers.slice(0, 3).map((a, i) => sample(a, i)) })
    expect(first.status).toBe(200)
    expect(first.json.accepted).toBe(3)
    const second = await api('POST', `/v1/cases/${caseId}/samples`, { samples: answers.slice(3).map((a, i) => sample(a, i + 3)) })
    expect(second.json.accepted).toBe(answers.length - 3)
    // A retry of the first batch, naming the same keys the other way: duplicates, nothing scored again.
    const retry = await api('POST', `/v1/cases/${caseId}/samples`, { samples: answers.slice(0, 3).map((a, i) => sample(a, i, i % 2 === 0 ? 'cohort' : 'keyId')) })
    expect(retry.json).toMatchObject({ accepted: 0, duplicates: 3 })
    // The same idempotency key with another serving key is a conflict.
    const moved = { ...sample(answers[0], 0), served: { cohort: 3, epoch: 0 } }
    expect((await api('POST', `/v1/cases/${caseId}/samples`, { samples: [moved] })).status).toBe(409)

    const result = await api('GET', `/v1/cases/${caseId}/result`)
    const lib = libraryResult()
    expect(result.json).toEqual(lib)
    // The answers were made to carry cohort 1's and the canary's keys: the test has something to find.
    expect(lib.detected).toBe(true)
    expect(lib.cohortsFlagged).toContain(1)
    expect(lib.cohortsFlagged).not.toContain(0)
    expect(lib.cohortsFlagged).not.toContain(2)
    // At another level, the same numbers as the library at that level.
    expect((await api('GET', `/v1/cases/${caseId}/result?alpha=0.01`)).json).toEqual(libraryResult(0.01))
    const info = (await api('GET', `/v1/cases/${caseId}`)).json
    expect(info.result).toEqual(lib)
    expect(info.samples).toBe(answers.length)
    const all = (await api('GET', '/v1/cases')).json.cases as { id: string; scheduleId: string | null; result: unknown }[]
    expect(all.find((x) => x.id === caseId)).toMatchObject({ scheduleId: schedule.scheduleId, result: lib })
    const listed = (await api('GET', `/v1/cases/${caseId}/samples?limit=2`)).json
    expect(listed.samples[0].servedKeyId).toBe(answers[0].keyId)
    expect(listed.samples[1].servedKeyId).toBe(answers[1].keyId)
  })

  test('the built CLI (scan --schedule --json) prints the same result on the same samples', () => {
    const corpus = join(dir, 'replay.jsonl')
    writeFileSync(corpus, answers.map((a, i) => JSON.stringify({ id: `a${i}`, text: a.text, prompt: a.prompt, keyId: a.keyId })).join('\n') + '\n')
    writeFileSync(join(dir, 's.schedule'), schedule.toSecretFile(), { mode: 0o600 })
    writeFileSync(join(dir, 's.schedule.json'), schedule.toPublicFile())
    const r = spawnSync(process.execPath, [CLI, 'scan', corpus, '--schedule', join(dir, 's.schedule'), '--schedule-public', join(dir, 's.schedule.json'), '--alpha', '1e-6', '--json'], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const { input: _input, ...cli } = JSON.parse(r.stdout)
    const { texts: _texts, ...lib } = libraryResult()
    expect(cli).toEqual(lib)
  })

  test('checks serving keys at intake: 422 E_SERVING_KEY and nothing of the batch is kept', async () => {
    const before = (await api('GET', `/v1/cases/${caseId}`)).json
    const good = { text: plainText(30, 1), prompt: 'hello?', served: { keyId: answers[0].keyId } }
    const cases: [unknown, string][] = [
      [{ text: 'an answer', served: { keyId: 'tmk_0000000000000000' } }, 'E_SERVING_KEY'],
      [{ text: 'an answer', served: { cohort: 5, epoch: 0 } }, 'E_SERVING_KEY'],
      [{ text: 'an answer', served: { cohort: 0, epoch: 3 } }, 'E_SERVING_KEY'],
      [{ text: 'an answer' }, 'E_SERVING_KEY'],
    ]
    for (const [bad, code] of cases) {
      const r = await api('POST', `/v1/cases/${caseId}/samples`, { samples: [good, bad] })
      expect(r.status).toBe(422)
      expect(r.json.error.code).toBe(code)
    }
    expect((await api('POST', `/v1/cases/${caseId}/samples`, { samples: [{ text: 'x', served: { cohort: 1 } }] })).status).toBe(400)
    const after = (await api('GET', `/v1/cases/${caseId}`)).json
    expect(after.samples).toBe(before.samples)
    expect(after.result).toEqual(before.result)
  })

  test('a case tested against one key refuses a serving key', async () => {
    const key = (await api('POST', '/v1/keys', { scheme: 'kgw' })).json.keyId as string
    const c = (await api('POST', '/v1/cases', { name: 'one key', keyId: key })).json
    expect(c.scheduleId).toBeNull()
    const r = await api('POST', `/v1/cases/${c.id}/samples`, { samples: [{ text: 'an answer', served: { keyId: answers[0].keyId } }] })
    expect(r.status).toBe(400)
  })

  test('a serving log uploaded to the case names the accounts behind flagged cohorts', async () => {
    const signedHead = signLogHead(servingLog.head(), logSigner)
    const put = await api('PUT', `/v1/cases/${caseId}/log`, { log: logText, signedHead })
    expect(put.status, put.text).toBe(200)
    const lib = libraryResult()
    const { accounts, log, ...rest } = put.json.result
    expect(rest).toEqual(lib)
    expect(accounts).toEqual(lib.cohortsFlagged.map((c: number) => ({ cohort: c, label: schedule.cohortLabel(c), accounts: accountsOf(logRecords, c) })))
    expect(accounts.find((a: { label: string }) => a.label === 'canary/suspects')?.accounts).toEqual(['acct-x', 'acct-y'])
    expect(log).toEqual({ records: logRecords.length, head: servingLog.head().head, withText: 0, signature: { signerId: logSigner.signerId, signedAt: signedHead.signedAt, valid: true, coversHead: true } })
    expect((await api('GET', `/v1/cases/${caseId}/result`)).json.accounts).toEqual(accounts)

    // A log altered after the fact, another schedule's log, a head that is not this log's: 422, nothing replaced.
    const lines = logText.split('\n')
    const altered = [lines[0], lines[1].replace('"acct-0"', '"acct-zz"'), ...lines.slice(2)].join('\n')
    const bad = await api('PUT', `/v1/cases/${caseId}/log`, { log: altered })
    expect(bad.status).toBe(422)
    expect(bad.json.error.code).toBe('E_LOG_INVALID')
    const foreign = new ServingLog({ scheduleId: 'tmks_0123456789abcdef' })
    expect((await api('PUT', `/v1/cases/${caseId}/log`, { log: foreign.headerLine() })).json.error.code).toBe('E_LOG_INVALID')
    const otherHead = signLogHead({ ...servingLog.head(), head: 'f'.repeat(64) }, logSigner)
    expect((await api('PUT', `/v1/cases/${caseId}/log`, { log: logText, signedHead: otherHead })).json.error.code).toBe('E_LOG_INVALID')
    expect((await api('PUT', `/v1/cases/${caseId}/log`, { log: 'not a log' })).status).toBe(400)
    expect((await api('GET', `/v1/cases/${caseId}/result`)).json.log.signature.valid).toBe(true)
  })

  test('the evidence survives a restart: same result from the persisted per-key accumulators', async () => {
    const before = (await api('GET', `/v1/cases/${caseId}/result`)).json
    await app.close()
    app = await buildServer({ masterSecret: MASTER, db })
    await start()
    expect((await api('GET', `/v1/cases/${caseId}/result`)).json).toEqual(before)
  })

  test('the bundle carries the schedule section; tokenmark verify --schedule recomputes it', async () => {
    const b = await api('GET', `/v1/cases/${caseId}/bundle`, undefined, EVIDENCE_MEDIA_TYPE)
    expect(b.status).toBe(200)
    const bundle = new Uint8Array(b.bytes)
    const body = openBundle(bundle).body
    const lib = analyzeSchedule(schedule, answers.map(({ text, prompt, keyId }) => ({ text, prompt, keyId })), { alpha: 1e-6, dedup: true, normalize: true })
    expect(body.schedule).toMatchObject({ scheduleId: schedule.scheduleId, commitment: schedule.commitment, servedKeys: answers.map((a) => a.keyId) })
    expect(body.schedule?.result).toEqual(resultRecord(lib, 3))
    // The uploaded log's statement: the accounts behind each flagged cohort and the log's head, as report --schedule --log seals them.
    expect(body.schedule?.accounts).toEqual(lib.cohortsFlagged.map((c) => ({ cohort: c, label: schedule.cohortLabel(c), accounts: accountsOf(logRecords, c) })))
    expect(body.schedule?.log).toMatchObject({ records: logRecords.length, head: servingLog.head().head, signature: { signerId: logSigner.signerId, valid: true, coversHead: true } })
    const pub = (await api('GET', '/v1/signing-key')).json
    const publicKey = Buffer.from(pub.publicKey, 'base64url')
    const v = verify(bundle, { publicKey: new Uint8Array(publicKey), schedule })
    expect(v.checks.find((c) => c.id === 'schedule')?.status).toBe('pass')

    writeFileSync(join(dir, 'case.tmev'), bundle)
    writeFileSync(join(dir, 'signing.pub.json'), publicKeyFile(new Uint8Array(publicKey)))
    const run = (extra: string[]) =>
      spawnSync(process.execPath, [CLI, 'verify', join(dir, 'case.tmev'), '--public-key', join(dir, 'signing.pub.json'), ...extra], { encoding: 'utf8' })
    const ok = run(['--schedule', join(dir, 's.schedule'), '--schedule-public', join(dir, 's.schedule.json')])
    expect(ok.status, ok.stdout + ok.stderr).toBe(0)
    // Another schedule's secret does not verify it.
    const other = new KeySchedule(new Uint8Array(32).fill(3), schedule.params)
    writeFileSync(join(dir, 'o.schedule'), other.toSecretFile(), { mode: 0o600 })
    writeFileSync(join(dir, 'o.schedule.json'), other.toPublicFile())
    expect(run(['--schedule', join(dir, 'o.schedule'), '--schedule-public', join(dir, 'o.schedule.json')]).status).not.toBe(0)

    const md = await api('GET', `/v1/cases/${caseId}/report`, undefined, 'text/markdown')
    expect(md.status).toBe(200)
    expect(md.text).toContain('## Attribution to cohorts and accounts')
    expect(md.text).toContain('Accounts behind each flagged cohort')
    expect(md.text).toContain('acct-x')
    expect(md.text).toContain(`tokenmark verify ${caseId}.tmev --public-key signer.pub.json --schedule provider.schedule --schedule-public provider.schedule.json`)
    expect(md.text).toMatch(/cohort\/1 \| [0-9,]+ \| [^|]+ \| [^|]+ \| FLAGGED/)
    const model = (await api('GET', `/v1/cases/${caseId}/report`, undefined, 'application/json')).json
    expect(model.attribution.sentence).toContain(`Scored against key schedule ${schedule.scheduleId}, the texts carry the schedule's watermark`)
  })

  test('on worker threads, with a checkpoint every batch and batches sent at once, the result is the same', async () => {
    const db2 = STORE_KIND === 'postgres' ? ((await freshPgUrl()) ?? '') : join(dir, 'pool.db')
    const logs2 = new LogCapture()
    const p = { app: await builtServer({ masterSecret: MASTER, db: db2, detectWorkers: 2, limits: { checkpointMinBytes: 0 }, logStream: logs2, logger: 'info' }), admin: '', logs: logs2 }
    p.admin = builtBootstrap(p.app, {})!.adminToken!
    try {
      await p.app.listen({ port: 0, host: '127.0.0.1' })
      const a = p.app.server.address()
      const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
      const call = async (method: string, path: string, body?: unknown) => {
        const r = await fetch(`${base}${path}`, { method, headers: { ...bearer(p.admin), ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
        return { status: r.status, json: (await r.json()) as any }
      }
      expect((await call('POST', '/v1/schedules', { scheduleFile: schedule.toSecretFile(), description: schedule.toPublicFile() })).status).toBe(201)
      const c = (await call('POST', '/v1/cases', { name: 'pooled', scheduleId: schedule.scheduleId })).json
      // Four batches at once, one of them a retry overlapping another: the case serialises them.
      const batches = [answers.slice(0, 3), answers.slice(3, 5), answers.slice(5), answers.slice(2, 4)]
      const replies = await Promise.all(batches.map((b) => call('POST', `/v1/cases/${c.id}/samples`, { samples: b.map((x) => sample(x, answers.indexOf(x))) })))
      for (const r of replies) expect(r.status, JSON.stringify(r.json) + p.logs.text.slice(-3000)).toBe(200)
      expect(replies.reduce((n, r) => n + r.json.accepted, 0)).toBe(answers.length)
      expect((await call('GET', `/v1/cases/${c.id}/result`)).json).toEqual(libraryResult())
      const b = await fetch(`${base}/v1/cases/${c.id}/bundle`, { headers: { ...bearer(p.admin), accept: EVIDENCE_MEDIA_TYPE } })
      expect(b.status).toBe(200)
      expect(openBundle(new Uint8Array(await b.arrayBuffer())).body.schedule?.result.log10P).toBe(libraryResult().log10P)
    } finally {
      await p.app.close()
    }
  })

  test('locating a serving key in a large ring (4,104 keys, derived on first use) does not hold the event loop', async () => {
    const big = new KeySchedule(new Uint8Array(32).fill(77), { config: { scheme: 'kgw' }, cohorts: 512, epochSeconds: 3600, start: '2026-01-01T00:00:00Z', epochs: 8, canaries: [{ name: 'c', accounts: ['a'] }] })
    expect((await api('POST', '/v1/schedules', { scheduleFile: big.toSecretFile(), description: big.toPublicFile() })).json.ringSize).toBe(4104)
    const c = (await api('POST', '/v1/cases', { name: 'big ring', scheduleId: big.scheduleId })).json
    const key = big.keyFor(511, 7)
    let done = false
    const batch = api('POST', `/v1/cases/${c.id}/samples`, { samples: [{ text: watermarkedText(key, 40, 5), prompt: 'q?', served: { keyId: key.keyId } }] }).finally(() => (done = true))
    // Health checks sent one after another while the batch waits for the ring: answered in between, not after it.
    let answered = 0
    while (!done) {
      await fetch(`${url}/healthz`)
      if (!done) answered++
    }
    expect((await batch).status).toBe(200)
    expect(answered).toBeGreaterThanOrEqual(3)
  })

  test('fuzzed serving keys: 200, 400 or 422 in the error format, never a 5xx; only accepted samples count', async () => {
    const c = (await api('POST', '/v1/cases', { name: 'fuzz', scheduleId: schedule.scheduleId })).json
    const anyJson = fc.jsonValue({ maxDepth: 2 })
    const valid = fc.constantFrom<unknown>(...answers.map((a) => ({ keyId: a.keyId })), { cohort: 4, epoch: 2 }, { cohort: 0, epoch: 0 })
    const served = fc.oneof(
      { arbitrary: valid, weight: 6 },
      anyJson,
      fc.record(
        {
          keyId: fc.oneof(fc.constantFrom(...answers.map((a) => a.keyId), schedule.keyFor(4, 2).keyId, 'tmk_0000000000000000'), fc.string({ maxLength: 120 }), anyJson),
          cohort: fc.oneof(fc.integer({ min: -2, max: 7 }), fc.double(), anyJson),
          epoch: fc.oneof(fc.integer({ min: -2, max: 4 }), anyJson),
        },
        { requiredKeys: [] },
      ),
    )
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ text: fc.string({ maxLength: 40 }), served }, { requiredKeys: ['text', 'served'] }), { minLength: 1, maxLength: 2 }), async (samples) => {
        const r = await api('POST', `/v1/cases/${c.id}/samples`, { samples })
        expect([200, 400, 422], r.text).toContain(r.status)
        if (r.status === 200) accepted += r.json.accepted
        else expect(typeof r.json.error.code).toBe('string')
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 100), seed: 13 },
    )
    expect(accepted).toBeGreaterThan(0)
    expect((await api('GET', `/v1/cases/${c.id}`)).json.samples).toBe(accepted)
  })

  test('a database made before schedules gains their tables and column on its next start', async () => {
    const old = STORE_KIND === 'postgres' ? ((await freshPgUrl()) ?? '') : join(dir, 'old.db')
    const first = await testServer({ db: old })
    await first.app.close()
    // What a build without schedules left: no schedules or case_logs table, no samples.served_key.
    const strip = ['DROP TABLE schedules', 'DROP TABLE case_logs', 'ALTER TABLE samples DROP COLUMN served_key']
    if (STORE_KIND === 'postgres') {
      const c = new pg.Client({ connectionString: old })
      await c.connect()
      for (const q of strip) await c.query(q)
      await c.end()
    } else {
      const d = new Database(old)
      for (const q of strip) d.exec(q)
      d.close()
    }
    const again = await buildServer({ masterSecret: MASTER, db: old })
    try {
      const h = { ...bearer(first.admin), 'content-type': 'application/json' }
      const call = async (method: string, u: string, body: unknown) => JSON.parse((await again.inject({ method: method as 'POST', url: u, headers: h, payload: JSON.stringify(body) })).body)
      await call('POST', '/v1/schedules', { scheduleFile: schedule.toSecretFile(), description: schedule.toPublicFile() })
      const c = await call('POST', '/v1/cases', { name: 'after the upgrade', scheduleId: schedule.scheduleId })
      const added = await call('POST', `/v1/cases/${c.id}/samples`, { samples: [{ text: answers[0].text, prompt: answers[0].prompt, served: { keyId: answers[0].keyId } }] })
      expect(added.accepted).toBe(1)
      expect((await again.inject({ method: 'GET', url: `/v1/cases/${c.id}/samples`, headers: bearer(first.admin) })).json().samples[0].servedKeyId).toBe(answers[0].keyId)
    } finally {
      await again.close()
    }
  })

  test('the schedule secret appears in no reply and no log line', () => {
    const hex = Buffer.from(secret).toString('hex')
    for (const t of [...bodies, logs.text]) {
      expect(t).not.toContain(secretB64)
      expect(t).not.toContain(hex)
    }
  })
})
