import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { ModelshipError, messageOf } from '../engine/errors.js'
import type { Redactor } from '../secrets/redact.js'
import { writeDataset, type DatasetWriter } from './dataset-writer.js'
import type { ExportRequest, ExportResult } from './types.js'

/** The app's labeled QA feedback: what experts labeled and nobody deleted, in a stable order. */
export const DEFAULT_QUERY =
  'SELECT id, query AS text, expert_intent AS label FROM labeled_queries WHERE is_deleted = false AND expert_intent IS NOT NULL ORDER BY id'

const CONNECT_TIMEOUT_MS = 15_000
/** Longest row accepted (bytes); past this the COPY stream is not what we asked for. */
const MAX_ROW_BYTES = 64 * 1024 * 1024
const TAB = 0x09
const BACKSLASH = 0x5c

/**
 * Streams `query` (default: the app's labeled_queries) out of PostgreSQL inside a READ ONLY
 * transaction (rolled back at the end: nothing is ever written to the database).
 *
 * The rows travel as `COPY (query) TO STDOUT`, read straight off the socket (see CopyOut), rather
 * than through a cursor: pg's per-row message objects cost more CPU than all the rest of the export
 * together and kept it at 2-3 times the time of `psql \copy` (test/bench/export-bench.ts).
 * A custom query is first described (LIMIT 0) to check it returns `text` and `label` columns.
 */
export async function exportFromPostgres(req: ExportRequest, identity: string, redact: Redactor): Promise<ExportResult> {
  const custom = req.query !== null && req.query.trim() !== ''
  const sql = custom ? req.query!.trim().replace(/;\s*$/, '') : DEFAULT_QUERY
  const which = custom ? 'feedback.query' : 'the default query over labeled_queries'
  const user = userOf(req.source)

  const client = new pg.Client({
    connectionString: req.source,
    application_name: 'modelship',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
  })
  // An error while idle (server restart) would otherwise crash the process; the next call reports it.
  client.on('error', () => undefined)
  try {
    await client.connect()
  } catch (e) {
    await endClient(client)
    throw connectError(e, identity, user, redact)
  }

  // Rows check the signal as they arrive; a query that sends none yet is cut off here.
  const onAbort = (): void => {
    socketOf(client)?.destroy()
  }
  req.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await writeDataset(req.destPath, { source: identity, onProgress: req.onProgress, signal: req.signal }, async (writer) => {
      await client.query('BEGIN TRANSACTION READ ONLY')
      const hasId = custom ? await describe(client, sql, which, identity) : true
      if (!custom) writer.expectRows(await estimateRows(client))
      const copySql = custom
        ? `COPY (SELECT ${hasId ? 'q."id", ' : ''}q."text", q."label" FROM (${sql}) AS q) TO STDOUT`
        : `COPY (${DEFAULT_QUERY}) TO STDOUT`
      await client.query(new CopyOut(copySql, writer, hasId)).done
      await client.query('ROLLBACK')
    })
  } catch (e) {
    if (req.signal?.aborted) throw new ModelshipError('INTERRUPTED', `export from ${identity} interrupted`)
    throw queryError(e, which, identity, redact)
  } finally {
    req.signal?.removeEventListener('abort', onAbort)
    await endClient(client)
  }
}

function socketOf(client: pg.Client): Socket | undefined {
  return (client as unknown as { connection?: { stream?: Socket } }).connection?.stream
}

/** Checks the query's columns without running it; returns whether it has an `id` column. */
async function describe(client: pg.Client, sql: string, which: string, identity: string): Promise<boolean> {
  const { fields } = await client.query({ text: `SELECT * FROM (${sql}) AS q LIMIT 0`, rowMode: 'array' })
  const names = fields.map((f) => f.name)
  if (!names.includes('text') || !names.includes('label')) {
    const got = names.length > 0 ? names.join(', ') : 'no columns'
    throw new ModelshipError('CONFIG', `${which} on ${identity} must return columns "text" and "label"; it returned: ${got}`, {
      hint: 'alias them, e.g. SELECT id, query AS text, expert_intent AS label FROM …',
    })
  }
  return names.includes('id')
}

/** The planner's row count for labeled_queries (no scan), to size the dedup table once; 0 when unknown. */
async function estimateRows(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>("SELECT reltuples::float8 AS n FROM pg_class WHERE oid = to_regclass('labeled_queries')")
  return rows[0]?.n ?? 0
}

