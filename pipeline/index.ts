import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2'
import { buildImageStep } from '../tasks/build-image.js'
import { deployServiceStep } from '../tasks/deploy-service.js'
import { exportFeedbackStep, exportInputs } from '../tasks/export-feedback.js'
import { gateMetrics } from '../tasks/gate-metrics.js'
import { nextVersionStep } from '../tasks/next-version.js'
import { preflight } from '../tasks/preflight.js'
import { pushModel } from '../tasks/push-model.js'
import { recordRelease, releaseEntry } from '../tasks/record-release.js'
import { modelDirOf, trainCommand } from '../tasks/train-model.js'
import { trainModel } from '../tasks/train-model.js'
import { updateCompose } from '../tasks/update-compose.js'
import { validateDatasetStep } from '../tasks/validate-dataset.js'
import { verifyServiceStep } from '../tasks/verify-service.js'
import { STEP_NAMES, type Ctx, type ReleaseOptions, type StepName, type StepOutputs } from './context.js'
import { deployPlan, rollBackAfter } from './deploy-ops.js'
import type { Deps } from './deps.js'
import { restoreEditedFiles } from './environment.js'
import { exitCodeOf, isModelshipError, messageOf, ModelshipError } from './errors.js'
import { hashJson } from './fs-atomic.js'
import { historyOf, outcomeOf, type History } from './history.js'
import { acquireLock, type Lock } from './lock.js'
import type { Command } from './ports.js'
import { formatCommand } from './shell.js'
import { createStateStore, newRunId, type RunState, type RunStatus } from './state.js'

type Policy = 'run' | 'skip'
/** What happens to the environment when this step fails. */
type OnFailure = 'nothing' | 'restore-files' | 'roll-back'

interface StepDef {
  name: StepName
  make: (deps: Deps, history: History) => ListrTask<Ctx>
  /** In dry-run: 'run' (its writes go through ports that only print them) or 'skip' (print its plan). */
  inDryRun: Policy
  /** The dry-run plan of a skipped step: the commands or actions it would run. */
  plan?: (ctx: Ctx, deps: Deps) => string[]
  /** What the step's result depends on; a completed step is reused on --resume only while these are unchanged. */
  inputs?: (ctx: Ctx, deps: Deps) => unknown
  /** The context keys the step produces (saved in state.json, restored on --resume). */
  outputs: ReadonlyArray<keyof StepOutputs>
  /** Checks rerun every time (never reused from an earlier attempt). */
  always?: boolean
  onFailure: OnFailure
}

/** The dry-run plan of build, deploy and verify: the commands those steps would run. */
const dockerPlan = (step: 'build' | 'deploy' | 'verify') => (ctx: Ctx, deps: Deps): string[] => {
  if (ctx.deployTarget?.enabled === false) return [`# ${step}: skipped (${ctx.deployTarget.reason})`]
  const [build, up, ps] = deployPlan(deps.config, ctx.envName, ctx.release?.modelId ?? '<next model>', deps.secrets.hfToken !== undefined)
  if (step === 'build') return [`! ${formatCommand(build)}`]
  if (step === 'deploy') return [`! ${formatCommand(up)}`, `$ ${formatCommand(ps)}  # until healthy, up to ${deps.config.deploy.health_timeout_s}s`]
  return [deps.config.deploy.verify, deps.config.deploy.model_check].filter((c): c is Command => c !== null).map((c) => `$ ${formatCommand(c)}`)
}

