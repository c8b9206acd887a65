// The public surface of @tokenmark/core. Nothing else: internals stay importable only from here.
export const VERSION = '0.1.0'

export { TokenmarkError, type TokenmarkErrorCode } from './errors.js'
export { PRF_VERSION, sipHashBytes, sipHashWords, sipKeyFromBytes, word, fmix32, uniformFromWords, type SipKey } from './prf.js'
export { KeyedPrf, contextNeeded, type Seeding, type SeedingRule } from './seeding.js'
export { seededRng, Xoshiro128, type Rng } from './rng.js'
export { toBase64Url, fromBase64Url, toHex, canonicalJson, equalBytes } from './bytes.js'
export {
  WatermarkKey,
  generateKey,
  keyFromSecret,
  parseKeyFile,
  resolveConfig,
  DEFAULT_TOKENIZER,
  KEY_FILE_FORMAT,
  KEY_FILE_VERSION,
  type KeyConfig,
  type KeyConfigInput,
  type PublicKeyInfo,
} from './keys.js'
export { getScheme, schemeIds, listSchemes } from './schemes/registry.js'
export type { Scheme, SchemeId, SchemeParams, ParamValue, PreparedScheme, NullModel, StatisticName } from './schemes/types.js'
export { greenThreshold } from './schemes/greenlist.js'
export { CandidateDistribution, plainSampler, resolveSampling, type SamplingOptions, type NextTokenSampler, type ResolvedSampling } from './sampling.js'
export { watermarkSampler, biasLogits } from './embed.js'
export { TupleSet, type TupleFilter } from './tupleset.js'
export { Accumulator, type SkipCounts } from './accumulate.js'
export { prepareKey, scoreTokens, forEachTuple, createAccumulator, SkipReason, type PreparedKey, type ScoreOptions, type TokenMarks, type ContextFilter } from './scoring.js'
export { testAccumulator, tailTest, type TestResult } from './significance.js'
export { mostSignificantWindow, type WindowResult } from './window.js'
export { detect, DEFAULT_ALPHA, type DetectOptions, type DetectionResult, type TokenMark, type WindowReport, type KeyReport } from './detect.js'
export * from './stats/index.js'
export * from './tokenizers/index.js'
export * from './normalize.js'
export { conformanceVectors, conformanceHash, type ConformanceVectors } from './conformance.js'
export { EmissionFilter } from './emission.js'
export { eProcess, eValueFor, type EValue } from './evalue.js'
export { CorpusScanner, corpusResult, scoreSample, tokensNeeded, type CorpusOptions, type CorpusResult, type SampleScoring } from './corpus.js'
export {
  ShardAccumulator,
  ShardScanner,
  shardOf,
  parseShardSpec,
  shardPartToBytes,
  shardPartFromBytes,
  shardPartHash,
  merkleRoot,
  mergeShardParts,
  mergedResult,
  MAX_SHARDS,
  reduceShard,
  type RoutedBlock,
  type ShardSpec,
  type ShardPart,
  type MergedShards,
  type ShardedResult,
} from './shard.js'
export { TupleRouter, replayEvents, type RouteCounts, type RouterOptions } from './shard-route.js'
