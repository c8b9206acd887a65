/**
 * All attacks in one table keyed by name, with one calling convention, so an evaluation grid loops over
 * them without knowing any of them (CONVENTIONS.md: "one interface, many schemes").
 */
import { LabError } from '../errors.js'
import type { TextCodec } from '../generate.js'
import type { LanguageModel } from '../ngram.js'
import type { AttackOptions } from './common.js'
import { copyPaste } from './copy-paste.js'
import { deleteTokens, insertTokens, swapAdjacent, truncateTokens } from './edit.js'
import { resampleSpans } from './resample.js'
import { substituteTokens } from './substitute.js'
import { changeCase, changeWhitespace, homoglyphs, zeroWidth } from './text.js'

/** What an attack may need besides the ids: a model, a tokenizer, human text, the prompt. */
export interface AttackEnv {
  /** Unwatermarked model for insertion, substitution and re-sampling. */
  model: LanguageModel
  /** Decodes ids for text-level attacks and re-encodes their output. */
  tokenizer: TextCodec
  /** Human token ids for copy-paste. */
  human?: Uint32Array
  /** Prompt ids: context for the first tokens. */
  prefix?: Uint32Array
}

export interface AttackResult {
  /** Attacked token ids (text-level attacks: the re-encoded text, as a detector would see it). */
  ids: Uint32Array
  /** Attacked text (token-level attacks: the decoded ids). */
  text: string
}

export interface Attack {
  readonly name: AttackName
  /** 'token': edits ids; 'text': edits the decoded string. */
  readonly level: 'token' | 'text'
  /** What `strength` is a fraction of. */
  readonly unit: string
  apply(ids: Uint32Array, options: AttackOptions, env: AttackEnv): AttackResult
}

export type AttackName =
  | 'none'
  | 'delete'
  | 'insert'
  | 'substitute'
  | 'swap'
  | 'resample'
  | 'truncate'
  | 'copy-paste'
  | 'homoglyph'
  | 'zero-width'
  | 'case'
  | 'whitespace'

function tokenAttack(name: AttackName, unit: string, f: (ids: Uint32Array, o: AttackOptions, env: AttackEnv) => Uint32Array): Attack {
  return Object.freeze({
    name,
    level: 'token' as const,
    unit,
    apply: (ids: Uint32Array, o: AttackOptions, env: AttackEnv): AttackResult => {
      const out = f(ids, o, env)
      return { ids: out, text: env.tokenizer.decode(out) }
    },
  })
}

function textAttack(name: AttackName, unit: string, f: (text: string, o: AttackOptions) => string): Attack {
  return Object.freeze({
    name,
    level: 'text' as const,
    unit,
    apply: (ids: Uint32Array, o: AttackOptions, env: AttackEnv): AttackResult => {
      const text = f(env.tokenizer.decode(ids), o)
      return { ids: env.tokenizer.encode(text), text }
    },
  })
}

export const attacks: Readonly<Record<AttackName, Attack>> = Object.freeze({
  none: tokenAttack('none', 'nothing', (ids) => ids.slice()),
  delete: tokenAttack('delete', 'tokens deleted', deleteTokens),
  insert: tokenAttack('insert', 'tokens inserted, per original token', (ids, o, env) => insertTokens(ids, { ...o, model: env.model, prefix: env.prefix })),
  substitute: tokenAttack('substitute', 'tokens replaced', (ids, o, env) => substituteTokens(ids, { ...o, model: env.model, prefix: env.prefix })),
  swap: tokenAttack('swap', 'tokens moved by adjacent swaps', swapAdjacent),
  resample: tokenAttack('resample', 'tokens in re-sampled spans', (ids, o, env) => resampleSpans(ids, { ...o, model: env.model, prefix: env.prefix })),
  truncate: tokenAttack('truncate', 'tokens cut from the end', truncateTokens),
  'copy-paste': tokenAttack('copy-paste', 'human share of the result', (ids, o, env) => {
    if (env.human === undefined) throw new LabError('E_BAD_PARAM', 'copy-paste needs env.human: human token ids to paste into')
    return copyPaste(ids, { ...o, human: env.human })
  }),
  homoglyph: textAttack('homoglyph', 'letters with a homoglyph', homoglyphs),
  'zero-width': textAttack('zero-width', 'code points followed by a zero-width character', zeroWidth),
  case: textAttack('case', 'cased words', changeCase),
  whitespace: textAttack('whitespace', 'whitespace runs', changeWhitespace),
})

export const attackNames = Object.keys(attacks) as AttackName[]
