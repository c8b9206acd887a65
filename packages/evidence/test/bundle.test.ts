import { describe, expect, it } from 'vitest'
import { EmissionFilter, getTokenizer, keyFromSecret, prepareKey, schemeIds } from '@tokenmark/core'
import {
  createBundle,
  createEvidence,
  encodeCanonical,
  EvidenceError,
  openBundle,
  parsePublicKey,
  parseSigningKeyFile,
  readEvidenceBody,
  sealBundle,
  SigningKey,
  verify,
  renderReport,
  buildReport,
  type Canonical,
} from '@tokenmark/evidence'
import { corpus, otherKey, otherSigner, secret, signer, watermarkKey } from './fixtures.js'

const created = new Date('2026-11-28T12:00:00Z')
const marked = corpus(8, 60, 11, watermarkKey).map((text, i) => ({ text, id: `suspect-${i + 1}` }))
const plain = corpus(8, 60, 12).map((text, i) => ({ text, id: `plain-${i + 1}` }))
const bundle = createBundle(watermarkKey, marked, signer, { created, case: { title: 'Acme v. Example' }, notes: 'collected 2026-11-01' })

const statuses = (r: ReturnType<typeof verify>) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]))

describe('evidence bundles', () => {
  it('finds the watermark in a watermarked corpus and every check passes with both keys', () => {
    const r = verify(bundle, { publicKey: signer.publicKey, watermarkKey })
    expect(statuses(r)).toEqual({ format: 'pass', signer: 'pass', signature: 'pass', inputs: 'pass', commitment: 'pass', recompute: 'pass' })
    expect(r.valid).toBe(true)
    const body = r.body!
    expect(body.result.detected).toBe(true)
    expect(body.result.log10P).toBeLessThan(-6)
    expect(body.statistics.tokensScored).toBeGreaterThan(300)
    expect(body.inputs.items).toHaveLength(8)
    expect(body.cumulative).toHaveLength(8)
    expect(body.excerpts.length).toBe(3)
    expect(body.key.commitment).toBe(watermarkKey.commitment)
    expect(body.excerpts[0].pieces.join('')).toContain(body.inputs.items[body.excerpts[0].input].text!.slice(0, 0))
  })

  it('never holds the watermark secret', () => {
    const hay = Buffer.from(bundle).toString('latin1')
    for (const s of [secret(1), watermarkKey.deriveSubkey('prf', 16)]) expect(hay.includes(Buffer.from(s).toString('latin1'))).toBe(false)
    expect(Buffer.from(bundle).toString('utf8')).not.toContain(Buffer.from(secret(1)).toString('base64url'))
  })

  it('does not detect the watermark in unwatermarked text, and still verifies', () => {
    const b = createBundle(watermarkKey, plain, signer, { created })
    const r = verify(b, { publicKey: signer.publicKey, watermarkKey })
    expect(r.valid).toBe(true)
    expect(r.body!.result.detected).toBe(false)
    expect(r.body!.result.log10P).toBeGreaterThan(-3)
  })

  it('is reproducible: the same inputs and time give the same bytes', () => {
    expect(Buffer.from(createBundle(watermarkKey, marked, signer, { created, case: { title: 'Acme v. Example' }, notes: 'collected 2026-11-01' })).equals(Buffer.from(bundle))).toBe(true)
  })

  it('without the watermark key checks signature and hashes, and says what it skipped', () => {
    const r = verify(bundle, { publicKey: signer.publicKey })
    expect(r.valid).toBe(true)
    expect(statuses(r)).toMatchObject({ commitment: 'skip', recompute: 'skip' })
    expect(r.checks.find((c) => c.id === 'recompute')!.message).toMatch(/no watermark key/)
  })

  it('fails with the wrong public key, naming both signers', () => {
    const r = verify(bundle, { publicKey: otherSigner.publicKey })
    expect(r.valid).toBe(false)
    const signerCheck = r.checks.find((c) => c.id === 'signer')!
    expect(signerCheck.status).toBe('fail')
    expect(signerCheck.message).toContain(signer.signerId)
    expect(signerCheck.message).toContain(otherSigner.signerId)
    expect(r.checks.find((c) => c.id === 'signature')!.status).toBe('fail')
  })

  it('fails the commitment check with a different watermark key and does not recompute', () => {
    const r = verify(bundle, { publicKey: signer.publicKey, watermarkKey: otherKey })
    expect(r.valid).toBe(false)
    expect(r.checks.find((c) => c.id === 'commitment')!.message).toMatch(/does not open the recorded commitment/)
    expect(r.checks.find((c) => c.id === 'recompute')!.status).toBe('skip')
  })

  it('recomputation catches numbers that do not follow from the texts, even when properly signed', () => {
    const body = openBundle(bundle).body
    const forged = { ...body, result: { ...body.result, log10P: body.result.log10P - 5 }, statistics: { ...body.statistics, value: body.statistics.value + 7 } }
    const r = verify(sealBundle(forged, signer), { publicKey: signer.publicKey, watermarkKey })
    expect(statuses(r)).toMatchObject({ signature: 'pass', recompute: 'fail' })
    const rc = r.checks.find((c) => c.id === 'recompute')!
    expect(rc.message).toMatch(/statistics\.value: recorded \d+, recomputed \d+/)
    expect(rc.differences!.map((d) => d.path)).toEqual(expect.arrayContaining(['statistics.value', 'result.log10P']))
  })

  it('a text swapped and re-signed by someone else fails the signer check; swapped without re-signing fails hash and signature', () => {
    const body = openBundle(bundle).body
    const items = body.inputs.items.map((it, i) => (i === 2 ? { ...it, text: it.text + ' extra' } : it))
    const altered = { ...body, inputs: { ...body.inputs, items } }
    const resigned = sealBundle({ ...altered, signer: { id: otherSigner.signerId, publicKey: otherSigner.publicKey } }, otherSigner)
    const r1 = verify(resigned, { publicKey: signer.publicKey })
    expect(statuses(r1)).toMatchObject({ signer: 'fail', signature: 'fail', inputs: 'fail' })
    expect(r1.checks.find((c) => c.id === 'inputs')!.message).toMatch(/input 3 \(id "suspect-3"\): text does not match its recorded SHA-256/)
  })

  it('a bundle without inputs keeps the hashes, quotes no text, and says recomputation was not possible', () => {
    const b = createBundle(watermarkKey, marked, signer, { created, includeInputs: false })
    const text = Buffer.from(b).toString('utf8')
    for (const m of marked) expect(text).not.toContain(m.text.slice(0, 40))
    const r = verify(b, { publicKey: signer.publicKey, watermarkKey })
    expect(r.valid).toBe(true)
    expect(statuses(r)).toMatchObject({ inputs: 'skip', commitment: 'pass', recompute: 'skip' })
    expect(r.body!.excerpts).toEqual([])
  })

  it('excludes prompt tuples and records the prompts', () => {
    const prompts = [marked[0].text.slice(0, 120)]
    const b = createBundle(watermarkKey, marked, signer, { created, prompts })
    const r = verify(b, { publicKey: signer.publicKey, watermarkKey })
    expect(r.valid).toBe(true)
    expect(r.body!.statistics.excluded).toBeGreaterThan(5)
    expect(r.body!.prompts.items[0].text).toBe(prompts[0])
  })

  it.each(schemeIds().filter((id) => id !== 'kgw'))('works for the %s scheme: detected, fully verified, report renders', (scheme) => {
    const key = keyFromSecret(secret(5), { scheme, tokenizer: 'o200k_base' })
    const texts = corpus(4, 60, 51, key).map((text) => ({ text }))
    const b = createBundle(key, texts, signer, { created })
    const r = verify(b, { publicKey: signer.publicKey, watermarkKey: key })
    expect(statuses(r)).toMatchObject({ signature: 'pass', commitment: 'pass', recompute: 'pass' })
    // unigram has no context: with de-duplication each distinct token of this 60-word vocabulary counts once
    if (scheme === 'unigram') expect(r.body!.statistics.tokensScored).toBeLessThanOrEqual(60)
    else expect(r.body!.result.log10P).toBeLessThan(-6)
    expect(renderReport(b, { format: 'html' })).toContain('id="plot-cumulative"')
    expect(buildReport(b).legend.kind).toBe(scheme === 'unigram' ? 'bits' : 'scale')
  })

  it('records the emission filter, recomputes with it from the bundle, and a bundle without inputs asks for it', () => {
    const filter = new EmissionFilter({ capacity: 2000 })
    const tk = getTokenizer('o200k_base')
    // the provider served only the first half of the suspect texts
    for (const m of marked.slice(0, 4)) filter.recordResponse(prepareKey(watermarkKey), tk.encode(m.text))
    const b = createBundle(watermarkKey, marked, signer, { created, filter, filterDescription: 'served 2026-10' })
    const r = verify(b, { publicKey: signer.publicKey, watermarkKey })
    expect(statuses(r)).toMatchObject({ inputs: 'pass', recompute: 'pass' })
    // with a 60-word vocabulary and one token of context, half the texts already cover most contexts
    expect(r.body!.statistics.filtered).toBeGreaterThan(0)
    expect(r.body!.filter).toMatchObject({ description: 'served 2026-10', contexts: filter.added })
    const without = createBundle(watermarkKey, marked, signer, { created, filter, includeInputs: false })
    expect(verify(without, { publicKey: signer.publicKey, watermarkKey }).checks.find((c) => c.id === 'recompute')!.status).toBe('skip')
  })

  it('rejects a body field that is not part of the format, and a wrong type, naming the field', () => {
    const body = openBundle(bundle).body
    expect(() => readEvidenceBody({ ...body, extra: 1 })).toThrow(/body\.extra is not part of this format version/)
    expect(() => readEvidenceBody({ ...body, statistics: { ...body.statistics, tokensScored: -1 } })).toThrow(/body\.statistics\.tokensScored must be a whole number/)
    expect(() => encodeCanonical({ x: Number.NaN } as Canonical)).toThrow(EvidenceError)
  })
})

