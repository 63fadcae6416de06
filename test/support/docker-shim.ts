import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The directory holding the fake `docker` executable (test/fixtures/bin). */
export const DOCKER_SHIM_BIN_DIR = fileURLToPath(new URL('../fixtures/bin/', import.meta.url)).replace(/[\\/]$/, '')
const SHIM_SERVER = fileURLToPath(new URL('../fixtures/docker/server.mjs', import.meta.url))

/**
 * A host as the shim keys it: `default` (no --context, DOCKER_HOST or DOCKER_CONTEXT, or `--context default`),
 * a context name (`prod-a`), or a DOCKER_HOST URL (`ssh://deploy@10.0.0.7:2222`).
 */
export type ShimHost = string
export const DEFAULT_SHIM_HOST: ShimHost = 'default'

export type ShimHealth = 'healthy' | 'unhealthy' | 'starting' | 'none' | 'exited'

/** Makes a command fail: `command` as the shim names it (below), on one host or any, on the Nth call or every one. */
export interface FailCue {
  /**
   * `build`, `push`, `pull`, `up`, `ps`, `config`, `version` (compose or engine), `info`, `inspect`, `image-inspect`.
   */
  command: string
  /** Only on this host (then `call` counts this command's calls on that host). */
  host?: ShimHost
  /** Only the Nth call (1-based); default every call. */
  call?: number
  /** The stderr line; default a message like docker's for that command. */
  message?: string
}

/** The health `ps` reports for the containers it matches (the first matching cue wins; no match → healthy). */
export interface HealthCue {
  state: ShimHealth
  host?: ShimHost
  /** The model the container's image was built with (the last `--build-arg` value). */
  model?: string
  /** The value of the tag variable when the container's image was built. */
  tag?: string
}

/** Everything that steers the shim; written to the control file, which the shim re-reads on every call. */
export interface ShimCues {
  fail?: FailCue[]
  health?: HealthCue[]
  /** Report `starting` for the first N `ps` calls after each (re)created container. */
  healthAfter?: number
  /**
   * Engine commands (info, version --format, build, push, pull, up, ps, inspect) fail as if no daemon answers:
   * everywhere or on these hosts.
   */
  noEngine?: boolean | ShimHost[]
  /**
   * No compose plugin, everywhere or on these hosts: `docker compose version` fails with "docker: 'compose' is
   * not a docker command." (exit 1); `docker compose -f …` with "unknown shorthand flag: 'f' in -f" (exit 125).
   */
  noCompose?: boolean | ShimHost[]
  /** `ps --format json` prints one object per line (default) or one array. */
  psShape?: 'lines' | 'array'
  /** `docker inspect` of a container reports an image id other than the one it was created from. */
  imageMismatch?: boolean
  /** The build prints `NAME=<value>` for these variables to stdout (a careless Dockerfile). */
  echoEnv?: string[]
  /** The image tag variable the log records and builds take their tag from (default IMAGE_TAG). */
  tagVar?: string
  /** Compose commands fail like compose when a `${VAR:?}` of the -f files is unset in the env and env files. */
  strictVars?: boolean
  /** When given, `--context NAME` fails for any other name, as for a context that does not exist. */
  contexts?: string[]
}

export interface DockerShimOptions {
  /** No engine anywhere (true) or on these hosts. */
  noEngine?: boolean | ShimHost[]
  /** No compose plugin anywhere (true) or on these hosts. */
  noCompose?: boolean | ShimHost[]
  /** Failures: `build`, `build@2` (only the 2nd build overall), or cues with a host. */
  fail?: string | ReadonlyArray<string | FailCue>
  /** One health for every container, or cues by host, model and tag. */
  health?: ShimHealth | HealthCue[]
  /** With a single `health`: only containers running this model get it; others are healthy. */
  healthModel?: string
  healthAfter?: number
  psShape?: 'lines' | 'array'
  imageMismatch?: boolean
  echoEnv?: string | readonly string[]
  tagVar?: string
  strictVars?: boolean
  contexts?: string[]
  /** Keep a persistent state dir between invocations (default true). */
  state?: boolean
  /** Directory for the log, control file and state; default a new temp dir. */
  dir?: string
}

