import { parse } from 'yaml'
import { assertService } from '../deploy/commands.js'
import { ModelshipError } from '../engine/errors.js'

/** The compose secret modelship passes HF_TOKEN through (never a build arg: those persist in `docker history`). */
export const HF_TOKEN_SECRET = 'hf_token'

/**
 * The compose override modelship writes into the run directory for one build and passes with `-f` after the
 * user's files: with `secret`, HF_TOKEN reaches the build as a BuildKit secret (`RUN --mount=type=secret,id=hf_token`)
 * read from the environment, never as a build arg; with `hostNetwork`, the build's RUN steps use the host's
 * network (the Hub endpoint is a loopback address, which only the host network reaches).
 */
export function buildOverrideYaml(service: string, o: { secret: boolean; hostNetwork: boolean }): string {
  assertService(service)
  return [
    '# Written by modelship for one build, in its run directory.',
    ...(o.secret
      ? ['# HF_TOKEN reaches the build as a secret (RUN --mount=type=secret,id=hf_token), never as a build arg.']
      : []),
    ...(o.hostNetwork
      ? ['# The Hub endpoint is a loopback address: the build uses the host network to reach it.']
      : []),
    'services:',
    `  ${service}:`,
    '    build:',
    ...(o.hostNetwork ? ['      network: host'] : []),
    ...(o.secret ? ['      secrets:', `        - ${HF_TOKEN_SECRET}`] : []),
    ...(o.secret ? ['secrets:', `  ${HF_TOKEN_SECRET}:`, '    environment: HF_TOKEN'] : []),
    '',
  ].join('\n')
}

/** One container as `docker compose ps --format json` reports it (only the fields modelship reads). */
export interface PsEntry {
  ID?: string
  Name?: string
  Service?: string
  State?: string
  Health?: string
  Image?: string
}

const PS_FIELDS = ['ID', 'Name', 'Service', 'State', 'Health', 'Image'] as const

function toPsEntry(v: unknown, raw: string): PsEntry {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ModelshipError(
      'STEP_FAILED',
      `docker compose ps printed JSON that is not a container: ${raw.slice(0, 200)}`,
    )
  }
  const entry: PsEntry = {}
  for (const k of PS_FIELDS) {
    const field = (v as Record<string, unknown>)[k]
    if (typeof field === 'string') entry[k] = field
  }
  return entry
}

function entriesOf(v: unknown, raw: string): PsEntry[] {
  return Array.isArray(v) ? v.map((x) => toPsEntry(x, raw)) : [toPsEntry(v, raw)]
}

/**
 * Parses `docker compose ps --format json`. Compose before 2.21 printed one JSON array, later
 * versions print one object per line; both are accepted, and empty output means no container.
 * Lines that are not JSON (a warning some versions print) are skipped.
 */
export function parsePsJson(stdout: string): PsEntry[] {
  const text = stdout.trim()
  if (text === '') return []
  try {
    return entriesOf(JSON.parse(text), text)
  } catch (e) {
    if (e instanceof ModelshipError) throw e
  }
  const entries: PsEntry[] = []
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim()
    if (!l.startsWith('{') && !l.startsWith('[')) continue
    let v: unknown
    try {
      v = JSON.parse(l)
    } catch (cause) {
      throw new ModelshipError('STEP_FAILED', `docker compose ps printed a line that is not JSON: ${l.slice(0, 200)}`, {
        cause,
      })
    }
    entries.push(...entriesOf(v, l))
  }
  return entries
}

export type ServiceHealth = 'healthy' | 'unhealthy' | 'starting' | 'running' | 'exited' | 'missing'

// Worst first: with several replicas the service is as healthy as its worst container.
const SEVERITY: readonly Exclude<ServiceHealth, 'missing'>[] = ['exited', 'unhealthy', 'starting', 'running', 'healthy']

function healthOfEntry(e: PsEntry): Exclude<ServiceHealth, 'missing'> {
  const state = (e.State ?? '').toLowerCase()
  const health = (e.Health ?? '').toLowerCase()
  // `restarting` may still settle (restart policy); `created` has not started yet. Both wait, and
  // the health timeout ends a crash loop.
  if (state === 'restarting' || state === 'created') return 'starting'
  if (state !== 'running') return 'exited'
  if (health === 'healthy' || health === 'unhealthy' || health === 'starting') return health
  return 'running' // no health check
}

/**
 * The health of `service` from parsed `ps` entries: `healthy`/`unhealthy`/`starting` from its
 * health check, `running` when it has none, `exited` when a container stopped, `missing` when
 * no container of the service is listed.
 */
export function healthOf(entries: readonly PsEntry[], service: string): ServiceHealth {
  const mine = entries.filter((e) => e.Service === service)
  if (mine.length === 0) return 'missing'
  const states = mine.map(healthOfEntry)
  return SEVERITY.find((s) => states.includes(s)) ?? 'missing'
}

/**
 * The image of `service` in `docker compose config` output (YAML): its `image`, else compose's default name for
 * a built image, `<project name>-<service>`. Undefined when the output names no such service.
 */
export function serviceImageOf(configYaml: string, service: string): string | undefined {
  let doc: unknown
  try {
    doc = parse(configYaml)
  } catch (cause) {
    throw new ModelshipError('STEP_FAILED', `docker compose config printed no YAML: ${configYaml.slice(0, 200)}`, {
      cause,
    })
  }
  const root = (doc ?? {}) as { name?: unknown; services?: Record<string, { image?: unknown } | null> }
  const svc = root.services?.[service]
  if (svc === undefined) return undefined
  if (typeof svc?.image === 'string' && svc.image !== '') return svc.image
  return typeof root.name === 'string' && root.name !== '' ? `${root.name}-${service}` : undefined
}
