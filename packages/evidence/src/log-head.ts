/**
 * Signed serving-log heads (docs/spec.md#serving-log): the provider signs the head of its hash-chained
 * log with the evidence signing key, so a log handed over later can be checked against what was
 * vouched for at the time. The signed bytes are core's `logHeadMessage` (domain tag ‖ canonical head).
 */
import { fromBase64Url, logHeadMessage, toBase64Url, type LogHead, type ParsedLog } from '@tokenmark/core'
import { signerIdOf, verifySignature, type SigningKey } from './signing.js'

export interface SignedLogHead {
  head: LogHead
  signerId: string
  /** base64url Ed25519 public key. */
  publicKey: string
  /** base64url Ed25519 signature over logHeadMessage(head). */
  signature: string
  signedAt: string
}

export function signLogHead(head: LogHead, key: SigningKey, signedAt: Date = new Date()): SignedLogHead {
  return { head: { ...head }, signerId: key.signerId, publicKey: toBase64Url(key.publicKey), signature: toBase64Url(key.sign(logHeadMessage(head))), signedAt: signedAt.toISOString() }
}

/**
 * True when `signed` carries a valid signature over its head by `publicKey` (or, when not given, by the
 * key it names — which proves integrity only, not who signed). Never throws on malformed input.
 */
export function verifyLogHead(signed: SignedLogHead, publicKey?: Uint8Array): boolean {
  const pk = publicKey ?? (typeof signed?.publicKey === 'string' ? fromBase64Url(signed.publicKey) : undefined)
  const sig = typeof signed?.signature === 'string' ? fromBase64Url(signed.signature) : undefined
  if (!pk || !sig || !signed.head || typeof signed.head.head !== 'string') return false
  if (publicKey === undefined && signed.signerId !== signerIdOf(pk)) return false
  return verifySignature(sig, logHeadMessage(signed.head), pk)
}

/** What a signed head says about a log: whether its signature is valid and whether it covers the log. */
export interface LogHeadCheck {
  signerId: string
  signedAt: string
  valid: boolean
  coversHead: boolean
}

/**
 * Checks a signed head against a log whose chain has been verified (`chainOk`, core's verifyLog): the
 * signature (by `publicKey` when given, else by the key it names) and whether it covers the log. A head may
 * be older than the log: it covers the log's first `records` records. Never throws on malformed input.
 */
export function checkLogHead(signed: SignedLogHead, log: ParsedLog, chainOk: boolean, publicKey?: Uint8Array): LogHeadCheck {
  const valid = verifyLogHead(signed, publicKey)
  const h = signed?.head
  const covers =
    chainOk && h?.scheduleId === log.header.scheduleId && typeof h.records === 'number' && h.records <= log.records.length && (h.records === 0 ? true : log.records[h.records - 1]?.hash === h.head)
  return { valid, signerId: String(signed?.signerId), signedAt: String(signed?.signedAt), coversHead: covers }
}
