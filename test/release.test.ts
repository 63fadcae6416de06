import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { createDockerShim, type DockerShim } from './support/docker-shim.js'
import {
  cleanup,
  cliEnv,
  INSTANT_TRAINER,
  INSTANT_TRAINER_CONFIG,
  makeWorkspace,
  readJsonLines,
  runCli,
  snapshotTree,
  TRAINER,
  addLabelNoise,
} from './support/workspace.js'

const PROD = 'docker-compose.production.yml'
const V1 = 'pratikoai/intent-classifier-v1.0'
const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

function setup(
  opts: Parameters<typeof makeWorkspace>[0] = {},
  shimOpts: Parameters<typeof createDockerShim>[0] = {},
): { ws: string; shim: DockerShim; env: Record<string, string> } {
  const ws = makeWorkspace(opts)
  const shim = createDockerShim(shimOpts)
  cleanups.push(
    () => cleanup(ws),
    () => shim.cleanup(),
  )
  return { ws, shim, env: cliEnv(shim.env) }
}

/**
 * Where a test is about modelship's own flow (versions, locks, resume), not the model: a trainer that trains nothing.
 */
const INSTANT = { config: INSTANT_TRAINER_CONFIG }

const release = (ws: string, env: Record<string, string>, ...flags: string[]) =>
  runCli(['release', '--workspace', ws, '--yes', ...flags], { env })

interface HistoryLine {
  action: string
  env: string
  from: string | null
  to: string | null
  outcome: string
  runId: string
  datasetSha256?: string
  metrics?: { accuracy: number }
  step?: string
  deployed: boolean
}

