/**
 * The signed content of an evidence bundle, version 2 (docs/evidence-format.md#body), and its strict
 * reader. Every field is required unless marked optional; a reader rejects unknown fields, so a
 * change of content is a change of version. Version 2 adds each input's provenance and the outcome's
 * validity and warnings; version 1 bodies are still read (and upgraded in memory: readEvidenceBody).
 */
import { NO_DEDUP_WARNING, REASON_NAMES } from '@tokenmark/core'
import { EvidenceError } from './errors.js'
import type { ScheduleRecord } from './schedule.js'
import type { ShardsRecord } from './shards.js'

export const EVIDENCE_FORMAT = 'tokenmark-evidence'
export const EVIDENCE_VERSION = 2
/** The version of a bundle made from a sharded scan's parts: version 2 plus `shards` (shards.ts). */
export const EVIDENCE_VERSION_SHARDED = 3
/** Versions this build reads. */
export const EVIDENCE_VERSIONS_READ: readonly number[] = [1, 2, 3]
export const EVIDENCE_MEDIA_TYPE = 'application/vnd.tokenmark.evidence+msgpack'
export const EVIDENCE_EXTENSION = '.tmev'

/** Why a token was not scored: core's SkipReason names, by value. */
export { REASON_NAMES, type ReasonName } from '@tokenmark/core'

/**
 * Where a text came from, as the collector recorded it: for `probe`, endpoint, model, requestId,
 * time and sampleId; for a server case, the sample id and the source fields the client sent.
 * Strings and numbers only; shown in the report's chain of custody.
 */
export type Provenance = Record<string, string | number>

export type NullModelRecord = { kind: 'binomial'; p: number; trialsPerToken: number } | { kind: 'gamma' }

export interface InputRecord {
  /** Caller's label (file name and line, URL, sample id); may be empty. */
  id: string
  /** SHA-256 (hex) of the text's UTF-8 bytes exactly as given, before normalisation. */
  sha256: string
  /** Length in Unicode code points. */
  chars: number
  /** The text, unless the bundle was made without inputs. */
  text?: string
  /** SHA-256 of the prompt that produced the text, when known; its tokens were context, never scored. */
  promptSha256?: string
  prompt?: string
  /** Where the text came from (version 2). */
  provenance?: Provenance
  /** This text scored on its own (de-duplicated within the text): the per-text distribution. */
  tokens: number
  tokensScored: number
  value: number
  log10P: number
  zScore: number
}

export interface PromptRecord {
  sha256: string
  chars: number
  text?: string
}

export interface CumulativePoint {
  /** Texts added so far (in input order). */
  texts: number
  tokensScored: number
  log10P: number
}

/** Per-token evidence for one span of one text: the pieces concatenate to the excerpt's text. */
export interface ExcerptRecord {
  input: number
  /** Index of the first token of the excerpt within the text's tokens. */
  startToken: number
  /** Token ids of the excerpt. */
  tokens: number[]
  /** Text of each token (normalised text), in order. */
  pieces: string[]
  /** Observation per token, or null when the token was not scored. */
  values: (number | null)[]
  /** REASON_NAMES index per token. */
  reasons: number[]
  /** The excerpt's own test (de-duplicated within the excerpt's text). */
  log10P: number
}

export interface EvidenceBody {
  format: typeof EVIDENCE_FORMAT
  /**
   * 2 when written by this build, 3 when made from a sharded scan's parts (version 2 plus `shards`); a
   * version-1 body reads as version 1 with the version-2 fields filled in.
   */
  version: 1 | 2 | 3
  /** ISO 8601 UTC time the analysis was sealed. */
  created: string
  case: { title: string; description: string }
  notes: string
  software: { name: string; version: string; evidenceVersion: string; prfVersion: string; conformanceHash: string; runtime: string }
  signer: { id: string; publicKey: Uint8Array }
  key: { keyId: string; commitment: string; scheme: string; params: Record<string, number | string>; tokenizer: string }
  tokenizer: { name: string; version: string }
  method: {
    dedup: boolean
    normalize: boolean
    statistic: string
    nullModel: NullModelRecord
    alpha: number
    /** Keys searched; the p-value is corrected for it (Bonferroni). Always 1 for a bundle of one key. */
    keysTested: number
    excerpts: number
    excerptTokens: number
  }
  normalization: { applied: string[]; changes: Record<string, number> }
  inputs: { included: boolean; items: InputRecord[] }
  prompts: { included: boolean; items: PromptRecord[] }
  filter: null | { sha256: string; bytes?: Uint8Array; contexts: number; falsePositiveRate: number; description: string }
  statistics: {
    tokensSeen: number
    tokensScored: number
    value: number
    noContext: number
    duplicate: number
    excluded: number
    filtered: number
  }
  /**
   * The corpus test (core's Outcome under its v1 wire names: analyze.ts outcomeRecord). `valid` is false
   * when de-duplication was off: then `detected` is false and `warnings` says why.
   */
  result: { valid: boolean; detected: boolean; pValue: number; log10P: number; zScore: number; log10E: number; tokensNeeded: number | null; warnings: string[] }
  cumulative: CumulativePoint[]
  excerpts: ExcerptRecord[]
  /** Optional (version 2): the texts scored against a key schedule, with the serving log's accounts and integrity (schedule.ts). */
  schedule?: ScheduleRecord
  /** Version 3 only: the sharded scan whose merged parts these statistics are (shards.ts). */
  shards?: ShardsRecord
}

