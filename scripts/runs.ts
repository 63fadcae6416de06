import { join } from 'node:path'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { acquireLock } from '../pipeline/engine/lock.js'
import { createStateStore, UNFINISHED, type RunState } from '../pipeline/engine/state.js'
import { alignColumns } from './list.js'
import { sessionRedactor as redact, writeJson } from './session.js'
import { resolveWorkspace } from './workspace.js'

/** One line of `modelship runs`. */
export interface RunRow {
  runId: string
  kind: string | null
  env: string | null
  status: string
  /** The step running or failed, else the last one done. */
  step: string | null
  /** The model id the run reserved (release: the version step; promote/rollback: the target). */
  modelId: string | null
  /** Whether that model was pushed to the registry by this run. */
  pushed: boolean
  createdAt: string | null
  ageSeconds: number | null
  /** A corrupt state.json: what is wrong with it. */
  problem?: string
}

interface RunsFlags {
  workspace?: string
  json?: boolean
}

function reservedModelOf(state: RunState): string | null {
  for (const step of ['version', 'target']) {
    const release = state.steps[step]?.outputs?.release as { modelId?: unknown } | undefined
    if (typeof release?.modelId === 'string') return release.modelId
  }
  return null
}

function currentStepOf(state: RunState): string | null {
  const entries = Object.entries(state.steps)
  const active = entries.find(([, rec]) => rec?.status === 'running' || rec?.status === 'failed')
  if (active) return active[0]
  return entries.filter(([, rec]) => rec?.status === 'done').at(-1)?.[0] ?? null
}

export function rowOf(run: { runId: string; state?: RunState; problem?: string }, now: Date): RunRow {
  const s = run.state
  if (!s) {
    const problem = run.problem ?? 'unreadable'
    return {
      runId: run.runId,
      kind: null,
      env: null,
      status: 'corrupt',
      step: null,
      modelId: null,
      pushed: false,
      createdAt: null,
      ageSeconds: null,
      problem,
    }
  }
  return {
    runId: s.runId,
    kind: s.kind ?? 'release',
    env: s.env,
    status: s.status,
    step: currentStepOf(s),
    modelId: reservedModelOf(s),
    pushed: s.steps.push?.status === 'done',
    createdAt: s.createdAt,
    ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(s.createdAt)) / 1000)),
  }
}

export function formatAge(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-'
  if (seconds < 60) return `${seconds} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`
  return `${Math.floor(seconds / 86400)} d`
}

function printer(json: boolean): (line: string) => void {
  const out = json ? process.stderr : process.stdout
  return (line) => void out.write(`${redact(line)}\n`)
}

function stateDirOf(flags: RunsFlags): string {
  return join(resolveWorkspace(flags.workspace, process.env, process.cwd()), '.modelship')
}

/** `modelship runs`: every run, newest first, with status, step, reserved model and age. */
export async function runsCommand(flags: RunsFlags): Promise<number> {
  const store = createStateStore(stateDirOf(flags), redact, () => new Date())
  const now = new Date()
  const rows = (await store.list()).map((r) => rowOf(r, now))
  if (flags.json) {
    writeJson(rows)
    return 0
  }
  const print = printer(false)
  if (rows.length === 0) {
    print('no runs yet')
    return 0
  }
  const table = [['RUN', 'KIND', 'ENV', 'STATUS', 'STEP', 'MODEL', 'AGE']].concat(
    rows.map((r) => [
      r.runId,
      r.kind ?? '-',
      r.env ?? '-',
      r.problem ? `corrupt: ${r.problem}` : r.status,
      r.step ?? '-',
      r.modelId ? `${r.modelId}${r.pushed ? ' (pushed)' : ''}` : '-',
      formatAge(r.ageSeconds),
    ]),
  )
  for (const line of alignColumns(table)) print(line)
  return 0
}

/** `modelship runs abandon <id>`: marks an unfinished run abandoned (under the lock); deletes nothing. */
export async function abandonCommand(runId: string, flags: RunsFlags): Promise<number> {
  const stateDir = stateDirOf(flags)
  const store = createStateStore(stateDir, redact, () => new Date())
  const print = printer(flags.json === true)
  const lock = await acquireLock(
    join(stateDir, 'lock'),
    { runId, command: `runs abandon ${runId}`, startedAt: new Date().toISOString() },
    (m) => print(`warning: ${m}`),
  )
  let row: RunRow
  try {
    const state = await store.load(runId)
    if (!UNFINISHED.has(state.status)) {
      throw new ModelshipError('USAGE', `run ${runId} is ${state.status}: only an unfinished run can be abandoned`)
    }
    state.status = 'abandoned'
    await store.save(state)
    row = rowOf({ runId, state }, new Date())
  } finally {
    await lock.release()
  }
  print(`abandoned run ${runId}; \`release --resume\` will not pick it up`)
  if (row.modelId && row.kind === 'release') {
    print(
      row.pushed
        ? `its version ${row.modelId} was pushed and stays in the registry (nothing is deleted): the next release ` +
            `takes the number after it`
        : `its reserved version ${row.modelId} is released: it was never pushed, so the next release may take that ` +
            `number again`,
    )
  }
  if (flags.json) writeJson(row)
  return 0
}
