import type { Config } from '../config/config.js'
import { parsePsJson } from '../compose/docker.js'
import { messageOf } from '../engine/errors.js'
import type { HistoryEntry } from '../history/audit-log.js'
import type { Shell } from '../ports/types.js'
import { containerEnvCommand, containerImageCommand, type HostCommand } from './commands.js'
import { psCommandOn, tagOfReference } from './deploy-ops.js'
import { type Host, hostLabel } from './host.js'
import { deploySettingsOf } from './settings.js'

/** What one host of an environment runs now, for `current` and `list`. */
export interface HostRuntime {
  /** The host's label: context name, ssh URL or `default`. */
  host: string
  /** ok: read; none: no container of the service; error: the engine did not answer (see `error`). */
  status: 'ok' | 'none' | 'error'
  /** The image reference the container was created from, e.g. `ghcr.io/o/app:model-v1.3`. */
  image?: string
  /** Its tag, e.g. `model-v1.3`. */
  tag?: string
  /** The image id the container runs. */
  imageId?: string
  /**
   * The model it runs: the container's `<build_arg>=` environment entry when it has one, else the model
   * history recorded for its tag (image mode), else undefined.
   */
  model?: string
  /** `healthy`, `unhealthy`, `starting`, `running` (no health check) or `exited`, as `ps` reports it. */
  health?: string
  error?: string
}

const run = (sh: Shell, c: HostCommand) => sh.read(c.argv, Object.keys(c.env).length ? { env: c.env } : {})

/**
 * Per host of `envName`, in order, what the service's container runs: from `docker compose ps` and
 * `docker inspect` on that host (read-only; safe in dry-run). Never throws for an unreachable host:
 * that host's entry says `status: 'error'`.
 *
 *     readHostRuntimes({ config, sh, history: await history.read() }, 'production')
 *       → [{ host: 'prod-a', status: 'ok', image: 'ghcr.io/o/app:model-v1.3', tag: 'model-v1.3',
 *            imageId: 'sha256:…', model: 'org/intent-classifier-v1.3', health: 'healthy' }, …]
 */
export async function readHostRuntimes(
  o: { config: Config; sh: Shell; history?: readonly HistoryEntry[] },
  envName: string,
): Promise<HostRuntime[]> {
  const s = deploySettingsOf(o.config, envName)
  const out: HostRuntime[] = []
  for (const host of s.hosts) {
    const label = hostLabel(host)
    try {
      const entries = parsePsJson(await run(o.sh, psCommandOn(s, host)))
      const c = entries.find((e) => e.Service === s.service)
      if (!c?.ID) {
        out.push({ host: label, status: 'none' })
        continue
      }
      const image = (await run(o.sh, containerImageCommand({ host, containerId: c.ID, show: 'reference' }))).trim()
      const imageId = (await run(o.sh, containerImageCommand({ host, containerId: c.ID, show: 'id' }))).trim()
      const tag = tagOfReference(image)
      const health = c.State !== 'running' ? (c.State ?? 'exited') : (c.Health ?? 'running')
      const model = (await modelFromEnv(o.sh, host, c.ID, s.buildArg)) ?? modelOfTag(o.history ?? [], envName, tag)
      out.push({
        host: label,
        status: 'ok',
        image,
        imageId,
        health,
        ...(tag ? { tag } : {}),
        ...(model ? { model } : {}),
      })
    } catch (e) {
      out.push({ host: label, status: 'error', error: messageOf(e) })
    }
  }
  return out
}

async function modelFromEnv(sh: Shell, host: Host, containerId: string, key: string): Promise<string | undefined> {
  try {
    const text = await run(sh, containerEnvCommand({ host, containerId }))
    const value = text
      .split(/\r?\n/)
      .find((l) => l.startsWith(`${key}=`))
      ?.slice(key.length + 1)
      .trim()
    return value ? value : undefined
  } catch {
    return undefined
  }
}

function modelOfTag(entries: readonly HistoryEntry[], env: string, tag: string | undefined): string | undefined {
  if (!tag) return undefined
  for (const e of entries) {
    if (e.env !== env) continue
    if (e.tag === tag && e.to && e.outcome === 'success') return e.to
    if (e.previousTag === tag && e.from) return e.from
  }
  return undefined
}
