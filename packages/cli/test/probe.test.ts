/**
 * `tokenmark probe` driven as a user would: the built binary in a child process, against the example
 * suspect API (both formats, plain and streaming), a flaky fastify server (429 + Retry-After, 5xx), a slow
 * one interrupted with SIGINT and resumed, and a real tokenmark server case.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getTokenizer } from '@tokenmark/core'
import { NGramModel, encodeCorpus, prompts } from '@tokenmark/lab'
import { bootstrap, buildServer } from '@tokenmark/server'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { buildSuspectApi } from '../../../examples/suspect-api/src/index.js'

// fastify is a dependency of the examples and the server, not of the CLI: take it from the example.
const { default: Fastify } = (await import(createRequire(new URL('../../../examples/suspect-api/package.json', import.meta.url)).resolve('fastify'))) as typeof import('fastify')

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-probe-'))
const servers: FastifyInstance[] = []

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  out: string
  err: string
}

/** Runs the CLI asynchronously (the servers answering it live in this process). */
function tm(args: string[], opts: { env?: Record<string, string>; onStart?: (kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-test', ...opts.env } })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code, signal) => resolve({ code, signal, out, err }))
    opts.onStart?.((s) => child.kill(s))
  })
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { id: string; prompt: string; text: string; model: string; endpoint: string; time: string; requestId: string | null })

function promptsFile(name: string, n: number, withIds = true): string {
  const file = join(dir, name)
  writeFileSync(file, prompts().slice(0, n).map((p, i) => JSON.stringify(withIds ? { id: `p${i}`, prompt: p } : { prompt: p }) + '\n').join(''))
  return file
}

async function listen(app: FastifyInstance): Promise<string> {
  servers.push(app)
  return app.listen({ host: '127.0.0.1', port: 0 })
}

/** A fastify server speaking just enough OpenAI and Anthropic for the probe, with a failure plan. */
function fakeApi(plan: (n: number, prompt: string) => { status?: number; headers?: Record<string, string>; delayMs?: number }) {
  const app = Fastify()
  const hits: Array<{ prompt: string; anthropic: boolean; at: number; status: number; temperature?: number }> = []
  const handle = (anthropic: boolean) => async (req: { body: { messages: Array<{ content: string }>; temperature?: number } }, reply: { status: (n: number) => unknown; headers: (h: object) => unknown; send: (b: unknown) => unknown }) => {
    const prompt = req.body.messages[0].content
    const p = plan(hits.filter((h) => h.prompt === prompt && h.anthropic === anthropic).length, prompt)
    hits.push({ prompt, anthropic, at: Date.now(), status: p.status ?? 200, temperature: req.body.temperature })
    if (p.delayMs) await new Promise((r) => setTimeout(r, p.delayMs))
    if (p.status && p.status !== 200) {
      reply.status(p.status)
      reply.headers(p.headers ?? {})
      return reply.send(anthropic ? { type: 'error', error: { type: 'overloaded_error', message: 'busy' } } : { error: { message: 'busy', type: 'server_error' } })
    }
    const text = `answer to ${prompt.slice(0, 20)}`
    return anthropic
      ? { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } }
      : { id: 'c1', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] }
  }
  app.post('/v1/chat/completions', handle(false) as never)
  app.post('/v1/messages', handle(true) as never)
  return { app, hits }
}

let suspectURL: string

beforeAll(async () => {
  const tokenizer = getTokenizer('o200k_base')
  const model = NGramModel.train(encodeCorpus(tokenizer, 'student'), { vocabSize: tokenizer.vocabSize })
  suspectURL = await listen(await buildSuspectApi({ model, tokenizer, seed: 1 }))
})
afterAll(async () => {
  for (const s of servers) await s.close()
})

