import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startHubServer, type HubServer } from './hub-server/index.js'
import { createDockerShim } from './support/docker-shim.js'
import { cleanup, cliEnv, INSTANT_TRAINER_CONFIG, makeWorkspace, runCli, snapshotTree } from './support/workspace.js'

const WRITER = `hf_writer${randomBytes(12).toString('hex')}`
const READER = `hf_reader${randomBytes(12).toString('hex')}`
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function setup(
  lfsThreshold?: number,
  config: Record<string, unknown> = {},
): Promise<{ ws: string; hub: HubServer; env: (token?: string) => Record<string, string> }> {
  const hub = await startHubServer({ pageSize: 2, ...(lfsThreshold ? { lfsThreshold } : {}) })
  hub.addToken(WRITER, { user: 'alice', orgs: [{ name: 'pratikoai', role: 'write' }] })
  hub.addToken(READER, { user: 'bob', orgs: [{ name: 'pratikoai', role: 'write' }], role: 'read' })
  const ws = makeWorkspace({ config: { registry: 'hf', deploy: { mode: 'none' }, ...config } })
  const shim = createDockerShim()
  cleanups.push(
    () => hub.close(),
    () => cleanup(ws),
    () => shim.cleanup(),
  )
  return { ws, hub, env: (token = WRITER) => cliEnv({ ...shim.env, HF_ENDPOINT: hub.url, HF_TOKEN: token }) }
}

const noToken = (text: string) => expect(text.includes(WRITER) || text.includes(READER)).toBe(false)

describe('release against a Hugging-Face-Hub-compatible server (real @huggingface/hub client over HTTP)', () => {
  it(
    'pushes private v1.0 then v1.1 with the model card; list --json shows them; the token is never printed or ' +
      'stored',
    async () => {
      const { ws, hub, env } = await setup()
      const first = await runCli(['release', '--workspace', ws, '--yes'], { env: env() })
      expect(first.stderr).not.toMatch(/^error:/m)
      expect(first.code).toBe(0)
      const repo = hub.repos.get('pratikoai/intent-classifier-v1.0')!
      expect(repo.private).toBe(true)
      const files = [...repo.commits.at(-1)!.files.keys()].sort()
      expect(files).toEqual(
        expect.arrayContaining(['README.md', 'config.json', 'metrics.json', 'model.json', 'training_args.json']),
      )
      expect(repo.commits.filter((c) => c.title.startsWith('modelship'))).toHaveLength(1)
      // Upload progress is shown per file and in total: percent, rate, ETA.
      expect(first.stdout).toMatch(
        /^› uploading model\.json: 100% of [\d.]+ KiB, [\d.–]+ (MiB|KiB)\/s, done · total \d+% of [\d.]+ KiB, /m,
      )

      // The same data again releases only with --force (nothing new otherwise).
      expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env: env() })).code).toBe(0)
      expect(hub.repos.get('pratikoai/intent-classifier-v1.1')?.private).toBe(true)

      const list = await runCli(['list', '--workspace', ws, '--json'], { env: env() })
      expect(list.code).toBe(0)
      const rows = JSON.parse(list.stdout) as Array<{
        id: string
        version: string
        private: boolean
        accuracy: number
        environments: string[]
      }>
      expect(rows.map((r) => [r.id, r.version, r.private, r.environments])).toEqual([
        ['pratikoai/intent-classifier-v1.1', 'v1.1', true, ['production']],
        ['pratikoai/intent-classifier-v1.0', 'v1.0', true, []],
      ])
      expect(rows[0]!.accuracy).toBeGreaterThan(0.9)
      expect((rows[0] as unknown as { created: string }).created).toMatch(/^\d{4}-\d\d-\d\dT/)
      for (const out of [first.stdout, first.stderr, list.stdout, list.stderr]) noToken(out)
      for (const [, bytes] of snapshotTree(ws)) noToken(bytes)
    },
  )

  it('failed commits fail the push resumably (exit 1); --resume commits once and re-sends no object', async () => {
    // The instant trainer's weights.bin (1 KiB) goes through LFS here, as weights do on the Hub.
    const { ws, hub, env } = await setup(512, INSTANT_TRAINER_CONFIG)
    hub.setFailures({ commits500: 50 })
    const failed = await runCli(['release', '--workspace', ws, '--yes'], { env: env() })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/^error: .*pratikoai\/intent-classifier-v1\.0/m)
    noToken(failed.stderr)
    const putsBefore = { ...hub.stats.objectPuts }
    expect(Object.keys(putsBefore).length).toBeGreaterThan(0)

    hub.setFailures({})
    await hub.whenIdle()
    hub.resetStats()
    const resumed = await runCli(['release', '--workspace', ws, '--yes', '--resume'], { env: env() })
    expect(resumed.stderr).not.toMatch(/^error:/m)
    expect(resumed.code).toBe(0)
    expect(resumed.stderr + resumed.stdout).toMatch(/Train model: done earlier in run/)
    expect(hub.stats.commits).toBe(1)
    expect(hub.stats.objectPuts).toEqual({})
    expect(hub.repos.get('pratikoai/intent-classifier-v1.1')).toBeUndefined()
  })

  it('a read-only token is refused at preflight, before any training (exit 2)', async () => {
    const { ws, env } = await setup()
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env: env(READER) })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /^error: HF_TOKEN of bob is read-only \(token role: read\); pushing models to pratikoai needs write access$/m,
    )
    expect(r.stdout + r.stderr).not.toContain('Train model')
    noToken(r.stderr)
  })

  it('push <path> <version>: v1.9 then v1.10 are listed in semantic order; pushing again commits nothing', async () => {
    const { ws, hub, env } = await setup()
    const dir = join(ws, 'handmade')
    mkdirSync(dir)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'chitchat', 1: 'calculator' } }))
    writeFileSync(join(dir, 'model.bin'), randomBytes(64 * 1024))
    for (const v of ['1.9', 'v1.10']) {
      const r = await runCli(['push', dir, v, '--workspace', ws], { env: env() })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
    }
    // The same folder again: nothing new is committed.
    const commits = hub.repos.get('pratikoai/intent-classifier-v1.10')!.commits.length
    expect((await runCli(['push', dir, '1.10', '--workspace', ws], { env: env() })).code).toBe(0)
    expect(hub.repos.get('pratikoai/intent-classifier-v1.10')!.commits.length).toBe(commits)
    const rows = JSON.parse((await runCli(['list', '--workspace', ws, '--json'], { env: env() })).stdout) as Array<{
      version: string
    }>
    expect(rows.map((r) => r.version)).toEqual(['v1.10', 'v1.9'])
    const refused = await runCli(['push', join(ws, 'nothing-here'), '1.11', '--workspace', ws], { env: env() })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^error: push <path>: .*nothing-here is not a directory$/m)
  })
})
