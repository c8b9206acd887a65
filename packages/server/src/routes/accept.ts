/**
 * Content negotiation on `Accept` (RFC 9110 §12.5.1): media ranges with q-values, the most specific
 * range deciding each offered type's quality. A missing or empty header accepts anything. Among types
 * of equal quality the server's order of preference wins. Parameters other than q are ignored.
 */
import { ServerError } from '../errors.js'

interface Range {
  type: string
  subtype: string
  q: number
}

function parseAccept(header: string): Range[] {
  const out: Range[] = []
  for (const part of header.split(',')) {
    const [mt, ...params] = part.split(';').map((x) => x.trim())
    const m = /^([a-z0-9!#$%&'*+.^_`|~-]+)\/([a-z0-9!#$%&'*+.^_`|~-]+)$/i.exec(mt ?? '')
    if (!m) continue
    let q = 1
    for (const p of params) {
      const qm = /^q=([01](?:\.[0-9]{0,3})?)$/i.exec(p)
      if (qm) q = Math.min(1, Number(qm[1]))
    }
    out.push({ type: m[1].toLowerCase(), subtype: m[2].toLowerCase(), q })
  }
  return out
}

/** Quality of one offered type: that of the most specific matching range, 0 when none matches. */
function quality(ranges: readonly Range[], offered: string): number {
  const [type, subtype] = offered.toLowerCase().split('/')
  let best = -1
  let q = 0
  for (const r of ranges) {
    const spec = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1
    if (spec > best) {
      best = spec
      q = r.q
    }
  }
  return q
}

/**
 * The offered media type (bare `type/subtype`, in the server's order of preference) the client accepts
 * best, or a 406 in the error format naming what can be produced.
 */
export function negotiate<T extends string>(header: string | undefined, offered: readonly T[]): T {
  if (header === undefined || header.trim() === '') return offered[0]
  const ranges = parseAccept(header)
  let pick: T | undefined
  let pickQ = 0
  for (const o of offered) {
    const q = quality(ranges, o)
    if (q > pickQ) {
      pick = o
      pickQ = q
    }
  }
  if (pick === undefined) {
    throw new ServerError('E_NOT_ACCEPTABLE', `cannot answer with any type in Accept "${header.slice(0, 100)}"; ask for one of ${offered.join(', ')}`)
  }
  return pick
}
