/**
 * The key store: a tenant's watermark keys and its evidence signing key, sealed at rest with the
 * master secret (crypto.ts).
 * Keys leave this module only as `WatermarkKey` objects (secret in a private field) for scoring, or
 * as public info (id, commitment, scheme, params, tokenizer). A key of another tenant is reported as
 * absent, exactly like a key that does not exist.
 *
 * Each tenant has one Ed25519 signing key for evidence bundles (@tokenmark/evidence), separate from
 * every watermark key: generated on first use, its key file sealed with the same box under additional
 * data of its own ("signing\0<tenant>"), so neither kind of ciphertext opens as the other. It leaves
 * this module as a `SigningKey` (secret in a private field) or as its public key.
 */
import { generateKey, getTokenizer, parseKeyFile, type WatermarkKey, type KeyConfigInput, type PublicKeyInfo, type SchemeParams } from '@tokenmark/core'
import { generateSigningKey, parseSigningKeyFile, type SigningKey } from '@tokenmark/evidence'
import { SecretBox } from './crypto.js'
import { ServerError } from './errors.js'
import { ScheduleStore } from './schedule-store.js'
import type { KeyRow, SigningKeyRow, Store } from './store.js'

export interface StoredKeyInfo extends PublicKeyInfo {
  name: string | null
  origin: 'generated' | 'imported'
  createdAt: string
}

const CHECK_PLAIN = Buffer.from('tokenmark/server/master-check/v1')

export class KeyStore {
  readonly #box: SecretBox
  readonly #store: Store
  /**
   * Decrypted keys by tenant, then by id; WatermarkKey keeps its secret in a private field. Two levels
   * rather than one joined string key: a lookup on /v1/detect's hot path builds no string.
   */
  readonly #cache = new Map<string, Map<string, WatermarkKey>>()
  /** Decrypted signing keys by tenant. */
  readonly #signers = new Map<string, SigningKey>()
  /** The tenants' key schedules (issue 13), sealed with the same box under additional data of their own. */
  readonly schedules: ScheduleStore