/** The release steps: order, dry-run policy, resume inputs and failure policy, in one table. */
export const STEPS: readonly StepDef[] = [
  { name: 'preflight', make: preflight, inDryRun: 'run', outputs: ['deployTarget', 'currentModel'], always: true, onFailure: 'nothing' },
  { name: 'export', make: exportFeedbackStep, inDryRun: 'run', inputs: (_ctx, deps) => exportInputs(deps), outputs: ['dataset'], onFailure: 'nothing' },
  { name: 'validate', make: validateDatasetStep, inDryRun: 'run', inputs: (ctx, deps) => ({ sha: ctx.dataset?.sha256, labels: deps.config.model.labels, min: deps.config.gates.min_per_label }), outputs: ['validation'], onFailure: 'nothing' },
  {
    name: 'train',
    make: trainModel,
    inDryRun: 'skip',
    plan: (ctx, deps) => [`! ${formatCommand(trainCommand(deps.config, ctx.dataset?.path ?? '<dataset.jsonl>', modelDirOf(ctx.runDir)))}`],
    inputs: (ctx, deps) => ({ dataset: ctx.dataset?.sha256, command: deps.config.trainer.command, args: deps.config.trainer.args }),
    outputs: ['model'],
    onFailure: 'nothing',
  },
  { name: 'gate', make: gateMetrics, inDryRun: 'skip', plan: () => ['# gate: needs the trained model\'s metrics'], inputs: (ctx, deps) => ({ metrics: ctx.model?.metrics, gates: deps.config.gates, current: ctx.currentModel, force: ctx.options.force }), outputs: ['gate'], onFailure: 'nothing' },
  { name: 'version', make: nextVersionStep, inDryRun: 'run', inputs: () => ({}), outputs: ['release'], onFailure: 'nothing' },
  {
    name: 'push',
    make: pushModel,
    inDryRun: 'skip',
    plan: (ctx, deps) => [`! push ${modelDirOf(ctx.runDir)} + README.md → ${ctx.release?.modelId ?? '<next model>'} (private) on ${deps.registry.describe()}`],
    inputs: (ctx) => ({ modelId: ctx.release?.modelId, metrics: ctx.model?.metrics, dataset: ctx.dataset?.sha256 }),
    outputs: ['pushed'],
    onFailure: 'nothing',
  },
  { name: 'compose', make: updateCompose, inDryRun: 'run', inputs: (ctx) => ({ modelId: ctx.release?.modelId }), outputs: ['composeEdit'], always: true, onFailure: 'nothing' },
  { name: 'build', make: buildImageStep, inDryRun: 'skip', plan: dockerPlan('build'), inputs: (ctx) => ({ modelId: ctx.release?.modelId }), outputs: ['image'], always: true, onFailure: 'restore-files' },
  { name: 'deploy', make: deployServiceStep, inDryRun: 'skip', plan: dockerPlan('deploy'), inputs: (ctx) => ({ image: ctx.image }), outputs: ['deployment'], always: true, onFailure: 'roll-back' },
  { name: 'verify', make: verifyServiceStep, inDryRun: 'skip', plan: dockerPlan('verify'), outputs: ['verification'], always: true, onFailure: 'roll-back' },
  { name: 'record', make: (deps, history) => recordRelease(history)(deps), inDryRun: 'skip', plan: () => ['! append the release to .modelship/history.jsonl'], outputs: [], always: true, onFailure: 'nothing' },
]

export interface ReleaseRequest {
  envName?: string
  dryRun: boolean
  /** `true`: the newest unfinished run; a string: that run id. */
  resume?: string | true
  from?: StepName
  options: ReleaseOptions
  renderer: 'default' | 'simple' | 'silent'
  /** Where the task list is drawn (stderr when stdout carries --json). */
  output?: NodeJS.WriteStream
  signal: AbortSignal
  command: string
}

export interface ReleaseSummary {
  runId: string
  env: string
  status: RunStatus
  dryRun: boolean
  modelId?: string
  previousModel?: string
  metrics?: { accuracy: number; f1_macro: number }
  datasetSha256?: string
  steps: Record<string, string>
  plan?: string[]
  diff?: string
  runDir?: string
}

const STATUS_OF: Partial<Record<string, RunStatus>> = { GATE_REJECTED: 'rejected', ROLLED_BACK: 'rolled_back', ROLLBACK_FAILED: 'rollback_failed', INTERRUPTED: 'interrupted' }

/**
 * Runs (or resumes) a release: takes the lock, restores the run state, runs the step table through
 * listr2, saves state after every step, applies the failure policy, writes history, releases the lock.
 */
