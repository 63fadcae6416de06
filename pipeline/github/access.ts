import { messageOf } from '../engine/errors.js'
import type { Deps } from '../ports/deps.js'
import { GitHubError } from './api.js'
import { checkPushBranch } from './push-trigger.js'
import { getRepoRequest, getWorkflowRequest } from './requests.js'
import { type GithubSettings, resolveGithubSettings, variableLabel } from './settings.js'
import { readVariable } from './variable.js'

/** What preflight found out about the GitHub side (StepOutputs.githubTarget): the settings, resolved. */
export interface GithubTarget extends GithubSettings {
  readonly ref: string
  /** The workflow's name as GitHub shows it. */
  readonly workflowName?: string
  /** The variable's value now; null: it does not exist (the deploy creates it). */
  readonly current: string | null
}

/** What the token lacks, from the answer's headers: fine-grained tokens and classic ones say it differently. */
export function missingPermission(e: GitHubError, what: 'variables' | 'environment variables' | 'actions'): string {
  const fine =
    what === 'actions'
      ? '"Actions: Read and write"'
      : what === 'variables'
        ? '"Variables: Read and write"'
        : '"Environments: Read and write"'
  if (e.scopes !== undefined) {
    const has = e.scopes.split(',').map((s) => s.trim())
    const missing = ['repo', 'workflow'].filter((s) => !has.includes(s))
    return (
      `a classic token needs the ${missing.length ? missing.join(' and ') : 'repo and workflow'} ` +
      `scope${missing.length === 1 ? '' : 's'} (it has: ${e.scopes || 'none'})`
    )
  }
  const accepted = e.acceptedPermissions ? ` (GitHub accepts: ${e.acceptedPermissions})` : ''
  return (
    `a fine-grained token needs the repository permission ${fine}${accepted}; a classic token the repo and ` +
    `workflow scopes`
  )
}

/**
 * Preflight of deploy.mode github: the settings resolve, a token exists, and it can read the variable and
 * the workflow (one call each; the repository's default branch once more when deploy.github.ref is unset).
 * Returns the target, or the problems (each names the key, the permission or the fix).
 */
export async function checkGithubTarget(
  deps: Pick<Deps, 'config' | 'sh' | 'github'>,
  envName: string,
): Promise<{ target?: GithubTarget; problems: string[] }> {
  let g: GithubSettings
  try {
    g = await resolveGithubSettings(deps.config, envName, deps.sh)
  } catch (e) {
    return { problems: [messageOf(e)] }
  }
  const problems: string[] = []
  const describeError = (e: unknown, what: string, kind: 'variables' | 'environment variables' | 'actions') => {
    if (!(e instanceof GitHubError)) return messageOf(e)
    if (e.status === 401) return `GitHub refused the token (401 bad credentials) reading ${what}`
    if (e.status === 403) return `the GitHub token cannot read ${what} (403): ${missingPermission(e, kind)}`
    if (e.status === 404 && kind === 'actions')
      return (
        `${what} not found (404): check deploy.github.workflow and repo, or the token lacks access — ` +
        `${missingPermission(e, kind)}`
      )
    return messageOf(e)
  }
  const [current, workflow] = await Promise.all([
    readVariable(deps, g).catch((e: unknown) => {
      problems.push(describeError(e, `the ${variableLabel(g)}`, g.environment ? 'environment variables' : 'variables'))
      return undefined
    }),
    deps.github.read<{ name?: string; state?: string }>(getWorkflowRequest(g)).then(
      (res) => res.data,
      (e: unknown) => {
        problems.push(describeError(e, `workflow ${g.workflow} of ${g.repo}`, 'actions'))
        return undefined
      },
    ),
  ])
  // The token is missing altogether: one line says it, not one per call.
  if (problems.length > 1 && problems.every((p) => p === problems[0])) problems.length = 1
  if (problems.length) return { problems }
  if (workflow?.state && workflow.state !== 'active')
    problems.push(`workflow ${g.workflow} of ${g.repo} is ${workflow.state}: enable it in the repository's Actions tab`)
  let ref = g.ref
  if (!ref) {
    try {
      ref = (await deps.github.read<{ default_branch: string }>(getRepoRequest(g))).data.default_branch
    } catch (e) {
      problems.push(`deploy.github.ref is unset and the default branch of ${g.repo} could not be read: ${messageOf(e)}`)
      return { problems }
    }
  }
  if (g.trigger === 'push') {
    const p = await checkPushBranch(deps, ref)
    if (p) problems.push(p)
  }
  return {
    problems,
    target: { ...g, ref, ...(workflow?.name ? { workflowName: workflow.name } : {}), current: current ?? null },
  }
}
