import { formatBytes } from '../format/bytes.js'
import type { Dirent, Stats } from 'node:fs'
import { readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import picomatch from 'picomatch'
import { ModelshipError } from '../engine/errors.js'
import { specialKindOf } from '../path-kind.js'

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

/** A file of a model folder as the backends read it: also the real path its bytes come from. */
export interface FolderFile extends PushFile {
  /**
   * The absolute real path of the file (a symbolic link inside the folder resolved to the file it names):
   * what every backend reads, so a link swapped after the check cannot make a push read elsewhere.
   */
  source: string
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

/** Entries a model folder may have (links followed): a model is a handful of files. */
const MAX_ENTRIES = 100_000

/**
 * The files of a model folder that a push uploads, sorted by path: every regular file whose real path is
 * inside `dir`, hidden files and folders (.git, .cache, editor files) and training leftovers
 * (DEFAULT_PUSH_EXCLUDE plus `exclude`) left out. One rule for every registry backend, for the push step's
 * summary and for the dry-run plan.
 *
 * The folder is a boundary (issue 25): it is often the output of a trainer someone else wrote, and its
 * files go to the registry. A symbolic link that leads out of it (`tokenizer.json -> /etc/passwd`), a link
 * loop, a dangling link, a FIFO, socket or device is refused — every one named with where it leads — before
 * anything is read or sent. A link that stays inside uploads the file it names.
 */
export async function listPushFiles(dir: string, exclude: readonly string[] = []): Promise<PushFile[]> {
  return (await scanModelFolder(dir, exclude)).map(({ path, size }) => ({ path, size }))
}

/** listPushFiles with each file's real path: what the registry backends read. */
export async function scanModelFolder(dir: string, exclude: readonly string[] = []): Promise<FolderFile[]> {
  const excluded = createPushFilter(exclude)
  const out: FolderFile[] = []
  const problems: string[] = []
  let seen = 0
  let root: string
  try {
    root = realpathSync(dir)
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message
    throw new ModelshipError('BAD_INPUT', `model folder ${dir} cannot be read (${why})`, { cause: e })
  }
  const inside = (real: string): boolean => {
    const rel = relative(root, real)
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
  }
  // `realDirs`: the real paths of the folders on the way down, to tell a link back up (a loop) from a link across.
  const walk = (rel: string, realDirs: readonly string[]): void => {
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
      // Links between sibling folders can make the walk exponential without any loop: bounded here.
      if (++seen > MAX_ENTRIES)
        throw new ModelshipError('BAD_INPUT', `model folder ${dir}: more than ${MAX_ENTRIES} entries; nothing was sent`)
      const path = rel ? `${rel}/${entry.name}` : entry.name
      const full = join(dir, path)
      let real = join(realDirs.at(-1)!, entry.name)
      let target: Stats | Dirent = entry
      if (entry.isSymbolicLink()) {
        const leadsTo = readlinkSync(full)
        try {
          real = realpathSync(full)
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code
          if (!excluded(path, false) && !excluded(path, true))
            problems.push(
              code === 'ELOOP'
                ? `${path} -> ${leadsTo} is a symbolic link loop`
                : `${path} -> ${leadsTo} leads to nothing (${code ?? (e as Error).message})`,
            )
          continue
        }
        target = statSync(real)
        if (excluded(path, target.isDirectory())) continue
        if (!inside(real)) {
          problems.push(`${path} -> ${leadsTo} leads out of the model folder (to ${real})`)
          continue
        }
        if (target.isDirectory() && realDirs.includes(real)) {
          problems.push(`${path} -> ${leadsTo} is a symbolic link loop (it leads back to ${real})`)
          continue
        }
      }
      if (target.isDirectory()) {
        if (!excluded(path, true)) walk(path, [...realDirs, real])
      } else if (!excluded(path, false)) {
        if (target.isFile()) {
          const size = 'size' in target ? target.size : statSync(real).size
          out.push({ path, size, source: real })
        } else problems.push(`${path} is ${specialKindOf(target)}, not a regular file`)
      }
    }
  }
  walk('', [root])
  if (problems.length > 0) {
    const [first, ...rest] = problems
    throw new ModelshipError(
      'BAD_INPUT',
      `model folder ${dir}: ${first}${rest.length ? ` (and ${rest.length} more)` : ''}; nothing was sent`,
      {
        ...(rest.length ? { details: rest.join('\n') } : {}),
        hint: 'a push uploads only regular files inside the model folder: copy the file in instead of linking to it',
      },
    )
  }
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
