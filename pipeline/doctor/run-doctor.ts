import type { Config } from '../config/config.js'
import { decideDeployTarget } from '../deploy/deploy-target.js'
import { messageOf } from '../engine/errors.js'
import type { Shell, UserFiles } from '../ports/types.js'
import type { ModelRegistry } from '../registry/types.js'
import type { GitHubApi } from '../github/api.js'
import { checkGithubTarget } from '../github/access.js'
import { checkApp } from './app-checks.js'
import { checkSwarm } from './swarm-checks.js'
import { checkComposeConfig } from './compose-config.js'
import type { Finding } from './finding.js'
import { checkWorkflows } from './workflows.js'
import { checkEnvironmentFiles, checkFeedbackSource, checkRunPaths, checkTrainer } from './workspace-checks.js'

export interface DoctorInput {
  config: Config
  envName: string
  files: UserFiles
  sh: Shell
  registry: ModelRegistry
  databaseUrl: string | undefined
  /** `<workspace>/.modelship` (the trainer help cache is read from it, never written). */
  stateDir: string
  /** The environment docker compose runs with (workspace .env under the real environment). */
  env: Readonly<Record<string, string | undefined>>
  /** deploy.mode github: the token, the variable and the workflow are checked as a release's preflight does. */
  github?: GitHubApi
}

/** Every preflight check of a release plus the app-level traps, without starting a release; read-only. */
export async function runDoctor(o: DoctorInput): Promise<Finding[]> {
  const { config, sh } = o
  const findings: Finding[] = [
    ...(await checkEnvironmentFiles(config, o.envName, o.files)),
    await checkFeedbackSource(config, o.files, o.databaseUrl),
    ...checkRunPaths(config, o.stateDir),
    ...(await checkTrainer(config, sh, o.stateDir)),
  ]
  try {
    await o.registry.checkAccess()
    findings.push({ check: 'registry', level: 'ok', message: o.registry.describe() })
  } catch (e) {
    findings.push({ check: 'registry', level: 'error', message: messageOf(e) })
  }
  const target = await decideDeployTarget(config, sh, { noDeploy: false })
  if (target.problem) {
    findings.push({
      check: 'deploy',
      level: 'error',
      message: target.problem,
      fix: 'start Docker, or set deploy.mode: auto',
    })
  } else {
    const how = target.enabled
      ? `deploy.mode ${config.deploy.mode}: a release builds and redeploys`
      : `deploy skipped (${target.reason})`
    findings.push({ check: 'deploy', level: 'ok', message: how })
  }
  if (config.deploy.mode === 'github' && o.github) {
    const gh = await checkGithubTarget({ config, sh, github: o.github }, o.envName)
    for (const p of gh.problems) findings.push({ check: 'github', level: 'error', message: p })
    if (gh.target)
      findings.push({
        check: 'github',
        level: 'ok',
        message:
          `${gh.target.repo}: ${gh.target.variable}=${gh.target.current ?? '(unset)'}; a release starts ` +
          `${gh.target.workflow} (${gh.target.trigger} on ${gh.target.ref})`,
      })
  }
  findings.push(...(await checkApp({ ...o, willDeploy: target.enabled && config.deploy.mode !== 'github' })))
  // Compose's own reading of the environment's files, with the --env-file and -f files a release passes.
  findings.push(
    ...(await checkComposeConfig({
      config,
      envName: o.envName,
      envNames: [o.envName],
      sh,
      files: o.files,
      level: 'error',
    })),
  )
  if (config.deploy.mode === 'swarm' && target.enabled) findings.push(...(await checkSwarm(config, o.envName, sh)))
  findings.push(...checkWorkflows(config, o.envName))
  return findings
}

/** Exit code of `modelship doctor`: 2 with any error, else 0. */
export const doctorExitCode = (findings: readonly Finding[]): number =>
  findings.some((f) => f.level === 'error') ? 2 : 0
