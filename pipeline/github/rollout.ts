import { restoreEditedFiles } from '../environment.js'
import { isModelshipError, messageOf, ModelshipError } from '../engine/errors.js'
import type { PlanEntry } from '../engine/plan.js'
import type { Deps } from '../ports/deps.js'
import { apiPlanEntry } from '../ports/dry-run.js'
import type { Ctx } from '../release/context.js'
import type { ApiResponse } from './api.js'
import { GitHubError } from './api.js'
import type { GithubTarget } from './access.js'
import { type GithubJournal, type JournaledRun, readJournal, writeJournal } from './journal.js'
import { commitAndPush, commitCommand, pushCommand } from './push-trigger.js'
import {
  createVariableRequest,
  dispatchRequest,
  getRunRequest,
  getVariableRequest,
  updateVariableRequest,
} from './requests.js'
import { findRun, followRun, RunNotSettled, runIdsBefore } from './runs.js'
import { type GithubSettings, resolveGithubSettings, variableLabel } from './settings.js'
import { readVariable, restoreVariable, writeVariable } from './variable.js'

// deploy in deploy.mode github: set the variable the CI build reads, start the workflow, follow the run.
// Every side effect is journaled before and after (journal.ts): a replay never starts a second run.

/** The settings with the ref preflight resolved (the repository's default branch when unset). */
async function settingsOf(deps: Deps, ctx: Ctx): Promise<GithubSettings & { ref: string }> {
  const g = await resolveGithubSettings(deps.config, ctx.envName, deps.sh)
  const ref = g.ref ?? ctx.githubTarget?.ref
  if (!ref) throw new ModelshipError('MISSING_OUTPUT', 'deploy: preflight resolved no branch for deploy.github.ref')
  return { ...g, ref }
}

const commitMessage = (envName: string, modelId: string, variable: string): string =>
  `modelship: ${envName} → ${modelId} (${variable})`

/** Sets the variable to the model, starts the workflow (or pushes), and follows the run to its end. */
export async function deployWithGithub(
  deps: Deps,
  ctx: Ctx,
  o: { modelId: string; onLine: (line: string) => void },
): Promise<{ run: JournaledRun; settings: GithubSettings }> {
  const g = await settingsOf(deps, ctx)
  let j = readJournal(ctx.runDir)
  const same =
    j?.modelId === o.modelId &&
    j.repo === g.repo &&
    j.variable === g.variable &&
    j.environment === (g.environment ?? null)
  if (!j || !same) {
    j = {
      modelId: o.modelId,
      repo: g.repo,
      variable: g.variable,
      environment: g.environment ?? null,
      previous: await readVariable(deps, g),
      set: false,
    }
    writeJournal(ctx.runDir, j)
  } else if (j.run?.conclusion && j.run.conclusion !== 'success') {
    // A resumed run after a failed workflow run (the variable was put back): a new attempt, a new run.
    const { run: _run, dispatchingAt: _at, headSha: _sha, ...rest } = j
    j = rest
    writeJournal(ctx.runDir, j)
  }
  if (!j.set) {
    await setVariable(deps, g, o.modelId, j.previous !== null)
    j.set = true
    writeJournal(ctx.runDir, j)
    o.onLine(`${variableLabel(g)}: ${j.previous ?? '(unset)'} → ${o.modelId}`)
  }
  if (!j.run) {
    j.run = await trigger(deps, ctx, g, j, commitMessage(ctx.envName, o.modelId, g.variable))
    writeJournal(ctx.runDir, j)
    o.onLine(`started run ${j.run.id}: ${j.run.htmlUrl}`)
  } else if (!j.run.conclusion) o.onLine(`following run ${j.run.id} started earlier in this run: ${j.run.htmlUrl}`)
  if (j.run.conclusion === 'success') return { run: j.run, settings: g }
  try {
    await followRun(deps, g, j.run, { onLine: o.onLine, timeoutS: g.timeoutS })
  } catch (e) {
    if (!(e instanceof RunNotSettled)) {
      j.run.conclusion = 'failure'
      writeJournal(ctx.runDir, j)
    }
    throw e
  }
  j.run.conclusion = 'success'
  writeJournal(ctx.runDir, j)
  return { run: j.run, settings: g }
}

