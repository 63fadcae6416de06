import { open, type FileHandle } from 'node:fs/promises'
import { extname } from 'node:path'
import { ModelshipError, messageOf } from '../engine/errors.js'
import { CsvParser, CsvSyntaxError } from './csv.js'
import { writeDataset, type DatasetWriter } from './dataset-writer.js'
import type { ExportRequest, ExportResult } from './types.js'

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
    throw new ModelshipError('CONFIG', `feedback.source ${path}: unsupported file type ${ext} (expected .jsonl or .csv, an http(s) export URL or a postgres:// URL)`)
  }
  const handle = await openInput(path)
  try {
    const input = handle.createReadStream({ highWaterMark: 1 << 16, autoClose: false })
    return await writeDataset(req.destPath, { source: identity, onProgress: req.onProgress, signal: req.signal }, async (writer) => {
      await pumpRecords(input, createRecordReader(format, path, 'line', writer), writer)
    })
  } finally {
    await handle.close()
  }
}

async function openInput(path: string): Promise<FileHandle> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : messageOf(e)
    throw new ModelshipError('BAD_INPUT', `${path}: ${why}`, { hint: 'check feedback.source (FEEDBACK_SOURCE); relative paths are resolved against the workspace' })
  }
  const st = await handle.stat()
  if (!st.isFile()) {
    await handle.close()
    throw new ModelshipError('BAD_INPUT', `${path}: not a regular file`)
  }
  return handle
}

/** A parser that takes text chunks and hands each row to a DatasetWriter. */
export interface RecordReader {
  push(chunk: string): void
  end(): void
  /** Names the input in messages. */
  readonly where: string
  /** The line reached so far (for decoding errors). */
  readonly line: number
}

/**
 * Builds the parser for `format`. `where` prefixes every error (`<where>:<line>: …`); `refs` says whether
 * the report names dropped rows by line number (files) or by data-row number (API bodies).
 */
export function createRecordReader(format: RecordFormat, where: string, refs: 'line' | 'row', writer: DatasetWriter): RecordReader {
  return format === 'csv' ? new CsvRecordReader(where, refs, writer) : new JsonlRecordReader(where, refs, writer)
}

/**
 * Feeds a byte stream to a reader, decoding strict UTF-8 (a BOM is dropped) and waiting on the
 * writer between chunks, so neither side buffers more than a chunk or two.
 */
export async function pumpRecords(input: AsyncIterable<Uint8Array | string>, reader: RecordReader, writer: DatasetWriter): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true })
    } catch {
      throw new ModelshipError('BAD_INPUT', `${reader.where}:${reader.line}: not valid UTF-8 (near this line; save the data as UTF-8)`)
    }
  }
  for await (const chunk of input) {
    reader.push(typeof chunk === 'string' ? chunk : decode(chunk))
    const wait = writer.ready()
    if (wait) await wait
  }
  reader.push(decode())
  reader.end()
}

function badInput(where: string, line: number, what: string): ModelshipError {
  return new ModelshipError('BAD_INPUT', `${where}:${line}: ${what}`)
}

class JsonlRecordReader implements RecordReader {
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

  get line(): number {
    return this.parsed + 1
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
      throw badInput(this.where, line, `malformed JSON (${shortJsonError(e)})`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badInput(this.where, line, 'expected a JSON object with "text" and "label"')
    }
    const record = value as Record<string, unknown>
    const t = record.text
    const l = record.label
    if (typeof t !== 'string') throw badInput(this.where, line, t === undefined ? 'missing "text"' : '"text" must be a string')
    if (typeof l !== 'string') throw badInput(this.where, line, l === undefined ? 'missing "label"' : '"label" must be a string')
    this.writer.add(t, l, this.refs === 'line' ? line : ++this.row)
  }
}

class CsvRecordReader implements RecordReader {
  private readonly parser: CsvParser
  private textIndex = -1
  private labelIndex = -1
  private row = 0

  constructor(
    readonly where: string,
    private readonly refs: 'line' | 'row',
    private readonly writer: DatasetWriter,
  ) {
    this.parser = new CsvParser((fields, line) => this.record(fields, line))
  }

  get line(): number {
    return this.parser.currentLine
  }

  push(chunk: string): void {
    try {
      this.parser.push(chunk)
    } catch (e) {
      throw this.wrap(e)
    }
  }

  end(): void {
    try {
      this.parser.end()
    } catch (e) {
      throw this.wrap(e)
    }
    if (this.textIndex < 0) throw badInput(this.where, 1, 'empty CSV (expected a header with "text" and "label" columns)')
  }

  private record(fields: string[], line: number): void {
    if (this.textIndex < 0) return this.header(fields, line)
    const t = fields[this.textIndex]
    const l = fields[this.labelIndex]
    if (t === undefined) throw badInput(this.where, line, `missing "text" (the row has ${fields.length} field${fields.length === 1 ? '' : 's'})`)
    if (l === undefined) throw badInput(this.where, line, `missing "label" (the row has ${fields.length} field${fields.length === 1 ? '' : 's'})`)
    this.writer.add(t, l, this.refs === 'line' ? line : ++this.row)
  }

  private header(fields: string[], line: number): void {
    const names = fields.map((f) => f.trim().toLowerCase())
    const textIndex = names.indexOf('text')
    const labelIndex = names.indexOf('label')
    const missing = [textIndex < 0 ? '"text"' : '', labelIndex < 0 ? '"label"' : ''].filter(Boolean)
    if (missing.length > 0) {
      const got = fields.map((f) => JSON.stringify(f.length > 40 ? `${f.slice(0, 40)}…` : f)).join(', ')
      throw badInput(this.where, line, `CSV header is missing the ${missing.join(' and ')} column${missing.length > 1 ? 's' : ''} (got ${got})`)
    }
    this.textIndex = textIndex
    this.labelIndex = labelIndex
  }

  private wrap(e: unknown): unknown {
    return e instanceof CsvSyntaxError ? badInput(this.where, e.line, e.reason) : e
  }
}

/** JSON.parse's message without the echo of the input V8 appends (it can be long). */
function shortJsonError(e: unknown): string {
  const msg = messageOf(e)
  const cut = msg.replace(/, "(?:[^"\\]|\\.)*"(?:\.\.\.)? is not valid JSON$/s, '').replace(/ is not valid JSON$/, '')
  return cut.length > 120 ? `${cut.slice(0, 117)}…` : cut
}
