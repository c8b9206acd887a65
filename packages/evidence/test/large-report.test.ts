/**
 * A report over a large corpus: the per-text distribution plot takes one z-score per text, and a corpus of
 * ~10⁵ texts once overflowed the stack (Math.min(...zs) passes each as an argument).
 */
import { expect, test } from 'vitest'
import { cumulativePlot, distributionPlot } from '../src/report/svg.js'

test('the distribution plot of 300,000 texts draws with the extreme z-scores as its bounds', () => {
  const zs = Array.from({ length: 300_000 }, (_, i) => ((i * 7919) % 2001) / 100 - 10) // −10 … 10
  const svg = distributionPlot(zs)
  expect(svg).toContain('<svg')
  expect(svg).toContain('>-10<') // axis from ⌊min⌋ …
  expect(svg).toContain('>10<') // … to ⌈max⌉
})

test('the cumulative plot of a bundle holding 300,000 points draws (a bundle from a file may hold any number)', () => {
  const pts = Array.from({ length: 300_000 }, (_, i) => ({ tokensScored: 10 * (i + 1), log10P: -i / 10_000 }))
  const svg = cumulativePlot(pts, -6)
  expect(svg).toContain('<svg')
  expect(svg).toContain('L') // the curve's path
})
