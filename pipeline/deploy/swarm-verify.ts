import { messageOf, ModelshipError } from '../engine/errors.js'
import { formatCommand } from '../ports/shell.js'
import type { Deps } from '../ports/deps.js'
import type { Command } from '../ports/types.js'
import type { HostCommand } from './commands.js'
import { type Host, hostLabel } from './host.js'
import type { DeploySettings } from './settings.js'
import {
  execInContainerCommand,
  runningTaskIdsCommand,
  swarmInfoCommand,
  taskInspectCommand,
} from './swarm-commands.js'
import { parseSwarmInfo, parseTaskInspect, type TaskPlacement } from './swarm-status.js'

// Swarm mode's verify: no routing mesh is assumed (it needs IPVS, which many hosts lack), so the checks run
// inside each running task's container, through `docker exec` on the engine of the node that holds it.
// Every replica must pass and serve the new model id.

async function read(deps: Deps, cmd: HostCommand): Promise<string> {
  return deps.sh.read(cmd.argv, Object.keys(cmd.env).length ? { env: cmd.env } : {})
}

/** The swarm node id of each host of the environment that answers (a host that does not is skipped). */
export async function nodesOfHosts(deps: Deps, hosts: readonly Host[]): Promise<Map<string, Host>> {
  const out = new Map<string, Host>()
  for (const host of hosts) {
    try {
      const info = parseSwarmInfo(await read(deps, swarmInfoCommand(host)))
      if (info.nodeId) out.set(info.nodeId, host)
    } catch {
      // a host that does not answer only matters if it holds a task: that is reported there
    }
  }
  return out
}

export interface ReplicaCheck {
  task: string
  host: string
  containerId: string
}

/** The running tasks of a service with the container and the host whose engine holds it. */
export async function runningReplicas(
  deps: Deps,
  s: DeploySettings,
  service: string,
): Promise<Array<TaskPlacement & { host: Host }>> {
  const manager = s.hosts[0]!
  const ids = (await read(deps, runningTaskIdsCommand({ host: manager, service }))).split(/\s+/).filter(Boolean)
  if (ids.length === 0) throw new ModelshipError('STEP_FAILED', `${service} has no task meant to run`)
  const tasks = parseTaskInspect(await read(deps, taskInspectCommand({ host: manager, taskIds: ids })))
  const nodes = await nodesOfHosts(deps, s.hosts)
  return tasks.map((t) => {
    if (t.state !== 'running' || !t.containerId) {
      throw new ModelshipError('STEP_FAILED', `task ${t.taskId} of ${service} is ${t.state || 'unknown'}, not running`)
    }
    const host = nodes.get(t.nodeId)
    if (!host) {
      throw new ModelshipError(
        'STEP_FAILED',
        `task ${t.taskId} of ${service} runs on node ${t.nodeId}, which no host of environments.${s.envName}.hosts ` +
          `reaches`,
        { hint: "add that node's Docker context (or ssh:// URL) to the environment's hosts, after the manager" },
      )
    }
    return { ...t, host }
  })
}

/**
 * Runs the environment's verify, then its model check, inside every running replica; the model check's
 * output must contain the model id in each. Returns the commands run, one line each.
 */
export async function verifyReplicas(
  deps: Deps,
  s: DeploySettings,
  o: { service: string; modelId: string; onLine?: (line: string) => void },
): Promise<string[]> {
  const checks = [s.verify, s.modelCheck].filter((c): c is Command => c !== null)
  if (checks.length === 0) return []
  const replicas = await runningReplicas(deps, s, o.service)
  const ran: string[] = []
  for (const r of replicas) {
    const on = s.hosts.length > 1 ? ` on ${hostLabel(r.host)}` : ''
    const where = `${o.service}${r.slot === undefined ? '' : `.${r.slot}`}${on}`
    for (const argv of checks) {
      const cmd = execInContainerCommand({ host: r.host, containerId: r.containerId!, argv })
      let out: string
      try {
        out = await read(deps, cmd)
      } catch (e) {
        throw new ModelshipError('STEP_FAILED', `${where}: ${formatCommand(argv)} failed: ${messageOf(e)}`)
      }
      if (argv === s.modelCheck && !out.includes(o.modelId)) {
        const got = out.slice(0, 200).replace(/\s+/g, ' ')
        throw new ModelshipError('STEP_FAILED', `${where} does not serve ${o.modelId} (model check got: ${got})`)
      }
      o.onLine?.(`${where}: ${formatCommand(argv)} ok`)
    }
    ran.push(`${where}: ${checks.map((c) => formatCommand(c)).join('; ')}`)
  }
  return ran
}
