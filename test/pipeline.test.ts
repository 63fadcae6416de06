import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../pipeline/config/load.js'
import { createDeps } from '../pipeline/ports/deps.js'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { runRelease as runReleaseWith, type ReleaseRequest } from '../pipeline/release/run-release.js'
import type { Deps } from '../pipeline/ports/deps.js'
import { RELEASE_STEPS, STEP_NAMES, STEPS_BEFORE_LONG_WORK } from '../tasks/index.js'
import { fakeShell } from './support/fake-shell.js'
import { cleanup, makeWorkspace, snapshotTree } from './support/workspace.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

async function deps(ws: string, table: Parameters<typeof fakeShell>[0], dryRun: boolean) {
  const config = await loadConfig({ workspace: ws, env: {} })
  const lines: string[] = []
  const sh = fakeShell(table)
  return {
    deps: createDeps({
      config,
      env: { PATH: process.env.PATH },
      dryRun,
      write: (l) => lines.push(l),
      overrides: { sh: sh.shell },
    }),
    lines,
    calls: sh.calls,
  }
}

const runRelease = (d: Deps, req: ReleaseRequest) => runReleaseWith(RELEASE_STEPS, d, req, STEPS_BEFORE_LONG_WORK)
const STEPS = RELEASE_STEPS

const request = (dryRun: boolean): ReleaseRequest => ({
  dryRun,
  options: { force: false, noDeploy: false },
  renderer: 'silent' as const,
  signal: new AbortController().signal,
  command: 'test',
})

describe('the step table', () => {
  it('holds the contract steps in order, each with a dry-run policy', () => {
    expect(STEPS.map((s) => s.name)).toEqual([...STEP_NAMES])
    const policy = (s: (typeof STEPS)[number]): string => (typeof s.inDryRun === 'function' ? 'decides' : s.inDryRun)
    expect(Object.fromEntries(STEPS.map((s) => [s.name, policy(s)]))).toEqual({
      preflight: 'run',
      export: 'decides',
      validate: 'decides',
      train: 'skip',
      gate: 'skip',
      version: 'run',
      push: 'skip',
      compose: 'run',
      build: 'skip',
      publish: 'skip',
      deploy: 'skip',
      verify: 'skip',
      record: 'run',
    })
  })
})

