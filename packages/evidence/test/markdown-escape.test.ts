/** The Markdown report quotes the case's title and description literally, as the HTML report does (issue 12). */
import { describe, expect, it } from 'vitest'
import { createBundle, renderReport } from '@tokenmark/evidence'
import { corpus, signer, watermarkKey } from './fixtures.js'

describe('Markdown report escaping', () => {
  const title = 'Acme <script>alert(1)</script> v. *Example* [click](javascript:alert(2))'
  const description = 'line one\n# not a heading <img src=x onerror=alert(3)> & `code` | pipe'
  const bundle = createBundle(watermarkKey, corpus(3, 40, 5).map((text) => ({ text })), signer, {
    created: new Date('2026-11-28T12:00:00Z'),
    case: { title, description },
  })
  const md = renderReport(bundle, { format: 'md', publicKey: signer.publicKey })

  it('lets no HTML tag, link or heading from the case name or description through', () => {
    const head = md.split('\n').slice(0, 3).join('\n')
    expect(head).not.toContain('<script>')
    expect(head).not.toContain('<img')
    expect(head).not.toMatch(/[^\\]\]\(javascript:/)
    expect(head).not.toMatch(/\n# not a heading/)
    expect(head).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(head).toContain('\\*Example\\*')
    expect(head).toContain('\\[click\\](javascript:alert(2))')
    expect(head).toContain('&amp; \\`code\\` \\| pipe')
  })
})
