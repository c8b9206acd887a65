/**
 * Ed25519 signing keys for evidence (RFC 8032, via @noble/curves). A signing key is separate from
 * every watermark key: it says who vouches for a bundle, not what was watermarked.
 * - Signer id: "tms_" + the first 16 hex digits of SHA-256(public key).
 * - Key file (secret, mode 0600): JSON {format "tokenmark-signing-key", version 1, algorithm
 *   "ed25519", signerId, publicKey, created, secret}, keys in base64url without padding.
 * - Public key file: the same without `secret`, format "tokenmark-signing-public-key".
 * Verification is strict RFC 8032 (zip215: false): non-canonical point or scalar encodings are
 * rejected, so a signature has one valid spelling.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { fromBase64Url, toBase64Url, toHex } from '@tokenmark/core'
import { EvidenceError } from './errors.js'

export const SIGNING_KEY_FORMAT = 'tokenmark-signing-key'
export const PUBLIC_KEY_FORMAT = 'tokenmark-signing-public-key'
export const SIGNING_KEY_VERSION = 1

/** "tms_" + 16 hex digits of SHA-256(publicKey). */
export function signerIdOf(publicKey: Uint8Array): string {
  return 'tms_' + toHex(sha256(publicKey)).slice(0, 16)
}

export class SigningKey {
  readonly #secret: Uint8Array
  readonly publicKey: Uint8Array
  readonly signerId: string

  constructor(secret: Uint8Array) {
    if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new EvidenceError('E_SIGNING_KEY', 'an Ed25519 signing key secret must be 32 bytes')
    this.#secret = Uint8Array.from(secret)
    this.publicKey = ed25519.getPublicKey(this.#secret)
    this.signerId = signerIdOf(this.publicKey)
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.#secret)
  }

  /** Secret key file text (JSON). The only place the secret is written out; write it with mode 0600. */
  toKeyFile(created: Date = new Date()): string {
    return (
      JSON.stringify(
        {
          format: SIGNING_KEY_FORMAT,
          version: SIGNING_KEY_VERSION,
          algorithm: 'ed25519',
          signerId: this.signerId,
          publicKey: toBase64Url(this.publicKey),
          created: created.toISOString(),
          secret: toBase64Url(this.#secret),
        },
        null,
        2,
      ) + '\n'
    )
  }

  /** Public key file text (JSON): safe to publish and to hand to whoever verifies bundles. */
  toPublicKeyFile(): string {
    return publicKeyFile(this.publicKey)
  }

  toJSON(): { signerId: string; publicKey: string } {
    return { signerId: this.signerId, publicKey: toBase64Url(this.publicKey) }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SigningKey(${this.signerId})`
  }
}

export function publicKeyFile(publicKey: Uint8Array): string {
  return JSON.stringify({ format: PUBLIC_KEY_FORMAT, version: SIGNING_KEY_VERSION, algorithm: 'ed25519', signerId: signerIdOf(publicKey), publicKey: toBase64Url(publicKey) }, null, 2) + '\n'
}

/** A new signing key from the platform CSPRNG. */
export function generateSigningKey(): SigningKey {
  const seed = ed25519.utils.randomSecretKey()
  const key = new SigningKey(seed)
  seed.fill(0)
  return key
}

/** Ed25519 verification, strict RFC 8032. Never throws on malformed input: returns false. */
export function verifySignature(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let obj: unknown
  try {
    obj = JSON.parse(text)
  } catch {
    throw new EvidenceError('E_SIGNING_KEY', `${what} is not valid JSON`)
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new EvidenceError('E_SIGNING_KEY', `${what} must hold a JSON object`)
  return obj as Record<string, unknown>
}

function decodeKeyBytes(v: unknown, field: string, what: string): Uint8Array {
  const bytes = typeof v === 'string' ? fromBase64Url(v) : undefined
  if (!bytes || bytes.length !== 32) throw new EvidenceError('E_SIGNING_KEY', `${what} field "${field}" must be 32 bytes in base64url`)
  return bytes
}

/** Parses a secret signing key file strictly; the message never contains the secret. */
export function parseSigningKeyFile(text: string): SigningKey {
  const f = parseJsonObject(text, 'signing key file')
  if (f.format !== SIGNING_KEY_FORMAT) {
    const hint = f.format === 'tokenmark-key' ? ' (this is a watermark key; make a signing key with `tokenmark keygen --signing`)' : ''
    throw new EvidenceError('E_SIGNING_KEY', `not a tokenmark signing key file (field format must be "${SIGNING_KEY_FORMAT}")${hint}`)
  }
  if (f.version !== SIGNING_KEY_VERSION) throw new EvidenceError('E_SIGNING_KEY', `unsupported signing key file version (this build reads version ${SIGNING_KEY_VERSION})`)
  if (f.algorithm !== 'ed25519') throw new EvidenceError('E_SIGNING_KEY', 'signing key algorithm must be "ed25519"')
  const secret = decodeKeyBytes(f.secret, 'secret', 'signing key file')
  const key = new SigningKey(secret)
  secret.fill(0)
  if (f.publicKey !== toBase64Url(key.publicKey) || f.signerId !== key.signerId) {
    throw new EvidenceError('E_SIGNING_KEY', 'signing key file publicKey or signerId does not match its secret (the file was altered)')
  }
  return key
}

/**
 * The public key in a public key file, a secret signing key file (its public half), or a bare
 * base64url / hex string of 32 bytes.
 */
export function parsePublicKey(text: string): Uint8Array {
  const t = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Uint8Array.from(t.match(/../g) as string[], (h) => parseInt(h, 16))
  if (!t.startsWith('{')) {
    const raw = fromBase64Url(t)
    if (raw && raw.length === 32) return raw
    throw new EvidenceError('E_SIGNING_KEY', 'public key must be a tokenmark public key file, or 32 bytes in hex or base64url')
  }
  const f = parseJsonObject(t, 'public key file')
  if (f.format === SIGNING_KEY_FORMAT) return parseSigningKeyFile(t).publicKey
  if (f.format !== PUBLIC_KEY_FORMAT) throw new EvidenceError('E_SIGNING_KEY', `not a tokenmark public key file (field format must be "${PUBLIC_KEY_FORMAT}")`)
  if (f.algorithm !== 'ed25519') throw new EvidenceError('E_SIGNING_KEY', 'public key algorithm must be "ed25519"')
  const pk = decodeKeyBytes(f.publicKey, 'publicKey', 'public key file')
  if (f.signerId !== undefined && f.signerId !== signerIdOf(pk)) throw new EvidenceError('E_SIGNING_KEY', 'public key file signerId does not match its publicKey (the file was altered)')
  return pk
}
