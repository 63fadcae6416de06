import { ModelshipError } from '../engine/errors.js'
import { formatDuration } from '../engine/run-steps.js'
import type { Deps } from '../ports/deps.js'
import type { JournaledRun } from './journal.js'
import { getRunRequest, listJobsRequest, listRunsRequest, pendingDeploymentsRequest } from './requests.js'
import type { GithubSettings } from './settings.js'

// Finding the run a trigger started, and following it to its end.

/** The fields of a workflow run modelship reads (GET /repos/{owner}/{repo}/actions/runs/{run_id}). */
export interface WorkflowRun {
  id: number
  status: string
  conclusion: string | null
  html_url: string
  head_sha?: string
  head_branch?: string | null
  event?: string
  created_at: string
}

interface Job {
  name: string
  status: string
  conclusion: string | null
  html_url?: string
  steps?: Array<{ name: string; status: string; conclusion: string | null; number?: number }>
}

/**
 * The run is not modelship's to judge (it timed out while still going, or two runs could be the one it
 * started): the variable stays set, since the run may be building with it, and `--resume` attaches.
 */
export class RunNotSettled extends ModelshipError {}

/** Run ids that exist before a dispatch (so a run found after it is one the dispatch started). */
export async function runIdsBefore(deps: Pick<Deps, 'github'>, g: GithubSettings, ref: string): Promise<Set<number>> {
  const res = await deps.github.read<{ workflow_runs: WorkflowRun[] }>(
    listRunsRequest(g, { event: 'workflow_dispatch', branch: ref }),
  )
  return new Set(res.data.workflow_runs.map((r) => r.id))
}

// GitHub's clocks and ours differ: a run created up to this long before our clock's dispatch time still counts.
const CLOCK_SKEW_MS = 60_000

/**
 * The run a dispatch (or a push) started, found by workflow, event, branch and creation time (or commit):
 * waits up to `waitS` for it to show; exactly one candidate or an error, never a guess between two.
 */
export async function findRun(
  deps: Pick<Deps, 'github' | 'clock'>,
  g: GithubSettings,
  o: { ref: string; since: Date; known?: ReadonlySet<number>; headSha?: string; waitS?: number },
): Promise<JournaledRun | undefined> {
  const deadline = deps.clock.now().getTime() + (o.waitS ?? 60) * 1000
  const since = new Date(o.since.getTime() - CLOCK_SKEW_MS)
  const req = o.headSha
    ? listRunsRequest(g, { event: 'push', headSha: o.headSha })
    : listRunsRequest(g, { event: 'workflow_dispatch', branch: o.ref, createdSince: since.toISOString() })
  let delay = 1000
  for (;;) {
    const runs = (await deps.github.read<{ workflow_runs: WorkflowRun[] }>(req)).data.workflow_runs
    const candidates = runs.filter(
      (r) =>
        !o.known?.has(r.id) &&
        (o.headSha ? r.head_sha === o.headSha : Date.parse(r.created_at) >= since.getTime()) &&
        (r.head_branch === undefined || r.head_branch === null || r.head_branch === o.ref),
    )
    if (candidates.length > 1) {
      throw new RunNotSettled(
        'STEP_FAILED',
        `${candidates.length} runs of ${g.workflow} match the ` +
          `${o.headSha ? `commit ${o.headSha.slice(0, 12)}` : `dispatch on ${o.ref}`}: ` +
          `refusing to guess which one modelship started (${candidates.map((r) => r.html_url).join(', ')})`,
        {
          hint:
            `watch them in GitHub; ${g.variable} stays set. Once one has finished, \`modelship release ` +
            `--resume\` checks again`,
        },
      )
    }
    const [run] = candidates
    if (run) return { id: run.id, htmlUrl: run.html_url }
    const left = deadline - deps.clock.now().getTime()
    if (left <= 0) return undefined
    await deps.clock.sleep(Math.min(delay, left))
    delay = Math.min(delay * 2, 10_000)
  }
}

/** How the run ended: its conclusion, and for a failure the failed job and step. */
export interface RunOutcome {
  conclusion: string
  htmlUrl: string
}

/**
 * Follows a run to its end: its status and each job's as a progress line whenever one changes (with the
 * time since following began); a wait on an environment's required reviewers said once, with the run's
 * page. Polls fast after a change, slower while nothing moves (GitHub's rate limit is per hour).
 */
export async function followRun(
  deps: Pick<Deps, 'github' | 'clock' | 'log'>,
  g: GithubSettings,
  run: JournaledRun,
  o: { onLine: (line: string) => void; timeoutS: number },
): Promise<RunOutcome> {
  const { clock } = deps
  const started = clock.now().getTime()
  const deadline = started + o.timeoutS * 1000
  let last = ''
  let approvalSaid = false
  let delay = 500
  for (;;) {
    const r = (await deps.github.read<WorkflowRun>(getRunRequest(g, run.id))).data
    const jobs = (await deps.github.read<{ jobs: Job[] }>(listJobsRequest(g, run.id))).data.jobs ?? []
    const state = `${r.status}${r.conclusion ? ` ${r.conclusion}` : ''}`
    const jobStates = jobs.map((j) => `${j.name} ${j.conclusion ?? j.status}`).join(', ')
    const line = `run ${r.id} ${state}${jobStates ? `: ${jobStates}` : ''}`
    if (line !== last) {
      o.onLine(`${line} (${formatDuration(clock.now().getTime() - started)})`)
      last = line
      delay = 500
    } else delay = Math.min(delay * 2, 10_000)
    if (r.status === 'waiting' && !approvalSaid) {
      approvalSaid = true
      const pending = await deps.github
        .read<Array<{ environment?: { name?: string } }>>(pendingDeploymentsRequest(g, run.id))
        .then((res) => res.data.map((p) => p.environment?.name).filter((n): n is string => Boolean(n)))
        .catch(() => [] as string[])
      const where = pending.length ? pending.join(', ') : 'a protected environment'
      deps.log.info(`waiting for approval in ${where}: ${r.html_url}`)
    }
    if (r.status === 'completed') {
      const conclusion = r.conclusion ?? 'unknown'
      if (conclusion === 'success') return { conclusion, htmlUrl: r.html_url }
      throw new ModelshipError('STEP_FAILED', `workflow run ${r.id} ${conclusion}${failedPart(jobs)}: ${r.html_url}`)
    }
    const left = deadline - clock.now().getTime()
    if (left <= 0) {
      throw new RunNotSettled(
        'STEP_FAILED',
        `workflow run ${r.id} is still ${r.status} after ${o.timeoutS}s (deploy.github.timeout_s): ${r.html_url}`,
        {
          hint:
            `it goes on in GitHub and ${g.variable} stays set: \`modelship release --resume\` follows run ` +
            `${r.id} to its end (it never starts a second)`,
        },
      )
    }
    await clock.sleep(Math.min(delay, left))
  }
}

/** `: job "deploy", step "Wait for /health"` for the first failed job, or nothing when no job says. */
function failedPart(jobs: readonly Job[]): string {
  const job =
    jobs.find((j) => j.conclusion === 'failure') ?? jobs.find((j) => j.conclusion && j.conclusion !== 'success')
  if (!job) return ''
  const step = job.steps?.find((s) => s.conclusion === 'failure')
  return `: job "${job.name}"${step ? `, step "${step.name}"` : ''}`
}