// ---- strict reader -------------------------------------------------------------------------

type Check<T> = (v: unknown, path: string) => T

const fail = (path: string, what: string): never => {
  throw new EvidenceError('E_BUNDLE_FIELD', `bundle field ${path} ${what}`)
}
const str: Check<string> = (v, p) => (typeof v === 'string' ? v : fail(p, 'must be a string'))
const num: Check<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, 'must be a finite number'))
const count: Check<number> = (v, p) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(p, 'must be a whole number ≥ 0'))
const bool: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'must be true or false'))
const hex64: Check<string> = (v, p) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? v : fail(p, 'must be 64 lowercase hex digits'))
const bytes =
  (n?: number): Check<Uint8Array> =>
  (v, p) =>
    v instanceof Uint8Array && (n === undefined || v.length === n) ? v : fail(p, n === undefined ? 'must be bytes' : `must be ${n} bytes`)
const literal =
  <T extends string | number>(x: T): Check<T> =>
  (v, p) =>
    v === x ? x : fail(p, `must be ${JSON.stringify(x)}`)
const nullable =
  <T>(c: Check<T>): Check<T | null> =>
  (v, p) =>
    v === null ? null : c(v, p)
const arr =
  <T>(c: Check<T>): Check<T[]> =>
  (v, p) =>
    Array.isArray(v) ? v.map((x, i) => c(x, `${p}[${i}]`)) : fail(p, 'must be an array')
const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
const record =
  <T>(c: Check<T>): Check<Record<string, T>> =>
  (v, p) => {
    if (!isMap(v)) return fail(p, 'must be a map')
    const out: Record<string, T> = {}
    for (const [k, x] of Object.entries(v)) out[k] = c(x, `${p}.${k}`)
    return out
  }
type Shape = Record<string, Check<unknown>>
type Out<S extends Shape> = { [K in keyof S]: S[K] extends Check<infer T> ? T : never }
const OPTIONAL = Symbol('optional')
const optional = <T>(c: Check<T>): Check<T | undefined> => Object.assign((v: unknown, p: string) => (v === undefined ? undefined : c(v, p)), { [OPTIONAL]: true })
const obj =
  <S extends Shape>(shape: S): Check<Out<S>> =>
  (v, p) => {
    if (!isMap(v)) return fail(p, 'must be a map')
    for (const k of Object.keys(v)) if (!(k in shape)) fail(`${p}.${k.slice(0, 40)}`, 'is not part of this format version')
    const out: Record<string, unknown> = {}
    for (const [k, c] of Object.entries(shape)) {
      if (!(k in v) && !(OPTIONAL in c)) fail(`${p}.${k}`, 'is missing')
      const x = c(v[k], `${p}.${k}`)
      if (x !== undefined) out[k] = x
    }
    return out as Out<S>
  }
const oneOf =
  <T extends string>(...xs: T[]): Check<T> =>
  (v, p) =>
    xs.includes(v as T) ? (v as T) : fail(p, `must be one of ${xs.join(', ')}`)
const param: Check<number | string> = (v, p) => (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ? v : fail(p, 'must be a number or a string'))
const nullModel: Check<NullModelRecord> = (v, p) => {
  if (isMap(v) && v.kind === 'gamma') return obj({ kind: literal('gamma') })(v, p)
  return obj({ kind: literal('binomial'), p: num, trialsPerToken: count })(v, p)
}

const provenance: Check<Provenance> = (v, p) => record<string | number>((x, q) => (typeof x === 'string' ? x : num(x, q)))(v, p)

