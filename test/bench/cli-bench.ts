/**
 * CLI benchmark, whole processes on a throwaway copy of the bundled example: `modelship --help` against
 * `node -e 0`, `release --dry-run`, a full release (fixed overhead: wall less the trainer's run and the
 * docker commands), and `release --resume` after a failed build (wall less the docker commands it runs).
 * Docker is the test shim (test/fixtures/bin/docker); python3 is whatever PATH finds, as for a user.
 *
 *   npx tsx test/bench/cli-bench.ts          (BENCH_QUICK=1: fewer rounds)
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseDocument } from 'yaml'
import { createDockerShim } from '../support/docker-shim.js'
import { CLI, REPO } from '../support/workspace.js'
import { alternate, measure, nodeEnv, spread, type Measured, type Spread } from './measure.js'
import { createTimedPath, type TimedCall } from './timed-path.js'

export interface CliBenchResult {
  /** `node -e 0`, ms. */
  node: Spread
  /** `modelship --help`, ms. */
  help: Spread
  helpPeakRssMiB: number
  /** median help / median node. */
  helpRatio: number
  /** `release --dry-run` (after one uncounted run in the same workspace), ms. */
  dryRun: Spread
  dryRunPeakRssMiB: number
  /** The trainer `--help` probe inside each dry run (through whatever `python3` PATH finds), ms. */
  dryRunProbe: Spread
  /** A full release of the example: wall, the trainer's run, the docker commands, and what is left (ms). */
  release: { wall: Spread; trainer: Spread; docker: Spread; fixed: Spread; probe: Spread; peakRssMiB: number }
  /** `release --resume` after a build that failed: wall, its docker commands, and what is left (ms). */
  resume: { wall: Spread; docker: Spread; fixed: Spread; probe: Spread; dockerCalls: number }
}

/** A throwaway copy of the bundled example (modelship.yaml, examples/, the trainer): the repo stays untouched. */
export function copyExample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-bench-'))
  cpSync(join(REPO, 'modelship.yaml'), join(dir, 'modelship.yaml'))
  cpSync(join(REPO, 'examples'), join(dir, 'examples'), { recursive: true })
  mkdirSync(join(dir, 'scripts'))
  cpSync(join(REPO, 'scripts', 'train_intent_classifier.py'), join(dir, 'scripts', 'train_intent_classifier.py'))
  // The trainer's package, once the trainer is split into one (scripts/intent_trainer/).
  const pkg = join(REPO, 'scripts', 'intent_trainer')
  if (existsSync(pkg)) cpSync(pkg, join(dir, 'scripts', 'intent_trainer'), { recursive: true })
  return dir
}

/**
 * The example's model_check asks the running container (`docker compose exec … /model`), which the docker test
 * double cannot answer: the benchmark measures modelship's own overhead, so its copy checks no model.
 */
function withoutModelCheck(ws: string): void {
  const path = join(ws, 'modelship.yaml')
  const doc = parseDocument(readFileSync(path, 'utf8'))
  for (const env of ['production', 'qa']) {
    if (doc.hasIn(['environments', env])) doc.setIn(['environments', env, 'model_check'], false)
  }
  writeFileSync(path, doc.toString())
}

const sum = (calls: TimedCall[], pick: (c: TimedCall) => boolean): number =>
  calls.filter(pick).reduce((t, c) => t + c.ms, 0)
const isTraining = (c: TimedCall): boolean => c.name === 'python3' && c.argv.includes('--output')
const isProbe = (c: TimedCall): boolean => c.name === 'python3' && c.argv.includes('--help')
const isDocker = (c: TimedCall): boolean => c.name === 'docker'

