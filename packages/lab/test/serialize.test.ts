import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { LabError, cachedReferenceModel, loadModel, loadModelFile, saveModel, saveModelFile } from '@tokenmark/lab'
import { byteCodec, smallByteModel } from './helpers.js'

describe('model serialization (MessagePack)', () => {
  it('round-trips to bit-identical logits, log-probs and statistics', () => {
    const { model, heldout } = smallByteModel()
    const bytes = saveModel(model, { tokenizer: 'bytes' })
    const { model: back, tokenizer } = loadModel(bytes)
    expect(tokenizer).toBe('bytes')
    expect(back.stats()).toEqual(model.stats())
    const seq = heldout[0]
    for (let i = 0; i < 60; i += 7) {
      const ctx = seq.subarray(Math.max(0, i - 3), i)
      const [a, b] = [back.logits(ctx), model.logits(ctx)]
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true)
    }
    expect(back.perplexity(heldout[1])).toBe(model.perplexity(heldout[1]))
  })

  it('stores tables as standard msgpack bin that other decoders read', () => {
    const { model } = smallByteModel()
    const doc = decode(saveModel(model)) as { format: string; levels: { childWords: unknown }[] }
    expect(doc.format).toBe('tokenmark-ngram')
    expect(doc.levels[0].childWords).toBeInstanceOf(Uint8Array)
  })

  it('saves to and loads from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-'))
    try {
      const { model } = smallByteModel()
      saveModelFile(join(dir, 'm.tmlm'), model)
      expect(loadModelFile(join(dir, 'm.tmlm')).model.perplexity(Uint32Array.of(72, 101, 108, 108, 111))).toBe(
        model.perplexity(Uint32Array.of(72, 101, 108, 108, 111)),
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('rejects garbage and tampered files with E_MODEL_FORMAT', () => {
    const { model } = smallByteModel()
    const err = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e instanceof LabError ? e.code : 'other'
      }
      return 'none'
    }
    expect(err(() => loadModel(Uint8Array.of(1, 2, 3)))).toBe('E_MODEL_FORMAT')
    expect(err(() => loadModel(new TextEncoder().encode('{"format":"x"}')))).toBe('E_MODEL_FORMAT')
    const bytes = saveModel(model)
    const cut = bytes.slice(0, bytes.length - 100)
    expect(err(() => loadModel(cut))).toBe('E_MODEL_FORMAT')
  })

  it('caches the reference model: trains once, then loads; retrains for another order or a corrupt file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-'))
    try {
      const codec = { ...byteCodec(), name: 'bytes' }
      const path = join(dir, 'cache', 'ref.tmlm')
      const first = cachedReferenceModel(codec, path, { part: 'prompts', order: 3 })
      const second = cachedReferenceModel(codec, path, { part: 'prompts', order: 3 })
      expect([first.source, second.source]).toEqual(['trained', 'cache'])
      expect(second.model.stats()).toEqual(first.model.stats())
      expect(cachedReferenceModel(codec, path, { part: 'prompts', order: 2 }).source).toBe('trained')
      writeFileSync(path, 'garbage')
      expect(cachedReferenceModel(codec, path, { part: 'prompts', order: 2 }).source).toBe('trained')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
