/** Stable error codes of @tokenmark/core. A message tells the user what to do next and never holds a secret. */
export type TokenmarkErrorCode =
  | 'E_KEY_FORMAT'
  | 'E_KEY_VERSION'
  | 'E_KEY_FIELD'
  | 'E_KEY_LENGTH'
  | 'E_KEY_MISMATCH'
  | 'E_UNKNOWN_SCHEME'
  | 'E_BAD_PARAM'
  | 'E_UNKNOWN_TOKENIZER'
  | 'E_TOKENIZER_FILE'
  | 'E_TEXT_TOO_SHORT'
  | 'E_BAD_INPUT'
  | 'E_ACCUMULATOR_FORMAT'
  | 'E_ACCUMULATOR_MISMATCH'

/**
 * The one coded error base of tokenmark: every package's error class (core's TokenmarkError, lab's
 * LabError, evidence's EvidenceError, the server's ServerError) extends it, so a caller handles them
 * all once — the CLI's main prints `tokenmark: <message>` and exits 2 for any CodedError. The message
 * tells the user what to do next and never holds a secret.
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C
  constructor(code: C, message: string) {
    super(message)
    this.name = new.target.name
    this.code = code
  }
}

export class TokenmarkError extends CodedError<TokenmarkErrorCode> {}
