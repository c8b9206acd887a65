/** The detection worker pool (BUILT code: workers load dist/detect-worker.js) agrees with inline detect. */
import { detect, TokenmarkError } from '@tokenmark/core'
import { expect, test } from 'vitest'
import { DetectPool } from '../dist/detect-pool.js'
import { plainText, testKey, watermarkedText } from './helpers.js'

test('pooled detection returns what detect() returns, spreads over workers, and carries core errors back', async () => {
  const pool = new DetectPool(2)
  try {
    const key = testKey(8)
    const other = testKey(9)
    const texts = [watermarkedText(key, 120, 1), plainText(120, 2)]
    const runs = await Promise.all([0, 1, 2, 3].map(() => pool.run([{ ref: 't\0a', key }, { ref: 't\0b', key: other }], texts, { window: true })))
    const want = JSON.parse(JSON.stringify(texts.map((text) => detect({ text, keys: [key, other], window: true }))))
    for (const r of runs) expect(JSON.parse(JSON.stringify(r))).toEqual(want)
    expect(runs[0][0].detected).toBe(true)
    const err = await pool.run([{ ref: 't\0a', key }], ['x'], { alpha: 2 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as TokenmarkError).code).toBe('E_BAD_PARAM')
  } finally {
    await pool.close()
  }
})
