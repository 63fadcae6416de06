import { join } from 'node:path'
import { messageOf, ModelshipError } from '../engine/errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import type { Deps } from '../ports/deps.js'
import { formatHostCommand, type HostCommand } from './commands.js'
import { hostLabel } from './host.js'
import type { DeploySettings } from './settings.js'
import { targetOn } from './settings.js'
import { serviceInspectCommand, servicePsCommand, stackDeployCommand, swarmServiceName } from './swarm-commands.js'
import { decideOutcome, type Observation, type Outcome, progressFingerprint } from './swarm-outcome.js'
import {
  isNoSuchService,
  parseServiceInspect,
  parseServicePs,
  type ServiceState,
  type TaskLine,
  taskProgressLine,
} from './swarm-status.js'
import { stackConfigCommand, stackFileOf } from './swarm-stack-file.js'

// Swarm mode's deploy: one `docker stack deploy` through the manager (the environment's first host), then
// Swarm's own rolling update, followed through `docker service inspect` and `docker service ps` until Swarm
// says how it ended. Swarm rolls a failed update back by itself (update_config.failure_action: rollback).

/** How often the service is looked at while Swarm updates it (two docker commands each time, run at once). */
const POLL_MS = 500

async function read(deps: Deps, cmd: HostCommand): Promise<string> {
  return deps.sh.read(cmd.argv, Object.keys(cmd.env).length ? { env: cmd.env } : {})
}

/** The manager: the environment's first host (the current context when it lists none). */
export const managerOf = (s: DeploySettings) => s.hosts[0]!

export interface RenderedStack {
  /** Absolute path of the stack file (in the run directory, 0600: it may hold the app's settings). */
  path: string
  stack: string
  /** The swarm service: `<stack>_<service>`. */
  service: string
  image: string | undefined
}

/** The stack file's path for a tag, in the run directory. */
export const stackFilePath = (runDir: string, tag: string): string => join(runDir, `stack.${tag}.yml`)

/**
 * Renders the environment's compose files with the tag into a stack file (see swarm-stack-file.ts) and
 * writes it into the run directory. The stack is `deploy.stack`, else the compose project name.
 */
export async function renderStack(
  deps: Deps,
  s: DeploySettings,
  o: { tag: string; runDir: string },
): Promise<RenderedStack> {
  const cmd = stackConfigCommand(targetOn(s, managerOf(s)), { variable: s.tagVar, value: o.tag })
  const file = stackFileOf(await read(deps, cmd), s.service)
  const stack = s.stack ?? file.project
  if (!stack) {
    throw new ModelshipError('CONFIG', 'deploy.stack is not set and the compose files give no project name', {
      hint: 'set deploy.stack in modelship.yaml',
    })
  }
  const path = stackFilePath(o.runDir, o.tag)
  await writeFileAtomic(path, file.text, { mode: 0o600 })
  return { path, stack, service: swarmServiceName(stack, s.service), image: file.image }
}

/** The service as Swarm has it now, or undefined when it does not exist (yet). */
export async function readService(deps: Deps, s: DeploySettings, service: string): Promise<ServiceState | undefined> {
  try {
    return parseServiceInspect(await read(deps, serviceInspectCommand({ host: managerOf(s), service })))
  } catch (e) {
    if (isNoSuchService(messageOf(e))) return undefined
    throw e
  }
}

async function readTasks(deps: Deps, s: DeploySettings, service: string): Promise<TaskLine[]> {
  try {
    return parseServicePs(await read(deps, servicePsCommand({ host: managerOf(s), service })))
  } catch (e) {
    if (isNoSuchService(messageOf(e))) return []
    throw e
  }
}

export interface StackDeployResult {
  outcome: Exclude<Outcome, { kind: 'waiting' }>
  stack: RenderedStack
  service: ServiceState | undefined
  tasks: readonly TaskLine[]
}

/**
 * `docker stack deploy` of the tag, followed until Swarm says how it ended. Prints one progress line per
 * change: the update's state and each task's (node, state, error). The CLI (`--detach=false`) runs
 * alongside and is stopped once the outcome is known: it never exits on an update that stalls.
 */
