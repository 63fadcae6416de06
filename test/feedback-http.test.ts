import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { failure as expectFailure } from './support/failure.js'
import type { ModelshipError } from '../pipeline/engine/errors.js'
import { sha256File } from '../pipeline/fs-atomic.js'
import { exportFeedback } from '../pipeline/feedback/index.js'
import type { ExportRequest, ExportResult } from '../pipeline/feedback/types.js'
import { startExportServer, type ExportServer, type LabeledRow } from './support/export-server.js'

const ADMIN_TOKEN = 'tok_ADMIN_s3cr3t_9f8e7d6c5b4a'
const SUPER_TOKEN = 'tok_SUPER_s3cr3t_0a1b2c3d4e5f'
const EXPERT_TOKEN = 'tok_EXPERT_s3cr3t_77aa88bb99cc'
const SECRETS = [ADMIN_TOKEN, SUPER_TOKEN, EXPERT_TOKEN]

const rows: LabeledRow[] = [
  { text: 'Ciao, come stai?', label: 'chitchat' },
  { text: 'Che cos\'è il "ravvedimento operoso"?\nSpiegami.', label: 'theoretical_definition' },
  { text: 'Ciao, come stai?', label: 'chitchat' },
  { text: '  ', label: 'calculator' },
  { text: 'Calcola l’IVA al 22% su 1.000 €', label: 'calculator' },
]
const expected = [
  { text: 'Ciao, come stai?', label: 'chitchat' },
  { text: 'Che cos\'è il "ravvedimento operoso"?\nSpiegami.', label: 'theoretical_definition' },
  { text: 'Calcola l’IVA al 22% su 1.000 €', label: 'calculator' },
]

let server: ExportServer
let dir: string
const progress: string[] = []

beforeAll(async () => {
  server = await startExportServer({
    tokens: { [ADMIN_TOKEN]: 'ADMIN', [SUPER_TOKEN]: 'SUPER_USER', [EXPERT_TOKEN]: 'EXPERT' },
    rows,
  })
})
afterAll(async () => {
  await server.close()
})
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-http-'))
  server.setRows(rows)
  server.setMode({ kind: 'rows' })
  server.requests.length = 0
  progress.length = 0
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function run(source: string, extra: Partial<ExportRequest> = {}): Promise<ExportResult> {
  return exportFeedback({
    source,
    query: null,
    destPath: join(dir, 'dataset.jsonl'),
    apiToken: ADMIN_TOKEN,
    onProgress: (l) => progress.push(l),
    http: { retryDelayMs: 5, connectTimeoutMs: 2000, readTimeoutMs: 2000 },
    ...extra,
  })
}

async function failure(p: Promise<unknown>): Promise<ModelshipError> {
  const err = await expectFailure(p)
  for (const text of [err.message, err.hint ?? '', err.details ?? '', inspect(err), JSON.stringify(err)]) {
    for (const s of SECRETS) expect(text).not.toContain(s)
  }
  return err
}

