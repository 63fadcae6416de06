import { mkdtemp, rm, rmdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2'
import { hashJson } from '../fs-atomic.js'
import type { Clock, Log } from '../ports/types.js'
import type { Redactor } from '../secrets/redact.js'
import { exitCodeOf, isModelshipError, messageOf, ModelshipError } from './errors.js'
import { removeLeftovers } from './leftovers.js'
import { acquireLock, type Lock } from './lock.js'
import type { Plan } from './plan.js'
import { createStateStore, newRunId, runStatusOf, type RunState } from './state.js'
import type { EngineCtx, StepDef } from './step.js'

/** The ports the engine itself uses. */
export interface EngineDeps {
  readonly stateDir: string
  readonly redact: Redactor
  readonly clock: Clock
  readonly log: Log
  /** The one sink of dry-run: skipped steps add their plan here, write ports add what they did not do. */
  readonly plan: Plan
  /**
   * Test-only crash point (`before:<step>` or `after:<step>`): the process SIGKILLs itself there, after
   * the step's side effects and before its journal write, to prove every step is safe to replay.
   */
  readonly killPoint?: string
}

export interface FailureInfo {
  step?: string
  code: string
  message: string
}

export interface RunRequest<C extends EngineCtx> {
  envName?: string
  dryRun: boolean
  /** `true`: the newest unfinished run; a string: that run id. */
  resume?: string | true
  /** With resume: rerun this step and every later one. */
  from?: string
  options: Record<string, unknown>
  renderer: 'default' | 'simple' | 'silent'
  /** Where the task list is drawn (stderr when stdout carries --json). */
  output?: NodeJS.WriteStream
  signal: AbortSignal
  /** The command that holds the lock (shown to a second run). */
  command: string
  /** Which step table this is (stored in the state; a run resumes only as its own kind). Default `release`. */
  kind?: string
  /** The user's folders the steps write into (atomic temps live beside their targets): cleaned of leftovers. */
  userDirs?: readonly string[]
  /** The run's context, from its state (new or resumed). */
  makeCtx(state: RunState, runDir: string): C
  /** Journals a failed run (a history line); called once the failure is final. */
  onFailed?(ctx: C, info: FailureInfo): Promise<void>
  /**
   * Whether a failed new run leaves no trace (bad input found before long work): its run directory
   * is removed and nothing is journaled; `'journal'`: the run directory is removed, the history line stays
   * (a refused promote is an attempt worth auditing, not a run to list or resume).
   */
  discard?(info: FailureInfo & { exitCode: number }): boolean | 'journal'
}

export interface RunResult<C> {
  ctx: C
  state: RunState
  /** Why the run ended early (a step returned `{ stop }`); the later steps are skipped. */
  stopped?: string
}

/**
 * Runs (or resumes) a step table: takes the lock, restores the run state, runs the steps through
 * listr2, saves state as each step starts (with the steps done so far) and at the end, applies the failed step's
 * failure policy, releases the lock.
 * It knows nothing about what the steps do.
 */
export async function runSteps<C extends EngineCtx, D extends EngineDeps>(
  steps: ReadonlyArray<StepDef<C, D>>,
  deps: D,
  req: RunRequest<C>,
): Promise<RunResult<C>> {
  const names = steps.map((s) => s.name)
  const now = (): Date => deps.clock.now()
  if (req.from && !req.resume) throw new ModelshipError('USAGE', '--from goes with --resume')
  if (req.from && !names.includes(req.from))
    throw new ModelshipError('USAGE', `--from: ${JSON.stringify(req.from)} is not a step (${names.join(', ')})`)

  const realStore = createStateStore(deps.stateDir, deps.redact, now)
  // A refused run leaves no directory behind: remember whether the state directory existed before it.
  const hadStateDir = await stat(deps.stateDir).then(
    () => true,
    () => false,
  )
  let discarded = false
  let state: RunState
  if (req.resume) {
    const found =
      req.resume === true ? await realStore.newestUnfinished(req.kind ?? 'release') : await realStore.load(req.resume)
    if (!found)
      throw new ModelshipError('USAGE', `--resume: no unfinished run in ${join(deps.stateDir, 'runs')}`, {
        hint: 'start a new run without --resume',
      })
    if (req.envName && req.envName !== found.env)
      throw new ModelshipError('USAGE', `--resume: run ${found.runId} is for ${found.env}, not ${req.envName}`)
    if (found.status === 'done') throw new ModelshipError('USAGE', `--resume: run ${found.runId} already finished`)
    if (found.status === 'abandoned')
      throw new ModelshipError('USAGE', `--resume: run ${found.runId} was abandoned`, {
        hint: 'start a new run without --resume',
      })
    state = found
    for (const [k, v] of Object.entries(req.options)) if (v) state.options[k] = v
  } else {
    const at = now()
    state = {
      schema: 1,
      runId: newRunId(at),
      kind: req.kind ?? 'release',
      env: req.envName ?? 'production',
      status: 'running',
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      options: { ...req.options },
      steps: {},
    }
  }

  // Dry-run writes nothing in the workspace: its scratch run directory is a temp dir, shown as the real path.
  const realRunDir = realStore.runDir(state.runId)
  const runDir = req.dryRun ? await mkdtemp(join(tmpdir(), 'modelship-dry-run-')) : realRunDir
  if (req.dryRun && 'alias' in deps.plan)
    (deps.plan as Plan & { alias(a: string, b: string): void }).alias(runDir, realRunDir)
  let lock: Lock | undefined
  try {
    if (!req.dryRun)
      lock = await acquireLock(
        join(deps.stateDir, 'lock'),
        { runId: state.runId, command: req.command, startedAt: now().toISOString() },
        (m) => deps.log.warn(m),
      )
  } catch (e) {
    if (req.dryRun) await rm(runDir, { recursive: true, force: true })
    throw e
  }

  if (lock) {
    const removed = await removeLeftovers([deps.stateDir], req.userDirs ?? [])
    if (removed.length) deps.log.info(`removed ${removed.length} temp file(s) left by a killed run`)
    await journalKilledRuns(realStore, state.runId, names, req, deps)
  }

  const ctx = req.makeCtx(state, runDir)
  const fromIndex = req.from ? names.indexOf(req.from) : names.length
  // Outputs recorded by completed steps come back first; a step that reruns overwrites its own.
  for (const name of names) {
    const rec = state.steps[name]
    if (rec?.status === 'done' && rec.outputs) Object.assign(ctx, rec.outputs)
  }
  state.status = 'running'
  delete state.error
  const save = async (): Promise<void> => {
    if (!req.dryRun) await realStore.save(state)
  }

  let stopped: string | undefined
  const tasks: ListrTask<C>[] = steps.map((def, index) => ({
    title: def.title,
    ...(def.outputBar ? { rendererOptions: { outputBar: def.outputBar } } : {}),
    task: async (c, task) => {
      if (req.signal.aborted) throw new ModelshipError('INTERRUPTED', 'interrupted')
      const started = now().getTime()
      const took = (): string => formatDuration(now().getTime() - started)
      const rec = state.steps[def.name]
      if (stopped !== undefined) {
        state.steps[def.name] = { status: 'skipped', skipReason: stopped }
        task.skip(`${def.title}: ${stopped}`)
        return
      }
      if (req.dryRun && (typeof def.inDryRun === 'function' ? def.inDryRun(c, deps) : def.inDryRun) === 'skip') {
        for (const entry of def.plan?.(c, deps) ?? []) deps.plan.add(entry)
        state.steps[def.name] = { status: 'skipped', skipReason: 'dry-run' }
        task.skip(`[dry-run] ${def.title}: not executed`)
        return
      }
      const skipReason = def.skip ? await def.skip(c, deps) : false
      if (skipReason) {
        state.steps[def.name] = { status: 'skipped', skipReason }
        await save()
        task.skip(`${def.title}: ${skipReason}`)
        return
      }
      const inputs = def.inputs ? await def.inputs(c, deps) : undefined
      const inputsHash = inputs === undefined ? undefined : hashJson(inputs)
      if (!def.always && index < fromIndex && rec?.status === 'done' && rec.inputsHash === inputsHash) {
        task.skip(`${def.title}: done earlier in run ${state.runId}, inputs unchanged`)
        return
      }
      state.steps[def.name] = {
        status: 'running',
        startedAt: now().toISOString(),
        ...(inputs !== undefined ? { inputs, inputsHash } : {}),
      }
      await save()
      if (deps.killPoint === `before:${def.name}`) process.kill(process.pid, 'SIGKILL')
      const result = await def.run(c, deps, task)
      if (deps.killPoint === `after:${def.name}`) process.kill(process.pid, 'SIGKILL')
      if (result?.stop) stopped = result.stop
      const outputs: Record<string, unknown> = {}
      for (const key of def.outputs) if (c[key] !== undefined) outputs[key] = c[key]
      // Written with the next step's start (or the run's end, or its failure), not on its own: one
      // state write per step instead of two. A kill in between reruns this step, as a kill before any
      // write after its side effect always did (steps are safe to replay); the gap is the next step's
      // skip/inputs check.
      state.steps[def.name] = { ...state.steps[def.name]!, status: 'done', finishedAt: now().toISOString(), outputs }
      task.title = `${task.title ?? def.title} (${took()})`
    },
  }))

  const logger = req.output
    ? { logger: new ListrLogger({ processOutput: new ProcessOutput(req.output, req.output) }) }
    : {}
  const listr = new Listr<C>(tasks, {
    ctx,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: req.renderer,
    fallbackRenderer: 'simple',
    rendererOptions: { collapseSubtasks: false, ...logger },
    fallbackRendererOptions: logger,
  } as ConstructorParameters<typeof Listr<C>>[1])

  let failure: unknown
  try {
    await listr.run()
  } catch (e) {
    failure =
      req.signal.aborted && !(isModelshipError(e) && e.code !== 'STEP_FAILED')
        ? new ModelshipError('INTERRUPTED', `interrupted during ${runningStep(state, names) ?? 'the run'}`)
        : e
  }

  try {
    if (failure === undefined) {
      state.status = 'done'
      await save()
      return { ctx, state, ...(stopped !== undefined ? { stopped } : {}) }
    }
    const failedStep = runningStep(state, names)
    const failedDef = steps.find((s) => s.name === failedStep)
    let final: unknown = failure
    if (!req.dryRun && failedDef?.onFailure && !(isModelshipError(failure) && failure.code === 'INTERRUPTED')) {
      try {
        final = await failedDef.onFailure(ctx, deps, failure)
      } catch (e) {
        final = e
      }
    }
    const code = isModelshipError(final) ? final.code : 'STEP_FAILED'
    const info: FailureInfo = {
      code,
      message: deps.redact(messageOf(final)),
      ...(failedStep ? { step: failedStep } : {}),
    }
    const rec = failedStep ? state.steps[failedStep] : undefined
    if (rec) {
      rec.status = 'failed'
      rec.error = { code, message: info.message }
    }
    state.status = runStatusOf(code)
    state.error = info
    const discard = !req.resume && !req.dryRun && req.discard?.({ ...info, exitCode: exitCodeOf(final) })
    if (discard) {
      // Bad input changes nothing: the run leaves no state behind (nor history, unless asked to journal it).
      await rm(runDir, { recursive: true, force: true })
      discarded = true
      if (discard === 'journal') await req.onFailed?.(ctx, info)
      throw final
    }
    await save()
    if (!req.dryRun) await req.onFailed?.(ctx, info)
    throw final
  } finally {
    await lock?.release()
    if (req.dryRun) await rm(runDir, { recursive: true, force: true })
    if (discarded && !hadStateDir) {
      // Only directories left empty; anything else in them stays.
      await rmdir(join(deps.stateDir, 'runs')).catch(() => {})
      await rmdir(deps.stateDir).catch(() => {})
    }
  }
}

/**
 * Runs left `running` by a process that was killed (SIGKILL, power loss): we hold the lock, so no live
 * run owns them. Each is marked interrupted and journaled once (the history line a kill never wrote).
 */
async function journalKilledRuns<C extends EngineCtx, D extends EngineDeps>(
  store: ReturnType<typeof createStateStore>,
  ownRunId: string,
  names: readonly string[],
  req: RunRequest<C>,
  deps: D,
): Promise<void> {
  for (const run of await store.list()) {
    const killed = run.state
    if (!killed || killed.runId === ownRunId || killed.status !== 'running') continue
    const step =
      runningStep(killed, Object.keys(killed.steps)) ?? names.find((n) => killed.steps[n]?.status === 'running')
    const message = 'the process running it was killed'
    killed.status = 'interrupted'
    killed.error = { code: 'INTERRUPTED', message, ...(step ? { step } : {}) }
    await store.save(killed)
    if ((killed.kind ?? 'release') !== (req.kind ?? 'release') && !req.onFailed) continue
    const ctx = req.makeCtx(killed, store.runDir(killed.runId))
    for (const rec of Object.values(killed.steps))
      if (rec?.status === 'done' && rec.outputs) Object.assign(ctx, rec.outputs)
    deps.log.warn(
      `run ${killed.runId} (${killed.kind ?? 'release'}) was killed${step ? ` during ${step}` : ''}: recorded as ` +
        `interrupted`,
    )
    await req.onFailed?.(ctx, { code: 'INTERRUPTED', message, ...(step ? { step } : {}) })
  }
}

function runningStep(state: RunState, names: readonly string[]): string | undefined {
  return names.find((n) => state.steps[n]?.status === 'running')
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}
