import { ModelshipError } from '../engine/errors.js'
import type { Redactor } from '../secrets/redact.js'

/** One REST call as data: built by pure functions (requests.ts), run by the port, listed by dry-run. */
export interface ApiRequest {
  /** The REST API base URL (GitHub Enterprise Server: `https://HOST/api/v3`). */
  readonly baseUrl: string
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** The route with `{param}` placeholders, as GitHub's REST docs write it. */
  readonly route: string
  readonly params: Readonly<Record<string, string | number>>
  readonly query?: Readonly<Record<string, string | number>>
  readonly body?: Readonly<Record<string, unknown>>
  /** A write that must never be repeated on its own (a dispatch: a retry could start a second run). */
  readonly once?: boolean
  /** What the write starts, for the plan: `workflow deploy.yml on master`. */
  readonly starts?: string
}

export interface ApiResponse<T> {
  status: number
  data: T
  headers: Readonly<Record<string, string | undefined>>
}

/**
 * The only way modelship talks to GitHub. `read` always runs; `write` changes something and, in a dry
 * run, adds a plan line (method, path, body) instead and returns undefined. Errors are {@link GitHubError}s,
 * their messages redacted.
 */
export interface GitHubApi {
  read<T>(req: ApiRequest): Promise<ApiResponse<T>>
  write<T>(req: ApiRequest): Promise<ApiResponse<T> | undefined>
  /** Where the calls go, and the token's source (never its value): for messages. */
  describe(): string
}

/** A failed call: the HTTP status and the headers that say which permission the token lacks. */
export class GitHubError extends ModelshipError {
  readonly status: number
  /** `x-accepted-github-permissions` (fine-grained tokens: what the endpoint needs). */
  readonly acceptedPermissions: string | undefined
  /** `x-oauth-scopes` (classic tokens: the scopes it has). */
  readonly scopes: string | undefined
  readonly request: ApiRequest

  constructor(
    request: ApiRequest,
    status: number,
    message: string,
    headers: Readonly<Record<string, string | undefined>> = {},
  ) {
    super(status === 401 ? 'AUTH' : 'STEP_FAILED', `GitHub ${request.method} ${pathOf(request)}: ${status} ${message}`)
    this.name = 'GitHubError'
    this.status = status
    this.acceptedPermissions = headers['x-accepted-github-permissions']
    this.scopes = headers['x-oauth-scopes']
    this.request = request
  }
}

/** The request's path with its parameters filled in (each one URL-encoded) and its query. */
export function pathOf(req: ApiRequest): string {
  const path = req.route.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = req.params[name]
    if (v === undefined) throw new Error(`${req.route}: no value for {${name}}`)
    // owner/repo are one parameter each; a path separator in a value would change the route.
    return encodeURIComponent(String(v))
  })
  const query = Object.entries(req.query ?? {})
  return query.length
    ? `${path}?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    : path
}

export const DEFAULT_API_URL = 'https://api.github.com'

/** How the real port gets its token: asked once, on the first call (`gh auth token` is a child process). */
export type TokenSource = (baseUrl: string) => Promise<{ token: string; source: string } | undefined>

/**
 * The real port: Octokit (core + retry + throttling), loaded on the first call only, so commands that
 * never talk to GitHub never load it. The token is registered with the redactor before any call.
 */
export function createGitHubApi(o: { token: TokenSource; redact: Redactor }): GitHubApi {
  type Client = { request(route: string, params: Record<string, unknown>): Promise<ApiResponse<unknown>> }
  let client: Promise<{ octokit: Client; source: string }> | undefined
  let source = 'no token yet'
  const open = async (baseUrl: string) => {
    const found = await o.token(baseUrl)
    if (!found)
      throw new ModelshipError(
        'AUTH',
        'no GitHub token: GITHUB_TOKEN and GH_TOKEN are unset and `gh auth token` gave none',
        {
          hint:
            'set GITHUB_TOKEN (fine-grained: Variables read/write and Actions read/write on the repo; classic: ' +
            'repo and workflow scopes), or run `gh auth login`',
        },
      )
    o.redact.add(found.token)
    source = found.source
    const [{ Octokit }, { retry }, { throttling }] = await Promise.all([
      import('@octokit/core'),
      import('@octokit/plugin-retry'),
      import('@octokit/plugin-throttling'),
    ])
    const Client = Octokit.plugin(retry, throttling)
    const octokit = new Client({
      auth: found.token,
      userAgent: 'modelship',
      throttle: {
        // Waits for the rate limit window twice, then the call fails with GitHub's message.
        onRateLimit: (_after: number, _opts: unknown, _k: unknown, retryCount: number) => retryCount < 2,
        onSecondaryRateLimit: (_after: number, _opts: unknown, _k: unknown, retryCount: number) => retryCount < 2,
      },
    }) as unknown as Client
    return { octokit, source }
  }
  const call = async <T>(req: ApiRequest): Promise<ApiResponse<T>> => {
    client ??= open(req.baseUrl)
    const { octokit } = await client.catch((e: unknown) => {
      client = undefined
      throw e
    })
    try {
      const res = await octokit.request(`${req.method} ${req.route}`, {
        ...req.params,
        ...req.query,
        ...req.body,
        baseUrl: req.baseUrl,
        ...(req.once ? { request: { retries: 0 } } : {}),
      })
      return { status: res.status, data: res.data as T, headers: res.headers }
    } catch (e) {
      const err = e as { status?: number; message?: string; response?: { headers?: Record<string, string> } }
      if (typeof err.status !== 'number') {
        throw new ModelshipError('STEP_FAILED', o.redact(`GitHub ${req.method} ${pathOf(req)}: ${err.message ?? e}`), {
          cause: e,
        })
      }
      throw new GitHubError(req, err.status, o.redact(firstLine(err.message ?? '')), err.response?.headers ?? {})
    }
  }
  return { read: call, write: call, describe: () => `GitHub (token from ${source})` }
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').slice(0, 300)
}
