/** Small fixtures generated from code: a byte-level codec and models trained on a few chapters. */
import { NGramModel, corpusPart, type TextCodec } from '@tokenmark/lab'

/** UTF-8 bytes as token ids: a real, lossless tokenizer with a 256-id vocabulary. */
export function byteCodec(vocabSize = 256): TextCodec {
  const enc = new TextEncoder()
  const dec = new TextDecoder()
  return {
    vocabSize,
    encode: (text) => Uint32Array.from(enc.encode(text)),
    decode: (ids) => dec.decode(Uint8Array.from(Array.from({ length: ids.length }, (_, i) => ids[i]))),
  }
}

let cached: { model: NGramModel; codec: TextCodec; train: Uint32Array[]; heldout: Uint32Array[] } | undefined

/**
 * An order-4 byte model over the first 12 teacher chapters, with vocabSize 200,019 (o200k_base's) so the
 * full-vocabulary paths run at their real size; held-out = the first 4 heldout chapters.
 */
export function smallByteModel() {
  if (cached) return cached
  const codec = byteCodec(200_019)
  const train = corpusPart('teacher').slice(0, 12).map((t) => codec.encode(t))
  const heldout = corpusPart('heldout').slice(0, 4).map((t) => codec.encode(t))
  cached = { model: NGramModel.train(train, { order: 4, vocabSize: codec.vocabSize }), codec, train, heldout }
  return cached
}
