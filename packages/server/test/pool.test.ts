/** The detection worker pool (BUILT code: workers load dist/detect-worker.js) agrees with inline detect. */
import { detect, TokenmarkError } from '@tokenmark/core'
import { expect, test } from 'vitest'
import { DetectPool, detectWork } from '../dist/detect-pool.js'
import { plainText, testKey, watermarkedText } from './helpers.js'

test('pooled detection replies with the JSON of what detect() returns, spreads over workers, and carries core errors back', async () => {
  const pool = new DetectPool(2)
  try {
    const key = testKey(8)
    const other = testKey(9)
    const texts = [watermarkedText(key, 120, 1), plainText(120, 2)]
    const refs = [{ ref: 't\0a', key }, { ref: 't\0b', key: other }]
    const runs = await Promise.all([0, 1, 2, 3].map(() => pool.run(refs, texts, { window: true }, true)))
    // The reply schema names every field detect() returns: nothing is dropped on the way out.
    const want = JSON.parse(JSON.stringify(texts.map((text) => detect({ text, keys: [key, other], window: true }))))
    for (const r of runs) expect(JSON.parse(r)).toEqual({ results: want })
    expect(JSON.parse(runs[0]).results[0].detected).toBe(true)
    // One text: the result itself, from a worker and inline alike.
    const inline = new DetectPool(0)
    const one = [await pool.run(refs, texts.slice(0, 1), {}, false), await inline.run(refs, texts.slice(0, 1), {}, false)]
    for (const r of one) expect(JSON.parse(r)).toEqual(JSON.parse(JSON.stringify(detect({ text: texts[0], keys: [key, other] }))))
    const err = await Promise.resolve(pool.run([{ ref: 't\0a', key }], ['x'], { alpha: 2 }, false)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as TokenmarkError).code).toBe('E_BAD_PARAM')
  } finally {
    await pool.close()
  }
})

test('detections within the inline bound run on the event loop; larger batches go to workers in chunks, one task per chunk, with the same replies', async () => {
  const key = testKey(8)
  const refs = [{ ref: 't\0a', key }]
  const texts = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? watermarkedText(key, 120, i) : plainText(120, i)))
  const bytes = texts.map((t) => Buffer.byteLength(t))
  const pool = new DetectPool(1, { inlineWork: bytes[0], chunkWork: 4 * Math.max(...bytes) })
  try {
    const want = (ts: string[], opts = {}) => JSON.parse(JSON.stringify(ts.map((text) => detect({ text, keys: [key], ...opts }))))
    // One text within the bound: inline, no worker task.
    expect(JSON.parse(await pool.run(refs, texts.slice(0, 1), {}, false))).toEqual(want(texts.slice(0, 1))[0])
    expect(pool.stats()).toMatchObject({ inline: 1, tasks: { detect: 1 } })
    // The same text with a window search doubles its work estimate: past the bound, to a worker.
    expect(detectWork(bytes[0], 1, { window: true })).toBe(2 * bytes[0])
    expect(JSON.parse(await pool.run(refs, texts.slice(0, 1), { window: true }, false))).toEqual(want(texts.slice(0, 1), { window: true })[0])
    expect(pool.stats()).toMatchObject({ inline: 1, tasks: { detect: 2 } })
    // Twelve texts, at most four per chunk by work: three or four tasks, not twelve; results in input order.
    expect(JSON.parse(await pool.run(refs, texts, {}, true))).toEqual({ results: want(texts) })
    const tasks = pool.stats().tasks.detect - 2
    expect(tasks).toBeGreaterThanOrEqual(3)
    expect(tasks).toBeLessThanOrEqual(4)
    // A core error from the inline path is thrown at once (the route turns it into the error reply), as a worker's rejects.
    expect(() => pool.run(refs, ['x'], { alpha: 2 }, false)).toThrow(expect.objectContaining({ code: 'E_BAD_PARAM' }))
  } finally {
    await pool.close()
  }
})
