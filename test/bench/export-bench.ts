/**
 * Export benchmark: modelship's PostgreSQL export (stream, normalize, dedup, atomic write) against
 * `psql \copy` of the same rows, side by side in one run on the same database (each run twice,
 * alternating; the minimum counts). modelship runs in a child node process so its peak RSS is its own.
 *
 *   npx tsx test/bench/export-bench.ts [rows]
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { runNodeScript } from '../support/node-script.js'
import { DEFAULT_QUERY } from '../../pipeline/feedback/postgres-source.js'
import { startPostgres, type TestPostgres } from '../support/postgres.js'

const run = promisify(execFile)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const LABELS = ['chitchat', 'theoretical_definition', 'technical_research', 'calculator', 'normative_reference']
export const TARGET_RATIO = 1.5
export const TARGET_PEAK_RSS_MIB = 150

export interface ExportBenchResult {
  rows: number
  modelshipSeconds: number
  psqlSeconds: number
  /** psql \copy of modelship's own default query (with id, ORDER BY id): the server's share. */
  psqlOrderedSeconds: number
  ratio: number
  peakRssMiB: number
}

export async function runExportBench(opts: { rows?: number; log?: (line: string) => void } = {}): Promise<ExportBenchResult> {
  const rows = opts.rows ?? 1_000_000
  const log = opts.log ?? ((line: string) => console.log(line))
  const db = await startPostgres()
  const dir = await mkdtemp(join(tmpdir(), 'modelship-export-bench-'))
  try {
    await seed(db, rows)
    const version = (await db.psql('SHOW server_version')).trim()
    const entry = await childEntry()
    log(`export bench: ${rows} rows in labeled_queries (PostgreSQL ${version}); modelship runs from ${entry.describe}`)

    const modelship: number[] = []
    const psql: number[] = []
    const psqlOrdered: number[] = []
    let peakRssMiB = 0
    let kept = 0
    for (let round = 1; round <= 2; round++) {
      const m = await runModelship(entry, db.url, join(dir, 'dataset.jsonl'))
      modelship.push(m.seconds)
      peakRssMiB = Math.max(peakRssMiB, m.peakRssMiB)
      kept = m.kept
      log(`  round ${round}: modelship ${m.seconds.toFixed(2)} s (${m.rowsRead} rows read, ${m.kept} kept, peak RSS ${m.peakRssMiB.toFixed(1)} MiB)`)
      const p = await runPsqlCopy(db, join(dir, 'copy.tsv'), SPEC_COPY_QUERY)
      psql.push(p)
      log(`  round ${round}: psql \\copy ${p.toFixed(2)} s`)
      // For reading the ratio: the same copy with modelship's default query (id, ORDER BY id).
      const ordered = await runPsqlCopy(db, join(dir, 'copy-ordered.tsv'), DEFAULT_QUERY)
      psqlOrdered.push(ordered)
      log(`  round ${round}: psql \\copy of modelship's default query (ORDER BY id) ${ordered.toFixed(2)} s`)
    }
    const modelshipSeconds = Math.min(...modelship)
    const psqlSeconds = Math.min(...psql)
    const ratio = modelshipSeconds / psqlSeconds
    const size = (await stat(join(dir, 'dataset.jsonl'))).size
    log(`modelship export: ${modelshipSeconds.toFixed(2)} s (min of ${modelship.map((s) => s.toFixed(2)).join(', ')}); ${kept} rows, ${(size / 2 ** 20).toFixed(1)} MiB written`)
    log(`psql \\copy:       ${psqlSeconds.toFixed(2)} s (min of ${psql.map((s) => s.toFixed(2)).join(', ')})`)
    log(`psql \\copy of the ordered default query: ${Math.min(...psqlOrdered).toFixed(2)} s (the server's share of modelship's time)`)
    log(`ratio modelship/psql: ${ratio.toFixed(2)} (target <= ${TARGET_RATIO})${ratio <= TARGET_RATIO ? '' : '  ABOVE TARGET'}`)
    log(`peak RSS modelship: ${peakRssMiB.toFixed(1)} MiB (target < ${TARGET_PEAK_RSS_MIB} MiB)${peakRssMiB < TARGET_PEAK_RSS_MIB ? '' : '  ABOVE TARGET'}`)
    return { rows, modelshipSeconds, psqlSeconds, psqlOrderedSeconds: Math.min(...psqlOrdered), ratio, peakRssMiB }
  } finally {
    await rm(dir, { recursive: true, force: true })
    await db.stop()
  }
}

