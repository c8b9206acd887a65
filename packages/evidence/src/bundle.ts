/**
 * Evidence bundles (.tmev), docs/evidence-format.md. A bundle is one canonical MessagePack map
 *   { body: bin, format: "tokenmark-evidence", signature: bin(64), version: 2 }  (1 for older bundles, still read; 3 with a sharded scan's parts)
 * where `body` holds the canonical MessagePack encoding of the EvidenceBody and `signature` is
 * Ed25519 over SIGNING_CONTEXT ‖ body. Keeping the signed bytes as a byte string means a verifier
 * checks the signature over exactly the bytes in the file, with no re-encoding; canonical encoding
 * means those bytes are the only spelling of the body's content.
 */
import { conformanceHash, CorpusDigest, PRF_VERSION, toHex, VERSION as CORE_VERSION, type WatermarkKey } from '@tokenmark/core'
import type { ScheduleRecord } from './schedule.js'
import { shardsProblems, shardsRecord } from './shards.js'
import { analyzeCorpus, type Analysis, type AnalysisOptions, type CorpusText } from './analyze.js'
import { EVIDENCE_FORMAT, EVIDENCE_VERSION, EVIDENCE_VERSION_SHARDED, EVIDENCE_VERSIONS_READ, readEvidenceBody, type EvidenceBody } from './body.js'
import { decodeCanonical, encodeCanonical, type Canonical } from './canonical.js'
import { EvidenceError } from './errors.js'
import type { SigningKey } from './signing.js'

/** Version of this package, recorded in every bundle. */
export const EVIDENCE_PACKAGE_VERSION = '0.1.0'

/** Domain-separation prefix of the signed message: a bundle signature can mean nothing else. */
export const SIGNING_CONTEXT = 'tokenmark-evidence/v1\0'

export interface EvidenceOptions extends AnalysisOptions {
  case?: { title?: string; description?: string }
  /** The analyst's free-text notes. */
  notes?: string
  /** Keep the texts, prompts and emission filter in the bundle so anyone with the key can rerun the analysis (default true). */
  includeInputs?: boolean
  /** Creation time (default now). */
  created?: Date
  /** The schedule analysis of the same texts (scheduleRecord), sealed with the rest (docs/evidence-format.md#schedule). */
  schedule?: ScheduleRecord
  /**
   * The `.tmacc` parts of a sharded scan of the same texts (checked by the caller, e.g. mergeShardParts):
   * the bundle (version 3) records their heads, hashes and Merkle root, after checking that they add up to
   * this analysis and name its key, settings and texts (docs/evidence-format.md#shards).
   */
  shards?: readonly Uint8Array[]
}

let conformance: string | undefined
/** Hash of the PRF conformance vectors this build reproduces (computed once per process). */
function conformanceOfBuild(): string {
  conformance ??= conformanceHash()
  return conformance
}

function runtime(): string {
  const p = (globalThis as { process?: { version?: string } }).process
  return p?.version ? `node ${p.version}` : 'unknown'
}

/** Strips the texts (keeping their hashes) for a bundle made without inputs. */
function withoutInputs(a: Analysis): Analysis {
  return {
    ...a,
    inputs: { included: false, items: a.inputs.items.map(({ text: _t, prompt: _p, ...rest }) => rest) },
    prompts: { included: false, items: a.prompts.items.map(({ text: _t, ...rest }) => rest) },
    filter: a.filter ? (({ bytes: _b, ...rest }) => rest)(a.filter) : null,
    // Excerpts quote the texts; a bundle without inputs quotes nothing.
    excerpts: [],
  }
}

/** The body of a bundle: the analysis of `texts` with `key`, plus case, software and signer. */
export function createEvidence(key: WatermarkKey, texts: readonly CorpusText[], signer: SigningKey, opts: EvidenceOptions = {}): EvidenceBody {
  const digest = opts.shards ? new CorpusDigest() : undefined
  const analysis = analyzeCorpus(key, texts, { ...opts, corpusDigest: digest })
  const shards = opts.shards ? shardsRecord(key, opts.shards) : undefined
  if (shards) {
    const problems = shardsProblems(analysis, shards, key, toHex((digest as CorpusDigest).bytes()))
    if (problems.length > 0) throw new EvidenceError('E_BAD_INPUT', `the shard parts are not a scan of these texts: ${problems[0]}`)
  }
  return {
    format: EVIDENCE_FORMAT,
    version: shards ? EVIDENCE_VERSION_SHARDED : EVIDENCE_VERSION,
    created: (opts.created ?? new Date()).toISOString(),
    case: { title: opts.case?.title ?? '', description: opts.case?.description ?? '' },
    notes: opts.notes ?? '',
    software: { name: 'tokenmark', version: CORE_VERSION, evidenceVersion: EVIDENCE_PACKAGE_VERSION, prfVersion: PRF_VERSION, conformanceHash: conformanceOfBuild(), runtime: runtime() },
    signer: { id: signer.signerId, publicKey: signer.publicKey },
    ...(opts.includeInputs === false ? withoutInputs(analysis) : analysis),
    ...(opts.schedule ? { schedule: opts.schedule } : {}),
    ...(shards ? { shards } : {}),
  }
}

