/**
 * `tokenmark probe` as a newcomer first runs it (issue 15): 25 prompts against an endpoint that needs no key,
 * with no API key in the environment — no warnings on stderr (MaxListenersExceededWarning came with 20+
 * prompts), no authentication header sent; an endpoint that does need a key gets one clear line.
 * The built binary in a child process against a real HTTP server on loopback.
 */
import { spawn } from 'node:child_process'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tokenmark-probe-quiet-'))
const seen: IncomingHttpHeaders[] = []
let server: Server
let base: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      seen.push(req.headers)
      res.setHeader('content-type', 'application/json')
      if (req.url!.startsWith('/locked/') && req.headers.authorization !== 'Bearer sk-right') {
        res.statusCode = 401
        return res.end(JSON.stringify({ error: { message: 'no key', type: 'invalid_request_error' } }))
      }
      const prompt = (JSON.parse(body) as { messages: { content: string }[] }).messages[0].content
      if (req.url!.endsWith('/messages')) {
        return res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: `re: ${prompt}` }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } }))
      }
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: `re: ${prompt}` }, finish_reason: 'stop' }] }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  writeFileSync(join(dir, 'prompts.jsonl'), Array.from({ length: 25 }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `prompt ${i}` }) + '\n').join(''))
})
afterAll(() => {
  server?.close()
  rmSync(dir, { recursive: true, force: true })
})

function tm(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const clean = { ...process.env, OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, ...env }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: clean as NodeJS.ProcessEnv })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

describe('probe without warnings or an unneeded key', () => {
  test.each(['openai', 'anthropic'])('%s: 25 prompts, no key set: nothing on stderr, no auth header sent', async (format) => {
    seen.length = 0
    const out = join(dir, `${format}.jsonl`)
    const r = await tm(['probe', '--endpoint', `${base}/open`, '--format', format, '--model', 'm', '--prompts', join(dir, 'prompts.jsonl'), '--out', out, '--concurrency', '4'])
    // stderr holds the progress lines (non-TTY: one per step) and nothing else
    expect(r.err).not.toMatch(/Warning|MaxListeners/)
    expect(r.err.split('\n').filter((l) => l !== '' && !/^probe: \d+\/25/.test(l))).toEqual([])
    expect(r.code).toBe(0)
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(25)
    expect(seen).toHaveLength(25)
    for (const h of seen) {
      expect(h.authorization).toBeUndefined()
      expect(h['x-api-key']).toBeUndefined()
    }
  })

  test('an endpoint that needs a key: one line naming the variable to set; with it set, the probe runs', async () => {
    const args = ['probe', '--endpoint', `${base}/locked`, '--format', 'openai', '--model', 'm', '--prompts', join(dir, 'prompts.jsonl'), '--out', join(dir, 'locked.jsonl')]
    const r = await tm(args)
    expect(r.code).toBe(2)
    expect(r.err.split('\n').filter((l) => l !== '' && !/^probe: \d+\/25/.test(l)).join('\n')).toMatch(/^tokenmark: http:\/\/127\.0\.0\.1:\d+\/locked answered HTTP 401: it needs an API key; set OPENAI_API_KEY \(or name another variable with --api-key-env\)$/)
    const ok = await tm(args, { OPENAI_API_KEY: 'sk-right' })
    expect(ok.err).not.toMatch(/tokenmark:|Warning/)
    expect(ok.code).toBe(0)
  })
})
