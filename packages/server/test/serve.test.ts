/**
 * `tokenmark serve` end to end over a real socket (the BUILT CLI): first start prints an admin token
 * once, a second start on the same database does not, and SIGTERM answers the in-flight request
 * before the process exits 0.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { CLI, startChild, type Child } from './child.js'
import { plainText, testKey } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tokenmark-serve-'))
const children: Child[] = []
afterAll(() => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})
const env = { TOKENMARK_MASTER_SECRET: '', TOKENMARK_MASTER_SECRET_FILE: '', TOKENMARK_ADMIN_TOKEN: '' }

test('tokenmark serve: admin token shown once, then graceful shutdown on SIGTERM with a request in flight', async () => {
  const db = join(dir, 'serve.db')
  const first = await startChild(['serve', '--port', '0', '--db', db, '--log-level', 'warn'], env, CLI)
  children.push(first)
  const token = /\n(tmt_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43})\n/.exec(first.stdout())?.[1]
  expect(token, first.stdout()).toBeDefined()
  expect(first.stderr()).not.toContain(token!)
  const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const key = testKey(4)
  expect((await fetch(`${first.url}/v1/keys`, { method: 'POST', headers: h, body: JSON.stringify({ keyFile: key.toKeyFile() }) })).status).toBe(201)

  // a heavy request (64 texts), then SIGTERM while it is being processed
  const texts = Array.from({ length: 64 }, (_, i) => plainText(2500, i))
  const inflight = fetch(`${first.url}/v1/detect`, { method: 'POST', headers: h, body: JSON.stringify({ texts, keyId: key.keyId }) })
  await new Promise((r) => setTimeout(r, 50))
  first.proc.kill('SIGTERM')
  const res = await inflight
  expect(res.status).toBe(200)
  expect(((await res.json()) as { results: unknown[] }).results).toHaveLength(64)
  expect(await first.exited).toEqual({ code: 0, signal: null })

  const second = await startChild(['serve', '--port', '0', '--db', db, '--log-level', 'warn'], env, CLI)
  children.push(second)
  expect(second.stdout()).not.toMatch(/tmt_/)
  expect((await fetch(`${second.url}/v1/keys`, { headers: h })).status).toBe(200)
  second.proc.kill('SIGTERM')
  expect((await second.exited).code).toBe(0)
})
