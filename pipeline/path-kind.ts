import { accessSync, constants, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'

// Every path a command reads is checked for the kind it needs before any work (issue 25 item 2, issue 23
// item 1): a folder where a file belongs failed as EISDIR deep in a step, after the run had written state.

export type PathKind = 'file' | 'folder'

/**
 * What is wrong with `path` as a readable `kind`, as the end of a sentence naming it ("is a directory,
 * not a file"), or undefined when nothing is. Symbolic links are followed; a dangling one or a loop is named.
 */
export function pathKindProblem(path: string, kind: PathKind): string | undefined {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ELOOP') return 'is a symbolic link loop'
    if (code === 'ENOENT') {
      const link = lstatSync(path, { throwIfNoEntry: false })
      return link?.isSymbolicLink()
        ? `is a symbolic link to ${readlinkSync(path)}, which does not exist`
        : 'no such file'
    }
    if (code === 'ENOTDIR') return 'no such file (a part of its path is a file)'
    return `cannot be read (${code ?? (e as Error).message})`
  }
  if (kind === 'file' && st.isDirectory()) return 'is a directory, not a file'
  if (kind === 'folder' && !st.isDirectory()) return 'is not a directory'
  if (kind === 'file' && !st.isFile()) return `is ${specialKindOf(st)}, not a regular file`
  try {
    accessSync(path, kind === 'folder' ? constants.R_OK | constants.X_OK : constants.R_OK)
  } catch (e) {
    return `is not readable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`
  }
  return undefined
}

/** "a FIFO", "a socket", "a device": what a non-regular, non-directory entry is. */
export function specialKindOf(st: { isFIFO(): boolean; isSocket(): boolean; isSymbolicLink(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  if (st.isSymbolicLink()) return 'a symbolic link'
  return 'a device'
}

/**
 * Where a path modelship writes below (`.modelship/`, a local registry) really leads when that is outside
 * `workspace`, following every symbolic link on the way (of a path that may not exist yet: its nearest
 * existing parent); undefined when it stays inside.
 */
export function leadsOutside(path: string, workspace: string): string | undefined {
  const root = realOr(resolve(workspace))
  let existing = resolve(path)
  let rest = ''
  for (;;) {
    const real = realpathOrUndefined(existing)
    if (real !== undefined) {
      const target = rest ? resolve(real, rest) : real
      const rel = relative(root, target)
      return rel.startsWith('..') || isAbsolute(rel) ? target : undefined
    }
    const parent = dirname(existing)
    if (parent === existing) return undefined
    rest = rest ? join(basename(existing), rest) : basename(existing)
    existing = parent
  }
}

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

function realOr(path: string): string {
  return realpathOrUndefined(path) ?? path
}
