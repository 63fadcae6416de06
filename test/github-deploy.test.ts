// deploy.mode github end to end: the CLI (dist/) against the GitHub REST server in test/support, which walks
// each run through its stages; the release sets the variable the CI build reads, starts the workflow and
// follows the run. `trigger: push` pushes to a bare git remote on disk.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { FAST_TRAINER } from './support/deploy-workspace.js'
import { type GithubServerOptions, startGithubServer } from './support/github-server.js'
import { cleanup, cliEnv, makeWorkspace, readJsonLines, runCli, snapshotTree } from './support/workspace.js'

const MODEL = 'pratikoai/intent-classifier-v1.0'
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function setup(
  o: {
    server?: GithubServerOptions
    github?: Record<string, unknown>
    token?: string
    config?: Record<string, unknown>
  } = {},
) {
  const server = await startGithubServer({ variables: { repository: { HF_INTENT_MODEL: 'mdeberta' } }, ...o.server })
  const ws = makeWorkspace({
    config: {
      trainer: { command: [process.execPath, FAST_TRAINER], args: {} },
      deploy: {
        mode: 'github',
        github: { repo: 'acme/app', workflow: 'deploy-production.yml', ref: 'master', ...o.github },
      },
      ...o.config,
    },
  })
  cleanups.push(
    () => server.close(),
    () => cleanup(ws),
  )
  const env = cliEnv({ GITHUB_API_URL: server.url, GITHUB_TOKEN: o.token ?? 'test-token' })
  return { server, ws, env }
}

const run = (args: string[], ws: string, env: Record<string, string>) =>
  runCli([...args, '--workspace', ws], { env, timeoutMs: 60_000 })

interface History {
  action: string
  outcome: string
  to: string | null
  deployed: boolean
}

