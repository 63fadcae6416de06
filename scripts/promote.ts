import { ModelshipError } from '../pipeline/engine/errors.js'
import { environmentOf } from '../pipeline/environment.js'
import { tagOfModel } from '../pipeline/deploy/previous-tag.js'
import { previousModelOf } from '../pipeline/history/audit-log.js'
import type { ReleaseOptions } from '../pipeline/release/context.js'
import { runRelease } from '../pipeline/release/run-release.js'
import { PROMOTE_STEPS } from '../tasks/index.js'
import type { CommandContext } from './workspace.js'
import { openWorkspace } from './workspace.js'

interface PromoteFlags {
  workspace?: string
  env?: string
  deploy?: boolean
  json?: boolean
  dryRun?: boolean
}

/**
 * Image mode: the tag `model` was published under in this environment's history. The hosts then pull it
 * and nothing is built; without one, the run builds and publishes it under `deploy.image_tag`.
 */
async function recordedImageTag(ws: CommandContext, envName: string, model: string): Promise<{ imageTag?: string }> {
  if (ws.config.deploy.mode !== 'image') return {}
  const tag = tagOfModel(await ws.deps.history.read(), envName, model)
  return tag ? { imageTag: tag } : {}
}

/** promote and rollback run the promote step table through the engine: a run directory, state and one history line. */
async function pointEnvironment(ws: CommandContext, envName: string, options: ReleaseOptions, dryRun: boolean, signal: AbortSignal) {
  return runRelease(
    PROMOTE_STEPS,
    ws.deps,
    {
      envName,
      dryRun,
      options,
      kind: options.action ?? 'promote',
      renderer: 'silent',
      signal,
      command: `${options.action ?? 'promote'} ${options.target ?? ''}`.trim(),
    },
    ['target'],
  )
}

export async function promoteCommand(modelId: string, flags: PromoteFlags, signal: AbortSignal): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true, dryRun: flags.dryRun === true })
  const envName = flags.env ?? 'production'
  environmentOf(ws.config, envName)
  const deploy = flags.deploy === true
  const options: ReleaseOptions = {
    force: false,
    noDeploy: !deploy,
    action: 'promote',
    target: modelId,
    ...(deploy ? { deploy: true } : {}),
    ...(await recordedImageTag(ws, envName, modelId)),
  }
  const s = await pointEnvironment(ws, envName, options, flags.dryRun === true, signal)
  if (s.diff) for (const line of s.diff.trimEnd().split('\n')) ws.print(line)
  const changed = s.diff ? '' : ' (files already set)'
  ws.print(`${envName}: ${s.previousModel ?? '?'} → ${s.modelId}${changed}${s.deployed ? ', redeployed' : ''}${s.dryRun ? ' (dry run: nothing changed)' : ''}`)
  if (!s.deployed && !s.dryRun) ws.print(`run \`modelship promote ${modelId} --env ${envName} --deploy\` (or docker compose build + up) to run it`)
  if (flags.json) ws.printJson({ env: envName, from: s.previousModel ?? null, to: s.modelId, diff: s.diff ?? '', deployed: s.deployed, runId: s.runId, ...(s.plan ? { plan: s.plan } : {}) })
  return 0
}

export async function rollbackCommand(flags: PromoteFlags & { to?: string }, signal: AbortSignal): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true, dryRun: flags.dryRun === true })
  const envName = flags.env ?? 'production'
  environmentOf(ws.config, envName)
  let target = flags.to
  if (!target) {
    const previous = previousModelOf(await ws.deps.history.read(), envName)
    if (!previous) throw new ModelshipError('USAGE', `rollback: the history of ${envName} has no earlier model to go back to`, { hint: 'name one with --to MODEL_ID' })
    target = previous.from
  }
  const options: ReleaseOptions = {
    force: false,
    noDeploy: flags.deploy === false,
    action: 'rollback',
    target,
    ...(flags.to === undefined ? { undo: true } : {}),
    ...(await recordedImageTag(ws, envName, target)),
  }
  const s = await pointEnvironment(ws, envName, options, flags.dryRun === true, signal)
  if (s.diff) for (const line of s.diff.trimEnd().split('\n')) ws.print(line)
  ws.print(`rolled back ${envName}: ${s.previousModel ?? '?'} → ${s.modelId}${s.deployed ? ', redeployed' : ''}${s.dryRun ? ' (dry run: nothing changed)' : ''}`)
  if (flags.json) ws.printJson({ env: envName, from: s.previousModel ?? null, to: s.modelId, diff: s.diff ?? '', deployed: s.deployed, runId: s.runId })
  return 0
}
