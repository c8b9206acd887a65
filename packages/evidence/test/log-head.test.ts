import { describe, expect, test } from 'vitest'
import { parseLog, ServingLog } from '@tokenmark/core'
import { checkLogHead, SigningKey, signLogHead, verifyLogHead } from '@tokenmark/evidence'

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

  test('checkLogHead: a head covers the log it was signed over, and a longer one (its first records), not another', () => {
    const l = new ServingLog({ scheduleId: 'tmks_1111111111111111', created: '2026-01-01T00:00:00Z' })
    let text = l.headerLine()
    const add = (i: number) => (text += l.append({ time: '2026-01-01T00:00:01Z', account: `a${i}`, epoch: 0, cohort: i, keyId: 'tmk_1', prompt: 'p', response: 'r' }).line)
    add(0)
    add(1)
    const signed = signLogHead(l.head(), key, new Date('2026-01-02T00:00:00Z'))
    expect(checkLogHead(signed, parseLog(text), true)).toEqual({ signerId: key.signerId, signedAt: '2026-01-02T00:00:00.000Z', valid: true, coversHead: true })
    add(2)
    expect(checkLogHead(signed, parseLog(text), true).coversHead).toBe(true)
    expect(checkLogHead(signed, parseLog(text), false).coversHead).toBe(false) // a broken chain covers nothing
    expect(checkLogHead(signed, parseLog(text), true, other.publicKey).valid).toBe(false)
    const edited = text.replace('"a1"', '"zz"')
    expect(checkLogHead(signed, parseLog(edited), true).coversHead).toBe(true) // the record hash still names it: verifyLog catches the edit
    expect(checkLogHead({ ...signed, head: { ...signed.head, head: 'f'.repeat(64) } }, parseLog(text), true)).toMatchObject({ valid: false, coversHead: false })
    expect(checkLogHead(signLogHead({ ...l.head(), records: 99 }, key), parseLog(text), true).coversHead).toBe(false)
  })
})
