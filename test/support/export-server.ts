import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A protocol-level stand-in for the app's `GET /api/v1/labeling/export?format=jsonl|csv`:
 * Bearer tokens mapped to roles (only ADMIN and SUPER_USER may export), 401 without or with an
 * unknown token, 403 for other roles, 404 when nothing is labeled, JSONL or CSV bodies.
 */
export type Role = 'ADMIN' | 'SUPER_USER' | 'EXPERT' | 'USER'

export interface LabeledRow {
  text: string
  label: string
}

export type ExportServerMode =
  /** Answer from `rows` (404 when empty). */
  | { kind: 'rows' }
  /** Send a Content-Length for the whole body, write half of it, then destroy the socket. */
  | { kind: 'truncate' }
  /** Stream `rows` generated rows (chunked, with backpressure) instead of `rows`. */
  | { kind: 'generate'; rows: number }
  /** Answer `status` to the next `times` requests, then behave as `rows`. */
  | { kind: 'status'; status: number; times: number }
  /** Send the head and `bodyBytes` of the body, then go silent (for read timeouts). */
  | { kind: 'stall'; bodyBytes?: number }
  /** Answer 200 with this body and Content-Type, whatever the format (for malformed bodies). */
  | { kind: 'raw'; body: string; contentType: string }

export interface ExportServerOptions {
  tokens?: Record<string, Role>
  rows?: LabeledRow[]
  /** Format when the URL has no `format=` (the Content-Type then tells the client). Default jsonl. */
  defaultFormat?: 'jsonl' | 'csv'
}

export interface ExportServer {
  /** The export endpoint, without a query string. */
  url: string
  /** Every request seen: path with query, and the Authorization header. */
  requests: Array<{ path: string; authorization: string | undefined }>
  setRows(rows: LabeledRow[]): void
  setMode(mode: ExportServerMode): void
  close(): Promise<void>
}

export const EXPORT_PATH = '/api/v1/labeling/export'
const GENERATED_LABELS = [
  'chitchat',
  'theoretical_definition',
  'technical_research',
  'calculator',
  'normative_reference',
]

export function jsonlBody(rows: readonly LabeledRow[]): string {
  return rows.map((r) => `${JSON.stringify({ text: r.text, label: r.label })}\n`).join('')
}

export function csvBody(rows: readonly LabeledRow[]): string {
  const cell = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)
  return `text,label\r\n${rows.map((r) => `${cell(r.text)},${cell(r.label)}\r\n`).join('')}`
}

export function generatedRow(i: number): LabeledRow {
  return { text: `generated question number ${i} about taxes`, label: GENERATED_LABELS[i % GENERATED_LABELS.length]! }
}

export async function startExportServer(opts: ExportServerOptions = {}): Promise<ExportServer> {
  const tokens = opts.tokens ?? {}
  let rows = opts.rows ?? []
  let mode: ExportServerMode = { kind: 'rows' }
  const requests: ExportServer['requests'] = []
  const sockets = new Set<import('node:net').Socket>()

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    requests.push({ path: `${url.pathname}${url.search}`, authorization: req.headers.authorization })
    if (req.method !== 'GET' || url.pathname !== EXPORT_PATH) return send(res, 404, { detail: 'Not Found' })

    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    const role = auth ? tokens[auth[1]!] : undefined
    if (!role) return send(res, 401, { detail: 'Not authenticated' }, { 'www-authenticate': 'Bearer' })
    if (role !== 'ADMIN' && role !== 'SUPER_USER')
      return send(res, 403, { detail: 'Admin or super user role required' })

    const format = url.searchParams.get('format') ?? opts.defaultFormat ?? 'jsonl'
    if (format !== 'jsonl' && format !== 'csv') return send(res, 400, { detail: `unsupported format: ${format}` })

    if (mode.kind === 'raw') {
      res.writeHead(200, { 'content-type': mode.contentType, 'content-length': String(Buffer.byteLength(mode.body)) })
      res.end(mode.body)
      return
    }
    if (mode.kind === 'status' && mode.times > 0) {
      mode = { ...mode, times: mode.times - 1 }
      return send(res, mode.status, { detail: 'try again later' })
    }
    const contentType = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8'

    if (mode.kind === 'generate') {
      res.writeHead(200, { 'content-type': contentType })
      if (format === 'csv') res.write('text,label\r\n')
      const n = mode.rows
      for (let i = 0; i < n; ) {
        const batch: LabeledRow[] = []
        for (const end = Math.min(n, i + 2000); i < end; i++) batch.push(generatedRow(i))
        const chunk = format === 'csv' ? csvBody(batch).slice('text,label\r\n'.length) : jsonlBody(batch)
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r))
        if (res.destroyed) return
      }
      res.end()
      return
    }

    if (rows.length === 0) return send(res, 404, { detail: 'No labeled queries to export' })
    const body = Buffer.from(format === 'csv' ? csvBody(rows) : jsonlBody(rows), 'utf8')
    const head = { 'content-type': contentType, 'content-length': String(body.length) }
    if (mode.kind === 'truncate') {
      res.writeHead(200, head)
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy())
      return
    }
    if (mode.kind === 'stall') {
      res.writeHead(200, head)
      res.write(body.subarray(0, mode.bodyBytes ?? 0))
      return // never ends; close() destroys the socket
    }
    res.writeHead(200, head)
    res.end(body)
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${EXPORT_PATH}`,
    requests,
    setRows: (r) => {
      rows = r
    },
    setMode: (m) => {
      mode = m
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}
