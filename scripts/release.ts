import { exitCodeOf, messageOf, ModelshipError } from '../pipeline/engine/errors.js'
import { PLAN_LEGEND } from '../pipeline/engine/plan.js'
import type { StepDef } from '../pipeline/engine/step.js'
import type { Deps } from '../pipeline/ports/deps.js'
import type { Ctx } from '../pipeline/release/context.js'
import { createStateStore, UNFINISHED, type RunState } from '../pipeline/engine/state.js'
import { formatDuration } from '../pipeline/engine/run-steps.js'
import { describeChanges } from '../pipeline/release/changes.js'
import { formatGateTable } from '../pipeline/model/gate-table.js'
import { runRelease } from '../pipeline/release/run-release.js'
import { markTokenSteps, registryWithoutToken, TOKEN_STEPS, tokenMark } from '../pipeline/release/token-missing.js'
import type { ReleaseSummary } from '../pipeline/release/summary.js'
import { isStepName, RELEASE_STEPS, STEP_NAMES, STEPS_BEFORE_LONG_WORK, type StepName } from '../tasks/index.js'
import { createPrompter, type Prompter } from './prompt.js'
import { releaseFacts } from './release-facts.js'
import { appendStepSummary, failureMarkdown, readRunState, releaseMarkdown } from './step-summary.js'
import { openWorkspace } from './workspace.js'

export interface ReleaseFlags {
  workspace?: string
  dryRun?: boolean
  resume?: string | boolean
  from?: string
  env?: string
  bump?: string
  deploy?: boolean
  force?: boolean
  yes?: boolean
  ci?: boolean
  json?: boolean
}

/** The hook the engine calls before a step runs (not when it is skipped or done earlier): the push step asks first. */
export type BeforeStep = (ctx: Ctx, deps: Deps) => Promise<void>

/** The step table with `hook` called at the start of step `name`'s run. */
export function withHookBefore(
  steps: ReadonlyArray<StepDef<Ctx, Deps>>,
  name: string,
  hook: BeforeStep,
): Array<StepDef<Ctx, Deps>> {
  return steps.map((step) =>
    step.name === name
      ? {
          ...step,
          run: async (ctx, deps, task) => {
            await hook(ctx, deps)
            return step.run(ctx, deps, task)
          },
        }
      : step,
  )
}

/** Asks before the push (the first write to the registry), with the facts; a "no" stops the run before it. */
export function confirmBeforePush(prompter: Prompter): BeforeStep {
  return async (ctx, deps) => {
    if (!prompter.interactive) return
    const facts = await releaseFacts(ctx, deps)
    if (
      !(await prompter.confirm(
        facts.map(deps.redact),
        `Push ${ctx.release?.modelId ?? 'the model'} and release it to ${ctx.envName}?`,
      ))
    ) {
      throw new ModelshipError(
        'INTERRUPTED',
        `declined before push: nothing was pushed, the files are unchanged (run ${ctx.runId})`,
        {
          hint:
            `\`modelship release --resume ${ctx.runId}\` asks again; \`modelship runs abandon ${ctx.runId}\` ` +
            `drops the run`,
        },
      )
    }
  }
}

