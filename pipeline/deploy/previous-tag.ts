import type { HistoryEntry } from '../history/audit-log.js'
import type { Deps } from '../ports/deps.js'
import { containerImageCommand } from './commands.js'
import { psCommandOn, tagOfReference } from './deploy-ops.js'
import { parsePsJson } from '../compose/docker.js'
import { type Host, hostLabel } from './host.js'
import type { DeploySettings } from './settings.js'

/**
 * The tag an environment runs now according to its history: the newest successful, deployed run that
 * recorded a tag (a release, promote or rollback). Undefined when history holds none.
 */
export function recordedTagOf(entries: readonly HistoryEntry[], env: string): string | undefined {
  return entries.find((e) => e.env === env && e.outcome === 'success' && e.deployed && e.tag !== undefined)?.tag
}

/**
 * The image tag of a model in an environment's history: the tag a successful run deployed it under, or
 * the tag it ran under before a run replaced it. This is what `rollback`/`promote` pull in image mode.
 */
export function tagOfModel(entries: readonly HistoryEntry[], env: string, model: string): string | undefined {
  for (const e of entries) {
    if (e.env !== env) continue
    if (e.to === model && e.tag && e.outcome === 'success' && e.deployed) return e.tag
    if (e.from === model && e.previousTag) return e.previousTag
  }
  return undefined
}

/** The tag the service's running container was created from on a host, or undefined (none running, no tag). */
export async function runningTagOn(deps: Deps, s: DeploySettings, host: Host): Promise<string | undefined> {
  const { argv, env } = psCommandOn(s, host)
  const entries = parsePsJson(await deps.sh.read(argv, Object.keys(env).length ? { env } : {}))
  const id = entries.find((e) => e.Service === s.service)?.ID
  if (!id) return undefined
  const cmd = containerImageCommand({ host, containerId: id, show: 'reference' })
  const ref = (await deps.sh.read(cmd.argv, Object.keys(cmd.env).length ? { env: cmd.env } : {})).trim()
  return tagOfReference(ref)
}

/**
 * What each host runs before a deploy (image mode), to roll back to: the tag history recorded for the
 * environment, else the tag of the container running on that host, else null (compose's default then).
 */
export async function previousTagsOf(deps: Deps, s: DeploySettings): Promise<Record<string, string | null>> {
  const recorded = recordedTagOf(await deps.history.read(), s.envName)
  const out: Record<string, string | null> = {}
  for (const host of s.hosts) {
    let tag = recorded
    if (tag === undefined) {
      try {
        tag = await runningTagOn(deps, s, host)
      } catch (e) {
        const why = (e as Error).message
        deps.log.warn(
          `${hostLabel(host)}: cannot read the running image (${why}); a rollback there uses the compose default`,
        )
      }
    }
    out[hostLabel(host)] = tag ?? null
  }
  return out
}
