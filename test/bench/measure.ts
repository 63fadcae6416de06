/**
 * Whole-process measurements for the benchmarks: wall time from spawn to exit and the child's own peak
 * RSS (VmHWM from /proc/<pid>/status, polled while it runs: getrusage's maxrss would include what the
 * child inherited from this process at fork), plus min/median/max over alternated rounds.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface Measured {
  wallMs: number
  /** The largest VmHWM seen: exact for anything that runs longer than a few polls, a lower bound below. */
  peakRssMiB: number
  code: number | null
  stdout: string
  stderr: string
}

/** min / median / max of one contender's rounds. */
export interface Spread {
  min: number
  median: number
  max: number
  n: number
}

const POLL_MS = 4

function vmHwmKiB(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0 // exited between two polls
  }
}

/** Runs argv to exit; throws when it exits non-zero unless `allowFailure`. */
export function measure(
  argv: readonly string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; allowFailure?: boolean },
): Promise<Measured> {
  const started = process.hrtime.bigint()
  const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let peakKiB = 0
  const poll = (): void => {
    if (child.pid !== undefined) peakKiB = Math.max(peakKiB, vmHwmKiB(child.pid))
  }
  const timer = setInterval(poll, POLL_MS)
  setImmediate(poll)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  // 'exit' (not 'close'): the wall time ends when the process does, not when its grandchildren's pipes close.
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearInterval(timer)
      reject(e)
    })
    child.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6
      clearInterval(timer)
      const done = (): void => {
        if (code !== 0 && !o.allowFailure) {
          reject(new Error(`${argv.join(' ')} exited ${code}: ${(stderr || stdout).slice(-600)}`))
        } else resolve({ wallMs, peakRssMiB: peakKiB / 1024, code, stdout, stderr })
      }
      if (child.stdout.readableEnded && child.stderr.readableEnded) done()
      else child.on('close', done)
    })
  })
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
  return { min: s[0]!, median, max: s.at(-1)!, n: s.length }
}

/**
 * Runs every contender once per round, the order rotating each round, so that load on the machine (it is
 * shared) hits them alike. Returns each contender's measurements in round order.
 */
export async function alternate<K extends string, R>(
  rounds: number,
  contenders: Record<K, (round: number) => Promise<R>>,
): Promise<Record<K, R[]>> {
  const names = Object.keys(contenders) as K[]
  const out = Object.fromEntries(names.map((n) => [n, [] as R[]])) as Record<K, R[]>
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!
      out[name].push(await contenders[name](round))
    }
  }
  return out
}

/** The environment of a node contender: as ours, without NODE_EXTRA_CA_CERTS (node reads it at startup). */
export function nodeEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.NODE_EXTRA_CA_CERTS
  delete env.NODE_OPTIONS
  return env
}