/** One line of the call log: one invocation of the fake docker. */
export interface ShimCall {
  argv: string[]
  /** The host the call went to. */
  host: ShimHost
  /**
   * Names (never values) of the variables that matter: /HF_|TOKEN|SECRET|PASSWORD/, DOCKER_HOST, DOCKER_CONTEXT, the
   * tag variable.
   */
  env: string[]
  /** The value of the tag variable, when set in the call's environment. */
  tag?: string
  /** DOCKER_HOST, when set in the call's environment. */
  dockerHost?: string
  cwd: string
  /**
   * True when the value of a variable named like TOKEN, SECRET or PASSWORD appeared in argv (it is redacted in `argv`).
   */
  secretSeen: boolean
  /**
   * The command's name: the compose subcommand (`build`, `push`, `pull`, `up`, `ps`, `config`, `version`), `info`,
   * `inspect`, `image-inspect`, …
   */
  name: string
  exitCode: number
  /** compose only: the -f files and --env-file files, resolved, and the project name. */
  files?: string[]
  envFiles?: string[]
  project?: string
  /** compose build only: a -f file declares `secrets:` with `hf_token`. */
  secretOverride?: boolean
  /** compose build only: HF_TOKEN was set in the build's environment. */
  hfTokenInEnv?: boolean
  /** compose up only: the host lacked the image and compose pulled it from the registry. */
  implicitPull?: boolean
}

export interface ShimImage {
  id: string
  /** The image reference, e.g. `ghcr.io/o/app:model-v1.3` or `<project>-<service>:latest` for a build-only service. */
  ref: string
  model: string
  tag: string | null
  service: string
  project: string
}

export interface ShimContainer {
  id: string
  name: string
  service: string
  project: string
  /** The image reference the container was created from. */
  image: string
  imageId: string
  model: string
  tag: string | null
  state: string
  createdAt: string
  psCalls: number
}

/** One engine. */
export interface ShimHostState {
  builds: Array<ShimImage & { buildArgs: Record<string, string> }>
  /** By image reference (with `:latest` when untagged). */
  images: Record<string, ShimImage>
  /** By `<project>/<service>`. */
  containers: Record<string, ShimContainer>
}

/** The shim's persistent state (DOCKER_SHIM_STATE/state.json). */
export interface ShimState {
  counter: number
  /** Calls per command name and per `<host>|<name>`, failed ones included. */
  calls: Record<string, number>
  /** The container registry shared by every host, by image reference. */
  registry: Record<string, ShimImage & { pushedFrom: ShimHost }>
  hosts: Record<ShimHost, ShimHostState>
}

export interface DockerShim {
  /** Put first on PATH (already done in `env`). */
  binDir: string
  /** Temp dir holding `log.jsonl`, `control.json` and `state/`. */
  dir: string
  logFile: string
  controlFile: string
  stateDir: string | undefined
  /** PATH with binDir first, plus DOCKER_SHIM_LOG / _STATE / _CONTROL. Merge into a child's environment. */
  env: Record<string, string>
  /** The invocations so far, oldest first; with a host, only that host's. */
  calls(host?: ShimHost): ShimCall[]
  /** The hosts called, in the order of their first call. */
  hosts(): ShimHost[]
  /** The persistent state (empty when nothing ran yet). */
  state(): ShimState
  /** One host's engine (empty when nothing ran there). */
  host(host?: ShimHost): ShimHostState
  /** What the registry holds, by image reference. */
  registry(): ShimState['registry']
  /** The container running `service` on a host (default host unless given), if one was started. */
  container(service: string, host?: ShimHost): ShimContainer | undefined
  /** Replaces the cues (e.g. to fail a later call mid-test); the shim reads them on its next call. */
  setCues(cues: ShimCues): void
  cues(): ShimCues
  /** Removes the temp dir (only when the shim created it). */
  cleanup(): void
}

