// `npm run bench [-- cli trainer push export]`: every benchmark prints its figures and the ratios
// measured side by side in this one run. Nothing here is asserted: tests never time anything.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { REPO } from '../support/workspace.js'
import { runCliBench } from './cli-bench.js'

const wanted = new Set(process.argv.slice(2))
const want = (name: string): boolean => wanted.size === 0 || wanted.has(name)
const results: Record<string, unknown> = {}

if (want('cli')) {
  console.log('== cli: modelship --help, release --dry-run and a full release of the bundled example')
  const r = runCliBench()
  results.cli = r
  console.log(`cli: node startup ${r.nodeStartupMs.toFixed(0)} ms · modelship --help ${r.helpMs.toFixed(0)} ms (${(r.helpMs / r.nodeStartupMs).toFixed(2)}× node startup)`)
  console.log(`cli: release --dry-run ${r.dryRunMs.toFixed(0)} ms · full example release ${(r.releaseMs / 1000).toFixed(2)} s (${(r.releaseMs / r.dryRunMs).toFixed(1)}× the dry run)`)
}

if (want('trainer')) {
  console.log('== trainer: baseline backend on examples/data, held-out evaluation, majority-class floor')
  const r = spawnSync('python3', [join(REPO, 'test', 'bench', 'trainer_bench.py')], { cwd: REPO, encoding: 'utf8' })
  process.stdout.write(r.stdout.split('\n').filter((l) => !l.startsWith('BENCH_JSON ')).join('\n'))
  const json = r.stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '))
  if (json) results.trainer = JSON.parse(json.slice('BENCH_JSON '.length))
  if (r.status !== 0) console.log(`trainer bench failed: ${r.stderr.slice(-400)}`)
}

if (want('push')) {
  console.log('== push: 512 MiB and 2 GiB model folders to the test hub on loopback, modelship push vs bare uploadFiles (whole processes)')
  const { runPushBench } = await import('./push-bench.js')
  results.push = await runPushBench()
}

if (want('export')) {
  console.log('== export: 1,000,000 rows from PostgreSQL, modelship export vs psql \\copy')
  const { runExportBench } = await import('./export-bench.js')
  results.export = await runExportBench()
}

console.log(`BENCH_JSON ${JSON.stringify(results)}`)
