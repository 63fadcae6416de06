import { type Dirent, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { isProcessAlive } from './lock.js'

/**
 * Temp files modelship writes before a rename (`.<name>.<pid>.<hex>.tmp`, lock temps) and staging dirs
 * (`.partial-<pid>`).
 */
const LEFTOVER = new RegExp(
  /(^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$)|/.source +
    /(^lock\.(\d+)-[0-9a-f]{8}\.tmp$)|(^lock\.stale-(\d+)-[0-9a-f]{8}$)|(\.partial-(\d+)$)/.source,
)

/**
 * Removes what a killed run left half-written: temp files and staging directories whose writer is
 * gone (the pid in their name is dead). Called with the lock held, so no live run is writing them.
 * `deepDirs` are walked (the state directory); `flatDirs` only at their top (the user's folders).
 */
export async function removeLeftovers(deepDirs: readonly string[], flatDirs: readonly string[]): Promise<string[]> {
  const removed: string[] = []
  const visit = async (dir: string, deep: boolean, depth: number): Promise<void> => {
    // Synchronous: a workspace with many runs has many directories, and each async readdir waits on the
    // thread pool (fs-atomic.ts).
    let entries: Dirent[] = []
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      // gone or unreadable: nothing to clean
    }
    for (const e of entries) {
      const full = join(dir, e.name)
      const m = LEFTOVER.exec(e.name)
      const pid = m ? Number(m[2] ?? m[4] ?? m[6] ?? m[8]) : undefined
      if (pid !== undefined && pid !== process.pid && !isProcessAlive(pid)) {
        rmSync(full, { recursive: true, force: true })
        removed.push(full)
      } else if (deep && e.isDirectory() && depth < 6) await visit(full, deep, depth + 1)
    }
  }
  for (const d of deepDirs) await visit(d, true, 0)
  for (const d of flatDirs) await visit(d, false, 0)
  return removed
}
