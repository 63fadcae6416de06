import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { loadConfig } from '../pipeline/config/load.js'
import { checkHelpText } from '../pipeline/model/trainer-help.js'
import { readMetrics } from '../pipeline/model/trainer.js'
import { withoutAbsolutePathFiles, withoutAbsolutePaths } from '../pipeline/model/training-args.js'
import { renderModelCard } from '../pipeline/registry/model-card.js'
import { startHubServer, type HubServer } from './hub-server/index.js'
import {
  cleanup,
  cliEnv,
  INSTANT_TRAINER_CONFIG,
  makeWorkspace,
  readJsonLines,
  REPO,
  runCli,
  snapshotTree,
  TRAINER,
  addLabelNoise,
  FIXTURE_LABELS,
} from './support/workspace.js'

const STUB = join(REPO, 'test', 'fixtures', 'trainers', 'stub_trainer.py')
const NO_SEED = join(REPO, 'test', 'fixtures', 'trainers', 'no_seed_trainer.py')
const V1 = 'pratikoai/intent-classifier-v1.0'
const TOKEN = `hf_writer${randomBytes(12).toString('hex')}`

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

function workspace(config: Record<string, unknown> = {}): string {
  const ws = makeWorkspace({ config: { deploy: { mode: 'none' }, ...config } })
  cleanups.push(() => cleanup(ws))
  return ws
}

const release = (ws: string, env: Record<string, string>, ...flags: string[]) =>
  runCli(['release', '--workspace', ws, '--yes', ...flags], { env, timeoutMs: 110_000 })

const localRepo = (ws: string, id = V1) => join(ws, '.modelship', 'registry', ...id.split('/'))

/** Every file below dir, recursively, as repo paths. */
function filesBelow(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesBelow(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  )
}

interface YamlConfig {
  gates?: Record<string, unknown>
  trainer: { command: string[] }
}

function setConfig(ws: string, edit: (cfg: YamlConfig) => void): void {
  const cfg = parse(readFileSync(join(ws, 'modelship.yaml'), 'utf8')) as YamlConfig
  edit(cfg)
  writeFileSync(join(ws, 'modelship.yaml'), stringify(cfg))
}

