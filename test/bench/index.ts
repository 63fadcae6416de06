// `npm run bench [-- cli push export trainer]`: each benchmark runs in its own process (the push benchmark
// hosts the test Hub server; every contender is a whole process of its own), one after the other so they
// do not compete for the CPU. Prints their logs, then ONE table with every row of issue 15 (figures,
// reference, ratio, target, met), and writes bench-results.json. BENCH_QUICK=1: small sizes, few rounds
// (a smoke run; its figures are not the issue's). Nothing here is asserted: tests never time anything.
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { REPO } from '../support/workspace.js'
import { nodeEnv } from './measure.js'
import { renderTable, tableRows, type BenchResults } from './table.js'

const QUICK = process.env.BENCH_QUICK === '1'
/** A benchmark that runs longer than this is stopped and its rows are reported as not measured. */
const CHILD_TIMEOUT_MS = 12 * 60_000
const BENCH = join(REPO, 'test', 'bench')
const tsx = (file: string, ...args: string[]): string[] => [
  process.execPath,
  '--import',
  'tsx',
  join(BENCH, file),
  ...args,
]

/** Runs a function exported by a bench module in a child and prints its result as `BENCH_JSON …`. */
function tsxCall(file: string, fn: string, arg: unknown): string[] {
  const script =
    `const m = await import(${JSON.stringify(pathToFileURL(join(BENCH, file)).href)});` +
    `const r = await m[${JSON.stringify(fn)}](${JSON.stringify(arg)});` +
    `console.log('BENCH_JSON ' + JSON.stringify(r))`
  return [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]
}

const BENCHES: Record<keyof BenchResults, { title: string; argv: string[] }> = {
  push: {
    title: 'push: modelship push vs bare uploadFiles, whole processes, test Hub server on loopback',
    argv: QUICK
      ? tsx('push-bench.ts', '64', '256', '--rounds', '1')
      : tsx('push-bench.ts', '512', '2048', '--rounds', '3'),
  },
  export: {
    title: 'export: rows from PostgreSQL, release --dry-run and the export alone vs psql \\copy, whole processes',
    argv: tsxCall(
      'export-bench.ts',
      'runExportBench',
      QUICK ? { rows: 100_000, rounds: 2 } : { rows: 1_000_000, rounds: 5 },
    ),
  },
  cli: {
    title: 'cli: --help, release --dry-run, a full release and --resume on the bundled example',
    argv: tsx('cli-bench.ts'),
  },
  swarm: {
    title: "swarm: a deploy on a real single-node swarm, modelship vs a script's stack deploy + inspect",
    argv: tsxCall('swarm-bench.ts', 'runSwarmBench', { rounds: QUICK ? 1 : 3 }),
  },
  engine: {
    title: 'engine: a release and --resume on a real Docker engine vs the same docker commands run by a shell script',
    argv: tsxCall('engine-bench.ts', 'runEngineBench', { quick: QUICK }),
  },
  trainer: {
    title: 'trainer: the bundled trainer, baseline backend by size, and sklearn',
    argv: ['python3', join(BENCH, 'trainer_bench.py'), ...(QUICK ? ['--quick'] : [])],
  },
}

/** Runs one benchmark, echoing its output; resolves with its result (the last JSON line it printed). */
function runBench(argv: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, env: nodeEnv(), stdio: ['ignore', 'pipe', 'inherit'] })
    const timer = setTimeout(() => child.kill('SIGTERM'), CHILD_TIMEOUT_MS)
    let last: string | undefined
    let pending = ''
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const json = line.startsWith('BENCH_JSON ')
          ? line.slice('BENCH_JSON '.length)
          : line.startsWith('{')
            ? line
            : undefined
        if (json) last = json
        else console.log(`  ${line}`)
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (pending.startsWith('{') || pending.startsWith('BENCH_JSON ')) last = pending.replace(/^BENCH_JSON /, '')
      if (code !== 0) return reject(new Error(signal ? `stopped by ${signal}` : `exited with ${code}`))
      if (!last) return reject(new Error('printed no result'))
      resolve(JSON.parse(last))
    })
  })
}

const wanted = new Set(process.argv.slice(2))
const unknown = [...wanted].filter((w) => !(w in BENCHES))
if (unknown.length) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')} (expected: ${Object.keys(BENCHES).join(', ')})`)
  process.exit(2)
}
const loads = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ')
const results: BenchResults = {}
const failures: Record<string, string> = {}
const load = { before: loadavg(), cpus: cpus().length }
const started = Date.now()
console.log(
  `bench${QUICK ? ' (BENCH_QUICK=1: small sizes, few rounds)' : ''}: ` +
    `load average ${loads(load.before)} on ${load.cpus} CPUs`,
)
for (const [name, bench] of Object.entries(BENCHES) as [keyof BenchResults, (typeof BENCHES)[keyof BenchResults]][]) {
  if (wanted.size > 0 && !wanted.has(name)) continue
  console.log(`== ${bench.title}`)
  // The previous benchmark's files (the push benchmark writes 2.5 GiB) are written back to disk first:
  // the kernel's writeback would otherwise land on this one, and on whichever contender flushes a file
  // (modelship's export flushes its dataset before the rename; psql \copy does not).
  spawnSync('sync', { stdio: 'ignore' })
  const t0 = Date.now()
  try {
    ;(results as Record<string, unknown>)[name] = await runBench(bench.argv)
  } catch (e) {
    failures[name] = `the ${name} benchmark failed: ${(e as Error).message}`
    console.log(`  ${failures[name]}`)
  }
  console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
}
const rows = tableRows(results, failures)
const after = loadavg()
console.log('')
console.log(renderTable(rows))
console.log('')
const seconds = (Date.now() - started) / 1000
console.log(
  `${rows.filter((r) => r.met).length} of ${rows.length} targets met; ${seconds.toFixed(0)} s; load average before ` +
    `${loads(load.before)}, after ${loads(after)} (${load.cpus} CPUs)`,
)
const out = join(REPO, 'bench-results.json')
const report = {
  date: new Date().toISOString(),
  quick: QUICK,
  seconds,
  load: { ...load, after },
  rows,
  results,
  failures,
}
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)
console.log(`wrote ${out}`)