export async function releaseCommand(
  flags: ReleaseFlags,
  signal: AbortSignal,
  io: { prompter?: Prompter } = {},
): Promise<number> {
  if (flags.bump !== undefined && flags.bump !== 'major' && flags.bump !== 'minor') {
    throw new ModelshipError('USAGE', `--bump: expected major or minor, got ${JSON.stringify(flags.bump)}`)
  }
  let from: StepName | undefined
  if (flags.from !== undefined) {
    if (!isStepName(flags.from))
      throw new ModelshipError(
        'USAGE',
        `--from: ${JSON.stringify(flags.from)} is not a step (${STEP_NAMES.join(', ')})`,
      )
    from = flags.from
  }
  const ws = await openWorkspace({
    workspaceFlag: flags.workspace,
    json: flags.json === true,
    dryRun: flags.dryRun === true,
    writes: true,
  })
  const envName = flags.env
  if (envName !== undefined && !ws.config.environments[envName]) {
    throw new ModelshipError(
      'USAGE',
      `--env ${envName}: no such environment (known: ${Object.keys(ws.config.environments).join(', ')})`,
    )
  }
  // Shown before any question: starting over beside an unfinished run orphans its version.
  if (flags.resume === undefined || flags.resume === false) {
    for (const line of await unfinishedRunWarnings(ws.deps.stateDir, envName ?? 'production', ws.deps.redact))
      ws.print(line)
  }
  const noDeploy = flags.deploy === false
  const prompter =
    io.prompter ??
    createPrompter({ yes: flags.yes === true || flags.ci === true || flags.dryRun === true, env: ws.env })
  // A dry run without the Hub token shows the whole plan, marks the steps the token is needed for, then
  // ends with the token error (issue 23 item 3); a real run stops at preflight as before.
  const tokenMissing = flags.dryRun === true && ws.deps.registry.kind === 'hf' && !ws.deps.secrets.hfToken
  const deps = tokenMissing ? { ...ws.deps, registry: registryWithoutToken(ws.deps.registry) } : ws.deps
  const hooked = withHookBefore(RELEASE_STEPS, 'push', confirmBeforePush(prompter))
  const steps = tokenMissing ? markTokenSteps(hooked, ws.deps.plan) : hooked
  // A prompt mid-run needs a renderer that does not redraw the screen: the simple one prints line by line.
  const renderer = process.stdout.isTTY && !flags.json && !prompter.interactive ? 'default' : 'simple'
  let summary: ReleaseSummary
  // Not performance.now(): the global `performance` loads perf_hooks and its eight modules (~1 ms).
  const startedAt = Date.now()
  try {
    summary = await runRelease(
      steps,
      deps,
      {
        ...(envName ? { envName } : {}),
        dryRun: flags.dryRun === true,
        ...(flags.resume !== undefined && flags.resume !== false
          ? { resume: flags.resume === true ? true : flags.resume }
          : {}),
        ...(from ? { from } : {}),
        options: {
          ...(flags.bump ? { bump: flags.bump as 'major' | 'minor' } : {}),
          force: flags.force === true,
          noDeploy,
        },
        renderer,
        ...(flags.json ? { output: process.stderr } : {}),
        signal,
        command: 'release',
      },
      STEPS_BEFORE_LONG_WORK,
    )
  } catch (e) {
    // --json: the top-level catch (program.ts) prints the failure's one object.
    await appendStepSummary(ws.env, failureMarkdown(ws.deps.redact(messageOf(e)), exitCodeOf(e)))
    throw e
  }
  printSummary(ws.print, summary, Date.now() - startedAt)
  if (tokenMissing) throw await tokenErrorAfterPlan(ws, summary, flags.json === true)
  const state = summary.dryRun ? undefined : await readRunState(summary.runDir)
  await appendStepSummary(ws.env, ws.deps.redact(releaseMarkdown(summary, ws.config, state)))
  if (flags.json) ws.printJson(summary)
  return 0
}

/** The token error a token-less dry run ends with, after its plan; with --json the one object says both. */
async function tokenErrorAfterPlan(
  ws: Awaited<ReturnType<typeof openWorkspace>>,
  summary: ReleaseSummary,
  json: boolean,
): Promise<ModelshipError> {
  // The real registry's own check: it fails on the missing token before sending anything.
  const found = await ws.deps.registry.checkAccess().then(
    () => undefined,
    (e: unknown) => e,
  )
  const base =
    found instanceof ModelshipError
      ? found
      : new ModelshipError('AUTH', `HF_TOKEN is not set: ${ws.deps.registry.describe()} needs a token`)
  const marked = Object.keys(TOKEN_STEPS).filter((s) => summary.plan?.some((l) => l.includes(tokenMark(s))))
  const error = new ModelshipError('AUTH', `${base.message} (the plan above marks ${marked.join(', ')})`, {
    hint:
      `${base.hint ?? 'set HF_TOKEN'}; or save the token in ~/.cache/huggingface/token (\`hf auth login\` does),` +
      ' $HF_HOME/token, or the file HF_TOKEN_PATH names',
  })
  if (json)
    ws.printJson({
      ...summary,
      status: 'failed',
      ok: false,
      exitCode: error.exitCode,
      error: { code: error.code, message: error.message, hint: error.hint },
      needsToken: marked,
    })
  return error
}

