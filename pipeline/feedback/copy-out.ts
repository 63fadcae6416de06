import { finished } from 'node:stream/promises'
import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import { ModelshipError } from '../engine/errors.js'

/**
 * Receives one row of a `COPY … TO STDOUT` (text format): its bytes are buf[start, end), without the
 * newline; `escaped` says whether they hold a backslash (an escape sequence). `buf` is a chunk read from
 * the socket, which nothing else reuses: the receiver may keep referring to it.
 */
export type CopyRowSink = (buf: Buffer, start: number, end: number, escaped: boolean) => void

const COPY_DATA = 0x64 // d
const ERROR_RESPONSE = 0x45 // E
/** Messages the server may send before or between CopyData messages (CopyOutResponse, notices, …). */
const INTERSPERSED = new Set([0x48 /* H */, 0x4e /* N */, 0x53 /* S */, 0x41 /* A */])
const HEADER_BYTES = 5
/** What the parsing helpers return besides a position: the chunk is used up; the COPY has ended. */
const CHUNK_USED = -1
const ENDED = -2
const NEWLINE = 0x0a
const BACKSLASH = 0x5c
/** Longest row accepted (bytes); past this the COPY stream is not what we asked for. */
const MAX_ROW_BYTES = 64 * 1024 * 1024

/**
 * The parts of pg-copy-streams 7.0.0's COPY TO query (copy-to.js, pinned in package.json) this module
 * relies on: its parser, which we replace, and what that parser hands over to when it is done.
 */
interface CopyToQueryInternals {
  _parse(chunk: Buffer): boolean | undefined
  /** Bytes not parsed yet; `_detach` gives them back to pg's own parser. */
  _buffer: { push(chunk: Buffer): void }
  /** Gives the socket back to pg (with the bytes in `_buffer`). */
  _detach(): void
  _cleanup(): void
  /** Resumes reading the socket after `_parse` returned false. */
  _read(): void
}

/**
 * Runs `sql` (a `COPY … TO STDOUT`) on `client` and hands each row to `onRow`, in order; resolves once
 * the COPY has ended. After each socket chunk it asks `ready()`: a promise pauses reading until it
 * settles (backpressure); a rejection, or an error thrown by `onRow`, ends the COPY with that error.
 *
 * pg-copy-streams does the protocol handover: it takes the socket from pg when the query starts and gives
 * it back at CopyDone or at an ErrorResponse, for pg to read the rest. Only its parser is replaced: it
 * copies every CopyData message into a Buffer of its own, then concatenates them again into the chunk it
 * emits — for a million rows ~0.25 s of CPU and a million short-lived objects, a sixth of a whole export.
 * Here the rows are read where they lie in the socket's chunks; only a message split across two chunks is
 * copied. The server sends exactly one row per CopyData message in copy-out mode (PostgreSQL protocol,
 * "COPY Operations": "CopyData messages (always one per row)"), so a message is a row.
 */
