/**
 * The one table of `npm run bench`: every row of issue 15 with modelship's figures, the reference, their
 * ratio, the target and whether it is met. A row whose benchmark did not run (or failed) says so.
 */
import type { CliBenchResult } from './cli-bench.js'
import type { EngineBenchResult } from './engine-bench.js'
import type { ExportBenchResult } from './export-bench.js'
import type { Spread } from './measure.js'
import type { PushBenchResult } from './push-bench.js'
import type { SwarmBenchResult } from './swarm-bench.js'
import { swarmRow } from './swarm-row.js'

const MiB = 1024 * 1024

export interface Row {
  what: string
  /** min / median / max, or one figure. */
  modelship: string
  peakRss: string
  reference: string
  ratio: string
  target: string
  /** undefined: not measured. */
  met: boolean | undefined
  note?: string
}

/** What the sub-benchmarks return (each is optional: a failed or skipped one leaves its rows unmeasured). */
export interface BenchResults {
  cli?: CliBenchResult
  push?: PushBenchResult
  export?: ExportBenchResult
  trainer?: TrainerResult
  swarm?: SwarmBenchResult
  engine?: EngineBenchResult
}

/** test/bench/trainer_bench.py's BENCH_JSON: per-size baseline runs and sklearn (older versions: one flat run). */
interface TrainerRun {
  wall_s: number
  peak_rss_mib?: number
  heldout_accuracy: number
  n_train?: number
}
interface TrainerResult {
  baseline?: Record<string, TrainerRun>
  sklearn?: TrainerRun & { python?: string }
  train_time_s?: number
  heldout_accuracy?: number
}

const HELDOUT_ACCURACY_FLOOR = 0.919

const secs = (s: Omit<Spread, 'n'>, scale = 1000): string =>
  `${(s.min / scale).toFixed(2)} / ${(s.median / scale).toFixed(2)} / ${(s.max / scale).toFixed(2)} s`
const msSpread = (s: Spread): string => `${s.min.toFixed(0)} / ${s.median.toFixed(0)} / ${s.max.toFixed(0)} ms`
const mib = (x: number): string => `${x.toFixed(0)} MiB`

function missing(what: string, target: string, why: string): Row {
  return { what, modelship: '—', peakRss: '—', reference: '—', ratio: '—', target, met: undefined, note: why }
}

/** The trainer's runs in one shape, whichever version of trainer_bench.py produced them. */
function trainerRuns(t: TrainerResult | undefined): Record<string, TrainerRun> {
  if (!t) return {}
  if (t.baseline) return t.baseline
  if (t.train_time_s !== undefined && t.heldout_accuracy !== undefined) {
    return { '1600': { wall_s: t.train_time_s, heldout_accuracy: t.heldout_accuracy } }
  }
  return {}
}

