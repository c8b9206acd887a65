/**
 * `tokenmark serve` end to end over a real socket (the BUILT CLI): first start prints an admin token
 * once, a second start on the same database does not, and SIGTERM answers the in-flight request
 * before the process exits 0.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { detect } from '@tokenmark/core'
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
  const first = await startChild(['serve', '--port', '0', '--db', db, '--log-level', 'info'], env, CLI)
  children.push(first)
  const token = /\n(tmt_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43})\n/.exec(first.stdout())?.[1]
  expect(token, first.stdout()).toBeDefined()
  expect(first.stderr()).not.toContain(token!)
  const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const key = testKey(4)
  expect((await fetch(`${first.url}/v1/keys`, { method: 'POST', headers: h, body: JSON.stringify({ keyFile: key.toKeyFile() }) })).status).toBe(201)

  // A request whose body is still arriving when SIGTERM comes: it must be answered, then the process exits.
  const body = JSON.stringify({ texts: Array.from({ length: 8 }, (_, i) => plainText(300, i)), keyId: key.keyId })
  const u = new URL(first.url)
  const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: '/v1/detect', method: 'POST', headers: { ...h, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = ''
      res.on('data', (d: Buffer) => (data += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }))
    })
    req.on('error', reject)
    req.write(body.slice(0, 1000))
    setTimeout(() => {
      first.proc.kill('SIGTERM')
      setTimeout(() => req.end(body.slice(1000)), 300)
    }, 200)
  })
  const res = await reply
  const t0 = Date.now()
  expect(res.status).toBe(200)
  const results = (JSON.parse(res.body) as { results: unknown[] }).results
  expect(results).toHaveLength(8)
  // detection ran on the worker pool of the served process and agrees with core in this process
  expect(results[3]).toEqual(JSON.parse(JSON.stringify(detect({ text: plainText(300, 3), keys: key }))))
  expect(await first.exited).toEqual({ code: 0, signal: null })
  // in-flight replies close their keep-alive connection, so exit does not wait for its timeout (5 s)
  expect(Date.now() - t0).toBeLessThan(3000)
  // the detect request completed after shutdown began: it was in flight, not refused
  const log = first.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; req?: { url: string }; res?: { statusCode: number } })
  const down = log.findIndex((l) => l.msg.startsWith('shutting down'))
  expect(down).toBeGreaterThan(0)
  expect(log.slice(down).some((l) => l.msg === 'request completed' && l.res?.statusCode === 200)).toBe(true)
  expect(first.stderr()).not.toContain(token!)

  const second = await startChild(['serve', '--port', '0', '--db', db, '--log-level', 'warn'], env, CLI)
  children.push(second)
  expect(second.stdout()).not.toMatch(/tmt_/)
  expect((await fetch(`${second.url}/v1/keys`, { headers: h })).status).toBe(200)
  second.proc.kill('SIGTERM')
  expect((await second.exited).code).toBe(0)
})

/** Runs the built CLI to completion (it is expected to refuse to start). */
function runToExit(args: string[], extraEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    // Hang guard only: a server that keeps running after refusing is the bug this catches.
    const guard = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    proc.on('exit', (code) => {
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })
}

test('tokenmark serve on a port in use exits 2 with one line, creating no database and no master secret', async () => {
  const blocker = createNetServer()
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
  const port = (blocker.address() as { port: number }).port
  try {
    const db = join(dir, 'busy.db')
    const r = await runToExit(['serve', '--port', String(port), '--db', db, '--log-level', 'error'], {})
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^tokenmark: cannot start the server: 127\.0\.0\.1:\d+ is already in use/)
    expect(existsSync(db)).toBe(false)
    expect(existsSync(`${db}.master`)).toBe(false)
  } finally {
    blocker.close()
  }
})

test('tokenmark serve refuses a database whose .master is missing without writing a new one, and exits 2', async () => {
  const db = join(dir, 'orphan.db')
  const first = await startChild(['serve', '--port', '0', '--db', db, '--log-level', 'error'], env, CLI)
  children.push(first)
  first.proc.kill('SIGTERM')
  await first.exited
  rmSync(`${db}.master`)
  const r = await runToExit(['serve', '--port', '0', '--db', db, '--log-level', 'error'], {})
  expect(r.code, r.stderr).toBe(2)
  expect(r.stderr).toMatch(/master secret does not match/)
  expect(existsSync(`${db}.master`)).toBe(false)
})
