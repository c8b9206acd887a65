/**
 * The format is readable without our code: a MessagePack reader written here from the spec
 * (https://github.com/msgpack/msgpack/blob/master/spec.md), independent of @msgpack/msgpack, and
 * Ed25519 checked with Node's crypto (OpenSSL), independent of @noble/curves. This is what
 * docs/evidence-format.md tells a Python msgpack + ed25519 script to do.
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createBundle } from '@tokenmark/evidence'
import { corpus, signer, watermarkKey } from './fixtures.js'

type Value = null | boolean | number | bigint | string | Uint8Array | Value[] | Map<string, Value>

/** A strict spec-following MessagePack reader: whole input, no extension types. */
function readMsgpack(buf: Uint8Array): Value {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let o = 0
  const need = (n: number) => {
    if (o + n > buf.length) throw new Error(`truncated at ${o}`)
  }
  const u8 = () => (need(1), buf[o++])
  const u16 = () => (need(2), (o += 2), dv.getUint16(o - 2))
  const u32 = () => (need(4), (o += 4), dv.getUint32(o - 4))
  const bytes = (n: number) => (need(n), (o += n), buf.slice(o - n, o))
  const str = (n: number) => new TextDecoder('utf-8', { fatal: true }).decode(bytes(n))
  const arr = (n: number): Value[] => Array.from({ length: n }, () => item())
  const map = (n: number): Map<string, Value> => {
    const m = new Map<string, Value>()
    for (let i = 0; i < n; i++) {
      const k = item()
      if (typeof k !== 'string') throw new Error('map key is not a string')
      if (m.has(k)) throw new Error(`duplicate key ${k}`)
      m.set(k, item())
    }
    return m
  }
  function item(): Value {
    const b = u8()
    if (b <= 0x7f) return b
    if (b >= 0xe0) return b - 0x100
    if ((b & 0xf0) === 0x80) return map(b & 0x0f)
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f)
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f)
    switch (b) {
      case 0xc0: return null
      case 0xc2: return false
      case 0xc3: return true
      case 0xc4: return bytes(u8())
      case 0xc5: return bytes(u16())
      case 0xc6: return bytes(u32())
      case 0xca: need(4); o += 4; return dv.getFloat32(o - 4)
      case 0xcb: need(8); o += 8; return dv.getFloat64(o - 8)
      case 0xcc: return u8()
      case 0xcd: return u16()
      case 0xce: return u32()
      case 0xcf: need(8); o += 8; return dv.getBigUint64(o - 8)
      case 0xd0: need(1); o += 1; return dv.getInt8(o - 1)
      case 0xd1: need(2); o += 2; return dv.getInt16(o - 2)
      case 0xd2: need(4); o += 4; return dv.getInt32(o - 4)
      case 0xd3: need(8); o += 8; return dv.getBigInt64(o - 8)
      case 0xd9: return str(u8())
      case 0xda: return str(u16())
      case 0xdb: return str(u32())
      case 0xdc: return arr(u16())
      case 0xdd: return arr(u32())
      case 0xde: return map(u16())
      case 0xdf: return map(u32())
      default: throw new Error(`type byte 0x${b.toString(16)} is not allowed in evidence (at ${o - 1})`)
    }
  }
  const v = item()
  if (o !== buf.length) throw new Error(`${buf.length - o} extra bytes`)
  return v
}

const get = (m: Value, ...path: string[]): Value => {
  let v = m
  for (const p of path) {
    if (!(v instanceof Map) || !v.has(p)) throw new Error(`no ${path.join('.')}`)
    v = v.get(p) as Value
  }
  return v
}

// Ed25519 public key as SubjectPublicKeyInfo DER (RFC 8410): fixed 12-byte prefix + 32 key bytes.
const spki = (raw: Uint8Array) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' })

describe('a bundle read without our code', () => {
  const texts = corpus(3, 50, 21, watermarkKey).map((text, i) => ({ text: i === 1 ? text + ' — naïve “quotes” 🐋' : text, id: `t${i}` }))
  const bundle = createBundle(watermarkKey, texts, signer, { created: new Date('2026-11-28T12:00:00Z'), notes: 'independent reader' })

  it('decodes with an independent MessagePack reader and verifies with OpenSSL Ed25519', () => {
    const env = readMsgpack(bundle)
    expect([...(env as Map<string, Value>).keys()]).toEqual(['body', 'format', 'signature', 'version'])
    expect(get(env, 'format')).toBe('tokenmark-evidence')
    expect(get(env, 'version')).toBe(2)
    const bodyBytes = get(env, 'body') as Uint8Array
    const signature = get(env, 'signature') as Uint8Array
    const body = readMsgpack(bodyBytes)
    const publicKey = get(body, 'signer', 'publicKey') as Uint8Array
    const message = Buffer.concat([Buffer.from('tokenmark-evidence/v1\0', 'utf8'), bodyBytes])
    expect(cryptoVerify(null, message, spki(publicKey), signature)).toBe(true)
    expect(Buffer.from(publicKey).equals(Buffer.from(signer.publicKey))).toBe(true)

    const flipped = Buffer.from(message)
    flipped[message.length - 3] ^= 1
    expect(cryptoVerify(null, flipped, spki(publicKey), signature)).toBe(false)

    // every included text hashes to its recorded SHA-256 (of its UTF-8 bytes); chars are code points
    const items = get(body, 'inputs', 'items') as Value[]
    expect(items).toHaveLength(3)
    items.forEach((it, i) => {
      const text = get(it, 'text') as string
      expect(text).toBe(texts[i].text)
      expect(createHash('sha256').update(text, 'utf8').digest('hex')).toBe(get(it, 'sha256'))
      expect(get(it, 'chars')).toBe([...text].length)
    })
    expect(get(body, 'key', 'commitment')).toBe(watermarkKey.commitment)
    expect(typeof get(body, 'result', 'log10P')).toBe('number')
    expect(get(body, 'notes')).toBe('independent reader')
  })

  it('map keys are in canonical (sorted) order everywhere', () => {
    const walk = (v: Value) => {
      if (v instanceof Map) {
        const keys = [...v.keys()]
        expect(keys).toEqual([...keys].sort())
        v.forEach(walk)
      } else if (Array.isArray(v)) v.forEach(walk)
    }
    const env = readMsgpack(bundle)
    walk(env)
    walk(readMsgpack(get(env, 'body') as Uint8Array))
  })
})
