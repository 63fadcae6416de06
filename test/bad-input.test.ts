import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDockerShim } from './support/docker-shim.js'
import { cleanup, cliEnv, makeWorkspace, runCli, snapshotTree } from './support/workspace.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

const GOOD = ['chitchat', 'theoretical_definition', 'technical_research', 'calculator', 'normative_reference']
  .flatMap((label) =>
    Array.from({ length: 25 }, (_, i) => JSON.stringify({ text: `esempio ${label} numero ${i}`, label })),
  )
  .join('\n')

interface Case {
  name: string
  feedback?: string
  config?: Record<string, unknown>
  prepare?: (ws: string) => void
  args: (ws: string) => string[]
  env?: Record<string, string>
  message: RegExp
}

const CASES: Case[] = [
  {
    name: 'malformed JSONL',
    feedback: `${GOOD}\n{"text": "Cos'è l'IVA?", "label": "theoretical_definition"\n`,
    args: (ws) => ['release', '--workspace', ws, '--yes'],
    message: /^error: \S+feedback\.jsonl:126: malformed JSON/,
  },
  {
    name: 'unknown label',
    feedback: `${GOOD}\n{"text": "calcola l'IVA su 100 euro", "label": "tax_calc"}\n`,
    args: (ws) => ['release', '--workspace', ws, '--yes', '--json'],
    message: /^error: \S+feedback\.jsonl:126: unknown label "tax_calc"$/,
  },
  {
    name: 'bad version',
    prepare: (ws) => {
      mkdirSync(join(ws, 'model'))
      writeFileSync(join(ws, 'model', 'config.json'), '{}')
    },
    args: (ws) => ['push', join(ws, 'model'), '1.x', '--workspace', ws],
    message: /^error: push <version>: '1\.x' is not a version like 1\.3 or v1\.3$/,
  },
  {
    name: 'YAML error in modelship.yaml',
    prepare: (ws) => writeFileSync(join(ws, 'modelship.yaml'), 'registry: local\ngates:\n  min_accuracy: [0.9\n'),
    args: (ws) => ['release', '--workspace', ws, '--yes'],
    message: /^error: \S+modelship\.yaml:\d+:\d+: YAML error/,
  },
  {
    name: 'YAML error in a compose file',
    prepare: (ws) =>
      writeFileSync(join(ws, 'docker-compose.production.yml'), 'services:\n  app:\n    build: [unclosed\n'),
    args: (ws) => ['release', '--workspace', ws, '--yes'],
    message: /^error: docker-compose\.production\.yml:\d+:\d+: YAML error/,
  },
  {
    name: 'missing token',
    config: { registry: 'hf', hf_endpoint: 'http://127.0.0.1:9' },
    args: (ws) => ['release', '--workspace', ws, '--yes'],
    message: /^error: .*HF_TOKEN is not set/,
  },
  {
    name: 'injected characters in a model id',
    args: (ws) => ['promote', 'pratikoai/x\nservices: {}', '--workspace', ws],
    message: /^error: model id: "pratikoai\/x\\nservices: \{\}" is not a model id/,
  },
  {
    name: 'unknown step for --from',
    args: (ws) => ['release', '--workspace', ws, '--resume', '--from', 'deploy; rm -rf /'],
    message: /^error: --from: "deploy; rm -rf \/" is not a step/,
  },
]

describe('bad input: one line saying what and where, exit 2, nothing changed', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ws = makeWorkspace({
        ...(c.feedback !== undefined ? { feedback: c.feedback } : {}),
        ...(c.config ? { config: c.config } : {}),
      })
      const shim = createDockerShim()
      cleanups.push(
        () => cleanup(ws),
        () => shim.cleanup(),
      )
      c.prepare?.(ws)
      const before = snapshotTree(ws)
      const r = await runCli(c.args(ws), { env: cliEnv({ ...shim.env, ...c.env }) })
      expect(r.code, r.stderr).toBe(2)
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(c.message)
      expect(snapshotTree(ws)).toEqual(before)
      if (c.args(ws).includes('--json')) expect(JSON.parse(r.stdout)).toMatchObject({ status: 'failed', exitCode: 2 })
      expect(shim.calls().filter((x) => !['info', 'version', 'ps', 'config'].includes(x.name))).toEqual([])
    })
  }
})
