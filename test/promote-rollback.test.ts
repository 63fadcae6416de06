import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDockerShim, type DockerShim } from './support/docker-shim.js'
import { cleanup, cliEnv, INSTANT_TRAINER_CONFIG, makeWorkspace, readJsonLines, runCli } from './support/workspace.js'

// `promote` and `rollback` agree (issue 25 item 10): both redeploy by default where a deploy mode is set,
// `--no-deploy` only edits, and a failed rollback's hint names the command that resumes that rollback.

const PROD = 'docker-compose.production.yml'
const V1 = 'pratikoai/intent-classifier-v1.0'
const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

/** A workspace in deploy.mode compose on the docker shim, released once (mdeberta → v1.0). */
async function released(): Promise<{ ws: string; shim: DockerShim; env: Record<string, string> }> {
  const ws = makeWorkspace({ config: INSTANT_TRAINER_CONFIG })
  const shim = createDockerShim({})
  cleanups.push(
    () => cleanup(ws),
    () => shim.cleanup(),
  )
  const env = cliEnv(shim.env)
  const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
  expect(r.code, r.stderr).toBe(0)
  return { ws, shim, env }
}

const builds = (shim: DockerShim) =>
  shim
    .calls()
    .filter((c) => c.name === 'build')
    .map((c) => c.argv.find((a) => a.startsWith('HF_INTENT_MODEL=')))

describe('promote and rollback agree', () => {
  it('promote redeploys by default in deploy.mode compose, like rollback; --no-deploy only edits; --deploy is ' +
    'accepted', async () => {
    const { ws, shim, env } = await released()
    const promoted = await runCli(['promote', 'mdeberta', '--workspace', ws, '--json'], { env })
    expect(promoted.code, promoted.stderr).toBe(0)
    expect(JSON.parse(promoted.stdout)).toMatchObject({ from: V1, to: 'mdeberta', deployed: true })
    expect(builds(shim).at(-1)).toBe('HF_INTENT_MODEL=mdeberta')
    expect(shim.container('app')?.model).toBe('mdeberta')

    const before = builds(shim).length
    const edited = await runCli(['promote', V1, '--no-deploy', '--workspace', ws, '--json'], { env })
    expect(edited.code, edited.stderr).toBe(0)
    expect(JSON.parse(edited.stdout)).toMatchObject({ to: V1, deployed: false })
    expect(builds(shim)).toHaveLength(before)
    expect(readFileSync(join(ws, PROD), 'utf8')).toContain(V1)
    expect(shim.container('app')?.model).toBe('mdeberta')
    expect(edited.stderr).toContain(
      `not redeployed (--no-deploy): run \`modelship promote ${V1} --env production --deploy\``,
    )

    const explicit = await runCli(['promote', V1, '--deploy', '--workspace', ws, '--json'], { env })
    expect(JSON.parse(explicit.stdout)).toMatchObject({ deployed: true })
    expect(shim.container('app')?.model).toBe(V1)

    const back = await runCli(['rollback', '--no-deploy', '--workspace', ws, '--json'], { env })
    expect(JSON.parse(back.stdout)).toMatchObject({ deployed: false })
  }, 120_000)

  it('a failed rollback names `rollback --resume <run>`, which finishes that rollback', async () => {
    const { ws, shim, env } = await released()
    const before = readFileSync(join(ws, PROD), 'utf8')
    shim.setCues({ fail: [{ command: 'build', message: 'failed to solve: network unreachable' }] })
    const failed = await runCli(['rollback', '--workspace', ws], { env })
    expect(failed.code, failed.stderr).toBe(1)
    const runId = /`modelship rollback --resume (\S+)`/.exec(failed.stderr)?.[1]
    expect(failed.stderr, 'the hint names the rollback, not a release').not.toContain('release --resume')
    expect(runId).toMatch(/^\d{8}-\d{6}-/)
    // A failed build changes nothing that runs: the files are back as they were.
    expect(readFileSync(join(ws, PROD), 'utf8')).toBe(before)

    shim.setCues({})
    const resumed = await runCli(['rollback', '--resume', runId!, '--workspace', ws, '--json'], { env })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ from: V1, to: 'mdeberta', deployed: true, runId })
    expect(shim.container('app')?.model).toBe('mdeberta')
    expect(readFileSync(join(ws, PROD), 'utf8')).toContain('${HF_INTENT_MODEL:-mdeberta}')
    const history = readJsonLines<{ action: string; outcome: string; to: string }>(
      join(ws, '.modelship', 'history.jsonl'),
    )
    expect(history.map((h) => [h.action, h.outcome, h.to])).toEqual([
      ['release', 'success', V1],
      ['rollback', 'failed', 'mdeberta'],
      ['rollback', 'success', 'mdeberta'],
    ])
  }, 120_000)
})
