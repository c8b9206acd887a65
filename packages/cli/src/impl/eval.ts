/** What `tokenmark eval` does. Its options type lives here; commands/eval.ts declares the flags and loads this module only when it runs. */
import { writeFileSync } from 'node:fs'
import { getTokenizer } from '@tokenmark/core'
import { NeuralModel, attackNames, evalMarkdown, partModel, runEvalGrid, type AttackName, type AttackSetting } from '@tokenmark/lab'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import { loadGenerator } from '../model.js'

/** Options as commander parses them from the declaration below. */
export interface EvalCliOptions {
  schemes: string
  attacks?: string
  lengths: string
  texts: string
  seed: string
  model?: string
  /** The neural model (models/tinylm) instead of the n-gram reference model. */
  neural?: boolean
  out?: string
  json?: boolean
}

function list(flag: string, v: string): string[] {
  const xs = v.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (xs.length === 0) throw new CliError(`${flag} needs at least one value`)
  return xs
}

export function run(o: EvalCliOptions): void {
  const schemes = list('--schemes', o.schemes).map((scheme) => ({ scheme }))
  const attacks: AttackSetting[] | undefined =
    o.attacks === undefined
      ? undefined
      : list('--attacks', o.attacks).map((a) => {
          const [name, s = '0'] = a.split(':')
          if (!(attackNames as string[]).includes(name)) throw new CliError(`unknown attack "${name.slice(0, 40)}" (known: ${attackNames.join(', ')})`)
          const strength = parseNumber(`--attacks ${name}`, s)
          if (!(strength >= 0 && strength <= 1)) throw new CliError(`--attacks ${name}: strength must be in [0, 1]`)
          return { name: name as AttackName, strength }
        })
  const lengths = list('--lengths', o.lengths).map((x) => parseNumber('--lengths', x))
  if (lengths.some((x) => !Number.isInteger(x) || x < 1 || x > 100_000)) throw new CliError('--lengths must be whole numbers in [1, 100000]')
  const texts = parseNumber('--texts', o.texts)
  if (!Number.isInteger(texts) || texts < 1) throw new CliError('--texts must be a whole number ≥ 1')
  const seed = parseNumber('--seed', o.seed)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CliError('--seed must be a whole number in [0, 4294967295]')
  const { model, tokenizer } = loadGenerator({ neural: o.neural, modelPath: o.model, log: (m) => process.stderr.write(`tokenmark: ${m}\n`) })
  // quality: perplexity under an n-gram model of `heldout`, or under the neural model itself
  const heldout = model instanceof NeuralModel ? model : partModel(getTokenizer(tokenizer.name), 'heldout')
  const t0 = Date.now()
  const r = runEvalGrid(model, tokenizer, heldout, { schemes, attacks, lengths, texts, seed })
  process.stderr.write(`tokenmark: grid done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  if (o.out !== undefined) {
    try {
      writeFileSync(o.out, JSON.stringify(r, (_, v: unknown) => (v === Infinity ? 'Infinity' : v), 2) + '\n')
    } catch (e) {
      throw new CliError(`cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
    }
  }
  const quality = heldout === model ? { quality: 'perplexity under the neural model itself (each text read from its start, without its prompt)' } : {}
  process.stdout.write(o.json ? JSON.stringify(r, (_, v: unknown) => (v === Infinity ? 'Infinity' : v)) + '\n' : evalMarkdown(r, quality))
}
