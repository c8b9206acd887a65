// The public surface of @tokenmark/evidence. Nothing else.
export { EvidenceError, type EvidenceErrorCode } from './errors.js'
export {
  EVIDENCE_FORMAT,
  EVIDENCE_VERSION,
  EVIDENCE_VERSIONS_READ,
  EVIDENCE_MEDIA_TYPE,
  EVIDENCE_EXTENSION,
  REASON_NAMES,
  readEvidenceBody,
  type EvidenceBody,
  type InputRecord,
  type PromptRecord,
  type CumulativePoint,
  type ExcerptRecord,
  type NullModelRecord,
  type ReasonName,
  type Provenance,
} from './body.js'
export { encodeCanonical, decodeCanonical, type Canonical } from './canonical.js'
export { SigningKey, generateSigningKey, parseSigningKeyFile, parsePublicKey, publicKeyFile, signerIdOf, verifySignature, SIGNING_KEY_FORMAT, PUBLIC_KEY_FORMAT } from './signing.js'
export { analyzeCorpus, outcomeRecord, type Analysis, type AnalysisOptions, type CorpusText } from './analyze.js'
export { createEvidence, createBundle, sealBundle, openBundle, signedMessage, SIGNING_CONTEXT, EVIDENCE_PACKAGE_VERSION, type EvidenceOptions, type OpenedBundle } from './bundle.js'
export { verify, type VerifyOptions, type VerifyResult, type VerifyCheck, type CheckId, type CheckStatus } from './verify.js'
export { renderReport, buildReport, renderHtml, renderMarkdown, reportModel, REPORT_FORMATS, REPORT_MEDIA_TYPES, type ReportFormat, type ReportOptions, type ReportModel, type ReproduceSources } from './report/index.js'
export { sha256Hex } from './hash.js'
export { tokenView, renderTokenViewFragment, renderTokenViewPage, TOKEN_VIEW_COLOURS, type TokenView, type TokenViewKind, type TokenViewSegment } from './report/token-view.js'
export { checkLogHead, signLogHead, verifyLogHead, type LogHeadCheck, type SignedLogHead } from './log-head.js'
export { analyzeSchedule, recordFilters, resultRecord, scheduleRecord, type ScheduleLogInput, type ScheduleRecord, type ScheduleResultRecord, type ScheduleGroupRecord, type ScheduleText, type ScheduleAnalysisOptions } from './schedule.js'
