/**
 * A tenant's key schedules (issue 13; docs/spec.md#schedules): the master secret of each is sealed at rest
 * with the server's master secret exactly like a watermark key (keystore.ts), under additional data of its
 * own ("schedule\0<tenant>\0<schedule id>"), and never leaves this module except inside a `KeySchedule`
 * (secret in a private field) for scoring. The public description — commitment, B, epoch length, epochs,
 * canaries, key configuration — is stored in clear and is what the routes return.
 *
 * A schedule is registered by importing the two files `tokenmark log schedule` writes (so the provider
 * keeps the secret to run `tokenmark verify --schedule` on a bundle), or generated here (its secret then
 * never leaves the server).
 */
import {
  generateSchedule,
  getTokenizer,
  parseSchedule,
  parseScheduleDescription,
  type CohortKey,
  type KeySchedule,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@tokenmark/core'
import type { SecretBox } from './crypto.js'
import { ServerError } from './errors.js'
import type { ScheduleRow, Store } from './store.js'

/**
 * Keys a registered schedule may have (B + canaries) × epochs: a case locates a serving key id in the
 * whole ring, derived once per process in memory (one HKDF and one commitment per key, ~0.2 ms each on a
 * loaded 2-core machine: 4,096 keys took 0.9 s), in slices between which the event loop runs (`index`).
 */
export const MAX_SCHEDULE_RING = 1 << 16

export interface ScheduleInfo {
  scheduleId: string
  commitment: string
  name: string | null
  origin: 'generated' | 'imported'
  createdAt: string
  /** K = (B + canaries) · epochs: every key the schedule can serve. */
  ringSize: number
  /** The public description (core's ScheduleDescription): what a notary or a court may read. */
  description: ScheduleDescription
}

/** Keys derived between two turns of the event loop while a ring is indexed. */
const INDEX_SLICE = 64

/** A schedule opened for scoring, with the serving key ids of its ring located on first use. */
export class OpenSchedule {
  readonly schedule: KeySchedule
  #byKeyId: Map<string, number> | undefined
  #indexing: Promise<void> | undefined

  constructor(schedule: KeySchedule) {
    this.schedule = schedule
  }

  /**
   * Derives the ring's key ids (once), INDEX_SLICE keys at a time with the event loop running in between,
   * so a large schedule's first use delays the request that needs it, not every other request.
   */
  index(): Promise<void> {
    if (this.#byKeyId) return Promise.resolve()
    this.#indexing ??= (async () => {
      const m = new Map<string, number>()
      const C = this.schedule.cohortCount
      let n = 0
      for (const k of this.schedule.keys()) {
        m.set(k.key.keyId, k.epoch * C + k.cohort)
        if (++n % INDEX_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve))
      }
      this.#byKeyId ??= m
    })()
    return this.#indexing
  }

  /** The (cohort, epoch) whose key has this id, or undefined when the schedule never served it (indexes the ring at once unless `index` ran). */
  locate(keyId: string): CohortKey | undefined {
    if (!this.#byKeyId) {
      const m = new Map<string, number>()
      const C = this.schedule.cohortCount
      for (const k of this.schedule.keys()) m.set(k.key.keyId, k.epoch * C + k.cohort)
      this.#byKeyId = m
    }
    const slot = this.#byKeyId.get(keyId)
    return slot === undefined ? undefined : this.at(slot % this.schedule.cohortCount, Math.floor(slot / this.schedule.cohortCount))
  }

  /** The key of (cohort, epoch); the caller has checked both are in range. */
  at(cohort: number, epoch: number): CohortKey {
    return { cohort, epoch, label: this.schedule.cohortLabel(cohort), key: this.schedule.keyFor(cohort, epoch) }
  }
}

export class ScheduleStore {
  readonly #store: Store
  readonly #box: SecretBox
  readonly #open = new Map<string, OpenSchedule>()

  constructor(store: Store, box: SecretBox) {
    this.#store = store
    this.#box = box
  }

  /** Generates a schedule here; its master secret is never returned. */
  generate(tenantId: string, options: ScheduleOptions, name?: string): ScheduleInfo {
    return this.#insert(tenantId, generateSchedule(options), 'generated', name)
  }

  /** Imports a schedule from its secret file and public description (the secret must open the commitment). */
  importFiles(tenantId: string, scheduleFile: string, description: string, name?: string): ScheduleInfo {
    return this.#insert(tenantId, parseSchedule(scheduleFile, description), 'imported', name)
  }

  #insert(tenantId: string, s: KeySchedule, origin: 'generated' | 'imported', name?: string): ScheduleInfo {
    // A tokenizer this server lacks could never score a sample (core: 400 naming the available ones).
    getTokenizer(s.params.config.tokenizer)
    if (s.ringSize > MAX_SCHEDULE_RING) {
      throw new ServerError('E_VALIDATION', `a schedule here has at most ${MAX_SCHEDULE_RING} keys ((cohorts + canaries) × epochs); this one has ${s.ringSize}`)
    }
    if (this.#store.getSchedule(tenantId, s.scheduleId)) throw new ServerError('E_CONFLICT', `schedule ${s.scheduleId} is already registered for this tenant`)
    const file = Buffer.from(s.toSecretFile(new Date(0)), 'utf8')
    const row: ScheduleRow = {
      tenant_id: tenantId,
      schedule_id: s.scheduleId,
      commitment: s.commitment,
      description: JSON.stringify(s.description()),
      sealed: this.#box.seal(file, aad(tenantId, s.scheduleId)),
      origin,
      name: name ?? null,
      created_at: new Date().toISOString(),
    }
    file.fill(0)
    this.#store.insertSchedule(row)
    this.#open.set(cacheKey(tenantId, s.scheduleId), new OpenSchedule(s))
    return info(row)
  }

  list(tenantId: string): ScheduleInfo[] {
    return this.#store.listSchedules(tenantId).map(info)
  }

  /** Public info, or a 404 that reads the same whether the schedule is absent or another tenant's. */
  info(tenantId: string, scheduleId: string): ScheduleInfo {
    const row = this.#store.getSchedule(tenantId, scheduleId)
    if (!row) throw notFound(scheduleId)
    return info(row)
  }

  /** The tenant's schedule opened for scoring, or a 404. */
  require(tenantId: string, scheduleId: string): OpenSchedule {
    const ck = cacheKey(tenantId, scheduleId)
    const hit = this.#open.get(ck)
    if (hit) return hit
    const row = this.#store.getSchedule(tenantId, scheduleId)
    if (!row) throw notFound(scheduleId)
    const file = this.#box.open(row.sealed, aad(tenantId, scheduleId))
    try {
      const open = new OpenSchedule(parseSchedule(file.toString('utf8'), row.description))
      this.#open.set(ck, open)
      return open
    } finally {
      file.fill(0)
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'ScheduleStore(…)'
  }
}

function notFound(scheduleId: string): ServerError {
  return new ServerError('E_NOT_FOUND', `no schedule ${scheduleId.slice(0, 80)} for this tenant`)
}
function aad(tenantId: string, scheduleId: string): string {
  return `schedule\0${tenantId}\0${scheduleId}`
}
function cacheKey(tenantId: string, scheduleId: string): string {
  return `${tenantId}\0${scheduleId}`
}

function info(row: ScheduleRow): ScheduleInfo {
  const description = parseScheduleDescription(row.description)
  return {
    scheduleId: row.schedule_id,
    commitment: row.commitment,
    name: row.name,
    origin: row.origin as ScheduleInfo['origin'],
    createdAt: row.created_at,
    ringSize: (description.cohorts + description.canaries.length) * description.epochs,
    description,
  }
}
