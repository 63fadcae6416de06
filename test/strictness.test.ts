import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDockerShim } from './support/docker-shim.js'
import { startExportServer } from './support/export-server.js'
import {
  CLI,
  cleanup,
  cliEnv,
  FIXTURES,
  makeWorkspace,
  readJsonLines,
  runCli,
  snapshotTree,
} from './support/workspace.js'

const INSTANT = join(FIXTURES, 'trainers', 'instant_trainer.py')
const PROD = 'docker-compose.production.yml'
const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

function workspace(config: Record<string, unknown> = {}): string {
  const ws = makeWorkspace({
    config: { trainer: { command: ['python3', INSTANT], args: { epochs: 1 } }, deploy: { mode: 'auto' }, ...config },
  })
  cleanups.push(() => cleanup(ws))
  return ws
}
const cli = (ws: string, args: string[], env: Record<string, string> = {}) =>
  runCli([...args, '--workspace', ws], { env: cliEnv(env) })

describe('config is strict at every depth', () => {
  it.each([
    [
      'deploy:\n  model_chek: [curl, x]\n',
      'modelship.yaml:2: deploy.model_chek: unknown key (did you mean model_check?)',
    ],
    ['gates:\n  min_acuracy: 0.9\n', 'modelship.yaml:2: gates.min_acuracy: unknown key (did you mean min_accuracy?)'],
    [
      'environments:\n  qa:\n    compose: [docker-compose.yml]\n    edits: [docker-compose.yml]\n',
      'modelship.yaml:4: environments.qa.edits: unknown key (did you mean edit?)',
    ],
    ['registyr: local\n', 'modelship.yaml:1: registyr: unknown key (did you mean registry?)'],
  ])('%j is exit 2 naming the key, file, line and the closest known key', async (yaml, message) => {
    const ws = workspace()
    // The typo's section first, the rest of the test config after it (without that section).
    const section = yaml.split(':')[0]!
    const rest = readFileSync(join(ws, 'modelship.yaml'), 'utf8')
      .split(/\n(?=\S)/)
      .filter((block) => !block.startsWith(`${section}:`))
    writeFileSync(join(ws, 'modelship.yaml'), `${yaml}${rest.join('\n')}`)
    const before = snapshotTree(ws)
    const r = await cli(ws, ['release', '--yes'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(message)
    expect(snapshotTree(ws)).toEqual(before)
  })
})

describe('state files are validated', () => {
  it.each([
    ['empty', '', 'empty file'],
    ['truncated', '{"schema":1,"runId":"r1","env":"production","sta', 'not valid JSON'],
    [
      'wrong structure',
      JSON.stringify({
        schema: 1,
        runId: 'r1',
        env: 'production',
        status: 'bogus',
        createdAt: 'x',
        updatedAt: 'x',
        options: {},
        steps: {},
      }),
      'status: "bogus" is not a run status',
    ],
  ])(
    'a %s state.json: --resume is exit 2 naming the file, with a hint that works; the lock is released',
    async (_kind, text, problem) => {
      const ws = workspace()
      const dir = join(ws, '.modelship', 'runs', '20260101-000000-aaaaaa')
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, 'state.json'), text)
      const r = await cli(ws, ['release', '--yes', '--resume'])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`${join(dir, 'state.json')}: corrupt run state: ${problem}`)
      expect(r.stderr).toMatch(/^hint: .*modelship runs abandon <id>/m)
      expect(existsSync(join(ws, '.modelship', 'lock'))).toBe(false)
    },
  )

  it('a garbage line in history.jsonl is exit 2 naming the file and line', async () => {
    const ws = workspace()
    mkdirSync(join(ws, '.modelship'))
    writeFileSync(join(ws, '.modelship', 'history.jsonl'), '{"at":"x","action":"release"}\nnot json\n')
    const r = await cli(ws, ['history'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${join(ws, '.modelship', 'history.jsonl')}:2: not a JSON line`)
  })
})

describe('dry-run and refused runs create nothing', () => {
  it('release --dry-run on a fresh workspace leaves paths, directories and bytes identical', async () => {
    const ws = workspace()
    const before = snapshotTree(ws)
    const r = await cli(ws, ['release', '--dry-run'])
    expect(r.code).toBe(0)
    expect(snapshotTree(ws)).toEqual(before)
    expect(existsSync(join(ws, '.modelship'))).toBe(false)
    // each plan line once, no temp path, the legend, and the stable run directory
    const plan = r.stdout.split('\n').filter((l) => /^\s+[!$#] /.test(l))
    expect(new Set(plan).size).toBe(plan.length)
    expect(r.stdout).not.toContain('modelship-dry-run-')
    expect(r.stdout).toContain('$ runs (read-only)   ! would run or write   # note')
    expect(r.stdout).toMatch(/A real run would create \S+\/\.modelship\/runs\/\d{8}-\d{6}-[0-9a-f]{6}\./)
  })

  it('with an http(s) export source, dry-run makes no request and says what it would fetch', async () => {
    const server = await startExportServer({ rows: [{ text: 'ciao', label: 'chitchat' }] })
    cleanups.push(() => void server.close())
    const ws = workspace({ feedback: { source: `${server.url}?format=jsonl` } })
    const before = snapshotTree(ws)
    const r = await cli(ws, ['release', '--dry-run'])
    expect(r.code).toBe(0)
    expect(server.requests).toEqual([])
    expect(r.stdout).toMatch(/# would GET http:\/\/127\.0\.0\.1:\d+\S* without a token \(not fetched in a dry run/)
    expect(snapshotTree(ws)).toEqual(before)
  })

  it('an exit-2 run (a bad feedback file) leaves no directory behind', async () => {
    const ws = workspace()
    writeFileSync(join(ws, 'feedback.jsonl'), '{"text": "a", "label": "nope"}\n')
    const before = snapshotTree(ws)
    const r = await cli(ws, ['release', '--yes'])
    expect(r.code).toBe(2)
    expect(snapshotTree(ws)).toEqual(before)
  })
})

describe('closed pipes, leftovers, hand edits', () => {
  it('`modelship history | head -1` exits 0 without a stack trace', async () => {
    const ws = workspace()
    mkdirSync(join(ws, '.modelship'))
    const line = JSON.stringify({
      at: '2026-01-01T00:00:00Z',
      action: 'release',
      env: 'production',
      from: 'mdeberta',
      to: 'x/y-v1.0',
      outcome: 'success',
      deployed: false,
      user: 'u',
      host: 'h',
    })
    writeFileSync(join(ws, '.modelship', 'history.jsonl'), `${`${line}\n`.repeat(5000)}`)
    const r = spawnSync('bash', ['-c', `set -o pipefail; node ${CLI} history --workspace ${ws} | head -1`], {
      encoding: 'utf8',
      env: cliEnv(),
    })
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout.split('\n')[0]).toMatch(/^WHEN\s+ACTION/)
  })

  it('temp files and staging dirs a killed run left are removed by the next run', async () => {
    const ws = workspace()
    mkdirSync(join(ws, '.modelship', 'registry', 'pratikoai'), { recursive: true })
    const dead = 2 ** 22 + 4321
    const leftovers = [
      join(ws, `.${PROD}.${dead}.0badc0de.tmp`),
      join(ws, '.modelship', `.history.jsonl.${dead}.0badc0de.tmp`),
      join(ws, '.modelship', 'registry', 'pratikoai', `intent-classifier-v1.0.partial-${dead}`),
    ]
    for (const f of leftovers) writeFileSync(f, 'half')
    const r = await cli(ws, ['release', '--yes'])
    expect(r.code).toBe(0)
    for (const f of leftovers) expect(existsSync(f), f).toBe(false)
  })

  it('a resumed run whose files were edited by hand says so and rolls back to the hand-edited model', async () => {
    const shim = createDockerShim({ fail: 'build@1' })
    cleanups.push(() => shim.cleanup())
    const ws = workspace({ deploy: { mode: 'compose' } })
    const env = shim.env
    expect((await cli(ws, ['release', '--yes'], env)).code).toBe(1)
    // by hand, while the run is stopped: production now says bart
    const prod = join(ws, PROD)
    writeFileSync(prod, readFileSync(prod, 'utf8').replace('${HF_INTENT_MODEL:-mdeberta}', '${HF_INTENT_MODEL:-bart}'))
    shim.setCues({ health: [{ state: 'unhealthy', model: 'pratikoai/intent-classifier-v1.0' }] })
    const r = await cli(ws, ['release', '--yes', '--resume'], env)
    expect(r.stdout + r.stderr).toContain(
      'production was running mdeberta when this run started; the files now say bart',
    )
    expect(r.code).toBe(5)
    expect(readFileSync(prod, 'utf8')).toContain('${HF_INTENT_MODEL:-bart}')
    expect(
      readJsonLines<{ outcome: string; from: string }>(join(ws, '.modelship', 'history.jsonl')).at(-1),
    ).toMatchObject({ outcome: 'rolled_back', from: 'bart' })
  })

  it(
    'a value that is not a model id stops preflight (exit 2) before training; the run resumes once ' + 'fixed',
    async () => {
      const ws = workspace()
      const prod = join(ws, PROD)
      const good = readFileSync(prod, 'utf8')
      writeFileSync(prod, good.replace('${HF_INTENT_MODEL:-mdeberta}', '${HF_INTENT_MODEL:-not a model}'))
      const r = await cli(ws, ['release', '--yes'])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/production is configured with "not a model", which is not a model id/)
      expect(existsSync(join(ws, '.modelship', 'runs')) ? readdirSync(join(ws, '.modelship', 'runs')) : []).toEqual([])
      writeFileSync(prod, good)
      expect((await cli(ws, ['release', '--yes'])).code).toBe(0)
    },
  )
})

describe('no orphan child process', () => {
  const stubborn = (marker: string): string =>
    `import signal, sys, time\nif '--help' in sys.argv:\n    print('usage'); ` +
    `sys.exit(0)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nopen(${JSON.stringify(marker)}, ` +
    `'w').write('started')\nprint('epoch 1/1', flush=True)\ntime.sleep(600)\n`
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  const trainerPids = (marker: string): number[] =>
    spawnSync('pgrep', ['-f', marker], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)

  for (const how of ['SIGINT', 'SIGKILL', 'SIGINT then SIGKILL'] as const) {
    it(`a trainer that ignores SIGTERM is gone after modelship gets ${how}`, async () => {
      const ws = workspace()
      const tag = how.replace(/ /g, '-')
      const script = join(ws, `stubborn_${tag}.py`)
      const marker = join(ws, `started-${tag}`)
      writeFileSync(script, stubborn(marker))
      writeFileSync(
        join(ws, 'modelship.yaml'),
        readFileSync(join(ws, 'modelship.yaml'), 'utf8').replace(INSTANT, script),
      )
      const child = spawn(process.execPath, [CLI, 'release', '--yes', '--workspace', ws], {
        env: cliEnv(),
        stdio: 'ignore',
      })
      const deadline = Date.now() + 60_000
      while (!existsSync(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(trainerPids(script).length).toBeGreaterThan(0)
      const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)))
      if (how === 'SIGINT then SIGKILL') {
        // Killed while it waits out the grace period after SIGTERM: the guard's watcher must still be there.
        child.kill('SIGINT')
        await new Promise((r) => setTimeout(r, 500))
        child.kill('SIGKILL')
      } else child.kill(how)
      const code = await closed
      if (how === 'SIGINT') expect(code).toBe(130)
      // SIGINT: modelship waits for the group (SIGTERM, then SIGKILL after the grace period). SIGKILL: the
      // guard notices its parent is gone and kills the group.
      const until = Date.now() + 10_000
      while (trainerPids(script).some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
      expect(trainerPids(script).filter(alive)).toEqual([])
    }, 90_000)
  }
})
