import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { isModelshipError } from '../pipeline/engine/errors.js'
import { promoteCommand } from '../scripts/promote.js'
import { createPrompter, promptsAllowed } from '../scripts/prompt.js'
import { releaseCommand } from '../scripts/release.js'
import { copyInitApp, useBaselineTrainer } from './support/init-app.js'
import { cleanup, cliEnv, runCli } from './support/workspace.js'

// In-process: the commands run with an injected question function standing in for the person at the terminal.

let ws: string
beforeAll(async () => {
  ws = copyInitApp()
  expect((await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })).code).toBe(0)
  useBaselineTrainer(ws)
  vi.stubEnv('MODELSHIP_REGISTRY', 'local')
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterAll(() => {
  vi.unstubAllEnvs()
  cleanup(ws)
})

const registryHolds = (name: string): boolean => {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [e.name, ...walk(join(d, e.name))] : []))
  try {
    return walk(join(ws, '.modelship', 'registry')).includes(name)
  } catch {
    return false
  }
}

/** A person at a terminal: every fact shown and every question asked, in order, and scripted answers. */
function person(answers: string[], onAsk?: () => void) {
  const shown: string[] = []
  const prompter = createPrompter({
    tty: true,
    env: {},
    write: (t) => void shown.push(t),
    ask: async (q) => {
      shown.push(`? ${q}`)
      onAsk?.()
      return answers.shift() ?? ''
    },
  })
  return { shown, prompter }
}

const _noop = (): void => {}
const signal = new AbortController().signal

describe('prompts with the facts', () => {
  it('--yes, CI and a missing terminal never ask', () => {
    expect(promptsAllowed({ yes: true, tty: true, env: {} })).toBe(false)
    expect(promptsAllowed({ tty: true, env: { CI: 'true' } })).toBe(false)
    expect(promptsAllowed({ tty: false, env: {} })).toBe(false)
    expect(promptsAllowed({ tty: true, env: { CI: 'false' } })).toBe(true)
    const ask = vi.fn(async () => 'n')
    return expect(createPrompter({ yes: true, tty: true, env: {}, ask }).confirm(['x'], 'Go?'))
      .resolves.toBe(true)
      .then(() => expect(ask).not.toHaveBeenCalled())
  })

  it('release: a "no" after gate and version stops before push; nothing pushed, files unchanged', async () => {
    const before = readFileSync(join(ws, 'docker-compose.staging.yml'), 'utf8')
    const { shown, prompter } = person(['n'])
    const run = releaseCommand({ workspace: ws, env: 'staging', deploy: false }, signal, { prompter })
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isModelshipError(error) && error.code).toBe('INTERRUPTED')
    expect(String((error as Error).message)).toContain('declined before push: nothing was pushed')
    expect(registryHolds('intent-classifier-v1.0')).toBe(false)
    expect(readFileSync(join(ws, 'docker-compose.staging.yml'), 'utf8')).toBe(before)
    expect(shown.filter((l) => l.startsWith('? '))).toEqual([
      '? Push acme/intent-classifier-v1.0 and release it to staging? [y/N] ',
    ])
  })

  it(
    'release: the question comes before push and shows the model id, the gate table and the compose ' + 'diff',
    async () => {
      let pushedWhenAsked: boolean | undefined
      const { shown, prompter } = person(['y'], () => (pushedWhenAsked = registryHolds('intent-classifier-v1.0')))
      const code = await releaseCommand({ workspace: ws, env: 'staging', deploy: false }, signal, { prompter })
      expect(code).toBe(0)
      expect(pushedWhenAsked).toBe(false)
      expect(registryHolds('intent-classifier-v1.0')).toBe(true)
      const text = shown.join('')
      const order = [
        'Release acme/intent-classifier-v1.0 to staging (now: acme/intent-classifier-v1.3)',
        'METRIC',
        'compose diff:',
        '? Push',
      ]
      const positions = order.map((s) => text.indexOf(s))
      expect(positions.every((p) => p >= 0)).toBe(true)
      expect([...positions].sort((a, b) => a - b)).toEqual(positions)
      expect(text).toMatch(/METRIC\s+VALUE\s+BOUND\s+CURRENT \(acme\/intent-classifier-v1\.3\)/)
      expect(text).toMatch(/accuracy\s+\d\.\d{4}\s+≥ 0\.9\s+-/)
      expect(text).toMatch(/f1\[calculator\]\s+\d\.\d{4}\s+≥ 0\.85/)
      expect(text).toContain('-        HF_INTENT_MODEL: acme/intent-classifier-v1.3')
      expect(text).toContain('+        HF_INTENT_MODEL: acme/intent-classifier-v1.0')
      expect(text).toContain('(no redeploy')
    },
  )

  it('promote and rollback ask before any write, showing the diff and whether it redeploys', async () => {
    const files = ['docker-compose.production.yml', '.env.production'].map((f) => readFileSync(join(ws, f), 'utf8'))
    const { shown, prompter } = person(['no'])
    expect(await promoteCommand('v1.0', { workspace: ws, env: 'production' }, signal, { prompter })).toBe(0)
    const text = shown.join('')
    expect(text).toContain('Promote production: acme/intent-classifier-v1.2 → acme/intent-classifier-v1.0')
    expect(text).toContain('+HF_INTENT_MODEL=acme/intent-classifier-v1.0')
    expect(text).toContain('files only: nothing is redeployed')
    expect(text).toContain('? Promote production to acme/intent-classifier-v1.0? [y/N] ')
    expect(['docker-compose.production.yml', '.env.production'].map((f) => readFileSync(join(ws, f), 'utf8'))).toEqual(
      files,
    )

    const yes = person(['y'])
    expect(await promoteCommand('1.0', { workspace: ws, env: 'production' }, signal, { prompter: yes.prompter })).toBe(
      0,
    )
    expect(readFileSync(join(ws, '.env.production'), 'utf8')).toContain('HF_INTENT_MODEL=acme/intent-classifier-v1.0')
  })
})
