/**
 * Key schedules (docs/spec.md#schedules): one master secret derives one watermark key per (cohort, epoch).
 *
 * - Accounts fall into B cohorts by a keyed hash of (epoch, account), re-drawn every epoch, so an
 *   account's cohort sequence over the epochs is a codeword and no single static key is served for long
 *   (Jovanović et al. 2024, "Watermark stealing", recover one static KGW key from ~30,000 queries).
 * - Named canary cohorts (accounts the provider already suspects) get keys of their own in every epoch.
 * - The schedule's size, K = (B + canaries) · epochs, is public and fixed before any dispute, so a search
 *   over its keys is corrected exactly (Bonferroni over K keys, Fernandez et al. 2023 "Three Bricks" §V);
 *   keyed replay (replay.ts) scores each tuple under one key and needs no correction at all.
 *
 * Derivations, all HKDF-SHA256 (RFC 5869) with salt "tokenmark/v1" over the 32-byte master secret:
 *   cohort key secret  info "tokenmark/v1/schedule/key" ‖ 0 ‖ label ‖ 0 ‖ decimal epoch, 32 bytes
 *                      label "cohort/<i>" (0 ≤ i < B) or "canary/<name>"
 *   assignment key     info "tokenmark/v1/schedule/assign", 32 bytes
 *   cohort of account  first 8 bytes of HMAC-SHA256(assignment key, decimal epoch ‖ 0 ‖ account) as a
 *                      big-endian u64 x; cohort = ⌊x · B / 2^64⌋ (no modulo bias)
 * The public description carries a commitment SHA-256("tokenmark/v1/schedule-commitment" ‖ 0 ‖ secret ‖
 * canonical description); the secret is written only to the schedule's secret file.
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson, concatBytes, equalBytes, fromBase64Url, toBase64Url, toHex, utf8 } from './bytes.js'
import { TokenmarkError } from './errors.js'
import { keyFromSecret, resolveConfig, type KeyConfig, type KeyConfigInput, type WatermarkKey } from './keys.js'

export const SCHEDULE_FILE_FORMAT = 'tokenmark-schedule'
export const SCHEDULE_PUBLIC_FORMAT = 'tokenmark-schedule-public'
export const SCHEDULE_VERSION = 1
const SALT = utf8('tokenmark/v1')
const MAX_COHORTS = 1 << 16
const MAX_EPOCHS = 1 << 20
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/

export interface Canary {
  /** Cohort name: letters, digits, `.`, `_`, `-` (1–64 characters). */
  name: string
  /** Accounts of this cohort in every epoch. */
  accounts: string[]
}

/** What a schedule is, without its secret: safe to publish or lodge with a notary. */
export interface ScheduleParams {
  config: KeyConfig
  /** B: ordinary cohorts per epoch. */
  cohorts: number
  /** Epoch length in seconds. */
  epochSeconds: number
  /** Start of epoch 0 (ISO 8601). */
  start: string
  /** Epochs the schedule covers (fixed in advance: it sets the key ring's size). */
  epochs: number
  canaries: Canary[]
}

export interface ScheduleDescription extends ScheduleParams {
  format: typeof SCHEDULE_PUBLIC_FORMAT
  version: typeof SCHEDULE_VERSION
  scheduleId: string
  commitment: string
}

/** One cohort of one epoch and the key that served it. */
export interface CohortKey {
  /** 0..B−1 for ordinary cohorts, B + j for canary j. */
  cohort: number
  epoch: number
  /** "cohort/<i>" or "canary/<name>". */
  label: string
  key: WatermarkKey
}

export interface ScheduleOptions {
  config: KeyConfigInput
  cohorts: number
  epochSeconds: number
  start: string | Date
  epochs: number
  canaries?: Canary[]
}

function checkInt(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new TokenmarkError('E_BAD_PARAM', `schedule ${name} must be a whole number in [${lo}, ${hi}]`)
  return v
}

