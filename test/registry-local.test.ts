import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { createRedactor } from '../pipeline/secrets/redact.js'
import { createLocalRegistry } from '../pipeline/registry/local.js'

const ID = 'acme/intent-classifier-v1.0'
const registryAt = (root: string, secret?: string) =>
  createLocalRegistry({
    root,
    org: 'acme',
    prefix: 'intent-classifier',
    now: () => new Date('2026-01-01T00:00:00Z'),
    ...(secret ? { redact: createRedactor([secret]) } : {}),
  })

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ms-model-'))
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), content)
  }
  return dir
}

describe('local registry', () => {
  it(
    'pushes the same files as the Hub backend would: symlinks inside followed, hidden files left out; the same push ' +
      'again is a no-op',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'ms-local-reg-'))
      const dir = await mkdtemp(join(tmpdir(), 'ms-model-'))
      // A link that stays inside the folder uploads the file it names (one leading out is refused: issue 25).
      await mkdir(join(dir, 'blobs'))
      await writeFile(join(dir, 'blobs', 'weights.bin'), 'W'.repeat(1000))
      await writeFile(join(dir, 'config.json'), '{"id2label":{"0":"a"}}')
      await symlink(join(dir, 'blobs', 'weights.bin'), join(dir, 'model.bin'))
      await mkdir(join(dir, '.cache'))
      await writeFile(join(dir, '.cache', 'junk'), 'x')
      await writeFile(join(dir, '.DS_Store'), 'x')
      const registry = registryAt(root)
      const req = { modelId: ID, dir, extraFiles: [{ path: 'README.md', content: '# card\n' }], commitMessage: 'm' }
      const first = await registry.push(req)
      expect(Object.keys(first.manifest).sort()).toEqual(['README.md', 'blobs/weights.bin', 'config.json', 'model.bin'])
      expect(await readFile(join(root, 'acme', 'intent-classifier-v1.0', 'model.bin'), 'utf8')).toBe('W'.repeat(1000))
      expect(await registry.readFile(ID, '.cache/junk')).toBeUndefined()
      expect(await registry.push(req)).toEqual(first)
      expect((await registry.listModels()).map((m) => [m.id, m.private, m.createdAt])).toEqual([
        [ID, true, '2026-01-01T00:00:00.000Z'],
      ])
    },
  )

  it('leaves training leftovers and trainer.exclude globs out, like the Hub backend', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ms-local-reg-'))
    const dir = await folder({
      'config.json': '{}',
      'model.safetensors': 'w',
      'checkpoint-10/optimizer.pt': 'x',
      'runs/events': 'x',
      'optimizer.pt': 'x',
      'scheduler.pt': 'x',
      'rng_state.pth': 'x',
      'a.tmp': 'x',
      'train.log': 'x',
    })
    const record = await registryAt(root).push({
      modelId: ID,
      dir,
      extraFiles: [],
      commitMessage: 'm',
      exclude: ['*.log'],
    })
    expect(Object.keys(record.manifest).sort()).toEqual(['config.json', 'model.safetensors'])
  })

  it(
    'versions are immutable: only the same run (its message or its replaces record) may replace a pushed ' + 'version',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'ms-local-reg-'))
      const registry = registryAt(root)
      const first = await registry.push({
        modelId: ID,
        dir: await folder({ 'config.json': '1' }),
        extraFiles: [],
        commitMessage: `modelship: ${ID} (run r1)`,
      })
      const other = await folder({ 'config.json': '2' })
      const e = await registry
        .push({ modelId: ID, dir: other, extraFiles: [], commitMessage: `modelship: ${ID} (run r2)` })
        .catch((x: unknown) => x)
      expect(e).toBeInstanceOf(ModelshipError)
      expect((e as ModelshipError).exitCode).toBe(2)
      expect((e as ModelshipError).message).toContain('released by run r1 on 2026-01-01T00:00:00.000Z')
      expect(await registry.readFile(ID, 'config.json')).toBe('1')
      const again = await registry.push({
        modelId: ID,
        dir: other,
        extraFiles: [],
        commitMessage: `modelship: ${ID} (run r1)`,
      })
      expect(again.commit).not.toBe(first.commit)
      const replaced = await registry.push({
        modelId: ID,
        dir: await folder({ 'config.json': '3' }),
        extraFiles: [],
        commitMessage: `modelship: ${ID} (run r3)`,
        replaces: again,
      })
      expect(await registry.readFile(ID, 'config.json')).toBe('3')
      expect(replaced.commit).not.toBe(again.commit)
    },
  )

  it('masks a secret inside a file name in progress events and registry metadata', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ms-local-reg-'))
    const secret = `hf_${'S'.repeat(20)}`
    const dir = await folder({ 'config.json': '{}', [`w-${secret}.bin`]: 'w' })
    const files: string[] = []
    const record = await registryAt(root, secret).push({
      modelId: ID,
      dir,
      extraFiles: [],
      commitMessage: 'm',
      onProgress: (p) => files.push(p.file),
    })
    const meta = await readFile(join(root, 'acme', 'intent-classifier-v1.0', '.modelship-repo.json'), 'utf8')
    expect(JSON.stringify([files, record, meta])).not.toContain(secret)
    expect(files).toContain('w-***.bin')
  })
})

describe('corrupt local registry entries are named, never taken for a missing version', () => {
  it('a version folder without its metadata: list is exit 2 naming the folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ms-local-reg-'))
    await mkdir(join(root, 'acme', 'intent-classifier-v1.0'), { recursive: true })
    const err = await registryAt(root)
      .listModels()
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModelshipError)
    expect((err as ModelshipError).exitCode).toBe(2)
    expect((err as ModelshipError).message).toBe(
      `${join(root, 'acme', 'intent-classifier-v1.0')}: corrupt local registry entry: no .modelship-repo.json (a ` +
        `push that never finished, or files copied by hand)`,
    )
  })

  it(
    'metadata that is not JSON, and a file whose bytes changed since the push, are exit 2 naming the ' + 'file',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'ms-local-reg-'))
      const registry = registryAt(root)
      const dir = await folder({ 'config.json': '{"id2label":{"0":"a"}}', 'model.bin': 'weights' })
      await registry.push({ modelId: ID, dir, extraFiles: [], commitMessage: 'm' })
      const repo = join(root, 'acme', 'intent-classifier-v1.0')
      await writeFile(join(repo, 'model.bin'), 'tampered')
      const tampered = await registry.download(ID, join(root, 'copy')).catch((e: unknown) => e)
      expect((tampered as ModelshipError).message).toBe(
        `${join(repo, 'model.bin')}: corrupt local registry entry: its sha256 no longer matches the one recorded at ` +
          'push',
      )
      await writeFile(join(repo, '.modelship-repo.json'), '{"private": tru')
      const garbled = await registry.getModel(ID).catch((e: unknown) => e)
      expect((garbled as ModelshipError).exitCode).toBe(2)
      expect((garbled as ModelshipError).message).toMatch(
        /\.modelship-repo\.json: corrupt local registry entry: not valid JSON/,
      )
    },
  )
})