describe('trainer output: model files only, metrics kept, labels checked (local registry)', () => {
  it('a report-only trainer leaving checkpoints: only model files + metrics.json are pushed; the next gate compares ' +
    'with them and rejects a worse model (exit 3)', async () => {
    const ws = workspace({ trainer: { command: ['python3', STUB, 'report-only'] } })
    const first = await release(ws, cliEnv())
    expect(first.stderr).not.toMatch(/^error:/m)
    expect(first.code).toBe(0)
    const repo = localRepo(ws)
    const pushed = filesBelow(repo).filter((f) => !f.startsWith('.modelship-repo'))
    expect(pushed.sort()).toEqual([
      'README.md',
      'config.json',
      'confusion_matrix.svg',
      'metrics.json',
      'model.json',
      'per_class_f1.svg',
      'training_args.json',
      'trend.svg',
    ])
    // Its printed report has no predictions behind it: the card and the picture say so, nothing is drawn.
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toContain(
      'No confusion matrix: the trainer printed only a classification report',
    )
    expect(readFileSync(join(repo, 'confusion_matrix.svg'), 'utf8')).not.toMatch(/<text[^>]*>\d+<\/text>/)
    // The size summary of what is uploaded is printed before the upload.
    expect(first.stdout).toMatch(
      /push: uploading 4 files, [\d.]+ KiB \+ README\.md to pratikoai\/intent-classifier-v1\.0/,
    )
    const metrics = JSON.parse(readFileSync(join(repo, 'metrics.json'), 'utf8')) as {
      source: string
      accuracy: number
      per_class: object
    }
    expect(metrics.source).toBe('classification_report')
    expect(Object.keys(metrics.per_class).sort()).toEqual([...FIXTURE_LABELS].sort())
    // No absolute local path in any pushed file; training_args.json says where relative to the model.
    for (const f of pushed) expect(readFileSync(join(repo, f), 'utf8'), f).not.toContain(ws)
    const targs = JSON.parse(readFileSync(join(repo, 'training_args.json'), 'utf8')) as Record<string, string>
    expect([targs.output_dir, targs.output, targs.logging_dir, targs.data]).toEqual([
      '.',
      'model',
      'runs/Jan01',
      'dataset.jsonl',
    ])
    const list = await runCli(['list', '--workspace', ws, '--json'], { env: cliEnv() })
    expect((JSON.parse(list.stdout) as Array<{ accuracy: number }>)[0]!.accuracy).toBe(metrics.accuracy)

    // Half the rows mislabelled: the model is worse than the one production runs now.
    addLabelNoise(ws, 2)
    setConfig(ws, (c) => (c.gates = { ...c.gates, min_accuracy: 0.1, min_class_f1: 0 }))
    const second = await release(ws, cliEnv())
    expect(second.code).toBe(3)
    expect(second.stderr).toMatch(
      new RegExp(
        `^error: rejected: accuracy 0\\.\\d{4} < ${metrics.accuracy.toFixed(4).replace('.', '\\.')} of ${V1}, which ` +
          `production uses now \\(gates\\.no_regression\\)$`,
        'm',
      ),
    )
    expect(second.stderr).toMatch(/^ {2}gate on split metrics \(each model's own test split\):$/m)
    expect(existsSync(localRepo(ws, 'pratikoai/intent-classifier-v1.1'))).toBe(false)
  }, 240_000)

  it('a model whose config.json labels differ from model.labels: exit 2 after train, naming missing and extra, ' +
    'nothing pushed', async () => {
    const ws = workspace({ trainer: { command: ['python3', STUB, 'wrong-labels'] } })
    const r = await release(ws, cliEnv())
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      new RegExp(
        /^error: the trained model's labels \(config\.json id2label\) are not model\.labels: /.source +
          /missing calculator; extra math; nothing was pushed$/.source,
        'm',
      ),
    )
    expect(existsSync(join(ws, '.modelship', 'registry', 'pratikoai'))).toBe(false)
    expect(readFileSync(join(ws, 'docker-compose.production.yml'), 'utf8')).toContain('${HF_INTENT_MODEL:-mdeberta}')
  }, 120_000)

  it('trainer.args {seed: 1} against a trainer whose --help has no --seed: exit 2 before export, nothing ' +
    'created', async () => {
    const ws = workspace({ trainer: { command: ['python3', NO_SEED], args: { epochs: 1, seed: 1 } } })
    const before = snapshotTree(ws)
    const r = await release(ws, cliEnv())
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: trainer python3 ${NO_SEED.replace(/[.]/g, '\\.')} has no --seed \\(from trainer\\.args\\.seed; not ` +
          `in its --help\\) \\(and 1 more problem\\)$`,
        'm',
      ),
    )
    expect(r.stderr).toContain(`has no --backend (from trainer.args.backend; not in its --help)`)
    expect(r.stdout + r.stderr).not.toContain('Export QA feedback [')
    expect(r.stdout + r.stderr).not.toContain('training started')
    const runs = join(ws, '.modelship', 'runs')
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([])
    // Only the --help cache may appear, keyed by the trainer file; a dry run writes not even that.
    const after = [...snapshotTree(ws).keys()].filter((k) => !before.has(k))
    expect(after.every((k) => /^\.modelship\/cache\/trainer-help-[0-9a-f]{16}\.txt$/.test(k))).toBe(true)
    const ws2 = workspace()
    const before2 = snapshotTree(ws2)
    expect((await release(ws2, cliEnv(), '--dry-run')).code).toBe(0)
    expect(snapshotTree(ws2)).toEqual(before2)
  }, 60_000)

  it('dry runs ask the trainer --help once: the answer waits in the user cache, the workspace stays as it ' +
    'was', async () => {
    const cacheHome = mkdtempSync(join(tmpdir(), 'modelship-xdg-'))
    cleanups.push(() => rmSync(cacheHome, { recursive: true, force: true }))
    // A trainer that notes each --help it answers (outside the workspace), then prints the real help.
    const calls = join(cacheHome, 'help-calls.txt')
    const noting = join(cacheHome, 'noting_trainer.py')
    writeFileSync(
      noting,
      `import runpy, sys\nif '--help' in sys.argv:\n    open(${JSON.stringify(calls)}, 'a').write('help\\n')\n` +
        `sys.argv[0] = ${JSON.stringify(TRAINER)}\nrunpy.run_path(${JSON.stringify(TRAINER)}, run_name='__main__')\n`,
    )
    const ws = workspace({ trainer: { command: ['python3', noting] } })
    const env = cliEnv({ XDG_CACHE_HOME: cacheHome })
    const before = snapshotTree(ws)
    for (let i = 0; i < 2; i++) expect((await release(ws, env, '--dry-run')).code).toBe(0)
    expect(readFileSync(calls, 'utf8')).toBe('help\n')
    expect(readdirSync(join(cacheHome, 'modelship'))).toEqual([
      expect.stringMatching(/^trainer-help-[0-9a-f]{16}\.txt$/),
    ])
    expect(snapshotTree(ws)).toEqual(before)
    // A changed trainer file is a new key: asked again.
    writeFileSync(noting, `${readFileSync(noting, 'utf8')}# changed\n`)
    expect((await release(ws, env, '--dry-run')).code).toBe(0)
    expect(readFileSync(calls, 'utf8')).toBe('help\nhelp\n')
  }, 60_000)

  it('the same dataset twice: exit 0 "no new feedback since v1.0"; --force releases v1.1; the baseline card is ' +
    'honest', async () => {
    const ws = workspace({ model: { license: 'apache-2.0' } })
    expect((await release(ws, cliEnv())).code).toBe(0)
    const card = readFileSync(join(localRepo(ws), 'README.md'), 'utf8')
    const front = parse(card.split('---\n')[1]!) as Record<string, unknown>
    expect(front.base_model).toBeUndefined()
    expect(front.library_name).toBeUndefined()
    expect(front.license).toBe('apache-2.0')
    expect(card).toContain('it is not a Transformers model')
    expect(card).not.toContain('mDeBERTa')
    for (const f of filesBelow(localRepo(ws))) expect(readFileSync(join(localRepo(ws), f), 'utf8'), f).not.toContain(ws)

    const again = await release(ws, cliEnv(), '--json')
    expect(again.code).toBe(0)
    const sha = readJsonLines<{ datasetSha256: string }>(join(ws, '.modelship', 'history.jsonl'))[0]!.datasetSha256
    expect(again.stderr).toContain(`no new feedback since v1.0 (dataset ${sha.slice(0, 12)})`)
    const summary = JSON.parse(again.stdout) as { status: string; steps: Record<string, string>; modelId?: string }
    expect(summary.status).toBe('done')
    expect(summary.modelId).toBeUndefined()
    expect(summary.steps).toMatchObject({ validate: 'done', train: 'skipped', push: 'skipped', record: 'skipped' })
    expect(readdirSync(join(ws, '.modelship', 'registry', 'pratikoai'))).toEqual(['intent-classifier-v1.0'])

    const forced = await release(ws, cliEnv(), '--force', '--json')
    expect(forced.code).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({ modelId: 'pratikoai/intent-classifier-v1.1' })
  }, 240_000)
})

describe('a fixed evaluation set (gates.eval_set + trainer.evaluate)', () => {
  it('scores old and new on the same file: a worse model is rejected even when its own split score is higher (exit ' +
    '3)', async () => {
    const ws = workspace({
      trainer: { command: ['python3', STUB, 'report-only'], evaluate: ['python3', TRAINER, 'evaluate'] },
      gates: { eval_set: 'eval.jsonl', min_accuracy: 0.1, min_class_f1: 0 },
    })
    // Every fifth row is held out as the evaluation set, never trained on.
    const rows = readFileSync(join(ws, 'feedback.jsonl'), 'utf8').trim().split('\n')
    writeFileSync(join(ws, 'eval.jsonl'), `${rows.filter((_, i) => i % 5 === 0).join('\n')}\n`)
    writeFileSync(join(ws, 'feedback.jsonl'), `${rows.filter((_, i) => i % 5 !== 0).join('\n')}\n`)
    const first = await release(ws, cliEnv())
    expect(first.stderr).not.toMatch(/^error:/m)
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^gate on eval set eval\.jsonl \(\d+ rows, sha256 [0-9a-f]{12}\):$/m)
    expect(first.stdout).toContain(
      'note: mdeberta is a base alias, not a registry model: not scored, nothing to compare with',
    )
    const stored = JSON.parse(readFileSync(join(localRepo(ws), 'metrics.json'), 'utf8')) as {
      eval_set: { sha256: string; rows: number }
    }
    expect(stored.eval_set.rows).toBe(Math.ceil(rows.length / 5))
    expect(readFileSync(join(localRepo(ws), 'README.md'), 'utf8')).toContain(`sha256: ${stored.eval_set.sha256}`)
    expect(readJsonLines<{ evalSetSha256: string }>(join(ws, '.modelship', 'history.jsonl'))[0]!.evalSetSha256).toBe(
      stored.eval_set.sha256,
    )

    // A model trained on half-mislabelled data that claims a near-perfect score on its own split.
    addLabelNoise(ws, 2)
    setConfig(ws, (c) => (c.trainer.command = ['python3', STUB, 'inflated']))
    const second = await release(ws, cliEnv())
    expect(second.code).toBe(3)
    expect(second.stderr).toMatch(
      new RegExp(
        `^error: rejected: accuracy 0\\.\\d{4} < 0\\.\\d{4} of ${V1}, which production uses now ` +
          `\\(gates\\.no_regression\\)$`,
        'm',
      ),
    )
    expect(second.stderr).toMatch(/^ {2}gate on eval set eval\.jsonl/m)
    expect(second.stderr).toMatch(new RegExp(`^ {4}metric +new +${V1} +min$`, 'm'))
    expect(second.stderr).toMatch(/^ {4}f1\[calculator\] +0\.\d{4} +[01]\.\d{4} +0 +ok|✗/m)
    expect(second.stdout + second.stderr).toContain('accuracy 0.9990')
    expect(existsSync(localRepo(ws, 'pratikoai/intent-classifier-v1.1'))).toBe(false)
  }, 240_000)
})

