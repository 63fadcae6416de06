import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { createHfRegistry, resolveHfToken, type HfRegistryOptions } from '../pipeline/registry/hf/index.js'
import { listPushFiles } from '../pipeline/registry/model-folder.js'
import type { PushProgress, PushRequest } from '../pipeline/registry/types.js'
import { modelIdFor, nextVersion } from '../pipeline/registry/version.js'
import { startHubServer, type HubServer, type HubServerOptions } from './hub-server/index.js'

const ORG = 'acme'
const PREFIX = 'intent-classifier'
const WRITER = `hf_writer${randomBytes(12).toString('hex')}`
const READER = `hf_reader${randomBytes(12).toString('hex')}`
const OUTSIDER = `hf_outsider${randomBytes(12).toString('hex')}`
const ORG_READER = `hf_orgreader${randomBytes(12).toString('hex')}`
const FINE_READ = `hf_fineread${randomBytes(12).toString('hex')}`
const FINE_WRITE = `hf_finewrite${randomBytes(12).toString('hex')}`
const ALL_TOKENS = [WRITER, READER, OUTSIDER, ORG_READER, FINE_READ, FINE_WRITE]

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

async function startServer(opts: HubServerOptions = {}): Promise<HubServer> {
  const server = await startHubServer({ pageSize: 2, treePageSize: 3, ...opts })
  server.addToken(WRITER, { user: 'alice', orgs: [{ name: ORG, role: 'write' }] })
  server.addToken(READER, { user: 'bob', orgs: [{ name: ORG, role: 'write' }], role: 'read' })
  server.addToken(OUTSIDER, { user: 'mallory', orgs: [] })
  server.addToken(ORG_READER, { user: 'carol', orgs: [{ name: ORG, role: 'read' }] })
  server.addToken(FINE_READ, {
    user: 'dave',
    orgs: [{ name: ORG, role: 'admin' }],
    role: 'fineGrained',
    scoped: [{ entity: ORG, permissions: ['repo.content.read'] }],
  })
  server.addToken(FINE_WRITE, {
    user: 'erin',
    orgs: [{ name: ORG, role: 'write' }],
    role: 'fineGrained',
    scoped: [{ entity: ORG, permissions: ['repo.content.read', 'repo.write'] }],
  })
  onTestFinished(() => server.close())
  return server
}

function registryFor(server: HubServer, over: Partial<HfRegistryOptions> = {}) {
  const logs: string[] = []
  const registry = createHfRegistry({
    endpoint: `${server.url}/`,
    token: WRITER,
    org: ORG,
    prefix: PREFIX,
    retries: 3,
    backoffMs: 1,
    log: (l) => logs.push(l),
    ...over,
  })
  return { registry, logs }
}

async function modelDir(files: Record<string, Buffer | string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-hf-test-'))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), content)
  }
  return dir
}

const smallModel = () => ({
  'model.safetensors': randomBytes(200 * 1024),
  'config.json': JSON.stringify({ labels: ['chitchat', 'calculator'] }),
  'tokenizer/vocab.txt': 'a\nb\nc\n',
  '.cache/ignored.bin': 'hidden',
  '.DS_Store': 'hidden',
})

function request(modelId: string, dir: string, over: Partial<PushRequest> = {}): PushRequest {
  return {
    modelId,
    dir,
    extraFiles: [{ path: 'README.md', content: `# ${modelId}\n` }],
    commitMessage: `Add ${modelId}`,
    ...over,
  }
}

/** The ModelshipError a promise rejects with; fails the test when it resolves or throws something else. */
async function rejection(p: Promise<unknown>): Promise<ModelshipError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e, 'expected a rejection').toBeInstanceOf(ModelshipError)
  const err = e as ModelshipError
  const text = `${err.message} ${err.hint ?? ''} ${err.details ?? ''}`
  for (const t of ALL_TOKENS) expect(text).not.toContain(t)
  expect(err.message).not.toContain('\n')
  return err
}

const lfsSize = (s: HubServer, id: string) => [...(s.repos.get(id)?.lfs.values() ?? [])].reduce((a, b) => a + b, 0)

