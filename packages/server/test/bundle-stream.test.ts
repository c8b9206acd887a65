/**
 * Large bundles and reports are streamed from a spool file, never held whole on the event loop (issue 12).
 * The BUILT server over real HTTP with a worker pool: a case whose bundle and report are over the stream
 * threshold downloads byte for byte as the worker built it (its SHA-256, taken where it was built), verifies
 * with the served public key, carries the same evidence as a bundle of the same case built and sent whole
 * (a server with the default threshold), and its streamed report is byte-identical to the report rendered
 * in process from the downloaded bundle.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openBundle, parsePublicKey, renderReport, verify } from '@tokenmark/evidence'
import { afterAll, expect, test } from 'vitest'
import { bootstrap, buildServer, type BuildServerOptions } from '../dist/index.js'
import { freshPgUrl, MASTER, plainText, testKey, watermarkedText } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tokenmark-stream-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let admin = ''

async function start(db: string, limits: BuildServerOptions['limits']) {
  const app = await buildServer({ masterSecret: MASTER, rateLimit: false, db, detectWorkers: 1, limits })
  // The first start on the database creates the administrator token; the second reuses it.
  admin = bootstrap(app, {})?.adminToken ?? admin
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  return { app, url, h: { authorization: `Bearer ${admin}` } }
}

test('a large case’s bundle and report are streamed from a spool file, byte for byte what the worker built, and verify', async () => {
  const db = (await freshPgUrl()) ?? join(dir, 'stream.db')
  const key = testKey(21)
  // Threshold 32 KiB: this case's bundle (~0.5 MB) and its Markdown report are both over it.
  const s = await start(db, { bundleStreamBytes: 32 * 1024 })
  let caseId = ''
  let streamed = new Uint8Array(0)
  const json = { ...s.h, 'content-type': 'application/json' }
  try {
    await fetch(`${s.url}/v1/keys`, { method: 'POST', headers: json, body: JSON.stringify({ keyFile: key.toKeyFile() }) })
    const c = (await (await fetch(`${s.url}/v1/cases`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'large', keyId: key.keyId }) })).json()) as { id: string }
    const marked = Array.from({ length: 4 }, (_, i) => watermarkedText(key, 150, i))
    const samples = Array.from({ length: 400 }, (_, i) => ({ text: i % 8 === 0 ? `${marked[(i / 8) % 4]} ${i}` : plainText(160, i), prompt: `prompt ${i}` }))
    expect((await fetch(`${s.url}/v1/cases/${c.id}/samples`, { method: 'POST', headers: json, body: JSON.stringify({ samples }) })).status).toBe(200)
    const result = (await (await fetch(`${s.url}/v1/cases/${c.id}/result`, { headers: s.h })).json()) as { log10P: number; tokensScored: number }

    const res = await fetch(`${s.url}/v1/cases/${c.id}/bundle`, { headers: s.h })
    expect(res.status).toBe(200)
    const bytes = new Uint8Array(await res.arrayBuffer())
    caseId = c.id
    streamed = bytes
    expect(bytes.byteLength).toBeGreaterThan(64 * 1024)
    expect(Number(res.headers.get('content-length'))).toBe(bytes.byteLength)
    // The SHA-256 in the header was taken over the bytes in the worker that built them, before they were spooled.
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(res.headers.get('x-tokenmark-bundle-sha256'))
    // Nothing of it is held in memory: the cache keeps the spool file.
    expect(s.app.evidence.cached()).toMatchObject({ bytes: 0, files: 1, fileBytes: bytes.byteLength })
    const publicKey = parsePublicKey(await (await fetch(`${s.url}/v1/signing-key`, { headers: s.h })).text())
    // Signature, and every statistic recomputed from the texts in the bundle with the watermark key.
    const v = verify(bytes, { publicKey, watermarkKey: key })
    expect(v.checks.filter((ch) => ch.status === 'fail')).toEqual([])
    expect(v.valid).toBe(true)
    const { body } = openBundle(bytes)
    expect(body.result.log10P).toBe(result.log10P)
    expect(body.statistics.tokensScored).toBe(result.tokensScored)
    // A second download is served from the same file.
    const again = new Uint8Array(await (await fetch(`${s.url}/v1/cases/${c.id}/bundle`, { headers: s.h })).arrayBuffer())
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true)

    // The report (over the threshold as well) is streamed, and is exactly the report of the downloaded bundle.
    const rep = await fetch(`${s.url}/v1/cases/${c.id}/report`, { headers: { ...s.h, accept: 'text/markdown' } })
    expect(rep.status).toBe(200)
    expect(rep.headers.get('x-tokenmark-bundle-sha256')).toBe(res.headers.get('x-tokenmark-bundle-sha256'))
    const md = await rep.text()
    expect(Buffer.byteLength(md)).toBeGreaterThan(32 * 1024)
    expect(md).toBe(renderReport(bytes, { format: 'md', publicKey, bundleName: `${c.id}.tmev` }))
    expect(s.app.evidence.cached().files).toBe(1)
  } finally {
    await s.app.close()
  }

  // The same case on a server that sends bundles whole: the same evidence, signed by the same tenant key
  // (only the creation time, and so the signature, differ between two builds).
  const whole = await start(db, {})
  try {
    const res = await fetch(`${whole.url}/v1/cases/${caseId}/bundle`, { headers: whole.h })
    expect(res.status).toBe(200)
    const other = new Uint8Array(await res.arrayBuffer())
    expect(whole.app.evidence.cached()).toMatchObject({ bundles: 1, files: 0, bytes: other.byteLength })
    const publicKey = parsePublicKey(await (await fetch(`${whole.url}/v1/signing-key`, { headers: whole.h })).text())
    expect(verify(other, { publicKey }).valid).toBe(true)
    const [a, b] = [openBundle(other).body, openBundle(streamed).body]
    expect({ ...a, created: '' }).toEqual({ ...b, created: '' })
    expect(other.byteLength).toBe(streamed.byteLength)
  } finally {
    await whole.app.close()
  }
})

test('a spooled bundle over the spool budget is streamed once and not kept', async () => {
  const s = await start((await freshPgUrl()) ?? ':memory:', { bundleStreamBytes: 1024, bundleSpoolBytes: 1024 })
  try {
    const key = testKey(22)
    const json = { ...s.h, 'content-type': 'application/json' }
    await fetch(`${s.url}/v1/keys`, { method: 'POST', headers: json, body: JSON.stringify({ keyFile: key.toKeyFile() }) })
    const c = (await (await fetch(`${s.url}/v1/cases`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'over budget', keyId: key.keyId }) })).json()) as { id: string }
    const samples = Array.from({ length: 20 }, (_, i) => ({ text: plainText(120, i) }))
    expect((await fetch(`${s.url}/v1/cases/${c.id}/samples`, { method: 'POST', headers: json, body: JSON.stringify({ samples }) })).status).toBe(200)
    const publicKey = parsePublicKey(await (await fetch(`${s.url}/v1/signing-key`, { headers: s.h })).text())
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${s.url}/v1/cases/${c.id}/bundle`, { headers: s.h })
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect(bytes.byteLength).toBeGreaterThan(1024)
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(res.headers.get('x-tokenmark-bundle-sha256'))
      expect(verify(bytes, { publicKey }).valid).toBe(true)
      expect(s.app.evidence.cached()).toMatchObject({ bundles: 0, files: 0 })
    }
    expect((await fetch(`${s.url}/v1/cases/${c.id}/report`, { headers: { ...s.h, accept: 'application/json' } })).status).toBe(200)
    expect(s.app.evidence.cached().files).toBe(0)
  } finally {
    await s.app.close()
  }
})
