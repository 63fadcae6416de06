import { once } from 'node:events'
import { closeSync, createReadStream, fstatSync, openSync, type ReadStream, readFileSync } from 'node:fs'
import { extname } from 'node:path'
import type { CsvError } from 'csv-parse'
import { ModelshipError, messageOf } from '../engine/errors.js'
import { writeDataset, type DatasetWriter } from './dataset-writer.js'
import type { ExportRequest, ExportResult } from './types.js'
import { firstInvalidUtf8 } from './utf8.js'

export type RecordFormat = 'jsonl' | 'csv'

/** Longest JSONL line accepted (characters); past this the file is not line-delimited JSON. */
const MAX_LINE_CHARS = 16 * 1024 * 1024

/** Which file formats a path's extension names, or undefined. */
export function formatOfPath(path: string): RecordFormat | undefined {
  const ext = extname(path).toLowerCase()
  return ext === '.jsonl' ? 'jsonl' : ext === '.csv' ? 'csv' : undefined
}

/** Exports a local .jsonl or .csv file (an absolute path, resolved by the caller). */
export async function exportFromFile(req: ExportRequest, identity: string): Promise<ExportResult> {
  const path = req.source
  const format = formatOfPath(path)
  if (!format) {
    const ext = extname(path) || '(none)'
    throw new ModelshipError(
      'CONFIG',
      `feedback.source ${path}: unsupported file type ${ext} (expected .jsonl or .csv, an http(s) export URL or a ` +
        `postgres:// URL)`,
    )
  }
  const fd = openInput(path)
  // A small file is read in one synchronous call: its stream's reads and close would each wait on the
  // thread pool (fs-atomic.ts). A big one is streamed, in constant memory; the stream owns the descriptor
  // then (destroying it closes the file once a read in flight is done).
  let stream: ReadStream | undefined
  try {
    let input: AsyncIterable<Uint8Array>
    if (fstatSync(fd).size <= READ_IN_ONE_CALL_BYTES) input = oneChunk(readFileSync(fd))
    else input = stream = createReadStream('', { fd, highWaterMark: 1 << 16 })
    const opts = {
      source: identity,
      refs: 'line' as const,
      labels: req.labels,
      onProgress: req.onProgress,
      signal: req.signal,
      durable: req.durable,
    }
    return await writeDataset(req.destPath, opts, async (writer) => {
      await readRecords(format, input, path, 'line', writer)
    })
  } finally {
    if (stream) stream.destroy()
    else closeSync(fd)
  }
}

/** Files up to this size are read whole (see exportFromFile). */
const READ_IN_ONE_CALL_BYTES = 4 * 1024 * 1024

async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes
}

/** Opens the file for reading (a file descriptor), or throws BAD_INPUT naming what is wrong with it. */
function openInput(path: string): number {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : messageOf(e)
    throw new ModelshipError('BAD_INPUT', `${path}: ${why}`, {
      hint: 'check feedback.source (FEEDBACK_SOURCE); relative paths are resolved against the workspace',
    })
  }
  const st = fstatSync(fd)
  if (!st.isFile()) {
    closeSync(fd)
    const what = st.isDirectory() ? 'a directory, not a file' : 'not a regular file'
    throw new ModelshipError('BAD_INPUT', `${path}: ${what}`, {
      hint: 'feedback.source must name a .jsonl or .csv file',
    })
  }
  return fd
}

/**
 * Reads `format` records from a byte stream into the writer: strict UTF-8 (an invalid byte is an error
 * naming its line), a BOM dropped; rows that are not records are listed (writer.reject) and reading
 * goes on. `where` prefixes errors (`<where>:<line>: …`); `refs` says whether the report names rows by
 * line number (files) or by data-row number (API bodies).
 */
export async function readRecords(
  format: RecordFormat,
  input: AsyncIterable<Uint8Array | string>,
  where: string,
  refs: 'line' | 'row',
  writer: DatasetWriter,
): Promise<void> {
  const text = decodeUtf8(input, where)
  if (format === 'jsonl') {
    const reader = new JsonlRecordReader(where, refs, writer)
    for await (const chunk of text) {
      reader.push(chunk)
      const wait = writer.ready()
      if (wait) await wait
    }
    reader.end()
  } else {
    await readCsv(text, where, refs, writer)
  }
}

