import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDockerShim, type DockerShim } from './support/docker-shim.js'
import { cleanup, cliEnv, FIXTURES, makeWorkspace, readJsonLines, runCli } from './support/workspace.js'

const INSTANT = join(FIXTURES, 'trainers', 'instant_trainer.py')

const PROD = 'docker-compose.production.yml'
const V1 = 'pratikoai/intent-classifier-v1.0'
const V2 = 'pratikoai/intent-classifier-v1.1'
const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

function setup(
  shimOpts: Parameters<typeof createDockerShim>[0] = {},
  config: Record<string, unknown> = {},
): { ws: string; shim: DockerShim; env: Record<string, string> } {
  // These tests are about deploy, rollback and history, not the model: the instant stand-in trainer.
  const ws = makeWorkspace({ config: { trainer: { command: ['python3', INSTANT] }, ...config } })
  const shim = createDockerShim(shimOpts)
  cleanups.push(
    () => cleanup(ws),
    () => shim.cleanup(),
  )
  return { ws, shim, env: cliEnv(shim.env) }
}

interface HistoryLine {
  action: string
  from: string | null
  to: string | null
  outcome: string
  step?: string
}

const history = (ws: string) => readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))

describe('health-gated deploy with automatic rollback', () => {
  it('unhealthy after up: files restored byte-identical, the old model rebuilt and redeployed, exit 5', async () => {
    const { ws, shim, env } = setup({ health: 'unhealthy', healthModel: V1 })
    const before = readFileSync(join(ws, PROD))
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env })
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/^error: service app is unhealthy after redeploy; production was rolled back to mdeberta/m)
    expect(readFileSync(join(ws, PROD)).equals(before)).toBe(true)
    const builds = shim
      .calls()
      .filter((c) => c.name === 'build' && c.exitCode === 0)
      .map((c) => c.argv.find((a) => a.startsWith('HF_INTENT_MODEL=')))
    expect(builds).toEqual([`HF_INTENT_MODEL=${V1}`, 'HF_INTENT_MODEL=mdeberta'])
    expect(shim.container('app')?.model).toBe('mdeberta')
    expect(history(ws).at(-1)).toMatchObject({
      action: 'release',
      from: 'mdeberta',
      to: V1,
      outcome: 'rolled_back',
      step: 'deploy',
    })
  })

  it('health timeout → rollback, exit 5; both ps output shapes are read', async () => {
    const { ws, shim, env } = setup(
      { health: 'starting', healthModel: V1, psShape: 'array' },
      { deploy: { health_timeout_s: 1 } },
    )
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env })
    expect(r.code).toBe(5)
    expect(r.stderr).toContain('did not become healthy within 1s (last state: starting)')
    expect(shim.container('app')?.model).toBe('mdeberta')
  })

  it('the rollback fails too: exit 6 with the state of files and containers and the commands to finish', async () => {
    const { ws, env } = setup({ health: 'unhealthy', healthModel: V1, fail: 'build@2' })
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/^error: restoring mdeberta failed too: /m)
    expect(r.stderr).toContain(`files: restored byte-identical to before the run: ${PROD}`)
    expect(r.stderr).toMatch(/containers of app: .*unhealthy/)
    expect(r.stderr).toContain(
      `  docker compose --env-file .env.test -f docker-compose.yml -f ${PROD} build --build-arg ` +
        `HF_INTENT_MODEL=mdeberta app`,
    )
    expect(history(ws).at(-1)).toMatchObject({ outcome: 'rollback_failed' })
  })

  it('verify: the model check must report the new model id, else rollback and exit 5', async () => {
    const { ws, shim, env } = setup(
      {},
      { deploy: { verify: ['true'], model_check: ['echo', '{"model": "mdeberta"}'] } },
    )
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env })
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(
      new RegExp(
        /^error: model check echo .* did not report pratikoai\/intent-classifier-v1\.0 /.source +
          /.*; production was rolled back to mdeberta/.source,
        'm',
      ),
    )
    expect(shim.container('app')?.model).toBe('mdeberta')
    expect(history(ws).at(-1)).toMatchObject({ outcome: 'rolled_back', step: 'verify' })
  })

  it('a container running another image than the one just built fails the deploy', async () => {
    const { ws, env } = setup({ imageMismatch: true })
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env })
    expect(r.stderr).toMatch(/runs image .*, not the one just built/)
    expect(r.code).toBe(6)
  })
})