describe('tampering', () => {
  // A small bundle so every byte can be flipped within the time budget.
  const small = createBundle(watermarkKey, marked.slice(0, 2).map((m) => ({ ...m, text: m.text.slice(0, 90) })), signer, { created, excerpts: 1, excerptTokens: 12 })

  it(`any single-byte change anywhere (${small.length} bytes, every position) fails verification with a reason`, () => {
    const reasons = new Set<string>()
    let seed = 3
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8)
    for (let i = 0; i < small.length; i++) {
      // every position gets a different value: low-bit flips, high-bit flips and arbitrary values in turn
      const t = Uint8Array.from(small)
      t[i] = i % 3 === 0 ? t[i] ^ 0x01 : i % 3 === 1 ? t[i] ^ 0x80 : (t[i] + 1 + (next() % 255)) & 0xff
      const r = verify(t, { publicKey: signer.publicKey })
      if (r.valid) throw new Error(`changing byte ${i} was not detected`)
      const failed = r.checks.filter((c) => c.status === 'fail')
      expect(failed.length).toBeGreaterThan(0)
      for (const f of failed) {
        expect(f.message.length).toBeGreaterThan(20)
        reasons.add(f.id)
      }
    }
    expect([...reasons].sort()).toEqual(expect.arrayContaining(['format', 'signature', 'inputs']))
  })

  it('random byte values at random positions, truncation and appended bytes all fail', () => {
    let seed = 7
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8)
    for (let k = 0; k < 300; k++) {
      const t = Uint8Array.from(bundle)
      const i = next() % t.length
      t[i] = (t[i] + 1 + (next() % 255)) & 0xff
      expect(verify(t, { publicKey: signer.publicKey }).valid, `byte ${i}`).toBe(false)
    }
    const cut = verify(bundle.subarray(0, bundle.length - 1), { publicKey: signer.publicKey })
    expect(cut.checks[0]).toMatchObject({ id: 'format', status: 'fail' })
    const longer = new Uint8Array(bundle.length + 1)
    longer.set(bundle)
    expect(verify(longer, { publicKey: signer.publicKey }).checks[0].message).toMatch(/not valid MessagePack/)
  })
})

