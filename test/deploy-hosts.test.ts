import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../pipeline/config/load.js'
import { readHostRuntimes } from '../pipeline/deploy/host-status.js'
import type { ModelshipError } from '../pipeline/engine/errors.js'
import { createDeps } from '../pipeline/ports/deps.js'
import type { Clock } from '../pipeline/ports/types.js'
import { runRelease } from '../pipeline/release/run-release.js'
import { PROMOTE_STEPS } from '../tasks/index.js'
import { deployWorkspace, historyOf, noteCalls, writes } from './support/deploy-workspace.js'
import { runCli } from './support/workspace.js'

const V1 = 'pratikoai/intent-classifier-v1.0'
const done: Array<() => void> = []
afterEach(() => {
  while (done.length) done.pop()!()
})

const COMPOSE_FILES = {
  production: {
    compose: ['docker-compose.yml', 'docker-compose.production.yml'],
    edit: ['docker-compose.production.yml'],
    env_file: ['.env.production'],
  },
  qa: {
    compose: ['docker-compose.yml', 'docker-compose.qa.yml'],
    edit: ['docker-compose.qa.yml'],
    env_file: ['.env.qa'],
  },
}

function setup(
  config: { deploy?: Record<string, unknown>; production?: Record<string, unknown>; qa?: Record<string, unknown> },
  shimOpts = {},
) {
  const d = deployWorkspace(
    {
      deploy: { mode: 'compose', health_timeout_s: 5, ...config.deploy },
      environments: {
        production: { ...COMPOSE_FILES.production, ...config.production },
        qa: { ...COMPOSE_FILES.qa, ...config.qa },
      },
    },
    shimOpts,
  )
  done.push(d.done)
  return d
}

const envFilesOf = (calls: ReturnType<ReturnType<typeof setup>['shim']['calls']>) => [
  ...new Set(
    calls
      .filter((c) => c.files && c.name !== 'version')
      .map((c) => (c.envFiles ?? []).map((f) => f.split('/').pop()).join(',')),
  ),
]

describe('compose mode on several hosts', () => {
  it('builds and ups on each host in order, the canary first; per-host state is readable for ' +
    'current/list', async () => {
    const { ws, shim, env } = setup({ production: { hosts: ['prod-a', 'prod-b'] } }, { contexts: ['prod-a', 'prod-b'] })
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(writes(shim)).toEqual(['prod-a build', 'prod-a up', 'prod-b build', 'prod-b up'])
    // Locally only the engine probe and compose's own read of the files (`config --quiet`, no engine needed).
    expect(
      shim
        .calls('default')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['config', 'info'])
    for (const host of ['prod-a', 'prod-b']) expect(shim.container('app', host)).toMatchObject({ model: V1 })
    expect(historyOf(ws).at(-1)).toMatchObject({ outcome: 'success', hosts: ['prod-a', 'prod-b'] })
    noteCalls('compose mode on two hosts (release v1.0)', shim)

    const config = await loadConfig({ workspace: ws, env: {} })
    const deps = createDeps({ config, env: { PATH: shim.env.PATH, ...shim.env }, dryRun: false, write: () => {} })
    const hosts = await readHostRuntimes({ config, sh: deps.sh, history: await deps.history.read() }, 'production')
    expect(
      hosts.map((h) => [h.host, h.status, h.health, h.imageId === shim.container('app', h.host)?.imageId]),
    ).toEqual([
      ['prod-a', 'ok', 'healthy', true],
      ['prod-b', 'ok', 'healthy', true],
    ])
    expect(await readHostRuntimes({ config, sh: deps.sh }, 'qa')).toEqual([{ host: 'default', status: 'none' }])
    // `current` asks each server of an environment that names its servers
    const current = await runCli(['current', '--workspace', ws, '--json'], { env })
    const shown = JSON.parse(current.stdout) as {
      environments: Record<string, { hosts?: Array<{ host: string; status: string }> }>
    }
    expect(shown.environments.production?.hosts?.map((h) => [h.host, h.status])).toEqual([
      ['prod-a', 'ok'],
      ['prod-b', 'ok'],
    ])
    expect((await runCli(['current', '--workspace', ws], { env })).stdout).toMatch(
      /^ {2}host prod-a\s+\S+ → .+, healthy$/m,
    )
  }, 120_000)

  it('a failure on host 2 rebuilds the previous model on hosts 1 and 2 only (exit 5)', async () => {
    const { ws, shim, env } = setup(
      { production: { hosts: ['prod-a', 'prod-b'] } },
      { health: [{ state: 'unhealthy', host: 'prod-b', model: V1 }], strictVars: true },
    )
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.code).toBe(5)
    expect(r.stderr).toContain(
      'service app is unhealthy after redeploy on prod-b; production was rolled back to mdeberta on prod-a, prod-b',
    )
    expect(writes(shim)).toEqual([
      'prod-a build',
      'prod-a up',
      'prod-b build',
      'prod-b up',
      'prod-a build',
      'prod-a up',
      'prod-b build',
      'prod-b up',
    ])
    expect(
      shim
        .calls()
        .filter((c) => c.name === 'build')
        .map((c) => c.argv.at(-2)),
    ).toEqual([
      `HF_INTENT_MODEL=${V1}`,
      `HF_INTENT_MODEL=${V1}`,
      'HF_INTENT_MODEL=mdeberta',
      'HF_INTENT_MODEL=mdeberta',
    ])
    for (const host of ['prod-a', 'prod-b']) expect(shim.container('app', host)).toMatchObject({ model: 'mdeberta' })
    noteCalls('compose mode, host 2 unhealthy (release v1.0)', shim)
  }, 120_000)
})