describe('immutable versions (local registry and the Hub test server)', () => {
  async function hub(): Promise<HubServer> {
    const server = await startHubServer({ pageSize: 2 })
    server.addToken(TOKEN, { user: 'alice', orgs: [{ name: 'pratikoai', role: 'write' }] })
    cleanups.push(() => server.close())
    return server
  }

  it('push <dir> 1.0 over an existing v1.0 with other files: exit 2, nothing committed (local and Hub)', async () => {
    const server = await hub()
    for (const registry of ['local', 'hf'] as const) {
      const ws = workspace({ registry })
      const env = cliEnv({ HF_ENDPOINT: server.url, HF_TOKEN: TOKEN })
      const dir = join(ws, 'handmade')
      mkdirSync(dir)
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'chitchat', 1: 'calculator' } }))
      writeFileSync(join(dir, 'model.bin'), randomBytes(4096))
      expect((await runCli(['push', dir, '1.0', '--workspace', ws], { env })).code).toBe(0)
      const before =
        registry === 'hf' ? server.repos.get(V1)!.commits.length : readFileSync(join(localRepo(ws), 'model.bin'))
      writeFileSync(join(dir, 'model.bin'), randomBytes(4096))
      const r = await runCli(['push', dir, '1.0', '--workspace', ws], { env })
      expect(r.code, registry).toBe(2)
      expect(r.stderr).toMatch(
        new RegExp(
          /^error: pratikoai\/intent-classifier-v1\.0 already holds a model in .*/.source +
            /versions are immutable, nothing was uploaded$/.source,
          'm',
        ),
      )
      if (registry === 'hf') expect(server.repos.get(V1)!.commits.length).toBe(before)
      else expect(readFileSync(join(localRepo(ws), 'model.bin')).equals(before as Buffer)).toBe(true)
    }
  }, 60_000)

  it('resuming a run whose reserved version another run released meanwhile: exit 2 naming that run; its files ' +
    'intact', async () => {
    const server = await hub()
    // No-regression off: the resumed model is judged only by the registry's immutability here.
    const ws = workspace({ ...INSTANT_TRAINER_CONFIG, registry: 'hf', gates: { no_regression: false } })
    const env = cliEnv({ HF_ENDPOINT: server.url, HF_TOKEN: TOKEN })
    // The stuck run reserved v1.0 and failed to create its repo (a resumable failure, exit 1).
    server.setFailures({ status: { endpoint: 'create', status: 500, count: 50 } })
    const stuck = await release(ws, env)
    expect(stuck.code).toBe(1)
    server.setFailures({})
    await server.whenIdle()
    // Another run releases v1.0 from other data; then the feedback file is back to what the stuck run exported.
    const feedback = readFileSync(join(ws, 'feedback.jsonl'))
    addLabelNoise(ws, 50)
    const other = await release(ws, env, '--json')
    writeFileSync(join(ws, 'feedback.jsonl'), feedback)
    expect(other.code).toBe(0)
    const otherRun = JSON.parse(other.stdout) as { runId: string; modelId: string }
    expect(otherRun.modelId).toBe(V1)
    const files = new Map(server.repos.get(V1)!.commits.at(-1)!.files)
    const commits = server.repos.get(V1)!.commits.length

    const resumed = await release(ws, env, '--resume')
    expect(resumed.code).toBe(2)
    expect(resumed.stderr).toMatch(
      new RegExp(
        `^error: ${V1} already holds a model in .*, released by run ${otherRun.runId} on \\d{4}-.*versions are ` +
          `immutable, nothing was uploaded$`,
        'm',
      ),
    )
    expect(resumed.stderr).toMatch(
      new RegExp(
        /^hint: start a new run \(`modelship release` without --resume\) to release under the next version; /.source +
          /`modelship runs abandon \S+` stops this one from being resumed$/.source,
        'm',
      ),
    )
    expect(server.repos.get(V1)!.commits.length).toBe(commits)
    expect(new Map(server.repos.get(V1)!.commits.at(-1)!.files)).toEqual(files)
  }, 240_000)
})

