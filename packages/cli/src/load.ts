/** What the user named, loaded into @tokenmark/core objects: key files, emission filters and tokenizers. */
import { EmissionFilter, getTokenizer, huggingFaceTokenizer, parseKeyFile, TokenmarkError, type Tokenizer, type WatermarkKey } from '@tokenmark/core'
import { CliError } from './errors.js'
import { parseFile, readFileBytes, readFileText, readInput } from './io.js'

export function loadKey(path: string): WatermarkKey {
  return parseFile(path, () => parseKeyFile(readFileText(path, 'key file')), TokenmarkError)
}

/** An emission filter file (EmissionFilter.toBytes()), as `scan --filter` and `report --filter` take it. */
export function loadFilter(path: string): EmissionFilter {
  return parseFile(path, () => EmissionFilter.fromBytes(readFileBytes(path, 'emission filter')), TokenmarkError)
}

/**
 * The tokenizer a command was asked for: a built-in name (`--tokenizer`) or a Hugging Face
 * `tokenizer.json` file (`--tokenizer-file`, named `huggingface:<fingerprint>`); undefined for the key's own.
 */
export function resolveTokenizer(name: string | undefined, file: string | undefined): Tokenizer | undefined {
  if (name !== undefined && file !== undefined) throw new CliError('use either --tokenizer or --tokenizer-file')
  if (file !== undefined) return huggingFaceTokenizer(readInput(file))
  return name === undefined ? undefined : getTokenizer(name)
}