async function lines(path: string): Promise<unknown[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

async function expectNoSecretsOnDisk(): Promise<void> {
  for (const name of await readdir(dir)) {
    const text = await readFile(join(dir, name), 'utf8')
    for (const s of SECRETS) expect(text).not.toContain(s)
  }
  for (const l of progress) for (const s of SECRETS) expect(l).not.toContain(s)
}

describe('http(s) export API', () => {
  it('downloads JSONL with the Bearer token and normalizes it (row numbers in the report)', async () => {
    const result = await run(`${server.url}?format=jsonl`)
    expect(await lines(result.path)).toEqual(expected)
    expect(result.report).toMatchObject({
      source: `${server.url}?format=jsonl`,
      rowsRead: 5,
      kept: 3,
      dropped: { duplicate: { count: 1, first: [3] }, empty_text: { count: 1, first: [4] } },
      perLabel: { calculator: 1, chitchat: 1, theoretical_definition: 1 },
    })
    expect(result.sha256).toBe(await sha256File(result.path))
    expect(server.requests).toEqual([
      { path: '/api/v1/labeling/export?format=jsonl', authorization: `Bearer ${ADMIN_TOKEN}` },
    ])
    await expectNoSecretsOnDisk()
  })

  it('downloads CSV for a SUPER_USER and writes the same dataset', async () => {
    const result = await run(`${server.url}?format=csv`, { apiToken: SUPER_TOKEN })
    expect(await lines(result.path)).toEqual(expected)
    expect(result.report.dropped.duplicate?.first).toEqual([3])
  })

  it('tells the format from the Content-Type when the URL does not say', async () => {
    const csvServer = await startExportServer({ tokens: { [ADMIN_TOKEN]: 'ADMIN' }, rows, defaultFormat: 'csv' })
    try {
      const result = await run(csvServer.url)
      expect(await lines(result.path)).toEqual(expected)
    } finally {
      await csvServer.close()
    }
  })

  it('drops credentials from the URL in the report', async () => {
    const withUser = server.url.replace('http://', 'http://bob:pa55word@')
    const result = await run(`${withUser}?format=jsonl`)
    expect(result.report.source).toBe(`${server.url}?format=jsonl`)
  })

  it('answers AUTH for a missing, unknown or under-privileged token, naming the URL but never the token', async () => {
    const url = `${server.url}?format=jsonl`
    const none = await failure(run(url, { apiToken: undefined }))
    expect(none.code).toBe('AUTH')
    expect(none.exitCode).toBe(2)
    expect(none.message).toBe(`${url}: the export API answered 401 Unauthorized — no token was sent`)
    const bad = await failure(run(url, { apiToken: 'tok_wrong_s3cr3t_value' }))
    expect(bad.code).toBe('AUTH')
    expect(bad.message).toContain(url)
    expect(bad.message).not.toContain('tok_wrong_s3cr3t_value')
    const expert = await failure(run(url, { apiToken: EXPERT_TOKEN }))
    expect(expert.code).toBe('AUTH')
    expect(expert.message).toMatch(/403 Forbidden/)
    expect(expert.hint).toMatch(/ADMIN or SUPER_USER/)
    expect(server.requests).toHaveLength(3) // never retried
    expect(await readdir(dir)).toEqual([])
  })

  it('answers BAD_INPUT when nothing is labeled (404)', async () => {
    server.setRows([])
    const e = await failure(run(`${server.url}?format=jsonl`))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toBe(`${server.url}?format=jsonl: nothing labeled to export`)
  })

  it('answers CONFIG for other client errors, with the server’s message', async () => {
    const e = await failure(run(`${server.url}?format=xml`))
    expect(e.code).toBe('CONFIG')
    expect(e.message).toContain('400 Bad Request: {"detail":"unsupported format: xml"}')
  })

  it(
    'fails a truncated body with STEP_FAILED after retrying, leaving no partial dataset and the old one ' + 'intact',
    async () => {
      const dest = join(dir, 'dataset.jsonl')
      await writeFile(dest, 'previous\n')
      server.setRows(Array.from({ length: 5000 }, (_, i) => ({ text: `question ${i}`, label: 'chitchat' })))
      server.setMode({ kind: 'truncate' })
      const e = await failure(run(`${server.url}?format=jsonl`, { http: { attempts: 3, retryDelayMs: 5 } }))
      expect(e.code).toBe('STEP_FAILED')
      expect(e.exitCode).toBe(1)
      expect(e.message).toMatch(/the response body was cut off .*gave up after 3 attempts/)
      expect(server.requests).toHaveLength(3)
      expect(await readFile(dest, 'utf8')).toBe('previous\n')
      expect(await readdir(dir)).toEqual(['dataset.jsonl'])
      expect(progress.some((l) => /retrying/.test(l))).toBe(true)
      await expectNoSecretsOnDisk()
    },
  )

  it('retries server errors and succeeds when the server recovers', async () => {
    server.setMode({ kind: 'status', status: 503, times: 2 })
    const result = await run(`${server.url}?format=csv`)
    expect(await lines(result.path)).toEqual(expected)
    expect(server.requests).toHaveLength(3)
  })

  it('gives up on persistent server errors', async () => {
    server.setMode({ kind: 'status', status: 502, times: 10 })
    const e = await failure(run(`${server.url}?format=csv`, { http: { attempts: 2, retryDelayMs: 1 } }))
    expect(e.code).toBe('STEP_FAILED')
    expect(e.message).toMatch(/502 Bad Gateway.*gave up after 2 attempts/)
    expect(server.requests).toHaveLength(2)
  })

  it('times out a silent server (read timeout) without leaving a file', async () => {
    server.setMode({ kind: 'stall', bodyBytes: 10 })
    const started = Date.now()
    const e = await failure(run(`${server.url}?format=jsonl`, { http: { attempts: 1, readTimeoutMs: 300 } }))
    expect(e.code).toBe('STEP_FAILED')
    expect(e.message).toMatch(/no data for 300 ms/)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await readdir(dir)).toEqual([])
  })

  it('fails with STEP_FAILED when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const e = await failure(
      run(`http://127.0.0.1:${port}/api/v1/labeling/export?format=jsonl`, { http: { attempts: 2, retryDelayMs: 1 } }),
    )
    expect(e.code).toBe('STEP_FAILED')
    expect(e.message).toMatch(/ECONNREFUSED/)
  })

  it('reports malformed bodies as BAD_INPUT with the URL and line, and an unknown format', async () => {
    server.setMode({
      kind: 'raw',
      body: '{"text":"a","label":"b"}\n{"text":"c",\n',
      contentType: 'application/x-ndjson',
    })
    const e = await failure(run(`${server.url}?format=jsonl`))
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toMatch(
      new RegExp(`^${server.url.replace(/[.?]/g, '\\$&')}\\?format=jsonl: row 2: malformed JSON \\(`),
    )
    server.setMode({ kind: 'raw', body: 'text,label\r\n"a,b\r\n', contentType: 'text/csv' })
    const e2 = await failure(run(server.url))
    expect(e2.message).toBe(`${server.url}:2: unterminated quoted field (the closing quote is missing)`)
    server.setMode({ kind: 'raw', body: '<html>login</html>', contentType: 'text/html' })
    const e3 = await failure(run(server.url))
    expect(e3.code).toBe('BAD_INPUT')
    expect(e3.message).toBe(`${server.url}: cannot tell the format of the export (Content-Type text/html)`)
    expect(await readdir(dir)).toEqual([])
  })

  it('follows redirects, sending the token only within the original origin', async () => {
    const redirector = createHttpServer((req, res) => {
      if (req.url === '/old') return void res.writeHead(301, { location: '/api/v1/labeling/export?format=csv' }).end()
      if (req.url === '/elsewhere') return void res.writeHead(302, { location: `${server.url}?format=jsonl` }).end()
      const ok = req.headers.authorization === `Bearer ${ADMIN_TOKEN}`
      res.writeHead(ok ? 200 : 401, { 'content-type': 'text/csv' }).end('text,label\r\nciao,chitchat\r\n')
    })
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(redirector.address() as { port: number }).port}`
    try {
      const result = await run(`${base}/old`)
      expect(await lines(result.path)).toEqual([{ text: 'ciao', label: 'chitchat' }])
      // Another port is another origin: the token stays home and the export API says 401.
      const e = await failure(run(`${base}/elsewhere`))
      expect(e.code).toBe('AUTH')
      expect(e.message).toBe(
        `${base}/elsewhere: the export API answered 401 Unauthorized — the token was not sent: the URL redirects to ` +
          `another origin`,
      )
      expect(server.requests.at(-1)).toEqual({ path: '/api/v1/labeling/export?format=jsonl', authorization: undefined })
    } finally {
      await new Promise<void>((r) => redirector.close(() => r()))
    }
  })

  it('streams a large export without holding it in memory', async () => {
    server.setMode({ kind: 'generate', rows: 200_000 })
    const result = await run(`${server.url}?format=jsonl`)
    expect(result.report.rowsRead).toBe(200_000)
    expect(result.report.kept).toBe(200_000)
    expect(progress).toContain('exported 100000 rows')
    const csv = await run(`${server.url}?format=csv`)
    expect(csv.sha256).toBe(result.sha256)
  })
})