describe('per-environment settings', () => {
  it('--env-file: every compose command of an environment gets its env files, never another ' +
    "environment's", async () => {
    const { ws, shim, env } = setup({})
    expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })).code).toBe(0)
    const mark = shim.calls().length
    const r = await runCli(['promote', V1, '--env', 'qa', '--deploy', '--workspace', ws], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const production = shim.calls().slice(0, mark)
    const qa = shim.calls().slice(mark)
    // (the read-only `compose version` and `config --quiet` probes of preflight aside; `config --images`
    // runs beside the build, so the two may start in either order)
    const composeCommands = (calls: typeof production) =>
      calls
        .filter((c) => c.files && c.name !== 'version' && !c.argv.includes('--quiet'))
        .map((c) => c.name)
        .sort()
    expect(composeCommands(production)).toEqual(['build', 'config', 'ps', 'up'])
    expect(composeCommands(qa)).toEqual(['build', 'config', 'ps', 'up'])
    expect(envFilesOf(production)).toEqual(['.env.production'])
    expect(envFilesOf(qa)).toEqual(['.env.qa'])
    noteCalls('env files: release production, then promote v1.0 to qa --deploy', shim)
  }, 120_000)

  it('verify and model_check of an environment override deploy.* for that environment only', async () => {
    const { ws, env } = setup({
      deploy: { verify: ['false'], model_check: null },
      production: { verify: ['true'], model_check: ['echo', `{"model": "${V1}"}`] },
    })
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Verified: true; echo '{"model": "${V1}"}'`)
    const qa = await runCli(['promote', V1, '--env', 'qa', '--deploy', '--workspace', ws], { env })
    expect(qa.code).toBe(5)
    expect(qa.stderr).toMatch(/^error: false exited with 1.*; qa was rolled back to mdeberta/m)
    expect(historyOf(ws).map((h) => [h.action, h.outcome, h.step])).toEqual([
      ['release', 'success', undefined],
      ['promote', 'rolled_back', 'verify'],
    ])
  }, 120_000)
})

/** A clock that never waits: sleep moves time forward. */
function fakeClock(): Clock & { slept: number[] } {
  let now = Date.parse('2025-06-01T00:00:00Z')
  const slept: number[] = []
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms)
      now += ms
    },
  }
}

describe('health_timeout_s per environment (in process, fake clock: no real waiting)', () => {
  async function promoteBart(ws: string, shimEnv: Record<string, string>, envName: string) {
    const config = await loadConfig({ workspace: ws, env: {} })
    const clock = fakeClock()
    const deps = createDeps({ config, env: { ...shimEnv }, dryRun: false, write: () => {}, overrides: { clock } })
    const options = { force: false, noDeploy: false, action: 'promote' as const, target: 'bart', deploy: true }
    const signal = new AbortController().signal
    const req = {
      envName,
      dryRun: false,
      options,
      kind: 'promote',
      renderer: 'silent' as const,
      signal,
      command: 'promote bart',
    }
    const error = (await runRelease(PROMOTE_STEPS, deps, req, ['target']).catch((e: unknown) => e)) as ModelshipError
    return { error, clock }
  }

  it('production waits its own 120 s, qa the global 5 s; both roll back to the previous model', async () => {
    const { ws, shim } = setup({ production: { health_timeout_s: 120 } }, { health: 'starting', healthModel: 'bart' })
    const started = Date.now()
    const prod = await promoteBart(ws, shim.env, 'production')
    expect(prod.error.code).toBe('ROLLED_BACK')
    expect(prod.error.message).toContain('did not become healthy within 120s (last state: starting)')
    expect(prod.clock.slept.reduce((a, b) => a + b, 0)).toBe(120_000)
    const qa = await promoteBart(ws, shim.env, 'qa')
    expect(qa.error.code).toBe('ROLLED_BACK')
    expect(qa.error.message).toContain('did not become healthy within 5s (last state: starting)')
    expect(qa.clock.slept.reduce((a, b) => a + b, 0)).toBe(5_000)
    // Less wall time than the production timeout alone: the waiting was the fake clock's.
    expect(Date.now() - started).toBeLessThan(120_000)
    expect(shim.container('app')?.model).toBe('mdeberta')
  }, 120_000)
})
