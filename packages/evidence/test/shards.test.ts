/**
 * Bundles made from a sharded scan's parts (version 3): they record the parts' heads, hashes and Merkle
 * root, refuse parts that are not a scan of the bundle's texts, and verify checks the record against the
 * statistics, the key and (with the key and texts) the corpus digest. Version-2 bundles are untouched.
 */
import { describe, expect, it } from 'vitest'
import { merkleRoot, PART_HEAD, ShardScanner, shardPartHash, shardPartToBytes, type WatermarkKey } from '@tokenmark/core'
import { createBundle, createEvidence, EvidenceError, openBundle, renderReport, sealBundle, verify } from '@tokenmark/evidence'
import { corpus, otherKey, signer, watermarkKey } from './fixtures.js'

const created = new Date('2026-11-28T12:00:00Z')
const prompts = ['the old man and the sea']
const texts = corpus(6, 50, 21, watermarkKey).map((text, i) => ({ text, id: `t${i}`, ...(i % 2 === 0 ? { prompt: 'the whale and the ship' } : {}) }))

/** `scan --shard i/S --out` for each i, in the order a batch system might hand them back. */
function parts(key: WatermarkKey, items: { text: string; prompt?: string }[], count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => {
    const sc = new ShardScanner(key, { index: count - 1 - k, count }, { prompts })
    for (const t of items) sc.add(t.text, t.prompt === undefined ? {} : { prompt: t.prompt })
    return shardPartToBytes(sc.part())
  })
}

const statuses = (r: ReturnType<typeof verify>) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]))

describe('bundles naming a sharded scan', () => {
  const ps = parts(watermarkKey, texts, 3)
  const bundle = createBundle(watermarkKey, texts, signer, { created, prompts, shards: ps })
  const body = openBundle(bundle).body

  it('records the Merkle root and each part by shard index (version 3), and verify checks them', () => {
    expect(body.version).toBe(3)
    const byIndex = [...ps].reverse()
    expect(body.shards?.parts.map((p) => p.sha256)).toEqual(byIndex.map((b) => shardPartHash(b)))
    expect(body.shards?.merkleRoot).toBe(merkleRoot(byIndex.map((b) => shardPartHash(b))))
    expect(body.shards?.parts[0].head).toEqual(byIndex[0].subarray(0, PART_HEAD))
    const full = verify(bundle, { publicKey: signer.publicKey, watermarkKey })
    expect(statuses(full)).toMatchObject({ recompute: 'pass', shards: 'pass' })
    expect(full.checks.find((c) => c.id === 'shards')?.message).toMatch(/its statistic and its texts' corpus digest$/)
    const noKey = verify(bundle, { publicKey: signer.publicKey })
    expect(statuses(noKey).shards).toBe('pass')
    expect(noKey.checks.find((c) => c.id === 'shards')?.message).toMatch(/not compared: the statistic/)
  })

  it('the report names the Merkle root and the parts it merged', () => {
    const md = renderReport(bundle, { format: 'md', publicKey: signer.publicKey, watermarkKey })
    expect(md).toContain(body.shards?.merkleRoot as string)
    for (const p of body.shards?.parts ?? []) expect(md).toContain(p.sha256)
  })

  it('refuses parts that are not a scan of these texts, with the key, or with these settings', () => {
    const refuse = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e instanceof EvidenceError ? e.message : `not an EvidenceError: ${(e as Error).message}`
      }
      return 'no error'
    }
    expect(refuse(() => createEvidence(watermarkKey, texts.slice(1), signer, { prompts, shards: ps }))).toMatch(/not a scan of these texts: .*corpus digests differ/)
    expect(refuse(() => createEvidence(watermarkKey, texts, signer, { prompts, normalize: false, shards: ps }))).toMatch(/another tokenizer, normalisation or emission filter/)
    expect(refuse(() => createEvidence(watermarkKey, texts, signer, { prompts, shards: parts(otherKey, texts, 3) }))).toMatch(/different key/)
    expect(refuse(() => createEvidence(watermarkKey, texts, signer, { prompts, shards: ps.slice(1) }))).toMatch(/missing/)
  })

  it('a body whose statistics do not add up to its parts fails verification (re-signed, so only the shards check can catch it)', () => {
    const forged = createEvidence(watermarkKey, texts, signer, { created, prompts, shards: ps })
    const other = createEvidence(watermarkKey, texts.slice(0, 4), signer, { created, prompts, shards: parts(watermarkKey, texts.slice(0, 4), 3) })
    forged.shards = other.shards
    const r = verify(sealBundle(forged, signer), { publicKey: signer.publicKey, watermarkKey })
    expect(statuses(r).shards).toBe('fail')
    expect(r.checks.find((c) => c.id === 'shards')?.message).toMatch(/corpus digests differ|add up to/)
  })

  it('bundles without parts stay version 2, with no shards field', () => {
    const plain = openBundle(createBundle(watermarkKey, texts, signer, { created, prompts })).body
    expect(plain.version).toBe(2)
    expect('shards' in plain).toBe(false)
  })
})
