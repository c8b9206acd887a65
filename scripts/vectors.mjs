// Regenerates docs/vectors/prf.json from the built core (`pnpm build` first). The test suite compares
// the committed file with what the current code computes, so a change to the PRF cannot go unnoticed.
import { writeFileSync, mkdirSync } from 'node:fs'
import { conformanceVectors } from '../packages/core/dist/index.js'

mkdirSync(new URL('../docs/vectors/', import.meta.url), { recursive: true })
writeFileSync(new URL('../docs/vectors/prf.json', import.meta.url), JSON.stringify(conformanceVectors(), null, 1) + '\n')
console.log('wrote docs/vectors/prf.json')
