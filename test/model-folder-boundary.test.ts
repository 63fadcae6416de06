// Issue 25 item 1: the model folder is a boundary. `push` and `release` upload regular files whose real path
// is inside the folder; a link leading out, a loop, a FIFO, socket or device is refused before the first byte
// is sent (checked with the test Hub server: no request at all), naming the entry and where it leads. A link
// that stays inside uploads the file it names. The local registry never writes through a link in its tree.
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { createHfRegistry } from '../pipeline/registry/hf/index.js'
import { createLocalRegistry } from '../pipeline/registry/local.js'
import { listPushFiles, scanModelFolder } from '../pipeline/registry/model-folder.js'
import { startHubServer, type HubServer } from './hub-server/index.js'
import { cleanup, cliEnv, makeWorkspace, REPO, runCli, snapshotTree } from './support/workspace.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

const ORG = 'pratikoai'
const TOKEN = `hf_boundary${randomBytes(12).toString('hex')}`

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanups.push(() => cleanup(dir))
  return dir
}

/** A model folder: config.json and weights, plus what `extra` adds to it. */
function modelFolder(extra: (dir: string) => void = () => {}): string {
  const dir = tempDir('modelship-folder-')
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'chitchat' } }))
  writeFileSync(join(dir, 'model.safetensors'), randomBytes(4096))
  extra(dir)
  return dir
}

async function hub(): Promise<HubServer> {
  const server = await startHubServer({})
  server.addToken(TOKEN, { user: 'alice', orgs: [{ name: ORG, role: 'write' }] })
  onTestFinished(() => server.close())
  return server
}

const requestsOf = (server: HubServer): number => Object.values(server.stats.requests).reduce((a, b) => a + b, 0)

async function refusal(p: Promise<unknown>): Promise<ModelshipError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e, 'expected a refusal').toBeInstanceOf(ModelshipError)
  expect((e as ModelshipError).exitCode).toBe(2)
  return e as ModelshipError
}

describe('what a push uploads from a model folder', () => {
  const outside = (): string => {
    const dir = tempDir('modelship-elsewhere-')
    writeFileSync(join(dir, 'secret.txt'), 'not part of any model')
    return dir
  }

  it.each([
    [
      'a link to a file outside (/etc/passwd)',
      (dir: string) => symlinkSync('/etc/passwd', join(dir, 'tokenizer.json')),
      /tokenizer\.json -> \/etc\/passwd leads out of the model folder \(to \/etc\/passwd\)/,
    ],
    [
      'a link to a folder outside (/etc)',
      (dir: string) => symlinkSync('/etc', join(dir, 'extra')),
      /extra -> \/etc leads out of the model folder/,
    ],
    [
      'a relative link climbing out',
      (dir: string) => {
        const o = outside()
        mkdirSync(join(dir, 'sub'))
        symlinkSync(join('..', '..', o.split('/').at(-1)!, 'secret.txt'), join(dir, 'sub', 'vocab.txt'))
      },
      /sub\/vocab\.txt -> \.\.\/\.\.\/\S+\/secret\.txt leads out of the model folder/,
    ],
    [
      'a link back up to the folder (a loop while walking)',
      (dir: string) => {
        mkdirSync(join(dir, 'sub'))
        symlinkSync('..', join(dir, 'sub', 'again'))
      },
      /sub\/again -> \.\. is a symbolic link loop/,
    ],
    [
      'a link to itself',
      (dir: string) => symlinkSync('self.json', join(dir, 'self.json')),
      /self\.json -> self\.json is a symbolic link loop/,
    ],
    [
      'a dangling link',
      (dir: string) => symlinkSync('gone.bin', join(dir, 'weights.bin')),
      /weights\.bin -> gone\.bin leads to nothing \(ENOENT\)/,
    ],
    [
      'a FIFO',
      (dir: string) => execFileSync('mkfifo', [join(dir, 'pipe.bin')]),
      /pipe\.bin is a FIFO, not a regular file/,
    ],
  ])('refuses %s, naming the entry and where it leads', async (_name, make, message) => {
    const dir = modelFolder(make)
    const e = await refusal(listPushFiles(dir))
    expect(e.message).toMatch(message)
    expect(e.message).toMatch(/nothing was sent$/)
  })

  it('refuses a socket, and names every bad entry at once', async () => {
    const dir = modelFolder((d) => symlinkSync('/etc/hostname', join(d, 'a.txt')))
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(join(dir, 'b.sock'), resolve))
    onTestFinished(() => void server.close())
    const e = await refusal(listPushFiles(dir))
    expect(e.message).toMatch(/a\.txt -> \/etc\/hostname leads out of the model folder .*\(and 1 more\)/)
    expect(e.details).toMatch(/^b\.sock is a socket, not a regular file$/)
  })

  it('a link that stays inside uploads the file it names; links in left-out folders are not looked at', async () => {
    const dir = modelFolder((d) => {
      mkdirSync(join(d, 'blobs'))
      writeFileSync(join(d, 'blobs', 'tok'), '{"tokenizer": true}')
      symlinkSync(join('blobs', 'tok'), join(d, 'tokenizer.json'))
      symlinkSync('blobs', join(d, 'store'))
      mkdirSync(join(d, '.git'))
      symlinkSync('/etc/passwd', join(d, '.git', 'config'))
      mkdirSync(join(d, 'checkpoint-10'))
      symlinkSync('/etc', join(d, 'checkpoint-10', 'etc'))
    })
    const files = await scanModelFolder(dir)
    expect(files.map((f) => f.path)).toEqual([
      'blobs/tok',
      'config.json',
      'model.safetensors',
      'store/tok',
      'tokenizer.json',
    ])
    expect(files.find((f) => f.path === 'tokenizer.json')?.source).toBe(join(dir, 'blobs', 'tok'))
  })
})

