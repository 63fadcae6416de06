import { dirname, join } from 'node:path'
import { runSteps, type RunRequest } from '../engine/run-steps.js'
import type { StepDef } from '../engine/step.js'
import type { Deps } from '../ports/deps.js'
import type { Ctx, ReleaseOptions } from './context.js'
import { failedEntry, isDiscardable } from './journal.js'
import { summarize, type ReleaseSummary } from './summary.js'

/** The folders of an environment's edit and env files, where atomic writes leave their temps. */
function userDirsOf(deps: Deps, envName: string | undefined): string[] {
  const env = deps.config.environments[envName ?? 'production']
  if (!env) return []
  return [...new Set([...env.edit, ...env.env_files].map((f) => dirname(join(deps.config.workspace, f))))]
}

export interface ReleaseRequest extends Omit<RunRequest<Ctx>, 'makeCtx' | 'onFailed' | 'discard' | 'options'> {
  options: ReleaseOptions
  /** A run refused as bad input (exit 2) before long work keeps its history line (promote, rollback). */
  auditRefused?: boolean
}

/**
 * A release (or a promote/rollback run) through the engine: the release context, its journal (one
 * history line per failed run; the record step writes the successful one) and its summary.
 */
export async function runRelease(
  steps: ReadonlyArray<StepDef<Ctx, Deps>>,
  deps: Deps,
  req: ReleaseRequest,
  stepsBeforeLongWork: readonly string[],
): Promise<ReleaseSummary> {
  const { ctx, state, stopped } = await runSteps(steps, deps, {
    ...req,
    options: { ...req.options },
    userDirs: userDirsOf(deps, req.envName),
    makeCtx: (s, runDir) => ({
      config: deps.config,
      dryRun: req.dryRun,
      runId: s.runId,
      runDir,
      envName: s.env,
      options: s.options as unknown as ReleaseOptions,
      startedAt: s.createdAt,
      signal: req.signal,
    }),
    onFailed: (c, info) => deps.history.append(failedEntry(c, deps.clock.now(), info)),
    discard: (info) => isDiscardable(info, stepsBeforeLongWork) && (req.auditRefused ? 'journal' : true),
  })
  return summarize(ctx, {
    status: state.status,
    ...(stopped !== undefined ? { stopped } : {}),
    stepNames: steps.map((s) => s.name),
    steps: state.steps,
    runDir: req.dryRun ? `${deps.stateDir}/runs/${ctx.runId}` : ctx.runDir,
    ...(req.dryRun ? { plan: { lines: deps.plan.lines(), entries: deps.plan.entries() } } : {}),
  })
}