export function tableRows(r: BenchResults, failures: Record<string, string> = {}): Row[] {
  const rows: Row[] = []
  const why = (bench: string): string => failures[bench] ?? `the ${bench} benchmark did not run`

  // Push
  const push = (size: number) => r.push?.rows.find((p) => p.sizeMiB === size) ?? r.push?.rows[size === 512 ? 0 : 1]
  for (const size of [512, 2048]) {
    const p = push(size)
    const what = `push: peak RSS, ${size === 512 ? '512 MiB' : '2 GiB'} model`
    if (!p) rows.push(missing(what, '≤ 200 MiB', why('push')))
    else
      rows.push({
        what: `push: peak RSS, ${p.sizeMiB} MiB model`,
        modelship: mib(p.modelshipPeakMiB),
        peakRss: mib(p.modelshipPeakMiB),
        reference: `bare uploadFiles ${mib(p.barePeakMiB)}`,
        ratio: `${(p.modelshipPeakMiB / p.barePeakMiB).toFixed(2)}×`,
        target: '≤ 200 MiB',
        met: p.modelshipPeakMiB <= 200,
      })
  }
  const p512 = push(512)
  if (!p512) {
    rows.push(missing('push: wall time, 512 MiB model', '≤ 1.05× bare uploadFiles', why('push')))
    rows.push(missing('push: re-sent after a drop inside one 512 MiB file', '≤ one part', why('push')))
  } else {
    const p2 = push(2048)
    rows.push({
      what: `push: wall time, ${p512.sizeMiB} MiB model (median)`,
      modelship: `${p512.modelshipSeconds.toFixed(2)} s`,
      peakRss: '',
      reference: `bare uploadFiles ${p512.bareSeconds.toFixed(2)} s`,
      ratio: `${p512.ratio.toFixed(3)}×`,
      target: '≤ 1.05×',
      met: p512.ratio <= 1.05,
      ...(p2 && p2 !== p512 ? { note: `${p2.sizeMiB} MiB: ${p2.ratio.toFixed(3)}×` } : {}),
    })
    const part = r.push!.chunkBytes
    rows.push({
      what: `push: re-sent after a drop inside one ${p512.sizeMiB} MiB file`,
      modelship: mib(p512.resentAfterDropBytes / MiB),
      peakRss: '',
      reference: `one part: ${mib(part / MiB)}`,
      ratio: `${(p512.resentAfterDropBytes / part).toFixed(2)} parts`,
      target: '≤ one part',
      met: p512.resentAfterDropBytes <= part,
    })
  }

  // Export: the release path (issue 23: what a user waits for), then the export alone
  const e = r.export
  const releaseWhat = 'release --dry-run, 1,000,000 rows from PostgreSQL (feedback.source: database), whole process'
  const releaseTarget = '≤ 1.5× psql \\copy after the fixed cost; < 150 MiB'
  if (!e) rows.push(missing(releaseWhat, releaseTarget, why('export')))
  else if (!e.release || !e.releaseFixed || e.releaseRatio === undefined)
    rows.push(missing(releaseWhat, releaseTarget, 'not measured (an export bench without the release path)'))
  else {
    const limit = 1.5 * e.psql.median + e.releaseFixed.median
    rows.push({
      what:
        `release --dry-run, ${e.rows.toLocaleString('en')} rows from PostgreSQL (feedback.source: database), ` +
        `whole process`,
      modelship: secs(e.release, 1),
      peakRss: mib(e.releasePeakRssMiB ?? 0),
      reference:
        `psql \\copy ${e.psql.median.toFixed(2)} s; ${e.releaseFixedRows} rows ` +
        `${e.releaseFixed.median.toFixed(2)} s`,
      ratio: `${e.releaseRatio.toFixed(2)}× (less the fixed cost)`,
      target: `≤ 1.5× psql + fixed cost = ${limit.toFixed(2)} s; < 150 MiB`,
      met: e.releaseRatio <= 1.5 && (e.releasePeakRssMiB ?? 0) < 150,
      note: `the ${e.releaseFixedRows}-row run ${secs(e.releaseFixed, 1)}`,
    })
  }
  if (!e)
    rows.push(
      missing(
        'export alone: 1,000,000 rows from PostgreSQL, whole process',
        '≤ 1.5× psql \\copy + startup; < 150 MiB',
        why('export'),
      ),
    )
  else {
    const limit = 1.5 * e.psql.median + e.startup.median
    rows.push({
      what: `export alone: ${e.rows.toLocaleString('en')} rows from PostgreSQL, whole process`,
      modelship: secs(e.modelship, 1),
      peakRss: mib(e.peakRssMiB),
      reference: `psql \\copy ${e.psql.median.toFixed(2)} s; startup ${e.startup.median.toFixed(2)} s`,
      ratio: `${e.ratio.toFixed(2)}× (less startup)`,
      target: `≤ 1.5× psql + startup = ${limit.toFixed(2)} s; < 150 MiB`,
      met: e.ratio <= 1.5 && e.peakRssMiB < 150,
    })
  }

  // CLI
  const c = r.cli
  if (!c) {
    rows.push(missing('modelship --help', '≤ 1.5× node -e 0', why('cli')))
    rows.push(missing('release --dry-run on the example', '≤ 0.30 s', why('cli')))
    rows.push(missing('fixed overhead of a release', '≤ 0.25 s', why('cli')))
    rows.push(missing('release --resume after a failed build', '≤ 0.30 s + docker', why('cli')))
  } else {
    rows.push({
      what: 'modelship --help',
      modelship: msSpread(c.help),
      peakRss: mib(c.helpPeakRssMiB),
      reference: `node -e 0: ${msSpread(c.node)}`,
      ratio: `${c.helpRatio.toFixed(2)}×`,
      target: '≤ 1.5× node -e 0',
      met: c.helpRatio <= 1.5,
    })
    rows.push({
      what: 'release --dry-run on the example',
      modelship: secs(c.dryRun),
      peakRss: mib(c.dryRunPeakRssMiB),
      reference: '—',
      ratio: '—',
      target: '≤ 0.30 s',
      met: c.dryRun.median <= 300,
      note: `of which the trainer --help probe ${c.dryRunProbe.median.toFixed(0)} ms (median)`,
    })
    rows.push({
      what: 'fixed overhead of a release (wall − trainer − docker)',
      modelship: secs(c.release.fixed),
      peakRss: mib(c.release.peakRssMiB),
      reference: `wall ${(c.release.wall.median / 1000).toFixed(2)} s`,
      ratio: `${((100 * c.release.fixed.median) / c.release.wall.median).toFixed(0)}% of the wall`,
      target: '≤ 0.25 s',
      met: c.release.fixed.median <= 250,
      note:
        `trainer ${(c.release.trainer.median / 1000).toFixed(2)} s, docker commands (test shim) ` +
        `${(c.release.docker.median / 1000).toFixed(2)} s; the fixed part includes the trainer --help probe ` +
        `${c.release.probe.median.toFixed(0)} ms (a first release in a workspace; later ones read it from ` +
        `.modelship/): ${((c.release.fixed.median - c.release.probe.median) / 1000).toFixed(2)} s without it`,
    })
    rows.push({
      what: 'release --resume after a failed build (wall − docker)',
      modelship: secs(c.resume.fixed),
      peakRss: '',
      reference: `wall ${(c.resume.wall.median / 1000).toFixed(2)} s`,
      ratio: `${((100 * c.resume.wall.median) / c.release.wall.median).toFixed(0)}% of a full release`,
      target: '≤ 0.30 s + the docker commands',
      met: c.resume.fixed.median <= 300,
      note:
        `${c.resume.dockerCalls} docker commands (test shim) ${(c.resume.docker.median / 1000).toFixed(2)} s; ` +
        `the fixed part includes the trainer --help probe ${c.resume.probe.median.toFixed(0)} ms`,
    })
  }

  // On a real Docker engine (issue 21): the docker commands of each run replayed alone by a shell script
  rows.push(...engineRows(r.engine, why('engine')))

  // Trainer
  const runs = trainerRuns(r.trainer)
  const sk = r.trainer?.sklearn
  const targets: Record<string, { wall?: number; rss?: number; accuracy?: boolean; label: string }> = {
    '1600': { accuracy: true, label: 'held-out accuracy ≥ 0.919' },
    '10000': { wall: 10, label: '≤ 10 s' },
    '50000': { wall: 60, rss: 300, label: '≤ 60 s and ≤ 300 MiB' },
  }
  for (const [n, t] of Object.entries(targets)) {
    const what = `trainer, baseline backend, ${n === '1600' ? '1.6k rows (the example)' : `${Number(n) / 1000}k rows`}`
    const run = runs[n]
    if (!run) {
      rows.push(missing(what, t.label, r.trainer ? 'not measured (BENCH_QUICK=1 skips it)' : why('trainer')))
      continue
    }
    const met =
      (t.wall === undefined || run.wall_s <= t.wall) &&
      (t.rss === undefined || (run.peak_rss_mib !== undefined && run.peak_rss_mib <= t.rss)) &&
      (!t.accuracy || run.heldout_accuracy >= HELDOUT_ACCURACY_FLOOR)
    rows.push({
      what,
      modelship: `${run.wall_s.toFixed(2)} s`,
      peakRss: run.peak_rss_mib === undefined ? '—' : mib(run.peak_rss_mib),
      reference: n === '1600' && sk ? `sklearn ${sk.wall_s.toFixed(2)} s` : '—',
      ratio: n === '1600' && sk ? `${(run.wall_s / sk.wall_s).toFixed(1)}×` : '—',
      target: t.label,
      met,
      note: `held-out accuracy ${run.heldout_accuracy.toFixed(3)}`,
    })
  }
  if (!sk)
    rows.push(
      missing(
        'trainer, sklearn backend, the example',
        'held-out accuracy ≥ 0.919',
        r.trainer ? 'not measured (no interpreter with scikit-learn, or an older trainer_bench.py)' : why('trainer'),
      ),
    )
  else
    rows.push({
      what: 'trainer, sklearn backend, the example',
      modelship: `${sk.wall_s.toFixed(2)} s`,
      peakRss: sk.peak_rss_mib === undefined ? '—' : mib(sk.peak_rss_mib),
      reference: '—',
      ratio: '—',
      target: 'held-out accuracy ≥ 0.919',
      met: sk.heldout_accuracy >= HELDOUT_ACCURACY_FLOOR,
      note: `held-out accuracy ${sk.heldout_accuracy.toFixed(3)}`,
    })
  rows.push(swarmRow(r.swarm, why('swarm')))
  return rows
}