describe('push to the Hub: nothing is sent from a folder with a link leading out', () => {
  it('registry.push refuses before its first request', async () => {
    const server = await hub()
    const registry = createHfRegistry({ endpoint: server.url, token: TOKEN, org: ORG, prefix: 'intent-classifier' })
    const dir = modelFolder((d) => symlinkSync('/etc/passwd', join(d, 'tokenizer.json')))
    const e = await refusal(
      registry.push({
        modelId: `${ORG}/intent-classifier-v1.0`,
        dir,
        extraFiles: [{ path: 'README.md', content: '# card\n' }],
        commitMessage: 'push',
      }),
    )
    expect(e.message).toMatch(/tokenizer\.json -> \/etc\/passwd leads out of the model folder/)
    expect(requestsOf(server)).toBe(0)
    expect(server.stats.lfsBytesReceived).toBe(0)
  })

  it('`modelship push` exits 2 with one line naming the entry, sends nothing, and --json answers', async () => {
    const server = await hub()
    const ws = makeWorkspace({ config: { registry: 'hf', hf_endpoint: server.url } })
    cleanups.push(() => cleanup(ws))
    const dir = modelFolder((d) => symlinkSync('/etc/passwd', join(d, 'tokenizer.json')))
    const before = snapshotTree(ws)
    const r = await runCli(['push', dir, '1.0', '--yes', '--json', '--workspace', ws], {
      env: cliEnv({ HF_TOKEN: TOKEN }),
    })
    expect(r.code, r.stderr).toBe(2)
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/tokenizer\.json -> \/etc\/passwd leads out of the model folder/)
    expect(r.stderr).not.toContain('root:x:0:0')
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { message: /tokenizer\.json/ } })
    expect(requestsOf(server)).toBe(0)
    expect(snapshotTree(ws)).toEqual(before)
  })

  it('a link that stays inside pushes the bytes of the file it names', async () => {
    const server = await hub()
    const registry = createHfRegistry({ endpoint: server.url, token: TOKEN, org: ORG, prefix: 'intent-classifier' })
    const tokenizer = '{"tokenizer": "inside"}'
    const dir = modelFolder((d) => {
      mkdirSync(join(d, 'blobs'))
      writeFileSync(join(d, 'blobs', 'tok'), tokenizer)
      symlinkSync(join('blobs', 'tok'), join(d, 'tokenizer.json'))
    })
    const pushed = await registry.push({
      modelId: `${ORG}/intent-classifier-v1.0`,
      dir,
      extraFiles: [{ path: 'README.md', content: '# card\n' }],
      commitMessage: 'push',
    })
    const sha = createHash('sha256').update(tokenizer).digest('hex')
    expect(pushed.manifest['tokenizer.json']).toEqual({ size: tokenizer.length, sha256: sha })
    expect(await registry.readFile(`${ORG}/intent-classifier-v1.0`, 'tokenizer.json')).toBe(tokenizer)
  })
})

describe('a release whose trainer links its output elsewhere', () => {
  it('is refused at push (exit 2, the entry named), with nothing in the registry', async () => {
    const ws = makeWorkspace({
      config: {
        trainer: {
          command: ['python3', join(REPO, 'test', 'fixtures', 'trainers', 'hostile_trainer.py')],
          args: { link: 'tokenizer.json=/etc/passwd' },
        },
      },
    })
    cleanups.push(() => cleanup(ws))
    const r = await runCli(['release', '--yes', '--no-deploy', '--workspace', ws])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^error: .*tokenizer\.json -> \/etc\/passwd leads out of the model folder/m)
    expect(r.stderr).not.toContain('root:x:0:0')
    const registry = createLocalRegistry({
      root: join(ws, '.modelship', 'registry'),
      org: ORG,
      prefix: 'intent-classifier',
      now: () => new Date(),
    })
    expect(await registry.listModels()).toEqual([])
  })
})

describe('the local registry never writes through a symlink placed in its own tree', () => {
  it.each([
    ['the org folder', (root: string, away: string) => symlinkSync(away, join(root, ORG))],
    [
      'the repo folder',
      (root: string, away: string) => {
        mkdirSync(join(root, ORG))
        symlinkSync(away, join(root, ORG, 'intent-classifier-v1.0'))
      },
    ],
  ])('a link as %s is refused and where it leads stays untouched', async (_name, plant) => {
    const root = tempDir('modelship-store-')
    const away = tempDir('modelship-away-')
    plant(root, away)
    const registry = createLocalRegistry({ root, org: ORG, prefix: 'intent-classifier', now: () => new Date() })
    const e = await refusal(
      registry.push({
        modelId: `${ORG}/intent-classifier-v1.0`,
        dir: modelFolder(),
        extraFiles: [{ path: 'README.md', content: '# card\n' }],
        commitMessage: 'push',
      }),
    )
    expect(e.message).toMatch(/is a symbolic link \(to \S+\); modelship never writes through one there/)
    expect(snapshotTree(away)).toEqual(new Map())
  })
})
