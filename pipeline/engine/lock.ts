import { randomBytes } from 'node:crypto'
import { linkSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { readTextIfAny } from '../fs-atomic.js'
import { ModelshipError } from './errors.js'

export interface LockInfo {
  pid: number
  /**
   * The holder's process start time (Linux: /proc/<pid>/stat field 22), so a reused pid is not taken for the holder.
   */
  pidStart?: string
  host: string
  runId: string
  command: string
  startedAt: string
}

export interface Lock {
  readonly info: LockInfo
  release(): Promise<void>
}

/** The start time of a process, or undefined where /proc is not there. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** Whether a process exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isHolderAlive(holder: LockInfo): boolean {
  if (!isProcessAlive(holder.pid)) return false
  if (holder.pidStart === undefined) return true
  const now = processStartTime(holder.pid)
  return now === undefined || now === holder.pidStart
}

const unique = (): string => `${process.pid}-${randomBytes(4).toString('hex')}`

/**
 * Takes `<stateDir>/lock` for the whole run. The content is written to a temp file first and linked
 * into place (link fails if the lock exists), so a lock file is never seen empty. A lock held by a
 * live process gives LOCKED (exit 4) naming the holder. One whose process is gone on this host (or
 * whose pid now belongs to another program) is taken over by renaming it to a unique name and checking
 * that the renamed file is the stale one; a fresh lock renamed by mistake is put back.
 */
export async function acquireLock(
  path: string,
  info: Omit<LockInfo, 'host' | 'pid' | 'pidStart'>,
  warn: (m: string) => void,
): Promise<Lock> {
  const pidStart = processStartTime(process.pid)
  const full: LockInfo = { pid: process.pid, ...(pidStart ? { pidStart } : {}), host: hostname(), ...info }
  const content = `${JSON.stringify(full)}\n`
  // Synchronous calls: each is microseconds, where fs/promises would wait on the thread pool (fs-atomic.ts).
  mkdirSync(dirname(path), { recursive: true })
  const isDir = lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true
  if (isDir)
    throw new ModelshipError('BAD_INPUT', `${path}: the lock path is a directory`, {
      hint: `remove the directory ${path}; modelship keeps a lock file there`,
    })
  const tmp = `${path}.${unique()}.tmp`
  writeFileSync(tmp, content, { mode: 0o644 })
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        linkSync(tmp, path)
        return {
          info: full,
          release: async () => {
            const holder = await readLock(path)
            if (holder && holder.pid === full.pid && holder.runId === full.runId) rmSync(path, { force: true })
          },
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      }
      const text = readTextUnlessGone(path)
      if (text === undefined) continue
      const holder = parseLock(text)
      if (holder && (holder.host !== full.host || isHolderAlive(holder))) {
        throw new ModelshipError(
          'LOCKED',
          `another modelship run holds the lock ${path}: run ${holder.runId} (${holder.command}), pid ${holder.pid} ` +
            `on ${holder.host}, since ${holder.startedAt}`,
        )
      }
      // Stale (or unreadable: a lock is never written in place, so garbage is not a holder mid-write).
      const aside = `${path}.stale-${unique()}`
      try {
        renameSync(path, aside)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw e
      }
      const moved = readTextIfAny(aside)
      if (moved !== text) {
        // Another run replaced the stale lock between our read and our rename: give its lock back.
        try {
          linkSync(aside, path)
        } catch {
          // someone took the lock meanwhile: theirs stands
        }
        rmSync(aside, { force: true })
        continue
      }
      rmSync(aside, { force: true })
      warn(
        holder
          ? `taking over a stale lock: run ${holder.runId} (pid ${holder.pid} on ${holder.host}) is no longer running`
          : `taking over an unreadable lock file ${path}`,
      )
    }
    throw new ModelshipError('LOCKED', `could not take the lock ${path}`)
  } finally {
    rmSync(tmp, { force: true })
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockInfo>
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return parsed as LockInfo
    return undefined
  } catch {
    return undefined
  }
}

export async function readLock(path: string): Promise<LockInfo | undefined> {
  const text = readTextIfAny(path)
  return text === undefined ? undefined : parseLock(text)
}

/** The file's text; undefined when it is gone (ENOENT); other errors are thrown. */
function readTextUnlessGone(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}
