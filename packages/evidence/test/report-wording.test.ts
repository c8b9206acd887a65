/**
 * Report wording and layout (issue 15 §5): the verdict is about the corpus taken together and counts the texts
 * significant alone; the significance level says when it was set and by whom, not "fixed in advance"; the
 * cumulative curve has a sentence on why it can fall; input hashes are collapsed in HTML, kept in JSON.
 */
import { describe, expect, it } from 'vitest'
import { buildReport, createBundle, renderReport } from '@tokenmark/evidence'
import { corpus, signer, watermarkKey } from './fixtures.js'

const created = new Date('2026-11-29T08:30:00Z')
// 6 strongly watermarked texts and 14 plain ones: significant together, not every text alone
const texts = [...corpus(6, 120, 41, watermarkKey), ...corpus(14, 60, 42)].map((text, i) => ({ text, id: `t${i + 1}` }))
const bundle = createBundle(watermarkKey, texts, signer, { created })

describe('report wording', () => {
  const model = buildReport(bundle)
  const alone = model.numbers.significantAlone

  it('speaks of the corpus taken together, with the number of texts significant on their own', () => {
    expect(model.verdict.detected).toBe(true)
    expect(alone).toBeGreaterThan(0)
    expect(alone).toBeLessThan(20)
    expect(model.verdict.sentence).toMatch(/^The corpus of 20 texts, taken together, carries the statistical watermark/)
    expect(model.verdict.sentence).toContain(`${alone} of the 20 texts are significant on their own at the same level`)
  })

  it('counts the texts alone from their own p-values against the level', () => {
    const expected = JSON.parse(renderReport(bundle, { format: 'json' })) as { numbers: { significantAlone: number } }
    expect(expected.numbers.significantAlone).toBe(alone)
  })

  it('says when the level was set and by whom; never "fixed in advance"', () => {
    const html = renderReport(bundle, { format: 'html' })
    const md = renderReport(bundle, { format: 'md' })
    for (const out of [html, md, JSON.stringify(model)]) {
      expect(out).not.toMatch(/fixed in advance|set in advance|fixed before/)
      expect(out).toContain(`set for this analysis, sealed 2026-11-29T08:30:00.000Z by signer ${signer.signerId}`)
    }
  })

  it('explains under the curve why it can fall', () => {
    const html = renderReport(bundle, { format: 'html' })
    expect(html).toMatch(/id="cumulative-note">The curve can fall as texts are added: a text with little or no watermark signal[^<]*dilutes/)
    expect(renderReport(bundle, { format: 'md' })).toContain('The curve can fall as texts are added')
  })

  it('collapses the input hashes in HTML and keeps every one in JSON', () => {
    const html = renderReport(bundle, { format: 'html' })
    expect(html).toMatch(/<details id="inputs"><summary>Inputs: 20 texts and the SHA-256 of each/)
    const open = html.indexOf('<details id="inputs">')
    const close = html.indexOf('</details>', open)
    const json = JSON.parse(renderReport(bundle, { format: 'json' })) as { custody: { inputs: { sha256: string }[] } }
    expect(json.custody.inputs).toHaveLength(20)
    for (const i of json.custody.inputs) {
      const at = html.indexOf(i.sha256)
      expect(at).toBeGreaterThan(open)
      expect(at).toBeLessThan(close)
    }
  })

  it('one text: "the text in this case", no count of texts alone', () => {
    const one = buildReport(createBundle(watermarkKey, [texts[0]], signer, { created }))
    expect(one.verdict.sentence).toMatch(/^The text in this case carries the statistical watermark/)
    expect(one.verdict.sentence).not.toContain('on their own')
  })
})
