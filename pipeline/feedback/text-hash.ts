/**
 * MurmurHash3 x86_128: the dedup key of a text. While the bytes pass by for the hash, the same loop
 * notes what writing them inside a JSON string takes (see NEEDS_*), so each text is read once for
 * dedup and escaping together.
 */

import { fmix } from './dedup.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c

const C1 = 0x239b961b
const C2 = 0xab0e9789
const C3 = 0x38b34ae5
const C4 = 0xa1e38b93

/**
 * MurmurHash3 x86_128 of buf[start, end) with `seed`, into `out` (four 32-bit words). A 128-bit hash
 * has no collisions in practice for millions of texts, and costs far less than a crypto digest.
 * Returns NEEDS_* flags for the bytes seen (what writing them in a JSON string takes).
 */
export function hashBytes(
  buf: Uint8Array,
  start: number,
  end: number,
  seed: number,
  out: Int32Array | Uint32Array,
): number {
  // While the bytes pass by, note what JSON would need escaped (see BYTE_CLASS).
  const cls = BYTE_CLASS
  let flags = 0
  let h1 = seed
  let h2 = seed
  let h3 = seed
  let h4 = seed
  const len = end - start
  const blocksEnd = start + (len & ~15)
  let i = start
  let k1: number
  let k2: number
  let k3: number
  let k4: number
  for (; i < blocksEnd; i += 16) {
    const b0 = buf[i]!
    const b1 = buf[i + 1]!
    const b2 = buf[i + 2]!
    const b3 = buf[i + 3]!
    const b4 = buf[i + 4]!
    const b5 = buf[i + 5]!
    const b6 = buf[i + 6]!
    const b7 = buf[i + 7]!
    const b8 = buf[i + 8]!
    const b9 = buf[i + 9]!
    const b10 = buf[i + 10]!
    const b11 = buf[i + 11]!
    const b12 = buf[i + 12]!
    const b13 = buf[i + 13]!
    const b14 = buf[i + 14]!
    const b15 = buf[i + 15]!
    flags |=
      cls[b0]! |
      cls[b1]! |
      cls[b2]! |
      cls[b3]! |
      cls[b4]! |
      cls[b5]! |
      cls[b6]! |
      cls[b7]! |
      cls[b8]! |
      cls[b9]! |
      cls[b10]! |
      cls[b11]! |
      cls[b12]! |
      cls[b13]! |
      cls[b14]! |
      cls[b15]!
    k1 = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
    k2 = b4 | (b5 << 8) | (b6 << 16) | (b7 << 24)
    k3 = b8 | (b9 << 8) | (b10 << 16) | (b11 << 24)
    k4 = b12 | (b13 << 8) | (b14 << 16) | (b15 << 24)
    k1 = Math.imul(k1, C1)
    k1 = (k1 << 15) | (k1 >>> 17)
    h1 ^= Math.imul(k1, C2)
    h1 = (h1 << 19) | (h1 >>> 13)
    h1 = (h1 + h2) | 0
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0
    k2 = Math.imul(k2, C2)
    k2 = (k2 << 16) | (k2 >>> 16)
    h2 ^= Math.imul(k2, C3)
    h2 = (h2 << 17) | (h2 >>> 15)
    h2 = (h2 + h3) | 0
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0
    k3 = Math.imul(k3, C3)
    k3 = (k3 << 17) | (k3 >>> 15)
    h3 ^= Math.imul(k3, C4)
    h3 = (h3 << 15) | (h3 >>> 17)
    h3 = (h3 + h4) | 0
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0
    k4 = Math.imul(k4, C4)
    k4 = (k4 << 18) | (k4 >>> 14)
    h4 ^= Math.imul(k4, C1)
    h4 = (h4 << 13) | (h4 >>> 19)
    h4 = (h4 + h1) | 0
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0
  }
  for (let j = i; j < end; j++) flags |= cls[buf[j]!]!
  k1 = 0
  k2 = 0
  k3 = 0
  k4 = 0
  switch (len & 15) {
    case 15:
      k4 ^= buf[i + 14]! << 16
    // falls through
    case 14:
      k4 ^= buf[i + 13]! << 8
    // falls through
    case 13:
      k4 ^= buf[i + 12]!
      k4 = Math.imul(k4, C4)
      k4 = (k4 << 18) | (k4 >>> 14)
      h4 ^= Math.imul(k4, C1)
    // falls through
    case 12:
      k3 ^= buf[i + 11]! << 24
    // falls through
    case 11:
      k3 ^= buf[i + 10]! << 16
    // falls through
    case 10:
      k3 ^= buf[i + 9]! << 8
    // falls through
    case 9:
      k3 ^= buf[i + 8]!
      k3 = Math.imul(k3, C3)
      k3 = (k3 << 17) | (k3 >>> 15)
      h3 ^= Math.imul(k3, C4)
    // falls through
    case 8:
      k2 ^= buf[i + 7]! << 24
    // falls through
    case 7:
      k2 ^= buf[i + 6]! << 16
    // falls through
    case 6:
      k2 ^= buf[i + 5]! << 8
    // falls through
    case 5:
      k2 ^= buf[i + 4]!
      k2 = Math.imul(k2, C2)
      k2 = (k2 << 16) | (k2 >>> 16)
      h2 ^= Math.imul(k2, C3)
    // falls through
    case 4:
      k1 ^= buf[i + 3]! << 24
    // falls through
    case 3:
      k1 ^= buf[i + 2]! << 16
    // falls through
    case 2:
      k1 ^= buf[i + 1]! << 8
    // falls through
    case 1:
      k1 ^= buf[i]!
      k1 = Math.imul(k1, C1)
      k1 = (k1 << 15) | (k1 >>> 17)
      h1 ^= Math.imul(k1, C2)
  }
  h1 ^= len
  h2 ^= len
  h3 ^= len
  h4 ^= len
  h1 = (h1 + h2 + h3 + h4) | 0
  h2 = (h2 + h1) | 0
  h3 = (h3 + h1) | 0
  h4 = (h4 + h1) | 0
  h1 = fmix(h1)
  h2 = fmix(h2)
  h3 = fmix(h3)
  h4 = fmix(h4)
  h1 = (h1 + h2 + h3 + h4) | 0
  h2 = (h2 + h1) | 0
  h3 = (h3 + h1) | 0
  h4 = (h4 + h1) | 0
  out[0] = h1
  out[1] = h2
  out[2] = h3
  out[3] = h4
  return flags
}

/**
 * Bytes JSON strings cannot hold as they are: `"` and `\` (escaped with a backslash), control characters (`\u`
 * escapes).
 */
export const NEEDS_BACKSLASH = 1
export const NEEDS_UNICODE_ESCAPE = 2
const BYTE_CLASS = new Uint8Array(256)
for (let b = 0; b < 0x20; b++) BYTE_CLASS[b] = NEEDS_UNICODE_ESCAPE
BYTE_CLASS[QUOTE] = NEEDS_BACKSLASH
BYTE_CLASS[BACKSLASH] = NEEDS_BACKSLASH