export async function runRelease(deps: Deps, req: ReleaseRequest): Promise<ReleaseSummary> {
  const { config } = deps
  const history = historyOf(deps)
  const now = (): Date => deps.clock.now()
  if (req.from && !req.resume) throw new ModelshipError('USAGE', '--from goes with --resume')

  // Dry-run writes nothing in the workspace: its run directory and state live in a temp dir.
  const stateRoot = req.dryRun ? await mkdtemp(join(tmpdir(), 'modelship-dry-run-')) : deps.stateDir
  const store = createStateStore(stateRoot, deps.redact, now)
  let state: RunState
  let lock: Lock | undefined
  try {
    if (req.resume) {
      const realStore = createStateStore(deps.stateDir, deps.redact, now)
      const found = req.resume === true ? await realStore.newestUnfinished() : await realStore.load(req.resume)
      if (!found) throw new ModelshipError('USAGE', `--resume: no unfinished run in ${join(deps.stateDir, 'runs')}`, { hint: 'start a new run without --resume' })
      if (req.envName && req.envName !== found.env) throw new ModelshipError('USAGE', `--resume: run ${found.runId} is for ${found.env}, not ${req.envName}`)
      if (found.status === 'done') throw new ModelshipError('USAGE', `--resume: run ${found.runId} already finished`)
      state = found
      if (req.options.force) state.options.force = true
      if (req.options.noDeploy) state.options.noDeploy = true
    } else {
      const at = now()
      state = { schema: 1, runId: newRunId(at), env: req.envName ?? 'production', status: 'running', createdAt: at.toISOString(), updatedAt: at.toISOString(), options: req.options, steps: {} }
    }
    if (!req.dryRun) {
      lock = await acquireLock(join(deps.stateDir, 'lock'), { runId: state.runId, command: req.command, startedAt: now().toISOString() }, (m) => deps.log.warn(m))
    }
  } catch (e) {
    if (req.dryRun) await rm(stateRoot, { recursive: true, force: true })
    throw e
  }

  const ctx: Ctx = {
    config,
    dryRun: req.dryRun,
    runId: state.runId,
    runDir: (req.dryRun ? store : createStateStore(deps.stateDir, deps.redact, now)).runDir(state.runId),
    envName: state.env,
    options: state.options,
    plan: [],
    startedAt: state.createdAt,
    signal: req.signal,
  }
  const fromIndex = req.from ? STEP_NAMES.indexOf(req.from) : STEP_NAMES.length
  // Outputs recorded by completed steps come back first; a step that reruns overwrites its own.
  for (const name of STEP_NAMES) {
    const rec = state.steps[name]
    if (rec?.status === 'done' && rec.outputs) Object.assign(ctx, rec.outputs)
  }
  state.status = 'running'
  delete state.error
  const save = (): Promise<void> => store.save(state)
  await save()
  const planLog = (line: string): void => {
    ctx.plan.push(line)
    deps.log.plan(line)
  }

  const tasks: ListrTask<Ctx>[] = STEPS.map((def, index) => {
    const step = def.make(deps, history)
    return {
      title: step.title,
      ...(step.rendererOptions ? { rendererOptions: step.rendererOptions } : {}),
      task: async (c, task) => {
        if (req.signal.aborted) throw new ModelshipError('INTERRUPTED', 'interrupted')
        const rec = state.steps[def.name]
        if (req.dryRun && def.inDryRun === 'skip') {
          for (const line of def.plan?.(c, deps) ?? []) planLog(line)
          state.steps[def.name] = { status: 'skipped', skipReason: 'dry-run' }
          task.skip(`[dry-run] not executed: ${step.title}`)
          return
        }
        const ownSkip = typeof step.skip === 'function' ? await step.skip(c) : step.skip
        if (ownSkip) {
          state.steps[def.name] = { status: 'skipped', skipReason: typeof ownSkip === 'string' ? ownSkip : 'not applicable' }
          await save()
          task.skip(typeof ownSkip === 'string' ? `${String(step.title)}: ${ownSkip}` : String(step.title))
          return
        }
        const inputs = def.inputs ? await def.inputs(c, deps) : undefined
        const inputsHash = inputs === undefined ? undefined : hashJson(inputs)
        if (!def.always && index < fromIndex && rec?.status === 'done' && rec.inputsHash === inputsHash) {
          task.skip(`${step.title}: done earlier in run ${state.runId}, inputs unchanged`)
          return
        }
        state.steps[def.name] = { status: 'running', startedAt: now().toISOString(), ...(inputs !== undefined ? { inputs, inputsHash } : {}) }
        await save()
        await (step.task as (c: Ctx, t: typeof task) => Promise<void>)(c, task)
        const outputs: Partial<StepOutputs> = {}
        for (const key of def.outputs) if (c[key] !== undefined) Object.assign(outputs, { [key]: c[key] })
        state.steps[def.name] = { ...state.steps[def.name]!, status: 'done', finishedAt: now().toISOString(), outputs }
        await save()
      },
    }
  })

  const listr = new Listr<Ctx>(tasks, {
    ctx,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: req.renderer === 'silent' ? 'silent' : req.renderer === 'simple' ? 'simple' : 'default',
    fallbackRenderer: 'simple',
    rendererOptions: { collapseSubtasks: false, ...(req.output ? { logger: new ListrLogger({ processOutput: new ProcessOutput(req.output, req.output) }) } : {}) },
    fallbackRendererOptions: req.output ? { logger: new ListrLogger({ processOutput: new ProcessOutput(req.output, req.output) }) } : {},
  } as ConstructorParameters<typeof Listr<Ctx>>[1])

  let failure: unknown
  try {
    await listr.run()
  } catch (e) {
    failure = req.signal.aborted && !(isModelshipError(e) && e.code !== 'STEP_FAILED') ? new ModelshipError('INTERRUPTED', `interrupted during ${currentStep(state) ?? 'the run'}`) : e
  }

  try {
    if (failure === undefined) {
      state.status = 'done'
      await save()
      return summarize(ctx, state, req.dryRun)
    }
    const failedStep = currentStep(state)
    const failedDef = STEPS.find((s) => s.name === failedStep)
    let final: unknown = failure
    if (!req.dryRun && failedDef && !(isModelshipError(failure) && failure.code === 'INTERRUPTED')) {
      final = await applyFailurePolicy(deps, ctx, state, failedDef.onFailure, failure)
    }
    const code = isModelshipError(final) ? final.code : 'STEP_FAILED'
    const rec = failedStep ? state.steps[failedStep] : undefined
    if (rec) {
      rec.status = 'failed'
      rec.error = { code, message: deps.redact(messageOf(final)) }
    }
    state.status = STATUS_OF[code] ?? 'failed'
    state.error = { code, message: deps.redact(messageOf(final)), ...(failedStep ? { step: failedStep } : {}) }
    const beforeLongWork = failedStep === undefined || STEP_NAMES.indexOf(failedStep) <= STEP_NAMES.indexOf('validate')
    if (!req.resume && !req.dryRun && exitCodeOf(final) === 2 && beforeLongWork) {
      // Bad input changes no file: a new run that stops on it before training leaves neither run state
      // nor history behind. Later (a public repo found at push), the state is kept for --resume.
      await rm(ctx.runDir, { recursive: true, force: true })
      throw final
    }
    await save()
    if (!req.dryRun) {
      await history.append(releaseEntry(ctx, now(), outcomeOf(code), { ...(failedStep ? { step: failedStep } : {}), error: messageOf(final) }))
    }
    throw final
  } finally {
    await lock?.release()
    if (req.dryRun) await rm(stateRoot, { recursive: true, force: true })
  }
}

