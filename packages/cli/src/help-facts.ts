/**
 * The few values `--help` shows that belong to @tokenmark/core and @tokenmark/lab. Importing either package
 * costs 0.2-0.3 s (core evaluates its tokenizer tables on import, and lab imports core), which `--help`
 * must not pay, so the help text reads these copies. The packages stay the source of truth: commands
 * validate with their tables (`getScheme`, `attackNames`, ...) and run with their defaults.
 * The types below fail the build when core gains, loses or renames a scheme, or a default attack's name
 * stops being one; packages/cli/test/help-facts.test.ts checks every copy against the live values.
 */
import { readFileSync } from 'node:fs'
import type { SchemeId } from '@tokenmark/core'
import type { AttackName } from '@tokenmark/lab'

/** The `tokenmark` package's version (`--version`). */
export const CLI_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

// Record<SchemeId, …> makes the compiler demand every scheme id, and only those; order = core's registry.
const schemes: Record<SchemeId, true> = { kgw: true, gumbel: true, synthid: true, unigram: true }

/** core's `schemeIds()`, in its registry's order (packages/core/src/schemes/registry.ts). */
export const SCHEME_IDS = Object.keys(schemes) as SchemeId[]

/** lab's `DEFAULT_ATTACKS` (packages/lab/src/eval/grid.ts). */
export const DEFAULT_ATTACKS: readonly { name: AttackName; strength: number }[] = [
  { name: 'none', strength: 0 },
  { name: 'delete', strength: 0.1 },
  { name: 'insert', strength: 0.1 },
  { name: 'substitute', strength: 0.2 },
  { name: 'swap', strength: 0.2 },
  { name: 'resample', strength: 0.3 },
  { name: 'copy-paste', strength: 0.5 },
  { name: 'homoglyph', strength: 0.2 },
  { name: 'zero-width', strength: 0.2 },
  { name: 'case', strength: 0.3 },
  { name: 'whitespace', strength: 0.3 },
]

/** lab's `DISTILL_RHOS` (packages/lab/src/distill/simulate.ts). */
export const DISTILL_RHOS: readonly number[] = [0, 0.005, 0.01, 0.05, 0.1, 1]
