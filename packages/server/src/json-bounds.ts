/**
 * Bounds on client JSON, and the canonical form of a JSON value.
 *
 * jsonDepthExceeds: the nesting depth of a JSON text, found without parsing it: one pass that counts `[` and `{`
 * outside strings (jumping over strings). Used to refuse deeply nested bodies before JSON.parse and the schema
 * validator walk them (issue 12: a million-deep array cost about a second of event loop per request).
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      // A string is skipped to its closing quote, the next '"' after an even run of backslashes, found with
      // indexOf: the texts that make up most of a body are jumped over natively rather than walked code
      // unit by code unit (a 128 KB batch: ~0.1 ms less event loop per request). Linear: each backslash
      // run is counted once, before the one quote that follows it.
      let j = text.indexOf('"', i + 1)
      for (;;) {
        if (j < 0) return false // unterminated: JSON.parse refuses it, and nothing deeper came before
        let k = j - 1
        while (text.charCodeAt(k) === 92 /* \ */) k--
        if ((j - 1 - k) % 2 === 0) break
        j = text.indexOf('"', j + 1)
      }
      i = j
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return false
}

/** Whether a parsed JSON value nests deeper than `max` (objects and arrays; a flat object is depth 1). */
export function valueDepthExceeds(value: unknown, max: number): boolean {
  // Iterative: the input is a client's, and recursion would be the stack overflow issue 12 reports.
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (d + 1 > max) return true
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, d + 1])
  }
  return false
}

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 orders them), so that the same object
 * serialised in another key order has one form and one hash. Recursive: callers bound the depth first.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const o = value as Record<string, unknown>
  const keys = Object.keys(o).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`
}

/**
 * Schema keywords for free-form client objects (a sample's `source`): `x-maxDepth` bounds nesting and
 * `x-maxBytes` the UTF-8 size of the value's JSON. Registered on fastify's ajv (app.ts), so the bound is
 * part of the route schema and of the OpenAPI document.
 */
export function ajvBounds(ajv: AjvLike): AjvLike {
  ajv.addKeyword({ keyword: 'x-maxDepth', schemaType: 'number', errors: false, validate: (max: number, data: unknown) => !valueDepthExceeds(data, max) })
  // Checked after x-maxDepth in the schema's own order is not guaranteed, so the size is measured on a
  // depth-bounded walk too: stringify refuses nothing, but the body's own depth limit already holds it.
  ajv.addKeyword({ keyword: 'x-maxBytes', schemaType: 'number', errors: false, validate: (max: number, data: unknown) => Buffer.byteLength(JSON.stringify(data) ?? '') <= max })
  return ajv
}

interface AjvLike {
  addKeyword(def: { keyword: string; schemaType: string; errors: boolean; validate: (schema: number, data: unknown) => boolean }): unknown
}
