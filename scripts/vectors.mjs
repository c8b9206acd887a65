// Regenerates docs/vectors/prf.json and docs/vectors/schedule.json from the built core (`pnpm build`
// first). The test suite compares the committed files with what the current code computes, so a change
// to the PRF or to the schedule derivations cannot go unnoticed.
import { writeFileSync, mkdirSync } from 'node:fs'
import { conformanceVectors, scheduleVectors } from '../packages/core/dist/index.js'

mkdirSync(new URL('../docs/vectors/', import.meta.url), { recursive: true })
writeFileSync(new URL('../docs/vectors/prf.json', import.meta.url), JSON.stringify(conformanceVectors(), null, 1) + '\n')
writeFileSync(new URL('../docs/vectors/schedule.json', import.meta.url), JSON.stringify(scheduleVectors(), null, 1) + '\n')
console.log('wrote docs/vectors/prf.json and docs/vectors/schedule.json')
