import { parse } from 'yaml'
import type { Config } from '../config/config.js'
import type { HostCommand } from '../deploy/commands.js'
import { deploySettingsOf, targetOn } from '../deploy/settings.js'
import { nodeListCommand, swarmInfoCommand } from '../deploy/swarm-commands.js'
import { managerOf } from '../deploy/swarm-rollout.js'
import { stackConfigCommand } from '../deploy/swarm-stack-file.js'
import { parseSwarmInfo } from '../deploy/swarm-status.js'
import { messageOf } from '../engine/errors.js'
import { hostLabel } from '../deploy/host.js'
import type { Shell } from '../ports/types.js'
import type { Finding } from './finding.js'

// `doctor` in swarm mode: what Swarm needs to gate an update on health and roll it back by itself, read from
// the merged compose configuration (`docker compose config`), and whether the environment's first host is a
// swarm manager. Each missing setting is a finding with the compose lines to add.

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Compose durations (`10s`, `1m30s`, `500ms`) in seconds; undefined when not one. */
export function durationSeconds(v: unknown): number | undefined {
  if (typeof v === 'number') return v / 1e9 // compose passes bare numbers as nanoseconds
  if (typeof v !== 'string') return undefined
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v) return undefined
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 }
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0)
}

/**
 * The findings for the merged service (pure). `nodes` is the swarm's node count (1 when unknown); `file` is the
 * compose file the fixes are meant for.
 */
export function swarmServiceFindings(service: unknown, o: { name: string; file: string; nodes: number }): Finding[] {
  const svc = isObj(service) ? service : {}
  const deploy = isObj(svc.deploy) ? svc.deploy : {}
  const update = isObj(deploy.update_config) ? deploy.update_config : {}
  const placement = isObj(deploy.placement) ? deploy.placement : {}
  const at = { file: o.file }
  const key = `services.${o.name}`
  const out: Finding[] = []
  const hc = isObj(svc.healthcheck) ? svc.healthcheck : undefined
  if (!hc || hc.disable === true) {
    out.push({
      check: 'swarm.healthcheck',
      level: 'error',
      ...at,
      message: `${key} has no healthcheck: Swarm counts a replica as updated once it runs, healthy or not`,
      fix:
        `add to ${key}: healthcheck: { test: [CMD, python3, -c, "import urllib.request; ` +
        `urllib.request.urlopen('http://127.0.0.1:8000/health')"], interval: 5s, retries: 3 }`,
    })
  } else out.push({ check: 'swarm.healthcheck', level: 'ok', ...at, message: `${key} has a healthcheck` })

  if (update.failure_action !== 'rollback') {
    out.push({
      check: 'swarm.failure_action',
      level: 'error',
      ...at,
      message:
        `${key}.deploy.update_config.failure_action is ` +
        `${String(update.failure_action ?? 'pause (the default)')}: a failed update is not rolled back by Swarm`,
      fix: `add to ${key}: deploy: { update_config: { failure_action: rollback } }`,
    })
  } else
    out.push({ check: 'swarm.failure_action', level: 'ok', ...at, message: 'a failed update is rolled back by Swarm' })

  const monitor = durationSeconds(update.monitor)
  if (!monitor) {
    out.push({
      check: 'swarm.monitor',
      level: 'error',
      ...at,
      message:
        `${key}.deploy.update_config.monitor is not set: a replica that fails right after its start passes ` +
        `the update`,
      fix: `add to ${key}: deploy: { update_config: { monitor: 10s } }`,
    })
  } else
    out.push({ check: 'swarm.monitor', level: 'ok', ...at, message: `each updated replica is watched ${monitor}s` })

  const replicas = typeof deploy.replicas === 'number' ? deploy.replicas : 1
  const parallelism = typeof update.parallelism === 'number' ? update.parallelism : 1
  if (update.order !== 'start-first' || replicas < 2) {
    out.push({
      check: 'swarm.order',
      level: 'warn',
      ...at,
      message:
        update.order !== 'start-first'
          ? `${key}.deploy.update_config.order is ${String(update.order ?? 'stop-first (the default)')}: each ` +
            `replica stops before its successor is healthy`
          : `${key} runs ${replicas} replica: it is down while a failed update rolls back`,
      fix: `add to ${key}: deploy: { replicas: 2, update_config: { order: start-first, parallelism: 1 } }`,
    })
  } else out.push({ check: 'swarm.order', level: 'ok', ...at, message: `start-first over ${replicas} replicas` })

  const perNode = placement.max_replicas_per_node
  if (typeof perNode === 'number' && update.order === 'start-first' && replicas + parallelism > perNode * o.nodes) {
    out.push({
      check: 'swarm.max_replicas_per_node',
      level: 'error',
      ...at,
      message:
        `${key}.deploy.placement.max_replicas_per_node: ${perNode} on ${o.nodes} ` +
        `node${o.nodes === 1 ? '' : 's'} leaves no room for start-first (${replicas} replicas + ${parallelism} ` +
        `starting): the update would stall`,
      fix:
        `remove max_replicas_per_node, raise it to ${Math.ceil((replicas + parallelism) / o.nodes)}, or use ` +
        `order: stop-first`,
    })
  }
  return out
}

async function read(sh: Shell, cmd: HostCommand): Promise<string> {
  return sh.read(cmd.argv, Object.keys(cmd.env).length ? { env: cmd.env } : {})
}

export async function checkSwarm(config: Config, envName: string, sh: Shell): Promise<Finding[]> {
  const s = deploySettingsOf(config, envName)
  const manager = managerOf(s)
  const out: Finding[] = []
  let nodes = 1
  try {
    const info = parseSwarmInfo(await read(sh, swarmInfoCommand(manager)))
    if (!info.manager) {
      out.push({
        check: 'swarm.manager',
        level: 'error',
        message: `${hostLabel(manager)} is not a swarm manager (swarm state: ${info.state || 'unknown'})`,
        fix: `run \`docker swarm init\` there, or make environments.${envName}.hosts start with a manager's context`,
      })
    } else {
      nodes = (await read(sh, nodeListCommand(manager))).split(/\s+/).filter(Boolean).length || 1
      out.push({
        check: 'swarm.manager',
        level: 'ok',
        message: `${hostLabel(manager)} is a manager of a swarm of ${nodes} node${nodes === 1 ? '' : 's'}`,
      })
    }
  } catch (e) {
    out.push({
      check: 'swarm.manager',
      level: 'error',
      message: `cannot ask ${hostLabel(manager)} about its swarm: ${messageOf(e)}`,
    })
  }
  try {
    const text = await read(sh, stackConfigCommand(targetOn(s, manager), { variable: s.tagVar, value: 'latest' }))
    const merged = parse(text) as Record<string, unknown>
    const services = isObj(merged?.services) ? merged.services : {}
    out.push(...swarmServiceFindings(services[s.service], { name: s.service, file: s.files.at(-1)!, nodes }))
  } catch (e) {
    out.push({ check: 'swarm.config', level: 'error', message: `docker compose config failed: ${messageOf(e)}` })
  }
  return out
}
