import {
  constants,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { access, copyFile, cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ModelshipError } from '../engine/errors.js'
import { hashJson, pathExists, sha256, sha256File, writeFileAtomic } from '../fs-atomic.js'
import type { Redactor } from '../secrets/redact.js'
import { assertMayReplace } from './immutable.js'
import { redactManifestPaths, sameManifest } from './manifest.js'
import { scanModelFolder } from './model-folder.js'
import type { Manifest, ModelRegistry, PushRecord, PushRequest, RegistryModel } from './types.js'
import { compareVersions, versionOfRepo } from './version.js'

/** Files up to this size are copied with one synchronous call (see push). */
const SYNC_COPY_BYTES = 8 * 1024 * 1024

/** Per-repo metadata the local store keeps beside the files (the Hub keeps the same facts server-side). */
interface RepoMeta {
  private: boolean
  createdAt: string
  lastModified: string
  commit: string
  /** The push's commit message (`modelship: <id> (run <runId>)` for a release): who released it. */
  commitMessage?: string
  manifest: Manifest
}

const META_FILE = '.modelship-repo.json'

/** The manifest of a local folder plus generated files: what a push must make the remote hold. */
export async function localManifest(
  dir: string,
  extraFiles: PushRequest['extraFiles'],
  exclude: readonly string[] = [],
): Promise<Manifest> {
  return (await scanFolder(dir, extraFiles, exclude)).manifest
}

/** The manifest, and the real path each folder file is read from (listPushFiles checked it stays inside). */
async function scanFolder(
  dir: string,
  extraFiles: PushRequest['extraFiles'],
  exclude: readonly string[],
): Promise<{ manifest: Manifest; sources: Map<string, string> }> {
  const manifest: Manifest = {}
  const sources = new Map<string, string>()
  const files = await scanModelFolder(dir, exclude)
  // Hashed side by side, listed in the order of the listing.
  const entries = await Promise.all(
    files.map(async ({ path, source }) => {
      const full = source
      sources.set(path, full)
      const size = statSync(full).size
      return { size, sha256: await sha256File(full) }
    }),
  )
  files.forEach(({ path }, i) => {
    manifest[path] = entries[i]!
  })
  for (const f of extraFiles) manifest[f.path] = { size: Buffer.byteLength(f.content), sha256: sha256(f.content) }
  return { manifest, sources }
}

/**
 * The local registry writes only into folders it made: a symbolic link placed in its tree (the org folder,
 * a repo, a leftover staging folder) would make a push write wherever it leads. Refused, naming it.
 */
function assertNoLinkOnTheWay(root: string, parts: readonly string[]): void {
  let at = root
  for (const part of parts) {
    at = join(at, part)
    const st = lstatSync(at, { throwIfNoEntry: false })
    if (st === undefined) return
    if (st.isSymbolicLink())
      throw new ModelshipError(
        'BAD_INPUT',
        `local registry ${root}: ${at} is a symbolic link (to ${readlinkSync(at)}); modelship never writes through ` +
          `one there`,
        { hint: `remove the link ${at}; the local registry makes its own folders` },
      )
    if (!st.isDirectory()) throw new ModelshipError('BAD_INPUT', `local registry ${root}: ${at} is not a directory`)
  }
}

export { sameManifest } from './manifest.js'

/**
 * A directory store with the Hub's ids and files: `<root>/<org>/<repo>/…` plus a metadata file.
 * A push copies into a temp folder and renames it into place, so a repo is either whole or absent.
 */
export function createLocalRegistry(opts: {
  root: string
  org: string
  prefix: string
  now: () => Date
  /** Masks secrets in progress events (file names); default none. */
  redact?: Redactor
}): ModelRegistry {
  const redact = opts.redact ?? ((s: string) => s)
  const repoDir = (modelId: string): string => {
    const [org, name, ...rest] = modelId.split('/')
    if (!org || !name || rest.length > 0 || org.startsWith('.') || name.startsWith('.')) {
      throw new ModelshipError('BAD_INPUT', `${JSON.stringify(modelId)} is not a model id <org>/<name>`)
    }
    return join(opts.root, org, name)
  }
  // No repo: undefined. A repo whose metadata is missing or unreadable is a corrupt entry, named with a
  // hint, never mistaken for "no such version" (which would hand its version number out again).
  const readMeta = async (modelId: string): Promise<RepoMeta | undefined> => {
    const dir = repoDir(modelId)
    const path = join(dir, META_FILE)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw corruptEntry(path, (e as Error).message)
      if (await pathExists(dir))
        throw corruptEntry(dir, `no ${META_FILE} (a push that never finished, or files copied by hand)`)
      return undefined
    }
    let meta: Partial<RepoMeta>
    try {
      meta = JSON.parse(text) as Partial<RepoMeta>
    } catch (e) {
      throw corruptEntry(path, `not valid JSON (${(e as Error).message})`)
    }
    if (
      typeof meta.private !== 'boolean' ||
      typeof meta.commit !== 'string' ||
      typeof meta.manifest !== 'object' ||
      meta.manifest === null
    ) {
      throw corruptEntry(path, 'expected private, commit and manifest')
    }
    return meta as RepoMeta
  }
  const corruptEntry = (where: string, problem: string): ModelshipError =>
    new ModelshipError('BAD_INPUT', `${where}: corrupt local registry entry: ${problem}`, {
      hint: 'restore it from a backup, or move it aside if that version was never released',
    })
  /** A downloaded copy must hold exactly the files the entry recorded: a changed file is corruption, not a model. */
  const verifyFiles = async (modelId: string, dir: string, manifest: Manifest): Promise<void> => {
    for (const [path, want] of Object.entries(manifest)) {
      const full = join(dir, ...path.split('/'))
      const got = await sha256File(full).catch(() => undefined)
      if (got !== want.sha256)
        throw corruptEntry(
          join(repoDir(modelId), path),
          got ? 'its sha256 no longer matches the one recorded at push' : 'missing',
        )
    }
  }
  const toModel = (modelId: string, meta: RepoMeta): RegistryModel | undefined => {
    const version = versionOfRepo(modelId, opts.prefix)
    return version
      ? { id: modelId, version, private: meta.private, createdAt: meta.createdAt, lastModified: meta.lastModified }
      : undefined
  }

  return {
    kind: 'local',
    describe: () => `local registry at ${opts.root}`,
    locate: (modelId, path) => join(repoDir(modelId), ...path.split('/')),
    // A check, not a write: the store (or, before the first push, its nearest existing parent) must be a
    // writable directory. Creating it here would leave a directory behind a dry run.
    async checkAccess() {
      let dir = opts.root
      for (;;) {
        const st = await stat(dir).catch(() => undefined)
        if (st) {
          if (!st.isDirectory())
            throw new ModelshipError('CONFIG', `local registry ${opts.root}: ${dir} is not a directory`)
          try {
            await access(dir, constants.W_OK | constants.X_OK)
          } catch (e) {
            throw new ModelshipError('CONFIG', `local registry ${opts.root} is not writable: ${(e as Error).message}`)
          }
          return
        }
        const parent = dirname(dir)
        if (parent === dir)
          throw new ModelshipError('CONFIG', `local registry ${opts.root}: no existing parent directory`)
        dir = parent
      }
    },
    async listModels() {
      const names = await readdir(join(opts.root, opts.org)).catch(() => [] as string[])
      const models: RegistryModel[] = []
      for (const name of names) {
        const id = `${opts.org}/${name}`
        if (!versionOfRepo(id, opts.prefix, opts.org)) continue
        const meta = await readMeta(id)
        const model = meta && toModel(id, meta)
        if (model) models.push(model)
      }
      return models.sort((a, b) => compareVersions(a.version, b.version))
    },
    async getModel(modelId) {
      const meta = await readMeta(modelId)
      if (!meta) return undefined
      return (
        toModel(modelId, meta) ?? {
          id: modelId,
          version: { major: 0, minor: 0 },
          private: meta.private,
          lastModified: meta.lastModified,
        }
      )
    },
    async readFile(modelId, path) {
      if (path.split('/').some((p) => p === '..' || p.startsWith('.'))) return undefined
      return readFile(join(repoDir(modelId), ...path.split('/')), 'utf8').catch(() => undefined)
    },
    async download(modelId, destDir) {
      const meta = await readMeta(modelId)
      if (!meta) return false
      await rm(destDir, { recursive: true, force: true })
      await mkdir(dirname(destDir), { recursive: true })
      await cp(repoDir(modelId), destDir, { recursive: true, filter: (src) => basename(src) !== META_FILE })
      await verifyFiles(modelId, destDir, meta.manifest)
      return true
    },
    async readManifest(modelId) {
      return (await readMeta(modelId))?.manifest
    },
    async push(req: PushRequest): Promise<PushRecord> {
      const target = repoDir(req.modelId)
      const [org, name] = req.modelId.split('/') as [string, string]
      assertNoLinkOnTheWay(opts.root, [org, name])
      const { manifest: files, sources } = await scanFolder(req.dir, req.extraFiles, req.exclude ?? [])
      const manifest = redactManifestPaths(files, redact)
      const existing = await readMeta(req.modelId)
      if (existing && !existing.private) {
        throw new ModelshipError(
          'BAD_INPUT',
          `${req.modelId} exists in ${opts.root} and is public: refusing to push a private model into it`,
        )
      }
      if (existing && sameManifest(existing.manifest, manifest))
        return { modelId: req.modelId, commit: existing.commit, manifest }
      // Versions are immutable: only this same run's earlier attempt may be replaced (the Hub's rule too).
      if (existing) {
        assertMayReplace(
          req,
          { commit: existing.commit, title: existing.commitMessage ?? '', date: existing.lastModified },
          opts.root,
        )
      }
      const replacing = existing !== undefined
      const staging = `${target}.partial-${process.pid}`
      // Synchronous file system calls below, except for big copies: a model's few small files take less
      // time to copy than fs/promises takes to hand each call to the thread pool and back (fs-atomic.ts).
      rmSync(staging, { recursive: true, force: true })
      mkdirSync(staging, { recursive: true })
      try {
        const generated = new Set(req.extraFiles.map((f) => f.path))
        const copied = Object.entries(files).filter(([path]) => !generated.has(path))
        for (const dir of new Set(copied.map(([path]) => path.split('/').slice(0, -1).join('/'))))
          mkdirSync(join(staging, ...dir.split('/')), { recursive: true })
        // Side by side: a model is a handful of files, and each copy mostly waits on the disk.
        await Promise.all([
          ...copied.map(async ([path, { size }]) => {
            req.signal?.throwIfAborted()
            // copyFile copies what a symlink points to: a symlinked weights file is pushed as that file,
            // as the Hub backend does.
            const from = sources.get(path) ?? join(req.dir, ...path.split('/'))
            const to = join(staging, ...path.split('/'))
            if (size <= SYNC_COPY_BYTES) copyFileSync(from, to)
            else await copyFile(from, to)
            req.onProgress?.({ file: redact(path), phase: 'uploading', bytes: size, total: size })
          }),
          ...req.extraFiles.map((f) => writeFileAtomic(join(staging, ...f.path.split('/')), f.content)),
        ])
        const at = opts.now().toISOString()
        const commit = hashJson(manifest).slice(0, 40)
        const meta: RepoMeta = {
          private: true,
          createdAt: at,
          lastModified: at,
          commit,
          commitMessage: req.commitMessage,
          manifest,
        }
        writeFileSync(join(staging, META_FILE), `${JSON.stringify(meta, null, 2)}\n`)
        mkdirSync(join(opts.root, req.modelId.split('/')[0]!), { recursive: true })
        if (replacing) {
          // Swap in two renames so the repo is never half old, half new.
          const retired = `${target}.replaced-${process.pid}`
          renameSync(target, retired)
          renameSync(staging, target)
          rmSync(retired, { recursive: true, force: true })
        } else {
          if (await pathExists(target)) throw new ModelshipError('STEP_FAILED', `${target} appeared while pushing`)
          renameSync(staging, target)
        }
        return { modelId: req.modelId, commit: meta.commit, manifest }
      } catch (e) {
        await rm(staging, { recursive: true, force: true })
        throw e
      }
    },
  }
}
