import type { EditedFile } from '../compose/types.js'
import { messageOf, ModelshipError } from '../engine/errors.js'
import { restoreEditedFiles } from '../environment.js'
import type { Deps } from '../ports/deps.js'
import { hostLabel } from './host.js'
import { recordedTagOf } from './previous-tag.js'
import type { RolloutProgress } from './rollout.js'
import type { DeploySettings } from './settings.js'
import type { Outcome } from './swarm-outcome.js'
import {
  deployStack,
  describeService,
  handCommandsOf,
  managerOf,
  onManager,
  type RenderedStack,
  readService,
  renderStack,
} from './swarm-rollout.js'
import type { TaskLine } from './swarm-status.js'

// Swarm mode's deploy and its failure policy. Swarm rolls a failed update back by itself; modelship then
// only puts the files back and says why (exit 5). When Swarm cannot finish (paused, stalled) a person must
// (exit 6, with the commands). When the update completed but verify fails, modelship deploys the previous
// tag itself — never `docker service rollback`, which keeps one spec and fails after an automatic rollback.

/** What a swarm deploy leaves in the run context for verify, record and the failure policy. */
export interface SwarmDeployment {
  stack: string
  service: string
  tag: string
  tasks: readonly TaskLine[]
}

/** The deploy ended in a way Swarm decided (rolled back, stuck, or the CLI failed): the failure policy reads it. */
export class SwarmOutcomeError extends ModelshipError {
  constructor(
    readonly outcome: Exclude<Outcome, { kind: 'waiting' | 'completed' }>,
    readonly service: string,
  ) {
    const what = {
      rolled_back: `Swarm rolled back the update of ${service}`,
      stuck: `the update of ${service} is ${outcome.kind === 'stuck' ? outcome.state : ''}`,
      failed: `docker stack deploy of ${service} failed`,
    }[outcome.kind]
    super('STEP_FAILED', `${what}: ${outcome.reason}`)
  }
}

/**
 * Deploys the tag as the environment's stack and follows Swarm's update to its end. Records the tag the
 * service ran before in `progress` first (the spec's, else history's): what a failure goes back to.
 */
export async function deploySwarm(
  deps: Deps,
  s: DeploySettings,
  o: { tag: string; runDir: string; progress: RolloutProgress; onLine?: (line: string) => void },
): Promise<SwarmDeployment> {
  const stack = await renderStack(deps, s, { tag: o.tag, runDir: o.runDir })
  const before = await readService(deps, s, stack.service)
  const label = hostLabel(managerOf(s))
  o.progress.previousTags[label] = before?.tag ?? recordedTagOf(await deps.history.read(), s.envName) ?? null
  if (!o.progress.touched.includes(label)) o.progress.touched.push(label)
  const r = await deployStack(deps, s, {
    tag: o.tag,
    runDir: o.runDir,
    stack,
    ...(o.onLine ? { onLine: o.onLine } : {}),
  })
  if (r.outcome.kind !== 'completed') throw new SwarmOutcomeError(r.outcome, stack.service)
  return { stack: stack.stack, service: stack.service, tag: o.tag, tasks: r.tasks }
}

/**
 * After a failed deploy or verify in swarm mode: the edited files go back byte-identical; then
 * - Swarm rolled back by itself → exit 5 with Swarm's reason (the failed task's error);
 * - the update is paused or stalled → exit 6 with the state and the commands to finish by hand;
 * - the stack deploy changed nothing → exit 5 (the previous model still runs);
 * - the new tag runs but verify failed → modelship deploys the previous tag and follows it: exit 5, or 6.
 */
