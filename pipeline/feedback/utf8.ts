/**
 * UTF-8 byte checks for the byte fast path: whether a text needs trimming (the characters
 * String.prototype.trim removes), and where a byte sequence stops being valid UTF-8.
 */

/**
 * Whether the text in buf[ts, te) starts with a character String.prototype.trim removes: ASCII
 * whitespace, or one of the Unicode spaces (U+00A0, U+1680, U+2000–U+200A, U+2028/9, U+202F,
 * U+205F, U+3000, U+FEFF) in UTF-8.
 */
export function startsWithSpace(buf: Uint8Array, ts: number, te: number): boolean {
  const b = buf[ts]!
  if (b <= 0x20) return true
  if (b < 0x80) return false
  return isUnicodeSpace(buf, ts, te)
}

export function endsWithSpace(buf: Uint8Array, ts: number, te: number): boolean {
  const b = buf[te - 1]!
  if (b <= 0x20) return true
  if (b < 0x80) return false
  // Back up to the first byte of the last character.
  let s = te - 1
  while (s > ts && (buf[s]! & 0xc0) === 0x80) s--
  return isUnicodeSpace(buf, s, te)
}

function isUnicodeSpace(buf: Uint8Array, s: number, te: number): boolean {
  const b0 = buf[s]!
  const b1 = s + 1 < te ? buf[s + 1]! : 0
  const b2 = s + 2 < te ? buf[s + 2]! : 0
  if (b0 === 0xc2) return b1 === 0xa0
  if (b0 === 0xe1) return b1 === 0x9a && b2 === 0x80
  if (b0 === 0xe2) {
    return (b1 === 0x80 && (b2 <= 0x8a || b2 === 0xa8 || b2 === 0xa9 || b2 === 0xaf)) || (b1 === 0x81 && b2 === 0x9f)
  }
  if (b0 === 0xe3) return b1 === 0x80 && b2 === 0x80
  if (b0 === 0xef) return b1 === 0xbb && b2 === 0xbf
  return false
}

/**
 * The offset of the first byte in `bytes` that is not part of a valid UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as for a fatal TextDecoder); -1 when all are
 * valid. A sequence cut off by the end of `bytes` counts as invalid at its first byte only when
 * `final` is set. Used only to locate an error, so it favours clarity over speed.
 */
export function firstInvalidUtf8(bytes: Uint8Array, final: boolean): number {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    if (b < 0x80) {
      i++
      continue
    }
    const [len, lo, hi] =
      b >= 0xc2 && b <= 0xdf
        ? [2, 0x80, 0xbf]
        : b === 0xe0
          ? [3, 0xa0, 0xbf]
          : b === 0xed
            ? [3, 0x80, 0x9f]
            : b >= 0xe1 && b <= 0xef
              ? [3, 0x80, 0xbf]
              : b === 0xf0
                ? [4, 0x90, 0xbf]
                : b === 0xf4
                  ? [4, 0x80, 0x8f]
                  : b >= 0xf1 && b <= 0xf3
                    ? [4, 0x80, 0xbf]
                    : [0, 0, 0]
    if (len === 0) return i
    for (let k = 1; k < len; k++) {
      if (i + k >= bytes.length) return final ? i : -1
      const c = bytes[i + k]!
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i
    }
    i += len
  }
  return -1
}
