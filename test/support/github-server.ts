/**
 * A GitHub REST API server for tests (node:http): exactly the endpoints modelship calls in deploy.mode
 * github, with the documented shapes and status codes — repository and environment variables (get,
 * update, create, delete), a repository and its workflows, workflow_dispatch (200 with the run's details
 * as `return_run_details` asks, or the older 204), workflow runs (list with event/branch/created/head_sha
 * filters, get), a run's jobs and its pending deployments.
 *
 * A run walks through the stages the test gives (default queued → waiting for approval in production →
 * in_progress → completed success), one stage per poll of the run (a read of its jobs), so a test decides how long each
 * lasts
 * without any real waiting; `hold` keeps a run where it is until `release`. With `remote` (a bare git
 * repository on disk), a push to the watched branch starts a run for the pushed commit, as GitHub's `on:
 * push` does.
 */
import { execFileSync } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TokenSpec {
  /** fine-grained tokens: the repository permissions they have; classic: the scopes. */
  kind: 'fine-grained' | 'classic'
  permissions?: ReadonlyArray<'variables' | 'actions' | 'environments'>
  scopes?: readonly string[]
}

export interface Stage {
  status: 'queued' | 'waiting' | 'in_progress' | 'completed'
  conclusion?: 'success' | 'failure' | 'cancelled'
  /** Polls of the run this stage lasts (default 1). */
  polls?: number
}

export interface GithubServerOptions {
  repo?: string
  defaultBranch?: string
  tokens?: Record<string, TokenSpec>
  /** Workflow file names (their ids are 1001, 1002, …). */
  workflows?: readonly string[]
  /** How a dispatch is answered: 200 with the run's details (default), or 204 without them. */
  dispatchAnswer?: 'details' | 'no-content'
  /** Someone else dispatches the same workflow on the same branch at the same moment (two candidates). */
  concurrentDispatch?: boolean
  stages?: readonly Stage[]
  /** The protected GitHub environment the waiting stage waits on. */
  approvalEnvironment?: string
  /** A bare git repository: a push to `pushBranch` of it starts a run (event push) for its head commit. */
  remote?: string
  pushBranch?: string
  /** Variables present from the start: `repository` or `environment:<name>` → name → value. */
  variables?: Record<string, Record<string, string>>
}

export interface RecordedCall {
  method: string
  path: string
  body?: unknown
  token?: string
}

export interface FakeRun {
  id: number
  workflow: string
  event: 'workflow_dispatch' | 'push'
  branch: string
  headSha: string
  createdAt: string
  stage: number
  pollsInStage: number
  held: boolean
  /** What the variable said when the run's build read it (its first poll of the jobs). */
  builtWith?: string | undefined
}

export interface GithubServer {
  url: string
  calls: RecordedCall[]
  runs: FakeRun[]
  variables: Map<string, Map<string, string>>
  variable(name: string, scope?: string): string | undefined
  /** Keep a run at its current stage (e.g. waiting for approval) until {@link release}. */
  hold(runId?: number): void
  release(runId?: number): void
  /** Calls matching a method and a path fragment. */
  count(method: string, pathPart: string): number
  close(): Promise<void>
}

const DEFAULT_STAGES: readonly Stage[] = [
  { status: 'queued' },
  { status: 'waiting', polls: 2 },
  { status: 'in_progress' },
  { status: 'completed', conclusion: 'success' },
]