function checkAccount(account: unknown): string {
  if (typeof account !== 'string' || account.length === 0 || account.length > 256) throw new TokenmarkError('E_BAD_INPUT', 'an account must be a non-empty string of at most 256 characters')
  return account
}

/** Validates and completes schedule parameters into their one canonical form. */
export function resolveScheduleParams(o: ScheduleOptions | ScheduleParams): ScheduleParams {
  const start = o.start instanceof Date ? o.start.toISOString() : o.start
  if (typeof start !== 'string' || Number.isNaN(Date.parse(start))) throw new TokenmarkError('E_BAD_PARAM', 'schedule start must be an ISO 8601 date')
  const canaries = (o.canaries ?? []).map((c) => {
    if (!c || typeof c.name !== 'string' || !NAME_RE.test(c.name)) throw new TokenmarkError('E_BAD_PARAM', 'a canary cohort name must be 1–64 letters, digits, ".", "_" or "-"')
    if (!Array.isArray(c.accounts)) throw new TokenmarkError('E_BAD_PARAM', `canary cohort ${c.name} needs a list of accounts`)
    return { name: c.name, accounts: [...new Set(c.accounts.map(checkAccount))].sort() }
  })
  const names = new Set<string>()
  const owner = new Map<string, string>()
  for (const c of canaries) {
    if (names.has(c.name)) throw new TokenmarkError('E_BAD_PARAM', `canary cohort ${c.name} is named twice`)
    names.add(c.name)
    for (const a of c.accounts) {
      if (owner.has(a)) throw new TokenmarkError('E_BAD_PARAM', `an account is in two canary cohorts (${owner.get(a)} and ${c.name})`)
      owner.set(a, c.name)
    }
  }
  const config = resolveConfig(o.config as KeyConfigInput)
  return {
    config,
    cohorts: checkInt('cohorts', o.cohorts, 1, MAX_COHORTS),
    epochSeconds: checkInt('epochSeconds', o.epochSeconds, 1, 100 * 365 * 86400),
    start: new Date(start).toISOString(),
    epochs: checkInt('epochs', o.epochs, 1, MAX_EPOCHS),
    canaries,
  }
}

function paramsJson(p: ScheduleParams): string {
  return canonicalJson({ config: p.config, cohorts: p.cohorts, epochSeconds: p.epochSeconds, start: p.start, epochs: p.epochs, canaries: p.canaries })
}

function u64BigEndian(b: Uint8Array): bigint {
  let x = 0n
  for (let i = 0; i < 8; i++) x = (x << 8n) | BigInt(b[i])
  return x
}

export class KeySchedule {
  readonly #secret: Uint8Array
  readonly #assign: Uint8Array
  readonly #keys = new Map<number, WatermarkKey>()
  readonly params: ScheduleParams
  readonly commitment: string
  readonly scheduleId: string
  private readonly canaryOf = new Map<string, number>()
  private readonly startMs: number

