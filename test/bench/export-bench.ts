/**
 * Export benchmark, whole processes (spawn to exit), alternated round by round on the same database;
 * min/median/max per contender, against `psql \copy` of the same query:
 *
 * - the release path (the target row): `modelship release --dry-run` (the bundled CLI) in a workspace
 *   whose `feedback.source` is `database`, over the table of `rows` rows, less the same command over a
 *   50-row table (its fixed cost: startup, config, preflight, the other steps). What a user waits for:
 *   export, validate and the dry run's scratch writes. Target ≤ 1.5 × psql, and peak RSS < 150 MiB.
 * - the export alone: a child that imports the export module and exports (no CLI), less a child that
 *   only imports it (its startup). Target ≤ 1.5 × psql + startup, and the child's peak RSS < 150 MiB.
 *
 * The CLI runs with pipes (not a terminal): plain lines, as in CI.
 *
 *   npm run -s build && npx tsx test/bench/export-bench.ts [rows] [rounds]
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { parseDocument } from 'yaml'
import { runNodeScript } from '../support/node-script.js'
import { CLI } from '../support/workspace.js'
import { copyExample } from './cli-bench.js'
import { alternate, measure, nodeEnv } from './measure.js'
import { DEFAULT_QUERY } from '../../pipeline/feedback/postgres-source.js'
import { startPostgres, type TestPostgres } from '../support/postgres.js'

const run = promisify(execFile)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const LABELS = ['chitchat', 'theoretical_definition', 'technical_research', 'calculator', 'normative_reference']
export const TARGET_RATIO = 1.5
export const TARGET_PEAK_RSS_MIB = 150

/** min/median/max of one contender's rounds, in seconds. */
export interface Spread {
  min: number
  median: number
  max: number
}

export interface ExportBenchResult {
  rows: number
  /** Whole process, spawn to exit: node startup, imports, connect, export, exit. */
  modelship: Spread
  /** Whole process importing the export module and exiting: modelship's fixed startup. */
  startup: Spread
  /** Whole process `psql \\copy` of the same query (the default query: id, text, label, ORDER BY id). */
  psql: Spread
  /** Peak RSS (VmHWM of the child) over all modelship rounds. */
  peakRssMiB: number
  /** (median modelship − median startup) / median psql: the export's own time per psql time; target <= TARGET_RATIO. */
  ratio: number
  /** `modelship release --dry-run` with `feedback.source: database` over the `rows`-row table, whole process. */
  release?: Spread
  /** The same command over a FIXED_COST_ROWS-row table: the release path's fixed cost. */
  releaseFixed?: Spread
  releaseFixedRows?: number
  /** Peak RSS (VmHWM) of the release processes over the `rows`-row table. */
  releasePeakRssMiB?: number
  /** (median release − median releaseFixed) / median psql: the release path's own time; target <= TARGET_RATIO. */
  releaseRatio?: number
}

/** The small table whose release is the release path's fixed cost (the issue measured 50 rows). */
const FIXED_COST_ROWS = 50
/** The schema holding the small table: the release over it reaches it through search_path, as the same query. */
const FIXED_COST_SCHEMA = 'fixed_cost'

