/**
 * Built-in tokenizers by name. Key files and evidence name their tokenizer (`o200k_base`, ...); this is where
 * a name becomes an adapter. Tokenizers built from a file (`huggingFaceTokenizer`) are passed around as
 * objects instead, since their vocabulary travels with the file, not with this package.
 */
import { TokenmarkError } from '../errors.js'
import { GPT_ENCODING_NAMES, gptTokenizer, type GptEncodingName } from './gpt.js'
import type { Tokenizer } from './types.js'

/** Names `getTokenizer` accepts, in a stable order. */
export function tokenizerNames(): string[] {
  return [...GPT_ENCODING_NAMES]
}

/**
 * The built-in tokenizer called `name`. Cheap: vocabularies are built on the tokenizer's first use, and
 * every call with the same name returns the same instance.
 */
export function getTokenizer(name: string): Tokenizer {
  if ((GPT_ENCODING_NAMES as readonly string[]).includes(name)) return gptTokenizer(name as GptEncodingName)
  const shown = typeof name === 'string' ? `"${name.length > 60 ? name.slice(0, 60) + '…' : name}"` : String(name)
  throw new TokenmarkError(
    'E_UNKNOWN_TOKENIZER',
    `unknown tokenizer ${shown}; available: ${tokenizerNames().join(', ')} ` +
      '(for a Hugging Face model, load its tokenizer.json with huggingFaceTokenizer)',
  )
}