export async function swarmRollBackAfter(
  deps: Deps,
  s: DeploySettings,
  failure: unknown,
  o: {
    newTag: string | undefined
    /** The swarm service the deploy step reached, when it got that far. */
    service?: string
    previousTag: string | null
    previousModel: string
    edited: readonly EditedFile[]
    runDir: string
    onLine?: (line: string) => void
  },
): Promise<ModelshipError> {
  const { config } = deps
  const reason = messageOf(failure)
  let files = 'restored byte-identical to before the run'
  try {
    await restoreEditedFiles({
      workspace: config.workspace,
      edited: o.edited,
      files: deps.files,
      allowOutsideWorkspace: config.allow_outside_workspace,
    })
  } catch (e) {
    files = `not restored (${messageOf(e)}); they still name the new model`
  }
  const to = `${o.previousModel}${o.previousTag ? ` (tag ${o.previousTag})` : ''}`
  const restoredHint =
    `the files are as before and ${s.service} runs ${o.previousModel} again; ` + 'fix the cause and try again'
  const outcome = failure instanceof SwarmOutcomeError ? failure.outcome : undefined
  const service = failure instanceof SwarmOutcomeError ? failure.service : undefined

  if (outcome?.kind === 'rolled_back') {
    deps.log.warn(`${reason}: Swarm rolled ${service} back to ${to}`)
    return new ModelshipError('ROLLED_BACK', `${reason}; Swarm rolled ${s.envName} back to ${to}${onManager(s)}`, {
      cause: failure,
      hint: restoredHint,
    })
  }

  // The previous tag's stack file, from the restored files: what a person (or modelship) deploys to go back.
  let previous: RenderedStack | undefined
  let renderError: unknown
  if (o.previousTag) {
    try {
      previous = await renderStack(deps, s, { tag: o.previousTag, runDir: o.runDir })
    } catch (e) {
      renderError = e
    }
  }
  const svcName = service ?? o.service ?? previous?.service
  const stuck = (what: string, cause: unknown): ModelshipError => {
    const lines = [`files: ${files}`]
    return new ModelshipError('ROLLBACK_FAILED', what, {
      cause,
      details: lines.join('\n'),
      hint: `${s.envName} may be running the new model; finish by hand (commands above)`,
    })
  }
  const withState = async (err: ModelshipError): Promise<ModelshipError> => {
    if (!svcName) return err
    const lines = [
      err.details ?? '',
      `service: ${await describeService(deps, s, svcName)}`,
      'to finish by hand, run in the workspace:',
      ...handCommandsOf(s, { service: svcName, ...(previous ? { previous } : {}) }).map((c) => `  ${c}`),
    ]
    if (!previous) {
      lines.push(`  (no earlier version is known${renderError ? `: ${messageOf(renderError)}` : ''}; remove it with`)
      lines.push(`  docker stack rm <stack> if it must not run)`)
    }
    return new ModelshipError(err.code, err.message, {
      cause: err.cause,
      details: lines.filter(Boolean).join('\n'),
      ...(err.hint ? { hint: err.hint } : {}),
    })
  }

  if (outcome?.kind === 'stuck') {
    return withState(stuck(`${reason}; Swarm did not finish the update of ${s.envName}`, failure))
  }

  // The CLI failed, or verify did: does the new tag run?
  const name = svcName
  const now = name ? await readService(deps, s, name).catch(() => undefined) : undefined
  if (!now || now.tag !== o.newTag) {
    deps.log.warn(`${reason}: nothing changed, ${s.envName} still runs ${to}`)
    return new ModelshipError('ROLLED_BACK', `${reason}; ${s.envName} still runs ${to}`, {
      cause: failure,
      hint: restoredHint,
    })
  }
  if (!o.previousTag || !previous) {
    return withState(stuck(`${reason}; there is no earlier version of ${s.envName} to go back to`, failure))
  }
  deps.log.warn(`${reason}: rolling back ${s.envName} to ${to}`)
  try {
    await deploySwarm(deps, s, {
      tag: o.previousTag,
      runDir: o.runDir,
      progress: { previousTags: {}, touched: [] },
      ...(o.onLine ? { onLine: o.onLine } : {}),
    })
  } catch (e) {
    return withState(stuck(`restoring ${o.previousModel} failed too: ${messageOf(e)}`, e))
  }
  return new ModelshipError('ROLLED_BACK', `${reason}; ${s.envName} was rolled back to ${to}${onManager(s)}`, {
    cause: failure,
    hint: restoredHint,
  })
}
