import { describe, expect, test } from 'vitest'
import { ServingLog } from '@tokenmark/core'
import { SigningKey, signLogHead, verifyLogHead } from '@tokenmark/evidence'

describe('signed serving-log heads', () => {
  const key = new SigningKey(Uint8Array.from({ length: 32 }, (_, i) => i + 9))
  const other = new SigningKey(Uint8Array.from({ length: 32 }, (_, i) => 90 - i))
  const log = new ServingLog({ scheduleId: 'tmks_0000000000000000', created: '2026-01-01T00:00:00Z' })
  log.append({ time: '2026-01-01T00:00:01Z', account: 'a', epoch: 0, cohort: 0, keyId: 'tmk_1', prompt: 'p', response: 'r' })

  test('a head signed with the evidence key verifies, under that key only, and not once the log grows', () => {
    const signed = signLogHead(log.head(), key, new Date('2026-01-02T00:00:00Z'))
    expect(verifyLogHead(signed)).toBe(true)
    expect(verifyLogHead(signed, key.publicKey)).toBe(true)
    expect(verifyLogHead(signed, other.publicKey)).toBe(false)
    log.append({ time: '2026-01-01T00:00:02Z', account: 'b', epoch: 0, cohort: 1, keyId: 'tmk_2', prompt: 'p2', response: 'r2' })
    expect(verifyLogHead({ ...signed, head: log.head() })).toBe(false)
    expect(verifyLogHead({ ...signed, signature: 'x' })).toBe(false)
  })
})