function printSummary(print: (l: string) => void, s: ReleaseSummary, tookMs: number): void {
  if (s.dryRun) {
    print('')
    print(`Dry run of ${s.env}: nothing was changed. A real run would create ${s.runDir}.`)
    print(`  next model: ${s.modelId ?? '?'} (now: ${s.previousModel ?? '?'})`)
    if (s.stopped !== undefined) print(`  stopped: ${s.stopped}`)
    if (s.diff) for (const l of s.diff.trimEnd().split('\n')) print(`  ${l}`)
    if (s.plan?.length) {
      print(`  plan (${PLAN_LEGEND}):`)
      for (const l of s.plan) print(`    ${l}`)
    }
    return
  }
  print('')
  if (s.stopped !== undefined) {
    print(`Nothing released to ${s.env} (runs ${s.previousModel ?? '?'}): ${s.stopped}, run ${s.runId}`)
    return
  }
  if (s.gate) for (const l of formatGateTable(s.gate)) print(l)
  const deployed = s.deployed ? '' : ` (not deployed${s.notDeployedReason ? `: ${s.notDeployedReason}` : ''})`
  print(`Released ${s.modelId ?? '?'} to ${s.env}${deployed} (was ${s.previousModel ?? '?'}), run ${s.runId}`)
  if (s.diff) for (const l of s.diff.trimEnd().split('\n')) print(`  ${l}`)
  if (s.metrics) print(`  accuracy ${s.metrics.accuracy.toFixed(4)}, macro F1 ${s.metrics.f1_macro.toFixed(4)}`)
  if (s.trainReport) {
    // As the trainer printed it: the columns line up only when the spacing is kept.
    print('  classification report:')
    for (const l of s.trainReport) print(l === '' ? '' : `    ${l}`)
  }
  if (s.trainLog) print(`  trainer output: ${s.trainLog}`)
  if (s.changes) for (const l of describeChanges(s.changes)) print(`  ${l}`)
  const skipped = Object.entries(s.steps)
    .filter(([, st]) => st === 'skipped')
    .map(([n]) => n)
  if (skipped.length) print(`  skipped: ${skipped.join(', ')}`)
  print(`Done in ${formatDuration(Math.round(tookMs))}.`)
}

/**
 * A new release beside an unfinished one orphans the version that run reserved (and maybe pushed):
 * say which run, where it stopped and what it holds, and the two ways out.
 */
export async function unfinishedRunWarnings(
  stateDir: string,
  env: string,
  redact: (s: string) => string,
): Promise<string[]> {
  const runs = await createStateStore(stateDir, redact, () => new Date()).list()
  const out: string[] = []
  for (const { state } of runs) {
    if (!state || state.env !== env || (state.kind ?? 'release') !== 'release' || !UNFINISHED.has(state.status))
      continue
    const step = stoppedAt(state)
    const version = reservedModelOf(state)
    out.push(
      `warning: run ${state.runId} of ${env} is unfinished (${state.status}${step ? ` at ${step}` : ''}` +
        `${version ? `, version ${version} reserved` : ''}); continue it with \`modelship release --resume ` +
        `${state.runId}\`` +
        ` or set it aside with \`modelship runs abandon ${state.runId}\``,
    )
  }
  return out
}

function stoppedAt(state: RunState): string | undefined {
  if (state.error?.step) return state.error.step
  return Object.entries(state.steps).find(([, r]) => r?.status === 'running' || r?.status === 'failed')?.[0]
}

function reservedModelOf(state: RunState): string | undefined {
  const release = state.steps.version?.outputs?.release as { modelId?: unknown } | undefined
  return typeof release?.modelId === 'string' ? release.modelId : undefined
}
