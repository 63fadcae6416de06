import { ModelshipError } from '../engine/errors.js'
import type { Command } from '../ports/types.js'
import { dockerArgv, type HostCommand, hostEnv } from './commands.js'
import type { Host } from './host.js'

// Commands are data: every docker invocation of swarm mode, built for the host it runs against (the
// manager for the stack and the service, the node that holds a task for `exec`).

// Docker's rule for stack names (a compose project name): lowercase letters, digits, '_' and '-'.
const STACK_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/
// Swarm object ids (tasks, nodes) and container ids: what `docker service ps --no-trunc` prints.
const ID_PATTERN = /^[a-z0-9]{1,64}$/

export function assertStack(stack: string): void {
  if (!STACK_PATTERN.test(stack)) {
    throw new ModelshipError('CONFIG', `deploy.stack: ${JSON.stringify(stack)} is not a stack name (a-z, 0-9, _, -)`)
  }
}

function assertId(id: string, what: string): void {
  if (!ID_PATTERN.test(id)) throw new ModelshipError('STEP_FAILED', `not a ${what} id: ${JSON.stringify(id)}`)
}

function onHost(host: Host, args: readonly string[]): HostCommand {
  return { argv: [...dockerArgv(host), ...args], env: hostEnv(host) }
}

/** The swarm service of a stack's compose service: `<stack>_<service>`, as `docker stack deploy` names it. */
export const swarmServiceName = (stack: string, service: string): string => `${stack}_${service}`

/**
 * `docker stack deploy --detach=false --with-registry-auth -c <stack file> <stack>` on the manager. The stack
 * file is the environment's compose files already interpolated (stack deploy reads no --env-file). Its exit
 * code says nothing about the outcome: it exits 0 after Swarm rolled the update back.
 */
export function stackDeployCommand(o: { host: Host; stackFile: string; stack: string }): HostCommand {
  assertStack(o.stack)
  if (o.stackFile === '' || o.stackFile.startsWith('-')) {
    throw new ModelshipError('STEP_FAILED', `not a stack file path: ${JSON.stringify(o.stackFile)}`)
  }
  return onHost(o.host, ['stack', 'deploy', '--detach=false', '--with-registry-auth', '-c', o.stackFile, o.stack])
}

/** `docker service inspect <service>`: the spec (image, replicas, update config) and `.UpdateStatus`, as JSON. */
export function serviceInspectCommand(o: { host: Host; service: string }): HostCommand {
  return onHost(o.host, ['service', 'inspect', o.service])
}

/** `docker service ps --no-trunc --format '{{json .}}' <service>`: every task, one JSON object a line. */
export function servicePsCommand(o: { host: Host; service: string }): HostCommand {
  return onHost(o.host, ['service', 'ps', '--no-trunc', '--format', '{{json .}}', o.service])
}

/** `docker service ps -q --no-trunc --filter desired-state=running <service>`: the ids of the tasks meant to run. */
export function runningTaskIdsCommand(o: { host: Host; service: string }): HostCommand {
  return onHost(o.host, ['service', 'ps', '-q', '--no-trunc', '--filter', 'desired-state=running', o.service])
}

/** `docker inspect --type task <id…>`: tasks by id, as a JSON array (node, container, state). */
export function taskInspectCommand(o: { host: Host; taskIds: readonly string[] }): HostCommand {
  if (o.taskIds.length === 0) throw new ModelshipError('STEP_FAILED', 'no task to inspect')
  for (const id of o.taskIds) assertId(id, 'task')
  return onHost(o.host, ['inspect', '--type', 'task', ...o.taskIds])
}

/**
 * `docker info --format …` on a host: its swarm node id, whether it is a manager, and its swarm state, one
 * tab-separated line (`<node id>\t<true|false>\t<active|inactive|…>`).
 */
export function swarmInfoCommand(host: Host): HostCommand {
  return onHost(host, ['info', '--format', '{{.Swarm.NodeID}}\t{{.Swarm.ControlAvailable}}\t{{.Swarm.LocalNodeState}}'])
}

/** `docker node ls --format '{{.ID}}'` on the manager: the nodes of the swarm. */
export function nodeListCommand(host: Host): HostCommand {
  return onHost(host, ['node', 'ls', '--format', '{{.ID}}'])
}

/** `docker exec <container> <argv…>` on the node that holds the task: a verify or model check inside a replica. */
export function execInContainerCommand(o: { host: Host; containerId: string; argv: Command }): HostCommand {
  assertId(o.containerId, 'container')
  return onHost(o.host, ['exec', o.containerId, ...o.argv])
}