function currentStep(state: RunState): StepName | undefined {
  return STEP_NAMES.find((n) => state.steps[n]?.status === 'running')
}

/** build failed: nothing running changed, put the files back. deploy/verify failed: roll back to the previous model. */
async function applyFailurePolicy(deps: Deps, ctx: Ctx, state: RunState, policy: OnFailure, failure: unknown): Promise<unknown> {
  const edit = ctx.composeEdit
  if (policy === 'nothing' || !edit) return failure
  if (policy === 'restore-files') {
    try {
      const restored = await restoreEditedFiles({ workspace: deps.config.workspace, edited: edit.files, files: deps.files })
      if (restored.length) deps.log.warn(`build failed: restored ${restored.join(', ')} to their bytes from before the run`)
      // --resume re-applies the edit, then builds again.
      delete state.steps.compose
    } catch (e) {
      deps.log.warn(messageOf(e))
    }
    return failure
  }
  try {
    return await rollBackAfter(deps, failure, { envName: ctx.envName, edited: edit.files, previousModel: edit.previousModel, runDir: ctx.runDir })
  } catch (e) {
    return e
  }
}

function summarize(ctx: Ctx, state: RunState, dryRun: boolean): ReleaseSummary {
  return {
    runId: ctx.runId,
    env: ctx.envName,
    status: state.status,
    dryRun,
    ...(ctx.release ? { modelId: ctx.release.modelId } : {}),
    ...(ctx.composeEdit ? { previousModel: ctx.composeEdit.previousModel, diff: ctx.composeEdit.diff } : ctx.currentModel ? { previousModel: ctx.currentModel } : {}),
    ...(ctx.model ? { metrics: { accuracy: ctx.model.metrics.accuracy, f1_macro: ctx.model.metrics.f1_macro } } : {}),
    ...(ctx.dataset ? { datasetSha256: ctx.dataset.sha256 } : {}),
    steps: Object.fromEntries(STEP_NAMES.map((n) => [n, state.steps[n]?.status ?? 'pending'])),
    ...(dryRun ? { plan: ctx.plan } : { runDir: ctx.runDir }),
  }
}

export { exitCodeOf }
