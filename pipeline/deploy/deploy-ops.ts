import { join } from 'node:path'
import {
  buildCommand,
  configImagesCommand,
  containerImageCommand,
  healthOf,
  imageIdCommand,
  parsePsJson,
  psCommand,
  secretOverrideYaml,
  upCommand,
} from '../compose/docker.js'
import type { Config } from '../config/config.js'
import type { Deps } from '../ports/deps.js'
import type { EditedFile } from '../release/context.js'
import { environmentOf, restoreEditedFiles } from '../environment.js'
import { ModelshipError } from '../engine/errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import type { Command } from '../ports/types.js'
import { formatCommand } from '../ports/shell.js'

export const SECRET_OVERRIDE_FILE = 'compose.hf-token-secret.yml'

/** The compose files of an environment, as given (relative to the workspace, where commands run). */
export function composeFilesOf(config: Config, envName: string): string[] {
  return environmentOf(config, envName).compose
}

/** The build command; with a token, the secret override (kept in the run directory) comes after the user's files. */
export function imageBuildCommand(config: Config, envName: string, modelId: string, secretOverride?: string): Command {
  return buildCommand({
    files: composeFilesOf(config, envName),
    buildArg: config.deploy.build_arg,
    modelId,
    service: config.deploy.service,
    ...(secretOverride ? { secretOverride } : {}),
  })
}

export interface BuildResult {
  model: string
  imageId?: string
}

/**
 * Builds the service image with the model as build arg. HF_TOKEN reaches the build only as a Compose
 * build secret (never a build arg, which would persist in the image history), and only in this command's env.
 */
export async function buildImage(
  deps: Deps,
  o: { envName: string; modelId: string; runDir: string; onLine?: (line: string) => void },
): Promise<BuildResult> {
  const { config, sh, secrets } = deps
  let override: string | undefined
  if (secrets.hfToken) {
    override = join(o.runDir, SECRET_OVERRIDE_FILE)
    await writeFileAtomic(override, secretOverrideYaml(config.deploy.service))
  }
  const files = composeFilesOf(config, o.envName)
  await sh.write(imageBuildCommand(config, o.envName, o.modelId, override), {
    env: secrets.hfToken ? { HF_TOKEN: secrets.hfToken } : {},
    ...(o.onLine ? { onLine: o.onLine } : {}),
  })
  const image = (await sh.read(configImagesCommand({ files, service: config.deploy.service }))).split(/\s+/).filter(Boolean)[0]
  const imageId = image ? (await sh.read(imageIdCommand(image))).trim() : undefined
  return { model: o.modelId, ...(imageId ? { imageId } : {}) }
}

export interface DeployResult {
  health: string
  containerId?: string
  imageId?: string
}

/** `up -d --no-deps --force-recreate`, then waits for health and checks the container runs the image just built. */
export async function deployService(
  deps: Deps,
  o: { envName: string; expectedImageId?: string; onState?: (state: string) => void },
): Promise<DeployResult> {
  const { config, sh } = deps
  const files = composeFilesOf(config, o.envName)
  await sh.write(upCommand({ files, service: config.deploy.service }))
  const health = await waitHealthy(deps, { envName: o.envName, ...(o.onState ? { onState: o.onState } : {}) })
  if (o.expectedImageId && health.containerId) {
    const running = (await sh.read(containerImageCommand(health.containerId))).trim()
    if (running !== o.expectedImageId) {
      throw new ModelshipError('STEP_FAILED', `container ${health.containerId} runs image ${running}, not the one just built (${o.expectedImageId})`)
    }
    return { ...health, imageId: running }
  }
  return health
}

/** Polls `ps --format json` with backoff until healthy (or running without a health check), unhealthy, or the timeout. */
export async function waitHealthy(deps: Deps, o: { envName: string; onState?: (state: string) => void }): Promise<DeployResult> {
  const { config, sh, clock } = deps
  const files = composeFilesOf(config, o.envName)
  const service = config.deploy.service
  const deadline = clock.now().getTime() + config.deploy.health_timeout_s * 1000
  let delay = 250
  let last = ''
  for (;;) {
    const entries = parsePsJson(await sh.read(psCommand({ files, service })))
    const state = healthOf(entries, service)
    if (state !== last) {
      o.onState?.(state)
      last = state
    }
    const entry = entries.find((e) => e.Service === service) ?? entries[0]
    const containerId = entry?.ID
    if (state === 'healthy' || state === 'running') return { health: state, ...(containerId ? { containerId } : {}) }
    if (state === 'unhealthy' || state === 'exited') {
      throw new ModelshipError('STEP_FAILED', `service ${service} is ${state} after redeploy`)
    }
    const left = deadline - clock.now().getTime()
    if (left <= 0) {
      throw new ModelshipError('STEP_FAILED', `service ${service} did not become healthy within ${config.deploy.health_timeout_s}s (last state: ${state})`)
    }
    await clock.sleep(Math.min(delay, left))
    delay = Math.min(delay * 2, 5000)
  }
}