describe('release, end to end (real trainer, local registry, docker shim)', () => {
  it(
    'releases v1.0: dataset, model, registry entry with model card, compose change, build/up/ps, ' + 'history',
    async () => {
      const { ws, shim, env } = setup()
      const before = readFileSync(join(ws, PROD), 'utf8')
      const r = await release(ws, env, '--json')
      expect(r.stderr).not.toMatch(/^error:/m)
      expect(r.code).toBe(0)
      const summary = JSON.parse(r.stdout) as {
        modelId: string
        status: string
        runId: string
        datasetSha256: string
        steps: Record<string, string>
      }
      expect(summary).toMatchObject({ modelId: V1, status: 'done' })
      // every step ran; publish is for deploy.mode image only
      expect(summary.steps).toEqual(
        Object.fromEntries(Object.keys(summary.steps).map((n) => [n, n === 'publish' ? 'skipped' : 'done'])),
      )

      // Only the value's characters changed in the edited file.
      const after = readFileSync(join(ws, PROD), 'utf8')
      expect(after).toBe(
        before.replace('HF_INTENT_MODEL: ${HF_INTENT_MODEL:-mdeberta}', `HF_INTENT_MODEL: \${HF_INTENT_MODEL:-${V1}}`),
      )

      const runDir = join(ws, '.modelship', 'runs', summary.runId)
      const dataset = readFileSync(join(runDir, 'dataset.jsonl'), 'utf8').trim().split('\n')
      expect(dataset.length).toBeGreaterThan(500)
      expect(JSON.parse(dataset[0]!)).toHaveProperty('label')
      const repo = join(ws, '.modelship', 'registry', 'pratikoai', 'intent-classifier-v1.0')
      const card = readFileSync(join(repo, 'README.md'), 'utf8')
      // The bundled trainer's baseline backend: the card claims no Transformers fine-tune (issue 11).
      expect(card).toMatch(/^---\npipeline_tag: text-classification\n/)
      expect(card).not.toContain('base_model:')
      expect(card).toContain('model-index:')
      expect(card).toContain(`dataset_sha256: ${summary.datasetSha256}`)
      expect(card).toContain(`run_id: ${summary.runId}`)
      for (const f of ['config.json', 'metrics.json', 'model.json']) expect(existsSync(join(repo, f)), f).toBe(true)

      const names = shim.calls().map((c) => c.argv.join(' '))
      expect(names).toContain(
        `compose --env-file .env.test -f docker-compose.yml -f ${PROD} build --build-arg HF_INTENT_MODEL=${V1} app`,
      )
      expect(names).toContain(
        `compose --env-file .env.test -f docker-compose.yml -f ${PROD} up -d --no-deps --force-recreate app`,
      )
      expect(names).toContain(`compose --env-file .env.test -f docker-compose.yml -f ${PROD} ps --format json app`)
      expect(shim.container('app')?.model).toBe(V1)

      const history = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
      expect(history).toHaveLength(1)
      expect(history[0]).toMatchObject({
        action: 'release',
        env: 'production',
        from: 'mdeberta',
        to: V1,
        outcome: 'success',
        runId: summary.runId,
        deployed: true,
        datasetSha256: summary.datasetSha256,
      })
      expect(history[0]!.metrics!.accuracy).toBeGreaterThan(0.9)
      const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as { status: string }
      expect(state.status).toBe('done')
      expect(existsSync(join(ws, '.modelship', 'lock'))).toBe(false)
    },
  )

  it('a second release bumps the minor version; a label-set change bumps the major', async () => {
    const { ws, env } = setup(INSTANT)
    expect((await release(ws, env)).code).toBe(0)
    // The same data again releases only with --force (nothing new otherwise).
    const second = await release(ws, env, '--json', '--force')
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ modelId: 'pratikoai/intent-classifier-v1.1', previousModel: V1 })

    // Drop the calculator label: from now on the model has four classes.
    const labels = ['chitchat', 'theoretical_definition', 'technical_research', 'normative_reference']
    const rows = readFileSync(join(ws, 'feedback.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.includes('"calculator"'))
    writeFileSync(join(ws, 'feedback.jsonl'), `${rows.join('\n')}\n`)
    const cfg = parse(readFileSync(join(ws, 'modelship.yaml'), 'utf8')) as {
      model?: unknown
      trainer: { args: Record<string, unknown> }
    }
    cfg.model = { labels }
    cfg.trainer.args.labels = labels.join(',')
    writeFileSync(join(ws, 'modelship.yaml'), stringify(cfg))
    const third = await runCli(['release', '--workspace', ws, '--yes', '--json', '--force'], { env })
    expect(third.stderr).not.toMatch(/^error:/m)
    expect(JSON.parse(third.stdout)).toMatchObject({ modelId: 'pratikoai/intent-classifier-v2.0' })
    expect(third.stderr).toContain('label set changed since pratikoai/intent-classifier-v1.1')
  }, 120_000)

  it('--dry-run changes no byte in the workspace and runs no mutating docker command', async () => {
    const { ws, shim, env } = setup(INSTANT)
    expect((await release(ws, env)).code).toBe(0)
    const before = snapshotTree(ws)
    const callsBefore = shim.calls().length
    const r = await release(ws, env, '--dry-run', '--force')
    expect(r.code).toBe(0)
    expect(snapshotTree(ws)).toEqual(before)
    const dryCalls = shim.calls().slice(callsBefore)
    for (const c of dryCalls) expect(['info', 'version', 'ps', 'config']).toContain(c.name)
    expect(r.stdout).toContain('next model: pratikoai/intent-classifier-v1.1')
    expect(r.stdout).toContain(`+        HF_INTENT_MODEL: \${HF_INTENT_MODEL:-pratikoai/intent-classifier-v1.1}`)
    expect(r.stdout).toContain(
      `! docker compose --env-file .env.test -f docker-compose.yml -f ${PROD} build --build-arg ` +
        `HF_INTENT_MODEL=pratikoai/intent-classifier-v1.1 app`,
    )
    expect(r.stdout).toContain(
      `! docker compose --env-file .env.test -f docker-compose.yml -f ${PROD} up -d --no-deps --force-recreate app`,
    )
    expect(r.stdout).toMatch(/^\s*! python3 \S+instant_trainer\.py --data /m)
  })

  it('a failed build restores the files and exits 1; --resume skips export/train/push and keeps the ' +
    'version', async () => {
    const { ws, env } = setup(INSTANT, { fail: 'build@1' })
    const before = readFileSync(join(ws, PROD))
    const r = await release(ws, env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: .*build.* exited with 1/m)
    expect(readFileSync(join(ws, PROD)).equals(before)).toBe(true)

    const resumed = await runCli(['release', '--workspace', ws, '--yes', '--resume', '--json'], { env })
    expect(resumed.stderr).not.toMatch(/^error:/m)
    expect(resumed.code).toBe(0)
    for (const step of ['Export QA feedback', 'Train model', 'Push model to registry']) {
      expect(resumed.stderr).toMatch(new RegExp(`${step}: done earlier in run`))
    }
    expect(JSON.parse(resumed.stdout)).toMatchObject({ modelId: V1, status: 'done' })
    expect(readdirSync(join(ws, '.modelship', 'registry', 'pratikoai'))).toEqual(['intent-classifier-v1.0'])
    expect(readFileSync(join(ws, PROD), 'utf8')).toContain(`\${HF_INTENT_MODEL:-${V1}}`)
    const history = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
    expect(history.map((h) => [h.outcome, h.step ?? null])).toEqual([
      ['failed', 'build'],
      ['success', null],
    ])
  }, 120_000)

  it('SIGINT during train stops the trainer, saves state, exits 130; --resume finishes', async () => {
    const slow =
      `import os, sys, time\nif '--help' not in sys.argv and not os.path.exists('.slow-once'):\n    ` +
      `open('.slow-once', 'w').close()\n    print('epoch 1/3 warming up', flush=True)\n    ` +
      `time.sleep(120)\nos.execvp(sys.executable, [sys.executable, ${JSON.stringify(TRAINER)}] + sys.argv[1:])\n`
    const { ws, env } = setup({ config: { trainer: { command: ['python3', 'slow_trainer.py'] } } })
    writeFileSync(join(ws, 'slow_trainer.py'), slow)
    let sent = false
    const started = Date.now()
    const r = await runCli(['release', '--workspace', ws, '--yes'], {
      env,
      onOutput: (text, child) => {
        if (!sent && text.includes('warming up')) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    expect(sent).toBe(true)
    expect(r.code).toBe(130)
    // The trainer was stopped with the run, not left behind.
    const { execFileSync } = await import('node:child_process')
    const left = (() => {
      try {
        return execFileSync('pgrep', ['-f', `slow_trainer[.]py --data ${ws}`], { encoding: 'utf8' })
      } catch {
        return ''
      }
    })()
    expect(left).toBe('')
    expect(Date.now() - started).toBeLessThan(60_000)
    const runs = readdirSync(join(ws, '.modelship', 'runs'))
    expect(runs).toHaveLength(1)
    const state = JSON.parse(readFileSync(join(ws, '.modelship', 'runs', runs[0]!, 'state.json'), 'utf8')) as {
      status: string
      steps: Record<string, { status: string }>
    }
    expect(state.status).toBe('interrupted')
    expect(state.steps.export?.status).toBe('done')
    expect(existsSync(join(ws, '.modelship', 'lock'))).toBe(false)

    const resumed = await runCli(['release', '--workspace', ws, '--yes', '--resume'], { env })
    expect(resumed.stderr + resumed.stdout).not.toMatch(/^error:/m)
    expect(resumed.code).toBe(0)
    expect(readdirSync(join(ws, '.modelship', 'runs'))).toEqual(runs)
  }, 120_000)

  it('a held lock gives exit 4 naming the holder; a stale one is taken over', async () => {
    const { ws, env } = setup(INSTANT, {})
    const lock = join(ws, '.modelship', 'lock')
    const { mkdirSync, hostname } = await import('node:fs').then(async (fs) => ({
      mkdirSync: fs.mkdirSync,
      hostname: (await import('node:os')).hostname,
    }))
    mkdirSync(join(ws, '.modelship'), { recursive: true })
    writeFileSync(
      lock,
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        runId: 'r-held',
        command: 'release',
        startedAt: '2026-01-01T00:00:00Z',
      }),
    )
    const held = await release(ws, env)
    expect(held.code).toBe(4)
    expect(held.stderr).toContain(`run r-held (release), pid ${process.pid} on ${hostname()}`)
    expect(readFileSync(lock, 'utf8')).toContain('r-held')

    writeFileSync(
      lock,
      JSON.stringify({
        pid: 2 ** 22 + 12345,
        host: hostname(),
        runId: 'r-dead',
        command: 'release',
        startedAt: '2026-01-01T00:00:00Z',
      }),
    )
    const taken = await release(ws, env, '--no-deploy')
    expect(taken.code).toBe(0)
    expect(taken.stdout).toContain('taking over a stale lock: run r-dead')
  })

  it('a metrics gate rejects with exit 3, naming the metric, its value and the bound; nothing is pushed', async () => {
    const { ws, env } = setup({ config: { gates: { min_accuracy: 0.99 } } })
    addLabelNoise(ws, 10)
    const before = snapshotTree(ws)
    const r = await release(ws, env)
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/^error: rejected: accuracy 0\.\d{4} < 0\.99 \(gates\.min_accuracy\)/m)
    expect(existsSync(join(ws, '.modelship', 'registry', 'pratikoai'))).toBe(false)
    expect(`file ${readFileSync(join(ws, PROD), 'latin1')}`).toBe(before.get(PROD))
    expect(readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))[0]).toMatchObject({
      outcome: 'rejected',
      step: 'gate',
    })
  })
})

