import { messageOf, ModelshipError } from '../engine/errors.js'
import type { EditedFile } from '../compose/types.js'
import { restoreEditedFiles } from '../environment.js'
import type { Deps } from '../ports/deps.js'
import { formatHostCommand } from './commands.js'
import {
  buildCommandOn,
  buildImage,
  deployOnHost,
  describeContainers,
  type HostDeployment,
  startCommandsOn,
} from './deploy-ops.js'
import { type Host, hostLabel } from './host.js'
import type { DeploySettings } from './settings.js'

// The canary rule: hosts are deployed one after the other, in the order of `environments.<n>.hosts`, and
// a failure on host k rolls back hosts 1..k (the ones that may run the new release) and leaves the others
// untouched: they never pulled, built or started anything of this release.

/** How far a rollout got: kept in the run context so the failure policy knows which hosts to roll back. */
export interface RolloutProgress {
  /** Image mode: the tag each host ran before (null: unknown, then compose's default in `image:` applies). */
  previousTags: Record<string, string | null>
  /** Labels of the hosts this run started to change, in order. */
  touched: string[]
}

/**
 * Deploys the release to every host of the environment in order, the first being the canary. Image mode:
 * pull + up of `tag` on each host. Compose mode: the build step built on the first host; every later host
 * builds just before its up. Records each host in `progress.touched` before changing it.
 */
export async function rollOut(
  deps: Deps,
  s: DeploySettings,
  o: {
    modelId: string
    runDir: string
    tag?: string
    /** Compose mode: the image id the build step made on the first host. */
    canaryImageId?: string
    progress: RolloutProgress
    onState?: (host: string, state: string) => void
  },
): Promise<HostDeployment[]> {
  const done: HostDeployment[] = []
  for (const [i, host] of s.hosts.entries()) {
    const label = hostLabel(host)
    if (!o.progress.touched.includes(label)) o.progress.touched.push(label)
    const onState = (state: string) => o.onState?.(label, state)
    let expectedImageId: string | undefined
    if (s.mode === 'compose') {
      expectedImageId =
        i === 0 ? o.canaryImageId : (await buildImage(deps, s, { host, modelId: o.modelId, runDir: o.runDir })).imageId
    }
    done.push(
      await deployOnHost(deps, s, {
        host,
        ...(s.mode === 'image' && o.tag ? { tag: o.tag } : {}),
        ...(expectedImageId ? { expectedImageId } : {}),
        onState,
      }),
    )
  }
  return done
}

/** The commands that put one host back by hand: pull + up of the previous tag, or build + up of the previous model. */
export function rollbackCommandsOn(s: DeploySettings, host: Host, previous: { model: string; tag?: string }): string[] {
  const build = s.mode === 'compose' ? [buildCommandOn(s, { host, modelId: previous.model })] : []
  return [...build, ...startCommandsOn(s, host, previous.tag)].map(formatHostCommand)
}

/**
 * After a failed deploy or verify: puts the edited files back byte-identical, then every touched host
 * back on what it ran before: image mode pulls and ups the previous tag (no rebuild), compose mode
 * rebuilds the previous model there and ups it; each waits healthy. Every host is tried even when one
 * fails; then ROLLBACK_FAILED (exit 6) names each host's state and the commands that finish by hand.
 */
