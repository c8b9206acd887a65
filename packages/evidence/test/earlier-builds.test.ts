/**
 * Evidence outlives the build that made it: a bundle signed by an earlier build (committed as bytes in
 * test/data) must verify with this one — signature, commitment and every recomputed number. The bundle
 * here was made on 2026-11-30 from twelve held-out Moby-Dick paragraphs, before tokensNeeded was found
 * to 0.1 % instead of to one token (docs/spec.md, Tokens needed), so its recorded tokensNeeded is another
 * crossing of the same tail than this build finds.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { keyFromSecret } from '@tokenmark/core'
import { SigningKey, analyzeCorpus, openBundle, verify } from '@tokenmark/evidence'

const secret = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + n * 17 + 5) & 0xff)
const key = keyFromSecret(secret(1), { scheme: 'kgw', params: { gamma: 0.25, delta: 2.5 }, tokenizer: 'o200k_base' })
const signer = new SigningKey(secret(3))
const bundle = new Uint8Array(readFileSync(new URL('./data/human-2026-11-30.tmev', import.meta.url)))

describe('bundles made by earlier builds', () => {
  it('verify with this build: every check passes, statistics recomputed', () => {
    const r = verify(bundle, { publicKey: signer.publicKey, watermarkKey: key })
    expect(r.checks.map((c) => [c.id, c.status]).filter(([, s]) => s === 'fail')).toEqual([])
    expect(r.checks.find((c) => c.id === 'recompute')?.status).toBe('pass')
    expect(r.valid).toBe(true)
  })

  it('hold a tokensNeeded this build finds within 1 % (the tolerance verify states), not necessarily equal', () => {
    const { body } = openBundle(bundle)
    const texts = body.inputs.items.map((it) => ({ text: it.text as string, id: it.id }))
    const again = analyzeCorpus(key, texts, { dedup: body.method.dedup, normalize: body.method.normalize, alpha: body.method.alpha })
    const [a, b] = [body.result.tokensNeeded!, again.result.tokensNeeded!]
    expect(a).toBeGreaterThan(1024)
    expect(Math.abs(a - b) / a).toBeLessThan(0.01)
  })
})
