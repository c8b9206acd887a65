/** What the user named, loaded into @tokenmark/core objects: key files and tokenizers. */
import { readFileSync } from 'node:fs'
import { getTokenizer, huggingFaceTokenizer, parseKeyFile, TokenmarkError, type Tokenizer, type WatermarkKey } from '@tokenmark/core'
import { CliError } from './errors.js'
import { readInput } from './io.js'

export function loadKey(path: string): WatermarkKey {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  try {
    return parseKeyFile(text)
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(`${path}: ${e.message}`)
    throw e
  }
}

/**
 * The tokenizer a command was asked for: a built-in name (`--tokenizer`) or a Hugging Face
 * `tokenizer.json` file (`--tokenizer-file`, named `huggingface:<fingerprint>`); undefined for the key's own.
 */
export function resolveTokenizer(name: string | undefined, file: string | undefined): Tokenizer | undefined {
  if (name !== undefined && file !== undefined) throw new CliError('use either --tokenizer or --tokenizer-file')
  try {
    if (file !== undefined) return huggingFaceTokenizer(readInput(file))
    return name === undefined ? undefined : getTokenizer(name)
  } catch (e) {
    if (e instanceof TokenmarkError) throw new CliError(e.message)
    throw e
  }
}
