import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { failure as expectFailure } from './support/failure.js'
import type { ModelshipError } from '../pipeline/engine/errors.js'
import { sha256File } from '../pipeline/fs-atomic.js'
import { exportFeedback, sourceIdentity } from '../pipeline/feedback/index.js'
import type { ExportRequest, ExportResult } from '../pipeline/feedback/types.js'
import { runNodeScript } from './support/node-script.js'
import { startPostgres, type TestPostgres } from './support/postgres.js'

let db: TestPostgres
let dir: string
let secrets: string[]
const progress: string[] = []

beforeAll(async () => {
  db = await startPostgres()
  const encoded = new URL(db.url).password
  secrets = [db.password, encoded].filter((s) => s.length > 0)
})
afterAll(async () => {
  await db?.stop()
})
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-pg-test-'))
  progress.length = 0
  await db.psql('TRUNCATE labeled_queries RESTART IDENTITY')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function run(extra: Partial<ExportRequest> = {}): Promise<ExportResult> {
  return exportFeedback({
    source: db.url,
    query: null,
    destPath: join(dir, 'dataset.jsonl'),
    onProgress: (l) => progress.push(l),
    ...extra,
  })
}

/** Inserts rows; `null` intent means unlabeled. Values go through dollar quoting, so any text is fine. */
async function insert(rows: Array<{ query: string; intent: string | null; deleted?: boolean }>): Promise<void> {
  const q = (s: string): string => `$q$${s}$q$`
  const values = rows.map(
    (r) => `(${q(r.query)}, ${r.intent === null ? 'NULL' : q(r.intent)}, ${r.deleted ? 'true' : 'false'})`,
  )
  await db.psql(`INSERT INTO labeled_queries (query, expert_intent, is_deleted) VALUES ${values.join(', ')}`)
}

async function lines(path: string): Promise<Array<{ text: string; label: string }>> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { text: string; label: string })
}

async function failure(p: Promise<unknown>): Promise<ModelshipError> {
  const err = await expectFailure(p)
  expectNoSecret(err.message, err.hint ?? '', err.details ?? '', inspect(err, { depth: 5 }), JSON.stringify(err))
  return err
}

function expectNoSecret(...texts: string[]): void {
  for (const text of texts) for (const s of secrets) expect(text).not.toContain(s)
}

async function expectNoSecretOnDisk(): Promise<void> {
  for (const name of await readdir(dir)) expectNoSecret(await readFile(join(dir, name), 'utf8'))
  expectNoSecret(...progress)
}

