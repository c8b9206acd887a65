/**
 * Conformance vectors for key schedules (docs/spec.md#schedules, docs/vectors/schedule.json): a fixed
 * master secret, the commitment, cohort keys' commitments for some (cohort, epoch) and cohort assignments
 * for some (account, epoch), so another implementation can check its derivations byte for byte.
 */
import { KeySchedule } from './schedule.js'

export function scheduleVectors(): Record<string, unknown> {
  const secret = new Uint8Array(32).map((_, i) => i)
  const schedule = new KeySchedule(secret, {
    config: { scheme: 'kgw', params: { gamma: 0.25, delta: 2, context: 3 } },
    cohorts: 16,
    epochSeconds: 86400,
    start: '2026-01-01T00:00:00.000Z',
    epochs: 4,
    canaries: [{ name: 'suspects', accounts: ['acct-canary-1', 'acct-canary-2'] }],
  })
  const keys = []
  for (const [cohort, epoch] of [[0, 0], [1, 0], [15, 0], [0, 1], [7, 3], [16, 0], [16, 2]]) {
    const k = schedule.keyFor(cohort, epoch)
    keys.push({ cohort, epoch, label: schedule.cohortLabel(cohort), keyId: k.keyId, commitment: k.commitment })
  }
  const assignments = []
  for (const account of ['acct-0', 'acct-1', 'acct-2', 'alice@example.com', 'acct-canary-1']) {
    assignments.push({ account, cohorts: [0, 1, 2, 3].map((e) => schedule.cohortOf(account, e)) })
  }
  return {
    secretHex: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    description: schedule.description(),
    ringSize: schedule.ringSize,
    epochOf: { '2026-01-01T00:00:00.000Z': schedule.epochAt('2026-01-01T00:00:00.000Z'), '2026-01-02T12:00:00.000Z': schedule.epochAt('2026-01-02T12:00:00.000Z') },
    keys,
    assignments,
  }
}
