import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ReleaseOptions, StepName, StepOutputs } from './context.js'
import { ModelshipError } from './errors.js'
import { writeFileAtomic } from './fs-atomic.js'
import { redactDeep } from './redact.js'

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped'
export type RunStatus = 'running' | 'failed' | 'interrupted' | 'rejected' | 'done' | 'rolled_back' | 'rollback_failed'

export interface StepRecord {
  status: StepStatus
  inputs?: unknown
  inputsHash?: string
  outputs?: Partial<StepOutputs>
  startedAt?: string
  finishedAt?: string
  skipReason?: string
  error?: { code: string; message: string }
}

/** `.modelship/runs/<run-id>/state.json`: everything a resumed run needs, secret-free. */
export interface RunState {
  schema: 1
  runId: string
  env: string
  status: RunStatus
  createdAt: string
  updatedAt: string
  options: ReleaseOptions
  steps: Partial<Record<StepName, StepRecord>>
  error?: { code: string; message: string; step?: StepName }
}

// A rejected run resumes too: `release --resume --force` passes the no-regression gate without retraining.
export const UNFINISHED: ReadonlySet<RunStatus> = new Set(['running', 'failed', 'interrupted', 'rejected'])

export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${randomBytes(3).toString('hex')}`
}

/** Reads and writes run states under `<stateDir>/runs`; every write is atomic and redacted. */
export interface StateStore {
  runDir(runId: string): string
  load(runId: string): Promise<RunState>
  save(state: RunState): Promise<void>
  /** The newest run that did not finish (running, failed, interrupted or rejected), if any. */
  newestUnfinished(): Promise<RunState | undefined>
}

export function createStateStore(stateDir: string, redact: (s: string) => string, now: () => Date): StateStore {
  const runsDir = join(stateDir, 'runs')
  const runDir = (runId: string): string => join(runsDir, runId)
  const load = async (runId: string): Promise<RunState> => {
    if (!/^[\w.-]+$/.test(runId)) throw new ModelshipError('USAGE', `--resume: ${JSON.stringify(runId)} is not a run id`)
    let text: string
    try {
      text = await readFile(join(runDir(runId), 'state.json'), 'utf8')
    } catch {
      throw new ModelshipError('USAGE', `--resume: no run ${runId} in ${runsDir}`)
    }
    try {
      return JSON.parse(text) as RunState
    } catch (e) {
      throw new ModelshipError('BAD_INPUT', `${join(runDir(runId), 'state.json')}: not valid JSON (${(e as Error).message})`)
    }
  }
  return {
    runDir,
    load,
    async save(state) {
      state.updatedAt = now().toISOString()
      await mkdir(runDir(state.runId), { recursive: true })
      await writeFileAtomic(join(runDir(state.runId), 'state.json'), `${JSON.stringify(redactDeep(state, redact), null, 2)}\n`)
    },
    async newestUnfinished() {
      const ids = await readdir(runsDir).catch(() => [] as string[])
      for (const id of ids.sort().reverse()) {
        const state = await load(id).catch(() => undefined)
        if (state && UNFINISHED.has(state.status)) return state
      }
      return undefined
    },
  }
}
