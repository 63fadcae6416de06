import { createInterface } from 'node:readline/promises'
import { exitCodeOf, isModelshipError, messageOf, ModelshipError } from '../pipeline/engine/errors.js'
import { PLAN_LEGEND } from '../pipeline/engine/plan.js'
import { formatGateTable } from '../pipeline/model/gate-table.js'
import { runRelease } from '../pipeline/release/run-release.js'
import type { ReleaseSummary } from '../pipeline/release/summary.js'
import { isStepName, RELEASE_STEPS, STEP_NAMES, STEPS_BEFORE_LONG_WORK, type StepName } from '../tasks/index.js'
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
  json?: boolean
}

export async function releaseCommand(flags: ReleaseFlags, signal: AbortSignal, onDeps: (killAll: () => Promise<void>) => void): Promise<number> {
  if (flags.bump !== undefined && flags.bump !== 'major' && flags.bump !== 'minor') {
    throw new ModelshipError('USAGE', `--bump: expected major or minor, got ${JSON.stringify(flags.bump)}`)
  }
  let from: StepName | undefined
  if (flags.from !== undefined) {
    if (!isStepName(flags.from)) throw new ModelshipError('USAGE', `--from: ${JSON.stringify(flags.from)} is not a step (${STEP_NAMES.join(', ')})`)
    from = flags.from
  }
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true, dryRun: flags.dryRun === true })
  onDeps(() => ws.deps.sh.killAll())
  const envName = flags.env
  if (envName !== undefined && !ws.config.environments[envName]) {
    throw new ModelshipError('USAGE', `--env ${envName}: no such environment (known: ${Object.keys(ws.config.environments).join(', ')})`)
  }
  const noDeploy = flags.deploy === false
  // Ask before redeploying production by hand; `deploy.mode: auto` (the bundled example) and --yes never ask.
  if (!flags.yes && !flags.dryRun && !noDeploy && process.stdin.isTTY && process.stdout.isTTY && ws.config.deploy.mode === 'compose') {
    const rl = createInterface({ input: process.stdin, output: process.stdout })
    const answer = await rl.question(`Release a new model to ${envName ?? 'production'} and redeploy it? [y/N] `)
    rl.close()
    if (!/^y(es)?$/i.test(answer.trim())) {
      ws.print('aborted: nothing was changed')
      return 0
    }
  }
  let summary: ReleaseSummary
  try {
    summary = await runRelease(RELEASE_STEPS, ws.deps, {
      ...(envName ? { envName } : {}),
      dryRun: flags.dryRun === true,
      ...(flags.resume !== undefined && flags.resume !== false ? { resume: flags.resume === true ? true : flags.resume } : {}),
      ...(from ? { from } : {}),
      options: { ...(flags.bump ? { bump: flags.bump as 'major' | 'minor' } : {}), force: flags.force === true, noDeploy },
      renderer: process.stdout.isTTY && !flags.json ? 'default' : 'simple',
      ...(flags.json ? { output: process.stderr } : {}),
      signal,
      command: 'release',
    }, STEPS_BEFORE_LONG_WORK)
  } catch (e) {
    // Scripts reading --json get an object on failure too (the one-line error still goes to stderr).
    if (flags.json) ws.printJson({ status: 'failed', exitCode: exitCodeOf(e), error: { code: isModelshipError(e) ? e.code : 'STEP_FAILED', message: messageOf(e) } })
    throw e
  }
  printSummary(ws.print, summary)
  if (flags.json) ws.printJson(summary)
  return 0
}

function printSummary(print: (l: string) => void, s: ReleaseSummary): void {
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
  const skipped = Object.entries(s.steps).filter(([, st]) => st === 'skipped').map(([n]) => n)
  if (skipped.length) print(`  skipped: ${skipped.join(', ')}`)
}