export async function rollBackHosts(
  deps: Deps,
  s: DeploySettings,
  o: {
    touched: readonly string[]
    previousModel: string
    previousTags: Readonly<Record<string, string | null>>
    edited: readonly EditedFile[]
    runDir: string
  },
): Promise<HostDeployment[]> {
  const { config } = deps
  const hosts = s.hosts.filter((h) => o.touched.includes(hostLabel(h)))
  const previousOn = (h: Host) => {
    const tag = o.previousTags[hostLabel(h)]
    return { model: o.previousModel, ...(tag ? { tag } : {}) }
  }
  const changed = o.edited.filter((f) => f.changed).map((f) => f.path)
  let filesState = `edited (still pointing at the new model): ${changed.join(', ') || 'none'}`
  const failures: Array<{ host: Host; error: unknown }> = []
  const back: HostDeployment[] = []
  let filesError: unknown
  try {
    await restoreEditedFiles({
      workspace: config.workspace,
      edited: o.edited,
      files: deps.files,
      allowOutsideWorkspace: config.allow_outside_workspace,
    })
    filesState = `restored byte-identical to before the run: ${o.edited.map((f) => f.path).join(', ')}`
  } catch (e) {
    // The hosts still go back: their engines do not read the workspace files in image mode, and a
    // compose-mode build names the model on its command line.
    filesError = e
  }
  for (const host of hosts) {
    try {
      const previous = previousOn(host)
      if (s.mode === 'image') {
        back.push(await deployOnHost(deps, s, { host, ...(previous.tag ? { tag: previous.tag } : {}) }))
      } else {
        const built = await buildImage(deps, s, { host, modelId: o.previousModel, runDir: o.runDir })
        back.push(await deployOnHost(deps, s, { host, ...(built.imageId ? { expectedImageId: built.imageId } : {}) }))
      }
    } catch (e) {
      failures.push({ host, error: e })
    }
  }
  if (failures.length === 0 && filesError === undefined) return back

  const failedHosts = new Set(failures.map((f) => f.host))
  const lines = [`files: ${filesState}`]
  for (const host of s.hosts) {
    const label = hostLabel(host)
    const previous = previousOn(host)
    const what = previous.tag ?? previous.model
    const prefix = s.hosts.length === 1 && host.kind === 'default' ? '' : `${label}: `
    if (!o.touched.includes(label)) {
      lines.push(`${prefix}untouched (never got this release)`)
      continue
    }
    const ok = back.find((b) => b.host === label)
    if (ok) lines.push(`${prefix}back on ${what} (${ok.health})`)
    else {
      const failure = failures.find((f) => f.host === host)
      if (failure) lines.push(`${prefix}rollback to ${what} failed: ${messageOf(failure.error)}`)
      lines.push(`${prefix}containers of ${s.service}: ${await describeContainers(deps, s, host)}`)
    }
  }
  lines.push('to finish by hand, run in the workspace:')
  for (const host of hosts.filter((h) => failedHosts.has(h) && !back.some((b) => b.host === hostLabel(h)))) {
    for (const c of rollbackCommandsOn(s, host, previousOn(host))) lines.push(`  ${c}`)
  }
  const first = filesError ?? failures[0]?.error
  throw new ModelshipError('ROLLBACK_FAILED', `restoring ${o.previousModel} failed too: ${messageOf(first)}`, {
    cause: first,
    details: lines.join('\n'),
    hint: `${s.envName} may be running the new model; finish the rollback by hand (commands above)`,
  })
}

/**
 * The failure policy of deploy and verify, shared by release, promote and rollback: warn, roll the
 * touched hosts back ({@link rollBackHosts}), and return the ROLLED_BACK error to exit with (5).
 */
export async function rollBackAfter(
  deps: Deps,
  s: DeploySettings,
  failure: unknown,
  o: Parameters<typeof rollBackHosts>[2],
): Promise<ModelshipError> {
  const reason = messageOf(failure)
  const hosts = o.touched.length === 1 && o.touched[0] === 'default' ? '' : ` on ${o.touched.join(', ')}`
  const tags = [...new Set(o.touched.map((h) => o.previousTags[h]).filter((t): t is string => Boolean(t)))]
  const to = `${o.previousModel}${s.mode === 'image' && tags.length ? ` (tag ${tags.join(', ')})` : ''}`
  deps.log.warn(`${reason}: rolling back ${s.envName} to ${to}${hosts}`)
  await rollBackHosts(deps, s, o)
  const untouched = s.hosts.map(hostLabel).filter((h) => !o.touched.includes(h))
  return new ModelshipError('ROLLED_BACK', `${reason}; ${s.envName} was rolled back to ${to}${hosts}`, {
    cause: failure,
    hint:
      `the files are as before and ${s.service} runs ${o.previousModel} again` +
      `${untouched.length ? ` (${untouched.join(', ')} never got this release)` : ''}; fix the cause and try again`,
  })
}
