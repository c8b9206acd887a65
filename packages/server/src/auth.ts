/**
 * Tenants, API tokens and scopes. A token belongs to one tenant and carries scopes; it is random,
 * shown once when created, stored as SHA-256 of its secret part and compared in constant time.
 */
import { BEARER_TOKEN_RE, digestsEqual, hashTokenSecret, newToken, parseToken, randomId, tokenMatches, tokenSecretDigest } from './crypto.js'
import { ServerError } from './errors.js'
import type { Store, TokenRow } from './store.js'

export const SCOPES = ['detect', 'detail', 'cases:read', 'cases:write', 'keys:admin', 'tokens:admin', 'tenants:admin'] as const
export type Scope = (typeof SCOPES)[number]

/** What a tenant's own administrator may hold: everything but creating other tenants. */
export const TENANT_ADMIN_SCOPES: Scope[] = ['detect', 'detail', 'cases:read', 'cases:write', 'keys:admin', 'tokens:admin']

/** Who a request is: shared by every request of the token while it is cached, hence read-only. */
export interface AuthContext {
  readonly tenantId: string
  readonly tokenId: string
  readonly scopes: ReadonlySet<Scope>
}

export interface TokenInfo {
  id: string
  tenantId: string
  name: string
  scopes: Scope[]
  createdAt: string
  revoked: boolean
}

export interface CreatedToken extends TokenInfo {
  /** The bearer token; returned once, never stored or logged. */
  token: string
}

export class Auth {
  readonly #store: Store
  /**
   * Live tokens by id, with their parsed scopes (read-only: AuthContext.scopes is shared between requests)
   * and when the database last said they were live. A verified token skips the database on later
   * requests for up to `recheckMs`, then its row is read again: a token revoked by another instance
   * sharing the database stops working here within that bound (issue 12). Each entry keeps its stored
   * hash as hex and the AuthContext requests share (read-only), so a request allocates neither.
   */
  readonly #cache = new Map<string, { row: TokenRow; scopes: ReadonlySet<Scope>; checkedAt: number; digest: string; ctx: AuthContext }>()
  readonly #recheckMs: number

  constructor(store: Store, opts: { recheckMs?: number } = {}) {
    this.#store = store
    this.#recheckMs = opts.recheckMs ?? 5_000
  }

  createTenant(name: string): { id: string; name: string; createdAt: string } {
    const row = { id: randomId('ten_'), name, created_at: new Date().toISOString() }
    this.#store.insertTenant(row)
    return { id: row.id, name: row.name, createdAt: row.created_at }
  }

  tenantExists(id: string): boolean {
    return this.#store.getTenant(id) !== undefined
  }

  createToken(tenantId: string, name: string, scopes: readonly Scope[]): CreatedToken {
    const t = newToken()
    const row = { id: t.id, tenant_id: tenantId, name, scopes: JSON.stringify([...new Set(scopes)]), hash: t.hash, created_at: new Date().toISOString() }
    this.#store.insertToken(row)
    return { ...tokenInfo({ ...row, revoked: 0 }), token: t.token }
  }

  /**
   * Registers a token chosen by the operator (TOKENMARK_ADMIN_TOKEN), e.g. for automation. It must have
   * the shape of a generated token so that it carries the same 256 bits of entropy.
   */
  adoptToken(tenantId: string, name: string, token: string, scopes: readonly Scope[]): TokenInfo {
    const p = parseToken(token)
    if (!p) throw new ServerError('E_VALIDATION', 'TOKENMARK_ADMIN_TOKEN must look like a generated token: tmt_<12 letters or digits>_<43 base64url characters>')
    const existing = this.#store.getToken(p.id)
    if (existing) {
      if (existing.tenant_id !== tenantId || !tokenMatches(p.secret, existing.hash)) throw new ServerError('E_CONFLICT', 'a different token with that id exists')
      return tokenInfo(existing)
    }
    const row = { id: p.id, tenant_id: tenantId, name, scopes: JSON.stringify([...new Set(scopes)]), hash: hashTokenSecret(p.secret), created_at: new Date().toISOString() }
    this.#store.insertToken(row)
    return tokenInfo({ ...row, revoked: 0 })
  }

  listTokens(tenantId: string): TokenInfo[] {
    return this.#store.listTokens(tenantId).map(tokenInfo)
  }

  /**
   * Revokes a token of the tenant on behalf of `by`. A token may revoke only tokens whose scopes are a
   * subset of its own (it could not have granted more), and never the last live holder of
   * `tenants:admin`, which nothing could re-create (issue 12). False when there is no such live token.
   */
  revokeToken(tenantId: string, id: string, by?: AuthContext): boolean {
    return this.#store.transaction(() => {
      const live = this.#store.listTokens(tenantId).filter((t) => !t.revoked)
      const target = live.find((t) => t.id === id)
      if (!target) return false
      const scopes = JSON.parse(target.scopes) as Scope[]
      if (by) {
        const beyond = scopes.filter((s) => !by.scopes.has(s))
        if (beyond.length > 0) throw new ServerError('E_FORBIDDEN', `a token cannot revoke a token with scopes it does not hold: ${beyond.join(', ')}`)
      }
      if (scopes.includes('tenants:admin') && live.filter((t) => (JSON.parse(t.scopes) as Scope[]).includes('tenants:admin')).length <= 1) {
        throw new ServerError('E_CONFLICT', 'this is the last token holding tenants:admin; create another one before revoking it')
      }
      this.#cache.delete(id)
      return this.#store.revokeToken(tenantId, id)
    })
  }

  /** Resolves an Authorization header value; 401 for anything that is not a live token. The context is shared: read-only. */
  authenticate(header: string | undefined): AuthContext {
    // The common case in one match; anything else goes through the checks that name what is wrong.
    const m = header === undefined ? null : BEARER_TOKEN_RE.exec(header)
    const p = m !== null ? { id: m[1], secret: m[2] } : parseBearer(header)
    let live = this.#cache.get(p.id)
    const now = Date.now()
    if (!live || now - live.checkedAt > this.#recheckMs) {
      const row = this.#store.getToken(p.id)
      if (!row || row.revoked) {
        this.#cache.delete(p.id)
        throw new ServerError('E_UNAUTHORIZED', 'invalid API token')
      }
      const scopes = live?.row.scopes === row.scopes ? live.scopes : new Set(JSON.parse(row.scopes) as Scope[])
      live = { row, scopes, checkedAt: now, digest: Buffer.from(row.hash).toString('hex'), ctx: { tenantId: row.tenant_id, tokenId: row.id, scopes } }
      this.#cache.set(p.id, live)
    }
    if (!digestsEqual(tokenSecretDigest(p.secret), live.digest)) throw new ServerError('E_UNAUTHORIZED', 'invalid API token')
    return live.ctx
  }
}

/** The token in an Authorization header that BEARER_TOKEN_RE did not match, or the 401 saying why not. */
function parseBearer(header: string | undefined): { id: string; secret: string } {
  if (header === undefined || header === '') throw new ServerError('E_UNAUTHORIZED', 'missing API token: send "Authorization: Bearer <token>"')
  const m = /^Bearer ([^\s]+)$/i.exec(header)
  if (!m) throw new ServerError('E_UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"')
  const p = parseToken(m[1])
  if (!p) throw new ServerError('E_UNAUTHORIZED', 'invalid API token')
  return p
}

function tokenInfo(row: TokenRow): TokenInfo {
  return { id: row.id, tenantId: row.tenant_id, name: row.name, scopes: JSON.parse(row.scopes) as Scope[], createdAt: row.created_at, revoked: row.revoked === 1 }
}
