/** CaseSink is shared by concurrent probe workers: every sample must reach the case exactly once. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect, test } from 'vitest'
import { CaseSink } from '../src/probe/case-sink.js'
import type { ProbeSample } from '../src/probe/files.js'

test('concurrent adds and flushes deliver every sample once, in batches', async () => {
  const received: string[] = []
  let inFlight = 0
  let maxInFlight = 0
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      const samples = (JSON.parse(body) as { samples: { idempotencyKey: string }[] }).samples
      // a slow server makes overlapping flushes likely
      setTimeout(() => {
        for (const s of samples) received.push(s.idempotencyKey)
        inFlight--
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ accepted: samples.length, duplicates: 0, case: { samples: received.length, tokensScored: 0, result: { pValue: 1, log10P: 0, detected: false } } }))
      }, 5)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const sink = new CaseSink({ server: url, caseId: 'c1', token: 't', batch: 3 })
  const signal = new AbortController().signal
  const sample = (i: number): ProbeSample => ({ id: `s${i}`, prompt: 'p', text: `t${i}`, model: 'm', endpoint: url, time: '2026-01-01T00:00:00Z', requestId: `r${i}` }) as ProbeSample
  await Promise.all(
    [0, 1, 2, 3].map(async (w) => {
      for (let i = w; i < 40; i += 4) await sink.add(sample(i), signal)
    }),
  )
  await sink.flush(signal)
  server.close()
  expect(received.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `s${i}`).sort())
  expect(sink.sent).toBe(40)
  expect(maxInFlight).toBe(1)
})
