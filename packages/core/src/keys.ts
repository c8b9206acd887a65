/**
 * Watermark keys: 32 secret bytes plus a scheme configuration (docs/spec.md#keys).
 * - PRF sub-key: HKDF-SHA256 (RFC 5869) over the secret, salt "tokenmark/v1", info
 *   "tokenmark/v1/prf\0" + canonical configuration → 16 bytes for SipHash-2-4. One secret never
 *   serves two configurations.
 * - Commitment: SHA-256("tokenmark/v1/commitment\0" ‖ secret ‖ canonical configuration), public.
 *   It binds the provider to the key before a dispute and reveals nothing about the secret.
 * - Key id: "tmk_" + the first 16 hex digits of the commitment.
 * The secret lives in a private field: it is not enumerable, not in JSON, not printed by inspect.
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson, concatBytes, equalBytes, fromBase64Url, toBase64Url, toHex, utf8 } from './bytes.js'
import { TokenmarkError } from './errors.js'
import { getScheme } from './schemes/registry.js'
import type { SchemeId, SchemeParams } from './schemes/types.js'

export const KEY_FILE_FORMAT = 'tokenmark-key'
export const KEY_FILE_VERSION = 1
const SECRET_BYTES = 32

export interface KeyConfig {
  scheme: SchemeId
  params: SchemeParams
  /** Tokenizer the watermark is embedded and detected with. */
  tokenizer: string
}

/** What may be shown anywhere: never the secret. */
export interface PublicKeyInfo {
  keyId: string
  commitment: string
  scheme: SchemeId
  params: SchemeParams
  tokenizer: string
}

export interface KeyConfigInput {
  scheme: string
  params?: Record<string, unknown>
  tokenizer?: string
}

export const DEFAULT_TOKENIZER = 'o200k_base'

/** Validates a configuration and fills in every default, so equal keys have one canonical form. */
export function resolveConfig(input: KeyConfigInput): KeyConfig {
  const scheme = getScheme(input.scheme)
  const tokenizer = input.tokenizer ?? DEFAULT_TOKENIZER
  if (typeof tokenizer !== 'string' || tokenizer.length === 0 || tokenizer.length > 200) {
    throw new TokenmarkError('E_BAD_PARAM', 'tokenizer must be a non-empty name')
  }
  return { scheme: scheme.id, params: scheme.parseParams(input.params ?? {}), tokenizer }
}

function canonicalConfig(c: KeyConfig): string {
  return canonicalJson({ scheme: c.scheme, params: c.params, tokenizer: c.tokenizer })
}

export class WatermarkKey {
  readonly #secret: Uint8Array
  readonly config: KeyConfig
  readonly commitment: string
  readonly keyId: string

