import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeOwnFileSync } from '../fs-atomic.js'
import { redactDeep } from '../secrets/redact.js'
import { ModelshipError } from './errors.js'

/** The names in `dir`, none when it cannot be read. Synchronous, as the store's reads: see fs-atomic.ts. */
function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped'
export type RunStatus =
  | 'running'
  | 'failed'
  | 'interrupted'
  | 'rejected'
  | 'done'
  | 'rolled_back'
  | 'rollback_failed'
  | 'abandoned'
const RUN_STATUSES: readonly RunStatus[] = [
  'running',
  'failed',
  'interrupted',
  'rejected',
  'done',
  'rolled_back',
  'rollback_failed',
  'abandoned',
]
const STEP_STATUSES: readonly StepStatus[] = ['pending', 'running', 'done', 'failed', 'skipped']

export interface StepRecord {
  status: StepStatus
  inputs?: unknown
  inputsHash?: string
  outputs?: Record<string, unknown>
  startedAt?: string
  finishedAt?: string
  skipReason?: string
  error?: { code: string; message: string }
  /** A child process the step started (the trainer): a resumed run refuses to start while it lives. */
  childPid?: number
}

/** `.modelship/runs/<run-id>/state.json`: everything a resumed run needs, secret-free. */
export interface RunState {
  schema: 1
  runId: string
  /** Which step table the run belongs to (release, promote, rollback): a run resumes only as its own kind. */
  kind?: string
  env: string
  status: RunStatus
  createdAt: string
  updatedAt: string
  options: Record<string, unknown>
  steps: Partial<Record<string, StepRecord>>
  error?: { code: string; message: string; step?: string }
}

const STATUS_OF_CODE: Partial<Record<string, RunStatus>> = {
  GATE_REJECTED: 'rejected',
  ROLLED_BACK: 'rolled_back',
  ROLLBACK_FAILED: 'rollback_failed',
  INTERRUPTED: 'interrupted',
}

/** The run status a failure with this error code leaves. */
export function runStatusOf(code: string): RunStatus {
  return STATUS_OF_CODE[code] ?? 'failed'
}

// A rejected run resumes too: `release --resume --force` passes the no-regression gate without retraining.
export const UNFINISHED: ReadonlySet<RunStatus> = new Set(['running', 'failed', 'interrupted', 'rejected'])

export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${randomBytes(3).toString('hex')}`
}

/** Checks a parsed state.json; the first structural problem, or undefined. */
export function stateProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object'
  const s = value as Record<string, unknown>
  if (s.schema !== 1) return `unknown schema ${JSON.stringify(s.schema)} (expected 1)`
  for (const key of ['runId', 'env', 'createdAt', 'updatedAt'] as const) {
    if (typeof s[key] !== 'string' || s[key] === '') return `${key}: expected a string`
  }
  if (!RUN_STATUSES.includes(s.status as RunStatus)) return `status: ${JSON.stringify(s.status)} is not a run status`
  if (typeof s.options !== 'object' || s.options === null || Array.isArray(s.options))
    return 'options: expected an object'
  if (typeof s.steps !== 'object' || s.steps === null || Array.isArray(s.steps)) return 'steps: expected an object'
  for (const [name, rec] of Object.entries(s.steps as Record<string, unknown>)) {
    if (typeof rec !== 'object' || rec === null) return `steps.${name}: expected an object`
    const status = (rec as { status?: unknown }).status
    if (!STEP_STATUSES.includes(status as StepStatus))
      return `steps.${name}.status: ${JSON.stringify(status)} is not a step status`
    const outputs = (rec as { outputs?: unknown }).outputs
    if (outputs !== undefined && (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)))
      return `steps.${name}.outputs: expected an object`
  }
  return undefined
}

/** Reads and writes run states under `<stateDir>/runs`; every write is atomic and redacted. */
export interface StateStore {
  runDir(runId: string): string
  load(runId: string): Promise<RunState>
  save(state: RunState): Promise<void>
  /** Every run, newest first; a corrupt state.json is listed with its problem instead of failing the list. */
  list(): Promise<Array<{ runId: string; state?: RunState; problem?: string }>>
  /** The newest run that did not finish (running, failed, interrupted or rejected), if any. */
  newestUnfinished(kind?: string): Promise<RunState | undefined>
}

export function createStateStore(stateDir: string, redact: (s: string) => string, now: () => Date): StateStore {
  const runsDir = join(stateDir, 'runs')
  const runDir = (runId: string): string => join(runsDir, runId)
  const corrupt = (path: string, problem: string): ModelshipError =>
    new ModelshipError('BAD_INPUT', `${path}: corrupt run state: ${problem}`, {
      hint:
        '`modelship runs` lists runs and their state; `modelship runs abandon <id>` sets one aside and frees its ' +
        'version',
    })
  const load = async (runId: string): Promise<RunState> => {
    if (!/^[\w.-]+$/.test(runId)) throw new ModelshipError('USAGE', `${JSON.stringify(runId)} is not a run id`)
    const path = join(runDir(runId), 'state.json')
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw corrupt(path, 'is a directory')
      throw new ModelshipError('USAGE', `no run ${runId} in ${runsDir}`, { hint: '`modelship runs` lists the runs' })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      throw corrupt(path, text.trim() === '' ? 'empty file' : `not valid JSON (${(e as Error).message})`)
    }
    const problem = stateProblem(parsed)
    if (problem) throw corrupt(path, problem)
    return parsed as RunState
  }
  const list = async (): Promise<Array<{ runId: string; state?: RunState; problem?: string }>> => {
    const ids = readdirOrEmpty(runsDir).filter((id) => /^[\w.-]+$/.test(id))
    const out: Array<{ runId: string; state?: RunState; problem?: string }> = []
    for (const runId of ids.sort().reverse()) {
      try {
        out.push({ runId, state: await load(runId) })
      } catch (e) {
        out.push({ runId, problem: (e as Error).message })
      }
    }
    return out
  }
  const flushed = new Set<string>()
  return {
    runDir,
    load,
    list,
    async save(state) {
      state.updatedAt = now().toISOString()
      const path = join(runDir(state.runId), 'state.json')
      // Only a run's first state is flushed to disk before it is renamed into place. Later saves replace
      // it, and a replacing rename makes ext4 (its default auto_da_alloc) and btrfs write the new data
      // first: after a crash the file holds the old state or the new one, not a torn one. An old one only
      // reruns steps, which every step is made to survive (a SIGKILL before a save does the same).
      // A flush per save cost ~10 ms of a release's fixed overhead (14 saves).
      const first = !flushed.has(path)
      writeOwnFileSync(path, `${JSON.stringify(redactDeep(state, redact), null, 2)}\n`, { fsync: first })
      flushed.add(path)
    },
    async newestUnfinished(kind = 'release') {
      for (const run of await list()) {
        if (run.state && (run.state.kind ?? 'release') !== kind) continue
        // A corrupt newest run is an error here: skipping it would start the user on a second version.
        if (run.problem)
          throw new ModelshipError('BAD_INPUT', run.problem, {
            hint: '`modelship runs` lists runs; `modelship runs abandon <id>` sets one aside',
          })
        if (run.state && UNFINISHED.has(run.state.status)) return run.state
      }
      return undefined
    },
  }
}
