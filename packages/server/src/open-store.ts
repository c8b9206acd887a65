/** Opens the store a --db / TOKENMARK_DB value names: a postgres:// URL or a SQLite file (":memory:" for tests). */
import { isPostgresUrl, PgStore } from './store-pg.js'
import { SqliteStore, type Store } from './store.js'

export function openStore(db: string): Store {
  return isPostgresUrl(db) ? new PgStore({ url: db }) : new SqliteStore({ path: db })
}
