// `pnpm bench [suite...]`: runs every benchmark suite (or the named ones) and prints Markdown tables,
// which README.md quotes. Suites: core, tokenizer, lab, shard, neural, server (the server suite includes a 60 s
// soak), store (the server's batched ingest on PostgreSQL beside SQLite), python (the Python reference's embed
// step beside core's).
import { machine } from './lib.mjs'

const SUITES = {
  core: './core.mjs',
  tokenizer: './tokenizer.mjs',
  lab: './lab.mjs',
  shard: './shard.mjs',
  neural: './neural.mjs',
  server: '../packages/server/bench/server.mjs',
  store: '../packages/server/bench/store.mjs',
  python: './python.mjs',
}
const names = process.argv.slice(2)
for (const n of names) if (!(n in SUITES)) throw new Error(`unknown suite ${n} (known: ${Object.keys(SUITES).join(', ')})`)
console.log(`# tokenmark benchmarks\n\nmachine: ${machine()}\ndate: ${new Date().toISOString().slice(0, 10)}`)
for (const name of names.length ? names : Object.keys(SUITES)) {
  const mod = await import(SUITES[name])
  await mod.run()
}