export async function startGithubServer(o: GithubServerOptions = {}): Promise<GithubServer> {
  const repo = o.repo ?? 'acme/app'
  const tokens = o.tokens ?? { 'test-token': { kind: 'fine-grained', permissions: ['variables', 'actions'] } }
  const workflows = (o.workflows ?? ['deploy-production.yml', 'deploy-qa.yml']).map((path, i) => ({
    id: 1001 + i,
    path: `.github/workflows/${path}`,
    file: path,
    name: path.replace(/\.ya?ml$/, ''),
  }))
  const stages = o.stages ?? DEFAULT_STAGES
  const approvalEnv = o.approvalEnvironment ?? 'production'
  const variables = new Map<string, Map<string, string>>()
  for (const [scope, vars] of Object.entries(o.variables ?? {})) variables.set(scope, new Map(Object.entries(vars)))
  const calls: RecordedCall[] = []
  const runs: FakeRun[] = []
  let nextRunId = 7001
  let heldAll = false
  let url = ''
  const htmlOf = (id: number) => `https://github.example/${repo}/actions/runs/${id}`
  const seenPushes = new Set<string>()

  const newRun = (workflow: string, event: FakeRun['event'], branch: string, headSha: string): FakeRun => {
    const run: FakeRun = {
      id: nextRunId++,
      workflow,
      event,
      branch,
      headSha,
      createdAt: new Date().toISOString(),
      stage: 0,
      pollsInStage: 0,
      held: heldAll,
    }
    runs.push(run)
    return run
  }
  const stageOf = (r: FakeRun): Stage => stages[Math.min(r.stage, stages.length - 1)]!
  const runJson = (r: FakeRun) => {
    const s = stageOf(r)
    return {
      id: r.id,
      name: r.workflow.replace(/\.ya?ml$/, ''),
      path: `.github/workflows/${r.workflow}`,
      event: r.event,
      head_branch: r.branch,
      head_sha: r.headSha,
      status: s.status,
      conclusion: s.status === 'completed' ? (s.conclusion ?? 'success') : null,
      html_url: htmlOf(r.id),
      url: `${url}/repos/${repo}/actions/runs/${r.id}`,
      created_at: r.createdAt,
      updated_at: new Date().toISOString(),
      run_attempt: 1,
    }
  }
  const jobsOf = (r: FakeRun) => {
    const s = stageOf(r)
    const done = (conclusion: string) => ({ status: 'completed', conclusion })
    const build =
      s.status === 'queued'
        ? { status: 'queued', conclusion: null }
        : s.status === 'in_progress' && r.stage === 0
          ? { status: 'in_progress', conclusion: null }
          : done('success')
    const deploy =
      s.status === 'queued'
        ? { status: 'queued', conclusion: null }
        : s.status === 'waiting'
          ? { status: 'waiting', conclusion: null }
          : s.status === 'in_progress'
            ? { status: 'in_progress', conclusion: null }
            : done(s.conclusion ?? 'success')
    const failedStep = deploy.conclusion === 'failure'
    return [
      { id: r.id * 10 + 1, run_id: r.id, name: 'build / build-and-push', ...build, steps: [] },
      {
        id: r.id * 10 + 2,
        run_id: r.id,
        name: 'deploy',
        ...deploy,
        html_url: `${htmlOf(r.id)}/job/${r.id * 10 + 2}`,
        steps: [
          {
            name: 'Pull and restart',
            number: 1,
            status: 'completed',
            conclusion: deploy.conclusion ? 'success' : null,
          },
          {
            name: 'Wait for /health',
            number: 2,
            status: deploy.conclusion ? 'completed' : 'queued',
            conclusion: failedStep ? 'failure' : deploy.conclusion,
          },
        ],
      },
    ]
  }
  const advance = (r: FakeRun) => {
    if (r.builtWith === undefined && r.stage === 0 && r.pollsInStage === 0)
      r.builtWith = variables.get('repository')?.get('HF_INTENT_MODEL') ?? '(unset)'
    if (r.held) return
    r.pollsInStage++
    if (r.pollsInStage >= (stageOf(r).polls ?? 1) && r.stage < stages.length - 1) {
      r.stage++
      r.pollsInStage = 0
    }
  }
  // GitHub's on: push — a new head on the watched branch of the bare remote starts a run.
  const watchPushes = () => {
    if (!o.remote) return
    const branch = o.pushBranch ?? o.defaultBranch ?? 'master'
    let sha: string
    try {
      sha = execFileSync('git', ['--git-dir', o.remote, 'rev-parse', `refs/heads/${branch}`], {
        encoding: 'utf8',
      }).trim()
    } catch {
      return
    }
    if (seenPushes.has(sha)) return
    seenPushes.add(sha)
    for (const w of workflows) if (w.file === workflows[0]!.file) newRun(w.file, 'push', branch, sha)
  }
  if (o.remote) {
    // The commit already there when the test starts is not a push the test makes.
    try {
      const branch = o.pushBranch ?? o.defaultBranch ?? 'master'
      seenPushes.add(
        execFileSync('git', ['--git-dir', o.remote, 'rev-parse', `refs/heads/${branch}`], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      )
    } catch {}
  }

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    res.end(body === undefined ? undefined : JSON.stringify(body))
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ''
    req.on('data', (d: Buffer) => (raw += d.toString()))
    req.on('end', () => {
      try {
        handle(req, res, raw)
      } catch (e) {
        send(res, 500, { message: String(e) })
      }
    })
  })

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const u = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined
    const auth = req.headers.authorization ?? ''
    const token = auth.replace(/^(token|bearer)\s+/i, '')
    calls.push({ method, path: `${u.pathname}${u.search}`, ...(body ? { body } : {}), ...(token ? { token } : {}) })
    const spec = tokens[token]
    if (!spec) return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' })
    const scopeHeaders: Record<string, string> =
      spec.kind === 'classic' ? { 'x-oauth-scopes': (spec.scopes ?? []).join(', ') } : {}
    const denied = (permission: string, level: 'read' | 'write') => {
      if (spec.kind === 'classic') {
        if ((spec.scopes ?? []).includes('repo')) return false
        send(res, 404, { message: 'Not Found' }, scopeHeaders)
        return true
      }
      if ((spec.permissions ?? []).includes(permission as 'variables')) return false
      const accepted = permission === 'variables' ? 'actions_variables' : permission
      send(
        res,
        403,
        { message: 'Resource not accessible by personal access token', status: '403' },
        { 'x-accepted-github-permissions': `${accepted}=${level}` },
      )
      return true
    }
    const ok = (status: number, data?: unknown) => send(res, status, data, scopeHeaders)
    const p = u.pathname
    const repoPrefix = `/repos/${repo}`
    if (!p.startsWith(repoPrefix)) return send(res, 404, { message: 'Not Found' })
    const rest = p.slice(repoPrefix.length)
    if (rest === '' && method === 'GET')
      return ok(200, { full_name: repo, default_branch: o.defaultBranch ?? 'master' })

    // Variables: /actions/variables[/NAME] and /environments/ENV/variables[/NAME]
    const v = /^(?:\/actions|\/environments\/([^/]+))\/variables(?:\/([^/]+))?$/.exec(rest)
    if (v) {
      const envName = v[1] ? decodeURIComponent(v[1]) : undefined
      const scope = envName ? `environment:${envName}` : 'repository'
      const permission = envName ? 'environments' : 'variables'
      if (denied(permission, method === 'GET' ? 'read' : 'write')) return
      const vars = variables.get(scope) ?? new Map<string, string>()
      variables.set(scope, vars)
      const name = v[2] ? decodeURIComponent(v[2]) : undefined
      const now = new Date().toISOString()
      if (name && method === 'GET')
        return vars.has(name)
          ? ok(200, { name, value: vars.get(name), created_at: now, updated_at: now })
          : ok(404, { message: 'Not Found' })
      if (name && method === 'PATCH') {
        if (!vars.has(name)) return ok(404, { message: 'Not Found' })
        vars.set(name, String(body?.value))
        return ok(204)
      }
      if (name && method === 'DELETE') {
        vars.delete(name)
        return ok(204)
      }
      if (!name && method === 'POST') {
        const n = String(body?.name)
        if (vars.has(n)) return ok(409, { message: 'Already exists' })
        vars.set(n, String(body?.value))
        return ok(201, {})
      }
    }

    const w = /^\/actions\/workflows\/([^/]+)(\/dispatches|\/runs)?$/.exec(rest)
    if (w) {
      if (denied('actions', method === 'GET' ? 'read' : 'write')) return
      const id = decodeURIComponent(w[1]!)
      const wf = workflows.find((x) => x.file === id || String(x.id) === id)
      if (!wf) return ok(404, { message: 'Not Found' })
      if (!w[2] && method === 'GET') return ok(200, { id: wf.id, name: wf.name, path: wf.path, state: 'active' })
      if (w[2] === '/dispatches' && method === 'POST') {
        const ref = String(body?.ref)
        const run = newRun(wf.file, 'workflow_dispatch', ref, `sha-${nextRunId}`)
        if (o.concurrentDispatch) newRun(wf.file, 'workflow_dispatch', ref, `sha-${nextRunId}`)
        if (o.dispatchAnswer === 'no-content' || body?.return_run_details !== true || o.concurrentDispatch)
          return ok(204)
        return ok(200, {
          workflow_run_id: run.id,
          run_url: `${url}/repos/${repo}/actions/runs/${run.id}`,
          html_url: htmlOf(run.id),
        })
      }
      if (w[2] === '/runs' && method === 'GET') {
        watchPushes()
        const event = u.searchParams.get('event')
        const branch = u.searchParams.get('branch')
        const created = u.searchParams.get('created')
        const headSha = u.searchParams.get('head_sha')
        const since = created?.startsWith('>=') ? Date.parse(created.slice(2)) : undefined
        const list = runs
          .filter(
            (r) =>
              r.workflow === wf.file &&
              (!event || r.event === event) &&
              (!branch || r.branch === branch) &&
              (!headSha || r.headSha === headSha) &&
              (since === undefined || Date.parse(r.createdAt) >= since),
          )
          .reverse()
        return ok(200, { total_count: list.length, workflow_runs: list.map(runJson) })
      }
    }

    const r = /^\/actions\/runs\/(\d+)(\/jobs|\/pending_deployments)?$/.exec(rest)
    if (r && method === 'GET') {
      if (denied('actions', 'read')) return
      const run = runs.find((x) => x.id === Number(r[1]))
      if (!run) return ok(404, { message: 'Not Found' })
      if (!r[2]) return ok(200, runJson(run))
      // A poll is a run read then its jobs read: the run moves on after the jobs are answered, so both agree.
      if (r[2] === '/jobs') {
        const jobs = jobsOf(run)
        advance(run)
        return ok(200, { total_count: jobs.length, jobs })
      }
      return ok(
        200,
        stageOf(run).status === 'waiting'
          ? [
              {
                environment: { id: 1, name: approvalEnv },
                wait_timer: 0,
                current_user_can_approve: true,
                reviewers: [{ type: 'User', reviewer: { login: 'release-manager' } }],
              },
            ]
          : [],
      )
    }
    return send(res, 404, { message: 'Not Found' })
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    calls,
    runs,
    variables,
    variable: (name, scope = 'repository') => variables.get(scope)?.get(name),
    hold(runId) {
      if (runId === undefined) heldAll = true
      for (const run of runs) if (runId === undefined || run.id === runId) run.held = true
    },
    release(runId) {
      if (runId === undefined) heldAll = false
      for (const run of runs) if (runId === undefined || run.id === runId) run.held = false
    },
    count: (method, part) => calls.filter((c) => c.method === method && c.path.includes(part)).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
