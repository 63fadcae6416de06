import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, cliEnv, runCli } from './support/workspace.js'

// The CLI runs its bundle with a V8 code cache under the temp directory (scripts/compile-cache.ts).
// Each test points TMPDIR at a directory of its own.
const dirs: string[] = []
afterEach(() => {
  while (dirs.length) cleanup(dirs.pop()!)
})

function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-cc-test-'))
  dirs.push(dir)
  return dir
}

const cacheDirOf = (root: string): string => join(root, `modelship-compile-cache-${process.getuid?.() ?? 'user'}`)

function cacheFiles(root: string): { bin: string; kinds: string } {
  const names = readdirSync(cacheDirOf(root)).sort()
  expect(names).toHaveLength(2)
  const [bin, kinds] = [names.find((n) => n.endsWith('.bin'))!, names.find((n) => n.endsWith('.kinds.json'))!]
  expect(bin).toMatch(/^[0-9a-f]+-[0-9a-f]{8}-v\d+\.\d+\.\d+-\w+\.bin$/)
  return { bin: join(cacheDirOf(root), bin), kinds: join(cacheDirOf(root), kinds) }
}

const kindsIn = (path: string): string[] => JSON.parse(readFileSync(path, 'utf8')) as string[]

describe('compile cache', () => {
  it('a first run writes it (0700 directory, 0600 files); later runs of that kind only read it', async () => {
    const root = tempRoot()
    const env = cliEnv({ TMPDIR: root })
    const first = await runCli(['history', '--help'], { env })
    expect(first.code).toBe(0)
    const { bin, kinds } = cacheFiles(root)
    expect(statSync(cacheDirOf(root)).mode & 0o777).toBe(0o700)
    expect(statSync(bin).mode & 0o777).toBe(0o600)
    expect(kindsIn(kinds)).toEqual(['history'])
    const written = statSync(bin)

    const again = await runCli(['history', '--help'], { env })
    expect(again).toEqual(first)
    const after = statSync(bin)
    expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs])

    // Another kind of run adds what it compiled, keeping the kinds noted before.
    expect((await runCli(['runs', '--help'], { env })).code).toBe(0)
    expect(kindsIn(kinds)).toEqual(['history', 'runs'])
    expect(statSync(bin).ino).not.toBe(written.ino)
  })

  it('writing one removes the caches of other builds unused for a day, and keeps recent ones', async () => {
    const root = tempRoot()
    const dir = cacheDirOf(root)
    mkdirSync(dir, { mode: 0o700 })
    const other = (name: string, ageHours: number): void => {
      writeFileSync(join(dir, name), 'x')
      const at = new Date(Date.now() - ageHours * 3600_000)
      utimesSync(join(dir, name), at, at)
    }
    other('0123456789abcdef0123456789abcdef-v20.0.0-x64.bin', 48)
    other('0123456789abcdef0123456789abcdef-v20.0.0-x64.kinds.json', 48)
    other('fedcba9876543210fedcba9876543210-v20.0.0-x64.bin', 1)
    expect((await runCli(['history', '--help'], { env: cliEnv({ TMPDIR: root }) })).code).toBe(0)
    const names = readdirSync(dir)
    expect(names).toContain('fedcba9876543210fedcba9876543210-v20.0.0-x64.bin')
    expect(names.filter((n) => n.startsWith('0123'))).toEqual([])
    expect(names.filter((n) => !n.startsWith('fedc'))).toHaveLength(2)
  })

  it('a damaged cache changes nothing the user sees and is made again', async () => {
    const root = tempRoot()
    const env = cliEnv({ TMPDIR: root })
    const first = await runCli(['history', '--help'], { env })
    const { bin, kinds } = cacheFiles(root)
    const good = readFileSync(bin)
    writeFileSync(bin, Buffer.alloc(good.length, 0x5a))
    const again = await runCli(['history', '--help'], { env })
    expect(again).toEqual(first)
    expect(readFileSync(bin).equals(Buffer.alloc(good.length, 0x5a))).toBe(false)
    expect(kindsIn(kinds)).toEqual(['history'])
  })

  it(
    'is not used in a directory others may write, nor after a failed run, nor with ' + 'NODE_DISABLE_COMPILE_CACHE',
    async () => {
      const open = tempRoot()
      mkdirSync(cacheDirOf(open), { mode: 0o777 })
      chmodSync(cacheDirOf(open), 0o777)
      expect((await runCli(['history', '--help'], { env: cliEnv({ TMPDIR: open }) })).code).toBe(0)
      expect(readdirSync(cacheDirOf(open))).toEqual([])

      const failed = tempRoot()
      const bad = await runCli(['history', '--no-such-flag'], { env: cliEnv({ TMPDIR: failed }) })
      expect(bad.code).toBe(2)
      expect(readdirSync(cacheDirOf(failed))).toEqual([])

      const off = tempRoot()
      const r = await runCli(['history', '--help'], { env: cliEnv({ TMPDIR: off, NODE_DISABLE_COMPILE_CACHE: '1' }) })
      expect(r.code).toBe(0)
      expect(readdirSync(off)).toEqual([])
    },
  )
})