describe('postgres:// source', () => {
  it('exports labeled, undeleted rows in id order, normalized, with ids in the report', async () => {
    await insert([
      { query: 'Come si calcola l’IRPEF?', intent: 'calculator' }, // 1
      { query: 'riga cancellata', intent: 'chitchat', deleted: true }, // 2: deleted
      { query: 'senza etichetta', intent: null }, // 3: unlabeled
      { query: '   ', intent: 'chitchat' }, // 4: empty text
      { query: '  Ciao  ', intent: ' chitchat ' }, // 5: trimmed
      { query: 'Ciao', intent: 'chitchat' }, // 6: duplicate of 5
      { query: 'Ciao', intent: 'technical_research' }, // 7: conflict
      { query: 'tab\there, newline\nthere, CR\r, backslash \\ and "quotes"', intent: 'theoretical_definition' }, // 8
      { query: 'control \u0001 char and emoji 🧾', intent: 'normative_reference' }, // 9
      { query: '\u00a0È già scaduto il termine?\u3000', intent: 'normative_reference' }, // 10: unicode spaces trimmed
      { query: 'Perché sì', intent: 'chitchat' }, // 11: non-ASCII at the end, no space
    ])
    // 12: a row longer than a socket read (built in SQL: too long for psql's argv).
    await db.psql("INSERT INTO labeled_queries (query, expert_intent) VALUES (repeat('x', 200000), 'chitchat')")
    await insert([{ query: 'ok', intent: '' }]) // 13: empty label
    const result = await run()
    expect(await lines(result.path)).toEqual([
      { text: 'Come si calcola l’IRPEF?', label: 'calculator' },
      { text: 'Ciao', label: 'chitchat' },
      { text: 'Ciao', label: 'technical_research' },
      { text: 'tab\there, newline\nthere, CR\r, backslash \\ and "quotes"', label: 'theoretical_definition' },
      { text: 'control \u0001 char and emoji 🧾', label: 'normative_reference' },
      { text: 'È già scaduto il termine?', label: 'normative_reference' },
      { text: 'Perché sì', label: 'chitchat' },
      { text: 'x'.repeat(200_000), label: 'chitchat' },
    ])
    expect(result.report).toMatchObject({
      source: sourceIdentity(db.url),
      rowsRead: 11,
      kept: 8,
      dropped: {
        empty_text: { count: 1, first: [4] },
        duplicate: { count: 1, first: [6] },
        empty_label: { count: 1, first: [13] },
      },
      perLabel: {
        calculator: 1,
        chitchat: 3,
        normative_reference: 2,
        technical_research: 1,
        theoretical_definition: 1,
      },
      conflicts: [{ text: 'Ciao', labels: ['chitchat', 'technical_research'] }],
    })
    expect(result.report.source).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/pratikoai$/)
    expect(result.sha256).toBe(await sha256File(result.path))
    // The file is byte-for-byte what JSON.stringify writes.
    const text = await readFile(result.path, 'utf8')
    expect(text).toBe((await lines(result.path)).map((l) => `${JSON.stringify(l)}\n`).join(''))
    await expectNoSecretOnDisk()
  })

  it('writes nothing to the database: a READ ONLY transaction named modelship', async () => {
    await insert([{ query: 'a', intent: 'x' }])
    const seqBefore = await db.psql('SELECT last_value FROM labeled_queries_id_seq')
    const probe = await run({
      query:
        "SELECT current_setting('transaction_read_only') || ' ' || current_setting('application_name') AS text, 'x' " +
        'AS label',
    })
    expect(await lines(probe.path)).toEqual([{ text: 'on modelship', label: 'x' }])
    const e = await failure(run({ query: "SELECT nextval('labeled_queries_id_seq')::text AS text, 'x' AS label" }))
    expect(e.code).toBe('CONFIG')
    expect(e.message).toMatch(/feedback\.query tried to write .*READ ONLY/)
    expect(await db.psql('SELECT last_value FROM labeled_queries_id_seq')).toBe(seqBefore)
  })

  it('runs a custom query; without an id column the report names row numbers', async () => {
    await insert([
      { query: 'uno', intent: 'a' },
      { query: 'uno', intent: 'a' },
      { query: 'due', intent: 'b' },
    ])
    const result = await run({
      query: 'SELECT query AS text, expert_intent AS label FROM labeled_queries ORDER BY id DESC;',
    })
    expect(await lines(result.path)).toEqual([
      { text: 'due', label: 'b' },
      { text: 'uno', label: 'a' },
    ])
    expect(result.report.dropped.duplicate?.first).toEqual([3])
  })

  it('rejects a query without text and label columns, naming what it returned (CONFIG)', async () => {
    const e = await failure(run({ query: 'SELECT id, query, expert_intent FROM labeled_queries' }))
    expect(e.code).toBe('CONFIG')
    expect(e.message).toBe(
      `feedback.query on ${sourceIdentity(db.url)} must return columns "text" and "label"; it returned: id, query, ` +
        `expert_intent`,
    )
    const syntax = await failure(run({ query: 'SELEC nope' }))
    expect(syntax.code).toBe('CONFIG')
    expect(syntax.message).toMatch(/feedback\.query failed on postgres:\/\/127\.0\.0\.1:\d+\/pratikoai: syntax error/)
  })

  it('exports an empty dataset when nothing is labeled', async () => {
    await insert([{ query: 'a', intent: null }])
    const result = await run()
    expect(result.report).toMatchObject({ rowsRead: 0, kept: 0 })
    expect(await readFile(result.path, 'utf8')).toBe('')
  })

  it('answers AUTH for a wrong password without showing any password', async () => {
    const url = new URL(db.url)
    url.password = encodeURIComponent('wr0ng:p@ss/word%')
    secrets.push('wr0ng:p@ss/word%', url.password)
    const e = await failure(run({ source: url.toString() }))
    expect(e.code).toBe('AUTH')
    expect(e.message).toMatch(
      new RegExp(
        /^PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/pratikoai /.source +
          /rejected user "modelship": password authentication failed/.source,
      ),
    )
    expect(await readdir(dir)).toEqual([])
  })

  it('answers STEP_FAILED naming host, port and database when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const url = new URL(db.url)
    url.port = String(port)
    const e = await failure(run({ source: url.toString() }))
    expect(e.code).toBe('STEP_FAILED')
    expect(e.exitCode).toBe(1)
    expect(e.message).toBe(
      `cannot connect to PostgreSQL at postgres://127.0.0.1:${port}/pratikoai: connect ECONNREFUSED 127.0.0.1:${port}`,
    )
  })

  it('answers CONFIG for a database that does not exist', async () => {
    const url = new URL(db.url)
    url.pathname = '/nodb'
    const e = await failure(run({ source: url.toString() }))
    expect(e.code).toBe('CONFIG')
    expect(e.message).toMatch(/postgres:\/\/127\.0\.0\.1:\d+\/nodb: database "nodb" does not exist/)
  })

  it('keeps an existing dataset and leaves no temp file when the query fails', async () => {
    await writeFile(join(dir, 'dataset.jsonl'), 'previous\n')
    await failure(run({ query: 'SELECT 1/0 AS text, 1 AS label' }))
    expect(await readFile(join(dir, 'dataset.jsonl'), 'utf8')).toBe('previous\n')
    expect(await readdir(dir)).toEqual(['dataset.jsonl'])
  })

  // The COPY rows are parsed in place from the socket's chunks (copy-out.ts): an error the server raises
  // after thousands of rows were sent, and notices sent between rows, take the paths a plain query never does.
  it('fails with the server error raised mid-stream, after rows were sent, keeping the old dataset', async () => {
    await writeFile(join(dir, 'dataset.jsonl'), 'previous\n')
    const e = await failure(
      run({
        query:
          "SELECT 'question ' || g AS text, CASE WHEN g < 150000 THEN 'x' ELSE (1 / (g - 150000))::text END AS label " +
          'FROM generate_series(1, 200000) AS g',
      }),
    )
    expect(e.code).toBe('STEP_FAILED')
    expect(e.message).toMatch(/division by zero \(22012\)/)
    expect(await readFile(join(dir, 'dataset.jsonl'), 'utf8')).toBe('previous\n')
    expect(await readdir(dir)).toEqual(['dataset.jsonl'])
  })

  it('skips notices the server sends between rows', async () => {
    await db.psql(`CREATE OR REPLACE FUNCTION pg_temp_noisy(t text) RETURNS text LANGUAGE plpgsql AS $$
      BEGIN RAISE NOTICE 'row %', t; RETURN t; END $$`)
    try {
      await db.psql(
        "INSERT INTO labeled_queries (query, expert_intent) SELECT 'domanda ' || g, 'a' FROM generate_series(1, " +
          '3000) g',
      )
      const result = await run({
        query: 'SELECT id, pg_temp_noisy(query) AS text, expert_intent AS label FROM labeled_queries ORDER BY id',
      })
      const rows = await lines(result.path)
      expect(rows).toHaveLength(3000)
      expect(rows[0]).toEqual({ text: 'domanda 1', label: 'a' })
      expect(rows.at(-1)).toEqual({ text: 'domanda 3000', label: 'a' })
    } finally {
      await db.psql('DROP FUNCTION pg_temp_noisy(text)')
    }
  })

  it('stops on abort mid-stream without leaving a file', async () => {
    await db.psql(
      "INSERT INTO labeled_queries (query, expert_intent) SELECT 'question ' || g, 'a' FROM generate_series(1, " +
        '200000) g',
    )
    const ac = new AbortController()
    const e = await failure(run({ signal: ac.signal, onProgress: () => ac.abort() }))
    expect(e.code).toBe('INTERRUPTED')
    expect(await readdir(dir)).toEqual([])
  })

  it('stops on abort while the server is still working on the query', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 300)
    const started = Date.now()
    const e = await failure(run({ signal: ac.signal, query: "SELECT pg_sleep(10)::text AS text, 'x' AS label" }))
    expect(e.code).toBe('INTERRUPTED')
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await readdir(dir)).toEqual([])
  })

  // The compiled module (`npm test` builds first), as the CLI runs it: tsx compiling modules on the fly
  // inside the measured window would count the compiler's memory as the export's.
  it('streams 1,000,000 rows with bounded memory (child process, peak RSS growth < 100 MiB)', async () => {
    await db.psql(`INSERT INTO labeled_queries (query, expert_intent, is_deleted)
        SELECT 'Come si calcola l''imposta per la pratica numero ' || g || ' del contribuente?',
          (ARRAY['a','b','c','d','e'])[1 + g % 5], false
        FROM generate_series(1, 1000000) AS g`)
    const script = `
        const { exportFeedback } = await import(${JSON.stringify(
          new URL('../dist/esm/pipeline/feedback/index.js', import.meta.url).href,
        )})
        const { readFileSync } = await import('node:fs')
        const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1])
        const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1])
        // The export loads pg on first use: loaded before the baseline, its code is not counted as export memory.
        await import('pg')
        await import('pg-copy-streams')
        const base = rss()
        const lines = []
        const r = await exportFeedback({
          source: process.env.PG_URL, query: null, destPath: process.env.DEST, onProgress: (l) => lines.push(l),
        })
        process.stdout.write(JSON.stringify({ baseKiB: base, peakKiB: hwm(), report: r.report, lines }) + '\\n')
      `
    const {
      code,
      stdout: out,
      stderr: err,
    } = await runNodeScript(script, {
      env: { ...process.env, PG_URL: db.url, DEST: join(dir, 'dataset.jsonl') },
    })
    expect(err).toBe('')
    expect(code).toBe(0)
    const r = JSON.parse(out) as { baseKiB: number; peakKiB: number; report: ExportResult['report']; lines: string[] }
    expect(r.report.rowsRead).toBe(1_000_000)
    expect(r.report.kept).toBe(1_000_000)
    const growthMiB = (r.peakKiB - r.baseKiB) / 1024
    console.log(`1M-row export: peak RSS ${(r.peakKiB / 1024).toFixed(1)} MiB, growth ${growthMiB.toFixed(1)} MiB`)
    expect(growthMiB).toBeLessThan(100)
    expect(r.lines).toContain('exported 500000 rows')
    expect(r.lines.at(-1)).toBe('exported 1000000 rows')
    expectNoSecret(out, err)
    const head = (await readFile(join(dir, 'dataset.jsonl'), 'utf8')).slice(0, 200)
    expect(
      head.startsWith('{"text":"Come si calcola l\'imposta per la pratica numero 1 del contribuente?","label":"b"}\n'),
    ).toBe(true)
  }, 180_000)
})
