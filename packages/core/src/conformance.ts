/**
 * Conformance vectors (docs/vectors/*.json, docs/spec.md#conformance): fixed secrets, contexts and
 * tokens → sub-keys, seeds, PRF words, green bits, g-values and Gumbel uniforms. Another
 * implementation that reproduces these embeds watermarks tokenmark detects. The test suite
 * regenerates them and compares with the committed files; evidence bundles record their hash.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson, toHex, utf8 } from './bytes.js'
import { keyFromSecret } from './keys.js'
import { sipHashBytes, sipKeyFromBytes, uniformFromWords } from './prf.js'
import { listSchemes } from './schemes/registry.js'
import { prepareKey } from './scoring.js'

const hex64 = (o: Uint32Array) => o[0].toString(16).padStart(8, '0') + o[1].toString(16).padStart(8, '0')

export interface ConformanceVectors {
  siphash: { key: string; vectors: { message: string; tag: string }[] }
  prf: unknown[]
}

export function conformanceVectors(): ConformanceVectors {
  const keyBytes = Uint8Array.from({ length: 16 }, (_, i) => i)
  const sk = sipKeyFromBytes(keyBytes)
  const out = new Uint32Array(2)
  const sip = []
  for (let n = 0; n < 24; n++) {
    const msg = Uint8Array.from({ length: n }, (_, i) => i)
    sipHashBytes(sk, msg, out)
    sip.push({ message: toHex(msg), tag: hex64(out) })
  }

  const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff)
  const contexts = [
    [0, 1, 2, 3, 4, 5],
    [791, 3_000, 12, 200_018, 42, 7],
    [4_294_967_295, 1, 65_536, 99_999, 11, 12],
  ]
  const tokens = [0, 1, 13, 4_096, 199_999, 200_018]
  const configs: { scheme: string; params: Record<string, unknown> }[] = [
    ...listSchemes().map((s) => ({ scheme: s.id, params: {} })),
    { scheme: 'kgw', params: { seeding: 'selfhash', context: 4 } },
    { scheme: 'kgw', params: { gamma: 0.5, context: 3 } },
  ]
  const prf = configs.map((cfg) => {
    const key = keyFromSecret(secret, { ...cfg, tokenizer: 'o200k_base' })
    const pk = prepareKey(key)
    const cases = []
    for (const ctx of contexts) {
      const seq = Uint32Array.from(ctx)
      const pos = seq.length
      const padded = new Uint32Array(pos + 1)
      padded.set(seq)
      pk.prf.setContext(padded, pos)
      for (const tok of tokens) {
        pk.prf.words(tok)
        const w0 = pk.prf.w0
        const w1 = pk.prf.w1
        cases.push({
          context: ctx.slice(pos - pk.prf.need),
          token: tok,
          w0: w0.toString(16).padStart(8, '0'),
          w1: w1.toString(16).padStart(8, '0'),
          observation: pk.scheme.observe(w0, w1),
          r: uniformFromWords(w0, w1),
        })
      }
    }
    return {
      secret: toHex(secret),
      config: key.config,
      canonicalConfig: canonicalJson(key.config),
      prfSubkey: toHex(key.deriveSubkey('prf', 16)),
      commitment: key.commitment,
      keyId: key.keyId,
      statistic: pk.scheme.statistic,
      cases,
    }
  })
  return { siphash: { key: toHex(keyBytes), vectors: sip }, prf }
}

/** SHA-256 (hex) of the canonical JSON of the vectors this build reproduces: recorded in evidence. */
export function conformanceHash(): string {
  return toHex(sha256(utf8(canonicalJson(conformanceVectors()))))
}
