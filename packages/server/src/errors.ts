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
  | 'E_TIMEOUT'
  | 'E_CASE_LIMIT'
  | 'E_CASE_TOO_LARGE'
  | 'E_SERVING_KEY'
  | 'E_LOG_INVALID'

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
  E_TIMEOUT: 503,
  E_CASE_LIMIT: 422,
  E_CASE_TOO_LARGE: 413,
  /** A sample of a case bound to a key schedule names no serving key, or one the schedule never served. */
  E_SERVING_KEY: 422,
  /** A serving log that does not verify against the case's schedule, or a signed head that does not cover it. */
  E_LOG_INVALID: 422,
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

export const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }

/** The body of an error Node's HTTP parser raised before any request existed (see app.ts). */
export function clientErrorBody(status: number): ErrorBody {
  if (status === 431) return { error: { code: 'E_HEADERS_TOO_LARGE', message: 'request headers are larger than the server accepts' } }
  if (status === 408) return { error: { code: 'E_REQUEST_TIMEOUT', message: 'the request was not received in time; send it again, faster' } }
  return { error: { code: 'E_BAD_REQUEST', message: 'malformed HTTP request' } }
}

/**
 * A failed database write, by cause (better-sqlite3's SqliteError codes): the store is read-only, full,
 * locked by another process or failing to do I/O. These are the operator's to fix, not the client's, and
 * a retry may succeed elsewhere or later: 503 with a code that names the cause (issue 12).
 */
export function storeErrorReply(err: unknown): { code: string; message: string } | undefined {
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') return undefined
  const cause = code.startsWith('SQLITE_') ? sqliteCause(code) : code.startsWith('PG_') ? pgCause(code.slice(3)) : undefined
  return cause === undefined ? undefined : { code: cause, message: STORE_MESSAGES[cause] }
}

const STORE_MESSAGES = {
  E_STORE_READONLY: 'the database is read-only; nothing was written. Retry after the operator restores write access',
  E_STORE_FULL: 'the database or its disk is full; nothing was written. Retry after the operator frees space',
  E_STORE_BUSY: 'the database is locked by another writer; retry shortly',
  E_STORE_IO: 'the database cannot be read or written (I/O error); retry later',
} as const
type StoreCause = keyof typeof STORE_MESSAGES

function sqliteCause(code: string): StoreCause | undefined {
  if (code.startsWith('SQLITE_READONLY')) return 'E_STORE_READONLY'
  if (code.startsWith('SQLITE_FULL')) return 'E_STORE_FULL'
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'E_STORE_BUSY'
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) return 'E_STORE_IO'
  return undefined
}

/** PostgreSQL SQLSTATEs (appendix A of its manual) by the same causes; store-pg.ts prefixes them with PG_. */
function pgCause(state: string): StoreCause | undefined {
  if (state === '25006' || state === '42501') return 'E_STORE_READONLY' // read_only_sql_transaction, insufficient_privilege
  if (state.startsWith('53')) return 'E_STORE_FULL' // insufficient resources: disk_full, out_of_memory, too_many_connections
  if (state === '55P03' || state === '40001' || state === '40P01' || state === '57014') return 'E_STORE_BUSY' // lock_not_available, serialization, deadlock, canceled (timeout)
  // connection, shutdown and system errors; not a SQLSTATE at all: the socket's (ECONNREFUSED, ECONNRESET, …) or none
  if (state.startsWith('08') || state.startsWith('57P') || state.startsWith('58') || !/^[0-9A-Z]{5}$/.test(state)) return 'E_STORE_IO'
  return undefined
}
