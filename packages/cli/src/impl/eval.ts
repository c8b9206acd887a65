import { writeFileSync } from 'node:fs'
import { TokenmarkError, getTokenizer } from '@tokenmark/core'
import { DEFAULT_ATTACKS, LabError, attackNames, evalMarkdown, partModel, runEvalGrid, type AttackName, type AttackSetting } from '@tokenmark/lab'
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { parseNumber } from '../io.js'
import { loadReferenceModel } from '../model.js'

interface EvalCliOptions {
  schemes: string
  attacks?: string
  lengths: string
  texts: string
  seed: string
  model?: string
  out?: string
  json?: boolean
}

function list(flag: string, v: string): string[] {
  const xs = v.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (xs.length === 0) throw new CliError(`${flag} needs at least one value`)
  return xs
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluation grid: schemes × attacks × lengths on the reference model (TPR at FPR 1e-2/1e-4/1e-6, AUC, size, quality)')
    .option('--schemes <ids>', 'comma-separated scheme ids (default parameters)', 'kgw,gumbel,synthid,unigram')
    .option('--attacks <list>', `comma-separated name:strength (default ${DEFAULT_ATTACKS.map((a) => `${a.name}:${a.strength}`).join(',')})`)
    .option('--lengths <list>', 'text lengths in tokens', '25,50,100,200')
    .option('--texts <n>', 'texts per scheme (watermarked and as many unwatermarked)', '40')
    .option('--seed <s>', 'seed of keys, prompts, sampling and attacks', '1')
    .option('--model <file>', 'generator model file (default: the cached reference model)')
    .option('--out <file>', 'also write the full result as JSON to this file')
    .option('--json', 'print JSON instead of Markdown')
    .action((o: EvalCliOptions) => {
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
      try {
        const { model, tokenizer } = loadReferenceModel({ modelPath: o.model, log: (m) => process.stderr.write(`tokenmark: ${m}\n`) })
        const heldout = partModel(getTokenizer(tokenizer.name), 'heldout')
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
        process.stdout.write(o.json ? JSON.stringify(r, (_, v: unknown) => (v === Infinity ? 'Infinity' : v)) + '\n' : evalMarkdown(r))
      } catch (e) {
        if (e instanceof LabError || e instanceof TokenmarkError) throw new CliError(e.message)
        throw e
      }
    })
}
