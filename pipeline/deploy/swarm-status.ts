import { ModelshipError } from '../engine/errors.js'
import { tagOfReference } from './deploy-ops.js'

// What Swarm says about a service, parsed from `docker service inspect` (the spec and `.UpdateStatus`) and
// `docker service ps --format '{{json .}}'` (one line per task). Pure: the commands are run elsewhere.

/** `.UpdateStatus` of a service: absent until its first update. */
export interface UpdateStatus {
  /** updating | paused | completed | rollback_started | rollback_paused | rollback_completed */
  readonly state: string
  readonly startedAt?: string
  readonly completedAt?: string
  readonly message?: string
}

export interface ServiceState {
  readonly id: string
  readonly name: string
  /** The image of the spec, as written (`registry/app:model-v1.3`), without the digest Swarm pins. */
  readonly image: string
  readonly tag: string | undefined
  /** Replicated services: the replica count; undefined for a global service. */
  readonly replicas: number | undefined
  /** The spec's environment, `KEY=value` entries. */
  readonly env: readonly string[]
  readonly update: UpdateStatus | undefined
}

/** One task as `docker service ps --format '{{json .}}'` prints it. */
export interface TaskLine {
  readonly id: string
  /** `<service>.<slot>` (or `<service>.<node id>` for a global service). */
  readonly name: string
  /** The node's hostname; empty while the task waits for a node. */
  readonly node: string
  readonly image: string
  readonly tag: string | undefined
  readonly desired: string
  /** The first word of CurrentState, lowercased: new, pending, assigned, preparing, starting, running, failed, … */
  readonly state: string
  readonly error: string
}

const withoutDigest = (ref: string): string => ref.split('@')[0] ?? ref

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function field(o: unknown, ...path: string[]): unknown {
  let cur = o
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

/** Parses `docker service inspect <name>` (a JSON array of one service). */
export function parseServiceInspect(text: string): ServiceState {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ModelshipError('STEP_FAILED', `docker service inspect printed no JSON: ${text.slice(0, 120)}`)
  }
  const svc = Array.isArray(parsed) ? parsed[0] : parsed
  const image = str(field(svc, 'Spec', 'TaskTemplate', 'ContainerSpec', 'Image'))
  const id = str(field(svc, 'ID'))
  if (!id || !image) throw new ModelshipError('STEP_FAILED', 'docker service inspect: no service with an image')
  const replicas = field(svc, 'Spec', 'Mode', 'Replicated', 'Replicas')
  const env = field(svc, 'Spec', 'TaskTemplate', 'ContainerSpec', 'Env')
  const u = field(svc, 'UpdateStatus')
  const state = str(field(u, 'State'))
  const ref = withoutDigest(image)
  return {
    id,
    name: str(field(svc, 'Spec', 'Name')) ?? id,
    image: ref,
    tag: tagOfReference(ref),
    replicas: typeof replicas === 'number' ? replicas : undefined,
    env: Array.isArray(env) ? env.filter((e): e is string => typeof e === 'string') : [],
    update: state
      ? {
          state,
          ...(str(field(u, 'StartedAt')) ? { startedAt: str(field(u, 'StartedAt'))! } : {}),
          ...(str(field(u, 'CompletedAt')) ? { completedAt: str(field(u, 'CompletedAt'))! } : {}),
          ...(str(field(u, 'Message')) ? { message: str(field(u, 'Message'))! } : {}),
        }
      : undefined,
  }
}

/** Whether a failed `docker service inspect` means the service does not exist (yet). */
export const isNoSuchService = (message: string): boolean => /no such service|not found/i.test(message)

/** Parses `docker service ps --no-trunc --format '{{json .}}'`: one task per line; other lines are skipped. */
export function parseServicePs(text: string): TaskLine[] {
  const tasks: TaskLine[] = []
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue
    let o: Record<string, unknown>
    try {
      o = JSON.parse(line) as Record<string, unknown>
    } catch {
      continue
    }
    const image = withoutDigest(str(o.Image) ?? '')
    tasks.push({
      id: str(o.ID) ?? '',
      name: str(o.Name) ?? '',
      node: str(o.Node) ?? '',
      image,
      tag: tagOfReference(image),
      desired: (str(o.DesiredState) ?? '').toLowerCase(),
      state: (str(o.CurrentState) ?? '').split(/\s+/)[0]!.toLowerCase(),
      // The CLI quotes the error: "\"task: non-zero exit (137): dockerexec: unhealthy container\"".
      error: (str(o.Error) ?? '').replace(/^"(.*)"$/s, '$1'),
    })
  }
  return tasks
}

/** One task, as a progress line: `app.2 on node-a: running (model-v1.3)`, with the error when it has one. */
export function taskProgressLine(t: TaskLine): string {
  const where = t.node ? ` on ${t.node}` : ''
  const what = t.tag ? ` (${t.tag})` : ''
  return `${t.name}${where}: ${t.state}${what}${t.error ? `: ${t.error}` : ''}`
}

/** The task in a set whose error explains a failure: the newest failed/rejected one with the given tag. */
export function failedTaskOf(tasks: readonly TaskLine[], tag?: string): TaskLine | undefined {
  const failed = tasks.filter(
    (t) => (t.error !== '' || ['failed', 'rejected'].includes(t.state)) && (tag === undefined || t.tag === tag),
  )
  // `docker service ps` lists the newest task of each slot first.
  return failed[0]
}

/** A task's id, node and container from `docker inspect --type task` (a JSON array). */
export interface TaskPlacement {
  readonly taskId: string
  readonly nodeId: string
  readonly containerId: string | undefined
  readonly state: string
  readonly slot: number | undefined
}

export function parseTaskInspect(text: string): TaskPlacement[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ModelshipError('STEP_FAILED', `docker inspect printed no JSON: ${text.slice(0, 120)}`)
  }
  if (!Array.isArray(parsed)) return []
  return parsed.map((t) => {
    const slot = field(t, 'Slot')
    return {
      taskId: str(field(t, 'ID')) ?? '',
      nodeId: str(field(t, 'NodeID')) ?? '',
      containerId: str(field(t, 'Status', 'ContainerStatus', 'ContainerID')),
      state: str(field(t, 'Status', 'State')) ?? '',
      slot: typeof slot === 'number' ? slot : undefined,
    }
  })
}

/** `docker info` swarm line (see swarmInfoCommand): node id, manager or not, local node state. */
export function parseSwarmInfo(line: string): { nodeId: string; manager: boolean; state: string } {
  const [nodeId = '', control = '', state = ''] = line.trim().split('\t')
  return { nodeId, manager: control === 'true', state }
}