export async function deployStack(
  deps: Deps,
  s: DeploySettings,
  o: { tag: string; runDir: string; stack?: RenderedStack; onLine?: (line: string) => void },
): Promise<StackDeployResult> {
  const stack = o.stack ?? (await renderStack(deps, s, o))
  const [before, tasksBefore] = await Promise.all([
    readService(deps, s, stack.service),
    readTasks(deps, s, stack.service),
  ])
  const baselineStartedAt = before?.update?.startedAt
  const seen = new Map(tasksBefore.map((t) => [t.id, taskProgressLine(t)]))
  const cmd = stackDeployCommand({ host: managerOf(s), stackFile: stack.path, stack: stack.stack })
  const abort = new AbortController()
  let cli: Observation['cli'] = { state: 'running' }
  let cliDone = false
  const running = deps.sh
    .write(cmd.argv, { ...(Object.keys(cmd.env).length ? { env: cmd.env } : {}), signal: abort.signal })
    .then(
      () => {
        cli = { state: 'exited' }
      },
      (e: unknown) => {
        if (!abort.signal.aborted) cli = { state: 'failed', message: messageOf(e) }
      },
    )
    .finally(() => {
      cliDone = true
    })
  const { clock } = deps
  const timeoutMs = s.healthTimeoutS * 1000
  let lastFingerprint = ''
  let lastChange = clock.now().getTime()
  let lastUpdate = before?.update ? `${before.update.state}@${before.update.startedAt}` : ''
  try {
    for (;;) {
      // The CLI's end is worth a look at once (it failed, or Swarm converged); after it, the poll's pace.
      await (cliDone ? clock.sleep(POLL_MS) : Promise.race([running, clock.sleep(POLL_MS)]))
      const [service, tasks] = await Promise.all([
        readService(deps, s, stack.service),
        readTasks(deps, s, stack.service),
      ])
      const observation: Observation = { service, tasks, cli }
      const update = observation.service?.update
      const updateKey = update ? `${update.state}@${update.startedAt}` : ''
      if (update && updateKey !== lastUpdate) {
        o.onLine?.(`${stack.service}: ${update.state}${update.message ? ` (${update.message})` : ''}`)
      }
      lastUpdate = updateKey
      for (const t of observation.tasks) {
        const line = taskProgressLine(t)
        if (seen.get(t.id) !== line) o.onLine?.(line)
        seen.set(t.id, line)
      }
      const fingerprint = progressFingerprint(observation)
      const now = clock.now().getTime()
      if (fingerprint !== lastFingerprint) {
        lastFingerprint = fingerprint
        lastChange = now
      }
      const outcome = decideOutcome(observation, {
        baselineStartedAt,
        expectedTag: o.tag,
        quietMs: now - lastChange,
        timeoutMs,
      })
      if (outcome.kind !== 'waiting') {
        return { outcome, stack, service: observation.service, tasks: observation.tasks }
      }
    }
  } finally {
    abort.abort()
    await running
  }
}

/** The commands that put the stack back on the previous tag by hand, and look at where it stands. */
export function handCommandsOf(s: DeploySettings, o: { previous?: RenderedStack; service: string }): string[] {
  const manager = managerOf(s)
  const lines = [formatHostCommand(serviceInspectCommand({ host: manager, service: o.service }))]
  if (o.previous) {
    lines.push(
      formatHostCommand(stackDeployCommand({ host: manager, stackFile: o.previous.path, stack: o.previous.stack })),
    )
  }
  return lines
}

/** Where the service stands, one line: the spec's tag, the update's state, the tasks meant to run. */
export async function describeService(deps: Deps, s: DeploySettings, service: string): Promise<string> {
  try {
    const svc = await readService(deps, s, service)
    if (!svc) return `${service}: no such service`
    const tasks = (await readTasks(deps, s, service)).filter((t) => t.desired === 'running')
    const update = svc.update ? `, update ${svc.update.state}` : ''
    return (
      `${service}: spec ${svc.tag ?? svc.image}${update}; tasks: ` +
      `${tasks.map(taskProgressLine).join('; ') || 'none'}`
    )
  } catch (e) {
    return `${service}: unknown (${messageOf(e)})`
  }
}

/** How a host is named in the outcome's lines: nothing for the current context alone. */
export const onManager = (s: DeploySettings): string => {
  const m = managerOf(s)
  return m.kind === 'default' ? '' : ` through ${hostLabel(m)}`
}