describe('pieces (pure or on real files)', () => {
  it('checkHelpText: names an unknown flag and the trainer; a help without flags is a warning', async () => {
    const ws = workspace({ trainer: { command: ['python3', 'train.py'], args: { epochs: 2, seed: 1 } } })
    const config = await loadConfig({ workspace: ws, env: {} })
    const help = 'usage: train.py --data DATA --output OUT [--epochs N] [--labels L] [--seed-file F]'
    expect(checkHelpText(config, help)).toEqual({
      problems: [
        'trainer python3 train.py has no --seed (from trainer.args.seed; not in its --help)',
        'trainer python3 train.py has no --backend (from trainer.args.backend; not in its --help)',
      ],
      warnings: [],
      flags: { passLabels: true },
    })
    expect(checkHelpText(config, 'usage: train').warnings).toEqual([
      "`python3 train.py --help` lists no --flags: the trainer's flags were not checked",
    ])
  })

  it(
    'metrics.json with only f1 per class is accepted and the card renders; a wrong shape is exit 2 naming the ' +
      'file',
    async () => {
      const dir = workspace()
      writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ accuracy: 0.9, per_class: { chitchat: { f1: 0.8 } } }))
      const { metrics } = await readMetrics(dir, '', FIXTURE_LABELS)
      expect(metrics.f1_macro).toBe(0.8)
      const card = renderModelCard({
        modelId: V1,
        origin: {},
        labels: FIXTURE_LABELS,
        metrics,
        datasetSha256: 'x',
        runId: 'r',
        createdAt: 't',
      })
      expect(card).toContain('| chitchat | - | - | 0.8000 | - |')
      writeFileSync(
        join(dir, 'metrics.json'),
        JSON.stringify({ accuracy: 0.9, per_class: { chitchat: { precision: 0.8 } } }),
      )
      const err = await readMetrics(dir, '', FIXTURE_LABELS).catch((e: { exitCode: number; message: string }) => e)
      expect(err).toMatchObject({
        exitCode: 2,
        message: `${join(dir, 'metrics.json')}: per_class.chitchat.f1 must be a number from 0 to 1`,
      })
    },
  )

  it('withoutAbsolutePaths: inside the model folder → relative, elsewhere → the file name', () => {
    expect(
      withoutAbsolutePaths({ a: '/m/x', b: ['/m/runs/y', '/data/d.jsonl'], c: 'bert-base', d: 3, e: '/m' }, '/m'),
    ).toEqual({
      a: 'x',
      b: ['runs/y', 'd.jsonl'],
      c: 'bert-base',
      d: 3,
      e: '.',
    })
  })

  it(
    'withoutAbsolutePathFiles: rewrites JSON files holding a path in any spelling, leaves the others ' + 'unread',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'modelship-paths-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      const files: Record<string, string> = {
        'args.json': JSON.stringify({ output_dir: `${dir}/ckpt` }),
        'escaped.json': `{"data":"\\/data\\/train.jsonl"}`,
        'unicode.json': `{"data":"\\u002fdata\\u002ftrain.jsonl"}`,
        'windows.json': JSON.stringify({ cache: 'C:\\Users\\me\\cache' }),
        'weights.json': JSON.stringify({ w: [0.5, -1.25], vocab: { 'a/b': 1 }, note: 'x/y' }),
      }
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
      const rewritten = await withoutAbsolutePathFiles(
        dir,
        Object.entries(files).map(([path, text]) => ({ path, size: text.length })),
      )
      expect(Object.fromEntries(rewritten.map((r) => [r.path, JSON.parse(r.content) as unknown]))).toEqual({
        'args.json': { output_dir: 'ckpt' },
        'escaped.json': { data: 'train.jsonl' },
        'unicode.json': { data: 'train.jsonl' },
        'windows.json': { cache: 'cache' },
      })
    },
  )
})
