/** The one table of schemes: CLI, server, lab and reports look schemes up here by id. */
import { TokenmarkError } from '../errors.js'
import { gumbel } from './gumbel.js'
import { kgw } from './kgw.js'
import { synthid } from './synthid.js'
import type { Scheme, SchemeId } from './types.js'
import { unigram } from './unigram.js'

const SCHEMES: ReadonlyMap<string, Scheme> = new Map<string, Scheme>([
  [kgw.id, kgw],
  [gumbel.id, gumbel],
  [synthid.id, synthid],
  [unigram.id, unigram],
])

export function getScheme(id: string): Scheme {
  const s = SCHEMES.get(id)
  if (!s) throw new TokenmarkError('E_UNKNOWN_SCHEME', `unknown scheme "${String(id).slice(0, 40)}" (known: ${schemeIds().join(', ')})`)
  return s
}

export function schemeIds(): SchemeId[] {
  return [...SCHEMES.keys()] as SchemeId[]
}

export function listSchemes(): Scheme[] {
  return [...SCHEMES.values()]
}