describe('hf registry against a Hub-compatible server', () => {
  it('first push creates <org>/intent-classifier-v1.0 private; the next version is v1.1', async () => {
    const server = await startServer()
    const { registry } = registryFor(server)
    const files = smallModel()
    const dir = await modelDir(files)
    await registry.checkAccess()
    expect(registry.describe()).toBe(`Hugging Face Hub ${server.url} (org ${ORG})`)
    expect(await registry.listModels()).toEqual([])

    const id = modelIdFor(ORG, PREFIX, nextVersion([], 'minor'))
    expect(id).toBe('acme/intent-classifier-v1.0')
    const events: PushProgress[] = []
    const record = await registry.push(request(id, dir, { onProgress: (p) => events.push(p) }))
    expect(record.modelId).toBe(id)
    expect(record.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(record.manifest).toEqual({
      'README.md': { size: `# ${id}\n`.length, sha256: sha256(`# ${id}\n`) },
      'config.json': { size: Buffer.byteLength(files['config.json']), sha256: sha256(files['config.json']) },
      'model.safetensors': { size: files['model.safetensors'].length, sha256: sha256(files['model.safetensors']) },
      'tokenizer/vocab.txt': { size: 6, sha256: sha256(files['tokenizer/vocab.txt']) },
    })
    expect(server.repos.get(id)?.private).toBe(true)
    expect(server.repos.get(id)?.commits.at(-1)?.oid).toBe(record.commit)
    // The big file went through LFS; progress ends at its full size in both phases.
    expect([...(server.repos.get(id)?.lfs.keys() ?? [])]).toEqual([sha256(files['model.safetensors'])])
    for (const phase of ['hashing', 'uploading'] as const) {
      const last = events.filter((e) => e.file === 'model.safetensors' && e.phase === phase).at(-1)
      expect(last).toEqual({ file: 'model.safetensors', phase, bytes: 204800, total: 204800 })
    }

    const listed = await registry.listModels()
    expect(listed).toEqual([
      {
        id,
        version: { major: 1, minor: 0 },
        private: true,
        createdAt: expect.any(String),
        lastModified: expect.any(String),
      },
    ])
    const id2 = modelIdFor(
      ORG,
      PREFIX,
      nextVersion(
        listed.map((m) => m.version),
        'minor',
      ),
    )
    expect(id2).toBe('acme/intent-classifier-v1.1')
    await registry.push(request(id2, dir))
    expect((await registry.listModels()).map((m) => m.id)).toEqual([id, id2])
  })

  it('orders v1.9 before v1.10, ignores names that are not versions, and follows Link pagination', async () => {
    const server = await startServer({ pageSize: 2 })
    for (const name of ['v1.10', 'v1.9', 'test', 'v1', 'v1.2', 'v2.0-rc', 'v0.3'])
      server.seedRepo(`${ORG}/${PREFIX}-${name}`, { private: name !== 'v1.2' })
    server.seedRepo(`other/${PREFIX}-v9.0`)
    server.seedRepo(`${ORG}/sentiment-v1.0`)
    server.seedRepo(`${ORG}/${PREFIX}x-v5.0`)
    const { registry } = registryFor(server)
    const models = await registry.listModels()
    expect(models.map((m) => m.id)).toEqual([
      `${ORG}/${PREFIX}-v0.3`,
      `${ORG}/${PREFIX}-v1.2`,
      `${ORG}/${PREFIX}-v1.9`,
      `${ORG}/${PREFIX}-v1.10`,
    ])
    expect(models.map((m) => m.private)).toEqual([true, false, true, true])
    expect(server.stats.requests.list).toBeGreaterThanOrEqual(4)
    expect(
      modelIdFor(
        ORG,
        PREFIX,
        nextVersion(
          models.map((m) => m.version),
          'minor',
        ),
      ),
    ).toBe(`${ORG}/${PREFIX}-v1.11`)
    expect(
      modelIdFor(
        ORG,
        PREFIX,
        nextVersion(
          models.map((m) => m.version),
          'major',
        ),
      ),
    ).toBe(`${ORG}/${PREFIX}-v2.0`)
  })

  it('refuses an existing public repo and uploads nothing', async () => {
    const server = await startServer()
    const id = `${ORG}/${PREFIX}-v1.0`
    server.seedRepo(id, { private: false })
    const { registry } = registryFor(server)
    const err = await rejection(registry.push(request(id, await modelDir(smallModel()))))
    expect(err.code).toBe('BAD_INPUT')
    expect(err.exitCode).toBe(2)
    expect(err.message).toContain(id)
    expect(err.message).toContain('public')
    const { requests } = server.stats
    expect([requests.preupload, requests.batch, requests.upload, requests.commit]).toEqual([0, 0, 0, 0])
    expect(server.repos.get(id)?.commits).toHaveLength(1)
  })

  it('checkAccess refuses read-only tokens, read roles and fine-grained tokens without write on the org', async () => {
    const server = await startServer()
    await registryFor(server).registry.checkAccess()
    await registryFor(server, { token: FINE_WRITE }).registry.checkAccess()
    await registryFor(server, { token: OUTSIDER, org: 'mallory' }).registry.checkAccess()

    const read = await rejection(registryFor(server, { token: READER }).registry.checkAccess())
    expect(read.code).toBe('AUTH')
    expect(read.message).toMatch(/read-only/)
    expect(read.message).toContain(ORG)
    expect(read.message).toContain('token role: read')

    const orgRead = await rejection(registryFor(server, { token: ORG_READER }).registry.checkAccess())
    expect(orgRead.code).toBe('AUTH')
    expect(orgRead.message).toContain(`read role in ${ORG}`)

    const fine = await rejection(registryFor(server, { token: FINE_READ }).registry.checkAccess())
    expect(fine.code).toBe('AUTH')
    expect(fine.message).toContain(`repo.write permission on ${ORG}`)

    const outsider = await rejection(registryFor(server, { token: OUTSIDER }).registry.checkAccess())
    expect(outsider.code).toBe('AUTH')
    expect(outsider.message).toContain(`not a member of ${ORG}`)
  })

  it('refuses a missing token or one without the hf_ prefix before sending anything', async () => {
    const server = await startServer()
    const dir = await modelDir(smallModel())
    const noPrefix = `abc_${WRITER.slice(3)}`
    for (const token of [undefined, '', noPrefix]) {
      const { registry } = registryFor(server, { token })
      const a = await rejection(registry.checkAccess())
      const b = await rejection(registry.push(request(`${ORG}/${PREFIX}-v1.0`, dir)))
      for (const e of [a, b]) {
        expect(e.code).toBe('AUTH')
        expect(e.message).toMatch(token ? /must start with hf_/ : /HF_TOKEN is not set/)
        expect(e.message).not.toContain(noPrefix)
      }
    }
    expect(Object.values(server.stats.requests).reduce((a, b) => a + b, 0)).toBe(0)
  })

  it('after a connection dropped mid-upload, a second push re-sends no object that was complete', async () => {
    const server = await startServer()
    const MiB = 1024 * 1024
    const files = {
      'shard-1.safetensors': randomBytes(64 * 1024),
      'shard-2.safetensors': randomBytes(64 * 1024),
      'shard-3.safetensors': randomBytes(64 * 1024),
      'shard-4.safetensors': randomBytes(6 * MiB),
      'shard-5.safetensors': randomBytes(6 * MiB),
      'shard-6.safetensors': randomBytes(6 * MiB),
      'config.json': '{}',
    }
    const totalLfs = Object.entries(files).reduce((n, [p, c]) => n + (p.endsWith('.safetensors') ? c.length : 0), 0)
    const dir = await modelDir(files)
    const id = `${ORG}/${PREFIX}-v1.0`
    server.setFailures({ dropAfterLfsBytes: 8 * MiB })
    const first = await rejection(registryFor(server, { retries: 0 }).registry.push(request(id, dir)))
    expect(first.code).toBe('STEP_FAILED')
    expect(first.exitCode).toBe(1)
    expect(first.message).toContain(id)
    expect(server.stats.commits).toBe(0)

    await server.whenIdle()
    const completeAtDrop = server.stats.dropped?.completeObjects ?? []
    const completeBefore = [...(server.repos.get(id)?.lfs.keys() ?? [])]
    expect(completeAtDrop.length).toBeGreaterThanOrEqual(1)
    expect(completeBefore).toEqual(expect.arrayContaining(completeAtDrop))
    const keptBytes = lfsSize(server, id)
    const bytesBefore = server.stats.lfsBytesReceived
    const putsBefore = { ...server.stats.objectPuts }

    const record = await registryFor(server).registry.push(request(id, dir))
    const resent = server.stats.lfsBytesReceived - bytesBefore
    expect(resent).toBe(totalLfs - keptBytes)
    expect(resent).toBeLessThan(totalLfs)
    for (const oid of completeBefore) expect(server.stats.objectPuts[oid]).toBe(putsBefore[oid])
    expect(server.stats.commits).toBe(1)
    expect(Object.keys(record.manifest).sort()).toEqual(['README.md', ...Object.keys(files)].sort())
    expect(record.manifest['shard-4.safetensors']?.sha256).toBe(sha256(files['shard-4.safetensors']))
  })

  it('after a failed commit, a second push commits exactly once and re-sends no bytes', async () => {
    const server = await startServer()
    const dir = await modelDir(smallModel())
    const id = `${ORG}/${PREFIX}-v1.0`
    server.setFailures({ commits500: 100 })
    const err = await rejection(registryFor(server, { retries: 2 }).registry.push(request(id, dir)))
    expect(err.code).toBe('STEP_FAILED')
    expect(err.message).toContain(id)
    expect(err.message).toContain('500')
    expect(server.stats.failedCommits).toBe(3)
    server.setFailures({})
    const bytes = server.stats.lfsBytesReceived
    const record = await registryFor(server).registry.push(request(id, dir))
    expect(server.stats.commits).toBe(1)
    expect(server.repos.get(id)?.commits).toHaveLength(2)
    expect(server.stats.lfsBytesReceived).toBe(bytes)
    expect(record.commit).toBe(server.repos.get(id)?.commits.at(-1)?.oid)
  })

  it('pushing the same files again commits nothing and returns the existing commit', async () => {
    const server = await startServer()
    const { registry, logs } = registryFor(server)
    const dir = await modelDir(smallModel())
    const id = `${ORG}/${PREFIX}-v1.0`
    const ownRun = { commitMessage: `modelship: ${id} (run r1)` }
    const first = await registry.push(request(id, dir, ownRun))
    const before = { ...server.stats.requests }
    const second = await registry.push(request(id, dir, ownRun))
    expect(second).toEqual(first)
    expect(server.stats.commits).toBe(1)
    for (const e of ['preupload', 'batch', 'upload', 'commit'] as const)
      expect(server.stats.requests[e]).toBe(before[e])
    expect(logs.join('\n')).toContain('nothing to upload')

    // A changed file (same size) is detected by its hash; the same run (a retrain on --resume) may replace it.
    await writeFile(join(dir, 'config.json'), JSON.stringify({ labels: ['chitchat', 'calculatoR'] }))
    const third = await registry.push(request(id, dir, ownRun))
    expect(third.commit).not.toBe(first.commit)
    expect(server.stats.commits).toBe(2)
  })

  it(
    'versions are immutable: another run, a manual push or a stale replaces record is refused before any ' + 'upload',
    async () => {
      const server = await startServer()
      const { registry } = registryFor(server)
      const id = `${ORG}/${PREFIX}-v1.0`
      const first = await registry.push(
        request(id, await modelDir(smallModel()), { commitMessage: `modelship: ${id} (run r1)` }),
      )
      const other = await modelDir({ ...smallModel(), 'config.json': '{"other":true}' })
      const before = { ...server.stats.requests }
      const byRun = await rejection(registry.push(request(id, other, { commitMessage: `modelship: ${id} (run r2)` })))
      expect(byRun.code).toBe('BAD_INPUT')
      expect(byRun.exitCode).toBe(2)
      const date = server.repos.get(id)?.commits.at(-1)?.date ?? ''
      expect(byRun.message).toContain(`${id} already holds a model`)
      expect(byRun.message).toContain(`released by run r1 on ${date}`)
      expect(byRun.message).toContain('nothing was uploaded')
      expect(byRun.hint).toMatch(/new run/)
      const manual = await rejection(registry.push(request(id, other, { commitMessage: `modelship push: ${id}` })))
      expect(manual.code).toBe('BAD_INPUT')
      const stale = await rejection(
        registry.push(
          request(id, other, {
            commitMessage: `modelship: ${id} (run r2)`,
            replaces: { ...first, commit: 'f'.repeat(40) },
          }),
        ),
      )
      expect(stale.code).toBe('BAD_INPUT')
      for (const e of ['preupload', 'batch', 'upload', 'part', 'commit'] as const)
        expect(server.stats.requests[e]).toBe(before[e])
      expect(server.repos.get(id)?.commits.at(-1)?.oid).toBe(first.commit)

      // The run that recorded this push may replace it (its reserved version, retrained on --resume).
      const replaced = await registry.push(
        request(id, other, { commitMessage: `modelship: ${id} (run r3)`, replaces: first }),
      )
      expect(replaced.commit).not.toBe(first.commit)
      expect(await registry.readFile(id, 'config.json')).toBe('{"other":true}')
    },
  )

  it('retries 5xx and 429 with backoff, and gives up with STEP_FAILED', async () => {
    const server = await startServer()
    const dir = await modelDir(smallModel())
    const { registry, logs } = registryFor(server)
    server.setFailures({ status: { endpoint: 'batch', status: 503, count: 2 }, once429: 'preupload' })
    await registry.push(request(`${ORG}/${PREFIX}-v1.0`, dir))
    expect(logs.filter((l) => /answered (503|429)/.test(l))).toHaveLength(3)

    // A commit that fails once is retried; parentCommit keeps it from landing twice.
    server.setFailures({ commits500: 1 })
    await registry.push(request(`${ORG}/${PREFIX}-v1.1`, dir))
    expect(server.repos.get(`${ORG}/${PREFIX}-v1.1`)?.commits).toHaveLength(2)

    server.setFailures({ status: { endpoint: 'batch', status: 502, count: 100 } })
    const before = server.stats.requests.batch
    const err = await rejection(
      registryFor(server, { retries: 2 }).registry.push(request(`${ORG}/${PREFIX}-v1.2`, dir)),
    )
    expect(err.code).toBe('STEP_FAILED')
    expect(err.message).toContain('502')
    expect(err.message).toContain(`${ORG}/${PREFIX}-v1.2`)
    expect(server.stats.requests.batch - before).toBe(3)
  })

  it('verification catches a tree that does not match what was pushed', async () => {
    const server = await startServer()
    const dir = await modelDir(smallModel())
    const { registry } = registryFor(server)
    server.setFailures({ corruptAfterCommit: { path: 'model.safetensors', field: 'size' } })
    const size = await rejection(registry.push(request(`${ORG}/${PREFIX}-v1.0`, dir)))
    expect(size.code).toBe('STEP_FAILED')
    expect(size.message).toMatch(/model\.safetensors has 204801 bytes, not 204800/)

    server.setFailures({ corruptAfterCommit: { path: 'config.json', field: 'sha256' } })
    const content = await rejection(registry.push(request(`${ORG}/${PREFIX}-v1.1`, dir)))
    expect(content.message).toMatch(/config\.json has other content/)

    server.setFailures({ corruptAfterCommit: { path: 'model.safetensors', field: 'sha256' } })
    const lfs = await rejection(registry.push(request(`${ORG}/${PREFIX}-v1.2`, dir)))
    expect(lfs.message).toMatch(/model\.safetensors has other content \(sha256 differs\)/)
  })

  it('reads files, manifests and models back (tree pagination included)', async () => {
    const server = await startServer({ treePageSize: 2 })
    const files = smallModel()
    const dir = await modelDir(files)
    const { registry } = registryFor(server)
    const id = `${ORG}/${PREFIX}-v1.0`
    const record = await registry.push(request(id, dir))
    expect(await registry.readFile(id, 'config.json')).toBe(files['config.json'])
    expect(await registry.readFile(id, 'tokenizer/vocab.txt')).toBe(files['tokenizer/vocab.txt'])
    expect(await registry.readFile(id, 'metrics.json')).toBeUndefined()
    expect(await registry.readFile(`${ORG}/nope`, 'config.json')).toBeUndefined()
    expect(await registry.readManifest(id)).toEqual(record.manifest)
    expect(await registry.readManifest(`${ORG}/nope`)).toBeUndefined()
    expect(await registry.getModel(id)).toEqual({
      id,
      version: { major: 1, minor: 0 },
      private: true,
      lastModified: expect.any(String),
    })
    expect(await registry.getModel(`${ORG}/nope`)).toBeUndefined()
    // A private repo of another org is invisible, like a missing one.
    server.seedRepo(`other/${PREFIX}-v1.0`, { private: true, files: { 'config.json': '{}' } })
    expect(await registry.getModel(`other/${PREFIX}-v1.0`)).toBeUndefined()
    expect(await registry.readFile(`other/${PREFIX}-v1.0`, 'config.json')).toBeUndefined()
  })

  it('maps 401, 403, 404 and unreachable endpoints to one-line errors without the token', async () => {
    const server = await startServer()
    const dir = await modelDir(smallModel())
    const unknown = `hf_unknown${randomBytes(12).toString('hex')}`
    const u = registryFor(server, { token: unknown })
    const e401 = await rejection(u.registry.checkAccess())
    expect(e401.code).toBe('AUTH')
    expect(e401.message).toContain('401')
    expect(`${e401.message} ${e401.hint}`).not.toContain(unknown)
    const p401 = await rejection(u.registry.push(request(`${ORG}/${PREFIX}-v1.0`, dir)))
    expect(p401.code).toBe('AUTH')
    expect(`${p401.message} ${p401.hint}`).not.toContain(unknown)
    expect(u.logs.join('\n')).not.toContain(unknown)

    const e403 = await rejection(
      registryFor(server, { token: OUTSIDER }).registry.push(request(`${ORG}/${PREFIX}-v1.0`, dir)),
    )
    expect(e403.code).toBe('AUTH')
    expect(e403.message).toContain('403')
    expect(e403.message).toContain(`${ORG}/${PREFIX}-v1.0`)

    const e404 = await rejection(registryFor(server, { endpoint: `${server.url}/not-the-hub` }).registry.checkAccess())
    expect(e404.code).toBe('CONFIG')
    expect(e404.message).toContain('404')
    expect(e404.message).toContain(`${server.url}/not-the-hub`)

    // A refused connection at the first contact is not retried: the host is unreachable, exit 2.
    const closed = await startHubServer()
    await closed.close()
    const host = new URL(closed.url).host
    const down = registryFor(server, { endpoint: closed.url, retries: 3 })
    const eDown = await rejection(down.registry.checkAccess())
    expect(eDown.code).toBe('CONFIG')
    expect(eDown.exitCode).toBe(2)
    expect(eDown.message).toBe(`host ${host} is unreachable (ECONNREFUSED) while checking HF_TOKEN with ${closed.url}`)
    expect(eDown.hint).not.toMatch(/--resume/)
    expect(down.logs).toEqual([])
  })

  it('a DNS failure is not retried either; a host that answered before and then drops is retried', async () => {
    const dns = registryFor(await startServer(), { endpoint: 'http://modelship-test.invalid', retries: 3 })
    const eDns = await rejection(dns.registry.listModels())
    expect(eDns.code).toBe('CONFIG')
    expect(eDns.message).toMatch(/^host modelship-test\.invalid is unreachable \((ENOTFOUND|EAI_AGAIN)\) while listing/)
    expect(dns.logs).toEqual([])

    const server = await startHubServer()
    server.addToken(WRITER, { user: 'alice', orgs: [{ name: ORG, role: 'write' }] })
    const { registry, logs } = registryFor(server, { retries: 2 })
    await registry.checkAccess()
    await server.close()
    const lost = await rejection(registry.listModels())
    expect(lost.code).toBe('STEP_FAILED')
    expect(lost.message).toContain('ECONNREFUSED, after 2 retries')
    expect(logs.filter((l) => /GET \/api\/models failed \(ECONNREFUSED\); retry [12]\/2/.test(l))).toHaveLength(2)
  })
})

describe('hf registry: streamed multipart uploads, Ctrl-C, model files only, read access', () => {
  const MiB = 1024 * 1024

  it('uploads big objects in parts; a drop inside one part re-sends that part alone, in the same run', async () => {
    const server = await startServer({ multipartChunkSize: MiB })
    const big = randomBytes(5 * MiB + 123)
    const dir = await modelDir({ 'model.safetensors': big, 'config.json': '{}' })
    const id = `${ORG}/${PREFIX}-v1.0`
    const oid = sha256(big)
    server.setFailures({ dropAfterLfsBytes: 2.5 * MiB })
    const { registry, logs } = registryFor(server)
    const record = await registry.push(request(id, dir))
    expect(record.manifest['model.safetensors']).toEqual({ size: big.length, sha256: oid })
    expect(server.stats.requests.part).toBe(6 + 1)
    expect(server.stats.requests.complete).toBe(1)
    expect(server.stats.requests.upload).toBe(0)
    const retried = Object.entries(server.stats.partPuts).filter(([, n]) => n === 2)
    expect(retried).toHaveLength(1)
    expect(Object.values(server.stats.partPuts).reduce((a, b) => a + b, 0)).toBe(7)
    // Re-sent: at most the one part that failed (its partial bytes plus one whole part).
    const resent = server.stats.lfsBytesReceived - big.length
    expect(resent).toBeGreaterThan(0)
    expect(resent).toBeLessThanOrEqual(MiB)
    expect(logs.some((l) => /PUT \/_lfs\/part\/.* \(part \d\) failed/.test(l))).toBe(true)
    const stored = await readFile(server.objectPath(id, oid))
    expect(sha256(stored)).toBe(oid)
  })

  it(
    'Ctrl-C stops the upload promptly (INTERRUPTED, exit 130, no commit); the next push sends only what is ' +
      'missing',
    async () => {
      const server = await startServer({ multipartChunkSize: 2 * MiB })
      const files = {
        'a.safetensors': randomBytes(256 * 1024),
        'b.safetensors': randomBytes(256 * 1024),
        'big.safetensors': randomBytes(24 * MiB),
        'config.json': '{}',
      }
      const totalLfs = files['a.safetensors'].length + files['b.safetensors'].length + files['big.safetensors'].length
      const dir = await modelDir(files)
      const id = `${ORG}/${PREFIX}-v1.0`
      const ctrlC = new AbortController()
      let abortedAt = 0
      const onProgress = (p: PushProgress) => {
        if (p.file === 'big.safetensors' && p.phase === 'uploading' && p.bytes >= 4 * MiB && !ctrlC.signal.aborted) {
          abortedAt = Date.now()
          ctrlC.abort()
        }
      }
      const err = await rejection(
        registryFor(server).registry.push(request(id, dir, { signal: ctrlC.signal, onProgress })),
      )
      expect(err.code).toBe('INTERRUPTED')
      expect(err.exitCode).toBe(130)
      expect(Date.now() - abortedAt).toBeLessThan(1000)
      expect(server.stats.commits).toBe(0)
      await server.whenIdle()
      expect(server.stats.lfsBytesReceived).toBeLessThan(totalLfs)

      const kept = new Map(server.repos.get(id)?.lfs)
      const keptBytes = [...kept.values()].reduce((a, b) => a + b, 0)
      const bytesBefore = server.stats.lfsBytesReceived
      const putsBefore = { ...server.stats.objectPuts }
      await registryFor(server).registry.push(request(id, dir))
      expect(server.stats.lfsBytesReceived - bytesBefore).toBe(totalLfs - keptBytes)
      for (const oid of kept.keys()) expect(server.stats.objectPuts[oid]).toBe(putsBefore[oid])
      expect(server.stats.commits).toBe(1)
    },
  )

  it(
    'pushes model files only: checkpoints, runs, optimizer state and temp files stay home, plus trainer.exclude ' +
      'globs',
    async () => {
      const server = await startServer()
      const dir = await modelDir({
        'model.safetensors': randomBytes(1024),
        'config.json': '{}',
        'checkpoint-500/optimizer.pt': 'x',
        'checkpoint-500/model.safetensors': 'x',
        'runs/Jan01/events.out.tfevents': 'x',
        'optimizer.pt': 'x',
        'scheduler.pt': 'x',
        'rng_state_0.pth': 'x',
        'tokenizer/vocab.txt.tmp': 'x',
        'tokenizer/vocab.txt': 'v',
        'train.log': 'x',
        'eval/predictions.jsonl': 'x',
      })
      expect(await listPushFiles(dir, ['*.log', 'eval/'])).toEqual([
        { path: 'config.json', size: 2 },
        { path: 'model.safetensors', size: 1024 },
        { path: 'tokenizer/vocab.txt', size: 1 },
      ])
      const record = await registryFor(server).registry.push(
        request(`${ORG}/${PREFIX}-v1.0`, dir, { exclude: ['*.log', 'eval/'] }),
      )
      expect(Object.keys(record.manifest).sort()).toEqual([
        'README.md',
        'config.json',
        'model.safetensors',
        'tokenizer/vocab.txt',
      ])
      expect([...(server.repos.get(`${ORG}/${PREFIX}-v1.0`)?.commits.at(-1)?.files.keys() ?? [])].sort()).toEqual([
        '.gitattributes',
        'README.md',
        'config.json',
        'model.safetensors',
        'tokenizer/vocab.txt',
      ])
    },
  )

  it(
    'a secret inside a model file name is masked in progress events, log lines and the returned ' + 'manifest',
    async () => {
      const server = await startServer()
      const name = `weights-${WRITER}.safetensors`
      const dir = await modelDir({ [name]: randomBytes(64 * 1024), 'config.json': '{}' })
      const events: PushProgress[] = []
      const { registry, logs } = registryFor(server)
      const record = await registry.push(request(`${ORG}/${PREFIX}-v1.0`, dir, { onProgress: (p) => events.push(p) }))
      expect(events.length).toBeGreaterThan(0)
      const seen = JSON.stringify([events, logs, record, await registry.readManifest(`${ORG}/${PREFIX}-v1.0`)])
      expect(seen).not.toContain(WRITER)
      expect(seen).toContain('weights-***.safetensors')
    },
  )

  it('listing needs read access only; checkAccess("read") accepts read tokens and refuses outsiders', async () => {
    const server = await startServer()
    await registryFor(server).registry.push(request(`${ORG}/${PREFIX}-v1.0`, await modelDir(smallModel())))
    for (const token of [READER, ORG_READER, FINE_READ]) {
      const { registry } = registryFor(server, { token })
      await registry.checkAccess('read')
      expect((await registry.listModels()).map((m) => m.id)).toEqual([`${ORG}/${PREFIX}-v1.0`])
    }
    const outsider = await rejection(registryFor(server, { token: OUTSIDER }).registry.checkAccess('read'))
    expect(outsider.code).toBe('AUTH')
    expect(outsider.message).toContain(`not a member of ${ORG}`)
  })
})

describe('resolveHfToken', () => {
  const files = (map: Record<string, string>) => (path: string) => map[path]

  it('takes HF_TOKEN, else HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token, and says which', () => {
    const home = '/home/u'
    const all = files({
      '/secrets/hf': 'hf_frompath\n',
      '/hfhome/token': 'hf_fromhome\n',
      '/home/u/.cache/huggingface/token': 'hf_fromcache\n',
    })
    expect(resolveHfToken({ HF_TOKEN: 'hf_env', HF_TOKEN_PATH: '/secrets/hf', HOME: home }, all)).toEqual({
      token: 'hf_env',
      source: 'HF_TOKEN',
    })
    expect(resolveHfToken({ HF_TOKEN_PATH: '/secrets/hf', HF_HOME: '/hfhome', HOME: home }, all)).toEqual({
      token: 'hf_frompath',
      source: 'the file /secrets/hf (HF_TOKEN_PATH)',
    })
    expect(resolveHfToken({ HF_HOME: '/hfhome', HOME: home }, all)).toEqual({
      token: 'hf_fromhome',
      source: 'the file /hfhome/token (HF_HOME)',
    })
    const fromCache = resolveHfToken({ HOME: home }, all)
    expect(fromCache).toEqual({
      token: 'hf_fromcache',
      source: 'the file /home/u/.cache/huggingface/token (saved by hf auth login)',
    })
    expect(fromCache?.source).not.toContain('hf_fromcache')
    // Missing or empty files fall through to the next place; nothing anywhere is undefined.
    expect(
      resolveHfToken(
        { HF_TOKEN: '', HF_TOKEN_PATH: '/nope', HF_HOME: '/empty', HOME: home },
        files({ '/empty/token': '\n' }),
      ),
    ).toBeUndefined()
    expect(resolveHfToken({ HF_TOKEN_PATH: '/nope', HOME: home }, all)?.token).toBe('hf_fromcache')
  })
})