describe('deploy.mode github', () => {
  it('release: sets the variable, dispatches, follows the run through approval to success', async () => {
    const { server, ws, env } = await setup()
    const r = await run(['release', '--yes'], ws, env)
    const out = r.stdout + r.stderr
    expect(r.code, out).toBe(0)
    expect(server.variable('HF_INTENT_MODEL')).toBe(MODEL)
    // One dispatch, on the configured branch, asking for the run's details; nothing built here.
    const dispatches = server.calls.filter((c) => c.path.endsWith('/dispatches'))
    expect(dispatches).toHaveLength(1)
    expect(dispatches[0]!.body).toEqual({ ref: 'master', inputs: {}, return_run_details: true })
    const [ghRun] = server.runs
    // The variable was set before the run's build read it.
    expect(ghRun!.builtWith).toBe(MODEL)
    expect(out).toMatch(/run 7001 queued/)
    expect(out).toMatch(/run 7001 waiting: build \/ build-and-push success, deploy waiting \(\d/)
    expect(
      out.match(/waiting for approval in production: https:\/\/github\.example\/acme\/app\/actions\/runs\/7001/g),
    ).toHaveLength(1)
    expect(out).toMatch(/run 7001 completed success/)
    expect(out).toMatch(/Build image.*deploy\.mode is github/)
    expect(out).not.toContain('test-token')
    const state = readFileSync(join(ws, '.modelship', 'runs', readdir(ws)[0]!, 'state.json'), 'utf8')
    expect(state).toContain('"workflowRun"')
    expect(state).not.toContain('test-token')
    const history = readJsonLines<History>(join(ws, '.modelship', 'history.jsonl'))
    expect(history.at(-1)).toMatchObject({ action: 'release', outcome: 'success', to: MODEL, deployed: true })
  })

  it('a failed run puts the variable back to its journaled value and names the failed job and step', async () => {
    const { server, ws, env } = await setup({
      server: {
        stages: [{ status: 'queued' }, { status: 'in_progress' }, { status: 'completed', conclusion: 'failure' }],
      },
    })
    const compose = readFileSync(join(ws, 'docker-compose.production.yml'), 'utf8')
    const r = await run(['release', '--yes'], ws, env)
    const out = r.stdout + r.stderr
    expect(r.code, out).toBe(5)
    expect(out).toMatch(/workflow run 7001 failure: job "deploy", step "Wait for \/health"/)
    expect(out).toContain('https://github.example/acme/app/actions/runs/7001')
    expect(out).toMatch(/put HF_INTENT_MODEL back to mdeberta/)
    // Set, then put back: PATCH twice, the second with the value from before the run.
    const patches = server.calls.filter((c) => c.method === 'PATCH')
    expect(patches.map((c) => c.body)).toEqual([{ value: MODEL }, { value: 'mdeberta' }])
    expect(server.variable('HF_INTENT_MODEL')).toBe('mdeberta')
    expect(readFileSync(join(ws, 'docker-compose.production.yml'), 'utf8')).toBe(compose)
  })

  it('a variable that did not exist is created, and removed again when the run fails', async () => {
    const { server, ws, env } = await setup({
      server: { variables: {}, stages: [{ status: 'completed', conclusion: 'failure' }] },
    })
    const r = await run(['release', '--yes'], ws, env)
    expect(r.code, r.stdout + r.stderr).toBe(5)
    expect(server.calls.find((c) => c.method === 'POST' && c.path.endsWith('/actions/variables'))?.body).toEqual({
      name: 'HF_INTENT_MODEL',
      value: MODEL,
    })
    expect(server.count('DELETE', '/actions/variables/HF_INTENT_MODEL')).toBe(1)
    expect(server.variable('HF_INTENT_MODEL')).toBeUndefined()
  })

  it('a timeout exits with a hint to --resume, which attaches to the same run and never starts a second', async () => {
    const { server, ws, env } = await setup({ github: { timeout_s: 2 } })
    server.hold()
    const first = await run(['release', '--yes'], ws, env)
    const out = first.stdout + first.stderr
    expect(first.code, out).toBe(1)
    expect(out).toMatch(/workflow run 7001 is still queued after 2s/)
    expect(out).toMatch(/modelship release --resume/)
    // The run goes on, building with the new value: the variable stays set.
    expect(server.variable('HF_INTENT_MODEL')).toBe(MODEL)
    server.release()
    // The resumed run gets its own timeout window: a loaded machine must not time it out too.
    const configPath = join(ws, 'modelship.yaml')
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('timeout_s: 2', 'timeout_s: 120'))
    const second = await run(['release', '--resume', '--yes'], ws, env)
    const out2 = second.stdout + second.stderr
    expect(second.code, out2).toBe(0)
    expect(out2).toMatch(/following run 7001 started earlier in this run/)
    expect(out2).toMatch(/run 7001 completed success/)
    expect(server.count('POST', '/dispatches')).toBe(1)
    expect(server.runs).toHaveLength(1)
  })

  it('a SIGKILL right after deploy, then --resume: the journaled run is reused, nothing dispatched again', async () => {
    const { server, ws, env } = await setup({ server: { stages: [{ status: 'completed', conclusion: 'success' }] } })
    const killed = await run(['release', '--yes'], ws, { ...env, MODELSHIP_TEST_KILL_AT: 'after:deploy' })
    expect(killed.signal).toBe('SIGKILL')
    const resumed = await run(['release', '--resume', '--yes'], ws, env)
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
    expect(server.count('POST', '/dispatches')).toBe(1)
    expect(server.count('PATCH', '/actions/variables/')).toBe(1)
    expect(server.variable('HF_INTENT_MODEL')).toBe(MODEL)
  })

  it('after a 204 dispatch, finds the run it started; two candidates are refused, not guessed', async () => {
    const one = await setup({
      server: { dispatchAnswer: 'no-content', stages: [{ status: 'completed', conclusion: 'success' }] },
    })
    const ok = await run(['release', '--yes'], one.ws, one.env)
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.stdout + ok.stderr).toMatch(/started run 7001/)
    expect(
      one.server.count('GET', '/actions/workflows/deploy-production.yml/runs?event=workflow_dispatch&branch=master'),
    ).toBeGreaterThan(0)

    const two = await setup({ server: { concurrentDispatch: true } })
    const refused = await run(['release', '--yes'], two.ws, two.env)
    const out = refused.stdout + refused.stderr
    expect(refused.code, out).toBe(1)
    expect(out).toMatch(/2 runs of deploy-production\.yml match the dispatch on master: refusing to guess/)
    expect(out).toContain('actions/runs/7001')
    expect(out).toContain('actions/runs/7002')
    // Neither run is followed.
    expect(two.server.count('GET', '/actions/runs/700')).toBe(0)
  })

  it('a token without the Variables permission is refused in preflight, before anything changes', async () => {
    const { server, ws, env } = await setup({
      token: 'actions-only',
      server: { tokens: { 'actions-only': { kind: 'fine-grained', permissions: ['actions'] } } },
    })
    const before = snapshotTree(ws)
    const r = await run(['release', '--yes', '--json'], ws, env)
    expect(r.code, r.stdout + r.stderr).toBe(2)
    const result = JSON.parse(r.stdout) as { exitCode: number; error: { message: string } }
    expect(result.exitCode).toBe(2)
    expect(result.error.message).toMatch(/cannot read the repository variable HF_INTENT_MODEL of acme\/app \(403\)/)
    expect(result.error.message).toMatch(/"Variables: Read and write"/)
    expect(server.calls.filter((c) => c.method !== 'GET')).toEqual([])
    expect(snapshotTree(ws)).toEqual(before)
  })

  it('a classic token without the repo scope is told which scopes it lacks', async () => {
    const { ws, env } = await setup({
      token: 'classic',
      server: { tokens: { classic: { kind: 'classic', scopes: ['read:org'] } } },
    })
    const r = await run(['release', '--yes'], ws, env)
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).toMatch(/a classic token needs the repo and workflow scopes \(it has: read:org\)/)
  })

  it('dry-run lists each API call it would make and the workflow it would start, and changes nothing', async () => {
    const { server, ws, env } = await setup()
    const r = await run(['release', '--dry-run'], ws, env)
    const out = r.stdout + r.stderr
    expect(r.code, out).toBe(0)
    expect(out).toContain('$ GET /repos/acme/app/actions/variables/HF_INTENT_MODEL  # now mdeberta')
    expect(out).toContain(`! PATCH /repos/acme/app/actions/variables/HF_INTENT_MODEL {"value":"${MODEL}"}`)
    expect(out).toContain(
      '! POST /repos/acme/app/actions/workflows/deploy-production.yml/dispatches ' +
        '{"ref":"master","inputs":{},"return_run_details":true}  # starts workflow deploy-production.yml on master',
    )
    expect(server.calls.filter((c) => c.method !== 'GET')).toEqual([])
    expect(server.variable('HF_INTENT_MODEL')).toBe('mdeberta')
  })

  it(
    'promote and rollback set the variable and start the workflow the same way; a failed verify redeploys the old ' +
      'model',
    async () => {
      const { server, ws, env } = await setup({ server: { stages: [{ status: 'completed', conclusion: 'success' }] } })
      expect((await run(['release', '--yes'], ws, env)).code).toBe(0)
      const rolled = await run(['rollback', '--yes'], ws, env)
      expect(rolled.code, rolled.stdout + rolled.stderr).toBe(0)
      expect(server.variable('HF_INTENT_MODEL')).toBe('mdeberta')
      const promoted = await run(['promote', 'v1.0', '--deploy', '--yes'], ws, env)
      expect(promoted.code, promoted.stdout + promoted.stderr).toBe(0)
      expect(server.variable('HF_INTENT_MODEL')).toBe(MODEL)
      expect(server.count('POST', '/dispatches')).toBe(3)
      expect(server.runs.map((r) => r.builtWith)).toEqual([MODEL, 'mdeberta', MODEL])

      // verify fails after a successful run: the variable goes back and the workflow runs again with it.
      writeFileSync(join(ws, 'fail.mjs'), 'process.exit(3)\n')
      const configPath = join(ws, 'modelship.yaml')
      const config = parse(readFileSync(configPath, 'utf8')) as { deploy: Record<string, unknown> }
      config.deploy.verify = [process.execPath, join(ws, 'fail.mjs')]
      writeFileSync(configPath, stringify(config))
      const failed = await run(['promote', 'mdeberta', '--deploy', '--yes'], ws, env)
      const out = failed.stdout + failed.stderr
      expect(failed.code, out).toBe(5)
      expect(out).toMatch(/put HF_INTENT_MODEL back to pratikoai\/intent-classifier-v1\.0 and redeployed it \(run 7005/)
      expect(server.variable('HF_INTENT_MODEL')).toBe(MODEL)
      expect(server.runs.slice(3).map((r) => r.builtWith)).toEqual(['mdeberta', MODEL])
    },
  )

  it(
    'trigger push commits the compose edit on the ref, pushes it to the remote, and follows the run for that ' +
      'commit',
    async () => {
      const remote = mkdtempSync(join(tmpdir(), 'modelship-remote-'))
      cleanups.push(() => cleanup(remote))
      execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=master', remote])
      const { server, ws, env } = await setup({
        github: { trigger: 'push' },
        server: { remote, stages: [{ status: 'in_progress' }, { status: 'completed', conclusion: 'success' }] },
      })
      const git = (...args: string[]) => execFileSync('git', ['-C', ws, ...args], { encoding: 'utf8' }).trim()
      git('init', '--quiet', '--initial-branch=master')
      git('config', 'user.email', 'release@acme.example')
      git('config', 'user.name', 'Release')
      writeFileSync(join(ws, '.gitignore'), '.modelship/\n')
      git('add', '.')
      git('commit', '--quiet', '-m', 'app')
      git('remote', 'add', 'origin', remote)
      git('push', '--quiet', 'origin', 'master')
      const r = await run(['release', '--yes'], ws, env)
      const out = r.stdout + r.stderr
      expect(r.code, out).toBe(0)
      const pushed = execFileSync('git', ['--git-dir', remote, 'rev-parse', 'refs/heads/master'], {
        encoding: 'utf8',
      }).trim()
      expect(pushed).toBe(git('rev-parse', 'HEAD'))
      // The pushed commit holds the compose edit, and only it.
      expect(
        execFileSync('git', ['--git-dir', remote, 'show', '--name-only', '--format=%s', pushed], { encoding: 'utf8' }),
      ).toBe(`modelship: production → ${MODEL} (HF_INTENT_MODEL)\n\ndocker-compose.production.yml\n`)
      expect(
        execFileSync('git', ['--git-dir', remote, 'show', `${pushed}:docker-compose.production.yml`], {
          encoding: 'utf8',
        }),
      ).toContain(`\${HF_INTENT_MODEL:-${MODEL}}`)
      expect(server.runs).toHaveLength(1)
      expect(server.runs[0]).toMatchObject({ event: 'push', headSha: pushed })
      expect(server.count('POST', '/dispatches')).toBe(0)
      expect(out).toMatch(/run 7001 completed success/)
    },
  )
})

function readdir(ws: string): string[] {
  return execFileSync('ls', [join(ws, '.modelship', 'runs')], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
}
