// Issue 25 item 5: with --json every exit of every command prints exactly one JSON value on stdout — the
// command's answer, or (any failure: usage, bad config, a failed step, the lock, an interrupt) one object with
// "ok": false, "exitCode" and "error": {"message", "hint"} — whatever bytes, YAML or argv it is given.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { acquireLock } from '../pipeline/engine/lock.js'
import { cleanup, cliEnv, INSTANT_TRAINER, makeWorkspace, runCli, type CliResult } from './support/workspace.js'

const DOCUMENTED_EXITS = [0, 1, 2, 3, 4, 5, 6, 130]

const workspaces: string[] = []
afterAll(() => {
  for (const ws of workspaces) cleanup(ws)
})

/** A workspace whose releases are quick and touch nothing outside it: instant trainer, local registry, no deploy. */
function quickWorkspace(): string {
  const ws = makeWorkspace({
    config: { trainer: { command: ['python3', INSTANT_TRAINER] }, deploy: { mode: 'none' } },
  })
  workspaces.push(ws)
  return ws
}

/** Exactly one JSON value on stdout, a documented exit code, and the failure object's shape on failure. */
function expectOneAnswer(r: CliResult, args: readonly string[]): void {
  const context = `${JSON.stringify(args)}\nstdout: ${r.stdout.slice(0, 400)}\nstderr: ${r.stderr.slice(0, 400)}`
  expect(DOCUMENTED_EXITS, context).toContain(r.code)
  let answer: unknown
  expect(() => {
    answer = JSON.parse(r.stdout)
  }, context).not.toThrow()
  expect(answer, context).not.toBeUndefined()
  // doctor's answer is its findings, whatever its exit; every other failure is the one error object.
  if (r.code !== 0 && !args.includes('doctor')) {
    expect(answer, context).toMatchObject({ ok: false, exitCode: r.code })
    const error = (answer as { error: { message: unknown; hint: unknown } }).error
    expect(typeof error.message, context).toBe('string')
    expect(typeof error.hint, context).toBe('string')
  }
}

const word = fc.stringMatching(/^[\w.:/-]{0,12}$/)
const COMMANDS = ['release', 'list', 'current', 'doctor', 'promote', 'push', 'rollback', 'history', 'runs', 'init']
const argvArb = fc
  .tuple(
    fc.oneof(fc.constantFrom(...COMMANDS), fc.constant('runs abandon'), word),
    fc.array(
      fc.oneof(
        fc.constantFrom(
          '--dry-run',
          '--resume',
          '--no-deploy',
          '--deploy',
          '--force',
          '--yes',
          '--ci',
          '--bogus',
          '-x',
        ),
        fc.tuple(fc.constantFrom('--env', '--from', '--bump', '--to'), word).map(([f, v]) => `${f}=${v}`),
        word.filter((w) => !w.startsWith('-')),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([command, rest]) => [...command.split(' '), ...rest, '--json'])
  // Never `--workspace`: the workspace is the test's (MODELSHIP_WORKSPACE).
  .filter((args) => !args.some((a) => a.startsWith('-w') || a.startsWith('--w')))

describe('--json always answers with one JSON value', () => {
  it('random argv', async () => {
    const ws = quickWorkspace()
    await fc.assert(
      fc.asyncProperty(argvArb, async (args) => {
        // A fresh copy per run would cost more than the run: a release that succeeds is still one answer.
        const r = await runCli(args, { env: cliEnv({ MODELSHIP_WORKSPACE: ws }) })
        expectOneAnswer(r, args)
      }),
      { numRuns: 40 },
    )
  }, 600_000)

  it('random bytes as modelship.yaml', async () => {
    const ws = quickWorkspace()
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(['list'], ['release', '--dry-run'], ['doctor'], ['current']),
        async (bytes, command) => {
          writeFileSync(join(ws, 'modelship.yaml'), bytes)
          const args = [...command, '--json']
          expectOneAnswer(await runCli(args, { env: cliEnv({ MODELSHIP_WORKSPACE: ws }) }), args)
        },
      ),
      { numRuns: 20 },
    )
  }, 600_000)

  it('random YAML, shaped like a config and not', async () => {
    const ws = quickWorkspace()
    const value = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.string({ maxLength: 8 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    )
    const configLike = fc.record(
      {
        registry: fc.oneof(fc.constantFrom('local', 'hf'), value),
        gates: fc.record({ min_accuracy: value, min_per_label: value }, { requiredKeys: [] }),
        trainer: fc.record({ args: fc.dictionary(word, value, { maxKeys: 3 }), command: value }, { requiredKeys: [] }),
        deploy: fc.record({ mode: value, health_timeout_s: value }, { requiredKeys: [] }),
        environments: fc.dictionary(word, fc.record({ compose: value }), { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(configLike, fc.jsonValue()),
        fc.constantFrom(['release', '--dry-run'], ['list'], ['history']),
        async (config, command) => {
          writeFileSync(join(ws, 'modelship.yaml'), stringify(config))
          const args = [...command, '--json']
          expectOneAnswer(await runCli(args, { env: cliEnv({ MODELSHIP_WORKSPACE: ws }) }), args)
        },
      ),
      { numRuns: 20 },
    )
  }, 600_000)

  it('exit 4 (the lock is held) and 130 (interrupted) answer too', async () => {
    const ws = quickWorkspace()
    mkdirSync(join(ws, '.modelship'), { recursive: true })
    const lock = await acquireLock(
      join(ws, '.modelship', 'lock'),
      { runId: 'held-by-the-test', command: 'test', startedAt: new Date().toISOString() },
      () => {},
    )
    const locked = await runCli(['release', '--yes', '--json', '--workspace', ws])
    await lock.release()
    expect(locked.code, locked.stderr).toBe(4)
    expectOneAnswer(locked, ['release'])

    // A trainer whose --help never returns: the first Ctrl-C stops the run in preflight.
    const slow = makeWorkspace({
      config: {
        trainer: { command: ['python3', '-c', 'import time; print("waiting", flush=True); time.sleep(60)'] },
        deploy: { mode: 'none' },
      },
    })
    workspaces.push(slow)
    let sent = false
    const interrupted = await runCli(['release', '--yes', '--json', '--workspace', slow], {
      onOutput: (_text, child) => {
        if (sent) return
        sent = true
        setTimeout(() => child.kill('SIGINT'), 1500)
      },
    })
    expect(interrupted.code, interrupted.stderr).toBe(130)
    expectOneAnswer(interrupted, ['release'])
  }, 120_000)
})
