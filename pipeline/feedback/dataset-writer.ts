import { ModelshipError } from '../engine/errors.js'
import { Dedup, Verdict } from './dedup.js'
import { DedupWorker, type DedupSlot } from './dedup-worker.js'
import { JsonlFile } from './jsonl-file.js'
import { rowProblemsError } from './problems.js'
import { RowPolicy } from './row-policy.js'
import { hashBytes } from './text-hash.js'
import type { DatasetReport, ExportResult, RowRef } from './types.js'
import { endsWithSpace, startsWithSpace } from './utf8.js'

export type { RowRef } from './types.js'

export interface DatasetWriterOptions {
  /** Secret-free identity of the source, copied into the report. */
  source: string
  /** What the sources' row references are (line numbers, row numbers, ids). */
  refs?: DatasetReport['refs']
  /** The model's labels: rows with others are listed in the report (see ExportRequest.labels). */
  labels?: readonly string[]
  onProgress?: (line: string) => void
  signal?: AbortSignal
  /** Rows deduplicated together (default BATCH_ROWS); the output does not depend on it. */
  batchRows?: number
  /**
   * Whether the dedup table lives on a worker thread (dedup-worker.ts): by default only once `expectRows`
   * announces at least WORKER_MIN_ROWS rows. The output does not depend on it.
   */
  dedupWorker?: boolean
  /** `false`: the file is not flushed to disk (see ExportRequest.durable). Default `true`. */
  durable?: boolean
}

const PROGRESS_EVERY_ROWS = 100_000
const PROGRESS_EVERY_MS = 1000
/**
 * Rows held before they are deduplicated and written: enough that each of the dedup table's 256 shards
 * gets tens of probes per batch (dedup.ts). Measured on 1M rows: 4096 gains less, 32768 gains no more
 * but holds the COPY chunks long enough for them to reach the old generation (+20 MiB peak RSS).
 */
const BATCH_ROWS = 16_384
/**
 * The batch size with a worker, which holds two batches (and their COPY chunks) at a time. Measured on
 * 1M rows: peak RSS 107 MiB in-thread; with the worker (~10 MiB for its thread and heap) 140 MiB with
 * 16384-row batches, 118 MiB with 8192 (4096: 115 MiB, more waits).
 */
const WORKER_BATCH_ROWS = 8192
/**
 * Rows from which the dedup table moves to a worker thread: starting one costs ~30–40 ms (a few
 * thousand rows' worth), which a small export would notice and a large one wins back many times.
 */
const WORKER_MIN_ROWS = 100_000
/**
 * The first batch's rows when `batchRows` is not given: a small export (the example's 1.6k rows) does not
 * pay for a full batch's arrays and arena (measured: ~10 ms of allocation and garbage collection in a
 * release's export). Each next batch is BATCH_GROWTH times bigger, up to full size: jumping from the first
 * to a full batch cost the example another ~5 ms of garbage collection for 600 rows.
 */
const FIRST_BATCH_ROWS = 1024
const BATCH_GROWTH = 4
/** Bytes of the buffers that hold texts given as strings until their batch is written (at most). */
const ARENA_BYTES = 1 << 20
/** A batch's first arena: this many bytes a row (texts are short), up to ARENA_BYTES. */
const ARENA_BYTES_PER_ROW = 128

/** What a batched row is: a text to dedup and write, or a row dropped before dedup. */
const KEEP = 0
const EMPTY_TEXT = 1
const EMPTY_LABEL = 2

/**
 * Turns source rows into the dataset: text and label are trimmed, rows with an empty text (or label)
 * are dropped, exact duplicates (same text and label) are dropped, texts seen with different labels
 * are reported as conflicts (all their rows kept), and the rest are written in order (jsonl-file.ts).
 * Each text is read once: hashing for dedup also finds what JSON escaping it needs.
 *
 * Rows are taken in batches: each row is hashed when added, a full batch is deduplicated at once (which
 * lets the dedup table be probed shard by shard, see dedup.ts), then its rows are reported and written in
 * row order. Rows added as bytes point into the caller's buffer until then, which the caller must not
 * reuse (COPY chunks are fresh buffers); texts given as strings are copied into an arena. With the dedup
 * table on a worker thread, a full batch is handed to it and the previous batch, whose verdicts are then
 * ready (or soon), is written while the worker checks this one: the rows are still written in row order.
 */
