import type { Config } from '../config/config.js'
import { messageOf } from '../engine/errors.js'
import type { Shell } from '../ports/types.js'
import { engineInfoCommand } from './commands.js'
import { DEFAULT_HOST } from './host.js'

/** Whether a run builds and redeploys, and why not: the one rule, shared by release, promote and rollback. */
export interface DeployTarget {
  enabled: boolean
  reason?: string
  /** A problem that stops the run (deploy.mode compose without an engine). */
  problem?: string
}

/** Why the run cannot deploy whatever Docker says (--no-deploy, deploy.mode none); undefined: ask the engine. */
export function deployRuledOut(config: Config, o: { noDeploy: boolean }): string | undefined {
  if (o.noDeploy) return '--no-deploy'
  if (config.deploy.mode === 'none') return 'deploy.mode is none'
  return undefined
}

export async function decideDeployTarget(config: Config, sh: Shell, o: { noDeploy: boolean }): Promise<DeployTarget> {
  const ruledOut = deployRuledOut(config, o)
  if (ruledOut) return { enabled: false, reason: ruledOut }
  // The app's CI builds and deploys: no Docker engine is needed here (preflight checks GitHub instead).
  if (config.deploy.mode === 'github') return { enabled: true }
  try {
    await sh.read(engineInfoCommand(DEFAULT_HOST).argv)
    return { enabled: true }
  } catch (e) {
    const mode = config.deploy.mode
    if (mode === 'compose' || mode === 'image' || mode === 'swarm') {
      const problem = `deploy.mode is ${mode} but no Docker engine answers: ${messageOf(e)}`
      return { enabled: false, reason: 'no Docker engine answers', problem }
    }
    return { enabled: false, reason: 'no Docker engine answers (deploy.mode: auto)' }
  }
}

/** build and publish in deploy.mode github: the workflow builds (and pushes) the image, not modelship. */
export const skipInGithubMode = (config: Config): string | false =>
  config.deploy.mode === 'github' ? 'skipped: deploy.mode is github (the workflow builds the image)' : false

/** The skip rule of build, deploy and verify. */
export const skipWithoutDeploy = (target: DeployTarget | undefined): string | false =>
  target?.enabled === false ? `skipped: ${target.reason}` : false