/**
 * `COPY … TO STDOUT` as a pg Submittable that reads the protocol stream itself: while the copy runs
 * it takes the socket's data from pg's parser (as pg-copy-streams does) and hands each CopyData
 * message — one row in COPY text format: tab-separated, backslash escapes, `\N` for NULL — to the
 * writer as a byte range of the socket chunk. Rows without a backslash (nearly all) are never
 * copied or decoded; the others are decoded and unescaped. At CopyDone or an error the socket goes
 * back to pg, which finishes the query. The socket is paused while the dataset file catches up.
 */
class CopyOut implements pg.Submittable {
  readonly done: Promise<void>
  private resolve!: () => void
  private reject!: (e: unknown) => void
  private settled = false
  private socket: Socket | undefined
  private pgOnData: ((chunk: Buffer) => void) | undefined
  private carry: Buffer | undefined
  private rowNo = 0

  constructor(
    private readonly text: string,
    private readonly writer: DatasetWriter,
    private readonly hasId: boolean,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  /** Returns an error instead of throwing: pg then reports it through handleError. */
  submit(connection: pg.Connection): Error | undefined {
    const socket = (connection as unknown as { stream: Socket }).stream
    const listeners = socket.listeners('data') as Array<(chunk: Buffer) => void>
    if (listeners.length !== 1) return new Error(`cannot stream COPY: the connection has ${listeners.length} data listeners`)
    this.socket = socket
    this.pgOnData = listeners[0]
    socket.removeListener('data', this.pgOnData!)
    socket.on('data', this.onData)
    ;(connection as unknown as { query(text: string): void }).query(this.text)
    return undefined
  }

  // Called by pg once the socket is back in its hands.
  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.settle()
  }

  handleError(err: unknown): void {
    this.settle(err)
  }

  handleEmptyQuery(): void {}

  private readonly onData = (data: Buffer): void => {
    try {
      let chunk = data
      let start = 0
      const carry = this.carry
      if (carry) {
        this.carry = undefined
        if (carry.length >= 5 && carry[0] === 0x64) {
          // A row split across socket reads: join just that row, not the whole chunk.
          const need = 1 + carry.readUInt32BE(1) - carry.length
          if (need > chunk.length) {
            this.carry = Buffer.concat([carry, chunk])
            if (this.carry.length > MAX_ROW_BYTES) throw new ModelshipError('STEP_FAILED', `a row longer than ${MAX_ROW_BYTES} bytes in the COPY stream`)
            return
          }
          const row = Buffer.concat([carry, chunk.subarray(0, need)])
          this.row(row, 5, row.length - 1, row.indexOf(BACKSLASH, 5) !== -1)
          start = need
        } else {
          chunk = Buffer.concat([carry, chunk])
        }
      }
      this.parse(chunk, start)
    } catch (e) {
      // Our own failure (bad data, interrupted, disk full): stop the copy by dropping the connection.
      this.settle(e)
      this.socket?.destroy()
      return
    }
    const wait = this.writer.ready()
    if (wait) {
      this.socket!.pause()
      wait.then(
        () => this.socket!.resume(),
        (e: unknown) => {
          this.settle(e)
          this.socket!.destroy()
        },
      )
    }
  }

  private parse(buf: Buffer, start: number): void {
    let p = start
    let backslash = buf.indexOf(BACKSLASH, p)
    while (buf.length - p >= 5) {
      const code = buf[p]!
      const end = p + 1 + buf.readUInt32BE(p + 1)
      if (code === 0x64) {
        // CopyData: one row, ending in a newline.
        if (end > buf.length) break
        if (backslash !== -1 && backslash < p) backslash = buf.indexOf(BACKSLASH, p)
        this.row(buf, p + 5, end - 1, backslash !== -1 && backslash < end)
        p = end
      } else if (code === 0x48 || code === 0x4e || code === 0x53 || code === 0x41) {
        // CopyOutResponse, and messages that may come at any time (notice, parameter, notification).
        if (end > buf.length) break
        p = end
      } else {
        // CopyDone, an error, or anything else: pg's parser takes it from here.
        this.handBack(buf.subarray(p))
        return
      }
    }
    if (p < buf.length) {
      this.carry = Buffer.from(buf.subarray(p))
      if (this.carry.length > MAX_ROW_BYTES) throw new ModelshipError('STEP_FAILED', `a row longer than ${MAX_ROW_BYTES} bytes in the COPY stream`)
    }
  }

  private handBack(rest: Buffer): void {
    const socket = this.socket!
    socket.removeListener('data', this.onData)
    socket.on('data', this.pgOnData!)
    if (rest.length > 0) this.pgOnData!(rest)
  }

