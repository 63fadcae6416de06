import type { ApiRequest } from './api.js'
import type { GithubSettings } from './settings.js'

// Every GitHub REST call modelship makes, as data (the run and the dry-run plan use the same builders).

const repoParams = (g: Pick<GithubSettings, 'owner' | 'name'>) => ({ owner: g.owner, repo: g.name })

/** The variables endpoint of the scope: the repository's, or a GitHub environment's. */
function variablesRoute(g: GithubSettings): { route: string; params: Record<string, string> } {
  return g.environment
    ? {
        route: '/repos/{owner}/{repo}/environments/{environment_name}/variables',
        params: { ...repoParams(g), environment_name: g.environment },
      }
    : { route: '/repos/{owner}/{repo}/actions/variables', params: repoParams(g) }
}

export function getVariableRequest(g: GithubSettings): ApiRequest {
  const v = variablesRoute(g)
  return { baseUrl: g.apiUrl, method: 'GET', route: `${v.route}/{name}`, params: { ...v.params, name: g.variable } }
}

export function updateVariableRequest(g: GithubSettings, value: string): ApiRequest {
  const v = variablesRoute(g)
  return {
    baseUrl: g.apiUrl,
    method: 'PATCH',
    route: `${v.route}/{name}`,
    params: { ...v.params, name: g.variable },
    body: { value },
  }
}

export function createVariableRequest(g: GithubSettings, value: string): ApiRequest {
  const v = variablesRoute(g)
  return { baseUrl: g.apiUrl, method: 'POST', route: v.route, params: v.params, body: { name: g.variable, value } }
}

/** Puts a variable that did not exist before the run back to not existing. */
export function deleteVariableRequest(g: GithubSettings): ApiRequest {
  const v = variablesRoute(g)
  return { baseUrl: g.apiUrl, method: 'DELETE', route: `${v.route}/{name}`, params: { ...v.params, name: g.variable } }
}

export function getRepoRequest(g: GithubSettings): ApiRequest {
  return { baseUrl: g.apiUrl, method: 'GET', route: '/repos/{owner}/{repo}', params: repoParams(g) }
}

export function getWorkflowRequest(g: GithubSettings): ApiRequest {
  return {
    baseUrl: g.apiUrl,
    method: 'GET',
    route: '/repos/{owner}/{repo}/actions/workflows/{workflow_id}',
    params: { ...repoParams(g), workflow_id: g.workflow },
  }
}

/** workflow_dispatch, asking for the run it starts (GitHub answers 200 with its id; older servers 204). */
export function dispatchRequest(g: GithubSettings, ref: string): ApiRequest {
  return {
    baseUrl: g.apiUrl,
    method: 'POST',
    route: '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
    params: { ...repoParams(g), workflow_id: g.workflow },
    body: { ref, inputs: g.inputs, return_run_details: true },
    once: true,
    starts: `workflow ${g.workflow} on ${ref}`,
  }
}

/** The workflow's runs: by event and branch since a time (a dispatch), or by commit (a push). */
export function listRunsRequest(
  g: GithubSettings,
  filter: { event: 'workflow_dispatch' | 'push'; branch?: string; createdSince?: string; headSha?: string },
): ApiRequest {
  return {
    baseUrl: g.apiUrl,
    method: 'GET',
    route: '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs',
    params: { ...repoParams(g), workflow_id: g.workflow },
    query: {
      event: filter.event,
      ...(filter.branch ? { branch: filter.branch } : {}),
      ...(filter.createdSince ? { created: `>=${filter.createdSince}` } : {}),
      ...(filter.headSha ? { head_sha: filter.headSha } : {}),
      per_page: 20,
    },
  }
}

export function getRunRequest(g: GithubSettings, runId: number): ApiRequest {
  return {
    baseUrl: g.apiUrl,
    method: 'GET',
    route: '/repos/{owner}/{repo}/actions/runs/{run_id}',
    params: { ...repoParams(g), run_id: runId },
  }
}

export function listJobsRequest(g: GithubSettings, runId: number): ApiRequest {
  return {
    baseUrl: g.apiUrl,
    method: 'GET',
    route: '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
    params: { ...repoParams(g), run_id: runId },
    query: { filter: 'latest', per_page: 100 },
  }
}

export function pendingDeploymentsRequest(g: GithubSettings, runId: number): ApiRequest {
  return {
    baseUrl: g.apiUrl,
    method: 'GET',
    route: '/repos/{owner}/{repo}/actions/runs/{run_id}/pending_deployments',
    params: { ...repoParams(g), run_id: runId },
  }
}
