import { currentModelOf, environmentOf } from '../pipeline/environment.js'
import { rollbackTargetOf } from '../pipeline/history/rollback-target.js'
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
  const options: ReleaseOptions = { force: false, noDeploy: !deploy, action: 'promote', target: modelId, ...(deploy ? { deploy: true } : {}) }
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
    // "From" is what the files name, not what history last recorded: they differ after a `git checkout`.
    const filesModel = await currentModelOf(ws.config, envName, ws.deps.files)
    const { org, prefix, base_aliases: baseAliases } = ws.config.model
    target = rollbackTargetOf({ entries: await ws.deps.history.read(), env: envName, filesModel, org, prefix, baseAliases }).to
  }
  const options: ReleaseOptions = { force: false, noDeploy: flags.deploy === false, action: 'rollback', target, ...(flags.to === undefined ? { undo: true } : {}) }
  const s = await pointEnvironment(ws, envName, options, flags.dryRun === true, signal)
  if (s.diff) for (const line of s.diff.trimEnd().split('\n')) ws.print(line)
  ws.print(`rolled back ${envName}: ${s.previousModel ?? '?'} → ${s.modelId}${s.deployed ? ', redeployed' : ''}${s.dryRun ? ' (dry run: nothing changed)' : ''}`)
  if (flags.json) ws.printJson({ env: envName, from: s.previousModel ?? null, to: s.modelId, diff: s.diff ?? '', deployed: s.deployed, runId: s.runId })
  return 0
}
