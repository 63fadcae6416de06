import { outcomeOf, whoami, type HistoryEntry } from '../history/audit-log.js'
import type { FailureInfo } from '../engine/run-steps.js'
import type { Ctx } from './context.js'

/** The history line of a release or promotion, whatever its outcome. */
export function runEntry(
  ctx: Ctx,
  at: Date,
  outcome: HistoryEntry['outcome'],
  extra: Partial<HistoryEntry> = {},
): HistoryEntry {
  return {
    at: at.toISOString(),
    action: ctx.options.action ?? 'release',
    env: ctx.envName,
    from: ctx.composeEdit?.previousModel ?? ctx.currentModel ?? null,
    to: ctx.release?.modelId ?? ctx.options.target ?? null,
    outcome,
    deployed: ctx.deployment !== undefined,
    ...(ctx.deployment === undefined && ctx.deployTarget?.enabled === false && ctx.deployTarget.reason
      ? { notDeployed: ctx.deployTarget.reason }
      : {}),
    ...whoami(),
    runId: ctx.runId,
    ...(ctx.options.undo ? { undo: true } : {}),
    ...(ctx.dataset ? { datasetSha256: ctx.dataset.sha256 } : {}),
    ...(ctx.gate?.evalSet ? { evalSetSha256: ctx.gate.evalSet.sha256 } : {}),
    ...(ctx.model ? { metrics: { accuracy: ctx.model.metrics.accuracy, f1_macro: ctx.model.metrics.f1_macro } } : {}),
    ...(ctx.changes ? { changes: ctx.changes } : {}),
    ...deployFields(ctx),
    ...extra,
  }
}

/** The history line of a failed run. */
export function failedEntry(ctx: Ctx, at: Date, info: FailureInfo): HistoryEntry {
  const deployed = info.code === 'ROLLED_BACK' || info.code === 'ROLLBACK_FAILED' || ctx.deployment !== undefined
  return runEntry(ctx, at, outcomeOf(info.code), {
    deployed,
    ...(info.step ? { step: info.step } : {}),
    error: info.message,
  })
}

/**
 * Bad input found before long work (training) changes nothing: such a new run leaves no trace. Later
 * (a public repo found at push) the state is kept for --resume.
 */
export function isDiscardable(
  info: FailureInfo & { exitCode: number },
  stepsBeforeLongWork: readonly string[],
): boolean {
  return info.exitCode === 2 && (info.step === undefined || stepsBeforeLongWork.includes(info.step))
}

/** The tag and hosts of a deploy, and the tag it replaced (what `rollback` in image mode pulls again). */
function deployFields(ctx: Ctx): Pick<HistoryEntry, 'tag' | 'previousTag' | 'hosts'> {
  const rollout = ctx.rollout
  const previousTag = rollout ? Object.values(rollout.previousTags).find((t): t is string => Boolean(t)) : undefined
  return {
    ...(ctx.image?.tag ? { tag: ctx.image.tag } : {}),
    ...(previousTag ? { previousTag } : {}),
    ...(rollout?.touched.length ? { hosts: [...rollout.touched] } : {}),
  }
}
