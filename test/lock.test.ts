import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { acquireLock, processStartTime, readLock } from '../pipeline/engine/lock.js'
import { runNodeScript } from './support/node-script.js'

const dir = mkdtempSync(join(tmpdir(), 'modelship-lock-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const lockModule = pathToFileURL(resolve('dist/esm/pipeline/engine/lock.js')).href

/**
 * A contender: waits for the shared start instant, tries the lock once and marks that it tried; a
 * winner holds the lock until both contenders have tried (so a slow starter cannot win after a release).
 */
const contender = (path: string, startAt: number, id: string): string => `
  const { acquireLock } = await import(${JSON.stringify(lockModule)})
  const { existsSync, writeFileSync } = await import('node:fs')
  const tried = (who) => ${JSON.stringify(path)} + '.' + who + '.tried'
  while (Date.now() < ${startAt}) {}
  try {
    const lock = await acquireLock(
      ${JSON.stringify(path)}, { runId: '${id}', command: 'test', startedAt: 'now' }, () => {},
    )
    writeFileSync(tried('${id}'), '')
    process.stdout.write('won')
    const deadline = Date.now() + 20000
    while (!(existsSync(tried('a')) && existsSync(tried('b'))) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5))
    }
    await lock.release()
  } catch (e) {
    writeFileSync(tried('${id}'), '')
    process.stdout.write(e.code === 'LOCKED' ? 'locked' : 'error ' + e.message)
  }
`

async function race(path: string): Promise<string[]> {
  const startAt = Date.now() + 1500
  mkdirSync(dirname(path), { recursive: true })
  const runs = await Promise.all(
    ['a', 'b'].map((id) => runNodeScript(contender(path, startAt, id), { env: process.env })),
  )
  for (const id of ['a', 'b']) rmSync(`${path}.${id}.tried`, { force: true })
  return runs.map((r) => r.stdout + r.stderr).sort()
}

describe('the lock', () => {
  it('two runs started in the same millisecond: exactly one wins, 20 times out of 20', async () => {
    for (const batch of [0, 5, 10, 15]) {
      const trials = [0, 1, 2, 3, 4].map((i) => race(join(dir, `fresh-${batch + i}`, 'lock')))
      for (const outcome of await Promise.all(trials)) expect(outcome).toEqual(['locked', 'won'])
    }
  }, 120_000)

  it('the same race over a stale lock: exactly one takes it over, 20 times out of 20', async () => {
    const staleRace = async (trial: number): Promise<void> => {
      const path = join(dir, `stale-${trial}`, 'lock')
      mkdirSync(join(dir, `stale-${trial}`))
      writeFileSync(
        path,
        JSON.stringify({ pid: 2 ** 22 + 777, host: hostname(), runId: 'dead', command: 'release', startedAt: 'then' }),
      )
      expect(await race(path)).toEqual(['locked', 'won'])
      // no temp or set-aside files are left behind
      expect(readdirSync(join(dir, `stale-${trial}`))).toEqual([])
    }
    for (const batch of [0, 5, 10, 15]) await Promise.all([0, 1, 2, 3, 4].map((i) => staleRace(batch + i)))
  }, 120_000)

  it('a live pid whose start time differs (pid reused by another program) is a stale holder', async () => {
    const path = join(dir, 'reused', 'lock')
    mkdirSync(join(dir, 'reused'))
    writeFileSync(
      path,
      JSON.stringify({
        pid: process.pid,
        pidStart: '1',
        host: hostname(),
        runId: 'old',
        command: 'release',
        startedAt: 'then',
      }),
    )
    const warnings: string[] = []
    const lock = await acquireLock(path, { runId: 'new', command: 'test', startedAt: 'now' }, (m) => warnings.push(m))
    expect(warnings).toEqual([expect.stringContaining('taking over a stale lock: run old')])
    expect((await readLock(path))?.pidStart).toBe(processStartTime(process.pid))
    await lock.release()
  })

  it('a live holder with its own start time holds the lock (exit 4)', async () => {
    const path = join(dir, 'held', 'lock')
    mkdirSync(join(dir, 'held'))
    writeFileSync(
      path,
      JSON.stringify({
        pid: process.pid,
        pidStart: processStartTime(process.pid),
        host: hostname(),
        runId: 'r-held',
        command: 'release',
        startedAt: 'then',
      }),
    )
    const err = await acquireLock(path, { runId: 'new', command: 'test', startedAt: 'now' }, () => {}).catch(
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ code: 'LOCKED', exitCode: 4 })
  })

  it('a lock path that is a directory is a clear error (exit 2)', async () => {
    const path = join(dir, 'isdir', 'lock')
    mkdirSync(path, { recursive: true })
    const err = await acquireLock(path, { runId: 'new', command: 'test', startedAt: 'now' }, () => {}).catch(
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ exitCode: 2, message: `${path}: the lock path is a directory` })
  })
})