export async function copyOutRows(
  client: pg.Client,
  sql: string,
  onRow: CopyRowSink,
  ready: () => Promise<void> | undefined,
): Promise<void> {
  const query = copyTo(sql)
  const internals = query as unknown as CopyToQueryInternals
  for (const name of ['_parse', '_detach', '_cleanup', '_read'] as const) {
    if (typeof internals[name] !== 'function')
      throw new ModelshipError('STEP_FAILED', `pg-copy-streams has no ${name}: install the version package.json names`)
  }
  /** A message the last chunk ended inside: its bytes so far (all of it allocated once its length is known). */
  let carry: Buffer | undefined
  let carried = 0

  /** Parses the messages in buf from `p`; returns where the first incomplete one starts, or ENDED. */
  const frames = (buf: Buffer, p: number): number => {
    let backslash = buf.indexOf(BACKSLASH, p)
    while (p + HEADER_BYTES <= buf.length) {
      const code = buf[p]!
      if (code === ERROR_RESPONSE) {
        // pg parses the error (and what follows) and fails the query with it.
        internals._buffer.push(buf.subarray(p))
        internals._detach()
        return ENDED
      }
      const end = p + 1 + buf.readUInt32BE(p + 1)
      if (end > buf.length) break
      if (code === COPY_DATA) {
        const s = p + HEADER_BYTES
        if (end === s || buf[end - 1] !== NEWLINE) throw unexpectedMessage()
        if (backslash !== -1 && backslash < s) backslash = buf.indexOf(BACKSLASH, s)
        onRow(buf, s, end - 1, backslash !== -1 && backslash < end)
      } else if (!INTERSPERSED.has(code)) {
        // CopyDone (or anything else ends copy-out mode): pg reads what follows (CommandComplete, ReadyForQuery).
        if (end < buf.length) internals._buffer.push(buf.subarray(end))
        internals._detach()
        query.push(null)
        internals._cleanup()
        return ENDED
      }
      p = end
    }
    return p
  }

  /**
   * Goes on with the carried message using the start of `chunk`; returns where in `chunk` parsing goes on,
   * CHUNK_USED when the message is still incomplete, or ENDED.
   */
  const completeCarry = (chunk: Buffer): number => {
    let used = 0
    if (carried < HEADER_BYTES) {
      used = Math.min(HEADER_BYTES - carried, chunk.length)
      chunk.copy(carry!, carried, 0, used)
      carried += used
      if (carried < HEADER_BYTES) return CHUNK_USED
      const whole = messageBuffer(carry!.readUInt32BE(1))
      carry!.copy(whole, 0, 0, HEADER_BYTES)
      carry = whole
    }
    const message = carry!
    const n = Math.min(message.length - carried, chunk.length - used)
    chunk.copy(message, carried, used, used + n)
    carried += n
    used += n
    if (carried < message.length) return CHUNK_USED
    carry = undefined
    if (message[0] === COPY_DATA || INTERSPERSED.has(message[0]!)) return frames(message, 0) === ENDED ? ENDED : used
    // The end of the COPY (or an error) split across reads: pg gets it with the rest of the chunk.
    return frames(Buffer.concat([message, chunk.subarray(used)]), 0) === ENDED ? ENDED : CHUNK_USED
  }

  internals._parse = (chunk: Buffer): boolean | undefined => {
    try {
      const from = carry ? completeCarry(chunk) : 0
      if (from === ENDED) return undefined
      if (from === CHUNK_USED) return continueAfter()
      const at = frames(chunk, from)
      if (at === ENDED) return undefined
      if (at < chunk.length) {
        // The start of a message: all of it is allocated once its header says how long it is.
        carried = chunk.length - at
        carry = carried < HEADER_BYTES ? Buffer.alloc(HEADER_BYTES) : messageBuffer(chunk.readUInt32BE(at + 1))
        chunk.copy(carry, 0, at)
      }
      return continueAfter()
    } catch (e) {
      query.destroy(e as Error)
      return false
    }
  }

  /** Whether to read on now; when the writer needs time, reading resumes once it has room. */
  const continueAfter = (): boolean => {
    const wait = ready()
    if (!wait) return true
    wait.then(
      () => {
        if (!query.destroyed) internals._read()
      },
      (e: unknown) => query.destroy(e as Error),
    )
    return false
  }

  client.query(query)
  query.resume()
  await finished(query)
  if (carry) throw unexpectedMessage()
}

/** A buffer for a whole message whose length field (itself included, the code byte not) is `lengthField`. */
function messageBuffer(lengthField: number): Buffer {
  if (lengthField - 4 > MAX_ROW_BYTES)
    throw new ModelshipError('STEP_FAILED', `a row longer than ${MAX_ROW_BYTES} bytes in the COPY stream`)
  if (lengthField < 4) throw unexpectedMessage()
  return Buffer.allocUnsafe(1 + lengthField)
}

function unexpectedMessage(): ModelshipError {
  return new ModelshipError('STEP_FAILED', 'unexpected message in the COPY stream (a row without its newline)')
}