describe('resume variants', () => {
  it('a no-regression rejection exits 3; --resume --force passes it without retraining', async () => {
    const { ws, env } = setup()
    expect((await release(ws, env)).code).toBe(0)
    // Every fifth row gets a wrong label: the new model is worse than the one production runs.
    addLabelNoise(ws, 5)
    const cfg = readFileSync(join(ws, 'modelship.yaml'), 'utf8').replace(
      /gates:\n/,
      'gates:\n  min_accuracy: 0.2\n  min_class_f1: 0.2\n',
    )
    writeFileSync(join(ws, 'modelship.yaml'), cfg)
    const rejected = await release(ws, env)
    expect(rejected.code).toBe(3)
    expect(rejected.stderr).toMatch(
      new RegExp(
        `^error: rejected: accuracy 0\\.\\d{4} < [01]\\.\\d{4} of ${V1}, which production uses now ` +
          `\\(gates\\.no_regression\\)$`,
        'm',
      ),
    )
    const forced = await release(ws, env, '--resume', '--force', '--json')
    expect(forced.stderr).not.toMatch(/^error:/m)
    expect(forced.code).toBe(0)
    expect(forced.stderr).toMatch(/Train model: done earlier in run/)
    expect(forced.stderr).toContain('warning: --force: accuracy')
    expect(JSON.parse(forced.stdout)).toMatchObject({ modelId: 'pratikoai/intent-classifier-v1.1' })
  }, 120_000)

  it('--from without --resume is a usage error; --resume --from export re-exports and retrains', async () => {
    const { ws, env } = setup(INSTANT, { fail: 'build@1' })
    const bad = await release(ws, env, '--from', 'train')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^error: --from goes with --resume$/m)
    expect((await release(ws, env)).code).toBe(1)
    const again = await release(ws, env, '--resume', '--from', 'export')
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    expect(again.stdout).not.toMatch(/Export QA feedback: done earlier/)
    expect(again.stdout).toMatch(/Trained model: accuracy/)
    expect(again.stdout).toMatch(/Version v1\.0 \(reserved earlier in this run\)/)
  }, 120_000)
})

