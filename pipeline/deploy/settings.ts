import type { Config } from '../config/config.js'
import { environmentOf } from '../environment.js'
import type { Command } from '../ports/types.js'
import type { ComposeTarget, ImageTag } from './commands.js'
import { type Host, parseHosts } from './host.js'

/**
 * Everything a deploy of one environment reads from the config, resolved once: the hosts (the first is
 * the canary), the env files and compose files every compose command gets, and the checks, where the
 * environment's own `verify`, `model_check` and `health_timeout_s` override `deploy.*` for it alone.
 */
export interface DeploySettings {
  readonly envName: string
  readonly mode: 'compose' | 'image' | 'swarm'
  readonly service: string
  readonly buildArg: string
  readonly hosts: readonly Host[]
  readonly envFile: readonly string[]
  readonly files: readonly string[]
  readonly verify: Command | null
  readonly modelCheck: Command | null
  readonly healthTimeoutS: number
  readonly tagVar: string
  readonly imageTagTemplate: string
  /** swarm mode: `deploy.stack` (null: the compose project name, read from `docker compose config`). */
  readonly stack: string | null
}

export function deploySettingsOf(config: Config, envName: string): DeploySettings {
  const env = environmentOf(config, envName)
  const d = config.deploy
  return {
    envName,
    // `auto` deploys like `compose` once an engine answers; `none` never gets here (the steps are skipped).
    mode: d.mode === 'image' || d.mode === 'swarm' ? d.mode : 'compose',
    service: d.service,
    buildArg: d.build_arg,
    hosts: parseHosts(env.hosts, `environments.${envName}.hosts`),
    envFile: env.env_file ?? [],
    files: env.compose,
    // As config.ts documents them: null or absent in an environment means "not overridden", false "none here".
    verify: env.verify === false ? null : (env.verify ?? d.verify),
    modelCheck: env.model_check === false ? null : (env.model_check ?? d.model_check),
    healthTimeoutS: env.health_timeout_s ?? d.health_timeout_s,
    tagVar: d.tag_var,
    imageTagTemplate: d.image_tag,
    stack: d.stack,
  }
}

/** Where one compose command of the environment runs and what it reads. */
export function targetOn(s: DeploySettings, host: Host, extraFiles: readonly string[] = []): ComposeTarget {
  return { host, envFile: s.envFile, files: [...s.files, ...extraFiles] }
}

/** The tag in a command's environment (image mode), or undefined (compose mode, or no tag known). */
export function tagOf(s: DeploySettings, value: string | undefined): ImageTag | undefined {
  return value === undefined ? undefined : { variable: s.tagVar, value }
}

/**
 * Image and swarm mode build one image where modelship runs and push it under the release's tag (`publish`);
 * compose mode builds on each host and pushes nothing.
 */
export const publishesImage = (s: Pick<DeploySettings, 'mode'>): boolean => s.mode !== 'compose'
