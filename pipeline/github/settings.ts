import type { Config, GithubConfig } from '../config/config.js'
import { ModelshipError } from '../engine/errors.js'
import { environmentOf } from '../environment.js'
import type { Command, Shell } from '../ports/types.js'
import { DEFAULT_API_URL } from './api.js'

/** deploy.github for one environment, its overrides applied and the repo resolved. */
export interface GithubSettings {
  readonly envName: string
  /** `owner/name` */
  readonly repo: string
  readonly owner: string
  readonly name: string
  readonly variable: string
  /** The GitHub environment whose variable it is; undefined: a repository variable. */
  readonly environment: string | undefined
  readonly workflow: string
  /** null: the repository's default branch (read once, see {@link refOf}). */
  readonly ref: string | null
  readonly trigger: 'dispatch' | 'push'
  readonly inputs: Readonly<Record<string, string>>
  readonly timeoutS: number
  readonly apiUrl: string
}

/** deploy.github with the environment's `github:` keys over it. */
export function githubConfigOf(config: Config, envName: string): GithubConfig {
  const own = environmentOf(config, envName).github ?? {}
  const merged = { ...config.deploy.github }
  for (const [k, v] of Object.entries(own)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v
  return merged
}

export const remoteUrlCommand = (workspace: string): Command => ['git', '-C', workspace, 'remote', 'get-url', 'origin']

/** `owner/name` of a GitHub remote URL (https, ssh, scp-like), or undefined. */
export function repoOfRemote(url: string): string | undefined {
  const m =
    /^(?:[a-z+]+:\/\/)?(?:[^@/\s]+@)?[^/:\s]+[:/](?:\d+\/)?([A-Za-z0-9][A-Za-z0-9-]*)\/([\w.-]+?)(?:\.git)?\/?$/.exec(
      url.trim(),
    )
  return m ? `${m[1]}/${m[2]}` : undefined
}

/** The settings of one environment; the repo from `git remote get-url origin` when deploy.github.repo is unset. */
export async function resolveGithubSettings(config: Config, envName: string, sh: Shell): Promise<GithubSettings> {
  const g = githubConfigOf(config, envName)
  const at = (key: string): string =>
    environmentOf(config, envName).github?.[key as keyof GithubConfig] !== undefined
      ? `environments.${envName}.github.${key}`
      : `deploy.github.${key}`
  if (!g.workflow)
    throw new ModelshipError('CONFIG', `${at('workflow')}: deploy.mode github needs the workflow to start`, {
      hint: 'name the workflow file under .github/workflows/ that builds and deploys (`modelship doctor` lists them)',
    })
  let repo = g.repo
  if (!repo) {
    let url: string
    try {
      url = await sh.read(remoteUrlCommand(config.workspace))
    } catch (e) {
      throw new ModelshipError('CONFIG', `${at('repo')} is unset and the workspace has no git remote origin`, {
        hint: 'set deploy.github.repo: owner/name',
        cause: e,
      })
    }
    repo = repoOfRemote(url) ?? null
    if (!repo)
      throw new ModelshipError('CONFIG', `${at('repo')} is unset and origin (${url.trim()}) names no owner/name`, {
        hint: 'set deploy.github.repo: owner/name',
      })
  }
  const [owner, name] = repo.split('/') as [string, string]
  const scope = g.scope
  return {
    envName,
    repo,
    owner,
    name,
    variable: g.variable ?? config.deploy.build_arg,
    environment: scope.startsWith('environment:') ? scope.slice('environment:'.length) : undefined,
    workflow: g.workflow,
    ref: g.ref,
    trigger: g.trigger,
    inputs: g.inputs,
    timeoutS: g.timeout_s,
    apiUrl: (g.api_url ?? DEFAULT_API_URL).replace(/\/+$/, ''),
  }
}

/** Where the variable lives, for messages: `repository variable HF_INTENT_MODEL of acme/app`. */
export function variableLabel(g: GithubSettings): string {
  return `${g.environment ? `environment ${g.environment}` : 'repository'} variable ${g.variable} of ${g.repo}`
}