export function signedMessage(bodyBytes: Uint8Array): Uint8Array {
  const ctx = new TextEncoder().encode(SIGNING_CONTEXT)
  const out = new Uint8Array(ctx.length + bodyBytes.length)
  out.set(ctx)
  out.set(bodyBytes, ctx.length)
  return out
}

/** Encodes and signs a body; the signer must be the one the body names. */
export function sealBundle(body: EvidenceBody, signer: SigningKey): Uint8Array {
  if (body.signer.id !== signer.signerId) throw new EvidenceError('E_SIGNING_KEY', `the body names signer ${body.signer.id}, but the signing key is ${signer.signerId}`)
  const checked = readEvidenceBody(body)
  const bodyBytes = encodeCanonical(checked as unknown as Canonical)
  const signature = signer.sign(signedMessage(bodyBytes))
  return encodeCanonical({ body: bodyBytes, format: EVIDENCE_FORMAT, signature, version: checked.version === EVIDENCE_VERSION_SHARDED ? EVIDENCE_VERSION_SHARDED : EVIDENCE_VERSION })
}

/** Analyses a corpus and returns the signed bundle bytes. */
export function createBundle(key: WatermarkKey, texts: readonly CorpusText[], signer: SigningKey, opts: EvidenceOptions = {}): Uint8Array {
  return sealBundle(createEvidence(key, texts, signer, opts), signer)
}

export interface OpenedBundle {
  body: EvidenceBody
  /** The signed body bytes exactly as in the file. */
  bodyBytes: Uint8Array
  signature: Uint8Array
}

/**
 * Decodes a bundle's structure WITHOUT checking its signature (use verify() for that): strict
 * canonical MessagePack, the envelope's four fields, a body of format version 1 or 2.
 * Throws EvidenceError saying which part is malformed.
 */
export function openBundle(bytes: Uint8Array): OpenedBundle {
  if (!(bytes instanceof Uint8Array)) throw new EvidenceError('E_BAD_INPUT', 'a bundle is bytes (Uint8Array)')
  const env = decodeCanonical(bytes, 'bundle')
  if (env === null || typeof env !== 'object' || Array.isArray(env) || env instanceof Uint8Array) {
    throw new EvidenceError('E_BUNDLE_FORMAT', 'not a tokenmark evidence bundle (the file is not a MessagePack map)')
  }
  const e = env as Record<string, unknown>
  if (e.format !== EVIDENCE_FORMAT) throw new EvidenceError('E_BUNDLE_FORMAT', `not a tokenmark evidence bundle (field format must be "${EVIDENCE_FORMAT}")`)
  if (!EVIDENCE_VERSIONS_READ.includes(e.version as number)) {
    throw new EvidenceError('E_BUNDLE_VERSION', `bundle format version ${JSON.stringify(e.version)?.slice(0, 20)} is not supported (this build reads versions ${EVIDENCE_VERSIONS_READ.join(' and ')})`)
  }
  for (const k of Object.keys(e)) {
    if (!['body', 'format', 'signature', 'version'].includes(k)) throw new EvidenceError('E_BUNDLE_FORMAT', `bundle has an unknown top-level field "${k.slice(0, 40)}"`)
  }
  if (!(e.body instanceof Uint8Array)) throw new EvidenceError('E_BUNDLE_FORMAT', 'bundle field body must be bytes')
  if (!(e.signature instanceof Uint8Array) || e.signature.length !== 64) throw new EvidenceError('E_BUNDLE_FORMAT', 'bundle field signature must be 64 bytes')
  const body = readEvidenceBody(decodeCanonical(e.body, 'bundle body'))
  if (body.format !== e.format || body.version !== e.version) throw new EvidenceError('E_BUNDLE_FORMAT', 'bundle body format or version differs from the envelope')
  return { body, bodyBytes: e.body, signature: e.signature }
}
