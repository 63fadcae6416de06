/**
 * modelship's overhead on a real Docker engine: a release (compose mode, the real-app-shaped test tree, the real
 * trainer) against a shell script that runs the same docker commands alone, alternated in one run. Overhead =
 * release wall − trainer − script wall. Then `release --resume` after a failed build (the COPY'd file missing):
 * resume wall − its docker commands run alone. The script polls `ps` back to back until healthy where the release
 * polled; every other command is replayed as recorded (`inspect` of a container the replay recreated may fail:
 * it still ran).
 *
 *   npx tsx test/bench/engine-bench.ts          (BENCH_QUICK=1: one round)
 */
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startEngine } from '../support/docker-engine.js'
import { importSlimPythonBase, SLIM_BASE_IMAGE_TAG } from '../support/engine-fleet.js'
import { CLI, FIXTURES, makeWorkspace } from '../support/workspace.js'
import { measure, nodeEnv, type Spread, spread } from './measure.js'

export interface EngineBenchResult {
  release: { wall: Spread; trainer: Spread; script: Spread; overhead: Spread; dockerCalls: number }
  resume: { wall: Spread; script: Spread; overhead: Spread; dockerCalls: number }
}

const FILES = ['docker-compose.yml', 'docker-compose.production.yml']

/** bash wrappers for docker and python3 logging `name start end` and the argv, shell-quoted (printf %q). */
function timedPath(): { env: Record<string, string>; calls(): Call[]; reset(): void; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-bench-engine-'))
  const log = join(dir, 'calls.log')
  const real = (name: string) =>
    (process.env.PATH ?? '')
      .split(':')
      .map((d) => join(d, name))
      .find((p) => {
        try {
          return readFileSync(p).length > 0
        } catch {
          return false
        }
      })
  for (const name of ['docker', 'python3']) {
    const target = real(name)
    if (!target) throw new Error(`bench: ${name} is not on PATH`)
    const wrapper = join(dir, name)
    writeFileSync(
      wrapper,
      `#!/bin/bash\ns=$EPOCHREALTIME\n${JSON.stringify(target)} "$@"\nrc=$?\ne=$EPOCHREALTIME\n` +
        `printf '%s %s %s' ${name} "$s" "$e" >> "$BENCH_ENGINE_LOG"; printf ' %q' "$@" >> "$BENCH_ENGINE_LOG"; ` +
        `echo >> "$BENCH_ENGINE_LOG"\nexit $rc\n`,
    )
    chmodSync(wrapper, 0o755)
  }
  return {
    dir,
    env: { PATH: `${dir}:${process.env.PATH ?? ''}`, BENCH_ENGINE_LOG: log },
    calls: () => {
      let text = ''
      try {
        text = readFileSync(log, 'utf8')
      } catch {}
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [name = '', s = '0', e = '0', ...argv] = line.split(' ')
          return { name, start: Number(s) * 1000, ms: (Number(e) - Number(s)) * 1000, args: argv.join(' ') }
        })
    },
    reset: () => rmSync(log, { force: true }),
  }
}

interface Call {
  name: string
  /** Epoch ms. */
  start: number
  ms: number
  args: string
}

/** The docker commands of a run as a bash script: a run of the same `ps` becomes one poll until healthy. */
function scriptOf(calls: readonly Call[], ws: string): string {
  const lines = [`set -u`, `cd ${JSON.stringify(ws)}`]
  let last = ''
  for (const c of calls.filter((c) => c.name === 'docker')) {
    const isPs = / ps --format json /.test(` ${c.args} `)
    if (isPs && c.args === last) continue
    last = c.args
    if (isPs) lines.push(`until docker ${c.args} | grep -Eq '"(Health|State)":"(healthy|running)"'; do :; done`)
    else lines.push(`docker ${c.args} > /dev/null 2>&1 || true`)
  }
  return `${lines.join('\n')}\n`
}