describe('tokenmark probe', () => {
  test.each([
    ['openai', false],
    ['openai', true],
    ['anthropic', false],
    ['anthropic', true],
  ] as const)('collects %s answers (stream: %s) from the suspect API through the official SDK', async (format, stream) => {
    const out = join(dir, `suspect-${format}-${stream}.jsonl`)
    const endpoint = format === 'openai' ? `${suspectURL}/v1` : suspectURL
    const r = await tm(['probe', '--endpoint', endpoint, '--format', format, '--model', 'suspect-1', '--prompts', promptsFile('p6.jsonl', 6, false), '--out', out, '--max-tokens', '30', ...(stream ? ['--stream'] : [])])
    expect(r.err).not.toMatch(/error/i)
    expect(r.code).toBe(0)
    const got = lines(out)
    expect(got.map((s) => s.id).sort()).toEqual(['1', '2', '3', '4', '5', '6']) // line numbers identify id-less prompts
    for (const s of got) {
      expect(s.text.length).toBeGreaterThan(0)
      expect(s).toMatchObject({ model: 'suspect-1', endpoint, prompt: prompts()[Number(s.id) - 1] })
      expect(s.requestId).toMatch(/^[0-9a-f]{32}$/)
      expect(Date.parse(s.time)).not.toBeNaN()
    }
    expect(r.out).toContain('probed 6 prompts')
  })

  test('resumes after Ctrl-C: only complete lines, no prompt asked twice once answered', async () => {
    const { app, hits } = fakeApi(() => ({ delayMs: 60 }))
    const url = await listen(app)
    const out = join(dir, 'resume.jsonl')
    const args = ['probe', '--endpoint', url, '--format', 'openai', '--model', 'm', '--prompts', promptsFile('p40.jsonl', 40), '--out', out, '--concurrency', '3']
    const first = await tm(args, {
      onStart: (kill) => {
        const t = setInterval(() => {
          if (hits.length >= 12) {
            clearInterval(t)
            kill('SIGINT')
          }
        }, 5)
      },
    })
    expect(first.code).toBe(130)
    expect(first.err).toContain('interrupted')
    const partial = readFileSync(out, 'utf8')
    expect(partial.endsWith('\n')).toBe(true)
    const before = lines(out)
    expect(before.length).toBeGreaterThanOrEqual(8)
    expect(before.length).toBeLessThan(40)
    const answered = new Set(before.map((s) => s.id))
    const hitsBefore = hits.length
    const second = await tm(args)
    expect(second.code).toBe(0)
    expect(second.err).toContain(`resuming: ${before.length} samples`)
    const all = lines(out)
    expect(all.length).toBe(40)
    expect(new Set(all.map((s) => s.id)).size).toBe(40)
    // The second run asked only for prompts without an answer.
    const asked = hits.slice(hitsBefore).map((h) => h.prompt)
    for (const s of before) expect(asked).not.toContain(s.prompt)
    expect(asked.length).toBe(40 - answered.size)
    // A third run has nothing left to do.
    const third = await tm(args)
    expect(third.out).toContain('probed 0 prompts (40 samples')
  })

  test('waits out 429 Retry-After and retries 5xx with back-off, in both formats', async () => {
    const { app, hits } = fakeApi((n, prompt) => {
      if (prompt === prompts()[0] && n === 0) return { status: 429, headers: { 'retry-after': '1' } }
      if (prompt === prompts()[1] && n < 2) return { status: n === 0 ? 500 : 503 }
      return {}
    })
    const url = await listen(app)
    for (const format of ['openai', 'anthropic'] as const) {
      const out = join(dir, `flaky-${format}.jsonl`)
      const start = hits.length
      const r = await tm(['probe', '--endpoint', url, '--format', format, '--model', 'm', '--prompts', promptsFile('p3.jsonl', 3), '--out', out])
      expect(r.code).toBe(0)
      expect(lines(out).map((s) => s.id).sort()).toEqual(['p0', 'p1', 'p2'])
      const mine = hits.slice(start)
      const limited = mine.filter((h) => h.prompt === prompts()[0])
      expect(limited.map((h) => h.status)).toEqual([429, 200])
      expect(limited[1].at - limited[0].at).toBeGreaterThanOrEqual(950) // Retry-After: 1 honoured
      expect(mine.filter((h) => h.prompt === prompts()[1]).map((h) => h.status)).toEqual([500, 503, 200])
      expect(r.err).toMatch(/HTTP 429; retrying in 1\.0 s/)
      expect(r.err).toMatch(/HTTP 503; retrying/)
      expect(r.out).toContain('3 retries')
    }
  })

  test('--temperature goes with every request in both formats; without it none is sent', async () => {
    const { app, hits } = fakeApi(() => ({}))
    const url = await listen(app)
    for (const format of ['openai', 'anthropic'] as const) {
      const r = await tm(['probe', '--endpoint', url, '--format', format, '--model', 'm', '--prompts', promptsFile('p3.jsonl', 3), '--out', join(dir, `temp-${format}.jsonl`), '--temperature', '0.5'])
      expect(r.code, r.err).toBe(0)
    }
    expect(hits.map((h) => h.temperature)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    expect((await tm(['probe', '--endpoint', url, '--format', 'openai', '--model', 'm', '--prompts', promptsFile('p3.jsonl', 3), '--out', join(dir, 'temp-none.jsonl')])).code).toBe(0)
    expect(hits.slice(6).map((h) => h.temperature)).toEqual([undefined, undefined, undefined])
    const bad = await tm(['probe', '--endpoint', url, '--format', 'openai', '--model', 'm', '--prompts', promptsFile('p3.jsonl', 3), '--out', join(dir, 'temp-bad.jsonl'), '--temperature', '3'])
    expect(bad.code).toBe(2)
    expect(bad.err).toBe('tokenmark: --temperature must be in [0, 2]\n')
  })

  test('--repeat N asks every prompt N times, round after round; raising N resumes the same file', async () => {
    const { app, hits } = fakeApi(() => ({}))
    const url = await listen(app)
    const out = join(dir, 'repeat.jsonl')
    const ask = (n: string) => tm(['probe', '--endpoint', url, '--format', 'openai', '--model', 'm', '--prompts', promptsFile('p2.jsonl', 2), '--out', out, '--repeat', n, '--concurrency', '1'])
    expect((await ask('3')).code).toBe(0)
    expect(lines(out).map((x) => x.id)).toEqual(['p0', 'p1', 'p0#2', 'p1#2', 'p0#3', 'p1#3'])
    expect(hits.map((h) => h.prompt)).toEqual([0, 1, 0, 1, 0, 1].map((i) => prompts()[i]))
    const more = await ask('4')
    expect(more.code).toBe(0)
    expect(more.err).toMatch(/resuming: 6 samples already/)
    expect(lines(out).map((x) => x.id).slice(6)).toEqual(['p0#4', 'p1#4'])
    expect((await ask('0')).err).toMatch(/^tokenmark: --repeat/)
  })

  test('gives up with one line on a non-retryable error, keeping what it has', async () => {
    const { app } = fakeApi((_n, prompt) => (prompt === prompts()[2] ? { status: 401 } : {}))
    const url = await listen(app)
    const out = join(dir, 'auth.jsonl')
    const r = await tm(['probe', '--endpoint', url, '--format', 'openai', '--model', 'm', '--prompts', promptsFile('p5.jsonl', 5), '--out', out, '--concurrency', '1'])
    expect(r.code).toBe(2)
    expect(r.err.trim().split('\n').at(-1)).toMatch(/^tokenmark: .*401.*2 samples in .*re-run the same command/)
    expect(lines(out).length).toBe(2)
    const bad = await tm(['probe', '--endpoint', url, '--format', 'grpc', '--model', 'm', '--prompts', 'x', '--out', out])
    expect(bad.code).toBe(2)
    expect(bad.err).toBe('tokenmark: --format must be openai or anthropic, got "grpc"\n')
    const noKey = await tm(['probe', '--endpoint', url, '--format', 'openai', '--model', 'm', '--prompts', 'x', '--out', out, '--api-key-env', 'NOPE_UNSET'])
    expect(noKey.err).toBe('tokenmark: the API key: environment variable NOPE_UNSET is not set\n')
    // Resuming into a file from another model (or endpoint) would mix two suspects in one corpus: refused, file untouched.
    const before = readFileSync(out, 'utf8')
    for (const [endpoint, model] of [[url, 'another-model'], [url.replace('127.0.0.1', 'localhost'), 'm']]) {
      const mixed = await tm(['probe', '--endpoint', endpoint, '--format', 'openai', '--model', model, '--prompts', promptsFile('p5.jsonl', 5), '--out', out])
      expect(mixed.code).toBe(2)
      expect(mixed.err).toMatch(/^tokenmark: .*holds samples from endpoint .* model m, not .*; resume with the same --endpoint and --model/)
    }
    expect(readFileSync(out, 'utf8')).toBe(before)
  })

  test('streams samples into a server case with idempotency keys, so a resumed probe adds nothing twice', async () => {
    const server = await buildServer({ db: ':memory:', masterSecret: 'a'.repeat(64) })
    const { adminToken } = bootstrap(server)!
    const url = await listen(server)
    const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
    const key = (await (await fetch(`${url}/v1/keys`, { method: 'POST', headers: auth, body: JSON.stringify({ scheme: 'kgw', params: { context: 1 } }) })).json()) as { keyId: string }
    const kase = (await (await fetch(`${url}/v1/cases`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'suspect', keyId: key.keyId }) })).json()) as { id: string }
    const out = join(dir, 'case.jsonl')
    const args = ['probe', '--endpoint', suspectURL, '--format', 'anthropic', '--model', 'suspect-1', '--prompts', promptsFile('p8.jsonl', 8), '--out', out, '--max-tokens', '30']
    const caseArgs = ['--case', kase.id, '--server', url, '--token-env', 'TM_TOKEN']
    const env = { TM_TOKEN: adminToken }
    expect((await tm([...args, '--max-samples', '5', ...caseArgs], { env })).code).toBe(0)
    const r = await tm([...args, ...caseArgs], { env })
    expect(r.code).toBe(0)
    expect(r.out).toMatch(new RegExp(`case ${kase.id}: 3 added, 5 already there; 8 samples`))
    const samples = (await (await fetch(`${url}/v1/cases/${kase.id}/samples`, { headers: auth })).json()) as { samples: Array<{ idempotencyKey: string; text: string; prompt: string; source: { requestId: string } }> }
    const file = lines(out)
    expect(samples.samples.map((s) => s.idempotencyKey).sort()).toEqual(file.map((s) => s.id).sort())
    const byId = new Map(file.map((s) => [s.id, s]))
    for (const s of samples.samples) expect(s).toMatchObject({ text: byId.get(s.idempotencyKey)!.text, prompt: byId.get(s.idempotencyKey)!.prompt, source: { requestId: byId.get(s.idempotencyKey)!.requestId } })
  })
})
