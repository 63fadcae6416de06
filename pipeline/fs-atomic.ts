import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  createReadStream,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { ModelshipError } from './engine/errors.js'

/** Where writing `path` lands: the end of its symlink chain (`path` itself when it is no link). */
export interface WriteTarget {
  /** Absolute path of the file that receives the bytes. */
  target: string
  /** True when `path` is a symbolic link (the link itself is kept). */
  isLink: boolean
}

export interface WriteOptions {
  /** When set, a target (after following links) outside this directory is refused. */
  workspace?: string
  /** Lets a target outside `workspace` be written (config `allow_outside_workspace`). */
  allowOutsideWorkspace?: boolean
  /** The permission bits of a new file (default 0644; an existing file keeps its own). */
  mode?: number
}

// The writers below make their system calls synchronously, behind async signatures. The files are small
// (compose files, reports, a model's card): each call takes microseconds, while the same call on
// fs/promises is a round trip through libuv's thread pool, ~0.1 ms of waiting on this 2-core machine
// (measured: an async stat 0.10–0.13 ms, a sync one 0.006–0.017). A write of a user's file is ~10 calls.

/** Follows `path`'s symlinks, including dangling ones, to the file a write should replace. */
export async function resolveWriteTarget(path: string): Promise<WriteTarget> {
  return resolveWriteTargetSync(path)
}

function resolveWriteTargetSync(path: string): WriteTarget {
  let current = resolve(path)
  for (let hops = 0; hops <= 40; hops++) {
    const st = lstatSync(current, { throwIfNoEntry: false })
    if (!st?.isSymbolicLink()) return { target: current, isLink: hops > 0 }
    current = resolve(dirname(current), readlinkSync(current))
  }
  throw new ModelshipError('BAD_INPUT', `${path}: too many levels of symbolic links`)
}

/** The real path of a file that may not exist yet: its directory's real path plus its name. */
function realPathOf(path: string): string {
  return join(realPathOr(dirname(path)), basename(path))
}

function realPathOr(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/**
 * Resolves `path` for a write and, with `workspace`, refuses (BAD_INPUT, exit 2, naming the link
 * and its target) a target outside the workspace unless `allowOutsideWorkspace`. Call it before
 * the first write of a batch, so a refused file leaves every file untouched.
 */
export async function checkWriteTarget(path: string, o: WriteOptions = {}): Promise<WriteTarget> {
  return checkWriteTargetSync(path, o)
}

function checkWriteTargetSync(path: string, o: WriteOptions): WriteTarget {
  const resolved = resolveWriteTargetSync(path)
  if (o.workspace === undefined || o.allowOutsideWorkspace === true) return resolved
  const root = realPathOr(resolve(o.workspace))
  const rel = relative(root, realPathOf(resolved.target))
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    const what = resolved.isLink ? `${path} is a symlink to ${resolved.target}, which is` : `${path} is`
    const message = `${what} outside the workspace ${o.workspace}; modelship does not write there`
    const hint =
      'set allow_outside_workspace: true in modelship.yaml to allow it, or replace the link with a copy of the file'
    throw new ModelshipError('BAD_INPUT', message, { hint })
  }
  return resolved
}

/**
 * Writes `content` to `path` atomically: a temp file beside the target, fsync, then rename over it.
 * A symlink is written through: the temp file goes beside the link's TARGET and replaces it, so the
 * link stays a link. With `workspace`, a target outside it is refused (see {@link checkWriteTarget}).
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, o: WriteOptions = {}): Promise<void> {
  const { target } = checkWriteTargetSync(path, o)
  // Keep the target's permission bits: a compose file that was 0644 stays 0644.
  const existing = statSync(target, { throwIfNoEntry: false })
  replaceFileSync(target, content, {
    mode: existing ? existing.mode & 0o777 : (o.mode ?? 0o644),
    flag: 'w',
    fsync: true,
  })
}

/**
 * Replaces one of modelship's own files (a run's state.json) the way writeFileAtomic does — temp file
 * beside it, rename — without what only a user's file needs: no symlink to follow, no workspace check, no
 * permission bits to keep (0644). Synchronous on purpose: a run writes its state once per step and waits
 * for each; the thread-pool round trips of eight async calls cost more than the write itself.
 * `fsync: false` leaves the data to the kernel's writeback (see the state store for when that is enough).
 */
export function writeOwnFileSync(path: string, content: string, o: { fsync?: boolean } = {}): void {
  replaceFileSync(path, content, { mode: 0o644, flag: 'wx', fsync: o.fsync !== false })
}

/** Both writers' last part: `content` into a temp file beside `target` (its directory made), renamed over it. */
function replaceFileSync(
  target: string,
  content: string | Uint8Array,
  o: { mode: number; flag: 'w' | 'wx'; fsync: boolean },
): void {
  mkdirSync(dirname(target), { recursive: true })
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fd = openSync(tmp, o.flag, o.mode)
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
    if (o.fsync) fsyncSync(fd)
  } catch (e) {
    closeSync(fd)
    rmSync(tmp, { force: true })
    throw e
  }
  closeSync(fd)
  try {
    renameSync(tmp, target)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

/** A small file's text, or undefined when it cannot be read (missing, a directory, no permission). */
export function readTextIfAny(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Files up to this size are hashed from one synchronous read (see above); larger ones are streamed. */
const HASH_IN_ONE_READ_BYTES = 8 * 1024 * 1024

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  const size = statSync(path).size
  if (size <= HASH_IN_ONE_READ_BYTES) {
    return hash.update(readFileSync(path)).digest('hex')
  }
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** A stable hash of a JSON-like value (object keys sorted), for recorded step inputs. */
export function hashJson(value: unknown): string {
  return sha256(stableStringify(value))
}

export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}
