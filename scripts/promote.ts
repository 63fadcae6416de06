import { isModelshipError, ModelshipError } from '../pipeline/engine/errors.js'
import { createStateStore } from '../pipeline/engine/state.js'
import { assertValidModelRef } from '../pipeline/registry/version.js'
import { currentModelOf, environmentOf } from '../pipeline/environment.js'
import { rollbackTargetOf } from '../pipeline/history/rollback-target.js'
import { tagOfModel } from '../pipeline/deploy/previous-tag.js'
import type { ReleaseOptions } from '../pipeline/release/context.js'
import { runRelease } from '../pipeline/release/run-release.js'
import { resolveModelRef } from '../pipeline/model/model-ref.js'
import type { ReleaseSummary } from '../pipeline/release/summary.js'
import { PROMOTE_STEPS } from '../tasks/index.js'
import { createPrompter, type Prompter } from './prompt.js'
import type { CommandContext } from './workspace.js'
import { openWorkspace } from './workspace.js'

interface PromoteFlags {
  workspace?: string
  env?: string
  /**
   * true: --deploy (a missing engine is then an error); false: --no-deploy; undefined: redeploy where the mode does.
   */
  deploy?: boolean
  json?: boolean
  dryRun?: boolean
  yes?: boolean
  ci?: boolean
}

export interface PromoteIo {
  prompter?: Prompter
}

const shortRef = (ws: CommandContext, ref: string): string =>
  resolveModelRef(ref, {
    org: ws.config.model.org,
    prefix: ws.config.model.prefix,
    baseAliases: ws.config.model.base_aliases,
  })

/**
 * In a TTY (no --yes, no CI): runs the same steps as a dry run first, shows the diff and whether the
 * service is redeployed, and asks. False when the person says no.
 */
