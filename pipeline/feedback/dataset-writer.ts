import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { once } from 'node:events'
import { basename, dirname, join } from 'node:path'
import { ModelshipError, messageOf } from '../engine/errors.js'
import type { DatasetReport, DropReason, ExportResult } from './types.js'

/** A row's position in its source: a line number (files), an id (database) or a row number (API). */
export type RowRef = number | string

export interface DatasetWriterOptions {
  /** Secret-free identity of the source, copied into the report. */
  source: string
  onProgress?: (line: string) => void
  signal?: AbortSignal
}

/** How many line numbers / ids the report keeps per drop reason. */
const FIRST_REFS = 10
/** Conflicts listed with their text in the report; the rest are only counted (memory stays bounded). */
const MAX_CONFLICTS_LISTED = 100
/** Output is assembled in buffers of this size, each one write to the file. */
const OUT_BYTES = 1 << 20
const PROGRESS_EVERY_ROWS = 100_000
const PROGRESS_EVERY_MS = 1000
/** The value bit that marks a text already counted as a conflict. */
const CONFLICT_FLAG = 0x80000000
/** More distinct labels than this means the label column is not a label. */
const MAX_LABELS = 10_000
/** Distinct label spellings remembered as bytes for the byte fast path. */
const MAX_BYTE_LABELS = 64

const QUOTE = 0x22
const BACKSLASH = 0x5c
const TEXT_PREFIX = Buffer.from('{"text":"')
const LABEL_PREFIX = Buffer.from('","label":')

/**
 * Normalizes rows and writes them as `{"text","label"}` JSON lines (UTF-8) to a temp file beside
 * `destPath`, which `commit()` renames over it: text and label are trimmed, rows with an empty text
 * (or label) are dropped, exact duplicates (same text and label) are dropped, and texts seen with
 * different labels are reported as conflicts (all their rows kept).
 *
 * Memory stays bounded however many rows pass: deduplication keeps a 16-byte hash (MurmurHash3
 * x86_128 of the text's UTF-8 bytes) and a label id per distinct text in typed arrays, about
 * 30 MB for a million texts, never the texts themselves.
 */
export class DatasetWriter {
  /** Text hash → 1-based id of the first label seen with it (| CONFLICT_FLAG once counted as a conflict). */
  private readonly texts = new HashTable128()
  /** (text, label) hashes of rows whose label differs from the first label seen for that text. */
  private pairs: HashTable128 | undefined
  /** Trimmed label → info. */
  private readonly labels = new Map<string, LabelInfo>()
  /** Label as the source spelled it → info (null: empty), so most rows skip trimming the label. */
  private readonly rawLabels = new Map<string, LabelInfo | null>()
  /** The same for labels given as bytes: a short list, compared bytewise. */
  private readonly byteLabels: Array<{ bytes: Buffer; info: LabelInfo | null }> = []
  private readonly labelList: LabelInfo[] = []
  private readonly dropped: DatasetReport['dropped'] = {}
  private readonly conflicts: DatasetReport['conflicts'] = []
  /** Text hash (as "w0,w1,w2,w3") → index in `conflicts`, for listed conflicts only. */
  private readonly conflictIndex = new Map<string, number>()
  private conflictCount = 0
  private rowsRead = 0
  private kept = 0
  private out: Buffer = Buffer.allocUnsafe(OUT_BYTES)
  /** Output buffers the file stream has finished with. */
  private readonly spare: Buffer[] = []
  private pos = 0
  private scratch = Buffer.allocUnsafe(16 * 1024)
  private readonly encoder = new TextEncoder()
  private readonly sha = createHash('sha256')
  private failure: Error | undefined
  private nextProgressRows = PROGRESS_EVERY_ROWS
  private lastProgressAt = Date.now()
  private reportedRows = 0
  private closed = false
  private readonly h = new Uint32Array(4)

  private constructor(
    readonly destPath: string,
    readonly tempPath: string,
    private readonly stream: WriteStream,
    private readonly opts: DatasetWriterOptions,
  ) {
    stream.on('error', (e) => {
      this.failure ??= e
    })
  }

