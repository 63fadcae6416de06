/**
 * Deduplication by hash: a text is known by its 128-bit hash (text-hash.ts), never kept itself, so
 * memory stays bounded (20 bytes a distinct text, about 30 MB for a million) however many rows pass.
 */

import { fmix } from './text-hash.js'

/** What `Dedup.check` found for a (text, label) row. */
export const Verdict = {
  /** The text was not seen before. */
  New: 0,
  /** The same text with the same label was seen before. */
  Duplicate: 1,
  /** The text was seen with another label only: the first conflict of this text (see `firstLabelId`). */
  FirstConflict: 2,
  /** The text already conflicts, and this label is new for it. */
  MoreConflict: 3,
} as const
export type Verdict = (typeof Verdict)[keyof typeof Verdict]

/** The value bit that marks a text already counted as a conflict. */
const CONFLICT_FLAG = 0x80000000

export class Dedup {
  /** Text hash → 1-based id of the first label seen with it (| CONFLICT_FLAG once it conflicts). */
  private readonly texts = new HashTable128()
  /** (text, label) keys of rows whose label differs from the first label seen for that text. */
  private pairs: HashTable128 | undefined
  private readonly pairKey = new Int32Array(4)
  /** After a FirstConflict verdict: the id of the label the text was first seen with. */
  firstLabelId = 0

  /** Sizes the table for about `texts` distinct texts up front (only while empty). */
  reserve(texts: number): void {
    this.texts.reserve(texts)
  }

  /**
   * Records the row whose text hashes to `hash` with label `labelId` (1-based). The (text, label) key of
   * a conflicting row is derived from the text hash and the label id: the text is hashed once per row.
   */
  check(hash: Int32Array, labelId: number): Verdict {
    const slot = this.texts.insertIfAbsent(hash, labelId)
    if (slot < 0) return Verdict.New
    const value = this.texts.valueAt(slot)
    const firstId = value & ~CONFLICT_FLAG
    if (firstId === labelId) return Verdict.Duplicate
    const key = this.pairKey
    // Unique per (text hash, label id): the label id changes word 1 reversibly, word 0 well mixed.
    key[0] = hash[0]! ^ fmix(Math.imul(labelId, 0x9e3779b1))
    key[1] = hash[1]! ^ labelId
    key[2] = hash[2]!
    key[3] = hash[3]!
    this.pairs ??= new HashTable128()
    if (this.pairs.insertIfAbsent(key, 1) >= 0) return Verdict.Duplicate
    if ((value & CONFLICT_FLAG) !== 0) return Verdict.MoreConflict
    this.texts.setValueAt(slot, value | CONFLICT_FLAG)
    this.firstLabelId = firstId
    return Verdict.FirstConflict
  }
}

const SHARDS = 16
/** Words per slot: four of key, one of value, side by side so a probe touches one cache line. */
const SLOT = 5

/**
 * An open-addressing hash table from 128-bit keys to non-zero 32-bit values, in typed arrays (20 bytes
 * a slot, no garbage-collected objects). It is split into 16 shards that grow by half independently,
 * so growing never holds two copies of the whole table and the load stays between 0.5 and 0.75.
 * A slot handle is `index * 16 + shard`.
 */
class HashTable128 {
  private shards: Shard[] = Array.from({ length: SHARDS }, () => new Shard(1024))

  /** Starts over with room for `keys` keys (only while empty). */
  reserve(keys: number): void {
    const perShard = Math.ceil(keys / SHARDS / 0.7)
    if (perShard > 1024) this.shards = Array.from({ length: SHARDS }, () => new Shard(perShard))
  }

  /** Inserts `key → value` (value ≠ 0) when absent and returns -1; otherwise returns the key's slot handle. */
  insertIfAbsent(key: Int32Array, value: number): number {
    const s = key[1]! >>> 28
    const i = this.shards[s]!.insertIfAbsent(key[0]!, key[1]!, key[2]!, key[3]!, value)
    return i < 0 ? -1 : i * SHARDS + s
  }

  valueAt(handle: number): number {
    return this.shards[handle % SHARDS]!.slots[Math.floor(handle / SHARDS) * SLOT + 4]!
  }

  setValueAt(handle: number, value: number): void {
    this.shards[handle % SHARDS]!.slots[Math.floor(handle / SHARDS) * SLOT + 4] = value | 0
  }
}

class Shard {
  slots: Int32Array
  private capacity: number
  private size = 0

  constructor(capacity: number) {
    this.capacity = capacity
    this.slots = new Int32Array(capacity * SLOT)
  }

  /** Keys are 32-bit words read from an Int32Array (int32 stays unboxed in optimized code; uint32 may not). */
  insertIfAbsent(k0: number, k1: number, k2: number, k3: number, value: number): number {
    const slots = this.slots
    const capacity = this.capacity
    let i = home(k0, capacity)
    for (;;) {
      const o = i * SLOT
      if (slots[o + 4] === 0) {
        slots[o] = k0
        slots[o + 1] = k1
        slots[o + 2] = k2
        slots[o + 3] = k3
        slots[o + 4] = value
        if (++this.size * 4 > capacity * 3) this.grow()
        return -1
      }
      if (slots[o] === k0 && slots[o + 1] === k1 && slots[o + 2] === k2 && slots[o + 3] === k3) return i
      if (++i === capacity) i = 0
    }
  }

  private grow(): void {
    const old = this.slots
    const capacity = Math.ceil(this.capacity * 1.5)
    const slots = new Int32Array(capacity * SLOT)
    for (let oj = 0; oj < old.length; oj += SLOT) {
      if (old[oj + 4] === 0) continue
      let i = home(old[oj]!, capacity)
      while (slots[i * SLOT + 4] !== 0) if (++i === capacity) i = 0
      const o = i * SLOT
      slots[o] = old[oj]!
      slots[o + 1] = old[oj + 1]!
      slots[o + 2] = old[oj + 2]!
      slots[o + 3] = old[oj + 3]!
      slots[o + 4] = old[oj + 4]!
    }
    this.slots = slots
    this.capacity = capacity
  }
}

/** The home slot of a key: its first word scaled to [0, capacity) (a multiply, not a slow float modulo). */
function home(k0: number, capacity: number): number {
  return Math.floor(((k0 >>> 8) * capacity) / 16777216)
}
