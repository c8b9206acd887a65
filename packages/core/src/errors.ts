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

export class TokenmarkError extends Error {
  readonly code: TokenmarkErrorCode
  constructor(code: TokenmarkErrorCode, message: string) {
    super(message)
    this.name = 'TokenmarkError'
    this.code = code
  }
}