/** Update, or create where missing; a create that finds it exists (a replay after a kill) updates. */
async function setVariable(deps: Deps, g: GithubSettings, value: string, exists: boolean): Promise<void> {
  try {
    await writeVariable(deps, g, value, exists)
  } catch (e) {
    if (e instanceof GitHubError && (e.status === 409 || e.status === 422) && !exists) {
      await writeVariable(deps, g, value, true)
      return
    }
    if (e instanceof GitHubError && e.status === 403)
      throw new ModelshipError('AUTH', `${messageOf(e)}: the token cannot write the ${variableLabel(g)}`, {
        hint:
          'a fine-grained token needs "Variables: Read and write" (environment variables: "Environments"); a ' +
          'classic one the repo scope',
      })
    throw e
  }
}

/** Starts the workflow: a dispatch (its run from the answer, else found), or a commit pushed to the ref. */
async function trigger(
  deps: Deps,
  ctx: Ctx,
  g: GithubSettings & { ref: string },
  j: GithubJournal,
  message: string,
): Promise<JournaledRun> {
  if (g.trigger === 'push') {
    const files = ctx.composeEdit?.files.map((f) => f.path) ?? []
    j.headSha = await commitAndPush(deps, { ref: g.ref, files, message })
    writeJournal(ctx.runDir, j)
    const run = await findRun(deps, g, { ref: g.ref, since: new Date(), headSha: j.headSha })
    if (!run)
      throw new ModelshipError(
        'STEP_FAILED',
        `no run of ${g.workflow} started for commit ${j.headSha} pushed to ${g.ref}`,
        {
          hint: `does ${g.workflow} run \`on: push\` for ${g.ref}? Then \`modelship release --resume\``,
        },
      )
    return run
  }
  if (j.dispatchingAt) {
    // Killed during or right after a dispatch: the run it may have started is the one to follow.
    const found = await findRun(deps, g, { ref: g.ref, since: new Date(j.dispatchingAt), waitS: 10 })
    if (found) return found
  }
  const known = await runIdsBefore(deps, g, g.ref)
  const at = deps.clock.now()
  j.dispatchingAt = at.toISOString()
  writeJournal(ctx.runDir, j)
  const res = (await deps.github.write(dispatchRequest(g, g.ref))) as
    | ApiResponse<{ workflow_run_id?: number; html_url?: string } | string>
    | undefined
  const details = res && typeof res.data === 'object' ? res.data : undefined
  if (details?.workflow_run_id) {
    const htmlUrl =
      details.html_url ??
      (await deps.github.read<{ html_url: string }>(getRunRequest(g, details.workflow_run_id))).data.html_url
    return { id: details.workflow_run_id, htmlUrl }
  }
  // An older server answers 204 without the run: find it, never guessing between two.
  const run = await findRun(deps, g, { ref: g.ref, since: at, known })
  if (!run)
    throw new RunNotSettled(
      'STEP_FAILED',
      `the dispatch of ${g.workflow} on ${g.ref} started no run visible after 60 s`,
      {
        hint: '`modelship release --resume` looks for it again',
      },
    )
  return run
}

/**
 * deploy or verify failed after the variable was set: it goes back to its value from before the run (and
 * the compose files to their bytes, trigger dispatch). After a failed verify the old model is not running
 * yet: the workflow runs again with the restored value. A run that timed out or could not be told apart
 * keeps the variable (it may be building with it): `--resume` attaches.
 */
