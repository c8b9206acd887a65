/**
 * Texts as users send them (issue 11 §3): a leading byte-order mark, NUL, CRLF, mixed scripts, empty
 * lines, long and short — the canonical bundle round trip is the identity and verification passes.
 * Lone surrogates have no UTF-8 form and are refused at intake, naming the text.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NO_DEDUP_WARNING } from '@tokenmark/core'
import { createBundle, createEvidence, decodeCanonical, encodeCanonical, EvidenceError, openBundle, signedMessage, verify, EVIDENCE_FORMAT, type Canonical } from '@tokenmark/evidence'
import { corpus, signer, watermarkKey } from './fixtures.js'

const created = new Date('2026-11-28T12:00:00Z')
const words = corpus(1, 80, 5, watermarkKey)[0]

/** Pieces of text that broke bundles or are easy to get wrong. */
const piece = fc.constantFrom('\uFEFF', '\0', '\r\n', '\n\n', '', ' ', 'Привет мир', '東京の空', 'مرحبا', '👩🏽‍💻', 'ｆｕｌｌ', 'e\u0301', '\t', words.slice(0, 200))
const textArb = fc.array(piece, { minLength: 1, maxLength: 12 }).map((xs) => xs.join(''))

describe('texts as users send them', () => {
  it('a BOM-led text over 200 bytes survives the canonical round trip (the decoder kept dropping it)', () => {
    const text = '\uFEFF' + words
    const b = createBundle(watermarkKey, [{ text, prompt: '\uFEFF' + words.slice(0, 300) }], signer, { created, case: { title: 't', description: '\uFEFF' + 'd'.repeat(300) } })
    const body = openBundle(b).body
    expect(body.inputs.items[0].text).toBe(text)
    expect(body.case.description.startsWith('\uFEFF')).toBe(true)
    expect(verify(b, { publicKey: signer.publicKey, watermarkKey }).valid).toBe(true)
  })

  it('canonical round trip is the identity and verification passes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ text: textArb, prompt: fc.option(textArb, { nil: undefined }) }), { minLength: 1, maxLength: 3 }), (texts) => {
        const items = texts.map((t, i) => ({ text: t.text, id: `t${i}`, ...(t.prompt !== undefined ? { prompt: t.prompt } : {}) }))
        const body = createEvidence(watermarkKey, items, signer, { created })
        const bytes = encodeCanonical(body as unknown as Canonical)
        expect(decodeCanonical(bytes, 'body')).toEqual(body)
        const b = createBundle(watermarkKey, items, signer, { created })
        const opened = openBundle(b).body
        opened.inputs.items.forEach((it, i) => {
          expect(it.text).toBe(items[i].text)
          expect(it.prompt).toBe(items[i].prompt)
        })
        const r = verify(b, { publicKey: signer.publicKey, watermarkKey })
        expect(r.checks.filter((c) => c.status === 'fail')).toEqual([])
      }),
      { seed: 11, numRuns: 25 },
    )
  })

  it('refuses a lone surrogate at intake, naming the text', () => {
    for (const bad of ['abc\uD800def', '\uDC00', 'x\uDBFF']) {
      expect(() => createBundle(watermarkKey, [{ text: words }, { text: bad }], signer, { created })).toThrow(EvidenceError)
      expect(() => createBundle(watermarkKey, [{ text: words }, { text: bad }], signer, { created })).toThrow(/corpus text 2 is not well-formed Unicode/)
    }
  })

  it('refuses malformed UTF-8 in a bundle instead of replacing it', () => {
    // fixstr of length 2 holding an invalid sequence.
    expect(() => decodeCanonical(Uint8Array.from([0xa2, 0xc3, 0x28]), 'x')).toThrow(/not valid MessagePack/)
  })
})

describe('format versions', () => {
  it('reads a version-1 bundle: valid follows de-duplication, and a v1 detection without it is withdrawn', () => {
    for (const dedup of [true, false]) {
      const v2 = createEvidence(watermarkKey, [{ text: words }, { text: words }], signer, { created, dedup })
      const { valid: _v, warnings: _w, ...result } = v2.result
      const v1 = { ...v2, version: 1, result: { ...result, detected: true } }
      const bodyBytes = encodeCanonical(v1 as unknown as Canonical)
      const bytes = encodeCanonical({ body: bodyBytes, format: EVIDENCE_FORMAT, signature: signer.sign(signedMessage(bodyBytes)), version: 1 })
      const body = openBundle(bytes).body
      expect(body.version).toBe(1)
      expect(body.result.valid).toBe(dedup)
      expect(body.result.detected).toBe(dedup)
      expect(body.result.warnings).toEqual(dedup ? [] : [NO_DEDUP_WARNING])
      expect(verify(bytes, { publicKey: signer.publicKey }).valid).toBe(true)
    }
  })
})