export async function runExportBench(
  opts: { rows?: number; rounds?: number; log?: (line: string) => void } = {},
): Promise<ExportBenchResult> {
  const rows = opts.rows ?? 1_000_000
  const rounds = opts.rounds ?? 5
  const log = opts.log ?? ((line: string) => console.log(line))
  if (!existsSync(CLI)) throw new Error(`export bench: ${CLI} is missing; run npm run -s build first`)
  const db = await startPostgres()
  const dir = await mkdtemp(join(tmpdir(), 'modelship-export-bench-'))
  const ws = releaseWorkspace()
  try {
    await seed(db, rows, 'public')
    await db.psql(
      `CREATE SCHEMA IF NOT EXISTS ${FIXED_COST_SCHEMA}; DROP TABLE IF EXISTS ${FIXED_COST_SCHEMA}.labeled_queries; ` +
        `CREATE TABLE ${FIXED_COST_SCHEMA}.labeled_queries (LIKE public.labeled_queries INCLUDING ALL)`,
    )
    await seed(db, FIXED_COST_ROWS, FIXED_COST_SCHEMA)
    const smallUrl = `${db.url}?options=${encodeURIComponent(`-c search_path=${FIXED_COST_SCHEMA}`)}`
    // The table just written reaches the disk before any round: its writeback would land on the rounds.
    spawnSync('sync', { stdio: 'ignore' })
    const version = (await db.psql('SHOW server_version')).trim()
    const entry = await childEntry()
    log(`export bench: ${rows} rows in labeled_queries (PostgreSQL ${version}); modelship runs from ${entry.describe}`)
    log(
      `  release path: ${CLI} release --dry-run in ${ws.dir} (feedback.source: database), ` +
        `less the same over ${FIXED_COST_ROWS} rows`,
    )
    // One uncounted run each: the trainer's --help probe is cached after the first dry run (in
    // XDG_CACHE_HOME), as for a user who ran one before; the table's pages are in the server's cache.
    await ws.release(db.url)
    await ws.release(smallUrl)

    const modelship: number[] = []
    const startup: number[] = []
    const psql: number[] = []
    const release: number[] = []
    const releaseFixed: number[] = []
    let peakRssMiB = 0
    let releasePeakRssMiB = 0
    // Contenders alternate within each round, the order rotating, so that load on the machine hits them alike.
    const results = await alternate(rounds, {
      release: async () => {
        const r = await ws.release(db.url)
        release.push(r.seconds)
        releasePeakRssMiB = Math.max(releasePeakRssMiB, r.peakRssMiB)
        return `release --dry-run ${r.seconds.toFixed(2)} s (VmHWM ${r.peakRssMiB.toFixed(1)} MiB)`
      },
      releaseFixed: async () => {
        const r = await ws.release(smallUrl)
        releaseFixed.push(r.seconds)
        return `the same over ${FIXED_COST_ROWS} rows ${r.seconds.toFixed(2)} s`
      },
      modelship: async () => {
        const m = await runModelship(entry, db.url, join(dir, 'dataset.jsonl'))
        modelship.push(m.seconds)
        peakRssMiB = Math.max(peakRssMiB, m.peakRssMiB)
        return (
          `export alone ${m.seconds.toFixed(2)} s (${m.rowsRead} read, ${m.kept} kept, ` +
          `VmHWM ${m.peakRssMiB.toFixed(1)} MiB)`
        )
      },
      psql: async () => {
        const p = await runPsqlCopy(db, join(dir, 'copy.tsv'), DEFAULT_QUERY)
        psql.push(p)
        return `psql \\copy ${p.toFixed(2)} s`
      },
      startup: async () => {
        const s = await runStartup(entry)
        startup.push(s)
        return `startup ${s.toFixed(2)} s`
      },
    })
    for (let round = 0; round < rounds; round++) {
      const line = Object.values(results).map((r) => (r as string[])[round])
      log(`  round ${round + 1}: ${line.join(' · ')}`)
    }
    const result: ExportBenchResult = {
      rows,
      modelship: spread(modelship),
      startup: spread(startup),
      psql: spread(psql),
      peakRssMiB,
      ratio: 0,
      release: spread(release),
      releaseFixed: spread(releaseFixed),
      releaseFixedRows: FIXED_COST_ROWS,
      releasePeakRssMiB,
      releaseRatio: 0,
    }
    result.ratio = (result.modelship.median - result.startup.median) / result.psql.median
    result.releaseRatio = (result.release!.median - result.releaseFixed!.median) / result.psql.median
    for (const line of table(result)) log(line)
    return result
  } finally {
    ws.cleanup()
    await rm(dir, { recursive: true, force: true })
    await db.stop()
  }
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { min: sorted[0]!, median, max: sorted.at(-1)! }
}

function table(r: ExportBenchResult): string[] {
  const s = (x: Spread): string => `${x.min.toFixed(2)} / ${x.median.toFixed(2)} / ${x.max.toFixed(2)} s`
  const ok = (met: boolean): string => (met ? ' ✓' : ' ✗ ABOVE TARGET')
  const lines = [`| what (${r.rows} rows, whole processes) | min / median / max | target |`, '| --- | --- | --- |']
  if (r.release && r.releaseFixed && r.releaseRatio !== undefined) {
    const limit = TARGET_RATIO * r.psql.median + r.releaseFixed.median
    lines.push(
      `| modelship release --dry-run (database source) | ${s(r.release)} | ≤ ${TARGET_RATIO}× psql + fixed cost = ` +
        `${limit.toFixed(2)} s |`,
      `| the same over ${r.releaseFixedRows} rows (fixed cost) | ${s(r.releaseFixed)} | — |`,
      `| ratio (release − fixed cost) / psql, medians | ${r.releaseRatio.toFixed(2)} | ≤ ` +
        `${TARGET_RATIO}${ok(r.releaseRatio <= TARGET_RATIO)} |`,
      `| peak RSS of the release | ${(r.releasePeakRssMiB ?? 0).toFixed(1)} MiB | < ${TARGET_PEAK_RSS_MIB} ` +
        `MiB${ok((r.releasePeakRssMiB ?? 0) < TARGET_PEAK_RSS_MIB)} |`,
    )
  }
  lines.push(
    `| modelship export alone | ${s(r.modelship)} | ≤ ${TARGET_RATIO}× psql + startup = ` +
      `${(TARGET_RATIO * r.psql.median + r.startup.median).toFixed(2)} s |`,
    `| psql \\copy, same query | ${s(r.psql)} | — |`,
    `| modelship fixed startup (import, exit) | ${s(r.startup)} | — |`,
    `| ratio (export − startup) / psql, medians | ${r.ratio.toFixed(2)} | ≤ ` +
      `${TARGET_RATIO}${ok(r.ratio <= TARGET_RATIO)} |`,
    `| peak RSS (VmHWM of the export child) | ${r.peakRssMiB.toFixed(1)} MiB | < ${TARGET_PEAK_RSS_MIB} ` +
      `MiB${ok(r.peakRssMiB < TARGET_PEAK_RSS_MIB)} |`,
  )
  return lines
}

