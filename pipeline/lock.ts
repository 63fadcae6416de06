import { open, readFile, rm, mkdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { ModelshipError } from './errors.js'

export interface LockInfo {
  pid: number
  host: string
  runId: string
  command: string
  startedAt: string
}

export interface Lock {
  readonly info: LockInfo
  release(): Promise<void>
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<stateDir>/lock` for the whole run (O_EXCL create). A lock held by a live process gives
 * LOCKED (exit 4) naming the holder; one whose process is gone on this host is taken over with a warning.
 */
export async function acquireLock(path: string, info: Omit<LockInfo, 'host' | 'pid'>, warn: (m: string) => void): Promise<Lock> {
  const full: LockInfo = { pid: process.pid, host: hostname(), ...info }
  await mkdir(dirname(path), { recursive: true })
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644)
      try {
        await handle.writeFile(`${JSON.stringify(full)}\n`)
      } finally {
        await handle.close()
      }
      return {
        info: full,
        release: async () => {
          const holder = await readLock(path)
          if (holder && holder.pid === full.pid && holder.runId === full.runId) await rm(path, { force: true })
        },
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const holder = await readLock(path)
    if (holder && (holder.host !== full.host || isProcessAlive(holder.pid))) {
      throw new ModelshipError(
        'LOCKED',
        `another modelship run holds the lock ${path}: run ${holder.runId} (${holder.command}), pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}`,
      )
    }
    warn(
      holder
        ? `taking over a stale lock: run ${holder.runId} (pid ${holder.pid} on ${holder.host}) is no longer running`
        : `taking over an unreadable lock file ${path}`,
    )
    await rm(path, { force: true })
  }
  throw new ModelshipError('LOCKED', `could not take the lock ${path}`)
}

export async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockInfo>
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return parsed as LockInfo
    return undefined
  } catch {
    return undefined
  }
}