const emptyHost = (): ShimHostState => ({ builds: [], images: {}, containers: {} })

/** The options as cues: `build@2` strings become `{ command, call }`, a single health becomes one cue. */
export function cuesOf(opts: DockerShimOptions): ShimCues {
  const cues: ShimCues = {}
  if (opts.fail !== undefined) {
    const list = typeof opts.fail === 'string' ? opts.fail.split(',') : opts.fail
    cues.fail = list.map((f): FailCue => {
      if (typeof f !== 'string') return f
      const [command = '', at] = f.trim().split('@')
      return at === undefined ? { command } : { command, call: Number(at) }
    })
  }
  if (typeof opts.health === 'string')
    cues.health = [{ state: opts.health, ...(opts.healthModel ? { model: opts.healthModel } : {}) }]
  else if (opts.health) cues.health = opts.health
  if (opts.echoEnv !== undefined)
    cues.echoEnv = typeof opts.echoEnv === 'string' ? opts.echoEnv.split(',') : [...opts.echoEnv]
  for (const k of [
    'noEngine',
    'noCompose',
    'healthAfter',
    'psShape',
    'imageMismatch',
    'tagVar',
    'strictVars',
    'contexts',
  ] as const) {
    if (opts[k] !== undefined) Object.assign(cues, { [k]: opts[k] })
  }
  return cues
}

export function createDockerShim(opts: DockerShimOptions = {}): DockerShim {
  const owned = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'modelship-docker-shim-'))
  mkdirSync(dir, { recursive: true })
  const logFile = join(dir, 'log.jsonl')
  const controlFile = join(dir, 'control.json')
  const stateDir = opts.state === false ? undefined : join(dir, 'state')

  const env: Record<string, string> = {
    PATH: [DOCKER_SHIM_BIN_DIR, process.env.PATH ?? ''].filter(Boolean).join(delimiter),
    DOCKER_SHIM_LOG: logFile,
    DOCKER_SHIM_CONTROL: controlFile,
  }
  if (stateDir) env.DOCKER_SHIM_STATE = stateDir
  // The engine runs in one server per shim (test/fixtures/docker/server.mjs): each `docker` call is then a
  // bash client, not a node process. Until the server has written its port, calls run the engine in node.
  const portFile = join(dir, 'server.port')
  env.DOCKER_SHIM_SERVER = portFile
  const server = spawn(process.execPath, [SHIM_SERVER, portFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  server.unref()
  server.channel?.unref()

  const setCues = (cues: ShimCues): void => {
    // Atomic, so a shim starting meanwhile reads the old cues or the new ones, never half a file.
    const tmp = `${controlFile}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(cues, null, 2))
    renameSync(tmp, controlFile)
  }
  setCues(cuesOf(opts))

  const state = (): ShimState => {
    const file = stateDir ? join(stateDir, 'state.json') : undefined
    const empty: ShimState = { counter: 0, calls: {}, registry: {}, hosts: {} }
    return file && existsSync(file)
      ? { ...empty, ...(JSON.parse(readFileSync(file, 'utf8')) as Partial<ShimState>) }
      : empty
  }
  const calls = (host?: ShimHost): ShimCall[] => {
    if (!existsSync(logFile)) return []
    const all = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ShimCall)
    return host === undefined ? all : all.filter((c) => c.host === host)
  }
  const host = (h: ShimHost = DEFAULT_SHIM_HOST): ShimHostState => state().hosts[h] ?? emptyHost()

  return {
    binDir: DOCKER_SHIM_BIN_DIR,
    dir,
    logFile,
    controlFile,
    stateDir,
    env,
    calls,
    hosts: () => [...new Set(calls().map((c) => c.host))],
    state,
    host,
    registry: () => state().registry,
    container: (service, h) => Object.values(host(h).containers).find((c) => c.service === service),
    setCues,
    cues: () => JSON.parse(readFileSync(controlFile, 'utf8')) as ShimCues,
    cleanup: () => {
      server.kill()
      if (owned) rmSync(dir, { recursive: true, force: true })
    },
  }
}
