import { execFileSync, spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type DockerEngine, engineSupport, importBaseImage, REGISTRY_BINARY, startEngine } from './docker-engine.js'

/**
 * A real Docker Swarm for tests, on top of the engine harness: each node is a test dockerd in a network namespace
 * of its own, because Swarm creates `docker_gwbridge` and the ingress sandbox in its engine's namespace, and two
 * swarms (or another engineer's engine) in one namespace would share them. One node: its own namespace, Swarm on
 * its 127.0.0.1. Two nodes: two namespaces joined by a veth pair with 127.42.0.1 and .2 (loopback-range addresses
 * only). The registry runs in the manager's namespace (the nodes pull from it): the app image's reference is
 * `<registry>/…`. No routing mesh is used (it needs IPVS): the tests reach replicas with `docker exec`.
 */
export interface TestSwarm {
  readonly manager: DockerEngine
  readonly workers: readonly DockerEngine[]
  /** `host:port` of the registry, as every node reaches it. */
  readonly registry: string
  /** The base image imported into the manager (the image the test app builds FROM). */
  readonly baseImage: string
  stop(): Promise<void>
}

const REAPER = fileURLToPath(new URL('./docker-engine-reap.sh', import.meta.url))
const SUBNET = '127.42.0'

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Whether a swarm of `nodes` can be started here, and if not, why. */
export function swarmSupport(nodes: 1 | 2): { ok: true } | { ok: false; reason: string } {
  const engine = engineSupport()
  if (!engine.ok) return engine
  const probe = `mswp${process.pid}`.slice(0, 15)
  try {
    ip(['netns', 'add', probe])
    if (nodes === 2) {
      ip(['link', 'add', `${probe}a`.slice(0, 15), 'type', 'veth', 'peer', 'name', `${probe}b`.slice(0, 15)])
      ip(['link', 'del', `${probe}a`.slice(0, 15)])
    }
  } catch (e) {
    return {
      ok: false,
      reason:
        `cannot make network namespaces${nodes === 2 ? ' and veth pairs' : ''}: ` +
        `${(e as Error).message.split('\n')[0]}`,
    }
  } finally {
    try {
      ip(['netns', 'del', probe])
    } catch {}
  }
  return { ok: true }
}

/**
 * true when a swarm can be started; otherwise prints why and returns false (the caller skips) — with CI set and a
 * single node, it throws instead: CI must run the single-node tests.
 */
export function requireSwarmOrSkip(nodes: 1 | 2): boolean {
  const support = swarmSupport(nodes)
  if (support.ok) return true
  if (process.env.CI && nodes === 1) throw new Error(`CI: a real Docker swarm is required: ${support.reason}`)
  console.warn(`skipping the ${nodes}-node swarm tests: ${support.reason}`)
  return false
}

/** A network namespace with lo up; with `addr`, lo keeps 127.0.0.1 only, so 127.42.0.x can leave through a veth. */
function makeNetns(name: string): void {
  ip(['netns', 'add', name])
  ip(['-n', name, 'link', 'set', 'lo', 'up'])
}

/** The registry in a namespace, on `address`, storing in a temp dir; the engine harness's reaper cleans it up. */
async function startRegistryIn(netns: string, address: string): Promise<{ stop(): void }> {
  const dir = mkdtempSync('/tmp/msr-')
  const config = join(dir, 'config.yml')
  writeFileSync(
    config,
    `version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\nhttp: { addr: ` +
      `"${address}" }\n`,
  )
  const logFd = openSync(join(dir, 'registry.log'), 'a')
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, REGISTRY_BINARY, 'serve', config], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  })
  closeSync(logFd)
  child.unref()
  const cgroup = `modelship-test-registry-${netns}`
  spawn('bash', [REAPER, 'watch', dir, cgroup, '', '', String(process.pid)], {
    detached: true,
    stdio: 'ignore',
  }).unref()
  const stop = () => execFileSync('bash', [REAPER, 'now', dir, cgroup, '', ''], { stdio: 'ignore' })
  process.on('exit', stop)
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync(
        'nsenter',
        [
          `--net=/run/netns/${netns}`,
          'python3',
          '-c',
          `import urllib.request; urllib.request.urlopen("http://${address}/v2/", timeout=1)`,
        ],
        { stdio: 'ignore' },
      )
      return { stop }
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  stop()
  throw new Error(`the registry did not answer on ${address} in ${netns}`)
}

