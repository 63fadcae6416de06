import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { STEP_NAMES } from '../tasks/index.js'
import { createDockerShim } from './support/docker-shim.js'
import { cleanup, cliEnv, FIXTURES, makeWorkspace, readJsonLines, runCli } from './support/workspace.js'

const PROD = 'docker-compose.production.yml'
const V1 = 'pratikoai/intent-classifier-v1.0'
const INSTANT = join(FIXTURES, 'trainers', 'instant_trainer.py')
const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

interface HistoryLine {
  action: string
  outcome: string
  runId: string
  to: string | null
  step?: string
}

function setup(shimOpts: Parameters<typeof createDockerShim>[0] = {}) {
  const ws = makeWorkspace({ config: { trainer: { command: ['python3', INSTANT], args: { epochs: 1 } } } })
  const shim = createDockerShim(shimOpts)
  cleanups.push(
    () => cleanup(ws),
    () => shim.cleanup(),
  )
  const original = readFileSync(join(ws, PROD))
  const run = (extraEnv: Record<string, string> = {}, ...flags: string[]) =>
    runCli(['release', '--workspace', ws, '--yes', ...flags], { env: cliEnv({ ...shim.env, ...extraEnv }) })
  const versions = (): string[] => readdirSync(join(ws, '.modelship', 'registry', 'pratikoai'))
  const history = (): HistoryLine[] => readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
  return { ws, shim, run, versions, history, original }
}

describe('every step is safe to replay after a SIGKILL between its side effect and its journal write', () => {
  // The table of kill points × outcome: killed right after each step's work, before its state is saved,
  // then `--resume` must end with one version, one success line, and the files holding that version.
  // (preflight writes nothing to replay; publish is skipped in compose mode: test/deploy-image.test.ts resumes
  // a run stopped at publish)
  for (const step of STEP_NAMES.filter((s) => s !== 'preflight' && s !== 'publish')) {
    it(`killed after ${step}: --resume ends with one version, one success history line`, async () => {
      const { ws, run, versions, history } = setup()
      const killed = await run({ MODELSHIP_TEST_KILL_AT: `after:${step}` })
      expect(killed.signal).toBe('SIGKILL')
      const resumed = await run({}, '--resume')
      expect(resumed.stderr).not.toMatch(/^error:/m)
      expect(resumed.code).toBe(0)
      expect(versions()).toEqual(['intent-classifier-v1.0'])
      expect(history().filter((h) => h.outcome === 'success')).toEqual([
        expect.objectContaining({ action: 'release', to: V1 }),
      ])
      expect(readFileSync(join(ws, PROD), 'utf8')).toContain(`\${HF_INTENT_MODEL:-${V1}}`)
    }, 60_000)
  }

  it('killed after compose, then a failed build: the files go back to their bytes from before the run', async () => {
    const { ws, run, original, versions, history } = setup({ fail: 'build@1' })
    expect((await run({ MODELSHIP_TEST_KILL_AT: 'after:compose' })).signal).toBe('SIGKILL')
    // The edit was made but not journaled; the resumed run edits again (a no-op) and its build fails.
    const failed = await run({}, '--resume')
    expect(failed.code).toBe(1)
    expect(readFileSync(join(ws, PROD)).equals(original)).toBe(true)
    const finished = await run({}, '--resume')
    expect(finished.code).toBe(0)
    expect(versions()).toEqual(['intent-classifier-v1.0'])
    expect(history().map((h) => [h.outcome, h.step ?? null])).toEqual([
      ['failed', 'build'],
      ['success', null],
    ])
  }, 60_000)

  it('a promote --deploy killed after its compose edit is journaled as interrupted by the next command', async () => {
    const { ws, shim, run, history } = setup()
    expect((await run()).code).toBe(0)
    const env = cliEnv({ ...shim.env, MODELSHIP_TEST_KILL_AT: 'after:compose' })
    const killed = await runCli(['promote', 'mdeberta', '--deploy', '--workspace', ws], { env })
    expect(killed.signal).toBe('SIGKILL')
    const runs = readdirSync(join(ws, '.modelship', 'runs'))
    expect(runs).toHaveLength(2)
    const back = await runCli(['promote', V1, '--deploy', '--workspace', ws], { env: cliEnv(shim.env) })
    expect(back.stdout + back.stderr).toMatch(/run \S+ \(promote\) was killed during compose: recorded as interrupted/)
    expect(back.code).toBe(0)
    expect(history().map((h) => [h.action, h.outcome, h.to])).toEqual([
      ['release', 'success', V1],
      ['promote', 'interrupted', 'mdeberta'],
      ['promote', 'success', V1],
    ])
  }, 60_000)
})
