import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createLocalRegistry } from '../pipeline/registry/local.js'

describe('local registry', () => {
  it('pushes the same files as the Hub backend would: symlinks followed, hidden files left out; the same push again is a no-op', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ms-local-reg-'))
    const dir = await mkdtemp(join(tmpdir(), 'ms-model-'))
    const elsewhere = await mkdtemp(join(tmpdir(), 'ms-weights-'))
    await writeFile(join(elsewhere, 'weights.bin'), 'W'.repeat(1000))
    await writeFile(join(dir, 'config.json'), '{"id2label":{"0":"a"}}')
    await symlink(join(elsewhere, 'weights.bin'), join(dir, 'model.bin'))
    await mkdir(join(dir, '.cache'))
    await writeFile(join(dir, '.cache', 'junk'), 'x')
    await writeFile(join(dir, '.DS_Store'), 'x')
    const registry = createLocalRegistry({ root, org: 'acme', prefix: 'intent-classifier', now: () => new Date('2026-01-01T00:00:00Z') })
    const req = { modelId: 'acme/intent-classifier-v1.0', dir, extraFiles: [{ path: 'README.md', content: '# card\n' }], commitMessage: 'm' }
    const first = await registry.push(req)
    expect(Object.keys(first.manifest).sort()).toEqual(['README.md', 'config.json', 'model.bin'])
    expect(await readFile(join(root, 'acme', 'intent-classifier-v1.0', 'model.bin'), 'utf8')).toBe('W'.repeat(1000))
    expect(await registry.readFile('acme/intent-classifier-v1.0', '.cache/junk')).toBeUndefined()
    expect(await registry.push(req)).toEqual(first)
    expect((await registry.listModels()).map((m) => [m.id, m.private, m.createdAt])).toEqual([['acme/intent-classifier-v1.0', true, '2026-01-01T00:00:00.000Z']])
  })
})