/** Decodes strict UTF-8, counting lines so that an invalid byte is reported on its own line. */
async function* decodeUtf8(input: AsyncIterable<Uint8Array | string>, where: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let lines = 1
  const fail = (bytes: Uint8Array | undefined): never => {
    const at = bytes ? firstInvalidUtf8(bytes, false) : -1
    const before = bytes ? bytes.subarray(0, Math.max(at, 0)) : new Uint8Array()
    const line = lines + countNewlines(before)
    throw new ModelshipError('BAD_INPUT', `${where}:${line}: not valid UTF-8 (save the data as UTF-8)`)
  }
  for await (const chunk of input) {
    if (typeof chunk === 'string') {
      yield chunk
      continue
    }
    let text: string
    try {
      text = decoder.decode(chunk, { stream: true })
    } catch {
      return fail(chunk)
    }
    lines += countNewlines(chunk)
    yield text
  }
  let rest: string
  try {
    rest = decoder.decode()
  } catch {
    return fail(undefined)
  }
  if (rest) yield rest
}

function countNewlines(bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let n = 0
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) n++
  return n
}

function badInput(where: string, line: number, what: string): ModelshipError {
  return new ModelshipError('BAD_INPUT', `${where}:${line}: ${what}`)
}

class JsonlRecordReader {
  private rest = ''
  /** Lines parsed so far. */
  private parsed = 0
  private row = 0

  constructor(
    readonly where: string,
    private readonly refs: 'line' | 'row',
    private readonly writer: DatasetWriter,
  ) {}

  push(chunk: string): void {
    if (chunk === '') return
    const data = this.rest === '' ? chunk : this.rest + chunk
    let start = 0
    let nl: number
    while ((nl = data.indexOf('\n', start)) !== -1) {
      this.parseLine(data.slice(start, nl))
      start = nl + 1
    }
    this.rest = start === 0 ? data : data.slice(start)
    if (this.rest.length > MAX_LINE_CHARS) {
      throw badInput(this.where, this.parsed + 1, `line longer than ${MAX_LINE_CHARS} characters (not JSON Lines?)`)
    }
  }

  end(): void {
    if (this.rest !== '') this.parseLine(this.rest)
    this.rest = ''
  }

