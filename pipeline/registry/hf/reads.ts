import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { downloadFile, listCommits, listFiles, listModels, modelInfo, type ListFileEntry } from '@huggingface/hub'
import type { ExistingCommit } from '../immutable.js'
import { redactManifestPaths } from '../manifest.js'
import type { Manifest, RegistryModel } from '../types.js'
import { compareVersions, versionOfRepo } from '../version.js'
import type { HubContext } from './context.js'
import { statusOf } from './errors.js'
import { toRegistryModel } from './listing.js'

// The Hub adds this file to every new repo; it is not part of a model's manifest.
const HUB_GITATTRIBUTES = '.gitattributes'

/** The repo as a RegistryModel plus its head commit, or undefined when it does not exist or is hidden. */
export async function repoInfo(
  ctx: HubContext,
  modelId: string,
  access: 'read' | 'write' = 'read',
): Promise<{ model: RegistryModel; sha: string | undefined } | undefined> {
  try {
    const info = await modelInfo({ ...ctx.common(access), name: modelId, additionalFields: ['sha'] })
    return { model: toRegistryModel(info.name || modelId, info.private, info.updatedAt, ctx.prefix), sha: info.sha }
  } catch (e) {
    if (statusOf(e) === 404) return undefined
    throw ctx.fail(e, 'reading', modelId)
  }
}

/** Files of the repo's main branch (without the Hub's .gitattributes), or undefined when the repo does not exist. */
export async function remoteTree(
  ctx: HubContext,
  modelId: string,
  access: 'read' | 'write' = 'read',
): Promise<Map<string, ListFileEntry> | undefined> {
  const files = new Map<string, ListFileEntry>()
  try {
    for await (const entry of listFiles({
      ...ctx.common(access),
      repo: { type: 'model', name: modelId },
      recursive: true,
    })) {
      if (entry.type === 'file' && entry.path !== HUB_GITATTRIBUTES) files.set(entry.path, entry)
    }
  } catch (e) {
    if (statusOf(e) === 404) return undefined
    throw ctx.fail(e, 'listing the files of', modelId)
  }
  return files
}

/** The head commit of main: who released what is there, and when. */
export async function headCommit(ctx: HubContext, modelId: string): Promise<ExistingCommit | undefined> {
  try {
    for await (const c of listCommits({
      ...ctx.common('read'),
      repo: { type: 'model', name: modelId },
      batchSize: 1,
    })) {
      return { commit: c.oid, title: c.title, date: Number.isNaN(c.date.getTime()) ? undefined : c.date.toISOString() }
    }
    return undefined
  } catch (e) {
    if (statusOf(e) === 404) return undefined
    throw ctx.fail(e, 'reading the commits of', modelId)
  }
}

export async function download(ctx: HubContext, modelId: string, path: string): Promise<Blob | undefined> {
  try {
    return (await downloadFile({ ...ctx.common('read'), repo: { type: 'model', name: modelId }, path })) ?? undefined
  } catch (e) {
    if (statusOf(e) === 404) return undefined
    throw ctx.fail(e, `downloading ${path} from`, modelId)
  }
}

/** Every file of the repo's main branch into destDir (streamed, each file renamed into place); false when absent. */
export async function downloadModel(ctx: HubContext, modelId: string, destDir: string): Promise<boolean> {
  const tree = await remoteTree(ctx, modelId)
  if (!tree) return false
  await rm(destDir, { recursive: true, force: true })
  for (const path of tree.keys()) {
    const blob = await download(ctx, modelId, path)
    if (!blob) throw ctx.fail(new Error(`${path} disappeared while downloading`), 'downloading', modelId)
    const target = join(destDir, ...path.split('/'))
    await mkdir(dirname(target), { recursive: true })
    const partial = `${target}.partial`
    await pipeline(Readable.fromWeb(blob.stream() as unknown as WebReadableStream), createWriteStream(partial))
    await rename(partial, target)
  }
  return true
}

/** The manifest of what the repo holds (LFS files by their oid; regular files are small and hashed). */
export async function readManifest(ctx: HubContext, modelId: string): Promise<Manifest | undefined> {
  const tree = await remoteTree(ctx, modelId)
  if (!tree) return undefined
  const manifest: Manifest = {}
  for (const [path, entry] of [...tree].sort(([a], [b]) => a.localeCompare(b))) {
    if (entry.lfs) {
      manifest[path] = { size: entry.lfs.size, sha256: entry.lfs.oid }
      continue
    }
    // Regular files: the tree gives only the git blob oid (sha1), so hash the (small) content.
    const blob = await download(ctx, modelId, path)
    if (!blob) continue
    const bytes = Buffer.from(await blob.arrayBuffer())
    manifest[path] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
  }
  return redactManifestPaths(manifest, ctx.redact)
}

/** Every `<org>/<prefix>-v<major>.<minor>` model the token can see, ascending by version. Read access only. */
export async function listVersions(ctx: HubContext): Promise<RegistryModel[]> {
  const byId = new Map<string, RegistryModel>()
  try {
    const search = { owner: ctx.org, query: ctx.prefix }
    for await (const m of listModels({ ...ctx.common('read'), search, additionalFields: ['createdAt'] })) {
      const version = versionOfRepo(m.name, ctx.prefix, ctx.org)
      if (!version) continue
      const model = toRegistryModel(m.name, m.private, m.updatedAt, ctx.prefix, version)
      const created = (m as { createdAt?: unknown }).createdAt
      if (typeof created === 'string' || created instanceof Date) model.createdAt = new Date(created).toISOString()
      byId.set(m.name, model)
    }
  } catch (e) {
    throw ctx.fail(e, `listing the models of ${ctx.org} on`)
  }
  return [...byId.values()].sort((a, b) => compareVersions(a.version, b.version))
}
