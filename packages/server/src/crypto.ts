/**
 * Secrets at rest and API tokens.
 * - Master secret: 32 bytes from TOKENMARK_MASTER_SECRET (base64url or hex), a file, or generated on
 *   first start of the embedded default (written with mode 0600 next to the database).
 * - Key store encryption: AES-256-GCM (NIST SP 800-38D) under HKDF-SHA256(master, "tokenmark/server/v1",
 *   "keystore"), 96-bit random nonce, the tenant id and key id as additional data so a ciphertext cannot
 *   be moved to another tenant's row.
 * - API tokens: "tmt_" + 12-char id + "_" + 43-char secret (32 random bytes, base64url). Only
 *   SHA-256(secret) is stored; comparison is constant time (crypto.timingSafeEqual).
 */
import { createCipheriv, createDecipheriv, createHash, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { ServerError } from './errors.js'

export const MASTER_SECRET_BYTES = 32

/** Parses a master secret written as base64url/base64 or hex; rejects anything that is not 32 bytes. */
export function parseMasterSecret(text: string): Buffer {
  const t = text.trim()
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  if (buf.length !== MASTER_SECRET_BYTES) {
    throw new ServerError('E_MASTER_SECRET', `the master secret must be ${MASTER_SECRET_BYTES} bytes (64 hex digits or 43 base64url characters)`)
  }
  return buf
}

export interface MasterSecretSource {
  secret: Buffer
  /** Where it came from, for the start-up log (never the value). */
  origin: 'option' | 'env' | 'file' | 'generated'
  path?: string
  /**
   * For a generated secret: writes it to `path` (mode 0600). Called only once the database has accepted
   * the secret, so a refused start writes nothing (issue 12: a wrong `.master` was left behind).
   */
  persist?: () => void
}

/**
 * Resolves the master secret: explicit value, then TOKENMARK_MASTER_SECRET, then the file at
 * TOKENMARK_MASTER_SECRET_FILE or `defaultPath`; when none exists and `defaultPath` is given, generates
 * one there (mode 0600).
 */
export function loadMasterSecret(opts: { secret?: string | Uint8Array; env?: NodeJS.ProcessEnv; defaultPath?: string }): MasterSecretSource {
  if (opts.secret !== undefined) {
    return { secret: typeof opts.secret === 'string' ? parseMasterSecret(opts.secret) : checkLength(Buffer.from(opts.secret)), origin: 'option' }
  }
  const env = opts.env ?? process.env
  if (env.TOKENMARK_MASTER_SECRET) return { secret: parseMasterSecret(env.TOKENMARK_MASTER_SECRET), origin: 'env' }
  const path = env.TOKENMARK_MASTER_SECRET_FILE || opts.defaultPath
  if (path === undefined) {
    throw new ServerError('E_MASTER_SECRET', 'no master secret: set TOKENMARK_MASTER_SECRET or TOKENMARK_MASTER_SECRET_FILE')
  }
  if (existsSync(path)) return { secret: parseMasterSecret(readFileSync(path, 'utf8')), origin: 'file', path }
  if (env.TOKENMARK_MASTER_SECRET_FILE) throw new ServerError('E_MASTER_SECRET', `master secret file ${path} does not exist`)
  const secret = randomBytes(MASTER_SECRET_BYTES)
  const text = secret.toString('base64url') + '\n'
  const persist = () => {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' })
    chmodSync(path, 0o600)
  }
  return { secret, origin: 'generated', path, persist }
}

function checkLength(b: Buffer): Buffer {
  if (b.length !== MASTER_SECRET_BYTES) throw new ServerError('E_MASTER_SECRET', `the master secret must be ${MASTER_SECRET_BYTES} bytes`)
  return b
}

/** AES-256-GCM sealing of key secrets, bound to (tenant, key id) by additional data. */
export class SecretBox {
  readonly #key: Buffer

  constructor(master: Uint8Array) {
    this.#key = Buffer.from(hkdfSync('sha256', master, 'tokenmark/server/v1', 'keystore', 32))
  }

  /** nonce(12) ‖ ciphertext ‖ tag(16) */
  seal(plain: Uint8Array, aad: string): Buffer {
    const nonce = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.#key, nonce)
    c.setAAD(Buffer.from(aad, 'utf8'))
    const body = Buffer.concat([c.update(plain), c.final()])
    return Buffer.concat([nonce, body, c.getAuthTag()])
  }

  open(sealed: Uint8Array, aad: string): Buffer {
    const b = Buffer.from(sealed)
    if (b.length < 28) throw new ServerError('E_MASTER_SECRET', 'a stored key is corrupt')
    const d = createDecipheriv('aes-256-gcm', this.#key, b.subarray(0, 12))
    d.setAAD(Buffer.from(aad, 'utf8'))
    d.setAuthTag(b.subarray(b.length - 16))
    try {
      return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()])
    } catch {
      throw new ServerError('E_MASTER_SECRET', 'a stored key cannot be decrypted: the master secret differs from the one that sealed it')
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'SecretBox(…)'
  }
}

/** A token: tmt_<id>_<secret>. */
const TOKEN = 'tmt_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})'
const TOKEN_RE = new RegExp(`^${TOKEN}$`)
/** An Authorization header carrying a well-formed token, in one match (the common case; auth.ts). */
export const BEARER_TOKEN_RE = new RegExp(`^[Bb][Ee][Aa][Rr][Ee][Rr] ${TOKEN}$`)

export interface NewToken {
  id: string
  /** The full bearer token: shown once, never stored. */
  token: string
  hash: Buffer
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

export function randomId(prefix: string, length = 12): string {
  const bytes = randomBytes(length)
  let s = ''
  // 256 % 62 bias is irrelevant for identifiers; the token's secret part is the full 32 random bytes.
  for (const b of bytes) s += ALNUM[b % ALNUM.length]
  return prefix + s
}

export function hashTokenSecret(secret: string): Buffer {
  // One-shot hash (Node >= 20.12): no Hash object per authenticated request.
  return hash('sha256', secret, 'buffer')
}

export function newToken(): NewToken {
  const id = randomId('', 12)
  const secret = randomBytes(32).toString('base64url')
  return { id, token: `tmt_${id}_${secret}`, hash: hashTokenSecret(secret) }
}

/** Splits a bearer token into its id and secret; undefined when it has the wrong shape. */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token)
  return m ? { id: m[1], secret: m[2] } : undefined
}

/**
 * A token secret's SHA-256 as hex, for the token cache's per-request check (auth.ts): a string result
 * allocates no Buffer, which on /v1/detect's hot path cost more than the hash itself.
 */
export function tokenSecretDigest(secret: string): string {
  return hash('sha256', secret, 'hex')
}

/** Equality of two digests in time independent of where they differ (no early exit), as timingSafeEqual. */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return d === 0
}

export function tokenMatches(secret: string, storedHash: Uint8Array): boolean {
  const h = hashTokenSecret(secret)
  return storedHash.length === h.length && timingSafeEqual(h, storedHash)
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}