export class DatasetWriter {
  private readonly policy: RowPolicy
  private readonly dedup = new Dedup()
  private worker: DedupWorker | undefined
  private rowsRead = 0
  private kept = 0
  private readonly hash = new Int32Array(4)
  private nextProgressRows = PROGRESS_EVERY_ROWS
  private lastProgressAt = Date.now()
  private reportedRows = 0
  private batchRows: number
  /** The batch being filled. */
  private batch: Batch
  /** With a worker: the other batch, checked by the worker, written on the next hand-over (or at commit). */
  private other: Batch
  private otherPending = false

  private constructor(
    private readonly file: JsonlFile,
    private readonly opts: DatasetWriterOptions,
  ) {
    this.policy = new RowPolicy(opts.source, opts.labels)
    const n = Math.max(1, Math.floor(opts.batchRows ?? BATCH_ROWS))
    this.batchRows = n
    this.batch = new Batch(opts.batchRows === undefined ? Math.min(n, FIRST_BATCH_ROWS) : n)
    this.other = this.batch
    if (opts.dedupWorker === true) this.startWorker(0)
  }

  static async open(destPath: string, opts: DatasetWriterOptions): Promise<DatasetWriter> {
    return new DatasetWriter(await JsonlFile.open(destPath, { durable: opts.durable ?? true }), opts)
  }

  get destPath(): string {
    return this.file.destPath
  }

  get tempPath(): string {
    return this.file.tempPath
  }

