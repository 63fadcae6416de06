import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDockerShim, type DockerShim, type DockerShimOptions, type ShimCall } from './docker-shim.js'
import { cleanup, cliEnv, makeWorkspace, readJsonLines } from './workspace.js'

/** The stand-in trainer (test/fixtures/fast-trainer.mjs): instant, same metrics every run. */
export const FAST_TRAINER = fileURLToPath(new URL('../fixtures/fast-trainer.mjs', import.meta.url))

export const IMAGE_OVERRIDE = 'docker-compose.image.yml'
export const IMAGE_REPO = 'ghcr.io/pratikoai/app'

export interface DeployWorkspace {
  ws: string
  shim: DockerShim
  env: Record<string, string>
  done: () => void
}

/**
 * The example app as a team that deploys to servers has it: production and qa each with an env file
 * holding the `${POSTGRES_PASSWORD:?}` the compose files require (the shim enforces it), the service's
 * `image:` tagged with `${IMAGE_TAG:-latest}`, the fast trainer, and the given config over that.
 */
export function deployWorkspace(config: Record<string, unknown>, shimOpts: DockerShimOptions = {}): DeployWorkspace {
  const ws = makeWorkspace({
    config: {
      trainer: { command: [process.execPath, FAST_TRAINER], args: {} },
      environments: {
        production: {
          compose: ['docker-compose.yml', 'docker-compose.production.yml', IMAGE_OVERRIDE],
          edit: ['docker-compose.production.yml'],
          env_file: ['.env.production'],
        },
        qa: {
          compose: ['docker-compose.yml', 'docker-compose.qa.yml', IMAGE_OVERRIDE],
          edit: ['docker-compose.qa.yml'],
          env_file: ['.env.qa'],
        },
      },
      ...config,
    },
  })
  writeFileSync(join(ws, IMAGE_OVERRIDE), `services:\n  app:\n    image: ${IMAGE_REPO}:\${IMAGE_TAG:-latest}\n`)
  writeFileSync(join(ws, '.env.production'), 'POSTGRES_PASSWORD=prod-db-password\n')
  writeFileSync(join(ws, '.env.qa'), 'POSTGRES_PASSWORD=qa-db-password\n')
  const shim = createDockerShim({ strictVars: true, ...shimOpts })
  return {
    ws,
    shim,
    env: cliEnv(shim.env),
    done: () => {
      cleanup(ws)
      shim.cleanup()
    },
  }
}

/** A shim call as one short line: `<host> <compose subcommand or command> [tag]`, for order assertions. */
export function brief(c: ShimCall): string {
  return `${c.host} ${c.name}${c.tag ? ` ${c.tag}` : ''}${c.exitCode ? ' FAILED' : ''}`
}

/** The shim calls that change something (build, push, pull, up), briefly, in order. */
export const writes = (shim: DockerShim, from = 0): string[] =>
  shim
    .calls()
    .slice(from)
    .filter((c) => ['build', 'push', 'pull', 'up'].includes(c.name))
    .map(brief)

export interface HistoryLine {
  action: string
  from: string | null
  to: string | null
  outcome: string
  step?: string
  tag?: string
  previousTag?: string
  hosts?: string[]
}

export const historyOf = (ws: string) => readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))

/** With DEPLOY_SHIM_LOG set, appends the case's docker calls (briefly, in order) to that file, for the closing note. */
export function noteCalls(title: string, shim: DockerShim): void {
  const file = process.env.DEPLOY_SHIM_LOG
  if (!file) return
  const lines = shim
    .calls()
    .map(
      (c) =>
        `  ${brief(c)}` +
        (c.envFiles?.length ? ` [env-file ${c.envFiles.map((f) => f.split('/').pop()).join(',')}]` : ''),
    )
  appendFileSync(file, `${title}\n${lines.join('\n')}\n\n`)
}