/** Markdown, as the issue's table. */
export function renderTable(rows: readonly Row[]): string {
  const cells = (r: Row): string[] => [
    r.what,
    r.modelship,
    r.peakRss,
    r.reference,
    r.ratio,
    r.target,
    r.met === undefined ? 'not measured' : r.met ? 'met' : 'NOT MET',
    r.note ?? '',
  ]
  const head = ['what', 'modelship (min / median / max)', 'peak RSS', 'reference', 'ratio', 'target', 'met', 'note']
  const line = (xs: string[]): string => `| ${xs.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map((r) => line(cells(r)))].join('\n')
}

function engineRows(e: EngineBenchResult | undefined, why: string): Row[] {
  const releaseWhat = 'real engine: overhead of a release (wall − trainer − the same docker commands alone)'
  const resumeWhat = 'real engine: release --resume after a failed build (wall − its docker commands alone)'
  if (!e) return [missing(releaseWhat, '≤ 0.25 s', why), missing(resumeWhat, '≤ 0.30 s + docker', why)]
  return [
    {
      what: releaseWhat,
      modelship: secs(e.release.overhead),
      peakRss: '',
      reference: `script ${(e.release.script.median / 1000).toFixed(2)} s`,
      ratio: `${((100 * e.release.overhead.median) / e.release.wall.median).toFixed(0)}% of the wall`,
      target: '≤ 0.25 s',
      met: e.release.overhead.median <= 250,
      note:
        `wall ${(e.release.wall.median / 1000).toFixed(2)} s, trainer ` +
        `${(e.release.trainer.median / 1000).toFixed(2)} s, ` +
        `${e.release.dockerCalls} docker commands (compose mode, test/fixtures/realapp, dockerd on vfs)`,
    },
    {
      what: resumeWhat,
      modelship: secs(e.resume.overhead),
      peakRss: '',
      reference: `script ${(e.resume.script.median / 1000).toFixed(2)} s`,
      ratio: `${((100 * e.resume.wall.median) / e.release.wall.median).toFixed(0)}% of a full release`,
      target: '≤ 0.30 s + the docker commands',
      met: e.resume.overhead.median <= 300,
      note: `wall ${(e.resume.wall.median / 1000).toFixed(2)} s, ${e.resume.dockerCalls} docker commands`,
    },
  ]
}
