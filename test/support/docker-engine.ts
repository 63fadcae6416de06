import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
} from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Real Docker engines for tests: each `startEngine()` is a dockerd of its own (20.10 from Debian, vfs storage, no
 * iptables) with its own data root, exec root, socket, bridge, address pools and cgroup parent, so two test files
 * running at once never share anything. The docker CLI talks to it through `env` (DOCKER_HOST and a DOCKER_CONFIG
 * of its own, where the compose and buildx plugins are linked), never through the default socket or context.
 *
 * Children never outlive the run: dockerd runs in its own process group, `stop()` removes containers and stops it,
 * the worker's exit handler reaps what is left, and a watcher process reaps it when the worker is SIGKILLed.
 * The cleanup itself is one script, docker-engine-reap.sh.
 */
export interface DockerEngine {
  readonly name: string
  /** The engine's unix socket path. */
  readonly socket: string
  /** `unix://<socket>`, for DOCKER_HOST or a Docker context. */
  readonly host: string
  /** The engine's own directory: data root, exec root, pid file, log, DOCKER_CONFIG. */
  readonly dir: string
  /** DOCKER_HOST and a DOCKER_CONFIG of its own (with the cli plugins linked): merge into a child's environment. */
  readonly env: Record<string, string>
  /** The engine's default bridge (the network `docker build` RUN steps use). */
  readonly bridge: string
  /** The bridge's gateway address (the host side, as containers on the default bridge see it). */
  readonly gateway: string
  /** Runs the docker CLI against this engine; resolves to stdout, rejects with stderr in the message. */
  docker(args: readonly string[], opts?: { env?: Record<string, string>; input?: string }): Promise<string>
  /** Removes its containers, stops dockerd, kills anything left and removes its directory. Idempotent. */
  stop(): Promise<void>
}

const HERE = fileURLToPath(new URL('.', import.meta.url))
const REAPER = join(HERE, 'docker-engine-reap.sh')

export const STACK_DIR =
  process.env.MODELSHIP_DOCKER_STACK_DIR ?? join(homedir(), '.cache', 'modelship', 'docker-stack')
/** The offline base image's root file system, made by .ci/docker-stack.sh (debootstrap minbase + python3). */
export const BASE_TARBALL = join(STACK_DIR, 'python-base.tar')
/** Its slimmer copy (no docs, locales, perl, apt): vfs copies the whole root file system for every container. */
export const SLIM_BASE_TARBALL = join(STACK_DIR, 'python-base-slim.tar')
export const REGISTRY_BINARY = join(STACK_DIR, 'bin', 'registry')
export const BASE_IMAGE_TAG = 'modelship-test/python:3'

/** Where the docker CLI looks for plugins (its own user directory first, then the system's). */
const PLUGIN_DIRS = [
  join(homedir(), '.docker', 'cli-plugins'),
  '/usr/local/lib/docker/cli-plugins',
  '/usr/local/libexec/docker/cli-plugins',
  '/usr/lib/docker/cli-plugins',
  '/usr/libexec/docker/cli-plugins',
]

function onPath(bin: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin']) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin)
  }
  return undefined
}

function findPlugin(name: string): string | undefined {
  return PLUGIN_DIRS.map((d) => join(d, `docker-${name}`)).find((p) => existsSync(p))
}

/** Whether a real engine can be started here, and if not, why (what .ci/docker-stack.sh would install). */
export function engineSupport(): { ok: true } | { ok: false; reason: string } {
  const missing: string[] = []
  if (process.platform !== 'linux') return { ok: false, reason: 'real Docker engines are started on Linux only' }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'starting dockerd needs root' }
  if (!onPath('dockerd')) missing.push('dockerd (Debian docker.io)')
  if (!onPath('docker')) missing.push('the docker CLI')
  if (!onPath('ip')) missing.push('ip (iproute2)')
  if (!findPlugin('compose')) missing.push('the compose v2 plugin')
  if (!findPlugin('buildx')) missing.push('the buildx plugin')
  if (!existsSync(BASE_TARBALL)) missing.push(`the base image tarball ${BASE_TARBALL}`)
  if (missing.length > 0) return { ok: false, reason: `missing ${missing.join(', ')}: run bash .ci/docker-stack.sh` }
  return { ok: true }
}

/**
 * true when a real engine can be started. Otherwise false (the caller uses `describe.skip`) with a warning — but
 * with CI set it throws: CI must never pass with the real-engine tier skipped.
 */
export function requireEngineOrSkip(): boolean {
  const support = engineSupport()
  if (support.ok) return true
  if (process.env.CI) throw new Error(`CI: a real Docker engine is required: ${support.reason}`)
  console.warn(`skipping real Docker engine tests: ${support.reason}`)
  return false
}

interface Reapable {
  dir: string
  cgroup: string
  bridge: string
  netns: string
}
const live = new Set<Reapable>()
let exitHookInstalled = false