export async function runEngineBench(opts: { quick?: boolean; log?: (l: string) => void } = {}) {
  const quick = opts.quick ?? process.env.BENCH_QUICK === '1'
  const log = opts.log ?? ((l: string) => console.log(l))
  const rounds = quick ? 1 : 3
  const engine = await startEngine({ name: 'bench' })
  const timed = timedPath()
  const ws = makeWorkspace({
    app: join(FIXTURES, 'realapp'),
    config: {
      deploy: { mode: 'compose', health_timeout_s: 120, verify: null, model_check: null },
      environments: {
        production: { compose: FILES, env_file: ['.env.production'] },
        qa: { compose: FILES, env_file: ['.env.production'] },
      },
    },
  })
  try {
    await importSlimPythonBase(engine)
    writeFileSync(
      join(ws, '.env.production'),
      `POSTGRES_PASSWORD=bench\nMODELSHIP_EXAMPLE_BASE_IMAGE=${SLIM_BASE_IMAGE_TAG}\n`,
    )
    const env = nodeEnv({ ...engine.env, ...timed.env, LANG: 'C.UTF-8', CI: 'true', MODELSHIP_WORKSPACE: undefined })
    const cli = (args: string[], allowFailure = false) =>
      measure([process.execPath, CLI, ...args], { cwd: ws, env, allowFailure })
    const replay = async (calls: Call[], name: string) => {
      const file = join(timed.dir, `${name}.sh`)
      writeFileSync(file, scriptOf(calls, ws))
      return measure(['bash', file], { cwd: ws, env: nodeEnv({ ...engine.env, LANG: 'C.UTF-8' }) })
    }
    log('engine: one uncounted release (fills the build cache), then alternated release --force / script rounds')
    await cli(['release', '--yes'])
    const rel = { wall: [] as number[], trainer: [] as number[], script: [] as number[], overhead: [] as number[] }
    let releaseCalls = 0
    for (let i = 0; i < rounds; i++) {
      timed.reset()
      const r = await cli(['release', '--yes', '--force'])
      const calls = timed.calls()
      const trainer = calls
        .filter((c) => c.name === 'python3' && c.args.includes('--output'))
        .reduce((t, c) => t + c.ms, 0)
      releaseCalls = calls.filter((c) => c.name === 'docker').length
      const s = await replay(calls, `release-${i}`)
      if (process.env.BENCH_DEBUG)
        for (const c of calls) log(`    ${c.name} ${c.ms.toFixed(0)} ms ${c.args.slice(0, 150)}`)
      rel.wall.push(r.wallMs)
      rel.trainer.push(trainer)
      rel.script.push(s.wallMs)
      rel.overhead.push(r.wallMs - trainer - s.wallMs)
      log(
        `  release: wall ${r.wallMs.toFixed(0)} ms, trainer ${trainer.toFixed(0)} ms, ${releaseCalls} docker ` +
          `commands ` +
          `alone ${s.wallMs.toFixed(0)} ms → overhead ${rel.overhead.at(-1)!.toFixed(0)} ms`,
      )
    }
    log('engine: release --resume after a failed build (the Dockerfile COPYs a file that is missing)')
    const res = { wall: [] as number[], script: [] as number[], overhead: [] as number[] }
    let resumeCalls = 0
    for (let i = 0; i < rounds; i++) {
      renameSync(join(ws, 'server.py'), join(ws, 'server.py.aside'))
      const failed = await cli(['release', '--yes', '--force'], true)
      renameSync(join(ws, 'server.py.aside'), join(ws, 'server.py'))
      if (failed.code === 0) throw new Error('bench: the release was meant to fail at the build, but it passed')
      timed.reset()
      const r = await cli(['release', '--resume', '--yes'])
      const calls = timed.calls()
      if (calls.some((c) => c.name === 'python3' && c.args.includes('--output'))) {
        throw new Error('bench: the resumed release trained again')
      }
      resumeCalls = calls.filter((c) => c.name === 'docker').length
      const s = await replay(calls, `resume-${i}`)
      res.wall.push(r.wallMs)
      res.script.push(s.wallMs)
      res.overhead.push(r.wallMs - s.wallMs)
      log(
        `  resume: wall ${r.wallMs.toFixed(0)} ms, ${resumeCalls} docker commands alone ${s.wallMs.toFixed(0)} ms ` +
          `→ overhead ${res.overhead.at(-1)!.toFixed(0)} ms`,
      )
    }
    return {
      release: {
        wall: spread(rel.wall),
        trainer: spread(rel.trainer),
        script: spread(rel.script),
        overhead: spread(rel.overhead),
        dockerCalls: releaseCalls,
      },
      resume: {
        wall: spread(res.wall),
        script: spread(res.script),
        overhead: spread(res.overhead),
        dockerCalls: resumeCalls,
      },
    } satisfies EngineBenchResult
  } finally {
    rmSync(ws, { recursive: true, force: true })
    rmSync(timed.dir, { recursive: true, force: true })
    await engine.stop()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runEngineBench().then(
    (r) => console.log(`BENCH_JSON ${JSON.stringify(r)}`),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    },
  )
}