  private settle(err?: unknown): void {
    if (this.settled) return
    this.settled = true
    if (err === undefined) this.resolve()
    else this.reject(err)
  }

  /** One row in buf[s, e) (without its newline). */
  private row(buf: Buffer, s: number, e: number, escaped: boolean): void {
    const rowNo = ++this.rowNo
    if (escaped) return this.escapedRow(buf.toString('utf8', s, e), rowNo)
    let ts = s
    let idStart = -1
    let idEnd = -1
    if (this.hasId) {
      let t = s
      while (t < e && buf[t] !== TAB) t++
      idStart = s
      idEnd = t
      ts = t + 1
    }
    // The label is the last field: find its tab from the end (labels are short).
    let t = e - 1
    while (t >= ts && buf[t] !== TAB) t--
    if (t < ts) throw unexpectedRow()
    this.writer.addUtf8(buf, ts, t, t + 1, e, rowNo, idStart, idEnd)
  }

  private escapedRow(line: string, rowNo: number): void {
    const fields = line.split('\t').map(unescapeCopy)
    if (fields.length !== (this.hasId ? 3 : 2)) throw unexpectedRow()
    const [id, text, label] = this.hasId ? fields : [null, ...fields]
    this.writer.add(text ?? '', label ?? '', id === null || id === undefined ? rowNo : /^\d{1,15}$/.test(id) ? Number(id) : id)
  }
}

function unexpectedRow(): ModelshipError {
  return new ModelshipError('STEP_FAILED', 'unexpected row layout in the COPY stream (expected id, text, label)')
}

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }

/** One COPY text-format field: `\N` is NULL; `\\`, `\t`, `\n`, … are the characters they stand for. */
function unescapeCopy(field: string): string | null {
  if (field === '\\N') return null
  if (!field.includes('\\')) return field
  return field.replace(/\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)/gs, (_, esc: string) => {
    if (/^[0-7]/.test(esc)) return String.fromCharCode(parseInt(esc, 8))
    if (esc.length > 1 && esc[0] === 'x') return String.fromCharCode(parseInt(esc.slice(1), 16))
    return COPY_ESCAPES[esc] ?? esc
  })
}

async function endClient(client: pg.Client): Promise<void> {
  // end() waits for the server's goodbye; after an interrupted COPY it may never come.
  const ended = await Promise.race([client.end().then(() => true, () => true), sleep(3000, false)])
  if (!ended) socketOf(client)?.destroy()
}

function connectError(e: unknown, identity: string, user: string, redact: Redactor): ModelshipError {
  const code = (e as { code?: string }).code
  const msg = redact(messageOf(e))
  if (code === '28P01' || code === '28000' || /password|SASL|SCRAM/i.test(msg)) {
    return new ModelshipError('AUTH', `PostgreSQL at ${identity} rejected user "${user}": ${msg}`, {
      hint: 'check the user and password in feedback.source / DATABASE_URL',
    })
  }
  if (code === '3D000') return new ModelshipError('CONFIG', `PostgreSQL at ${identity}: ${msg}`, { hint: 'check the database name in feedback.source / DATABASE_URL' })
  const detail = code && !msg.includes(code) ? `${msg} (${code})` : msg
  return new ModelshipError('STEP_FAILED', `cannot connect to PostgreSQL at ${identity}: ${detail}`)
}

function queryError(e: unknown, which: string, identity: string, redact: Redactor): ModelshipError {
  if (e instanceof ModelshipError) return e
  const code = (e as { code?: string }).code ?? ''
  const msg = redact(messageOf(e))
  if (code === '25006') {
    return new ModelshipError('CONFIG', `${which} tried to write on ${identity} (${msg}); the export only reads, in a READ ONLY transaction`)
  }
  if (code === '42501') return new ModelshipError('AUTH', `${which} on ${identity}: ${msg}`, { hint: 'the database user needs SELECT on the queried tables' })
  if (code.startsWith('42') || code === '0A000') {
    return new ModelshipError('CONFIG', `${which} failed on ${identity}: ${msg}`, { hint: custom(which) ? 'check feedback.query in modelship.yaml' : 'is this the app database?' })
  }
  const detail = code && !msg.includes(code) ? `${msg} (${code})` : msg
  return new ModelshipError('STEP_FAILED', `${which} failed on ${identity}: ${detail}`)
}

function custom(which: string): boolean {
  return which === 'feedback.query'
}

function userOf(source: string): string {
  try {
    return decodeURIComponent(new URL(source).username) || '(default user)'
  } catch {
    return '(unknown user)'
  }
}
