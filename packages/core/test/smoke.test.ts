import { expect, test } from 'vitest'
import { VERSION } from '@tokenmark/core'
test('exports a version', () => { expect(VERSION).toMatch(/^\d+\.\d+\.\d+$/) })
