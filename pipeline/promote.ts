import { join } from 'node:path'
import { engineCommand } from './compose/docker.js'
import type { Deps } from './deps.js'
import { buildImage, deployService, rollBackAfter, verifyService } from './deploy-ops.js'
import { applyModelToEnvironment, currentModelOf, restoreEditedFiles } from './environment.js'
import { isModelshipError, messageOf, ModelshipError } from './errors.js'
import { historyOf, outcomeOf, whoami, type HistoryAction, type HistoryEntry, type HistoryOutcome } from './history.js'
import { acquireLock } from './lock.js'
import { assertValidModelRef } from './registry/version.js'
import { newRunId } from './state.js'

export interface PromoteRequest {
  envName: string
  modelId: string
  deploy: boolean
  action: Exclude<HistoryAction, 'release'>
  /** A plain rollback: recorded as undoing the latest change. */
  undo?: boolean
  command: string
  onLine?: (line: string) => void
}

export interface PromoteResult {
  env: string
  from: string | null
  to: string
  changedFiles: string[]
  diff: string
  deployed: boolean
}

/** Checks that the registry holds the model and that it is private; base aliases need no registry. */
export async function assertPromotable(deps: Deps, modelId: string): Promise<void> {
  const { config, registry } = deps
  assertValidModelRef(modelId, config.model.base_aliases)
  if (config.model.base_aliases.includes(modelId)) return
  const model = await registry.getModel(modelId)
  if (!model) throw new ModelshipError('BAD_INPUT', `${modelId} is not in ${registry.describe()}`, { hint: '`modelship list` shows the versions it holds' })
  if (!model.private) throw new ModelshipError('BAD_INPUT', `${modelId} is public in ${registry.describe()}: refusing to deploy a public fine-tuned model`)
}

/**
 * Points an environment at a model (promote / rollback): validate, lock, edit the files atomically,
 * optionally build → deploy → verify with the same failure policy as a release; always one history line.
 */
export async function promoteModel(deps: Deps, req: PromoteRequest): Promise<PromoteResult> {
  const { config, log } = deps
  // A malformed id is bad input: rejected before anything is written, history included.
  assertValidModelRef(req.modelId, config.model.base_aliases)
  const history = historyOf(deps)
  const runId = newRunId(deps.clock.now())
  const runDir = join(deps.stateDir, 'promotions', runId)
  const lock = await acquireLock(join(deps.stateDir, 'lock'), { runId, command: req.command, startedAt: deps.clock.now().toISOString() }, (m) => log.warn(m))
  const from = (await currentModelOf(config, req.envName, deps.files)) ?? null
  const entry = (outcome: HistoryOutcome, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
    at: deps.clock.now().toISOString(),
    action: req.action,
    env: req.envName,
    from,
    to: req.modelId,
    outcome,
    deployed: false,
    ...whoami(),
    runId,
    ...(req.undo ? { undo: true } : {}),
    ...extra,
  })
  let step = 'registry'
  try {
    await assertPromotable(deps, req.modelId)
    if (req.deploy) {
      step = 'preflight'
      try {
        await deps.sh.read(engineCommand())
      } catch (e) {
        throw new ModelshipError('CONFIG', `--deploy: no Docker engine answers (${messageOf(e)})`)
      }
    }
    step = 'compose'
    const edit = await applyModelToEnvironment({ config, envName: req.envName, modelId: req.modelId, files: deps.files, backupDir: join(runDir, 'backup') })
    if (edit.diff) for (const line of edit.diff.split('\n')) log.plan(line)
    const changedFiles = edit.files.filter((f) => f.changed).map((f) => f.path)
    if (req.deploy) {
      step = 'build'
      let built
      try {
        built = await buildImage(deps, { envName: req.envName, modelId: req.modelId, runDir, ...(req.onLine ? { onLine: req.onLine } : {}) })
      } catch (e) {
        await restoreEditedFiles({ workspace: config.workspace, edited: edit.files, files: deps.files })
        throw e
      }
      try {
        step = 'deploy'
        await deployService(deps, { envName: req.envName, ...(built.imageId ? { expectedImageId: built.imageId } : {}), onState: (s) => log.info(`${config.deploy.service}: ${s}`) })
        step = 'verify'
        await verifyService(deps, { modelId: req.modelId })
      } catch (e) {
        const previous = from ?? config.model.base_aliases[0]
        if (!previous) throw e
        throw await rollBackAfter(deps, e, { envName: req.envName, edited: edit.files, previousModel: previous, runDir })
      }
    }
    await history.append(entry('success', { deployed: req.deploy }))
    return { env: req.envName, from, to: req.modelId, changedFiles, diff: edit.diff, deployed: req.deploy }
  } catch (e) {
    const code = isModelshipError(e) ? e.code : 'STEP_FAILED'
    await history.append(entry(outcomeOf(code), { step, error: messageOf(e), deployed: code === 'ROLLED_BACK' || code === 'ROLLBACK_FAILED' }))
    throw e
  } finally {
    await lock.release()
  }
}
