import { describe, expect, test } from 'vitest'
import { generateKey, keyFromSecret, parseKeyFile, TokenmarkError, toBase64Url, WatermarkKey } from '@tokenmark/core'
import { inspect } from 'node:util'

const secret = Uint8Array.from({ length: 32 }, (_, i) => 255 - i)
const b64 = toBase64Url(secret)

function expectCode(fn: () => unknown, code: string): TokenmarkError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(TokenmarkError)
    expect((e as TokenmarkError).code).toBe(code)
    expect((e as Error).message).not.toContain(b64)
    expect((e as Error).message).not.toContain(b64.slice(0, 12))
    return e as TokenmarkError
  }
  throw new Error(`expected ${code}`)
}

describe('keys', () => {
  test('generateKey draws fresh secrets and fills the scheme defaults', () => {
    const a = generateKey({ scheme: 'kgw' })
    const b = generateKey({ scheme: 'kgw' })
    expect(a.keyId).not.toBe(b.keyId)
    expect(a.config.params).toEqual({ gamma: 0.25, delta: 2, seeding: 'lefthash', context: 1 })
    expect(a.config.tokenizer).toBe('o200k_base')
    expect(a.keyId).toMatch(/^tmk_[0-9a-f]{16}$/)
    expect(a.commitment).toMatch(/^[0-9a-f]{64}$/)
  })

  test('sub-keys depend on the configuration: one secret never serves two configurations', () => {
    const k1 = keyFromSecret(secret, { scheme: 'kgw' })
    const k2 = keyFromSecret(secret, { scheme: 'kgw', params: { gamma: 0.5 } })
    const k3 = keyFromSecret(secret, { scheme: 'gumbel' })
    const subs = [k1, k2, k3].map((k) => Buffer.from(k.deriveSubkey('prf')).toString('hex'))
    expect(new Set(subs).size).toBe(3)
    expect(new Set([k1, k2, k3].map((k) => k.commitment)).size).toBe(3)
  })

  test('key file round-trips and never shows the secret in JSON or inspect', () => {
    const k = keyFromSecret(secret, { scheme: 'synthid', params: { layers: 20 } })
    const text = k.toKeyFile(new Date('2026-01-01T00:00:00Z'))
    expect(text).toContain(b64)
    const back = parseKeyFile(text)
    expect(back.keyId).toBe(k.keyId)
    expect(back.config).toEqual(k.config)
    expect(JSON.stringify(k)).not.toContain(b64)
    expect(inspect(k)).not.toContain(b64)
    expect(Object.keys(k).join()).not.toContain('secret')
  })

  test('commitment opens only with the right key', () => {
    const k = keyFromSecret(secret, { scheme: 'kgw' })
    expect(k.matchesCommitment(k.commitment)).toBe(true)
    expect(generateKey({ scheme: 'kgw' }).matchesCommitment(k.commitment)).toBe(false)
  })

  const good = (): Record<string, unknown> => JSON.parse(keyFromSecret(secret, { scheme: 'kgw' }).toKeyFile())
  const variants: [string, (f: Record<string, unknown>) => unknown, string][] = [
    ['not JSON', () => '{"format":', 'E_KEY_FORMAT'],
    ['an array', () => [], 'E_KEY_FORMAT'],
    ['wrong format tag', (f) => ({ ...f, format: 'other' }), 'E_KEY_FORMAT'],
    ['wrong version', (f) => ({ ...f, version: 2 }), 'E_KEY_VERSION'],
    ['version as string', (f) => ({ ...f, version: '1' }), 'E_KEY_VERSION'],
    ['missing secret', (f) => ({ ...f, secret: undefined }), 'E_KEY_FIELD'],
    ['missing params', (f) => ({ ...f, params: undefined }), 'E_KEY_FIELD'],
    ['missing keyId', (f) => ({ ...f, keyId: undefined }), 'E_KEY_FIELD'],
    ['unknown field', (f) => ({ ...f, extra: 1 }), 'E_KEY_FIELD'],
    ['secret not base64url', (f) => ({ ...f, secret: b64.slice(0, 40) + '+/=' }), 'E_KEY_FIELD'],
    ['secret too short', (f) => ({ ...f, secret: toBase64Url(secret.subarray(0, 16)) }), 'E_KEY_LENGTH'],
    ['secret too long', (f) => ({ ...f, secret: toBase64Url(new Uint8Array(33)) }), 'E_KEY_LENGTH'],
    ['unknown scheme', (f) => ({ ...f, scheme: 'nope' }), 'E_UNKNOWN_SCHEME'],
    ['bad parameter', (f) => ({ ...f, params: { ...(f.params as object), gamma: 2 } }), 'E_BAD_PARAM'],
    ['unknown parameter', (f) => ({ ...f, params: { ...(f.params as object), zeta: 1 } }), 'E_BAD_PARAM'],
    ['edited parameter', (f) => ({ ...f, params: { ...(f.params as object), gamma: 0.5 } }), 'E_KEY_MISMATCH'],
    ['edited commitment', (f) => ({ ...f, commitment: '0'.repeat(64) }), 'E_KEY_MISMATCH'],
    ['edited keyId', (f) => ({ ...f, keyId: 'tmk_0000000000000000' }), 'E_KEY_MISMATCH'],
    ['bad date', (f) => ({ ...f, created: 'yesterday' }), 'E_KEY_FIELD'],
    ['params not object', (f) => ({ ...f, params: 'x' }), 'E_KEY_FIELD'],
  ]
  test.each(variants)('rejects a key file with %s by a typed error without the secret', (_name, mutate, code) => {
    const v = mutate(good())
    const text = typeof v === 'string' ? v : JSON.stringify(v)
    expectCode(() => parseKeyFile(text), code)
  })

  test('constructor rejects a secret of the wrong length', () => {
    expectCode(() => new WatermarkKey(new Uint8Array(31), { scheme: 'kgw', params: {}, tokenizer: 'o200k_base' }), 'E_KEY_LENGTH')
  })
})