  constructor(secret: Uint8Array, params: ScheduleOptions | ScheduleParams) {
    if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new TokenmarkError('E_KEY_LENGTH', 'a schedule secret must be 32 bytes')
    this.#secret = Uint8Array.from(secret)
    this.params = resolveScheduleParams(params)
    this.commitment = toHex(sha256(concatBytes(utf8('tokenmark/v1/schedule-commitment\0'), this.#secret, utf8(paramsJson(this.params)))))
    this.scheduleId = 'tmks_' + this.commitment.slice(0, 16)
    this.#assign = hkdf(sha256, this.#secret, SALT, utf8('tokenmark/v1/schedule/assign'), 32)
    this.params.canaries.forEach((c, j) => c.accounts.forEach((a) => this.canaryOf.set(a, this.params.cohorts + j)))
    this.startMs = Date.parse(this.params.start)
  }

  /** B + canaries: the cohorts of one epoch. */
  get cohortCount(): number {
    return this.params.cohorts + this.params.canaries.length
  }

  /** K = (B + canaries) · epochs: every key the schedule can serve, fixed in advance. */
  get ringSize(): number {
    return this.cohortCount * this.params.epochs
  }

  cohortLabel(cohort: number): string {
    checkInt('cohort', cohort, 0, this.cohortCount - 1)
    return cohort < this.params.cohorts ? `cohort/${cohort}` : `canary/${this.params.canaries[cohort - this.params.cohorts].name}`
  }

  /** The epoch a time falls in; outside the schedule's span is an error (the schedule never served it). */
  epochAt(time: Date | number | string): number {
    const t = time instanceof Date ? time.getTime() : typeof time === 'string' ? Date.parse(time) : time
    const e = Math.floor((t - this.startMs) / (this.params.epochSeconds * 1000))
    if (!Number.isFinite(e) || e < 0 || e >= this.params.epochs) throw new TokenmarkError('E_BAD_INPUT', `a time is outside the schedule (${this.params.epochs} epochs of ${this.params.epochSeconds} s from ${this.params.start})`)
    return e
  }

  /** The account's cohort in an epoch: its canary cohort, or the keyed hash (module comment). */
  cohortOf(account: string, epoch: number): number {
    checkAccount(account)
    checkInt('epoch', epoch, 0, this.params.epochs - 1)
    const canary = this.canaryOf.get(account)
    if (canary !== undefined) return canary
    const h = hmac(sha256, this.#assign, utf8(`${epoch}\0${account}`))
    return Number((u64BigEndian(h) * BigInt(this.params.cohorts)) >> 64n)
  }

  /** The watermark key of (cohort, epoch). Derived once and kept. */
  keyFor(cohort: number, epoch: number): WatermarkKey {
    checkInt('cohort', cohort, 0, this.cohortCount - 1)
    checkInt('epoch', epoch, 0, this.params.epochs - 1)
    const slot = epoch * this.cohortCount + cohort
    let key = this.#keys.get(slot)
    if (key === undefined) {
      const secret = hkdf(sha256, this.#secret, SALT, utf8(`tokenmark/v1/schedule/key\0${this.cohortLabel(cohort)}\0${epoch}`), 32)
      key = keyFromSecret(secret, this.params.config)
      secret.fill(0)
      this.#keys.set(slot, key)
    }
    return key
  }

  /** The key that serves `account` at `time` (what the embedding side calls per request). */
  keyForAccount(account: string, time: Date | number | string): CohortKey {
    const epoch = this.epochAt(time)
    const cohort = this.cohortOf(account, epoch)
    return { cohort, epoch, label: this.cohortLabel(cohort), key: this.keyFor(cohort, epoch) }
  }

  /** Every (cohort, epoch) key, epoch-major: the key ring a search over the schedule corrects for. */
  *keys(): IterableIterator<CohortKey> {
    for (let e = 0; e < this.params.epochs; e++) {
      for (let c = 0; c < this.cohortCount; c++) yield { cohort: c, epoch: e, label: this.cohortLabel(c), key: this.keyFor(c, e) }
    }
  }

  /** Finds the (cohort, epoch) of a key id, or undefined (derives the whole ring on first use). */
  locate(keyId: string): CohortKey | undefined {
    for (const k of this.keys()) if (k.key.keyId === keyId) return k
    return undefined
  }

  description(): ScheduleDescription {
    return { format: SCHEDULE_PUBLIC_FORMAT, version: SCHEDULE_VERSION, scheduleId: this.scheduleId, commitment: this.commitment, ...structuredCloneParams(this.params) }
  }

  /** Public description file (JSON): safe to publish. */
  toPublicFile(): string {
    return JSON.stringify(this.description(), null, 2) + '\n'
  }

  /** Secret file (JSON): the master secret and the commitment it must open. Write it with mode 0600. */
  toSecretFile(created: Date = new Date()): string {
    return JSON.stringify({ format: SCHEDULE_FILE_FORMAT, version: SCHEDULE_VERSION, scheduleId: this.scheduleId, commitment: this.commitment, created: created.toISOString(), secret: toBase64Url(this.#secret) }, null, 2) + '\n'
  }

  toJSON(): ScheduleDescription {
    return this.description()
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeySchedule(${this.scheduleId}, B=${this.params.cohorts}, epochs=${this.params.epochs})`
  }
}

function structuredCloneParams(p: ScheduleParams): ScheduleParams {
  return JSON.parse(JSON.stringify(p)) as ScheduleParams
}

/** A new schedule with a master secret from the platform CSPRNG. */
export function generateSchedule(o: ScheduleOptions): KeySchedule {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto
  if (!c?.getRandomValues) throw new TokenmarkError('E_BAD_INPUT', 'no platform CSPRNG (crypto.getRandomValues) is available')
  return new KeySchedule(c.getRandomValues(new Uint8Array(32)), o)
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let obj: unknown
  try {
    obj = JSON.parse(text)
  } catch {
    throw new TokenmarkError('E_KEY_FORMAT', `${what} is not valid JSON`)
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TokenmarkError('E_KEY_FORMAT', `${what} must hold a JSON object`)
  return obj as Record<string, unknown>
}

/** Parses a public schedule description strictly (no secret needed: enough to count the key ring). */
export function parseScheduleDescription(text: string): ScheduleDescription {
  const f = parseObject(text, 'schedule description')
  if (f.format !== SCHEDULE_PUBLIC_FORMAT) throw new TokenmarkError('E_KEY_FORMAT', `not a schedule description (field format must be "${SCHEDULE_PUBLIC_FORMAT}")`)
  if (f.version !== SCHEDULE_VERSION) throw new TokenmarkError('E_KEY_VERSION', `unsupported schedule description version (this build reads version ${SCHEDULE_VERSION})`)
  if (typeof f.commitment !== 'string' || typeof f.scheduleId !== 'string') throw new TokenmarkError('E_KEY_FIELD', 'schedule description needs string fields commitment and scheduleId')
  if (f.config === null || typeof f.config !== 'object') throw new TokenmarkError('E_KEY_FIELD', 'schedule description needs a config object')
  const params = resolveScheduleParams(f as unknown as ScheduleParams)
  return { format: SCHEDULE_PUBLIC_FORMAT, version: SCHEDULE_VERSION, scheduleId: f.scheduleId, commitment: f.commitment, ...params }
}

/**
 * A schedule from its secret file and its public description; the secret must open the description's
 * commitment. Errors never contain any part of the secret.
 */
export function parseSchedule(secretText: string, publicText: string): KeySchedule {
  const desc = parseScheduleDescription(publicText)
  const f = parseObject(secretText, 'schedule secret file')
  if (f.format !== SCHEDULE_FILE_FORMAT) throw new TokenmarkError('E_KEY_FORMAT', `not a schedule secret file (field format must be "${SCHEDULE_FILE_FORMAT}")`)
  if (f.version !== SCHEDULE_VERSION) throw new TokenmarkError('E_KEY_VERSION', `unsupported schedule file version (this build reads version ${SCHEDULE_VERSION})`)
  const secret = typeof f.secret === 'string' ? fromBase64Url(f.secret) : undefined
  if (!secret || secret.length !== 32) throw new TokenmarkError('E_KEY_FIELD', 'schedule secret file field "secret" must be 32 bytes in base64url')
  const schedule = new KeySchedule(secret, desc)
  secret.fill(0)
  if (!equalBytes(utf8(schedule.commitment), utf8(String(desc.commitment).toLowerCase())) || f.commitment !== desc.commitment) {
    throw new TokenmarkError('E_KEY_MISMATCH', 'the schedule secret does not open the description\'s commitment (wrong pair of files, or one was altered)')
  }
  return schedule
}