  private parseLine(raw: string): void {
    const line = ++this.parsed
    let text = raw
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (e) {
      if (text.trim() === '') return // blank lines are allowed
      return this.writer.reject(this.ref(line), `malformed JSON (${shortJsonError(e)})`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.writer.reject(this.ref(line), 'expected a JSON object with "text" and "label"')
    }
    const record = value as Record<string, unknown>
    const t = record.text
    const l = record.label
    if (typeof t !== 'string')
      return this.writer.reject(this.ref(line), t === undefined ? 'missing "text"' : '"text" must be a string')
    if (typeof l !== 'string')
      return this.writer.reject(this.ref(line), l === undefined ? 'missing "label"' : '"label" must be a string')
    this.writer.add(t, l, this.ref(line))
  }

  private ref(line: number): number {
    return this.refs === 'line' ? line : ++this.row
  }
}

/**
 * CSV through csv-parse (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes; CRLF, LF or
 * CR; a BOM; blank lines skipped; any column order, extra columns). Rows are named by the line they
 * start on: csv-parse reports the line a record ends on, less the line breaks inside it.
 */
async function readCsv(
  text: AsyncIterable<string>,
  where: string,
  refs: 'line' | 'row',
  writer: DatasetWriter,
): Promise<void> {
  // Imported here: JSONL sources (the common case) never load the CSV parser.
  const { parse: parseCsv } = await import('csv-parse')
  const parser = parseCsv({
    bom: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: true,
    raw: true,
  })
  const feeding = (async () => {
    try {
      for await (const chunk of text) if (!parser.write(chunk)) await once(parser, 'drain')
      // The records parsed so far reach the loop below before end(): csv-parse reports an unterminated
      // quote at end(), and an error ends the loop at once, dropping records still buffered (then the
      // error would name the wrong line). A file read in one chunk has all of its records buffered here.
      while (parser.readableLength > 0 && !parser.destroyed) await new Promise((r) => setImmediate(r))
      parser.end()
    } catch (e) {
      parser.destroy(e as Error)
    }
  })()
  let textIndex = -1
  let labelIndex = -1
  // Line numbers are counted here: csv-parse's `info.lines` counts a CRLF inside quotes as two lines.
  let nextLine = 1
  let lastLine = 0
  let row = 0
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const lead = /^[\r\n]*/.exec(raw)![0]
      const body = raw.slice(lead.length).replace(/[\r\n]+$/, '')
      const line = nextLine + lineBreaks(lead)
      lastLine = line + lineBreaks(body)
      nextLine = lastLine + 1
      if (textIndex < 0) {
        ;[textIndex, labelIndex] = csvHeader(record, where, line)
        continue
      }
      const ref = refs === 'line' ? line : ++row
      const t = record[textIndex]
      const l = record[labelIndex]
      const fields = `(the row has ${record.length} field${record.length === 1 ? '' : 's'})`
      if (t === undefined) writer.reject(ref, `missing "text" ${fields}`)
      else if (l === undefined) writer.reject(ref, `missing "label" ${fields}`)
      else writer.add(t, l, ref)
      const wait = writer.ready()
      if (wait) await wait
    }
  } catch (e) {
    throw csvError(e, where, lastLine)
  } finally {
    parser.destroy()
    await feeding
  }
  if (textIndex < 0) throw badInput(where, 1, 'empty CSV (expected a header with "text" and "label" columns)')
}

function lineBreaks(s: string): number {
  return s.match(/\r\n|\r|\n/g)?.length ?? 0
}

function csvHeader(fields: string[], where: string, line: number): [number, number] {
  const names = fields.map((f) => f.trim().toLowerCase())
  const textIndex = names.indexOf('text')
  const labelIndex = names.indexOf('label')
  const missing = [textIndex < 0 ? '"text"' : '', labelIndex < 0 ? '"label"' : ''].filter(Boolean)
  if (missing.length > 0) {
    const got = fields.map((f) => JSON.stringify(f.length > 40 ? `${f.slice(0, 40)}…` : f)).join(', ')
    const columns = `column${missing.length > 1 ? 's' : ''}`
    throw badInput(where, line, `CSV header is missing the ${missing.join(' and ')} ${columns} (got ${got})`)
  }
  return [textIndex, labelIndex]
}

/** csv-parse's errors in our words; `lastLine` is where the last good record ended. */
function csvError(e: unknown, where: string, lastLine: number): unknown {
  const err = e as Partial<CsvError> & { lines?: number }
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return badInput(where, lastLine + 1, 'unterminated quoted field (the closing quote is missing)')
    case 'CSV_INVALID_CLOSING_QUOTE': {
      const got = /got "(.*?)" at line/.exec(err.message ?? '')?.[1] ?? ''
      const what = got === '"' ? 'quote' : `character ${JSON.stringify(got)}`
      return badInput(
        where,
        err.lines ?? lastLine + 1,
        `unexpected ${what} after a closing quote (quote a field whole, and double quotes inside it)`,
      )
    }
    default:
      if (typeof err.code === 'string' && /^(CSV_|INVALID_)/.test(err.code)) {
        return badInput(where, err.lines ?? lastLine + 1, (err.message ?? '').replace(/ at line \d+.*$/s, ''))
      }
      return e
  }
}

/** JSON.parse's message without the echo of the input V8 appends (it can be long). */
function shortJsonError(e: unknown): string {
  const msg = messageOf(e)
  const cut = msg.replace(/, "(?:[^"\\]|\\.)*"(?:\.\.\.)? is not valid JSON$/s, '').replace(/ is not valid JSON$/, '')
  return cut.length > 120 ? `${cut.slice(0, 117)}…` : cut
}
