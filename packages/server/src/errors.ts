/**
 * The server's error class. Every error a client sees is `{ error: { code, message } }` with a 4xx
 * status; the message says what to do next and never holds a secret, a stack trace or another
 * tenant's data.
 */
import { CodedError, TokenmarkError } from '@tokenmark/core'

export type ServerErrorCode =
  | 'E_VALIDATION'
  | 'E_UNAUTHORIZED'
  | 'E_FORBIDDEN'
  | 'E_NOT_FOUND'
  | 'E_NOT_ACCEPTABLE'
  | 'E_CONFLICT'
  | 'E_CASE_EMPTY'
  | 'E_IDEMPOTENCY_CONFLICT'
  | 'E_BODY_TOO_LARGE'
  | 'E_UNSUPPORTED_MEDIA_TYPE'
  | 'E_RATE_LIMITED'
  | 'E_UNAVAILABLE'
  | 'E_MASTER_SECRET'
  | 'E_STORE'
  | 'E_INTERNAL'

const STATUS: Record<ServerErrorCode, number> = {
  E_VALIDATION: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_NOT_ACCEPTABLE: 406,
  E_CONFLICT: 409,
  E_CASE_EMPTY: 409,
  E_IDEMPOTENCY_CONFLICT: 409,
  E_BODY_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_RATE_LIMITED: 429,
  E_UNAVAILABLE: 503,
  E_MASTER_SECRET: 500,
  E_STORE: 500,
  E_INTERNAL: 500,
}

export class ServerError extends CodedError<ServerErrorCode> {
  readonly statusCode: number
  constructor(code: ServerErrorCode, message: string) {
    super(code, message)
    this.statusCode = STATUS[code]
  }
}

export interface ErrorBody {
  error: { code: string; message: string }
}

/**
 * Status for a core error. Every core code describes bad input from the caller (a malformed key file,
 * an unknown scheme or tokenizer, a parameter out of range), so all map to 400; a key that does not
 * match its commitment is a 400 too, since the caller sent it.
 */
export function statusForCoreError(e: TokenmarkError): number {
  switch (e.code) {
    case 'E_ACCUMULATOR_FORMAT':
    case 'E_ACCUMULATOR_MISMATCH':
      // Accumulators come from our own store, never from a client: a mismatch is our fault.
      return 500
    default:
      return 400
  }
}
