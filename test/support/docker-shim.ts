import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The directory holding the fake `docker` executable (test/fixtures/bin). */
export const DOCKER_SHIM_BIN_DIR = fileURLToPath(new URL('../fixtures/bin/', import.meta.url)).replace(/[\\/]$/, '')

export type ShimHealth = 'healthy' | 'unhealthy' | 'starting' | 'none' | 'exited'

export interface DockerShimOptions {
  /** DOCKER_SHIM_NO_ENGINE=1: engine commands (info, build, up, ps, inspect, image inspect) fail as if no daemon answers. */
  noEngine?: boolean
  /** DOCKER_SHIM_FAIL: command names that exit 1 (`build`, `up`, `ps`, `info`, `inspect`, `image-inspect`); `build@2` = only the 2nd build. */
  fail?: string | readonly string[]
  /** DOCKER_SHIM_HEALTH (default healthy). `none`: no Health field, State running; `exited`: State exited. */
  health?: ShimHealth
  /** DOCKER_SHIM_HEALTH_AFTER: report `starting` for the first N `ps` calls after each `up`. */
  healthAfter?: number
  /** DOCKER_SHIM_HEALTH_MODEL: only a container running this model gets `health`; others are healthy. */
  healthModel?: string
  /** DOCKER_SHIM_PS_SHAPE: `ps --format json` prints one object per line (default) or one array. */
  psShape?: 'lines' | 'array'
  /** DOCKER_SHIM_IMAGE_MISMATCH=1: `docker inspect` of the container reports an image id other than the last build. */
  imageMismatch?: boolean
  /** DOCKER_SHIM_ECHO_ENV: the build prints `NAME=<value>` for these variables to stdout (a careless Dockerfile). */
  echoEnv?: string | readonly string[]
  /** Keep a persistent state dir between invocations (default true). */
  state?: boolean
  /** Directory for the log and state; default a new temp dir. */
  dir?: string
}

/** One line of DOCKER_SHIM_LOG: one invocation of the fake docker. */
export interface ShimCall {
  argv: string[]
  /** Names (never values) of the environment variables matching /HF_|TOKEN|SECRET|PASSWORD/. */
  env: string[]
  cwd: string
  /** True when the value of a variable named like TOKEN, SECRET or PASSWORD appeared in argv (it is redacted in `argv`). */
  secretSeen: boolean
  /** The command's name: the compose subcommand (`build`, `up`, `ps`, `config`, `version`), `info`, `inspect`, `image-inspect`, … */
  name: string
  exitCode: number
  /** compose only: the -f files, resolved, and the project name. */
  files?: string[]
  project?: string
  /** compose build only: a -f file declares `secrets:` with `hf_token`. */
  secretOverride?: boolean
  /** compose build only: HF_TOKEN was set in the build's environment. */
  hfTokenInEnv?: boolean
}

export interface ShimImage {
  id: string
  model: string
  service: string
  project: string
}

export interface ShimContainer {
  id: string
  name: string
  service: string
  project: string
  image: string
  imageId: string
  model: string
  state: string
  createdAt: string
  psCalls: number
}

/** The shim's persistent state (DOCKER_SHIM_STATE/state.json). */
export interface ShimState {
  counter: number
  /** Calls per command name, failed ones included. */
  calls: Record<string, number>
  builds: Array<{ service: string; project: string; image: string; id: string; model: string; buildArgs: Record<string, string> }>
  /** By image name `<project>-<service>`. */
  images: Record<string, ShimImage>
  /** By `<project>/<service>`. */
  containers: Record<string, ShimContainer>
}

export interface DockerShim {
  /** Put first on PATH (already done in `env`). */
  binDir: string
  /** Temp dir holding `log.jsonl` and `state/`. */
  dir: string
  logFile: string
  stateDir: string | undefined
  /** PATH with binDir first, plus the DOCKER_SHIM_* variables. Merge into a child's environment. */
  env: Record<string, string>
  /** The invocations so far, oldest first. */
  calls(): ShimCall[]
  /** The persistent state (empty when nothing ran yet). */
  state(): ShimState
  /** The container running `service` (any project), if one was started. */
  container(service: string): ShimContainer | undefined
  /** Removes the temp dir (only when the shim created it). */
  cleanup(): void
}

const list = (v: string | readonly string[] | undefined): string => (typeof v === 'string' ? v : (v ?? []).join(','))

export function createDockerShim(opts: DockerShimOptions = {}): DockerShim {
  const owned = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'modelship-docker-shim-'))
  const logFile = join(dir, 'log.jsonl')
  const stateDir = opts.state === false ? undefined : join(dir, 'state')

  const env: Record<string, string> = {
    PATH: [DOCKER_SHIM_BIN_DIR, process.env.PATH ?? ''].filter(Boolean).join(delimiter),
    DOCKER_SHIM_LOG: logFile,
  }
  if (stateDir) env.DOCKER_SHIM_STATE = stateDir
  if (opts.noEngine) env.DOCKER_SHIM_NO_ENGINE = '1'
  if (opts.fail !== undefined) env.DOCKER_SHIM_FAIL = list(opts.fail)
  if (opts.health) env.DOCKER_SHIM_HEALTH = opts.health
  if (opts.healthAfter !== undefined) env.DOCKER_SHIM_HEALTH_AFTER = String(opts.healthAfter)
  if (opts.healthModel) env.DOCKER_SHIM_HEALTH_MODEL = opts.healthModel
  if (opts.psShape) env.DOCKER_SHIM_PS_SHAPE = opts.psShape
  if (opts.imageMismatch) env.DOCKER_SHIM_IMAGE_MISMATCH = '1'
  if (opts.echoEnv !== undefined) env.DOCKER_SHIM_ECHO_ENV = list(opts.echoEnv)

  const state = (): ShimState => {
    const file = stateDir ? join(stateDir, 'state.json') : undefined
    const empty: ShimState = { counter: 0, calls: {}, builds: [], images: {}, containers: {} }
    return file && existsSync(file) ? { ...empty, ...(JSON.parse(readFileSync(file, 'utf8')) as Partial<ShimState>) } : empty
  }

  return {
    binDir: DOCKER_SHIM_BIN_DIR,
    dir,
    logFile,
    stateDir,
    env,
    calls: () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as ShimCall)
        : [],
    state,
    container: (service) => Object.values(state().containers).find((c) => c.service === service),
    cleanup: () => {
      if (owned) rmSync(dir, { recursive: true, force: true })
    },
  }
}
