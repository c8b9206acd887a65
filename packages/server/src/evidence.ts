/**
 * Signed evidence for cases: the @tokenmark/evidence bundle of a case's samples (each with its prompt,
 * in the order they were added, with the case's de-duplication and normalisation), signed with the
 * tenant's signing key (keystore.ts), and the attribution report rendered from that bundle.
 *
 * The bundle's analysis (evidence's analyzeCorpus) and the case's running result (core's corpusResult
 * over the merged accumulator) are both folds with core's one Scorer over the same samples. Exclusions live in the
 * accumulator, so the two agree whatever the batching. A bundle whose numbers differ from the case's
 * (a bug, or a sample added between the two reads) is never handed out: it is rebuilt once, then refused
 * with a 500 and a log line that names the difference.
 *
 * The last bundle of each case is kept in memory while the case is unchanged, so a report and the bundle
 * fetched after it are the same bytes (the report's chain of custody names the bundle's SHA-256).
 */
import { createHash } from 'node:crypto'
import { createBundle, openBundle, renderReport, type CorpusText, type Provenance, type ReportFormat } from '@tokenmark/evidence'
import type { CaseResult, CaseService, SampleInfo } from './cases.js'
import { ServerError } from './errors.js'
import type { KeyStore } from './keystore.js'

export interface CaseBundle {
  bytes: Uint8Array
  sha256: string
  /** Suggested file name (`<case id>.tmev`), also the name the report's reproduce commands use. */
  fileName: string
  signerId: string
}

interface Cached extends CaseBundle {
  tenantId: string
  samples: number
}

/** Bundles kept in memory (they hold the case's texts; a few cases' worth). */
const CACHE_LIMIT = 8

export class CaseEvidence {
  readonly #cases: CaseService
  readonly #keys: KeyStore
  readonly #cache = new Map<string, Cached>()
  /** Called with a description when a bundle's numbers disagree with its case (logged by the app). */
  onMismatch: (detail: Record<string, unknown>) => void = () => {}

  constructor(cases: CaseService, keys: KeyStore) {
    this.#cases = cases
    this.#keys = keys
  }

  /** The signed bundle of a case as it stands; 404 for another tenant's case, 409 for an empty one. */
  bundle(tenantId: string, caseId: string): CaseBundle {
    const signer = this.#keys.signingKey(tenantId)
    for (let attempt = 0; ; attempt++) {
      // The case (with its running result) first, then its samples: a batch committed by another
      // process in between shows up as a sample count that differs, and the bundle is rebuilt.
      const info = this.#cases.get(tenantId, caseId)
      const hit = this.#cache.get(caseId)
      if (hit && hit.tenantId === tenantId && hit.samples === info.samples && hit.signerId === signer.signerId) {
        this.#cache.delete(caseId)
        this.#cache.set(caseId, hit)
        return hit
      }
      if (info.samples === 0) throw new ServerError('E_CASE_EMPTY', `case ${caseId.slice(0, 80)} has no samples yet; add samples before asking for its report or bundle`)
      const key = this.#keys.require(tenantId, info.keyId)
      const texts: CorpusText[] = []
      for (const s of this.#cases.allSamples(tenantId, caseId)) {
        texts.push({ id: s.id, text: s.text, ...(s.prompt !== null ? { prompt: s.prompt } : {}), provenance: provenanceOf(s) })
      }
      const bytes = createBundle(key, texts, signer, {
        dedup: info.dedup,
        normalize: info.normalize,
        case: { title: info.name, description: info.description ?? '' },
        notes: `tokenmark server case ${info.id}: ${texts.length} samples tested against key ${info.keyId}`,
      })
      const diff = texts.length === info.samples ? difference(bytes, info.result) : { samples: { case: info.samples, read: texts.length } }
      if (diff === undefined) {
        const out: Cached = { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), fileName: `${caseId}.tmev`, signerId: signer.signerId, tenantId, samples: info.samples }
        this.#cache.delete(caseId)
        this.#cache.set(caseId, out)
        if (this.#cache.size > CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string)
        return out
      }
      if (attempt >= 1) {
        this.onMismatch({ caseId, ...diff })
        throw new ServerError('E_INTERNAL', 'the evidence bundle does not agree with the case result')
      }
    }
  }

  /** The attribution report of a case, rendered from its bundle (verified against the tenant's public key). */
  report(tenantId: string, caseId: string, format: ReportFormat): { text: string; bundle: CaseBundle } {
    const bundle = this.bundle(tenantId, caseId)
    const text = renderReport(bundle.bytes, { format, publicKey: this.#keys.signingKey(tenantId).publicKey, bundleName: bundle.fileName })
    return { text, bundle }
  }
}

/**
 * A sample's chain of custody for the bundle: the server's sample id and receipt time, and the string and
 * number fields of the `source` the client sent (probe sends endpoint, model, requestId, time, sampleId).
 */
function provenanceOf(s: SampleInfo): Provenance {
  const out: Provenance = { serverSampleId: s.id, received: s.createdAt }
  for (const [k, v] of Object.entries(s.source ?? {})) if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v
  return out
}

/** Where a bundle's statistics differ from the case result, or undefined when they agree exactly. */
function difference(bytes: Uint8Array, r: CaseResult): Record<string, unknown> | undefined {
  const { body } = openBundle(bytes)
  const pairs: [string, unknown, unknown][] = [
    ['tokensTotal', body.statistics.tokensSeen, r.tokensTotal],
    ['tokensScored', body.statistics.tokensScored, r.tokensScored],
    ['value', body.statistics.value, r.value],
    ['statistic', body.method.statistic, r.statistic],
    ['log10P', body.result.log10P, r.log10P],
  ]
  const out: Record<string, unknown> = {}
  for (const [name, bundle, kase] of pairs) if (!Object.is(bundle, kase)) out[name] = { bundle, case: kase }
  return Object.keys(out).length ? out : undefined
}
