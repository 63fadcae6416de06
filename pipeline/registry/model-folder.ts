import { formatBytes } from '../format/bytes.js'
import type { Dirent } from 'node:fs'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import picomatch from 'picomatch'
import { ModelshipError } from '../engine/errors.js'

/** Training leftovers a push never uploads: Trainer checkpoints, TensorBoard runs, optimizer state, temp files. */
export const DEFAULT_PUSH_EXCLUDE: readonly string[] = [
  'checkpoint-*/',
  'runs/',
  'optimizer.pt',
  'scheduler.pt',
  'rng_state*.pth',
  '*.tmp',
]

/** A file a push uploads: its repo path (with `/`) and size in bytes. */
export interface PushFile {
  path: string
  size: number
}

/**
 * Whether a repo path is left out of a push, by the defaults plus `extra` globs (`trainer.exclude`).
 * Globs follow .gitignore habits: without a `/` they match a name at any depth, a trailing `/`
 * matches a folder (and everything below it), `**` crosses folders. Hidden names always are out.
 */
export function createPushFilter(extra: readonly string[] = []): (path: string, isDir: boolean) => boolean {
  const files: string[] = []
  const dirs: string[] = []
  for (const raw of [...DEFAULT_PUSH_EXCLUDE, ...extra]) {
    const glob = raw.trim().replace(/^\.\//, '')
    if (!glob) continue
    const isDirGlob = glob.endsWith('/')
    const body = isDirGlob ? glob.slice(0, -1) : glob
    const anchored = body.includes('/') ? body.replace(/^\//, '') : `**/${body}`
    ;(isDirGlob ? dirs : files).push(anchored)
    // A file glob also names folders (`runs` leaves out runs/ too), as in .gitignore.
    if (!isDirGlob) dirs.push(anchored)
  }
  const matchFile = picomatch(files, { dot: true })
  const matchDir = picomatch(dirs, { dot: true })
  return (path, isDir) => path.split('/').some((p) => p.startsWith('.')) || (isDir ? matchDir(path) : matchFile(path))
}

/**
 * The files of a model folder that a push uploads, sorted by path: every file below `dir`, symbolic
 * links followed, hidden files and folders (.git, .cache, editor files) and training leftovers
 * (DEFAULT_PUSH_EXCLUDE plus `exclude`) left out. One rule for every registry backend, for the push
 * step's summary and for the dry-run plan.
 */
export async function listPushFiles(dir: string, exclude: readonly string[] = []): Promise<PushFile[]> {
  const excluded = createPushFilter(exclude)
  const out: PushFile[] = []
  const walk = async (rel: string): Promise<void> => {
    let entries: Dirent[]
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true })
    } catch (e) {
      if (rel === '') {
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message
        throw new ModelshipError('BAD_INPUT', `model folder ${dir} cannot be read (${why})`, { cause: e })
      }
      throw e
    }
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name
      const target = entry.isSymbolicLink() ? statSync(join(dir, path)) : entry
      if (target.isDirectory()) {
        if (!excluded(path, true)) await walk(path)
      } else if (target.isFile() && !excluded(path, false)) {
        out.push({ path, size: 'size' in target ? target.size : statSync(join(dir, path)).size })
      }
    }
  }
  await walk('')
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** The repo paths of listPushFiles, for callers that only need names. */
export async function listModelFiles(dir: string, exclude: readonly string[] = []): Promise<string[]> {
  return (await listPushFiles(dir, exclude)).map((f) => f.path)
}

/** "12 files, 1.4 GiB": the one-line summary the push step and the dry-run plan print. */
export function describePushFiles(files: readonly PushFile[]): string {
  const bytes = files.reduce((n, f) => n + f.size, 0)
  return `${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(bytes)}`
}

export { formatBytes }
