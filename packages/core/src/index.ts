// The public surface of @tokenmark/core. Nothing else: internals stay importable only from here.
export const VERSION = '0.1.0'

export { CodedError, TokenmarkError, type TokenmarkErrorCode } from './errors.js'
export { PRF_VERSION, sipHashBytes, sipHashWords, sipKeyFromBytes, word, fmix32, uniformFromWords, type SipKey } from './prf.js'
export { KeyedPrf, contextNeeded, type Seeding, type SeedingRule } from './seeding.js'
export { seededRng, splitmix32, Xoshiro128, type Rng } from './rng.js'
export { toBase64Url, fromBase64Url, toHex, canonicalJson, equalBytes, loneSurrogateAt } from './bytes.js'
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
export { prepareKey, scoreTokens, forEachTuple, createAccumulator, SkipReason, REASON_NAMES, type ReasonName, type PreparedKey, type ScoreOptions, type TokenMarks, type ContextFilter } from './scoring.js'
export { testAccumulator, tailTest, type TestResult } from './significance.js'
export { mostSignificantWindow, type WindowResult } from './window.js'
export { detect, type DetectOptions, type DetectionResult, type Decision, type TokenMark, type WindowReport, type KeyReport } from './detect.js'
export { outcomeOf, tokensNeeded, DEFAULT_ALPHA, NO_DEDUP_WARNING, OUTCOME_SCHEMA, type Outcome, type OutcomeOptions, type SkippedTokens } from './outcome.js'
export { diagnose, type Diagnosis, type DiagnosisRow, type DiagnoseOptions, type Mismatch } from './diagnose.js'
export { Scorer, scoreBatch, type ScorerOptions, type ScoredText, type AddOptions, type NormalizationLog } from './scorer.js'
export * from './stats/index.js'
export * from './tokenizers/index.js'
export * from './normalize.js'
export { conformanceVectors, conformanceHash, type ConformanceVectors } from './conformance.js'
export { EmissionFilter } from './emission.js'
export { eProcess, eValueFor, type EValue } from './evalue.js'
export { CorpusScanner, corpusResult, type CorpusOptions, type CorpusResult } from './corpus.js'
export {
  KeySchedule,
  generateSchedule,
  parseSchedule,
  parseScheduleDescription,
  resolveScheduleParams,
  SCHEDULE_FILE_FORMAT,
  SCHEDULE_PUBLIC_FORMAT,
  SCHEDULE_VERSION,
  type Canary,
  type CohortKey,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleParams,
} from './schedule.js'
export { scheduleVectors } from './schedule-vectors.js'
export {
  ServingLog,
  parseLog,
  verifyLog,
  selectRecords,
  logStats,
  accountsOf,
  recordHash,
  textHash,
  logHeadMessage,
  LOG_FORMAT,
  LOG_VERSION,
  type LogHeader,
  type LogRecord,
  type LogEntry,
  type LogHead,
  type ParsedLog,
  type LogVerification,
  type LogSelection,
  type LogStats,
} from './servelog.js'
export { ScheduleScorer, holmAdjust, logKeyFilters, type KeyFilters, type ScheduleResult, type CohortTest, type EpochTest, type GroupTest } from './replay.js'
export { traceText, type TraceResult } from './trace.js'
export { ShardAccumulator, ShardScanner, shardOf, parseShardSpec, MAX_SHARDS, reduceShard, ShardReducer, type RoutedBlock, type ShardSpec, type ShardPart, type ScanIdentity } from './shard.js'
export {
  shardPartToBytes,
  shardPartFromBytes,
  readShardSummary,
  readShardHead,
  mergeShardSummaries,
  shardCounts,
  addShardCounts,
  type ShardCounts,
  shardPartHash,
  merkleRoot,
  mergeShardParts,
  mergedResult,
  PART_HEAD,
  type ShardSummary,
  type PartHashing,
  type Sha256,
  type MergedShards,
  type ShardedResult,
} from './shard-part.js'
export { CorpusDigest, scanSettingsDigest, filterSha256, type ScanSettings } from './scan-identity.js'
export { TupleRouter, replayEvents, routerSettings, type RouteCounts, type RouterOptions } from './shard-route.js'
