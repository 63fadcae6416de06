import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/config.js'
import { createPlan, type Plan } from '../engine/plan.js'
import { pathExists, readTextIfAny, writeFileAtomic } from '../fs-atomic.js'
import { type GitHubApi, createGitHubApi } from '../github/api.js'
import { resolveGithubToken } from '../github/token.js'
import { createHistory, type History } from '../history/audit-log.js'
import { resolveHfToken } from '../registry/hf/token.js'
import { createRegistry } from '../registry/index.js'
import type { ModelRegistry } from '../registry/types.js'
import { redactorForEnv, SECRET_ENV_VARS, type Redactor } from '../secrets/redact.js'
import { withDryRun } from './dry-run.js'
import { createLog } from './log.js'
import { createShell } from './shell.js'
import type { Clock, Log, Shell, UserFiles } from './types.js'

/** Secret values read from the environment: handed to children by env only, never argv, never printed. */
export interface Secrets {
  hfToken?: string
  /** Where the HF token came from (HF_TOKEN, or a token file): a description, never the value. */
  hfTokenSource?: string
  feedbackApiToken?: string
  databaseUrl?: string
}

/** Every side effect modelship has goes through these ports, built here and injected. */
export interface Deps {
  readonly config: Config
  readonly sh: Shell
  readonly registry: ModelRegistry
  readonly files: UserFiles
  /** GitHub's REST API (deploy.mode github); Octokit loads on its first call. */
  readonly github: GitHubApi
  /** The audit log, `.modelship/history.jsonl`. */
  readonly history: History
  readonly clock: Clock
  readonly log: Log
  readonly redact: Redactor
  readonly secrets: Secrets
  /** The dry-run plan; stays empty in a real run. */
  readonly plan: Plan
  /** `<workspace>/.modelship` */
  readonly stateDir: string
  /** Test-only: MODELSHIP_TEST_KILL_AT (see EngineDeps.killPoint). */
  readonly killPoint?: string
  /**
   * The environment children run with (workspace .env under the real environment, secrets removed):
   * what docker compose interpolates `${VAR}` from. Read by preflight's required-variable check.
   */
  readonly env?: Readonly<Record<string, string | undefined>>
}

export const realClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

export const userFiles: UserFiles = {
  // Synchronous: the files are small, and an fs/promises read is four thread-pool round trips (fs-atomic.ts).
  readText: async (path) => readFileSync(path, 'utf8'),
  exists: pathExists,
  writeAtomic: (path, content) => writeFileAtomic(path, content),
}

export function secretsFromEnv(env: Readonly<Record<string, string | undefined>>): Secrets {
  const pick = (k: string): string | undefined => (env[k] ? env[k] : undefined)
  const secrets: Secrets = {}
  // As huggingface_hub does: HF_TOKEN, else HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token.
  const found = resolveHfToken(env, readTextIfAny)
  const hf = found?.token
  if (found) secrets.hfTokenSource = found.source
  const api = pick('FEEDBACK_API_TOKEN')
  const db = pick('DATABASE_URL')
  if (hf) secrets.hfToken = hf
  if (api) secrets.feedbackApiToken = api
  if (db) secrets.databaseUrl = db
  return secrets
}

/** The environment children inherit: the real one without secrets (each command adds the ones it needs). */
export function childEnvOf(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env }
  for (const k of SECRET_ENV_VARS) delete out[k]
  return out
}

export function createDeps(o: {
  config: Config
  env: Readonly<Record<string, string | undefined>>
  dryRun: boolean
  write: (line: string) => void
  overrides?: Partial<Deps>
}): Deps {
  const redact = o.overrides?.redact ?? redactorForEnv(o.env)
  const log = o.overrides?.log ?? createLog(o.write, redact)
  const clock = o.overrides?.clock ?? realClock
  const secrets = o.overrides?.secrets ?? secretsFromEnv(o.env)
  // A token read from a file is a secret too: mask it everywhere from now on.
  redact.add(secrets.hfToken)
  const plan = o.overrides?.plan ?? createPlan()
  const stateDir = join(o.config.workspace, '.modelship')
  const killPoint = o.env.MODELSHIP_TEST_KILL_AT
  const childEnv = childEnvOf(o.env)
  const sh =
    o.overrides?.sh ?? createShell({ cwd: o.config.workspace, env: childEnv, redact, preloadWriter: !o.dryRun })
  const ports = {
    ...(killPoint ? { killPoint } : {}),
    config: o.config,
    redact,
    log,
    clock,
    secrets,
    plan,
    stateDir,
    env: o.overrides?.env ?? childEnv,
    sh,
    github:
      o.overrides?.github ?? createGitHubApi({ token: (apiUrl) => resolveGithubToken(o.env, sh, apiUrl), redact }),
    files: o.overrides?.files ?? userFiles,
    history: o.overrides?.history ?? createHistory(join(stateDir, 'history.jsonl'), redact),
    registry:
      o.overrides?.registry ??
      createRegistry(o.config, { hfToken: secrets.hfToken, now: () => clock.now(), log: (l) => log.info(l), redact }),
  }
  return o.dryRun ? withDryRun(ports, plan) : ports
}
