/**
 * Small corpora generated from code: a 60-word vocabulary of single o200k tokens (" the", " whale", ...)
 * so decoded text re-tokenizes to the same ids, a uniform "model" over it, and core's own KGW
 * sampler to watermark. Seeded; no files.
 */
import { getTokenizer, keyFromSecret, seededRng, watermarkSampler, type WatermarkKey } from '@tokenmark/core'
import { SigningKey } from '@tokenmark/evidence'

const WORDS = (
  'the whale sea ship captain old man boat water deep long day night wind storm sail crew harbor ' +
  'island light dark cold warm great small far near black white grey blue green red wave shore rope ' +
  'deck mast iron wood stone fire smoke bird fish hand eye heart voice song dream home road town ' +
  'river hill field'
).split(' ')

const tokenizer = getTokenizer('o200k_base')
let vocab: Uint32Array | undefined

/** Ids of " word" for the words that are one token. */
export function wordIds(): Uint32Array {
  if (!vocab) {
    const ids: number[] = []
    for (const w of WORDS) {
      const t = tokenizer.encode(' ' + w)
      if (t.length === 1 && !ids.includes(t[0])) ids.push(t[0])
    }
    vocab = Uint32Array.from(ids)
  }
  return vocab
}

export const secret = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + n * 17 + 5) & 0xff)
export const watermarkKey: WatermarkKey = keyFromSecret(secret(1), { scheme: 'kgw', params: { gamma: 0.25, delta: 2.5 }, tokenizer: 'o200k_base' })
export const otherKey: WatermarkKey = keyFromSecret(secret(2), { scheme: 'kgw', params: { gamma: 0.25, delta: 2.5 }, tokenizer: 'o200k_base' })
export const signer = new SigningKey(secret(3))
export const otherSigner = new SigningKey(secret(4))

/** `count` texts of `length` words; watermarked with `key` when given, plain uniform sampling otherwise. */
export function corpus(count: number, length: number, seed: number, key?: WatermarkKey): string[] {
  const ids = wordIds()
  const logits = new Float32Array(tokenizer.vocabSize).fill(-Infinity)
  for (const id of ids) logits[id] = 0
  const rng = seededRng(seed)
  const sample = key ? watermarkSampler(key, { topK: ids.length }, rng) : (_l: Float32Array, _c: Uint32Array) => ids[Math.floor(rng.nextFloat() * ids.length)]
  const out: string[] = []
  for (let t = 0; t < count; t++) {
    const seq = new Uint32Array(length)
    for (let i = 0; i < length; i++) seq[i] = sample(logits, seq.subarray(0, i))
    out.push(tokenizer.decode(seq).trimStart())
  }
  return out
}
