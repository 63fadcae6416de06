/**
 * Deduplication by hash: a text is known by its 128-bit hash (text-hash.ts), never kept itself, so
 * memory stays bounded (20 bytes a distinct text, about 30 MB for a million) however many rows pass.
 */

/**
 * The dedup table's code, self-contained (no imports, no outer references) so that a worker thread can
 * run the same code from its source text (dedup-worker.ts); in this thread it is called once, below.
 */
export function dedupCode() {
  /** What `Dedup.checkBatch` found for a (text, label) row. */
  const Verdict = {
    /** The text was not seen before. */
    New: 0,
    /** The same text with the same label was seen before. */
    Duplicate: 1,
    /** The text was seen with another label only: the first conflict of this text (see `firstLabelIds`). */
    FirstConflict: 2,
    /** The text already conflicts, and this label is new for it. */
    MoreConflict: 3,
  } as const
  type Verdict = (typeof Verdict)[keyof typeof Verdict]

  /** The value bit that marks a text already counted as a conflict. */
  const CONFLICT_FLAG = 0x80000000

  /**
   * Shards of the text table. Many small shards let a batch be probed shard by shard: a shard of a
   * million-text table is ~110 KB (~28 pages), so its probes stay within what the TLB and L2 cover,
   * where probing the whole ~28 MB table in row order misses both on nearly every row.
   */
  const SHARD_BITS = 8
  const SHARDS = 1 << SHARD_BITS
  const SHARD_SHIFT = 32 - SHARD_BITS
  /** Slots a shard starts with: small, as 256 of them are made even for a ten-row export. */
  const MIN_SHARD_CAPACITY = 64

  class Dedup {
    /** Text hash -> 1-based id of the first label seen with it (| CONFLICT_FLAG once it conflicts). */
    private readonly texts = new HashTable128()
    /** (text, label) keys of rows whose label differs from the first label seen for that text. */
    private pairs: HashTable128 | undefined
    private readonly pairKey = new Int32Array(4)
    /** Per shard, where its rows start in `order` (then, while filling, where the next one goes). */
    private readonly shardStarts = new Int32Array(SHARDS + 1)
    /** A batch's row indices grouped by shard, each shard's rows in row order. */
    private order = new Int32Array(0)

    /** Sizes the table for about `texts` distinct texts up front (only while empty). */
    reserve(texts: number): void {
      this.texts.reserve(texts)
    }

    /**
     * Records a batch of rows: row i's text hashes to hashes[4i, 4i + 4) and has label labelIds[i]
     * (1-based; 0 skips the row). Sets verdicts[i], and firstLabelIds[i] to the id of the label the text
     * was first seen with when the verdict is FirstConflict.
     *
     * The rows are probed shard by shard rather than in row order (see SHARDS), each shard's rows in row
     * order. The verdicts are those of recording the rows one by one in row order: a row's verdict only
     * depends on the earlier rows with the same text, which share its shard and come before it there.
     */
    checkBatch(
      hashes: Int32Array,
      labelIds: Int32Array,
      count: number,
      verdicts: Uint8Array,
      firstLabelIds: Int32Array,
    ): void {
      const starts = this.shardStarts
      starts.fill(0)
      for (let i = 0; i < count; i++) if (labelIds[i] !== 0) starts[(hashes[i * 4 + 1]! >>> SHARD_SHIFT) + 1]!++
      for (let s = 0; s < SHARDS; s++) starts[s + 1]! += starts[s]!
      if (this.order.length < count) this.order = new Int32Array(count)
      const order = this.order
      for (let i = 0; i < count; i++) if (labelIds[i] !== 0) order[starts[hashes[i * 4 + 1]! >>> SHARD_SHIFT]!++] = i
      // Filling moved each start to the next shard's start: shard s now spans order[starts[s - 1], starts[s]).
      let start = 0
      for (let s = 0; s < SHARDS; s++) {
        const end = starts[s]!
        const shard = this.texts.shards[s]!
        for (let j = start; j < end; j++) {
          const i = order[j]!
          verdicts[i] = this.checkRow(shard, hashes, i * 4, labelIds[i]!, firstLabelIds, i)
        }
        start = end
      }
    }

    /**
     * One row: its text's hash is hashes[o, o + 4), `shard` the text table's shard for it. The (text, label)
     * key of a conflicting row is derived from the text hash and the label id: the text is hashed once per row.
     */
    private checkRow(
      shard: Shard,
      hashes: Int32Array,
      o: number,
      labelId: number,
      firstLabelIds: Int32Array,
      row: number,
    ): Verdict {
      const h0 = hashes[o]!
      const h1 = hashes[o + 1]!
      const slot = shard.insertIfAbsent(h0, h1, hashes[o + 2]!, hashes[o + 3]!, labelId)
      if (slot < 0) return Verdict.New
      const value = shard.slots[slot * SLOT + 4]!
      const firstId = value & ~CONFLICT_FLAG
      if (firstId === labelId) return Verdict.Duplicate
      const key = this.pairKey
      // Unique per (text hash, label id): the label id changes word 1 reversibly, word 0 well mixed.
      key[0] = h0 ^ fmix(Math.imul(labelId, 0x9e3779b1))
      key[1] = h1 ^ labelId
      key[2] = hashes[o + 2]!
      key[3] = hashes[o + 3]!
      this.pairs ??= new HashTable128()
      if (this.pairs.insertIfAbsent(key, 1) >= 0) return Verdict.Duplicate
      if ((value & CONFLICT_FLAG) !== 0) return Verdict.MoreConflict
      shard.slots[slot * SLOT + 4] = value | CONFLICT_FLAG
      firstLabelIds[row] = firstId
      return Verdict.FirstConflict
    }
  }

  /** Words per slot: four of key, one of value, side by side so a probe touches one cache line. */
  const SLOT = 5

  /**
   * An open-addressing hash table from 128-bit keys to non-zero 32-bit values, in typed arrays (20 bytes
   * a slot, no garbage-collected objects). It is split into SHARDS shards by the key's top bits of word 1;
   * they grow by half independently, so growing never holds two copies of the whole table and the load
   * stays between 0.5 and 0.75.
   */
  class HashTable128 {
    shards: Shard[] = Array.from({ length: SHARDS }, () => new Shard(MIN_SHARD_CAPACITY))

    /** Starts over with room for `keys` keys (only while empty). */
    reserve(keys: number): void {
      const perShard = Math.ceil(keys / SHARDS / 0.7)
      if (perShard > MIN_SHARD_CAPACITY) this.shards = Array.from({ length: SHARDS }, () => new Shard(perShard))
    }

    /**
     * Inserts `key -> value` (value != 0) when absent and returns -1; otherwise returns the key's slot in its shard.
     */
    insertIfAbsent(key: Int32Array, value: number): number {
      return this.shards[key[1]! >>> SHARD_SHIFT]!.insertIfAbsent(key[0]!, key[1]!, key[2]!, key[3]!, value)
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

  /**
   * MurmurHash3's finalizer: every input bit affects every output bit. Defined here, inside the code a worker
   * runs from its source text, and exported below for text-hash.ts's hash.
   */
  function fmix(h: number): number {
    h ^= h >>> 16
    h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    return h ^ (h >>> 16)
  }

  /** The home slot of a key: its first word scaled to [0, capacity) (a multiply, not a slow float modulo). */
  function home(k0: number, capacity: number): number {
    return Math.floor(((k0 >>> 8) * capacity) / 16777216)
  }

  return { Dedup, Verdict, fmix }
}

const code = dedupCode()
export const Dedup = code.Dedup
export type Dedup = InstanceType<typeof Dedup>
export const Verdict = code.Verdict
export const fmix = code.fmix
export type Verdict = (typeof Verdict)[keyof typeof Verdict]