describe('secrets', () => {
  it('HF_TOKEN printed by the trainer and by the build appears in no output or file', async () => {
    const token = 'hf_TestSecretToken0123456789abcdef'
    const leaky =
      `import os, sys\nif '--help' not in sys.argv:\n    print('debug: token is ' + ` +
      `os.environ.get('HF_TOKEN', 'unset'), flush=True)\n    print('debug: stderr token ' + ` +
      `os.environ.get('HF_TOKEN', 'unset'), file=sys.stderr, flush=True)\nos.execvp(sys.executable, ` +
      `[sys.executable, ${JSON.stringify(INSTANT_TRAINER)}] + sys.argv[1:])\n`
    const { ws, shim, env } = setup(
      { config: { trainer: { command: ['python3', 'leaky_trainer.py'] } } },
      { echoEnv: 'HF_TOKEN' },
    )
    writeFileSync(join(ws, 'leaky_trainer.py'), leaky)
    const r = await release(ws, { ...env, HF_TOKEN: token }, '--json')
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).toContain('debug: token is ***')
    expect(r.stdout + r.stderr).not.toContain(token)
    for (const [file, bytes] of snapshotTree(ws)) expect(bytes.includes(token), file).toBe(false)
    // The token reached the build only by env, as a compose secret, never in argv.
    const build = shim.calls().find((c) => c.name === 'build')!
    expect(build.secretSeen).toBe(false)
    expect(build.hfTokenInEnv).toBe(true)
    expect(build.secretOverride).toBe(true)
    expect(build.argv.join(' ')).not.toContain('HF_TOKEN=')
    for (const c of shim.calls().filter((c) => c.name !== 'build')) expect(c.env).not.toContain('HF_TOKEN')
  })
})