  static async open(destPath: string, opts: DatasetWriterOptions): Promise<DatasetWriter> {
    const dir = dirname(destPath)
    const tempPath = join(dir, `.${basename(destPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    try {
      await mkdir(dir, { recursive: true })
      const stream = createWriteStream(tempPath, { flags: 'wx', mode: 0o644, highWaterMark: 2 * OUT_BYTES, flush: true })
      await once(stream, 'open')
      return new DatasetWriter(destPath, tempPath, stream, opts)
    } catch (e) {
      await rm(tempPath, { force: true })
      throw new ModelshipError('STEP_FAILED', `cannot write the dataset beside ${destPath}: ${messageOf(e)}`)
    }
  }

  /** Adds one source row. Synchronous; call `ready()` after each batch to respect backpressure. */
  add(rawText: string, rawLabel: string, ref: RowRef): void {
    const n = ++this.rowsRead
    if ((n & 1023) === 0 || n >= this.nextProgressRows) this.tick()
    const text = rawText.trim()
    if (text.length === 0) return this.drop('empty_text', ref)
    const info = this.rawLabels.get(rawLabel) ?? this.labelOf(rawLabel)
    if (info === null) return this.drop('empty_label', ref)
    if (text.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(text.length * 3 + 1024)
    const { written } = this.encoder.encodeInto(text, this.scratch)
    this.keep(this.scratch, 0, written, info, ref, -1, -1, text)
  }

  /**
   * Adds one row given as UTF-8 bytes, unescaped: the text in buf[ts, te), the label in buf[ls, le).
   * The fast path for sources that deliver bytes (PostgreSQL COPY): most rows never become strings.
   * The row is named by the id in buf[idStart, idEnd) when idStart >= 0, else by `rowNo`; either is
   * decoded only if the report lists the row.
   */
  addUtf8(buf: Buffer, ts: number, te: number, ls: number, le: number, rowNo: number, idStart: number, idEnd: number): void {
    if (te <= ts || isSpaceAtStart(buf, ts, te) || isSpaceAtEnd(buf, ts, te)) {
      // Needs trimming (or is empty): the string path does it the way String.prototype.trim does.
      const ref = idStart >= 0 ? idRef(buf, idStart, idEnd) : rowNo
      return this.add(buf.toString('utf8', ts, te), buf.toString('utf8', ls, le), ref)
    }
    const n = ++this.rowsRead
    if ((n & 1023) === 0 || n >= this.nextProgressRows) this.tick()
    const info = this.labelOfBytes(buf, ls, le)
    if (info === null) return this.drop('empty_label', idStart >= 0 ? idRef(buf, idStart, idEnd) : rowNo)
    this.keep(buf, ts, te, info, rowNo, idStart, idEnd, undefined)
  }

  /** Sizes the dedup table for about `rows` rows up front (an estimate; it still grows past it). */
  expectRows(rows: number): void {
    if (Number.isFinite(rows) && rows > 0 && this.rowsRead === 0) this.texts.reserve(Math.min(rows, 50_000_000))
  }

  /** Resolves once the file stream has room again; `undefined` when it already has (no await needed). */
  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.writeError(this.failure))
    if (!this.stream.writableNeedDrain) return undefined
    return once(this.stream, 'drain').then(
      () => undefined,
      (e: unknown) => Promise.reject(this.writeError(e)),
    )
  }

  /** Finishes the file, renames it over `destPath` and returns the result. */
  async commit(): Promise<ExportResult> {
    this.tick(true)
    this.flushOut()
    this.closed = true
    try {
      if (this.failure) throw this.failure
      this.stream.end()
      await once(this.stream, 'close')
      if (this.failure) throw this.failure
      await rename(this.tempPath, this.destPath)
    } catch (e) {
      await this.discard()
      throw this.writeError(e)
    }
    const sha256 = this.sha.digest('hex')
    return { path: this.destPath, sha256, report: this.report(sha256) }
  }

  /** Removes the temp file; `destPath` is left as it was. Safe to call more than once. */
  async discard(): Promise<void> {
    this.closed = true
    if (!this.stream.closed) {
      this.stream.destroy()
      await once(this.stream, 'close').catch(() => undefined)
    }
    await rm(this.tempPath, { force: true })
  }

  /** Dedups and writes one non-empty, trimmed text (UTF-8 in buf[ts, te)); `text` is the same as a string when known. */
  private keep(buf: Buffer, ts: number, te: number, info: LabelInfo, ref: RowRef, idStart: number, idEnd: number, text: string | undefined): void {
    const h = this.h
    const flags = hashBytes(buf, ts, te, 0, h)
    const slot = this.texts.insertIfAbsent(h, info.id)
    if (slot >= 0) {
      const value = this.texts.valueAt(slot)
      const firstId = value & ~CONFLICT_FLAG
      if (firstId === info.id) return this.drop('duplicate', idStart >= 0 ? idRef(buf, idStart, idEnd) : ref)
      // Same text, another label: keep the row unless this exact (text, label) pair was seen before.
      const textKey = `${h[0]},${h[1]},${h[2]},${h[3]}`
      hashBytes(buf, ts, te, info.id, h)
      this.pairs ??= new HashTable128()
      if (this.pairs.insertIfAbsent(h, 1) >= 0) return this.drop('duplicate', idStart >= 0 ? idRef(buf, idStart, idEnd) : ref)
      this.recordConflict(textKey, text ?? buf.toString('utf8', ts, te), this.labelList[firstId - 1]!.name, info.name, slot, value)
    }
    info.count++
    this.kept++

    if (flags & NEEDS_UNICODE_ESCAPE) {
      // Control characters need JSON's \u escapes: rare enough to leave to JSON.stringify.
      const line = `{"text":${JSON.stringify(text ?? buf.toString('utf8', ts, te))},"label":${info.json}}\n`
      this.reserve(line.length * 3)
      this.pos += this.out.write(line, this.pos, 'utf8')
      return
    }
    const len = te - ts
    const label = info.jsonBytes
    this.reserve((flags & NEEDS_BACKSLASH ? 2 * len : len) + label.length + 32)
    const out = this.out
    let p = this.pos
    for (let i = 0; i < TEXT_PREFIX.length; i++) out[p++] = TEXT_PREFIX[i]!
    if ((flags & NEEDS_BACKSLASH) === 0) {
      if (len > 48) {
        buf.copy(out, p, ts, te)
        p += len
      } else {
        for (let i = ts; i < te; i++) out[p++] = buf[i]!
      }
    } else {
      for (let i = ts; i < te; i++) {
        const b = buf[i]!
        if (b === QUOTE || b === BACKSLASH) out[p++] = BACKSLASH
        out[p++] = b
      }
    }
    for (let i = 0; i < LABEL_PREFIX.length; i++) out[p++] = LABEL_PREFIX[i]!
    for (let i = 0; i < label.length; i++) out[p++] = label[i]!
    out[p++] = 0x7d // }
    out[p++] = 0x0a // \n
    this.pos = p
  }

  /** Resolves a raw label (as the source spelled it) to its trimmed label, or null when empty. */
  private labelOf(rawLabel: string): LabelInfo | null {
    const name = rawLabel.trim()
    let info: LabelInfo | null = null
    if (name !== '') {
      info = this.labels.get(name) ?? null
      if (info === null) {
        if (this.labelList.length >= MAX_LABELS) {
          throw new ModelshipError('BAD_INPUT', `${this.opts.source}: more than ${MAX_LABELS} distinct labels — is the label column the right one?`)
        }
        const json = JSON.stringify(name)
        info = { id: this.labelList.length + 1, name, json, jsonBytes: Buffer.from(json, 'utf8'), count: 0 }
        this.labels.set(name, info)
        this.labelList.push(info)
      }
    }
    if (this.rawLabels.size < MAX_LABELS * 4) this.rawLabels.set(rawLabel, info)
    return info
  }

  private labelOfBytes(buf: Buffer, ls: number, le: number): LabelInfo | null {
    const len = le - ls
    const known = this.byteLabels
    for (let k = 0; k < known.length; k++) {
      const { bytes, info } = known[k]!
      if (bytes.length !== len) continue
      let i = 0
      while (i < len && bytes[i] === buf[ls + i]) i++
      if (i === len) return info
    }
    const info = this.labelOf(buf.toString('utf8', ls, le))
    if (known.length < MAX_BYTE_LABELS) known.push({ bytes: Buffer.from(buf.subarray(ls, le)), info })
    return info
  }

  private report(sha256: string): DatasetReport {
    const perLabel: Record<string, number> = {}
    for (const l of [...this.labelList].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (l.count > 0) perLabel[l.name] = l.count
    }
    return {
      source: this.opts.source,
      rowsRead: this.rowsRead,
      kept: this.kept,
      dropped: this.dropped,
      perLabel,
      conflicts: this.conflicts,
      conflictCount: this.conflictCount,
      sha256,
    }
  }

  private recordConflict(textKey: string, text: string, first: string, label: string, slot: number, value: number): void {
    if ((value & CONFLICT_FLAG) === 0) {
      this.texts.setValueAt(slot, value | CONFLICT_FLAG)
      this.conflictCount++
      if (this.conflicts.length < MAX_CONFLICTS_LISTED) {
        this.conflictIndex.set(textKey, this.conflicts.length)
        this.conflicts.push({ text, labels: [first, label] })
      }
      return
    }
    const i = this.conflictIndex.get(textKey)
    if (i !== undefined) this.conflicts[i]!.labels.push(label)
  }

  private drop(reason: DropReason, ref: RowRef): void {
    const entry = (this.dropped[reason] ??= { count: 0, first: [] })
    entry.count++
    if (entry.first.length < FIRST_REFS) entry.first.push(ref)
  }

  /** Makes room for `bytes` more bytes in the output buffer, writing out what it holds if needed. */
  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.out.length) return
    this.flushOut()
    if (bytes > this.out.length) this.out = Buffer.allocUnsafe(bytes) // one huge row; not pooled
  }

  private flushOut(): void {
    if (this.pos === 0 || this.closed) return
    // The stream keeps the chunk until it is written; then the buffer is reused. Fresh buffers each
    // time would be garbage the collector frees late (they live outside the JS heap), inflating RSS.
    const full = this.out
    const chunk = full.subarray(0, this.pos)
    this.sha.update(chunk)
    this.stream.write(chunk, () => {
      if (full.length === OUT_BYTES && this.spare.length < 4) this.spare.push(full)
    })
    this.out = this.spare.pop() ?? Buffer.allocUnsafe(OUT_BYTES)
    this.pos = 0
  }

  private tick(final = false): void {
    if (this.opts.signal?.aborted) throw new ModelshipError('INTERRUPTED', 'export interrupted')
    if (this.rowsRead === this.reportedRows) return
    const now = Date.now()
    if (!final && this.rowsRead < this.nextProgressRows && now - this.lastProgressAt < PROGRESS_EVERY_MS) return
    while (this.nextProgressRows <= this.rowsRead) this.nextProgressRows += PROGRESS_EVERY_ROWS
    this.lastProgressAt = now
    this.reportedRows = this.rowsRead
    this.opts.onProgress?.(`exported ${this.rowsRead} rows`)
  }

  private writeError(e: unknown): ModelshipError {
    if (e instanceof ModelshipError) return e
    return new ModelshipError('STEP_FAILED', `cannot write the dataset ${this.destPath}: ${messageOf(e)}`)
  }
}

/**
 * Opens a writer, lets `fill` add rows, then commits. On any failure the temp file is removed,
 * `destPath` is untouched, and the error is rethrown.
 */
export async function writeDataset(
  destPath: string,
  opts: DatasetWriterOptions,
  fill: (writer: DatasetWriter) => Promise<void>,
): Promise<ExportResult> {
  const writer = await DatasetWriter.open(destPath, opts)
  try {
    await fill(writer)
    return await writer.commit()
  } catch (e) {
    await writer.discard()
    throw e
  }
}

interface LabelInfo {
  /** 1-based, as stored in the hash table (0 marks an empty slot). */
  id: number
  name: string
  /** The label serialized as a JSON string, computed once per label. */
  json: string
  jsonBytes: Buffer
  count: number
}

/** An id as the report shows it: a number when it is an integer, else the text. */
function idRef(buf: Buffer, start: number, end: number): RowRef {
  const s = buf.toString('utf8', start, end)
  return /^\d{1,15}$/.test(s) ? Number(s) : s
}

/**
 * Whether the text in buf[ts, te) starts with a character String.prototype.trim removes: ASCII
 * whitespace, or one of the Unicode spaces (U+00A0, U+1680, U+2000–U+200A, U+2028/9, U+202F,
 * U+205F, U+3000, U+FEFF) in UTF-8.
 */
function isSpaceAtStart(buf: Buffer, ts: number, te: number): boolean {
  const b = buf[ts]!
  if (b <= 0x20) return true
  if (b < 0x80) return false
  return isUnicodeSpace(buf, ts, te)
}

function isSpaceAtEnd(buf: Buffer, ts: number, te: number): boolean {
  const b = buf[te - 1]!
  if (b <= 0x20) return true
  if (b < 0x80) return false
  // Back up to the first byte of the last character.
  let s = te - 1
  while (s > ts && (buf[s]! & 0xc0) === 0x80) s--
  return isUnicodeSpace(buf, s, te)
}

function isUnicodeSpace(buf: Buffer, s: number, te: number): boolean {
  const b0 = buf[s]!
  const b1 = s + 1 < te ? buf[s + 1]! : 0
  const b2 = s + 2 < te ? buf[s + 2]! : 0
  if (b0 === 0xc2) return b1 === 0xa0
  if (b0 === 0xe1) return b1 === 0x9a && b2 === 0x80
  if (b0 === 0xe2) return (b1 === 0x80 && (b2 <= 0x8a || b2 === 0xa8 || b2 === 0xa9 || b2 === 0xaf)) || (b1 === 0x81 && b2 === 0x9f)
  if (b0 === 0xe3) return b1 === 0x80 && b2 === 0x80
  if (b0 === 0xef) return b1 === 0xbb && b2 === 0xbf
  return false
}

const C1 = 0x239b961b
const C2 = 0xab0e9789
const C3 = 0x38b34ae5
const C4 = 0xa1e38b93

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/**
 * MurmurHash3 x86_128 of buf[start, end) with `seed`, into `out` (four 32-bit words). A 128-bit hash
 * has no collisions in practice for millions of texts, and costs far less than a crypto digest.
 * Returns NEEDS_* flags for the bytes seen (what writing them in a JSON string takes).
 */
export function hashBytes(buf: Uint8Array, start: number, end: number, seed: number, out: Uint32Array): number {
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
      cls[b0]! | cls[b1]! | cls[b2]! | cls[b3]! | cls[b4]! | cls[b5]! | cls[b6]! | cls[b7]! |
      cls[b8]! | cls[b9]! | cls[b10]! | cls[b11]! | cls[b12]! | cls[b13]! | cls[b14]! | cls[b15]!
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

/** Bytes JSON strings cannot hold as they are: 1 for `"` and `\` (escaped with a backslash), 2 for control characters. */
const NEEDS_BACKSLASH = 1
const NEEDS_UNICODE_ESCAPE = 2
const BYTE_CLASS = new Uint8Array(256)
for (let b = 0; b < 0x20; b++) BYTE_CLASS[b] = NEEDS_UNICODE_ESCAPE
BYTE_CLASS[QUOTE] = NEEDS_BACKSLASH
BYTE_CLASS[BACKSLASH] = NEEDS_BACKSLASH

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
  insertIfAbsent(key: Uint32Array, value: number): number {
    const s = key[1]! >>> 28
    const i = this.shards[s]!.insertIfAbsent(key[0]!, key[1]!, key[2]!, key[3]!, value)
    return i < 0 ? -1 : i * SHARDS + s
  }

  valueAt(handle: number): number {
    return this.shards[handle % SHARDS]!.slots[Math.floor(handle / SHARDS) * SLOT + 4]!
  }

  setValueAt(handle: number, value: number): void {
    this.shards[handle % SHARDS]!.slots[Math.floor(handle / SHARDS) * SLOT + 4] = value >>> 0
  }
}

class Shard {
  slots: Uint32Array
  private capacity: number
  private size = 0

  constructor(capacity: number) {
    this.capacity = capacity
    this.slots = new Uint32Array(capacity * SLOT)
  }

  /** Keys are unsigned 32-bit words (read from a Uint32Array). */
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
    const slots = new Uint32Array(capacity * SLOT)
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
