/** help-facts.ts copies a few values so `--help` need not load core or lab: they must equal the originals. */
import { expect, test } from 'vitest'
import { schemeIds } from '@tokenmark/core'
import { DEFAULT_ATTACKS as LAB_ATTACKS, DISTILL_RHOS as LAB_RHOS } from '@tokenmark/lab'
import { DEFAULT_ATTACKS, DISTILL_RHOS, SCHEME_IDS } from '../src/help-facts.js'

test('the values --help shows equal core and lab', () => {
  expect(SCHEME_IDS).toEqual(schemeIds())
  expect(DEFAULT_ATTACKS).toEqual(LAB_ATTACKS)
  expect(DISTILL_RHOS).toEqual(LAB_RHOS)
})
