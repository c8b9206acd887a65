/** @tokenmark/lab — reference n-gram language model, generation and attacks (Node-only). */
export { LabError, type LabErrorCode } from './errors.js'
export { createRng, subSeed, type Rng } from './rng.js'
export {
  NGramModel,
  countNGrams,
  estimateDiscounts,
  type LanguageModel,
  type NGramLevel,
  type NGramStats,
  type NGramTables,
  type NGramTrainOptions,
  type Candidates,
  type SparseDistribution,
} from './ngram.js'
export {
  PART_TARGETS,
  corpusPart,
  corpusSummary,
  stateOfTheUnion,
  leadingSentences,
  mobyDickChapters,
  prompts,
  type Chapter,
  type CorpusPart,
  type PartSummary,
  type PromptOptions,
} from './corpus.js'
export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  loadModel,
  loadModelFile,
  saveModel,
  saveModelFile,
  type LoadedModel,
  type SaveOptions,
} from './serialize.js'
export { checkSampling, type NextTokenSampler, type SamplingOptions } from './sampler.js'
export {
  generate,
  generateIds,
  type GenerateOptions,
  type Generation,
  type IdGeneration,
  type StopAt,
  type StopReason,
  type TextCodec,
} from './generate.js'
export type { AttackOptions } from './attacks/common.js'
export { deleteTokens, insertTokens, swapAdjacent, truncateTokens, type ModelAttackOptions } from './attacks/edit.js'
export { nextBest, substituteTokens } from './attacks/substitute.js'
export { resampleSpans, type ResampleOptions } from './attacks/resample.js'
export { copyPaste, type CopyPasteOptions } from './attacks/copy-paste.js'
export { HOMOGLYPHS, ZERO_WIDTH, changeCase, changeWhitespace, homoglyphs, zeroWidth } from './attacks/text.js'
export { attackNames, attacks, type Attack, type AttackEnv, type AttackName, type AttackResult } from './attacks/registry.js'
export { cachedReferenceModel, encodeCorpus, trainReferenceModel, type ReferenceModelOptions } from './reference.js'
export { kolmogorovTail, ksUniform, type KsResult } from './eval/ks.js'
export {
  DISTILL_KEY_CONFIG,
  DISTILL_FILTERS,
  DISTILL_RHOS,
  distillKey,
  Distillation,
  harvestedResponses,
  mixTrainingSet,
  parseDistillFilter,
  partModel,
  probeStudent,
  resolveDistillOptions,
  recordFilter,
  runDistillation,
  scanAnswers,
  scanAnswersStream,
  serveTeacher,
  splitPrompts,
  type DistillFilter,
  type DistillOptions,
  type DistillRow,
  type DistillSetup,
  type Exchange,
  type ServedResponses,
  type TrainingMix,
} from './distill/simulate.js'
export { distillMarkdown, formatRho, pow10Text } from './distill/table.js'
export { auc, detectionLength, distinctN, median, rateBelow } from './eval/metrics.js'
export { DEFAULT_ATTACKS, FPRS, evalMarkdown, runEvalGrid, type PerplexityModel, type AttackSetting, type EvalCell, type EvalOptions, type EvalResult, type QualityRow, type SizeRow } from './eval/grid.js'
export {
  ATTRIBUTION_COHORTS,
  ATTRIBUTION_PROBES,
  ATTRIBUTION_RHOS,
  Attribution,
  resolveAttributionOptions,
  runAttribution,
  simulationSchedule,
  type AttributionOptions,
  type AttributionProbe,
  type AttributionRow,
} from './distill/attribution.js'
export { attributionMarkdown } from './distill/attribution-table.js'
export { NeuralModel, neuralModelDir, neuralTokenizer } from './neural/model.js'