/** The shape of a version-2 body; version 1 is the same without the fields marked v2 (bodyShape(1)), version 3 the same plus `shards`. */
const bodyShape = (version: 1 | 2 | 3) => ({
  format: literal(EVIDENCE_FORMAT),
  version: literal(version),
  created: str,
  case: obj({ title: str, description: str }),
  notes: str,
  software: obj({ name: str, version: str, evidenceVersion: str, prfVersion: str, conformanceHash: hex64, runtime: str }),
  signer: obj({ id: str, publicKey: bytes(32) }),
  key: obj({ keyId: str, commitment: hex64, scheme: str, params: record(param), tokenizer: str }),
  tokenizer: obj({ name: str, version: str }),
  method: obj({
    dedup: bool,
    normalize: bool,
    statistic: oneOf('greenCount', 'scoreSum', 'gSum'),
    nullModel,
    alpha: num,
    keysTested: count,
    excerpts: count,
    excerptTokens: count,
  }),
  normalization: obj({ applied: arr(str), changes: record(count) }),
  inputs: obj({
    included: bool,
    items: arr(
      obj({
        id: str,
        sha256: hex64,
        chars: count,
        text: optional(str),
        promptSha256: optional(hex64),
        prompt: optional(str),
        ...(version >= 2 ? { provenance: optional(provenance) } : {}),
        tokens: count,
        tokensScored: count,
        value: num,
        log10P: num,
        zScore: num,
      }),
    ),
  }),
  prompts: obj({ included: bool, items: arr(obj({ sha256: hex64, chars: count, text: optional(str) })) }),
  filter: nullable(obj({ sha256: hex64, bytes: optional(bytes()), contexts: count, falsePositiveRate: num, description: str })),
  statistics: obj({ tokensSeen: count, tokensScored: count, value: num, noContext: count, duplicate: count, excluded: count, filtered: count }),
  result: obj({
    ...(version >= 2 ? { valid: bool } : {}),
    detected: bool,
    pValue: num,
    log10P: num,
    zScore: num,
    log10E: num,
    tokensNeeded: nullable(count),
    ...(version >= 2 ? { warnings: arr(str) } : {}),
  }),
  cumulative: arr(obj({ texts: count, tokensScored: count, log10P: num })),
  excerpts: arr(
    obj({ input: count, startToken: count, tokens: arr(count), pieces: arr(str), values: arr(nullable(num)), reasons: arr(count), log10P: num }),
  ),
  ...(version >= 2 ? { schedule: optional(scheduleShape) } : {}),
  ...(version === 3 ? { shards: shardsShape } : {}),
})
const shardsShape = obj({ count: count, merkleRoot: hex64, parts: arr(obj({ sha256: hex64, head: bytes(272) })) })
const group = { tokensScored: count, value: num, log10P: num, adjustedLog10P: num, flagged: bool }
const scheduleShape = obj({
  scheduleId: str,
  commitment: str,
  servedKeys: arr(nullable(str)),
  result: obj({
    globalRule: oneOf('pooled', 'bonferroni'),
    tokensSeen: count,
    tokensScored: count,
    log10P: num,
    zScore: num,
    log10E: num,
    alpha: num,
    correction: oneOf('holm'),
    cohortFamily: count,
    epochFamily: count,
    keysUsed: count,
    cohorts: arr(obj({ cohort: count, label: str, ...group })),
    epochs: arr(obj({ epoch: count, ...group })),
    cohortsFlagged: arr(count),
    epochsFlagged: arr(count),
  }),
  accounts: arr(obj({ cohort: count, label: str, accounts: arr(str) })),
  filters: optional(obj({ records: count, keys: arr(obj({ keyId: str, filter: str })) })),
  scoring: optional(oneOf('every-served')),
  log: nullable(
    obj({
      records: count,
      head: hex64,
      withText: count,
      signature: nullable(obj({ signerId: str, signedAt: str, valid: bool, coversHead: bool })),
    }),
  ),
})
const readBodyV1 = obj(bodyShape(1))
const readBodyV2 = obj(bodyShape(2))
const readBodyV3 = obj(bodyShape(3))

/**
 * Checks a decoded body against its format version (1 or 2) and returns it typed. Throws EvidenceError
 * naming the first field that is missing, unknown or of the wrong type. A version-1 body keeps
 * `version: 1` and gains the version-2 result fields as version 2 defines them: `valid` is whether
 * de-duplication was on, `warnings` says why not, and `detected` is false when the test was not valid
 * (a v1 bundle made with de-duplication off could claim a detection this build does not repeat).
 */
export function readEvidenceBody(value: unknown): EvidenceBody {
  if (isMap(value) && value.format === EVIDENCE_FORMAT && !EVIDENCE_VERSIONS_READ.includes(value.version as number)) {
    throw new EvidenceError('E_BUNDLE_VERSION', `evidence format version ${JSON.stringify(value.version)?.slice(0, 20)} is not supported (this build reads versions ${EVIDENCE_VERSIONS_READ.join(' and ')})`)
  }
  let body: EvidenceBody
  if (isMap(value) && value.version === 1) {
    body = readBodyV1(value, 'body') as unknown as EvidenceBody
    const valid = body.method.dedup
    body.result = { ...body.result, valid, detected: body.result.detected && valid, warnings: valid ? [] : [NO_DEDUP_WARNING] }
  } else if (isMap(value) && value.version === 3) body = readBodyV3(value, 'body') as unknown as EvidenceBody
  else body = readBodyV2(value, 'body') as unknown as EvidenceBody
  if (body.shards && (body.shards.count < 1 || body.shards.parts.length !== body.shards.count)) fail('body.shards.parts', 'must hold one head per shard')
  if (body.schedule && body.schedule.servedKeys.length !== body.inputs.items.length) fail('body.schedule.servedKeys', 'must have one entry per input')
  body.excerpts.forEach((e, i) => {
    const n = e.tokens.length
    if (e.pieces.length !== n || e.values.length !== n || e.reasons.length !== n) fail(`body.excerpts[${i}]`, 'must have tokens, pieces, values and reasons of equal length')
    if (e.input >= body.inputs.items.length) fail(`body.excerpts[${i}].input`, 'names no input')
    if (e.reasons.some((r) => r >= REASON_NAMES.length)) fail(`body.excerpts[${i}].reasons`, `must be reason codes 0–${REASON_NAMES.length - 1}`)
  })
  return body
}
