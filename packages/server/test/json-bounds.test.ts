import fc from 'fast-check'
import { expect, test } from 'vitest'
import { jsonDepthExceeds, valueDepthExceeds } from '../src/json-bounds.js'

// The depth scan skips strings with indexOf (issue 12); what it must keep: the depth of the text is the depth
// of the value it parses to, whatever the strings hold (quotes, backslash runs, brackets).
test('the depth of a JSON text, strings skipped, is the depth of the value it parses to', () => {
  const tricky = fc.constantFrom('"', '\\', '\\"', '\\\\', '\\\\"', '[', ']', '{', '}', 'a', ' ', '\n', 'é', '😀')
  const str = fc.oneof(fc.string(), fc.array(tricky, { maxLength: 12 }).map((a) => a.join('')))
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, str, fc.integer(), fc.constant(null), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(str, tie('value'), { maxKeys: 4 }),
  }))
  fc.assert(
    fc.property(value, fc.integer({ min: 0, max: 8 }), fc.boolean(), (v, max, pretty) => {
      const text = pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v)
      expect(jsonDepthExceeds(text, max)).toBe(valueDepthExceeds(v, max))
    }),
    { seed: 12, numRuns: 2000 },
  )
})

test('a string ends at the first quote after an even run of backslashes; an unterminated one is not deeper', () => {
  expect(jsonDepthExceeds('{"a":"\\\\\\"[[[[","b":[[1]]}', 2)).toBe(true) // \\\" keeps the string open: the brackets are text
  expect(jsonDepthExceeds('{"a":"\\\\\\"[[[[","b":[1]}', 2)).toBe(false)
  expect(jsonDepthExceeds('{"a":"\\\\"}', 1)).toBe(false) // \\ then the closing quote
  expect(jsonDepthExceeds('{"a":"[[[[[[', 1)).toBe(false)
  expect(jsonDepthExceeds('[[["', 2)).toBe(true)
})
