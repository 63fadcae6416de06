// Issue 25 items 2–4 and issue 23 items 1–2: hostile or careless input is refused in preflight — exit 2,
// one line naming the setting or file and what is wrong, one JSON error object with --json — and nothing is
// created: no version, no history line, no run directory, no edited byte.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDockerShim } from './support/docker-shim.js'
import { cleanup, cliEnv, makeWorkspace, readJsonLines, runCli, snapshotTree } from './support/workspace.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

/** Replaces `from` in the workspace's modelship.yaml (the test config is written by yaml's stringify). */
const editConfig = (ws: string, from: string | RegExp, to: string): void => {
  const path = join(ws, 'modelship.yaml')
  const text = readFileSync(path, 'utf8')
  const next = text.replace(from, to)
  if (next === text) throw new Error(`modelship.yaml has no ${from}`)
  writeFileSync(path, next)
}
const appendConfig = (ws: string, text: string): void =>
  writeFileSync(join(ws, 'modelship.yaml'), readFileSync(join(ws, 'modelship.yaml'), 'utf8') + text)

/** `invalid configuration: KEY (modelship.yaml:LINE): expected RANGE, got number VALUE` as a pattern. */
function configError(key: string, range: string, value: string, o: { whole?: boolean } = {}): RegExp {
  const quote = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const end = o.whole === false ? '' : '$'
  const at = `${quote(key)} \\(modelship\\.yaml:\\d+\\)`
  return new RegExp(`^invalid configuration: ${at}: expected ${quote(range)}, got number ${quote(value)}${end}`)
}

interface Case {
  name: string
  prepare: (ws: string, outside: string) => void
  args?: string[]
  message: RegExp
}

const release = ['release', '--yes', '--json']

const CASES: Case[] = [
  // Item 4: numbers are numbers.
  {
    name: 'trainer.args.epochs: 1e400 (Infinity)',
    prepare: (ws) => editConfig(ws, 'epochs: 3', 'epochs: 1e400'),
    message: configError('trainer.args.epochs', 'a whole number from 1 to 100000', 'Infinity', { whole: false }),
  },
  {
    name: 'trainer.args.epochs: 0',
    prepare: (ws) => editConfig(ws, 'epochs: 3', 'epochs: 0'),
    message: configError('trainer.args.epochs', 'a whole number from 1 to 100000', '0'),
  },
  {
    name: 'trainer.args.epochs: -1',
    prepare: (ws) => editConfig(ws, 'epochs: 3', 'epochs: -1'),
    message: configError('trainer.args.epochs', 'a whole number from 1 to 100000', '-1'),
  },
  {
    name: 'gates.min_accuracy: .nan',
    prepare: (ws) => editConfig(ws, 'gates:\n', 'gates:\n  min_accuracy: .nan\n'),
    message: configError('gates.min_accuracy', 'a number from 0 to 1', '.nan'),
  },
  {
    name: 'gates.min_class_f1: 1.5',
    prepare: (ws) => editConfig(ws, 'gates:\n', 'gates:\n  min_class_f1: 1.5\n'),
    message: configError('gates.min_class_f1', 'a number from 0 to 1', '1.5'),
  },
  {
    name: 'deploy.health_timeout_s: 0',
    prepare: (ws) => editConfig(ws, 'health_timeout_s: 5', 'health_timeout_s: 0'),
    message: configError('deploy.health_timeout_s', 'a whole number from 1 to 86400', '0'),
  },
  {
    name: 'a non-finite number in a trainer argument the schema does not know',
    prepare: (ws) => editConfig(ws, 'epochs: 3', 'epochs: 3\n    warmup: -.inf'),
    message: configError('trainer.args.warmup', 'a finite number', '-Infinity'),
  },
  // Item 3: config parsing has limits.
  {
    name: 'a YAML alias bomb in modelship.yaml',
    prepare: (ws) => {
      let bomb = 'x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n'
      for (let i = 1; i < 9; i++)
        bomb += `x${i}: &x${i} [${Array(9)
          .fill(`*x${i - 1}`)
          .join(', ')}]\n`
      writeFileSync(join(ws, 'modelship.yaml'), bomb)
    },
    message: /modelship\.yaml:2: YAML error: aliases expand too far/,
  },
  {
    name: 'flow collections nested 100 000 deep',
    prepare: (ws) => appendConfig(ws, `deep: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`),
    message: /modelship\.yaml:\d+: YAML error: collections nested more than 64 deep$/,
  },
  {
    name: 'a duplicate key',
    prepare: (ws) => appendConfig(ws, 'registry: hf\n'),
    message: /modelship\.yaml:\d+:1: YAML error: Map keys must be unique/,
  },
  {
    name: 'an oversized modelship.yaml',
    prepare: (ws) => appendConfig(ws, `# ${'x'.repeat(300 * 1024)}\n`),
    message: /modelship\.yaml: \d+ bytes, more than the 262144 a modelship\.yaml may have$/,
  },
  // Item 2 and issue 23 item 1: every path has the kind it needs, checked first.
  {
    name: 'feedback.source is a directory',
    prepare: (ws) => {
      mkdirSync(join(ws, 'data'))
      editConfig(ws, 'source: feedback.jsonl', 'source: ./data')
    },
    message: /^feedback\.source: \S+\/data: is a directory, not a file/,
  },
  {
    name: 'a compose file that is a directory',
    prepare: (ws) => {
      rmSync(join(ws, 'docker-compose.qa.yml'))
      mkdirSync(join(ws, 'docker-compose.qa.yml'))
    },
    args: ['release', '--env', 'qa', '--yes', '--json'],
    message: /^docker-compose\.qa\.yml: is a directory, not a file \(environments\.qa\.compose\)/,
  },
  {
    name: 'an env_file that is a directory',
    prepare: (ws) => {
      rmSync(join(ws, '.env.test'))
      mkdirSync(join(ws, '.env.test'))
    },
    message: /^\.env\.test: is a directory, not a file \(environments\.production\.env_file\)/,
  },
  {
    name: 'an edit file that is a symlink to a file outside the workspace (refused before the push)',
    prepare: (ws, outside) => {
      const target = join(outside, 'docker-compose.production.yml')
      writeFileSync(target, readFileSync(join(ws, 'docker-compose.production.yml')))
      rmSync(join(ws, 'docker-compose.production.yml'))
      symlinkSync(target, join(ws, 'docker-compose.production.yml'))
    },
    message:
      /^\S*docker-compose\.production\.yml is a symlink to \S+, which is outside the workspace .*\(environments\.produ/,
  },
  {
    name: 'gates.eval_set is a directory',
    prepare: (ws) => {
      mkdirSync(join(ws, 'eval'))
      editConfig(ws, 'gates:\n', 'gates:\n  eval_set: eval\n')
    },
    message: /^gates\.eval_set: \S+\/eval: is a directory, not a file/,
  },
  {
    name: 'the trainer script is a directory',
    prepare: (ws) => {
      mkdirSync(join(ws, 'train'))
      editConfig(ws, /command:\n(\s+)- python3\n\s+- \S+\n/, 'command:\n$1- python3\n$1- train/\n')
    },
    message: /^trainer\.command: train\/: is a directory, not a file/,
  },
  {
    name: '.modelship is a symlink leading out of the workspace',
    prepare: (ws, outside) => symlinkSync(outside, join(ws, '.modelship')),
    message: /^\.modelship: \S+ leads to \S+, outside the workspace/,
  },
]

describe('refused input: exit 2 in preflight, one line, one JSON error object, nothing created', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ws = makeWorkspace()
      const outside = mkdtempSync(join(tmpdir(), 'modelship-outside-'))
      const shim = createDockerShim()
      cleanups.push(
        () => cleanup(ws),
        () => cleanup(outside),
        () => shim.cleanup(),
      )
      c.prepare(ws, outside)
      const before = snapshotTree(ws)
      const outsideBefore = snapshotTree(outside)
      const r = await runCli([...(c.args ?? release), '--workspace', ws], { env: cliEnv(shim.env) })
      expect(r.code, r.stderr).toBe(2)
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'))
      expect(errors, r.stderr).toHaveLength(1)
      expect(errors[0]!.slice('error: '.length)).toMatch(c.message)
      const json = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error: { message: string; hint?: string } }
      expect(json).toMatchObject({ ok: false, exitCode: 2 })
      expect(json.error.message).toMatch(c.message)
      expect(snapshotTree(ws)).toEqual(before)
      expect(snapshotTree(outside)).toEqual(outsideBefore)
      expect(shim.calls().filter((x) => !['info', 'version', 'ps', 'config'].includes(x.name))).toEqual([])
    })
  }
})

