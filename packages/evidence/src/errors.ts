/** Stable error codes of @tokenmark/evidence. A message says what failed and what to do next; never a secret. */
export type EvidenceErrorCode =
  | 'E_BUNDLE_FORMAT'
  | 'E_BUNDLE_VERSION'
  | 'E_BUNDLE_FIELD'
  | 'E_SIGNING_KEY'
  | 'E_BAD_INPUT'

export class EvidenceError extends Error {
  readonly code: EvidenceErrorCode
  constructor(code: EvidenceErrorCode, message: string) {
    super(message)
    this.name = 'EvidenceError'
    this.code = code
  }
}