function reapNow(r: Reapable): void {
  execFileSync('bash', [REAPER, 'now', r.dir, r.cgroup, r.bridge, r.netns], { stdio: 'ignore' })
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const r of live) {
      try {
        reapNow(r)
      } catch {
        // the watcher reaps it
      }
    }
  })
}

let counter = 0

/** An octet pair no other address or route on the machine (or netns) uses yet, for the engine's bridge subnets. */
function freeSubnets(netns: string): { bridgeNet: string; pool: string } {
  const ipArgs = netns ? ['-n', netns] : []
  const used = execFileSync('ip', [...ipArgs, '-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })
  const addrs = execFileSync('ip', [...ipArgs, '-4', '-o', 'addr'], { encoding: 'utf8' })
  for (let attempt = 0; attempt < 200; attempt++) {
    // 10.{100..227}: the bridge gets 10.X.0.0/24, compose networks the rest of 10.X.0.0/16 in /24s.
    const x = 100 + ((process.pid * 7 + counter * 13 + attempt * 31 + Math.floor(Math.random() * 128)) % 128)
    const prefix = `10.${x}.`
    if (used.includes(prefix) || addrs.includes(prefix)) continue
    return { bridgeNet: `10.${x}.0.1/24`, pool: `base=10.${x}.0.0/16,size=24` }
  }
  throw new Error('no free 10.x.0.0/16 for a test Docker engine')
}

/** A DOCKER_CONFIG directory of its own (contexts made by a test stay there), with the cli plugins linked. */
function makeDockerConfig(dir: string): string {
  const config = join(dir, 'config')
  mkdirSync(join(config, 'cli-plugins'), { recursive: true })
  for (const name of ['compose', 'buildx']) {
    const found = findPlugin(name)
    if (found) symlinkSync(found, join(config, 'cli-plugins', `docker-${name}`))
  }
  return config
}

function runDocker(
  env: Record<string, string>,
  args: readonly string[],
  opts: { env?: Record<string, string>; input?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', [...args], {
      env: { ...process.env, ...env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8')
      if (code === 0) return resolve(stdout)
      const stderr = Buffer.concat(err).toString('utf8').trim()
      reject(new Error(`docker ${args.join(' ')} exited ${code ?? signal}: ${stderr || stdout.trim()}`))
    })
    // A docker that exits before reading its input (EPIPE) is reported by its exit code.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')
  } catch {
    return '(no log)'
  }
}

/**
 * Starts a dockerd of its own and waits until `docker info` answers. `netns` runs it in that network namespace
 * (`nsenter --net`); `extraArgs` go to dockerd as they are.
 */
export async function startEngine(
  o: { name?: string; netns?: string; extraArgs?: string[] } = {},
): Promise<DockerEngine> {
  const support = engineSupport()
  if (!support.ok) throw new Error(support.reason)
  counter++
  // Short: the exec root holds unix sockets (containerd's, the shims'), whose paths must stay under 108 bytes.
  const dir = mkdtempSync('/tmp/mse-')
  const id = dir
    .slice('/tmp/mse-'.length)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')
  const name = o.name ?? `engine-${id}`
  const netns = o.netns ?? ''
  const socket = join(dir, 'docker.sock')
  const host = `unix://${socket}`
  const bridge = `msd${id}`.slice(0, 15)
  const cgroup = `modelship-test-${id}`
  const reapable: Reapable = { dir, cgroup, bridge, netns }
  live.add(reapable)
  installExitHook()
  const env = { DOCKER_HOST: host, DOCKER_CONFIG: makeDockerConfig(dir) }

  const { bridgeNet, pool } = freeSubnets(netns)
  const ipArgs = netns ? ['-n', netns] : []
  execFileSync('ip', [...ipArgs, 'link', 'add', 'name', bridge, 'type', 'bridge'])
  execFileSync('ip', [...ipArgs, 'addr', 'add', bridgeNet, 'dev', bridge])
  execFileSync('ip', [...ipArgs, 'link', 'set', bridge, 'up'])

  const dockerdArgs = [
    '--storage-driver',
    'vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge',
    bridge,
    '--default-address-pool',
    pool,
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'x'),
    '--pidfile',
    join(dir, 'dockerd.pid'),
    '--cgroup-parent',
    `/${cgroup}`,
    '--host',
    host,
    // The test registry listens on 127.0.0.1 over plain HTTP.
    '--insecure-registry',
    '127.0.0.0/8',
    ...(o.extraArgs ?? []),
  ]
  const log = join(dir, 'dockerd.log')
  const logFd = openSync(log, 'a')
  // nsenter, not `ip netns exec`: that one mounts a sysfs of its own, without the cgroup hierarchy, and dockerd
  // then refuses to start ("Devices cgroup isn't mounted").
  const [bin, args] = netns
    ? ['nsenter', [`--net=/run/netns/${netns}`, 'dockerd', ...dockerdArgs]]
    : ['dockerd', dockerdArgs]
  // Own process group (detached): stop() signals dockerd and the containerd it starts together.
  const dockerd: ChildProcess = spawn(bin, args, { detached: true, stdio: ['ignore', logFd, logFd] })
  closeSync(logFd)
  dockerd.unref()
  let exited: string | undefined
  dockerd.on('exit', (code, signal) => {
    exited = `dockerd exited ${code ?? signal}`
  })
  // The watcher: reaps the engine if this worker dies without running its exit handler.
  spawn('bash', [REAPER, 'watch', dir, cgroup, bridge, netns, String(process.pid)], {
    detached: true,
    stdio: 'ignore',
  }).unref()

  let stopped = false
  const engine: DockerEngine = {
    name,
    socket,
    host,
    dir,
    env,
    bridge,
    gateway: bridgeNet.split('/')[0]!,
    docker: (a, opts) => runDocker(env, a, opts),
    async stop() {
      if (stopped) return
      stopped = true
      try {
        const ids = (await runDocker(env, ['ps', '-aq'])).split('\n').filter(Boolean)
        if (ids.length > 0) await runDocker(env, ['rm', '-f', '-v', ...ids])
      } catch {
        // the engine is gone already; the reaper removes what is left
      }
      if (dockerd.pid !== undefined && exited === undefined) {
        try {
          process.kill(-dockerd.pid, 'SIGTERM')
        } catch {}
        for (let i = 0; i < 100 && exited === undefined; i++) await sleep(100)
      }
      reapNow(reapable)
      live.delete(reapable)
    },
  }

  for (let i = 0; ; i++) {
    if (exited !== undefined) {
      await engine.stop()
      throw new Error(`${exited} before answering:\n${logTail(log)}`)
    }
    try {
      await runDocker(env, ['info', '--format', '{{.ServerVersion}}'])
      break
    } catch (error) {
      if (i >= 600) {
        await engine.stop()
        throw new Error(`dockerd did not answer in 60 s: ${(error as Error).message}\n${logTail(log)}`)
      }
      await sleep(100)
    }
  }
  return engine
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Imports the offline base image (debootstrap minbase + python3) into the engine as `tag`; resolves to its image id.
 * No Docker Hub here: every test image builds FROM this one.
 */
export async function importBaseImage(e: DockerEngine, tag: string = BASE_IMAGE_TAG): Promise<string> {
  const out = await e.docker([
    'import',
    '--change',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change',
    'ENV LANG=C.UTF-8',
    '--change',
    'CMD ["python3"]',
    existsSync(SLIM_BASE_TARBALL) ? SLIM_BASE_TARBALL : BASE_TARBALL,
    tag,
  ])
  return out.trim()
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

/** The distribution registry (Debian's docker-registry binary) on 127.0.0.1, storing in a temp dir. */
export async function startRegistry(): Promise<{ address: string; stop(): Promise<void> }> {
  if (!existsSync(REGISTRY_BINARY))
    throw new Error(`no registry binary at ${REGISTRY_BINARY}: run bash .ci/docker-stack.sh`)
  const dir = mkdtempSync('/tmp/msr-')
  const port = await freePort()
  const address = `127.0.0.1:${port}`
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: "${address}" }`,
      '',
    ].join('\n'),
  )
  const logFd = openSync(join(dir, 'registry.log'), 'a')
  const child = spawn(REGISTRY_BINARY, ['serve', config], { detached: true, stdio: ['ignore', logFd, logFd] })
  closeSync(logFd)
  child.unref()
  let exited: string | undefined
  child.on('exit', (code, signal) => {
    exited = `registry exited ${code ?? signal}`
  })
  const reapable: Reapable = { dir, cgroup: `modelship-test-registry-${port}`, bridge: '', netns: '' }
  live.add(reapable)
  installExitHook()
  spawn('bash', [REAPER, 'watch', dir, reapable.cgroup, '', '', String(process.pid)], {
    detached: true,
    stdio: 'ignore',
  }).unref()
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    reapNow(reapable)
    live.delete(reapable)
  }
  for (let i = 0; ; i++) {
    if (exited !== undefined) {
      await stop()
      throw new Error(`${exited}: ${logTail(join(dir, 'registry.log'))}`)
    }
    try {
      const res = await fetch(`http://${address}/v2/`)
      if (res.ok) break
    } catch {}
    if (i >= 300) {
      await stop()
      throw new Error(`the registry did not answer on ${address}`)
    }
    await sleep(100)
  }
  return { address, stop }
}

/** Engines' directories under /tmp (for a test asserting nothing is left behind). */
export function engineDirs(): string[] {
  return readdirSync('/tmp').filter((d) => d.startsWith('mse-'))
}