/** Realistic rows: varied Italian tax questions, 5 labels; ~1% deleted, ~1% unlabeled, ~1% duplicates, a few quotes. */
async function seed(db: TestPostgres, rows: number): Promise<void> {
  await db.psql('TRUNCATE labeled_queries RESTART IDENTITY')
  const labels = `ARRAY[${LABELS.map((l) => `'${l}'`).join(',')}]`
  await db.psql(`
    INSERT INTO labeled_queries (query, expert_intent, is_deleted)
    SELECT
      (ARRAY['Come si calcola', 'Qual è la scadenza per', 'Cosa prevede la normativa su', 'Spiegami', 'Ciao, mi aiuti con'])[1 + k % 5]
        || ' ' || (ARRAY['l''IRPEF', 'il regime forfettario', 'l''IVA al 22%', 'il "ravvedimento operoso"', 'la fattura elettronica', 'il modello 730'])[1 + (k / 5) % 6]
        || ' per la pratica n. ' || k || repeat(' con dettagli', k % 4) || '?',
      CASE WHEN g % 101 = 0 THEN NULL ELSE (${labels})[1 + (k / 7) % 5] END,
      g % 89 = 0
    FROM (SELECT g, CASE WHEN g % 97 = 0 THEN g - 1 ELSE g END AS k FROM generate_series(1, ${rows}) AS g) AS s`)
  await db.psql('VACUUM ANALYZE labeled_queries')
}

interface ChildEntry {
  module: string
  describe: string
}

/**
 * What the child imports: the compiled dist/ when it is up to date (as after `npm run bench`), else the
 * feedback module compiled by tsc into node_modules/.cache — compiled either way, as the CLI runs.
 */
async function childEntry(): Promise<ChildEntry> {
  const compiled = join(ROOT, 'dist', 'pipeline', 'feedback', 'index.js')
  const sources = ['pipeline/feedback', 'pipeline/errors.ts', 'pipeline/redact.ts']
  const newest = Math.max(...sources.flatMap((s) => newestMtimes(join(ROOT, s))))
  if (existsSync(compiled) && newest <= statSync(compiled).mtimeMs) {
    return { module: pathToFileURL(compiled).href, describe: 'dist/ (compiled)' }
  }
  const outDir = join(ROOT, 'node_modules', '.cache', 'modelship-bench')
  const out = join(outDir, 'pipeline', 'feedback', 'index.js')
  if (!existsSync(out) || newest > statSync(out).mtimeMs) {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const flags = ['--ignoreConfig', '--outDir', outDir, '--rootDir', ROOT, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022']
    await run(process.execPath, [tsc, ...flags, '--lib', 'es2023', '--types', 'node', '--strict', '--skipLibCheck', '--esModuleInterop', join(ROOT, 'pipeline', 'feedback', 'index.ts')], { cwd: ROOT })
  }
  return { module: pathToFileURL(out).href, describe: 'pipeline/feedback compiled by tsc into node_modules/.cache (dist/ missing or stale)' }
}

function newestMtimes(path: string): number[] {
  const st = statSync(path)
  if (!st.isDirectory()) return [st.mtimeMs]
  return readdirSync(path)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => statSync(join(path, f)).mtimeMs)
}

const CHILD_SCRIPT = `
const { exportFeedback } = await import(process.env.MODELSHIP_BENCH_MODULE)
const started = performance.now()
const result = await exportFeedback({ source: process.env.MODELSHIP_BENCH_URL, query: null, destPath: process.env.MODELSHIP_BENCH_DEST })
const seconds = (performance.now() - started) / 1000
// VmHWM is this process's own peak: getrusage's maxRSS survives exec and would count the parent's memory at fork.
const { readFileSync } = await import('node:fs')
const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
const maxRssKiB = hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS
process.stdout.write(JSON.stringify({ seconds, maxRssKiB, rowsRead: result.report.rowsRead, kept: result.report.kept }) + '\\n')
`

async function runModelship(entry: ChildEntry, url: string, dest: string): Promise<{ seconds: number; peakRssMiB: number; rowsRead: number; kept: number }> {
  // The URL (with its password) goes through the environment, never argv.
  const { code, stdout: out, stderr: err } = await runNodeScript(CHILD_SCRIPT, {
    cwd: ROOT,
    env: { ...process.env, MODELSHIP_BENCH_MODULE: entry.module, MODELSHIP_BENCH_URL: url, MODELSHIP_BENCH_DEST: dest },
  })
  if (code !== 0) throw new Error(`modelship export child failed (exit ${code}): ${err.trim()}`)
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number; maxRssKiB: number; rowsRead: number; kept: number }
  return { seconds: r.seconds, peakRssMiB: r.maxRssKiB / 1024, rowsRead: r.rowsRead, kept: r.kept }
}

const SPEC_COPY_QUERY = 'SELECT query AS text, expert_intent AS label FROM labeled_queries WHERE is_deleted = false AND expert_intent IS NOT NULL'

async function runPsqlCopy(db: TestPostgres, file: string, query: string): Promise<number> {
  const u = new URL(db.url)
  u.password = ''
  const copy = `\\copy (${query}) TO '${file}'`
  const started = performance.now()
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', u.toString(), '-c', copy], { env: { ...process.env, PGPASSWORD: db.password } })
  return (performance.now() - started) / 1000
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const rows = process.argv[2] ? Number(process.argv[2]) : undefined
  runExportBench({ rows }).then(
    (r) => {
      if (r.ratio > TARGET_RATIO || r.peakRssMiB >= TARGET_PEAK_RSS_MIB) process.exitCode = 1
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e))
      process.exitCode = 1
    },
  )
}
