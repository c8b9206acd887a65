/** Parameter validation shared by every scheme: one message style, naming the field and its range. */
import { TokenmarkError } from '../errors.js'
import type { SeedingRule } from '../seeding.js'

export function numberParam(
  raw: Record<string, unknown>,
  name: string,
  dflt: number,
  check: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean },
): number {
  const v = raw[name] ?? dflt
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TokenmarkError('E_BAD_PARAM', `parameter ${name} must be a finite number`)
  const { min, max } = check
  const tooLow = min !== undefined && (check.minExclusive ? v <= min : v < min)
  const tooHigh = max !== undefined && (check.maxExclusive ? v >= max : v > max)
  if (tooLow || tooHigh || (check.integer && !Number.isInteger(v))) {
    const lo = min === undefined ? '' : `${check.minExclusive ? '>' : '≥'} ${min}`
    const hi = max === undefined ? '' : `${check.maxExclusive ? '<' : '≤'} ${max}`
    const kind = check.integer ? 'a whole number' : 'a number'
    throw new TokenmarkError('E_BAD_PARAM', `parameter ${name} must be ${kind} ${[lo, hi].filter(Boolean).join(' and ')}`.trim())
  }
  return v
}

export function seedingParam(raw: Record<string, unknown>, allowed: SeedingRule[], dflt: SeedingRule): SeedingRule {
  const v = raw.seeding ?? dflt
  if (typeof v !== 'string' || !(allowed as string[]).includes(v)) {
    throw new TokenmarkError('E_BAD_PARAM', `parameter seeding must be one of ${allowed.join(', ')}`)
  }
  return v as SeedingRule
}

export function rejectUnknown(raw: Record<string, unknown>, known: string[], scheme: string): void {
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) throw new TokenmarkError('E_BAD_PARAM', `unknown parameter ${k} for scheme ${scheme} (known: ${known.join(', ')})`)
  }
}
