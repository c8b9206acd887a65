// `pnpm bench`: runs every benchmark suite and prints Markdown tables (copied into README.md).
import { machine } from './lib.mjs'

const suites = process.argv.slice(2)
const all = ['core', 'lab']
console.log(`# tokenmark benchmarks\n\nmachine: ${machine()}\ndate: ${new Date().toISOString().slice(0, 10)}`)
for (const name of suites.length ? suites : all) {
  const mod = await import(`./${name}.mjs`)
  await mod.run()
}