export async function restoreAfterGithub(ctx: Ctx, deps: Deps, failure: unknown, step: 'deploy' | 'verify') {
  if (failure instanceof RunNotSettled) return failure
  const j = readJournal(ctx.runDir)
  const g = await settingsOf(deps, ctx).catch(() => undefined)
  if (!j?.set || !g) return failure
  const cause = messageOf(failure)
  try {
    await restoreVariable(deps, g, j.previous)
    j.set = false
    writeJournal(ctx.runDir, j)
    const back =
      j.previous === null
        ? `removed ${g.variable} (it did not exist before)`
        : `put ${g.variable} back to ${j.previous}`
    const restoredFiles =
      g.trigger === 'dispatch' && ctx.composeEdit
        ? await restoreEditedFiles({
            workspace: deps.config.workspace,
            edited: ctx.composeEdit.files,
            files: deps.files,
            allowOutsideWorkspace: deps.config.allow_outside_workspace,
          })
        : []
    const files = restoredFiles.length ? `; restored ${restoredFiles.join(', ')}` : ''
    if (step === 'deploy') {
      deps.log.warn(`${cause}: ${back}${files}`)
      return new ModelshipError('ROLLED_BACK', `${cause}; ${back}${files}`, {
        hint: `the ${ctx.envName} service was not changed by this run; fix the workflow, then run again`,
      })
    }
    // verify failed: the new model runs. Start the workflow again with the value put back.
    deps.log.warn(
      `${cause}: ${back}${files}; starting ${g.workflow} again to redeploy ${j.previous ?? 'the previous model'}`,
    )
    const again: GithubJournal = { ...j, modelId: j.previous ?? '', set: true }
    delete again.run
    delete again.dispatchingAt
    const run = await trigger(
      deps,
      ctx,
      g,
      again,
      `modelship: ${ctx.envName} back to ${j.previous ?? 'the previous model'}`,
    )
    await followRun(deps, g, run, { onLine: (l) => deps.log.info(l), timeoutS: g.timeoutS })
    return new ModelshipError('ROLLED_BACK', `${cause}; ${back} and redeployed it (run ${run.id}: ${run.htmlUrl})`)
  } catch (e) {
    return new ModelshipError(
      'ROLLBACK_FAILED',
      `${cause}; then putting ${variableLabel(g)} back to ${j.previous ?? '(unset)'} failed: ${messageOf(e)}`,
      {
        details:
          `${g.variable} may still name ${j.modelId}; set it by hand in the repository's Settings → Secrets ` +
          `and variables → Actions`,
        ...(isModelshipError(e) && e.hint ? { hint: e.hint } : {}),
      },
    )
  }
}

/** The dry-run plan of deploy in github mode: the calls the run would make, from the same builders. */
export function githubDeployPlan(deps: Deps, ctx: Ctx, t: GithubTarget | undefined, modelId: string): PlanEntry[] {
  if (!t) return [{ kind: 'note', text: 'deploy: deploy.mode github, but preflight resolved no GitHub target' }]
  const entries: PlanEntry[] = [
    apiPlanEntry(getVariableRequest(t), {
      read: true,
      note: `now ${t.current ?? 'unset'}: journaled, restored on failure`,
    }),
    apiPlanEntry(t.current === null ? createVariableRequest(t, modelId) : updateVariableRequest(t, modelId)),
  ]
  if (t.trigger === 'push') {
    const ws = deps.config.workspace
    const files = ctx.composeEdit?.files.map((f) => f.path) ?? ['<the edited compose files>']
    entries.push(
      { kind: 'exec', argv: commitCommand(ws, commitMessage(ctx.envName, modelId, t.variable), files) },
      { kind: 'exec', argv: pushCommand(ws, t.ref), note: `starts workflow ${t.workflow} (on: push)` },
    )
  } else entries.push(apiPlanEntry(dispatchRequest(t, t.ref)))
  entries.push({
    kind: 'note',
    text:
      `deploy: follows the run (GET /repos/${t.repo}/actions/runs/{run_id} and its jobs) until it completes, up ` +
      `to ${t.timeoutS}s`,
  })
  return entries
}
