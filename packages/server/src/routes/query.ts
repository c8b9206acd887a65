/** Query-string numbers: validated as digit strings by the schema, converted and range-checked here. */
import { ServerError } from '../errors.js'

export const intQuery = (description: string) => ({ type: 'string', pattern: '^[0-9]{1,9}$', description }) as const
export const numberQuery = (description: string) => ({ type: 'string', maxLength: 40, description }) as const

export function intParam(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new ServerError('E_VALIDATION', `querystring/${name} must be an integer in ${min}..${max}`)
  return n
}

export function alphaParam(raw: string | undefined, def: number): number {
  if (raw === undefined) return def
  const n = Number(raw)
  if (raw.trim() === '' || !(n > 0 && n < 1)) throw new ServerError('E_VALIDATION', 'querystring/alpha must be a number in (0, 1)')
  return n
}
