/**
 * Property-based fuzzing of request bodies: whatever JSON arrives at /v1/detect or
 * /v1/cases/:id/samples, the server answers 2xx or 4xx in the error format, never 5xx, never crashes.
 * CI runs FUZZ_RUNS (default 300) bodies per route; the benchmark runs 10,000 (bench/fuzz.mjs).
 */
import fc from 'fast-check'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { bearer, testKey, testServer, watermarkedText, type TestServer } from './helpers.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
let s: TestServer
let caseId: string
const key = testKey(5)

beforeAll(async () => {
  s = await testServer({ rateLimit: false, limits: { bodyLimit: 64 * 1024 } })
  await s.app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(s.admin), payload: { keyFile: key.toKeyFile() } })
  caseId = JSON.parse((await s.app.inject({ method: 'POST', url: '/v1/cases', headers: bearer(s.admin), payload: { name: 'fuzz', keyId: key.keyId } })).body).id
})
afterAll(async () => {
  await s.app.close()
})

const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', '\u200b\u200d', '<|endoftext|>', 'ｔｈｅ ｓｅａ', '\ud800', watermarkedText(key, 50, 1)),
)
const anyJson = fc.jsonValue({ maxDepth: 3 })

const detectBody = fc.oneof(
  anyJson,
  fc.record(
    {
      text: fc.oneof(text, anyJson),
      texts: fc.oneof(fc.array(text, { maxLength: 4 }), anyJson),
      keyId: fc.oneof(fc.constant(key.keyId), fc.string({ maxLength: 120 }), anyJson),
      keyIds: fc.oneof(fc.array(fc.constantFrom(key.keyId, 'tmk_x'), { maxLength: 3 }), anyJson),
      alpha: fc.oneof(fc.double(), anyJson),
      window: fc.oneof(fc.boolean(), anyJson),
      dedup: fc.boolean(),
      normalize: fc.boolean(),
      marks: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
)

const sample = fc.record(
  {
    text: fc.oneof(text, anyJson),
    prompt: fc.oneof(text, anyJson),
    source: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 3 }), anyJson),
    idempotencyKey: fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.string({ maxLength: 210 }), anyJson),
  },
  { requiredKeys: [] },
)
const samplesBody = fc.oneof(anyJson, fc.record({ samples: fc.oneof(fc.array(sample, { maxLength: 5 }), anyJson) }, { requiredKeys: [] }))

async function check(url: string, body: unknown): Promise<void> {
  const res = await s.app.inject({ method: 'POST', url, headers: { ...bearer(s.admin), 'content-type': 'application/json' }, payload: JSON.stringify(body) ?? 'null' })
  if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${JSON.stringify(body).slice(0, 300)}: ${res.body}`)
  expect([200, 400, 403, 404, 409, 413]).toContain(res.statusCode)
  if (res.statusCode >= 400) expect(JSON.parse(res.body).error.code).toMatch(/^E_/)
}

test(`fuzzed /v1/detect bodies never cause a 5xx (${RUNS} runs)`, async () => {
  await fc.assert(fc.asyncProperty(detectBody, (b) => check('/v1/detect', b)), { numRuns: RUNS, seed: 42 })
})

test(`fuzzed /v1/cases/:id/samples bodies never cause a 5xx (${RUNS} runs)`, async () => {
  await fc.assert(fc.asyncProperty(samplesBody, (b) => check(`/v1/cases/${caseId}/samples`, b)), { numRuns: RUNS, seed: 43 })
  const c = JSON.parse((await s.app.inject({ method: 'GET', url: `/v1/cases/${caseId}`, headers: bearer(s.admin) })).body)
  expect(c.samples).toBeGreaterThan(0)
})