  constructor(store: Store, master: Uint8Array) {
    this.#store = store
    this.#box = new SecretBox(master)
    this.schedules = new ScheduleStore(store, this.#box)
    // A sealed constant tells a wrong master secret apart at start-up instead of at first use.
    const check = store.getMeta('master_check')
    if (check === undefined) store.setMeta('master_check', this.#box.seal(CHECK_PLAIN, 'master-check'))
    else {
      let ok = false
      try {
        ok = this.#box.open(check, 'master-check').equals(CHECK_PLAIN)
      } catch {
        ok = false
      }
      if (!ok) throw new ServerError('E_MASTER_SECRET', 'the master secret does not match this database (set the one it was created with)')
    }
  }

  /** Generates a key server-side; the secret is never returned. */
  generate(tenantId: string, config: KeyConfigInput, name?: string): StoredKeyInfo {
    return this.#insert(tenantId, generateKey(config), 'generated', name)
  }

  /** Imports a key file (JSON text, checked against its commitment by core). */
  importKeyFile(tenantId: string, keyFile: string, name?: string): StoredKeyInfo {
    return this.#insert(tenantId, parseKeyFile(keyFile), 'imported', name)
  }

  #insert(tenantId: string, key: WatermarkKey, origin: 'generated' | 'imported', name?: string): StoredKeyInfo {
    // A key whose tokenizer this server does not have could never score anything: refuse it now
    // (core throws E_UNKNOWN_TOKENIZER, a 400 naming the available tokenizers).
    getTokenizer(key.config.tokenizer)
    if (this.#store.getKey(tenantId, key.keyId)) throw new ServerError('E_CONFLICT', `key ${key.keyId} is already in this tenant's key store`)
    // The key file is the one serialisation core offers that carries the secret; seal it whole.
    const file = key.toKeyFile()
    const row: KeyRow = {
      tenant_id: tenantId,
      key_id: key.keyId,
      commitment: key.commitment,
      scheme: key.scheme,
      params: JSON.stringify(key.config.params),
      tokenizer: key.config.tokenizer,
      sealed: this.#box.seal(Buffer.from(file, 'utf8'), aad(tenantId, key.keyId)),
      origin,
      name: name ?? null,
      created_at: new Date().toISOString(),
    }
    this.#store.insertKey(row)
    this.#cached(tenantId).set(key.keyId, key)
    return info(row)
  }

  list(tenantId: string): StoredKeyInfo[] {
    return this.#store.listKeys(tenantId).map(info)
  }

  info(tenantId: string, keyId: string): StoredKeyInfo | undefined {
    const row = this.#store.getKey(tenantId, keyId)
    return row ? info(row) : undefined
  }

  /** The tenant's key, or undefined (also for another tenant's key). */
  get(tenantId: string, keyId: string): WatermarkKey | undefined {
    const hit = this.#cache.get(tenantId)?.get(keyId)
    if (hit) return hit
    const row = this.#store.getKey(tenantId, keyId)
    if (!row) return undefined
    const file = this.#box.open(row.sealed, aad(tenantId, keyId))
    try {
      const key = parseKeyFile(file.toString('utf8'))
      this.#cached(tenantId).set(keyId, key)
      return key
    } finally {
      file.fill(0)
    }
  }

  #cached(tenantId: string): Map<string, WatermarkKey> {
    let m = this.#cache.get(tenantId)
    if (m === undefined) this.#cache.set(tenantId, (m = new Map()))
    return m
  }

  /** The tenant's key, or a 404 that reads the same whether the key is absent or another tenant's. */
  require(tenantId: string, keyId: string): WatermarkKey {
    const k = this.get(tenantId, keyId)
    if (!k) throw new ServerError('E_NOT_FOUND', `no key ${keyId.slice(0, 80)} in this tenant's key store`)
    return k
  }

  /** Every key of the tenant (its key ring). */
  ring(tenantId: string): WatermarkKey[] {
    return this.#store.listKeys(tenantId).map((r) => this.require(tenantId, r.key_id))
  }

  /**
   * The tenant's evidence signing key, generated and sealed on first use. When two processes sharing
   * the database race to create it, the first insert wins and both use that key.
   */
  signingKey(tenantId: string): SigningKey {
    const hit = this.#signers.get(tenantId)
    if (hit) return hit
    let row = this.#store.getSigningKey(tenantId)
    if (!row) {
      const fresh = generateSigningKey()
      const created = new Date()
      const file = Buffer.from(fresh.toKeyFile(created), 'utf8')
      const candidate: SigningKeyRow = {
        tenant_id: tenantId,
        signer_id: fresh.signerId,
        public_key: Buffer.from(fresh.publicKey),
        sealed: this.#box.seal(file, signingAad(tenantId)),
        created_at: created.toISOString(),
      }
      file.fill(0)
      if (this.#store.insertSigningKey(candidate)) {
        this.#signers.set(tenantId, fresh)
        return fresh
      }
      row = this.#store.getSigningKey(tenantId)
      if (!row) throw new ServerError('E_STORE', 'the signing key could neither be stored nor read back')
    }
    const file = this.#box.open(row.sealed, signingAad(tenantId))
    try {
      const key = parseSigningKeyFile(file.toString('utf8'))
      if (key.signerId !== row.signer_id) throw new ServerError('E_MASTER_SECRET', 'a stored signing key does not match its signer id')
      this.#signers.set(tenantId, key)
      return key
    } finally {
      file.fill(0)
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'KeyStore(…)'
  }
}

function aad(tenantId: string, keyId: string): string {
  return `key\0${tenantId}\0${keyId}`
}
function signingAad(tenantId: string): string {
  return `signing\0${tenantId}`
}

function info(row: KeyRow): StoredKeyInfo {
  return {
    keyId: row.key_id,
    commitment: row.commitment,
    scheme: row.scheme as StoredKeyInfo['scheme'],
    params: JSON.parse(row.params) as SchemeParams,
    tokenizer: row.tokenizer,
    name: row.name,
    origin: row.origin as StoredKeyInfo['origin'],
    createdAt: row.created_at,
  }
}