/** The verify commands of an environment: `deploy.verify`, then `deploy.model_check`. */
export function verifyCommands(config: Config, _envName: string): Command[] {
  return [config.deploy.verify, config.deploy.model_check].filter((c): c is Command => c !== null)
}

/** Runs `deploy.verify`, then `deploy.model_check`, whose output must contain the model id. */
export async function verifyService(deps: Deps, o: { envName: string; modelId: string; onLine?: (line: string) => void }): Promise<string[]> {
  const { config, sh } = deps
  const ran: string[] = []
  if (config.deploy.verify) {
    const cmd = config.deploy.verify
    await sh.read(cmd, o.onLine ? { onLine: o.onLine } : {})
    ran.push(formatCommand(cmd))
  }
  if (config.deploy.model_check) {
    const cmd = config.deploy.model_check
    const out = await sh.read(cmd)
    ran.push(formatCommand(cmd))
    if (!out.includes(o.modelId)) {
      throw new ModelshipError('STEP_FAILED', `model check ${formatCommand(cmd)} did not report ${o.modelId} (got: ${out.slice(0, 200).replace(/\s+/g, ' ')})`)
    }
  }
  return ran
}

/** The commands build → up → ps of a deploy, for the dry-run plan. */
export function deployPlan(config: Config, envName: string, modelId: string, withSecret: boolean): { build: Command; up: Command; ps: Command } {
  const files = composeFilesOf(config, envName)
  const service = config.deploy.service
  return {
    build: imageBuildCommand(config, envName, modelId, withSecret ? join('<run-dir>', SECRET_OVERRIDE_FILE) : undefined),
    up: upCommand({ files, service }),
    ps: psCommand({ files, service }),
  }
}

/**
 * After a failed deploy or verify (the new container was started): put the files back byte-identical,
 * rebuild and redeploy the previous model, wait for health. Throws ROLLBACK_FAILED (exit 6) saying
 * which files and containers are in which state, and the commands that finish the job by hand.
 */
export async function restorePreviousDeployment(
  deps: Deps,
  o: { envName: string; edited: readonly EditedFile[]; previousModel: string; runDir: string; onLine?: (line: string) => void },
): Promise<void> {
  const { config } = deps
  const files = composeFilesOf(config, o.envName)
  const service = config.deploy.service
  const byHand = [
    imageBuildCommand(config, o.envName, o.previousModel),
    upCommand({ files, service }),
  ].map(formatCommand)
  let filesState = `edited (still pointing at the new model): ${o.edited.filter((f) => f.changed).map((f) => f.path).join(', ') || 'none'}`
  try {
    await restoreEditedFiles({ workspace: config.workspace, edited: o.edited, files: deps.files, allowOutsideWorkspace: config.allow_outside_workspace })
    filesState = `restored byte-identical to before the run: ${o.edited.map((f) => f.path).join(', ')}`
    const built = await buildImage(deps, { envName: o.envName, modelId: o.previousModel, runDir: o.runDir, ...(o.onLine ? { onLine: o.onLine } : {}) })
    await deployService(deps, { envName: o.envName, ...(built.imageId ? { expectedImageId: built.imageId } : {}) })
  } catch (e) {
    let containers = 'unknown'
    try {
      const entries = parsePsJson(await deps.sh.read(psCommand({ files, service })))
      containers = entries.length ? entries.map((c) => `${c.Name ?? c.ID ?? service}: ${c.State ?? '?'}${c.Health ? ` (${c.Health})` : ''} image ${c.Image ?? '?'}`).join('; ') : 'no container'
    } catch {
      // the engine may be the thing that failed
    }
    throw new ModelshipError('ROLLBACK_FAILED', `restoring ${o.previousModel} failed too: ${(e as Error).message}`, {
      cause: e,
      details: [`files: ${filesState}`, `containers of ${service}: ${containers}`, 'to finish by hand, run in the workspace:', ...byHand.map((c) => `  ${c}`)].join('\n'),
      hint: `the environment ${o.envName} may be running the new model; finish the rollback by hand (commands above)`,
    })
  }
}

/**
 * The failure policy of deploy/verify, shared by release and promote: warn, restore the previous
 * model ({@link restorePreviousDeployment}), and return the ROLLED_BACK error to exit with (5).
 * A failed restore throws ROLLBACK_FAILED (6).
 */
export async function rollBackAfter(
  deps: Deps,
  failure: unknown,
  o: { envName: string; edited: readonly EditedFile[]; previousModel: string; runDir: string },
): Promise<ModelshipError> {
  const reason = failure instanceof Error ? failure.message : String(failure)
  deps.log.warn(`${reason}: rolling back ${o.envName} to ${o.previousModel}`)
  await restorePreviousDeployment(deps, o)
  return new ModelshipError('ROLLED_BACK', `${reason}; ${o.envName} was rolled back to ${o.previousModel}`, {
    cause: failure,
    hint: `the files are as before and ${deps.config.deploy.service} runs ${o.previousModel} again; fix the cause and try again`,
  })
}
