import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, fsync, type WriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { once } from 'node:events'
import { basename, dirname, join } from 'node:path'
import { ModelshipError, messageOf } from '../engine/errors.js'
import { NEEDS_BACKSLASH, NEEDS_UNICODE_ESCAPE } from './text-hash.js'

/** Output is assembled in buffers of this size, each one write to the file. */
const OUT_BYTES = 1 << 20
/** The first buffer's size; each next one doubles up to OUT_BYTES (a small dataset needs no megabyte). */
const FIRST_OUT_BYTES = 1 << 16
/**
 * Written bytes after which the file is flushed to disk while the export goes on (on the thread pool), so
 * that the flush before the rename only has the tail left: 80 MB flushed at the end cost the 1M-row
 * export ~50 ms of waiting (measured), in slices it overlaps with the rows still coming.
 */
const SYNC_EVERY_BYTES = 16 << 20
const QUOTE = 0x22
const BACKSLASH = 0x5c
const TEXT_PREFIX = Buffer.from('{"text":"')
const LABEL_PREFIX = Buffer.from('","label":')

/**
 * The dataset file: `{"text","label"}` JSON lines, byte for byte what JSON.stringify writes, assembled in
 * pooled buffers and written to a temp file beside the destination, which `commit()` renames over it.
 * The sha256 of the bytes is computed as they are written. A durable file (the default) is flushed to disk
 * before the rename; a scratch one (a dry run's, removed at its end) is not: its flushes would only wait for
 * the disk, ~80 MB for a million rows, which psql's \copy never writes through either.
 */
export class JsonlFile {
  private out: Buffer = Buffer.allocUnsafe(FIRST_OUT_BYTES)
  /** Output buffers the file stream has finished with. */
  private readonly spare: Buffer[] = []
  private pos = 0
  private readonly sha = createHash('sha256')
  private failure: Error | undefined
  private closed = false
  /** Bytes written since the last flush to disk was started, and that flush while it runs. */
  private unsynced = 0
  private syncing: Promise<void> | undefined
  /** Flushes to disk started so far (the ones along the way; the close of a durable file flushes once more). */
  syncs = 0

  private constructor(
    readonly destPath: string,
    readonly tempPath: string,
    private readonly stream: WriteStream,
    /** The temp file's descriptor (the stream's), for the flushes along the way. */
    private readonly fd: number,
    /** Whether the file is flushed to disk before the rename (see JsonlFile). */
    readonly durable: boolean,
  ) {
    stream.on('error', (e) => {
      this.failure ??= e
    })
  }

  static async open(destPath: string, opts: { durable?: boolean } = {}): Promise<JsonlFile> {
    const durable = opts.durable ?? true
    const dir = dirname(destPath)
    const tempPath = join(dir, `.${basename(destPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    try {
      await mkdir(dir, { recursive: true })
      const stream = createWriteStream(tempPath, {
        flags: 'wx',
        mode: 0o644,
        highWaterMark: 2 * OUT_BYTES,
        flush: durable,
      })
      const [fd] = (await once(stream, 'open')) as [number]
      return new JsonlFile(destPath, tempPath, stream, fd, durable)
    } catch (e) {
      await rm(tempPath, { force: true })
      throw new ModelshipError('STEP_FAILED', `cannot write the dataset beside ${destPath}: ${messageOf(e)}`)
    }
  }

  /**
   * Writes one line from the text's UTF-8 bytes buf[ts, te); `flags` (from hashText) say what escaping
   * the bytes need, `text` is the same text as a string when the caller has it.
   */
  writeLine(buf: Buffer, ts: number, te: number, flags: number, labelJson: Buffer, text: string | undefined): void {
    if (flags & NEEDS_UNICODE_ESCAPE) {
      // Control characters need JSON's \u escapes: rare enough to leave to JSON.stringify.
      const line = `{"text":${JSON.stringify(text ?? buf.toString('utf8', ts, te))},"label":${labelJson.toString()}}\n`
      this.reserve(line.length * 3)
      this.pos += this.out.write(line, this.pos, 'utf8')
      return
    }
    const len = te - ts
    this.reserve((flags & NEEDS_BACKSLASH ? 2 * len : len) + labelJson.length + 32)
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
    for (let i = 0; i < labelJson.length; i++) out[p++] = labelJson[i]!
    out[p++] = 0x7d // }
    out[p++] = 0x0a // \n
    this.pos = p
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

  /** Finishes the file and renames it over `destPath`; returns the sha256 of its bytes. */
  async commit(): Promise<string> {
    this.flushOut()
    this.closed = true
    try {
      await this.syncing
      if (this.failure) throw this.failure
      this.stream.end()
      await once(this.stream, 'close')
      if (this.failure) throw this.failure
      await rename(this.tempPath, this.destPath)
    } catch (e) {
      await this.discard()
      throw this.writeError(e)
    }
    return this.sha.digest('hex')
  }

  /** Removes the temp file; `destPath` is left as it was. Safe to call more than once. */
  async discard(): Promise<void> {
    this.closed = true
    await this.syncing
    if (!this.stream.closed) {
      this.stream.destroy()
      await once(this.stream, 'close').catch(() => undefined)
    }
    await rm(this.tempPath, { force: true })
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
    this.stream.write(chunk, (e) => {
      if (full.length === OUT_BYTES && this.spare.length < 4) this.spare.push(full)
      this.unsynced += chunk.length
      if (!e && this.durable && this.unsynced >= SYNC_EVERY_BYTES && this.syncing === undefined) this.syncInBackground()
    })
    this.out = this.spare.pop() ?? Buffer.allocUnsafe(Math.min(OUT_BYTES, Math.max(full.length, FIRST_OUT_BYTES) * 2))
    this.pos = 0
  }

  /** Starts a flush to disk of what is written so far; commit() and discard() wait for it before closing. */
  private syncInBackground(): void {
    if (this.closed) return
    this.unsynced = 0
    this.syncs++
    this.syncing = new Promise<void>((resolve) =>
      fsync(this.fd, (e) => {
        if (e) this.failure ??= e
        this.syncing = undefined
        resolve()
      }),
    )
  }

  private writeError(e: unknown): ModelshipError {
    if (e instanceof ModelshipError) return e
    return new ModelshipError('STEP_FAILED', `cannot write the dataset ${this.destPath}: ${messageOf(e)}`)
  }
}