/** Whether the bench's targets hold: the release path's and the export's. */
export function exportBenchMet(r: ExportBenchResult): boolean {
  const release =
    r.releaseRatio === undefined || (r.releaseRatio <= TARGET_RATIO && (r.releasePeakRssMiB ?? 0) < TARGET_PEAK_RSS_MIB)
  return release && r.ratio <= TARGET_RATIO && r.peakRssMiB < TARGET_PEAK_RSS_MIB
}

interface ReleaseWorkspace {
  dir: string
  /** `modelship release --dry-run --yes` there with DATABASE_URL=url (through the environment, never argv). */
  release(url: string): Promise<{ seconds: number; peakRssMiB: number }>
  cleanup(): void
}

/**
 * A throwaway copy of the bundled example reading its feedback from the database: `feedback.source: database`
 * (DATABASE_URL), `deploy.mode: none` (no Docker engine is probed; a dry run skips build and deploy anyway),
 * and `gates.min_per_label` low enough for the fixed-cost table to pass validation, as the large one does.
 */
function releaseWorkspace(): ReleaseWorkspace {
  const dir = copyExample()
  const configPath = join(dir, 'modelship.yaml')
  const doc = parseDocument(readFileSync(configPath, 'utf8'))
  doc.setIn(['feedback', 'source'], 'database')
  doc.setIn(['gates', 'min_per_label'], 5)
  doc.setIn(['deploy', 'mode'], 'none')
  writeFileSync(configPath, doc.toString())
  const cache = join(dir, '.cache')
  return {
    dir,
    async release(url) {
      const env = nodeEnv({ DATABASE_URL: url, LANG: 'C.UTF-8', XDG_CACHE_HOME: cache, MODELSHIP_WORKSPACE: undefined })
      const m = await measure([process.execPath, CLI, 'release', '--dry-run', '--yes'], { cwd: dir, env })
      if (!/Exported \d+ rows/.test(m.stdout + m.stderr))
        throw new Error(`export bench: the dry run exported nothing:\n${(m.stdout + m.stderr).slice(-600)}`)
      return { seconds: m.wallMs / 1000, peakRssMiB: m.peakRssMiB }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** Realistic rows: varied Italian tax questions, 5 labels; ~1% deleted, ~1% unlabeled, ~1% duplicates, a few quotes. */
async function seed(db: TestPostgres, rows: number, schema: string): Promise<void> {
  const table = `${schema}.labeled_queries`
  await db.psql(`TRUNCATE ${table} RESTART IDENTITY`)
  const labels = `ARRAY[${LABELS.map((l) => `'${l}'`).join(',')}]`
  await db.psql(`
    INSERT INTO ${table} (query, expert_intent, is_deleted)
    SELECT
      (ARRAY['Come si calcola', 'Qual è la scadenza per', 'Cosa prevede la normativa su', 'Spiegami',
             'Ciao, mi aiuti con'])[1 + k % 5]
        || ' ' || (ARRAY['l''IRPEF', 'il regime forfettario', 'l''IVA al 22%', 'il "ravvedimento operoso"',
                         'la fattura elettronica', 'il modello 730'])[1 + (k / 5) % 6]
        || ' per la pratica n. ' || k || repeat(' con dettagli', k % 4) || '?',
      CASE WHEN g % 101 = 0 THEN NULL ELSE (${labels})[1 + (k / 7) % 5] END,
      g % 89 = 0
    FROM (SELECT g, CASE WHEN g % 97 = 0 THEN g - 1 ELSE g END AS k FROM generate_series(1, ${rows}) AS g) AS s`)
  await db.psql(`VACUUM ANALYZE ${table}`)
}

interface ChildEntry {
  module: string
  describe: string
}

/**
 * What the child imports: the compiled dist/esm/ when it is up to date (as after `npm run bench`), else the
 * feedback module compiled by tsc into node_modules/.cache — compiled either way, as the CLI runs.
 */
async function childEntry(): Promise<ChildEntry> {
  const compiled = join(ROOT, 'dist', 'esm', 'pipeline', 'feedback', 'index.js')
  const sources = ['pipeline/feedback', 'pipeline/engine/errors.ts', 'pipeline/secrets/redact.ts']
  const newest = Math.max(...sources.flatMap((s) => newestMtimes(join(ROOT, s))))
  if (existsSync(compiled) && newest <= statSync(compiled).mtimeMs) {
    return { module: pathToFileURL(compiled).href, describe: 'dist/esm/ (compiled)' }
  }
  const outDir = join(ROOT, 'node_modules', '.cache', 'modelship-bench')
  const out = join(outDir, 'pipeline', 'feedback', 'index.js')
  if (!existsSync(out) || newest > statSync(out).mtimeMs) {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const flags = [
      '--ignoreConfig',
      '--outDir',
      outDir,
      '--rootDir',
      ROOT,
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
    ]
    await run(
      process.execPath,
      [
        tsc,
        ...flags,
        '--lib',
        'es2023',
        '--types',
        'node',
        '--strict',
        '--skipLibCheck',
        '--esModuleInterop',
        join(ROOT, 'pipeline', 'feedback', 'index.ts'),
      ],
      { cwd: ROOT },
    )
  }
  return {
    module: pathToFileURL(out).href,
    describe: 'pipeline/feedback compiled by tsc into node_modules/.cache (dist/esm/ missing or stale)',
  }
}

function newestMtimes(path: string): number[] {
  const st = statSync(path)
  if (!st.isDirectory()) return [st.mtimeMs]
  return readdirSync(path)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => statSync(join(path, f)).mtimeMs)
}

// VmHWM is read at exit, after everything the export left running has finished: the child's own peak
// (getrusage's maxRSS survives exec and would count the parent's memory at fork).
const CHILD_SCRIPT = `
const { readFileSync, writeSync } = await import('node:fs')
let result
process.on('exit', () => {
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  writeSync(1, JSON.stringify({ maxRssKiB: hwm ? Number(hwm[1]) : 0, ...result }) + '\\n')
})
const { exportFeedback } = await import(process.env.MODELSHIP_BENCH_MODULE)
if (process.env.MODELSHIP_BENCH_URL) {
  const r = await exportFeedback({
    source: process.env.MODELSHIP_BENCH_URL,
    query: null,
    destPath: process.env.MODELSHIP_BENCH_DEST,
  })
  result = { rowsRead: r.report.rowsRead, kept: r.report.kept }
}
`

interface ChildRun {
  seconds: number
  peakRssMiB: number
  rowsRead: number
  kept: number
}

/** Spawn to exit of a node child running CHILD_SCRIPT; no URL means import only (the fixed startup). */
async function runChild(entry: ChildEntry, url: string | undefined, dest: string | undefined): Promise<ChildRun> {
  // The URL (with its password) goes through the environment, never argv. NODE_EXTRA_CA_CERTS makes
  // node read certificates at startup, which no user's export pays.
  const env: NodeJS.ProcessEnv = { ...process.env, MODELSHIP_BENCH_MODULE: entry.module }
  delete env.NODE_EXTRA_CA_CERTS
  if (url) Object.assign(env, { MODELSHIP_BENCH_URL: url, MODELSHIP_BENCH_DEST: dest })
  const started = performance.now()
  const { code, stdout: out, stderr: err } = await runNodeScript(CHILD_SCRIPT, { cwd: ROOT, env })
  const seconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`modelship export child failed (exit ${code}): ${err.trim()}`)
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { maxRssKiB: number; rowsRead?: number; kept?: number }
  return { seconds, peakRssMiB: r.maxRssKiB / 1024, rowsRead: r.rowsRead ?? 0, kept: r.kept ?? 0 }
}

function runModelship(entry: ChildEntry, url: string, dest: string): Promise<ChildRun> {
  return runChild(entry, url, dest)
}

async function runStartup(entry: ChildEntry): Promise<number> {
  return (await runChild(entry, undefined, undefined)).seconds
}

async function runPsqlCopy(db: TestPostgres, file: string, query: string): Promise<number> {
  const u = new URL(db.url)
  u.password = ''
  const copy = `\\copy (${query}) TO '${file}'`
  const started = performance.now()
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', u.toString(), '-c', copy], {
    env: { ...process.env, PGPASSWORD: db.password },
  })
  return (performance.now() - started) / 1000
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const rows = process.argv[2] ? Number(process.argv[2]) : undefined
  const rounds = process.argv[3] ? Number(process.argv[3]) : undefined
  runExportBench({ rows, rounds }).then(
    (r) => {
      if (!exportBenchMet(r)) process.exitCode = 1
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e))
      process.exitCode = 1
    },
  )
}
