import { CodedError } from '@tokenmark/core'
/** Stable error codes of @tokenmark/evidence. A message says what failed and what to do next; never a secret. */
export type EvidenceErrorCode =
  | 'E_BUNDLE_FORMAT'
  | 'E_BUNDLE_VERSION'
  | 'E_BUNDLE_FIELD'
  | 'E_SIGNING_KEY'
  | 'E_BAD_INPUT'

/** The one error class of @tokenmark/evidence, on core's CodedError. */
export class EvidenceError extends CodedError<EvidenceErrorCode> {}
