import { CodedError } from '@tokenmark/core'
/** Stable error codes of @tokenmark/lab. A message tells the user what to do next. */
export type LabErrorCode =
  | 'E_BAD_PARAM'
  | 'E_BAD_INPUT'
  | 'E_MODEL_FORMAT'
  | 'E_CORPUS'

/** The one error class of @tokenmark/lab (CONVENTIONS.md: one class per package, stable `code`), on core's CodedError. */
export class LabError extends CodedError<LabErrorCode> {}

/** Throws E_BAD_PARAM unless `x` is a finite number in [lo, hi]. */
export function checkRange(name: string, x: number, lo: number, hi: number): void {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi) {
    throw new LabError('E_BAD_PARAM', `${name} must be a number in [${lo}, ${hi}], got ${String(x)}`)
  }
}

/** Throws E_BAD_PARAM unless `x` is an integer in [lo, hi]. */
export function checkInt(name: string, x: number, lo: number, hi: number): void {
  if (!Number.isInteger(x) || x < lo || x > hi) {
    throw new LabError('E_BAD_PARAM', `${name} must be an integer in [${lo}, ${hi}], got ${String(x)}`)
  }
}
