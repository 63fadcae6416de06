import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { copyInitApp } from './support/init-app.js'
import { cleanup, cliEnv, runCli } from './support/workspace.js'

const dirs: string[] = []
afterEach(() => {
  while (dirs.length) cleanup(dirs.pop()!)
})

function writeRun(ws: string, runId: string, state: Record<string, unknown> | string): void {
  const dir = join(ws, '.modelship', 'runs', runId)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'state.json'), typeof state === 'string' ? state : JSON.stringify(state))
}

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString()
const run = (runId: string, status: string, steps: Record<string, unknown>, minutesAgo: number) => ({
  schema: 1,
  runId,
  kind: 'release',
  env: 'production',
  status,
  createdAt: at(minutesAgo),
  updatedAt: at(minutesAgo),
  options: {},
  steps,
})
const reserved = (modelId: string) => ({ status: 'done', outputs: { release: { modelId, reason: 'first version' } } })

function workspace(): string {
  const ws = copyInitApp()
  dirs.push(ws)
  writeRun(
    ws,
    '20250101-100000-aaaaaa',
    run(
      '20250101-100000-aaaaaa',
      'done',
      { version: reserved('acme/intent-classifier-v1.0'), push: { status: 'done' }, record: { status: 'done' } },
      3 * 24 * 60,
    ),
  )
  writeRun(
    ws,
    '20250102-100000-bbbbbb',
    run(
      '20250102-100000-bbbbbb',
      'failed',
      { version: reserved('acme/intent-classifier-v1.1'), push: { status: 'failed' } },
      90,
    ),
  )
  writeRun(
    ws,
    '20250103-100000-cccccc',
    run(
      '20250103-100000-cccccc',
      'interrupted',
      { version: reserved('acme/intent-classifier-v1.2'), push: { status: 'done' }, compose: { status: 'running' } },
      5,
    ),
  )
  writeRun(ws, '20250104-100000-dddddd', '{ not json')
  return ws
}

describe('modelship runs', () => {
  it(
    'lists runs newest first with status, step, reserved version, kind, env and age; a corrupt one with its ' +
      'problem',
    async () => {
      const ws = workspace()
      const r = await runCli(['runs', '--json', '--workspace', ws], { env: cliEnv() })
      expect(r.code).toBe(0)
      const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>
      expect(rows.map((x) => x.runId)).toEqual([
        '20250104-100000-dddddd',
        '20250103-100000-cccccc',
        '20250102-100000-bbbbbb',
        '20250101-100000-aaaaaa',
      ])
      expect(rows[0]).toMatchObject({ status: 'corrupt', problem: expect.stringContaining('not valid JSON') })
      expect(rows[1]).toMatchObject({
        status: 'interrupted',
        step: 'compose',
        modelId: 'acme/intent-classifier-v1.2',
        pushed: true,
        kind: 'release',
        env: 'production',
      })
      expect(rows[2]).toMatchObject({
        status: 'failed',
        step: 'push',
        modelId: 'acme/intent-classifier-v1.1',
        pushed: false,
      })
      expect(rows[3]).toMatchObject({ status: 'done', step: 'record' })
      expect(rows[1]!.ageSeconds).toBeGreaterThanOrEqual(300)

      const human = await runCli(['runs', '--workspace', ws], { env: cliEnv() })
      expect(human.stdout.split('\n')[0]).toMatch(/^RUN\s+KIND\s+ENV\s+STATUS\s+STEP\s+MODEL\s+AGE$/)
      expect(human.stdout).toMatch(
        new RegExp(
          /20250103-100000-cccccc\s+release\s+production\s+interrupted\s+/.source +
            /compose\s+acme\/intent-classifier-v1\.2 \(pushed\)\s+5 min/.source,
        ),
      )
      expect(human.stdout).toMatch(/20250101-100000-aaaaaa .* 3 d\n/)
      expect(human.stdout).toContain('corrupt: ')
    },
  )

  it('abandon marks an unfinished run abandoned and says what happens to its version', async () => {
    const ws = workspace()
    const unpushed = await runCli(['runs', 'abandon', '20250102-100000-bbbbbb', '--workspace', ws], { env: cliEnv() })
    expect(unpushed.code).toBe(0)
    expect(unpushed.stdout).toContain('abandoned run 20250102-100000-bbbbbb')
    expect(unpushed.stdout).toContain('reserved version acme/intent-classifier-v1.1 is released: it was never pushed')
    const state = JSON.parse(
      readFileSync(join(ws, '.modelship', 'runs', '20250102-100000-bbbbbb', 'state.json'), 'utf8'),
    )
    expect(state.status).toBe('abandoned')
    expect(state.steps.version.outputs.release.modelId).toBe('acme/intent-classifier-v1.1')

    const pushed = await runCli(['runs', 'abandon', '20250103-100000-cccccc', '--workspace', ws], { env: cliEnv() })
    expect(pushed.code).toBe(0)
    expect(pushed.stdout).toContain(
      'acme/intent-classifier-v1.2 was pushed and stays in the registry (nothing is deleted)',
    )

    // --resume no longer picks it up.
    const resume = await runCli(['release', '--resume', '20250102-100000-bbbbbb', '--workspace', ws, '--yes'], {
      env: cliEnv({ MODELSHIP_REGISTRY: 'local' }),
    })
    expect(resume.code).toBe(2)
    expect(resume.stderr).toContain('was abandoned')
  })

  it('abandon refuses a finished run, an unknown one and a held lock', async () => {
    const ws = workspace()
    const done = await runCli(['runs', 'abandon', '20250101-100000-aaaaaa', '--workspace', ws], { env: cliEnv() })
    expect(done.code).toBe(2)
    expect(done.stderr).toContain('is done: only an unfinished run can be abandoned')
    const missing = await runCli(['runs', 'abandon', '20990101-000000-ffffff', '--workspace', ws], { env: cliEnv() })
    expect(missing.code).toBe(2)
    // A live process (this test runner) holds the lock.
    const lock = {
      pid: process.pid,
      host: (await import('node:os')).hostname(),
      runId: 'x',
      command: 'release',
      startedAt: at(0),
    }
    writeFileSync(join(ws, '.modelship', 'lock'), `${JSON.stringify(lock)}\n`)
    const locked = await runCli(['runs', 'abandon', '20250102-100000-bbbbbb', '--workspace', ws], { env: cliEnv() })
    expect(locked.code).toBe(4)
    expect(
      JSON.parse(readFileSync(join(ws, '.modelship', 'runs', '20250102-100000-bbbbbb', 'state.json'), 'utf8')).status,
    ).toBe('failed')
  })
})
