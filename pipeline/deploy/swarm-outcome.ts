import { failedTaskOf, type ServiceState, type TaskLine, taskProgressLine } from './swarm-status.js'

// The outcome of a `docker stack deploy`, read from Swarm, never from the CLI's exit code (it exits 0 after
// Swarm rolled the update back, and never exits while an update stalls). Pure: one observation in, one
// verdict out; swarm-rollout.ts polls and acts on it.

/** One look at the service: its spec and `.UpdateStatus` (undefined: not created yet), its tasks, the CLI. */
export interface Observation {
  readonly service: ServiceState | undefined
  readonly tasks: readonly TaskLine[]
  /** `docker stack deploy`: still running, exited 0, or failed with this message. */
  readonly cli: { readonly state: 'running' | 'exited' } | { readonly state: 'failed'; readonly message: string }
}

export interface FollowContext {
  /** `.UpdateStatus.StartedAt` before this deploy: an update with another start is this deploy's. */
  readonly baselineStartedAt: string | undefined
  readonly expectedTag: string
  /** Milliseconds since the last change in the update's state or any task's state. */
  readonly quietMs: number
  /** The health timeout: this long without any change is a stall. */
  readonly timeoutMs: number
}

export type Outcome =
  | { readonly kind: 'waiting'; readonly state: string }
  /** Every replica runs the new tag (Swarm's `completed`, or a created service that converged). */
  | { readonly kind: 'completed' }
  /** Swarm rolled the update back by itself (`rollback_completed`): the previous spec runs again. */
  | { readonly kind: 'rolled_back'; readonly reason: string }
  /** `paused`, `rollback_paused`, or no change within the timeout: a person must finish it. */
  | { readonly kind: 'stuck'; readonly state: string; readonly reason: string }
  /** The CLI failed before the service changed: nothing was deployed. */
  | { readonly kind: 'failed'; readonly reason: string }

/** What counts as a change for the stall clock: the update's state and every task's state. */
export function progressFingerprint(o: Observation): string {
  const update = o.service?.update
  const tasks = o.tasks.map((t) => `${t.id}:${t.state}:${t.error}`).sort()
  return [o.service?.tag ?? '-', update?.state ?? '-', update?.startedAt ?? '-', ...tasks].join('|')
}

/** This deploy's update, if Swarm started one: an `.UpdateStatus` that started after the baseline. */
function ownUpdate(o: Observation, c: FollowContext) {
  const u = o.service?.update
  if (!u) return undefined
  return u.startedAt !== c.baselineStartedAt ? u : undefined
}

/** Every task meant to run, runs the expected tag, and as many as the spec asks for. */
function converged(o: Observation, c: FollowContext): boolean {
  const meant = o.tasks.filter((t) => t.desired === 'running')
  if (meant.length === 0) return false
  if (!meant.every((t) => t.state === 'running' && t.tag === c.expectedTag)) return false
  const replicas = o.service?.replicas
  return replicas === undefined || meant.length >= replicas
}

function whyOf(o: Observation, c: FollowContext, fallback: string): string {
  const failed = failedTaskOf(o.tasks, c.expectedTag) ?? failedTaskOf(o.tasks)
  return failed ? taskProgressLine(failed) : fallback
}

export function decideOutcome(o: Observation, c: FollowContext): Outcome {
  const update = ownUpdate(o, c)
  const specIsNew = o.service?.tag === c.expectedTag
  if (o.cli.state === 'failed' && !update && !specIsNew) {
    return { kind: 'failed', reason: o.cli.message }
  }
  if (update) {
    switch (update.state) {
      case 'completed':
        return { kind: 'completed' }
      case 'rollback_completed':
        return { kind: 'rolled_back', reason: whyOf(o, c, update.message ?? 'the update failed') }
      case 'paused':
      case 'rollback_paused':
        return { kind: 'stuck', state: update.state, reason: whyOf(o, c, update.message ?? update.state) }
    }
  } else if (specIsNew && converged(o, c)) {
    // A created service has no `.UpdateStatus`, nor does a deploy that changed nothing: its tasks say it.
    return { kind: 'completed' }
  }
  const state = update?.state ?? (o.service ? 'starting' : 'creating')
  if (c.quietMs >= c.timeoutMs) {
    const seconds = Math.round(c.timeoutMs / 1000)
    const pending = o.tasks.find((t) => t.desired === 'running' && t.state !== 'running')
    const detail = pending ? taskProgressLine(pending) : whyOf(o, c, `last state: ${state}`)
    return { kind: 'stuck', state, reason: `no progress within ${seconds}s (${detail})` }
  }
  return { kind: 'waiting', state }
}
