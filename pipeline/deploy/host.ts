import { ModelshipError } from '../engine/errors.js'

/**
 * One Docker engine modelship drives. `default` is whatever the current context points at (today's
 * commands, unchanged); `context` runs `docker --context NAME …`; `ssh` sets `DOCKER_HOST` in that one
 * command's environment, so nothing leaks into the user's shell or the other hosts' commands.
 */
export type Host =
  | { readonly kind: 'default' }
  | { readonly kind: 'context'; readonly name: string }
  | { readonly kind: 'ssh'; readonly url: string }

export const DEFAULT_HOST: Host = { kind: 'default' }

// Docker's own rule for context names (cli/command/context: validateContextName).
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/
// ssh://[user@]host[:port], nothing after the host: DOCKER_HOST takes no path, and no password.
const SSH_URL = /^ssh:\/\/(?:([A-Za-z0-9._-]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/

/** Parses one `environments.<name>.hosts` entry; `where` names it in errors (`environments.production.hosts[1]`). */
export function parseHost(entry: unknown, where: string): Host {
  if (typeof entry !== 'string' || entry.trim() === '') {
    const expected = 'a Docker context name or ssh://user@host[:port]'
    throw new ModelshipError('CONFIG', `${where}: expected ${expected}, got ${describe(entry)}`)
  }
  const value = entry.trim()
  if (value.includes('://')) {
    const m = SSH_URL.exec(value)
    const port = m?.[3] === undefined ? undefined : Number(m[3])
    if (!m || (port !== undefined && (port < 1 || port > 65535))) {
      throw new ModelshipError('CONFIG', `${where}: ${JSON.stringify(value)} is not an ssh://user@host[:port] URL`, {
        hint: 'hosts are Docker context names (`docker context ls`) or ssh://user@host[:port] URLs',
      })
    }
    return { kind: 'ssh', url: value.replace(/\/$/, '') }
  }
  if (!CONTEXT_NAME.test(value)) {
    throw new ModelshipError('CONFIG', `${where}: ${JSON.stringify(value)} is not a Docker context name`, {
      hint: 'hosts are Docker context names (`docker context ls`) or ssh://user@host[:port] URLs',
    })
  }
  return { kind: 'context', name: value }
}

/**
 * The hosts of an environment, in order (the first is the canary). Absent, null or an empty list means
 * one host: the current context. Duplicates are an error: a host would be deployed to twice.
 */
export function parseHosts(raw: unknown, where: string): Host[] {
  if (raw === undefined || raw === null) return [DEFAULT_HOST]
  if (!Array.isArray(raw)) {
    throw new ModelshipError('CONFIG', `${where}: expected a list of hosts, got ${describe(raw)}`)
  }
  if (raw.length === 0) return [DEFAULT_HOST]
  const hosts = raw.map((entry, i) => parseHost(entry, `${where}[${i}]`))
  const seen = new Set<string>()
  hosts.forEach((h, i) => {
    const label = hostLabel(h)
    if (seen.has(label)) throw new ModelshipError('CONFIG', `${where}[${i}]: ${label} is listed twice`)
    seen.add(label)
  })
  return hosts
}

/** How a host is named in output, history and state: the context name, the ssh URL, or `default`. */
export function hostLabel(host: Host): string {
  switch (host.kind) {
    case 'default':
      return 'default'
    case 'context':
      return host.name
    case 'ssh':
      return host.url
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'string' ? JSON.stringify(v) : typeof v
}
