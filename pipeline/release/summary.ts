import type { PlanEntry } from '../engine/plan.js'
import type { RunStatus } from '../engine/state.js'
import type { ReleaseChanges } from './change-types.js'
import type { GateTable } from '../model/gate-table.js'
import type { Ctx } from './context.js'

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
  /** Dry-run: the plan as text lines and as typed entries (one source). */
  plan?: string[]
  planEntries?: readonly PlanEntry[]
  diff?: string
  runDir?: string
  /** Whether the service was rebuilt and redeployed. */
  deployed: boolean
  /** Why build/deploy/verify did not run. */
  notDeployedReason?: string
  /** The trainer's classification report, line by line as it printed it (alignment kept). */
  trainReport?: string[]
  /** Where the trainer's whole output is saved. */
  trainLog?: string
  /** What changed since the environment's current model (rows per label, metrics). */
  changes?: ReleaseChanges
  /** Why the run ended early with nothing released (e.g. no new feedback). */
  stopped?: string
  /** The gate's table: the new model beside the one the environment runs now. */
  gate?: GateTable
}

export function summarize(
  ctx: Ctx,
  o: {
    status: RunStatus
    stopped?: string
    stepNames: readonly string[]
    steps: Partial<Record<string, { status: string }>>
    runDir: string
    plan?: { lines: string[]; entries: readonly PlanEntry[] }
  },
): ReleaseSummary {
  return {
    runId: ctx.runId,
    env: ctx.envName,
    status: o.status,
    dryRun: ctx.dryRun,
    ...(ctx.release ? { modelId: ctx.release.modelId } : {}),
    ...(ctx.composeEdit
      ? { previousModel: ctx.composeEdit.previousModel, diff: ctx.composeEdit.diff }
      : ctx.currentModel
        ? { previousModel: ctx.currentModel }
        : {}),
    ...(ctx.model ? { metrics: { accuracy: ctx.model.metrics.accuracy, f1_macro: ctx.model.metrics.f1_macro } } : {}),
    ...(ctx.dataset ? { datasetSha256: ctx.dataset.sha256 } : {}),
    steps: Object.fromEntries(o.stepNames.map((n) => [n, o.steps[n]?.status ?? 'pending'])),
    deployed: ctx.deployment !== undefined,
    ...(ctx.deployTarget?.enabled === false && ctx.deployTarget.reason
      ? { notDeployedReason: ctx.deployTarget.reason }
      : {}),
    ...(ctx.model?.report ? { trainReport: ctx.model.report } : {}),
    ...(ctx.model?.log && !ctx.dryRun ? { trainLog: ctx.model.log } : {}),
    ...(ctx.changes ? { changes: ctx.changes } : {}),
    ...(o.plan ? { plan: o.plan.lines, planEntries: o.plan.entries } : {}),
    runDir: o.runDir,
    ...(o.stopped !== undefined ? { stopped: o.stopped } : {}),
    ...(ctx.gate?.table ? { gate: ctx.gate.table } : {}),
  }
}
