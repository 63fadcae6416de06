import { ModelshipError } from '../engine/errors.js'
import { Dedup, Verdict } from './dedup.js'
import { JsonlFile } from './jsonl-file.js'
import { rowProblemsError } from './problems.js'
import { RowPolicy, type LabelInfo } from './row-policy.js'
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
}

const PROGRESS_EVERY_ROWS = 100_000
const PROGRESS_EVERY_MS = 1000

/**
 * Turns source rows into the dataset: text and label are trimmed, rows with an empty text (or label)
 * are dropped, exact duplicates (same text and label) are dropped, texts seen with different labels
 * are reported as conflicts (all their rows kept), and the rest are written in order (jsonl-file.ts).
 * Each text is read once: hashing for dedup also finds what JSON escaping it needs.
 */
export class DatasetWriter {
  private readonly policy: RowPolicy
  private readonly dedup = new Dedup()
  private rowsRead = 0
  private kept = 0
  private scratch = Buffer.allocUnsafe(16 * 1024)
  private readonly encoder = new TextEncoder()
  private readonly hash = new Int32Array(4)
  private nextProgressRows = PROGRESS_EVERY_ROWS
  private lastProgressAt = Date.now()
  private reportedRows = 0

  private constructor(
    private readonly file: JsonlFile,
    private readonly opts: DatasetWriterOptions,
  ) {
    this.policy = new RowPolicy(opts.source, opts.labels)
  }

  static async open(destPath: string, opts: DatasetWriterOptions): Promise<DatasetWriter> {
    return new DatasetWriter(await JsonlFile.open(destPath), opts)
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
    if (text.length === 0) return this.policy.drop('empty_text', ref)
    const info = this.policy.label(rawLabel)
    if (info === null) return this.policy.drop('empty_label', ref)
    if (text.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(text.length * 3 + 1024)
    const { written } = this.encoder.encodeInto(text, this.scratch)
    this.keep(this.scratch, 0, written, info, ref, -1, -1, text)
  }

  /**
   * Adds one row given as UTF-8 bytes: the text in buf[ts, te), the label in buf[ls, le). The fast path
   * for sources that deliver bytes (PostgreSQL COPY): most rows never become strings. The row is named
   * by the id in buf[idStart, idEnd) when idStart >= 0, else by `rowNo`; either is decoded only if the
   * report lists the row (plain numbers rather than a closure: no allocation per row).
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
    if (info === null) return this.policy.drop('empty_label', idStart >= 0 ? idRef(buf, idStart, idEnd) : rowNo)
    this.keep(buf, ts, te, info, rowNo, idStart, idEnd, undefined)
  }

  /** A source row that is not a (text, label) record: listed in the report, the export goes on. */
  reject(ref: RowRef, reason: string): void {
    this.rowsRead++
    this.policy.reject(ref, reason)
  }

  /** Sizes the dedup table for about `rows` rows up front (an estimate; it still grows past it). */
  expectRows(rows: number): void {
    if (Number.isFinite(rows) && rows > 0 && this.rowsRead === 0) this.dedup.reserve(Math.min(rows, 50_000_000))
  }

  /** Resolves once the file has room again; `undefined` when it already has (no await needed). */
  ready(): Promise<void> | undefined {
    return this.file.ready()
  }

  /** Finishes the file, renames it over `destPath` and returns the result. */
  async commit(): Promise<ExportResult> {
    this.tick(true)
    // Every bad row at once, before anything replaces the destination.
    const problems = rowProblemsError(
      this.policy.report({ rowsRead: this.rowsRead, kept: this.kept, refs: this.opts.refs }, ''),
      this.opts.labels,
    )
    if (problems) throw problems
    const sha256 = await this.file.commit()
    const report = this.policy.report({ rowsRead: this.rowsRead, kept: this.kept, refs: this.opts.refs }, sha256)
    return { path: this.file.destPath, sha256, report }
  }

  /** Removes the temp file; `destPath` is left as it was. Safe to call more than once. */
  discard(): Promise<void> {
    return this.file.discard()
  }

  /** Dedups and writes one non-empty, trimmed text (UTF-8 in buf[ts, te)); `text` is it as a string when known. */
  private keep(
    buf: Buffer,
    ts: number,
    te: number,
    info: LabelInfo,
    ref: RowRef,
    idStart: number,
    idEnd: number,
    text: string | undefined,
  ): void {
    const h = this.hash
    const flags = hashBytes(buf, ts, te, 0, h)
    const verdict = this.dedup.check(h, info.id)
    if (verdict !== Verdict.New) {
      if (verdict === Verdict.Duplicate)
        return this.policy.drop('duplicate', idStart >= 0 ? idRef(buf, idStart, idEnd) : ref)
      const first =
        verdict === Verdict.FirstConflict ? this.policy.labelList[this.dedup.firstLabelId - 1]!.name : undefined
      this.policy.conflict(
        `${h[0]},${h[1]},${h[2]},${h[3]}`,
        () => text ?? buf.toString('utf8', ts, te),
        info.name,
        first,
      )
    }
    info.count++
    this.kept++
    if (info.unknown) this.policy.listUnknown(info, idStart >= 0 ? idRef(buf, idStart, idEnd) : ref)
    this.file.writeLine(buf, ts, te, flags, info.jsonBytes, text)
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

/** An id as the report shows it: a number when it is an integer, else the text. */
function idRef(buf: Buffer, start: number, end: number): RowRef {
  const s = buf.toString('utf8', start, end)
  return /^\d{1,15}$/.test(s) ? Number(s) : s
}
