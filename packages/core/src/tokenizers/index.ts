// Tokenizer adapters: the public part of src/tokenizers, re-exported by the package index.
export type { Tokenizer } from './types.js'
export { getTokenizer, tokenizerNames } from './registry.js'
export { gptTokenizer, GPT_ENCODING_NAMES, GPT_TOKENIZER_VERSION, type GptEncodingName } from './gpt.js'
export { huggingFaceTokenizer, HF_TOKENIZERS_VERSION } from './huggingface.js'