describe('signing keys', () => {
  it('round-trips the key file, never prints the secret, and reads public keys in three spellings', () => {
    const file = signer.toKeyFile(created)
    const again = parseSigningKeyFile(file)
    expect(again.signerId).toBe(signer.signerId)
    expect(JSON.stringify(signer)).not.toContain(Buffer.from(secret(3)).toString('base64url'))
    expect(parsePublicKey(signer.toPublicKeyFile())).toEqual(signer.publicKey)
    expect(parsePublicKey(Buffer.from(signer.publicKey).toString('hex'))).toEqual(signer.publicKey)
    expect(parsePublicKey(file)).toEqual(signer.publicKey)
    expect(() => parseSigningKeyFile(watermarkKey.toKeyFile())).toThrow(/this is a watermark key/)
    const tampered = JSON.parse(file) as Record<string, string>
    tampered.signerId = 'tms_0000000000000000'
    expect(() => parseSigningKeyFile(JSON.stringify(tampered))).toThrow(/does not match its secret/)
  })

  it('the signer must be the one the body names', () => {
    const body = createEvidence(watermarkKey, marked.slice(0, 1), signer, { created })
    expect(() => sealBundle(body, new SigningKey(secret(9)))).toThrow(/names signer/)
    expect(keyFromSecret).toBeTypeOf('function')
  })
})
