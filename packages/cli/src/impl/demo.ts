/** What `tokenmark demo` does. Its options type lives here; commands/demo.ts declares the flags and loads this module only when it runs. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { detect, generateKey, seededRng, watermarkSampler, type DetectionResult } from '@tokenmark/core'
import { generate, prompts } from '@tokenmark/lab'
import { formatP } from '../format.js'
import { writeSecretFile } from '../io.js'
import { loadReferenceModel } from '../model.js'

/** Options as commander parses them from the declaration below. */
export interface DemoCliOptions {
  dir?: string
  scheme: string
  tokens: string
  seed: string
}

export function run(o: DemoCliOptions): void {
  const say = (s = '') => process.stdout.write(s + '\n')
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'tokenmark-demo-'))
  const n = Number(o.tokens)
  const seed = Number(o.seed)
  say('tokenmark demo — everything below runs locally on embedded defaults\n')
  const { model, tokenizer } = loadReferenceModel({ log: (m) => say(`1. ${m}`) })

  const key = generateKey({ scheme: o.scheme, tokenizer: tokenizer.name })
  const other = generateKey({ scheme: o.scheme, tokenizer: tokenizer.name })
  writeSecretFile(join(dir, 'provider.tmkey'), key.toKeyFile())
  writeSecretFile(join(dir, 'other.tmkey'), other.toKeyFile())
  say(`2. made key ${key.keyId} (${key.scheme} ${JSON.stringify(key.config.params)}) and a second key ${other.keyId}`)
  say(`   key files in ${dir} (mode 0600); commitment ${key.commitment.slice(0, 24)}…`)

  const prompt = prompts()[3]
  const marked = generate(model, tokenizer, prompt, {
    maxTokens: n,
    sampler: watermarkSampler(key, { temperature: 1, topK: 100 }, seededRng(seed)),
  })
  const plain = generate(model, tokenizer, prompt, { maxTokens: n, temperature: 1, topK: 100, seed: seed + 1 })
  say(`3. generated ${marked.ids.length} watermarked tokens after the prompt "${prompt.slice(0, 60)}…":`)
  say(`   "${marked.text.replace(/\s+/g, ' ').trim().slice(0, 240)}…"\n`)

  const line = (label: string, r: DetectionResult) =>
    say(`   ${label.padEnd(34)} ${r.detected ? 'DETECTED    ' : 'not detected'}  p = ${formatP(r.log10P).padEnd(9)} (${r.tokensScored} tokens scored)`)
  say('4. detection (alpha = 1e-6):')
  line('watermarked text, provider key', detect({ text: marked.text, keys: key }))
  line('watermarked text, other key', detect({ text: marked.text, keys: other }))
  line('unwatermarked text, provider key', detect({ text: plain.text, keys: key }))
  say('\nTry it yourself:')
  say(`   npm run tokenmark -- detect --key ${join(dir, 'provider.tmkey')} FILE.txt`)
}
