import { engineCommand } from '../pipeline/compose/docker.js'
import type { Deps } from '../pipeline/deps.js'
import { environmentOf } from '../pipeline/environment.js'
import { ModelshipError } from '../pipeline/errors.js'
import { historyOf, previousModelOf } from '../pipeline/history.js'
import { promoteModel } from '../pipeline/promote.js'
import { openWorkspace } from './workspace.js'

export async function promoteCommand(modelId: string, flags: { workspace?: string; env?: string; deploy?: boolean; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const envName = flags.env ?? 'production'
  environmentOf(ws.config, envName)
  const result = await promoteModel(ws.deps, { envName, modelId, deploy: flags.deploy === true, action: 'promote', command: `promote ${modelId}` })
  ws.print(`${envName}: ${result.from ?? '?'} → ${result.to}${result.changedFiles.length ? ` (${result.changedFiles.join(', ')})` : ' (files already set)'}${result.deployed ? ', redeployed' : ''}`)
  if (!result.deployed) ws.print(`run \`modelship promote ${modelId} --env ${envName} --deploy\` (or docker compose build + up) to run it`)
  if (flags.json) ws.printJson(result)
  return 0
}

/** Whether a rollback redeploys: not with --no-deploy or deploy.mode none; with auto, only when an engine answers. */
async function shouldDeploy(deps: Deps, noDeploy: boolean): Promise<boolean> {
  if (noDeploy || deps.config.deploy.mode === 'none') return false
  if (deps.config.deploy.mode === 'compose') return true
  try {
    await deps.sh.read(engineCommand())
    return true
  } catch {
    deps.log.warn('no Docker engine answers (deploy.mode: auto): the files are changed, nothing is redeployed')
    return false
  }
}

export async function rollbackCommand(flags: { workspace?: string; env?: string; to?: string; deploy?: boolean; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const envName = flags.env ?? 'production'
  environmentOf(ws.config, envName)
  let target = flags.to
  if (!target) {
    const entries = await historyOf(ws.deps).read()
    const previous = previousModelOf(entries, envName)
    if (!previous) throw new ModelshipError('USAGE', `rollback: the history of ${envName} has no earlier model to go back to`, { hint: 'name one with --to MODEL_ID' })
    target = previous.from
  }
  const deploy = await shouldDeploy(ws.deps, flags.deploy === false)
  const result = await promoteModel(ws.deps, { envName, modelId: target, deploy, action: 'rollback', undo: flags.to === undefined, command: `rollback ${target}` })
  ws.print(`rolled back ${envName}: ${result.from ?? '?'} → ${result.to}${result.deployed ? ', redeployed' : ''}`)
  if (flags.json) ws.printJson(result)
  return 0
}
