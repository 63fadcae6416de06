import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { checkWriteTarget, resolveWriteTarget, writeFileAtomic, writeOwnFileSync } from '../pipeline/fs-atomic.js'

const dirs: string[] = []
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true })
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-fs-atomic-'))
  dirs.push(dir)
  return dir
}

describe('writeFileAtomic', () => {
  it('replaces a plain file and keeps its permission bits', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'a.yml'), 'old\n')
    chmodSync(join(dir, 'a.yml'), 0o600)
    await writeFileAtomic(join(dir, 'a.yml'), 'new\n')
    expect(readFileSync(join(dir, 'a.yml'), 'utf8')).toBe('new\n')
    expect(statSync(join(dir, 'a.yml')).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['a.yml'])
  })

  it('writes through a chain of links to the final target, leaving every link in place', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'real'))
    writeFileSync(join(dir, 'real', 'compose.yml'), 'old\n')
    symlinkSync('real/compose.yml', join(dir, 'middle.yml'))
    symlinkSync('middle.yml', join(dir, 'compose.yml'))
    await writeFileAtomic(join(dir, 'compose.yml'), 'new\n')
    expect(readlinkSync(join(dir, 'compose.yml'))).toBe('middle.yml')
    expect(readlinkSync(join(dir, 'middle.yml'))).toBe('real/compose.yml')
    expect(readFileSync(join(dir, 'real', 'compose.yml'), 'utf8')).toBe('new\n')
    expect(readdirSync(join(dir, 'real'))).toEqual(['compose.yml'])
  })

  it('creates the target of a dangling link', async () => {
    const dir = tempDir()
    symlinkSync('later.env', join(dir, '.env'))
    expect(await resolveWriteTarget(join(dir, '.env'))).toEqual({ target: join(dir, 'later.env'), isLink: true })
    await writeFileAtomic(join(dir, '.env'), 'A=1\n')
    expect(lstatSync(join(dir, '.env')).isSymbolicLink()).toBe(true)
    expect(readFileSync(join(dir, 'later.env'), 'utf8')).toBe('A=1\n')
  })

  it('with a workspace, refuses a target outside it before writing anything', async () => {
    const ws = tempDir()
    const outside = tempDir()
    writeFileSync(join(outside, 'x.yml'), 'keep\n')
    symlinkSync(join(outside, 'x.yml'), join(ws, 'x.yml'))
    const error = await writeFileAtomic(join(ws, 'x.yml'), 'new\n', { workspace: ws }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ModelshipError)
    expect((error as ModelshipError).exitCode).toBe(2)
    expect((error as ModelshipError).message).toContain(
      `${join(ws, 'x.yml')} is a symlink to ${join(outside, 'x.yml')}`,
    )
    expect(readFileSync(join(outside, 'x.yml'), 'utf8')).toBe('keep\n')
    expect(readdirSync(outside)).toEqual(['x.yml'])
    // A link inside the workspace, and an outside one when allowed, pass.
    await expect(
      checkWriteTarget(join(ws, 'x.yml'), { workspace: ws, allowOutsideWorkspace: true }),
    ).resolves.toMatchObject({ isLink: true })
    writeFileSync(join(ws, 'y.yml'), 'y\n')
    symlinkSync('y.yml', join(ws, 'z.yml'))
    await expect(checkWriteTarget(join(ws, 'z.yml'), { workspace: ws })).resolves.toEqual({
      target: join(ws, 'y.yml'),
      isLink: true,
    })
  })

  it('reports a symlink loop as bad input', async () => {
    const dir = tempDir()
    symlinkSync('b', join(dir, 'a'))
    symlinkSync('a', join(dir, 'b'))
    await expect(writeFileAtomic(join(dir, 'a'), 'x')).rejects.toThrow(/too many levels of symbolic links/)
  })
})

describe('writeOwnFileSync (run state)', () => {
  it('creates its directory, replaces the file whole and leaves no temp file', () => {
    const dir = tempDir()
    const path = join(dir, 'runs', 'r1', 'state.json')
    writeOwnFileSync(path, '{"a":1}\n')
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n')
    const big = `${'é'.repeat(300_000)}\n`
    writeOwnFileSync(path, big)
    expect(readFileSync(path, 'utf8')).toBe(big)
    expect(statSync(path).mode & 0o777).toBe(0o644)
    expect(readdirSync(join(dir, 'runs', 'r1'))).toEqual(['state.json'])
  })

  it('on a failed rename, keeps what was there and removes its temp file', () => {
    const dir = tempDir()
    const path = join(dir, 'state.json')
    mkdirSync(join(path, 'occupied'), { recursive: true })
    expect(() => writeOwnFileSync(path, 'x\n')).toThrow(/EISDIR|ENOTEMPTY|EEXIST/)
    expect(readdirSync(dir)).toEqual(['state.json'])
    expect(readdirSync(path)).toEqual(['occupied'])
  })
})
