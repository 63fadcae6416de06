import type { PlanEntry } from '../engine/plan.js'
import { planEntryOf } from './deploy-plan.js'
import { targetOn, type DeploySettings } from './settings.js'
import { runningTaskIdsCommand, serviceInspectCommand, stackDeployCommand, swarmServiceName } from './swarm-commands.js'
import { managerOf, stackFilePath } from './swarm-rollout.js'
import { stackConfigCommand } from './swarm-stack-file.js'

// The dry-run plans of swarm mode's deploy and verify, from the builders the real run uses. The stack name
// is `deploy.stack`, else the compose project name, which only `docker compose config` knows: `<project>`.

const stackOf = (s: DeploySettings): string => s.stack ?? '<project>'

export function swarmDeployPlan(s: DeploySettings, o: { tag: string }): PlanEntry[] {
  const manager = managerOf(s)
  const stack = stackOf(s)
  const service = swarmServiceName(stack, s.service)
  const stackFile = stackFilePath('<run-dir>', o.tag)
  // Built by hand where a placeholder would not pass the builders' checks (`<project>` is no stack name).
  const deploy = s.stack
    ? stackDeployCommand({ host: manager, stackFile, stack })
    : {
        argv: ['docker', 'stack', 'deploy', '--detach=false', '--with-registry-auth', '-c', stackFile, stack] as const,
        env: {},
      }
  return [
    planEntryOf(stackConfigCommand(targetOn(s, manager), { variable: s.tagVar, value: o.tag }), {
      read: true,
      note: `written, made stack-ready, to ${stackFile}`,
    }),
    planEntryOf(deploy),
    planEntryOf(serviceInspectCommand({ host: manager, service }), {
      read: true,
      note:
        `with docker service ps, until Swarm completes or rolls back; no change within ${s.healthTimeoutS}s is a ` +
        `stall`,
    }),
  ]
}

export function swarmVerifyPlan(s: DeploySettings): PlanEntry[] {
  const manager = managerOf(s)
  const service = swarmServiceName(stackOf(s), s.service)
  const checks = [s.verify, s.modelCheck].filter((c) => c !== null)
  if (checks.length === 0) return []
  return [
    planEntryOf(runningTaskIdsCommand({ host: manager, service }), { read: true }),
    ...checks.map((argv) => ({
      kind: 'exec' as const,
      argv: ['docker', 'exec', '<container of each running task>', ...argv] as const,
      read: true,
      note: 'on the engine of the node that holds the task',
    })),
  ]
}