describe('current, promote, rollback, history', () => {
  it('rollback with no argument after two releases goes back to the first; current and history agree', async () => {
    const { ws, shim, env } = setup()
    expect((await runCli(['release', '--workspace', ws, '--yes'], { env })).code).toBe(0)
    expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })).code).toBe(0)
    const rb = await runCli(['rollback', '--workspace', ws], { env })
    expect(rb.stderr).toBe('')
    expect(rb.code).toBe(0)
    expect(rb.stdout).toContain(`rolled back production: ${V2} → ${V1}, redeployed`)
    expect(shim.container('app')?.model).toBe(V1)

    const current = JSON.parse(
      (await runCli(['current', '--workspace', ws, '--json'], { env: { ...env, HF_INTENT_MODEL: 'from-shell' } }))
        .stdout,
    ) as {
      environments: Record<string, { model: string; files: Array<{ file: string; value: string; variable?: string }> }>
      env: Record<string, string | null>
    }
    expect(current.environments.production!.model).toBe(V1)
    expect(current.environments.production!.files).toContainEqual(
      expect.objectContaining({ file: PROD, value: V1, variable: 'HF_INTENT_MODEL' }),
    )
    expect(current.environments.qa!.model).toBe('mdeberta')
    expect(current.env).toEqual({ HF_INTENT_MODEL: 'from-shell' })

    const h = JSON.parse((await runCli(['history', '--workspace', ws, '--json'], { env })).stdout) as HistoryLine[]
    expect(h.map((e) => [e.action, e.from, e.to, e.outcome])).toEqual([
      ['rollback', V2, V1, 'success'],
      ['release', V1, V2, 'success'],
      ['release', 'mdeberta', V1, 'success'],
    ])
    const listed = JSON.parse((await runCli(['list', '--workspace', ws, '--json'], { env })).stdout) as Array<{
      id: string
      environments: string[]
      private: boolean
      accuracy: number
    }>
    expect(listed.map((m) => [m.id, m.environments])).toEqual([
      [V2, []],
      [V1, ['production']],
    ])
    expect(listed[0]!.private).toBe(true)
    expect((listed[0] as unknown as { created: string }).created).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(listed[0]!.accuracy).toBeGreaterThan(0.9)
  }, 120_000)

  it(
    'promote: an unknown model is refused (exit 2, files untouched, history records the attempt); a base alias is ' +
      'accepted',
    async () => {
      const { ws, env } = setup()
      const before = readFileSync(join(ws, PROD), 'utf8')
      const r = await runCli(['promote', 'pratikoai/intent-classifier-v9.9', '--workspace', ws], { env })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^error: pratikoai\/intent-classifier-v9\.9 is not in local registry at /m)
      expect(readFileSync(join(ws, PROD), 'utf8')).toBe(before)
      expect(history(ws).at(-1)).toMatchObject({
        action: 'promote',
        to: 'pratikoai/intent-classifier-v9.9',
        outcome: 'failed',
      })

      const qa = await runCli(['promote', 'bart', '--env', 'qa', '--workspace', ws], { env })
      expect(qa.code).toBe(0)
      expect(readFileSync(join(ws, 'docker-compose.qa.yml'), 'utf8')).toContain(
        '- HF_INTENT_MODEL=${HF_INTENT_MODEL:-bart}',
      )
    },
  )

  it('promote --deploy builds with the token as a compose secret, never in argv', async () => {
    const { ws, shim, env } = setup()
    const token = 'hf_PromoteSecret0987654321zyx'
    const r = await runCli(['promote', 'bart', '--deploy', '--workspace', ws], { env: { ...env, HF_TOKEN: token } })
    expect(r.code).toBe(0)
    const build = shim.calls().find((c) => c.name === 'build')!
    expect(build.argv).toContain('HF_INTENT_MODEL=bart')
    expect(build.secretOverride).toBe(true)
    expect(build.hfTokenInEnv).toBe(true)
    expect(build.secretSeen).toBe(false)
    expect(r.stdout + r.stderr).not.toContain(token)
  })

  it('promote also updates the env files of the environment, keeping comments, quotes and CRLF', async () => {
    const { ws, env } = setup({}, { environments: { production: { env_files: ['.env.production'] } } })
    const { writeFileSync } = await import('node:fs')
    writeFileSync(
      join(ws, '.env.production'),
      '# model for the build\r\nexport HF_INTENT_MODEL="mdeberta"  # base\r\nLOG_LEVEL=info\r\n',
    )
    const r = await runCli(['promote', 'bart', '--workspace', ws], { env })
    expect(r.code).toBe(0)
    expect(readFileSync(join(ws, '.env.production'), 'utf8')).toBe(
      '# model for the build\r\nexport HF_INTENT_MODEL="bart"  # base\r\nLOG_LEVEL=info\r\n',
    )
    expect(readFileSync(join(ws, PROD), 'utf8')).toContain('${HF_INTENT_MODEL:-bart}')
  })

  it('injection attempts in model ids are rejected before anything is written', async () => {
    const { ws, shim, env } = setup()
    const before = readFileSync(join(ws, PROD), 'utf8')
    for (const bad of ['evil\nx: y', 'a/b; rm -rf /', '$(id)/x', 'a/b"', '../../etc/passwd', 'a/b c']) {
      const r = await runCli(['promote', bad, '--workspace', ws], { env })
      expect(r.code, bad).toBe(2)
      expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1)
    }
    expect(readFileSync(join(ws, PROD), 'utf8')).toBe(before)
    expect(shim.calls()).toEqual([])
    expect(history(ws)).toEqual([])
  })
})