async function confirmChange(
  flags: PromoteFlags,
  io: PromoteIo,
  what: string,
  envName: string,
  options: ReleaseOptions,
  signal: AbortSignal,
): Promise<boolean> {
  if (flags.dryRun) return true
  const prompter = io.prompter ?? createPrompter({ yes: flags.yes === true || flags.ci === true })
  if (!prompter.interactive) return true
  const preview = await openWorkspace({ workspaceFlag: flags.workspace, json: true, dryRun: true })
  const s: ReleaseSummary = await pointEnvironment(preview, envName, options, true, signal)
  const redeploys = !options.noDeploy && s.notDeployedReason === undefined
  const facts = [
    `${what} ${envName}: ${s.previousModel ?? '?'} → ${s.modelId ?? '?'}`,
    ...(s.diff
      ? s.diff
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`)
      : ['  the files already name it']),
    redeploys
      ? `  then: rebuild, redeploy and verify ${preview.config.deploy.service}`
      : `  files only: nothing is redeployed${s.notDeployedReason ? ` (${s.notDeployedReason})` : ''}`,
  ]
  return prompter.confirm(
    facts.map(preview.deps.redact),
    `${what} ${envName} to ${s.modelId ?? '?'}${redeploys ? ' and redeploy' : ''}?`,
  )
}

/**
 * Image and swarm mode: the tag `model` was published under in this environment's history. The hosts pull it
 * (swarm: the stack is deployed with it) and nothing is built; without one, the run builds and publishes it.
 */
async function recordedImageTag(ws: CommandContext, envName: string, model: string): Promise<{ imageTag?: string }> {
  if (ws.config.deploy.mode !== 'image' && ws.config.deploy.mode !== 'swarm') return {}
  const tag = tagOfModel(await ws.deps.history.read(), envName, model)
  return tag ? { imageTag: tag } : {}
}

/** promote and rollback run the promote step table through the engine: a run directory, state and one history line. */
async function pointEnvironment(
  ws: CommandContext,
  envName: string,
  options: ReleaseOptions,
  dryRun: boolean,
  signal: AbortSignal,
  resume?: string | true,
) {
  const kind = options.action ?? 'promote'
  try {
    return await runRelease(
      PROMOTE_STEPS,
      ws.deps,
      {
        envName,
        dryRun,
        options,
        kind,
        renderer: 'silent',
        signal,
        command: `${kind} ${options.target ?? ''}`.trim(),
        ...(resume === undefined ? {} : { resume }),
        // A refused promote (an unknown model) is a recorded attempt in history, but no run: its directory
        // goes (issue 23). A malformed id is refused before the run starts (below), leaving nothing behind.
        auditRefused: true,
      },
      ['target'],
    )
  } catch (e) {
    throw await withResumeHint(ws, kind, envName, options, e)
  }
}

/**
 * A failed promote or rollback is not resumed by `release --resume` (that takes release runs only): the
 * hint names the command that continues this one — `rollback --resume <run>`, or the same promote again
 * (it only points the environment at a model, so running it again is how it continues).
 */
async function withResumeHint(
  ws: CommandContext,
  kind: string,
  envName: string,
  options: ReleaseOptions,
  e: unknown,
): Promise<unknown> {
  if (!isModelshipError(e) || !e.hint?.includes('modelship release --resume')) return e
  let command = `modelship promote ${options.target ?? '<model-id>'} --env ${envName}`
  if (kind === 'rollback') {
    const run = await createStateStore(ws.deps.stateDir, ws.deps.redact, () => new Date()).newestUnfinished('rollback')
    command = `modelship rollback --resume${run ? ` ${run.runId}` : ''}`
  }
  const hint = e.hint.replace(/`modelship release --resume[^`]*`/, `\`${command}\``)
  return new ModelshipError(e.code, e.message, { hint, cause: e, ...(e.details ? { details: e.details } : {}) })
}

/** promote's and rollback's deploy options, alike: redeploy by default, --no-deploy only edits, --deploy insists. */
function deployOptions(flags: PromoteFlags): Pick<ReleaseOptions, 'noDeploy' | 'deploy'> {
  return { noDeploy: flags.deploy === false, ...(flags.deploy === true ? { deploy: true } : {}) }
}

/** The workspace and the environment `promote` and `rollback` act on (an unknown one is a usage error). */
async function openForEnvironment(flags: PromoteFlags): Promise<{ ws: CommandContext; envName: string }> {
  const ws = await openWorkspace({
    workspaceFlag: flags.workspace,
    json: flags.json === true,
    dryRun: flags.dryRun === true,
    writes: true,
  })
  const envName = flags.env ?? 'production'
  environmentOf(ws.config, envName)
  return { ws, envName }
}

export async function promoteCommand(
  modelRef: string,
  flags: PromoteFlags,
  signal: AbortSignal,
  io: PromoteIo = {},
): Promise<number> {
  const { ws, envName } = await openForEnvironment(flags)
  const modelId = shortRef(ws, modelRef)
  // A malformed id is bad input: refused before the run starts, it leaves nothing behind (history included).
  assertValidModelRef(modelId, ws.config.model.base_aliases)
  const options: ReleaseOptions = {
    force: false,
    ...deployOptions(flags),
    action: 'promote',
    target: modelId,
    ...(await recordedImageTag(ws, envName, modelId)),
  }
  if (!(await confirmChange(flags, io, 'Promote', envName, options, signal))) {
    ws.print('nothing changed')
    return 0
  }
  const s = await pointEnvironment(ws, envName, options, flags.dryRun === true, signal)
  if (s.diff) for (const line of s.diff.trimEnd().split('\n')) ws.print(line)
  const changed = s.diff ? '' : ' (files already set)'
  ws.print(
    `${envName}: ${s.previousModel ?? '?'} → ` +
      `${s.modelId}${changed}${s.deployed ? ', redeployed' : ''}${s.dryRun ? ' (dry run: nothing changed)' : ''}`,
  )
  if (!s.deployed && !s.dryRun)
    ws.print(
      `not redeployed (${s.notDeployedReason ?? 'files only'}): run \`modelship promote ${modelId} --env ${envName} ` +
        `--deploy\` to run it`,
    )
  if (flags.json)
    ws.printJson({
      env: envName,
      from: s.previousModel ?? null,
      to: s.modelId,
      diff: s.diff ?? '',
      deployed: s.deployed,
      runId: s.runId,
      ...(s.plan ? { plan: s.plan } : {}),
    })
  return 0
}

export async function rollbackCommand(
  flags: PromoteFlags & { to?: string; resume?: string | boolean },
  signal: AbortSignal,
  io: PromoteIo = {},
): Promise<number> {
  if (flags.resume !== undefined && flags.resume !== false) return resumeRollback(flags, signal)
  const { ws, envName } = await openForEnvironment(flags)
  let target = flags.to === undefined ? undefined : shortRef(ws, flags.to)
  if (!target) {
    // "From" is what the files name, not what history last recorded: they differ after a `git checkout`.
    const filesModel = await currentModelOf(ws.config, envName, ws.deps.files)
    const { org, prefix, base_aliases: baseAliases } = ws.config.model
    target = rollbackTargetOf({
      entries: await ws.deps.history.read(),
      env: envName,
      filesModel,
      org,
      prefix,
      baseAliases,
    }).to
  }
  assertValidModelRef(target, ws.config.model.base_aliases)
  const options: ReleaseOptions = {
    force: false,
    ...deployOptions(flags),
    action: 'rollback',
    target,
    ...(flags.to === undefined ? { undo: true } : {}),
    ...(await recordedImageTag(ws, envName, target)),
  }
  if (!(await confirmChange(flags, io, 'Roll back', envName, options, signal))) {
    ws.print('nothing changed')
    return 0
  }
  const s = await pointEnvironment(ws, envName, options, flags.dryRun === true, signal)
  return reportRollback(ws, flags, envName, s)
}

/** `rollback --resume [RUN_ID]`: continues a failed or interrupted rollback run with its own target and options. */
async function resumeRollback(flags: PromoteFlags & { to?: string; resume?: string | boolean }, signal: AbortSignal) {
  if (flags.to !== undefined)
    throw new ModelshipError('USAGE', '--resume continues a rollback with its own target: drop --to')
  const ws = await openWorkspace({
    workspaceFlag: flags.workspace,
    json: flags.json === true,
    dryRun: flags.dryRun === true,
  })
  const resume = flags.resume === true ? true : String(flags.resume)
  const store = createStateStore(ws.deps.stateDir, ws.deps.redact, () => new Date())
  const run = resume === true ? await store.newestUnfinished('rollback') : await store.load(resume)
  if (run && (run.kind ?? 'release') !== 'rollback')
    throw new ModelshipError('USAGE', `--resume: run ${run.runId} is a ${run.kind ?? 'release'} run, not a rollback`)
  const envName = flags.env ?? run?.env ?? 'production'
  environmentOf(ws.config, envName)
  const options: ReleaseOptions = { force: false, ...deployOptions(flags), action: 'rollback' }
  const s = await pointEnvironment(ws, envName, options, flags.dryRun === true, signal, resume)
  return reportRollback(ws, flags, envName, s)
}

function reportRollback(ws: CommandContext, flags: PromoteFlags, envName: string, s: ReleaseSummary): number {
  if (s.diff) for (const line of s.diff.trimEnd().split('\n')) ws.print(line)
  ws.print(
    `rolled back ${envName}: ${s.previousModel ?? '?'} → ` +
      `${s.modelId}${s.deployed ? ', redeployed' : ''}${s.dryRun ? ' (dry run: nothing changed)' : ''}`,
  )
  if (flags.json)
    ws.printJson({
      env: envName,
      from: s.previousModel ?? null,
      to: s.modelId,
      diff: s.diff ?? '',
      deployed: s.deployed,
      runId: s.runId,
    })
  return 0
}