  /** Adds one source row. Synchronous; call `ready()` after each batch to respect backpressure. */
  add(rawText: string, rawLabel: string, ref: RowRef): void {
    const n = ++this.rowsRead
    if ((n & 1023) === 0 || n >= this.nextProgressRows) this.tick()
    const text = rawText.trim()
    if (text.length === 0) return this.queueDrop(EMPTY_TEXT, ref)
    const info = this.policy.label(rawLabel)
    if (info === null) return this.queueDrop(EMPTY_LABEL, ref)
    const batch = this.batch
    if (batch.arenaUsed + text.length * 3 > batch.arena.length) {
      // The full arena stays alive through the rows of this batch that point into it.
      batch.arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, text.length * 3))
      batch.arenaUsed = 0
    }
    const ts = batch.arenaUsed
    const te = ts + batch.arena.write(text, ts, 'utf8')
    batch.arenaUsed = te
    this.queueKeep(batch.arena, ts, te, info.id, ref, -1, -1, text)
  }

  /**
   * Adds one row given as UTF-8 bytes: the text in buf[ts, te), the label in buf[ls, le). The fast path
   * for sources that deliver bytes (PostgreSQL COPY): most rows never become strings. The row is named
   * by the id in buf[idStart, idEnd) when idStart >= 0, else by `rowNo`; either is decoded only if the
   * report lists the row (plain numbers rather than a closure: no allocation per row). `buf` is read
   * until the row's batch is written: it must not be reused before `ready()` or `commit()`.
   */
  addUtf8(
    buf: Buffer,
    ts: number,
    te: number,
    ls: number,
    le: number,
    rowNo: number,
    idStart: number,
    idEnd: number,
  ): void {
    if (te <= ts || startsWithSpace(buf, ts, te) || endsWithSpace(buf, ts, te)) {
      // Needs trimming (or is empty): the string path does it the way String.prototype.trim does.
      const ref = idStart >= 0 ? idRef(buf, idStart, idEnd) : rowNo
      return this.add(buf.toString('utf8', ts, te), buf.toString('utf8', ls, le), ref)
    }
    const n = ++this.rowsRead
    if ((n & 1023) === 0 || n >= this.nextProgressRows) this.tick()
    const info = this.policy.labelOfBytes(buf, ls, le)
    if (info === null) return this.queueDrop(EMPTY_LABEL, idStart >= 0 ? idRef(buf, idStart, idEnd) : rowNo)
    this.queueKeep(buf, ts, te, info.id, rowNo, idStart, idEnd, undefined)
  }

  /** A source row that is not a (text, label) record: listed in the report, the export goes on. */
  reject(ref: RowRef, reason: string): void {
    this.rowsRead++
    this.policy.reject(ref, reason)
  }

  /**
   * Sizes the dedup table for about `rows` rows up front (an estimate; it still grows past it). From
   * WORKER_MIN_ROWS rows on, unless `dedupWorker` says otherwise, the table is made on a worker thread.
   */
  expectRows(rows: number): void {
    if (!Number.isFinite(rows) || rows <= 0 || this.rowsRead !== 0) return
    const texts = Math.min(rows, 50_000_000)
    if (this.worker === undefined && (this.opts.dedupWorker ?? rows >= WORKER_MIN_ROWS)) this.startWorker(texts)
    else if (this.worker === undefined) this.dedup.reserve(texts)
  }

  /**
   * Resolves once the file has room again; `undefined` when it already has (no await needed). Rows
   * added so far may still be batched: they are written by a later `add` or by `commit()`.
   */
  ready(): Promise<void> | undefined {
    return this.file.ready()
  }

  /** Finishes the file, renames it over `destPath` and returns the result. */
  async commit(): Promise<ExportResult> {
    this.writeBatch()
    if (this.otherPending) this.writeChecked(this.other)
    this.otherPending = false
    const stopped = this.worker?.stop()
    this.tick(true)
    // Every bad row at once, before anything replaces the destination.
    const problems = rowProblemsError(
      this.policy.report({ rowsRead: this.rowsRead, kept: this.kept, refs: this.opts.refs }, ''),
      this.opts.labels,
    )
    if (problems) throw problems
    const sha256 = await this.file.commit()
    await stopped
    const report = this.policy.report({ rowsRead: this.rowsRead, kept: this.kept, refs: this.opts.refs }, sha256)
    return { path: this.file.destPath, sha256, report }
  }

  /** Removes the temp file and stops the worker; `destPath` is left as it was. Safe to call more than once. */
  async discard(): Promise<void> {
    await Promise.all([this.file.discard(), this.worker?.stop()])
  }

  /** Moves the dedup table to a worker thread sized for `texts` texts; only before the first batch. */
  private startWorker(texts: number): void {
    if (this.opts.batchRows === undefined) this.batchRows = WORKER_BATCH_ROWS
    const worker = new DedupWorker(this.batchRows, texts)
    this.worker = worker
    this.batch = new Batch(this.batchRows)
    this.batch.useSlot(worker.slots[0]!)
    this.other = new Batch(this.batchRows)
    this.other.useSlot(worker.slots[1]!)
  }

  /** Batches a row dropped before dedup: it is reported in row order among the others. */
  private queueDrop(kind: typeof EMPTY_TEXT | typeof EMPTY_LABEL, ref: RowRef): void {
    const b = this.batch
    const i = b.count
    b.kinds[i] = kind
    b.labelIds[i] = 0
    b.idStarts[i] = -1
    b.refs[i] = ref
    if (++b.count === b.capacity) this.writeBatch()
  }

  /** Batches a non-empty, trimmed text (UTF-8 in buf[ts, te)) with label `labelId`; hashes it now, while in cache. */
  private queueKeep(
    buf: Buffer,
    ts: number,
    te: number,
    labelId: number,
    ref: RowRef,
    idStart: number,
    idEnd: number,
    text: string | undefined,
  ): void {
    const b = this.batch
    const i = b.count
    const h = this.hash
    b.escapeFlags[i] = hashBytes(buf, ts, te, 0, h)
    const hashes = b.hashes
    hashes[i * 4] = h[0]!
    hashes[i * 4 + 1] = h[1]!
    hashes[i * 4 + 2] = h[2]!
    hashes[i * 4 + 3] = h[3]!
    b.kinds[i] = KEEP
    b.labelIds[i] = labelId
    b.bufs[i] = buf
    b.textStarts[i] = ts
    b.textEnds[i] = te
    b.idStarts[i] = idStart
    b.idEnds[i] = idEnd
    b.refs[i] = ref
    b.texts[i] = text
    if (++b.count === b.capacity) this.writeBatch()
  }

  /**
   * Dedups the batch being filled and writes it; with a worker, hands it over and writes the previous
   * batch instead, whose verdicts the worker found while this one was filled.
   */
  private writeBatch(): void {
    const batch = this.batch
    if (batch.count === 0) return
    const worker = this.worker
    if (worker === undefined) {
      this.dedup.checkBatch(batch.hashes, batch.labelIds, batch.count, batch.verdicts, batch.firstLabelIds)
      this.writeChecked(batch)
      if (batch.capacity < this.batchRows)
        this.batch = new Batch(Math.min(this.batchRows, batch.capacity * BATCH_GROWTH))
      return
    }
    batch.seq = worker.submit(batch.count)
    const previous = this.other
    this.other = batch
    this.batch = previous
    if (this.otherPending) this.writeChecked(previous)
    this.otherPending = true
  }

  /** Reports and writes a batch's rows in row order, after waiting for its verdicts if the worker has them. */
  private writeChecked(batch: Batch): void {
    const count = batch.count
    this.worker?.wait(batch.seq)
    const { kinds, bufs, textStarts, textEnds, refs, texts, labelIds, hashes, verdicts } = batch
    const labels = this.policy.labelList
    for (let i = 0; i < count; i++) {
      const kind = kinds[i]
      if (kind !== KEEP) {
        this.policy.drop(kind === EMPTY_TEXT ? 'empty_text' : 'empty_label', refs[i]!)
        continue
      }
      const buf = bufs[i]!
      const ts = textStarts[i]!
      const te = textEnds[i]!
      const verdict = verdicts[i]
      if (verdict === Verdict.Duplicate) {
        this.policy.drop('duplicate', batch.refOf(i))
        continue
      }
      const info = labels[labelIds[i]! - 1]!
      if (verdict !== Verdict.New) {
        const first = verdict === Verdict.FirstConflict ? labels[batch.firstLabelIds[i]! - 1]!.name : undefined
        const o = i * 4
        this.policy.conflict(
          `${hashes[o]},${hashes[o + 1]},${hashes[o + 2]},${hashes[o + 3]}`,
          () => texts[i] ?? buf.toString('utf8', ts, te),
          info.name,
          first,
        )
      }
      info.count++
      this.kept++
      if (info.unknown) this.policy.listUnknown(info, batch.refOf(i))
      this.file.writeLine(buf, ts, te, batch.escapeFlags[i]!, info.jsonBytes, texts[i])
    }
    // Let the batch's chunks and strings be collected; its arena is reused.
    bufs.fill(undefined, 0, count)
    texts.fill(undefined, 0, count)
    refs.fill(0, 0, count)
    batch.arenaUsed = 0
    batch.count = 0
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

/** One batch of rows, one entry per row (struct of arrays: no object per row). */
class Batch {
  count = 0
  readonly capacity: number
  /** With a worker: the batch's number, whose verdicts `DedupWorker.wait` waits for. */
  seq = 0
  readonly kinds: Uint8Array
  /** The buffer holding the row's text (and id, when idStarts[i] >= 0). */
  readonly bufs: Array<Buffer | undefined>
  readonly textStarts: Int32Array
  readonly textEnds: Int32Array
  readonly idStarts: Int32Array
  readonly idEnds: Int32Array
  /** The row's reference when its id is not in `bufs` (idStarts[i] < 0). */
  readonly refs: RowRef[]
  /** The text as a string when the row came as one (writing control characters uses it as JSON.stringify would). */
  readonly texts: Array<string | undefined>
  readonly escapeFlags: Uint8Array
  // The dedup input and output: in memory shared with the worker when there is one (useSlot).
  labelIds: Int32Array
  hashes: Int32Array
  verdicts: Uint8Array
  firstLabelIds: Int32Array
  arena: Buffer
  arenaUsed = 0

  constructor(n: number) {
    this.capacity = n
    this.arena = Buffer.allocUnsafe(Math.min(ARENA_BYTES, n * ARENA_BYTES_PER_ROW))
    this.kinds = new Uint8Array(n)
    this.bufs = new Array<Buffer | undefined>(n).fill(undefined)
    this.textStarts = new Int32Array(n)
    this.textEnds = new Int32Array(n)
    this.idStarts = new Int32Array(n)
    this.idEnds = new Int32Array(n)
    this.refs = new Array<RowRef>(n).fill(0)
    this.texts = new Array<string | undefined>(n).fill(undefined)
    this.escapeFlags = new Uint8Array(n)
    this.labelIds = new Int32Array(n)
    this.hashes = new Int32Array(n * 4)
    this.verdicts = new Uint8Array(n)
    this.firstLabelIds = new Int32Array(n)
  }

  /** How the report names row i: its id from the source's bytes when it has one, else its reference. */
  refOf(i: number): RowRef {
    const idStart = this.idStarts[i]!
    return idStart >= 0 ? idRef(this.bufs[i]!, idStart, this.idEnds[i]!) : this.refs[i]!
  }

  useSlot(slot: DedupSlot): void {
    this.labelIds = slot.labelIds
    this.hashes = slot.hashes
    this.verdicts = slot.verdicts
    this.firstLabelIds = slot.firstLabelIds
  }
}

/** An id as the report shows it: a number when it is an integer, else the text. */
function idRef(buf: Buffer, start: number, end: number): RowRef {
  const s = buf.toString('utf8', start, end)
  return /^\d{1,15}$/.test(s) ? Number(s) : s
}