describe('a refused promote, rollback or push leaves no run behind (issue 23 item 2)', () => {
  it('promote of a version the registry does not hold: exit 2, no run directory, the audit line stays', async () => {
    const ws = makeWorkspace()
    cleanups.push(() => cleanup(ws))
    const r = await runCli(['promote', 'pratikoai/intent-classifier-v9.9', '--workspace', ws])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^error: pratikoai\/intent-classifier-v9\.9 is not in local registry/m)
    const runsDir = join(ws, '.modelship', 'runs')
    expect(existsSync(runsDir) ? readdirSync(runsDir) : []).toEqual([])
    expect(readJsonLines(join(ws, '.modelship', 'history.jsonl'))).toMatchObject([
      { action: 'promote', to: 'pratikoai/intent-classifier-v9.9', outcome: 'failed' },
    ])
    const listed = await runCli(['runs', '--json', '--workspace', ws])
    expect(JSON.parse(listed.stdout)).toEqual([])
  })

  it('rollback --to a version the registry lacks, and a push of a folder without config.json: no run', async () => {
    const ws = makeWorkspace()
    cleanups.push(() => cleanup(ws))
    const back = await runCli(['rollback', '--to', 'v7.7', '--no-deploy', '--workspace', ws])
    expect(back.code, back.stderr).toBe(2)
    mkdirSync(join(ws, 'model'))
    const push = await runCli(['push', join(ws, 'model'), '1.0', '--yes', '--workspace', ws])
    expect(push.code, push.stderr).toBe(2)
    const runsDir = join(ws, '.modelship', 'runs')
    expect(existsSync(runsDir) ? readdirSync(runsDir) : []).toEqual([])
    expect(existsSync(join(ws, '.modelship', 'registry'))).toBe(false)
  })
})