  constructor(secret: Uint8Array, config: KeyConfig) {
    if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) {
      throw new TokenmarkError('E_KEY_LENGTH', `a watermark key secret must be ${SECRET_BYTES} bytes`)
    }
    this.#secret = Uint8Array.from(secret)
    this.config = resolveConfig(config)
    const digest = sha256(concatBytes(utf8('tokenmark/v1/commitment\0'), this.#secret, utf8(canonicalConfig(this.config))))
    this.commitment = toHex(digest)
    this.keyId = 'tmk_' + this.commitment.slice(0, 16)
  }

  get scheme(): SchemeId {
    return this.config.scheme
  }

  /** HKDF-SHA256 sub-key for a purpose, bound to this key's canonical configuration. */
  deriveSubkey(purpose: string, length = 16): Uint8Array {
    const info = utf8(`tokenmark/v1/${purpose}\0${canonicalConfig(this.config)}`)
    return hkdf(sha256, this.#secret, utf8('tokenmark/v1'), info, length)
  }

  /**
   * The same secret under another configuration (e.g. another context width): a different key, since
   * every sub-key and the commitment bind the canonical configuration. For trying the configurations a
   * generator may have used by mistake (diagnose.ts) without the secret leaving this object.
   */
  withConfig(change: Partial<KeyConfigInput>): WatermarkKey {
    const c = this.config
    return new WatermarkKey(this.#secret, resolveConfig({ scheme: change.scheme ?? c.scheme, params: change.params ?? c.params, tokenizer: change.tokenizer ?? c.tokenizer }))
  }

  publicInfo(): PublicKeyInfo {
    return { keyId: this.keyId, commitment: this.commitment, scheme: this.config.scheme, params: { ...this.config.params }, tokenizer: this.config.tokenizer }
  }

  /** True when this key opens `commitment` (constant time). */
  matchesCommitment(commitment: string): boolean {
    return equalBytes(utf8(this.commitment), utf8(String(commitment).toLowerCase()))
  }

  /** Key file text (JSON). The only place the secret is written out; CLI writes it with mode 0600. */
  toKeyFile(created: Date = new Date()): string {
    const file = {
      format: KEY_FILE_FORMAT,
      version: KEY_FILE_VERSION,
      keyId: this.keyId,
      commitment: this.commitment,
      scheme: this.config.scheme,
      params: this.config.params,
      tokenizer: this.config.tokenizer,
      created: created.toISOString(),
      secret: toBase64Url(this.#secret),
    }
    return JSON.stringify(file, null, 2) + '\n'
  }

  toJSON(): PublicKeyInfo {
    return this.publicInfo()
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `WatermarkKey(${this.keyId}, ${this.config.scheme})`
  }
}

function randomSecret(): Uint8Array {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto
  if (!c?.getRandomValues) throw new TokenmarkError('E_BAD_INPUT', 'no platform CSPRNG (crypto.getRandomValues) is available')
  return c.getRandomValues(new Uint8Array(SECRET_BYTES))
}

/** A new key: 32 bytes from the platform CSPRNG and a validated configuration. */
export function generateKey(config: KeyConfigInput): WatermarkKey {
  return new WatermarkKey(randomSecret(), resolveConfig(config))
}

/** A key from a known secret (tests, conformance vectors, imports). */
export function keyFromSecret(secret: Uint8Array, config: KeyConfigInput): WatermarkKey {
  return new WatermarkKey(secret, resolveConfig(config))
}

const KEY_FIELDS = ['format', 'version', 'keyId', 'commitment', 'scheme', 'params', 'tokenizer', 'created', 'secret'] as const

/**
 * Parses a key file strictly. Every failure is a TokenmarkError naming the problem; no message ever
 * contains the secret or any part of it.
 */
export function parseKeyFile(text: string): WatermarkKey {
  let obj: unknown
  try {
    obj = JSON.parse(text)
  } catch {
    throw new TokenmarkError('E_KEY_FORMAT', 'key file is not valid JSON')
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TokenmarkError('E_KEY_FORMAT', 'key file must hold a JSON object')
  const f = obj as Record<string, unknown>
  if (f.format !== KEY_FILE_FORMAT) throw new TokenmarkError('E_KEY_FORMAT', `not a tokenmark key file (field format must be "${KEY_FILE_FORMAT}")`)
  if (f.version !== KEY_FILE_VERSION) {
    throw new TokenmarkError('E_KEY_VERSION', `unsupported key file version ${JSON.stringify(f.version)?.slice(0, 20)} (this build reads version ${KEY_FILE_VERSION})`)
  }
  for (const k of KEY_FIELDS) {
    if (!(k in f)) throw new TokenmarkError('E_KEY_FIELD', `key file is missing field "${k}"`)
  }
  for (const k of Object.keys(f)) {
    if (!(KEY_FIELDS as readonly string[]).includes(k)) throw new TokenmarkError('E_KEY_FIELD', `key file has unknown field "${k.slice(0, 40)}"`)
  }
  for (const k of ['keyId', 'commitment', 'scheme', 'tokenizer', 'created', 'secret'] as const) {
    if (typeof f[k] !== 'string') throw new TokenmarkError('E_KEY_FIELD', `key file field "${k}" must be a string`)
  }
  if (f.params === null || typeof f.params !== 'object' || Array.isArray(f.params)) {
    throw new TokenmarkError('E_KEY_FIELD', 'key file field "params" must be an object')
  }
  if (Number.isNaN(Date.parse(f.created as string))) throw new TokenmarkError('E_KEY_FIELD', 'key file field "created" must be an ISO date')
  const secret = fromBase64Url(f.secret as string)
  if (!secret) throw new TokenmarkError('E_KEY_FIELD', 'key file field "secret" is not valid base64url')
  if (secret.length !== SECRET_BYTES) {
    throw new TokenmarkError('E_KEY_LENGTH', `key file secret must decode to ${SECRET_BYTES} bytes, found ${secret.length}`)
  }
  const key = new WatermarkKey(secret, resolveConfig({ scheme: f.scheme as string, params: f.params as Record<string, unknown>, tokenizer: f.tokenizer as string }))
  if (!key.matchesCommitment(f.commitment as string)) {
    throw new TokenmarkError('E_KEY_MISMATCH', 'key file commitment does not match its secret and configuration (the file was altered)')
  }
  if (key.keyId !== f.keyId) throw new TokenmarkError('E_KEY_MISMATCH', 'key file keyId does not match its commitment (the file was altered)')
  secret.fill(0)
  return key
}