export async function runCliBench(
  opts: { quick?: boolean; log?: (line: string) => void } = {},
): Promise<CliBenchResult> {
  const quick = opts.quick ?? process.env.BENCH_QUICK === '1'
  const log = opts.log ?? ((line: string) => console.log(line))
  const rounds = quick ? { help: 7, dry: 3, release: 1, resume: 1 } : { help: 21, dry: 7, release: 3, resume: 3 }
  const shim = createDockerShim()
  const timed = createTimedPath(['python3', 'docker'], shim.env.PATH)
  const env = nodeEnv({ ...shim.env, ...timed.env, LANG: 'C.UTF-8', MODELSHIP_WORKSPACE: undefined })
  const cli = (ws: string, args: string[], allowFailure = false): Promise<Measured> =>
    measure([process.execPath, CLI, ...args], { cwd: ws, env, allowFailure })
  const cleanup: string[] = []
  const fresh = (): string => {
    const ws = copyExample()
    withoutModelCheck(ws)
    cleanup.push(ws)
    return ws
  }
  try {
    const ws = fresh()
    log(`cli: --help vs node -e 0, ${rounds.help} alternated rounds`)
    const startup = await alternate(rounds.help, {
      node: () => measure([process.execPath, '-e', '0'], { cwd: ws, env }),
      help: () => cli(ws, ['--help']),
    })

    log(`cli: release --dry-run, ${rounds.dry} rounds (after one uncounted run in the same workspace)`)
    await cli(ws, ['release', '--dry-run', '--yes'])
    const dry: Measured[] = []
    const probe: number[] = []
    for (let i = 0; i < rounds.dry; i++) {
      timed.reset()
      dry.push(await cli(ws, ['release', '--dry-run', '--yes']))
      probe.push(sum(timed.calls(), isProbe))
    }

    // Each release starts in a fresh workspace after one uncounted dry run there, as a user would run one
    // first. A dry run writes nothing, so the trainer's --help probe is not cached yet: it is timed apart.
    log(`cli: full release of the example, ${rounds.release} round(s), a fresh workspace each after a dry run`)
    const release = {
      wall: [] as number[],
      trainer: [] as number[],
      docker: [] as number[],
      fixed: [] as number[],
      probe: [] as number[],
    }
    let releasePeak = 0
    for (let i = 0; i < rounds.release; i++) {
      const rws = fresh()
      shim.setCues({})
      await cli(rws, ['release', '--dry-run', '--yes'])
      timed.reset()
      const r = await cli(rws, ['release', '--yes'])
      const calls = timed.calls()
      const trainer = sum(calls, isTraining)
      const docker = sum(calls, isDocker)
      release.wall.push(r.wallMs)
      release.trainer.push(trainer)
      release.docker.push(docker)
      release.fixed.push(r.wallMs - trainer - docker)
      release.probe.push(sum(calls, isProbe))
      releasePeak = Math.max(releasePeak, r.peakRssMiB)
      log(
        `  release: wall ${ms(r.wallMs)}, trainer ${ms(trainer)}, docker ${ms(docker)} ` +
          `→ fixed ${ms(release.fixed.at(-1)!)}`,
      )
    }

    log(`cli: release --resume after a failed build, ${rounds.resume} round(s)`)
    const resume = { wall: [] as number[], docker: [] as number[], fixed: [] as number[], probe: [] as number[] }
    let dockerCalls = 0
    for (let i = 0; i < rounds.resume; i++) {
      const rws = fresh()
      shim.setCues({ fail: [{ command: 'build' }] })
      const failed = await cli(rws, ['release', '--yes'], true)
      if (failed.code === 0) throw new Error('bench: the release was meant to fail at the build, but it passed')
      shim.setCues({})
      timed.reset()
      const r = await cli(rws, ['release', '--resume', '--yes'])
      const calls = timed.calls()
      const docker = sum(calls, isDocker)
      if (calls.some(isTraining)) throw new Error('bench: the resumed release trained again')
      dockerCalls = calls.filter(isDocker).length
      resume.wall.push(r.wallMs)
      resume.docker.push(docker)
      resume.fixed.push(r.wallMs - docker)
      resume.probe.push(sum(calls, isProbe))
      log(
        `  resume: wall ${ms(r.wallMs)}, ${dockerCalls} docker commands ${ms(docker)} ` +
          `→ fixed ${ms(resume.fixed.at(-1)!)}`,
      )
    }

    const node = spread(startup.node.map((m) => m.wallMs))
    const help = spread(startup.help.map((m) => m.wallMs))
    return {
      node,
      help,
      helpPeakRssMiB: Math.max(...startup.help.map((m) => m.peakRssMiB)),
      helpRatio: help.median / node.median,
      dryRun: spread(dry.map((m) => m.wallMs)),
      dryRunPeakRssMiB: Math.max(...dry.map((m) => m.peakRssMiB)),
      dryRunProbe: spread(probe),
      release: {
        wall: spread(release.wall),
        trainer: spread(release.trainer),
        docker: spread(release.docker),
        fixed: spread(release.fixed),
        probe: spread(release.probe),
        peakRssMiB: releasePeak,
      },
      resume: {
        wall: spread(resume.wall),
        docker: spread(resume.docker),
        fixed: spread(resume.fixed),
        probe: spread(resume.probe),
        dockerCalls,
      },
    }
  } finally {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true })
    timed.cleanup()
    shim.cleanup()
  }
}

const ms = (x: number): string => `${x.toFixed(0)} ms`

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCliBench().then(
    (r) => console.log(`BENCH_JSON ${JSON.stringify(r)}`),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    },
  )
}
