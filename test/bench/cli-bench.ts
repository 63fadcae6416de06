import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, REPO } from '../support/workspace.js'

export interface CliBenchResult {
  nodeStartupMs: number
  helpMs: number
  dryRunMs: number
  releaseMs: number
}

/** A throwaway copy of the bundled example (root modelship.yaml + examples/ + the trainer), so the repo is untouched. */
export function copyExample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-bench-'))
  cpSync(join(REPO, 'modelship.yaml'), join(dir, 'modelship.yaml'))
  cpSync(join(REPO, 'examples'), join(dir, 'examples'), { recursive: true })
  mkdirSync(join(dir, 'scripts'))
  cpSync(join(REPO, 'scripts', 'train_intent_classifier.py'), join(dir, 'scripts', 'train_intent_classifier.py'))
  return dir
}

function timeMs(args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint()
  const r = spawnSync(args[0]!, args.slice(1), { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-500)}`)
  return ms
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Wall times of `modelship --help`, `release --dry-run` and a full release of the bundled example, with node's own startup beside them. */
export function runCliBench(opts: { repeats?: number } = {}): CliBenchResult {
  const repeats = opts.repeats ?? 5
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' }
  const ws = copyExample()
  try {
    const node: number[] = []
    const help: number[] = []
    for (let i = 0; i < repeats; i++) {
      // Interleaved so that machine noise hits both alike.
      node.push(timeMs([process.execPath, '-e', ''], ws, env))
      help.push(timeMs([process.execPath, CLI, '--help'], ws, env))
    }
    const dry: number[] = []
    for (let i = 0; i < 3; i++) dry.push(timeMs([process.execPath, CLI, 'release', '--dry-run', '--yes'], ws, env))
    const release = timeMs([process.execPath, CLI, 'release', '--yes'], ws, env)
    return { nodeStartupMs: median(node), helpMs: median(help), dryRunMs: median(dry), releaseMs: release }
  } finally {
    rmSync(ws, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runCliBench()
  console.log(JSON.stringify(r))
}
