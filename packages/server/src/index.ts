// The public surface of @tokenmark/server.
export { buildServer, errorReply, REDACT_PATHS, DEFAULT_LIMITS, type BuildServerOptions, type RateLimitOptions, type ServerLimits } from './app.js'
export { startServer, bootstrap, checkPortFree, type StartOptions, type RunningServer, type BootstrapResult } from './serve.js'
export { SqliteStore, SCHEMA_VERSION, type Store, type StoreOptions, type CaseRow, type CaseMeta, type SampleRow, type KeyRow, type SigningKeyRow, type TokenRow, type TenantRow, type ScheduleRow, type CaseLogRow } from './store.js'
export { PgStore, PgStoreError, isPostgresUrl } from './store-pg.js'
export { openStore } from './open-store.js'
export { KeyStore, type StoredKeyInfo } from './keystore.js'
export { ScheduleStore, OpenSchedule, MAX_SCHEDULE_RING, type ScheduleInfo } from './schedule-store.js'
export { KeyedEvidence, scoreScheduleBatch, servingKey, summariseLog, type ScheduleCaseResult, type ServedInput, type LogStatement } from './schedule-cases.js'
export { CaseEvidence, type CaseBundle, type CaseEvidenceOptions, type CaseReport } from './evidence.js'
export { DetectPool, detectWork, type PoolOptions, type PoolStats, type KeyRef, type DetectRunOptions } from './detect-pool.js'
export { scoreBatchOffLoop, type ScoreOptions, type ScoredBatch } from './case-scoring.js'
export { Auth, SCOPES, TENANT_ADMIN_SCOPES, type Scope, type AuthContext, type TokenInfo, type CreatedToken } from './auth.js'
export {
  CaseService,
  caseResult,
  DEFAULT_CASE_ALPHA,
  type CaseInfo,
  type CaseResult,
  type SampleInput,
  type SampleInfo,
  type SampleOutcome,
  type AddSamplesResult,
  type CreateCaseInput,
  type CaseServiceOptions,
} from './cases.js'
export { ServerError, type ServerErrorCode, type ErrorBody } from './errors.js'
export { loadMasterSecret, parseMasterSecret, type MasterSecretSource } from './crypto.js'
export { routePlugins, type RoutePlugin } from './routes/index.js'
export * as schemas from './schemas.js'