describe('runRelease with the real listr2 (silent), a command table and the local registry', () => {
  it('dry-run: only read-only probes run; the plan lists every write as `!`', async () => {
    const ws = makeWorkspace({ config: { deploy: { verify: ['curl', '-fsS', 'http://localhost:8000/health'] } } })
    cleanups.push(() => cleanup(ws))
    const {
      deps: d,
      lines,
      calls,
    } = await deps(
      ws,
      {
        'python3 *': 'usage: train',
        'docker info --format {{.ServerVersion}}': '28.2.2',
        'docker compose version --short': '2.29.1',
        'docker compose --env-file .env.test -f docker-compose.yml -f docker-compose.production.yml config --quiet': '',
      },
      true,
    )
    const before = snapshotTree(ws)
    const summary = await runRelease(d, request(true))
    expect(snapshotTree(ws)).toEqual(before)
    // Only these four read-only probes ran (side by side, so in any order); the docker ones in this order.
    expect(calls).toHaveLength(4)
    expect(calls).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^python3 \S+train_intent_classifier\.py --help$/),
        'docker info --format {{.ServerVersion}}',
        'docker compose version --short',
        'docker compose --env-file .env.test -f docker-compose.yml -f docker-compose.production.yml config --quiet',
      ]),
    )
    expect(calls.indexOf('docker info --format {{.ServerVersion}}')).toBeLessThan(
      calls.indexOf('docker compose version --short'),
    )
    expect(summary.modelId).toBe('pratikoai/intent-classifier-v1.0')
    expect(summary.steps).toMatchObject({
      preflight: 'done',
      export: 'done',
      validate: 'done',
      train: 'skipped',
      version: 'done',
      compose: 'done',
      build: 'skipped',
    })
    const plan = summary.plan ?? []
    const writes = plan.filter((l) => l.startsWith('! '))
    expect(writes).toHaveLength(6)
    expect(writes[0]).toMatch(
      new RegExp(
        /^! python3 \S+train_intent_classifier\.py --data \S+dataset\.jsonl --output \S+model /.source +
          /--epochs 3 --seed 7 --backend baseline$/.source,
      ),
    )
    expect(writes[1]).toMatch(
      new RegExp(
        /^! would push the model → pratikoai\/intent-classifier-v1\.0 \(private\) on local registry at .* /.source +
          /from \S+\/\.modelship\/runs\/\S+\/model \+ README\.md, /.source +
          /confusion_matrix\.svg, per_class_f1\.svg, trend\.svg \(model files only: .*\)$/.source,
      ),
    )
    expect(writes[2]).toBe(`! would write ${join(ws, 'docker-compose.production.yml')}`)
    expect(writes[3]).toBe(
      '! docker compose --env-file .env.test -f docker-compose.yml -f docker-compose.production.yml build ' +
        '--build-arg HF_INTENT_MODEL=pratikoai/intent-classifier-v1.0 app',
    )
    expect(writes[4]).toBe(
      '! docker compose --env-file .env.test -f docker-compose.yml -f docker-compose.production.yml up -d --no-deps ' +
        '--force-recreate app',
    )
    expect(writes[5]).toMatch(
      new RegExp(
        /^! would append to \.modelship\/history\.jsonl: release production: /.source +
          /mdeberta → pratikoai\/intent-classifier-v1\.0$/.source,
      ),
    )
    expect(plan).toContain('$ curl -fsS http://localhost:8000/health')
    expect(new Set(plan).size).toBe(plan.length)
    expect(plan.join('\n')).not.toContain('modelship-dry-run-')
    expect(lines.filter((l) => l.startsWith('!'))).toEqual([])
  })

  it('a missing step output is a typed error, not undefined', async () => {
    const { need } = await import('../pipeline/release/context.js')
    const ws = makeWorkspace()
    cleanups.push(() => cleanup(ws))
    const config = await loadConfig({ workspace: ws, env: {} })
    const ctx = {
      config,
      dryRun: false,
      runId: 'r',
      runDir: ws,
      envName: 'production',
      options: { force: false, noDeploy: false },
      startedAt: '',
      signal: new AbortController().signal,
    }
    expect(() => need(ctx, 'model')).toThrow(ModelshipError)
    expect(() => need(ctx, 'model')).toThrow("missing step output 'model'")
  })

  it('a compose-mode preflight without a Docker engine fails before any long work (exit 2)', async () => {
    const ws = makeWorkspace()
    cleanups.push(() => cleanup(ws))
    const { deps: d, calls } = await deps(
      ws,
      { 'python3 *': 'usage', 'docker info *': new Error('Cannot connect to the Docker daemon') },
      false,
    )
    const err = (await runRelease(d, request(false)).catch((e: unknown) => e)) as ModelshipError
    expect(err.exitCode).toBe(2)
    expect(err.message).toContain(
      'deploy.mode is compose but no Docker engine answers: Cannot connect to the Docker daemon',
    )
    expect(calls.some((c) => c.includes('--data'))).toBe(false)
    expect(readFileSync(join(ws, 'docker-compose.production.yml'), 'utf8')).toContain('${HF_INTENT_MODEL:-mdeberta}')
  })
})

describe('train step', () => {
  it('reads metrics from the printed classification_report when the trainer writes no metrics.json', async () => {
    const ws = makeWorkspace({ config: { deploy: { mode: 'auto' } } })
    cleanups.push(() => cleanup(ws))
    const report = [
      '                        precision    recall  f1-score   support',
      ...['chitchat', 'theoretical_definition', 'technical_research', 'calculator', 'normative_reference'].map(
        (l) => `${l.padStart(22)}       0.97      0.96      0.96        50`,
      ),
      '              accuracy                           0.96       250',
      '             macro avg       0.97      0.96      0.96       250',
    ].join('\n')
    const { deps: d, calls } = await deps(
      ws,
      {
        'python3 *': (argv) => {
          if (argv.includes('--help')) return 'usage'
          const out = argv[argv.indexOf('--output') + 1]!
          mkdirSync(out, { recursive: true })
          writeFileSync(join(out, 'weights.bin'), 'w')
          return `epoch 1/1\n${report}`
        },
        'docker info *': new Error('no engine'),
      },
      false,
    )
    const summary = await runRelease(d, request(false))
    expect(summary.metrics).toEqual({ accuracy: 0.96, f1_macro: 0.96 })
    expect(summary.steps).toMatchObject({
      train: 'done',
      push: 'done',
      build: 'skipped',
      deploy: 'skipped',
      verify: 'skipped',
      record: 'done',
    })
    expect(calls.filter((c) => c.includes('--data'))).toHaveLength(1)
    const metrics = readFileSync(
      join(ws, '.modelship', 'registry', 'pratikoai', 'intent-classifier-v1.0', 'README.md'),
      'utf8',
    )
    expect(metrics).toContain('value: 0.96')
  })
})
