import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from './config.js'
import { pathExists, writeFileAtomic } from './fs-atomic.js'
import { createLog } from './log.js'
import type { Clock, Log, Shell, UserFiles } from './ports.js'
import { redactorForEnv, SECRET_ENV_VARS, type Redactor } from './redact.js'
import { createRegistry } from './registry/index.js'
import type { ModelRegistry } from './registry/types.js'
import { createShell } from './shell.js'

/** Secret values read from the environment: handed to children by env only, never argv, never printed. */
export interface Secrets {
  hfToken?: string
  feedbackApiToken?: string
  databaseUrl?: string
}

/** Every side effect modelship has goes through these ports, built here and injected. */
export interface Deps {
  readonly config: Config
  readonly sh: Shell
  readonly registry: ModelRegistry
  readonly files: UserFiles
  readonly clock: Clock
  readonly log: Log
  readonly redact: Redactor
  readonly secrets: Secrets
  /** `<workspace>/.modelship` */
  readonly stateDir: string
}

export const realClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

export function createUserFiles(o: { dryRun: boolean; log: Log }): UserFiles {
  return {
    readText: (path) => readFile(path, 'utf8'),
    exists: pathExists,
    async writeAtomic(path, content) {
      if (o.dryRun) {
        o.log.plan(`! write ${path}`)
        return
      }
      await writeFileAtomic(path, content)
    },
  }
}

export function secretsFromEnv(env: Readonly<Record<string, string | undefined>>): Secrets {
  const pick = (k: string): string | undefined => (env[k] ? env[k] : undefined)
  const secrets: Secrets = {}
  const hf = pick('HF_TOKEN')
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
  const secrets = secretsFromEnv(o.env)
  return {
    config: o.config,
    redact,
    log,
    clock,
    secrets,
    stateDir: join(o.config.workspace, '.modelship'),
    sh: o.overrides?.sh ?? createShell({ cwd: o.config.workspace, env: childEnvOf(o.env), dryRun: o.dryRun, log, redact }),
    files: o.overrides?.files ?? createUserFiles({ dryRun: o.dryRun, log }),
    registry:
      o.overrides?.registry ??
      createRegistry(o.config, { hfToken: secrets.hfToken, now: () => clock.now(), log: (l) => log.info(l) }),
  }
}