let counter = 0

/** Starts a swarm of one or two nodes (see {@link TestSwarm}). */
export async function startSwarm(o: { nodes: 1 | 2 }): Promise<TestSwarm> {
  const id = `${process.pid}${counter++}`
  const names = o.nodes === 1 ? [`msw${id}`] : [`msw${id}a`, `msw${id}b`]
  const engines: DockerEngine[] = []
  let registry: { stop(): void } | undefined
  const stop = async () => {
    // Services first: an engine removing a task's container while its service exists gets a new task started.
    try {
      const services = (await engines[0]?.docker(['service', 'ls', '-q']))?.split(/\s+/).filter(Boolean) ?? []
      if (services.length > 0) await engines[0]!.docker(['service', 'rm', ...services])
    } catch {}
    await Promise.all(engines.map((e) => e.stop().catch(() => {})))
    registry?.stop()
    for (const n of names) {
      try {
        ip(['netns', 'del', n])
      } catch {}
    }
  }
  try {
    for (const n of names) makeNetns(n)
    let addrs = ['127.0.0.1']
    if (o.nodes === 2) {
      addrs = [`${SUBNET}.1`, `${SUBNET}.2`]
      const [a, b] = names as [string, string]
      const va = `v${id}a`.slice(0, 15)
      const vb = `v${id}b`.slice(0, 15)
      ip(['link', 'add', va, 'netns', a, 'type', 'veth', 'peer', 'name', vb, 'netns', b])
      for (const [ns, dev, addr] of [
        [a, va, addrs[0]!],
        [b, vb, addrs[1]!],
      ] as const) {
        // lo keeps 127.0.0.1 alone: with 127.0.0.1/8 the whole range is local and 127.42.0.x never leaves.
        ip(['-n', ns, 'addr', 'del', '127.0.0.1/8', 'dev', 'lo'])
        ip(['-n', ns, 'addr', 'add', '127.0.0.1/32', 'dev', 'lo'])
        ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev])
        ip(['-n', ns, 'link', 'set', dev, 'up'])
        // The kernel drops loopback-range packets on other devices unless route_localnet is on.
        execFileSync('ip', [
          'netns',
          'exec',
          ns,
          'sysctl',
          '-qw',
          'net.ipv4.conf.all.route_localnet=1',
          `net.ipv4.conf.${dev}.route_localnet=1`,
        ])
      }
    }
    const registryAddress = `${addrs[0]}:5000`
    registry = await startRegistryIn(names[0]!, registryAddress)
    for (const [i, n] of names.entries()) engines.push(await startEngine({ name: `node-${i + 1}`, netns: n }))
    const [manager, ...workers] = engines as [DockerEngine, ...DockerEngine[]]
    await manager.docker(['swarm', 'init', '--advertise-addr', addrs[0]!, '--listen-addr', `${addrs[0]}:2377`])
    if (workers.length > 0) {
      const token = (await manager.docker(['swarm', 'join-token', '-q', 'worker'])).trim()
      for (const [i, w] of workers.entries()) {
        const addr = addrs[i + 1]!
        await w.docker([
          'swarm',
          'join',
          '--token',
          token,
          '--advertise-addr',
          addr,
          '--listen-addr',
          `${addr}:2377`,
          `${addrs[0]}:2377`,
        ])
      }
    }
    const baseImage = 'modelship-test/python:3'
    await importBaseImage(manager, baseImage)
    return { manager, workers, registry: registryAddress, baseImage, stop }
  } catch (e) {
    await stop()
    throw e
  }
}
