import { commitIter, createRepo, type CommitOperation, type ListFileEntry } from '@huggingface/hub'
import { ModelshipError } from '../../engine/errors.js'
import { assertMayReplace } from '../immutable.js'
import { redactManifestPaths } from '../manifest.js'
import type { PushRecord, PushRequest } from '../types.js'
import { isValidModelRef } from '../version.js'
import type { HubContext } from './context.js'
import { DiskBlob } from './disk-blob.js'
import { statusOf } from './errors.js'
import { createUploadFetch } from './lfs-upload.js'
import {
  collectLfsOids,
  hashLocal,
  manifestOf,
  mismatches,
  sameShape,
  scanLocal,
  verifyAgainst,
  type LocalFile,
} from './local-files.js'
import { progressReporter } from './progress.js'
import { headCommit, remoteTree, repoInfo } from './reads.js'

/**
 * Pushes a model folder as one commit into a private repo, in constant memory: the library gets
 * DiskBlobs (read a chunk at a time) and an upload fetch that streams LFS objects — whole, or part by
 * part when the Hub answers the batch with a multipart transfer — from disk and retries one part alone.
 */
export async function pushModel(ctx: HubContext, req: PushRequest): Promise<PushRecord> {
  ctx.token('write')
  const { modelId, signal } = req
  if (!isValidModelRef(modelId, [])) {
    throw new ModelshipError(
      'BAD_INPUT',
      `push: ${JSON.stringify(modelId)} is not a model id like ${ctx.org}/${ctx.prefix}-v1.0`,
    )
  }
  const report = progressReporter(req.onProgress, ctx.redact)
  const local = await scanLocal(req.dir, req.extraFiles, req.exclude)
  const fail = (e: unknown, action: string) => ctx.fail(e, action, modelId, signal)

  // 1. The repo exists and is private; a public one is refused before anything is uploaded.
  try {
    await createRepo({ ...ctx.common('write'), repo: { type: 'model', name: modelId }, private: true })
    ctx.log(`created private repo ${modelId}`)
  } catch (e) {
    if (statusOf(e) !== 409) throw fail(e, 'creating')
  }
  const info = await repoInfo(ctx, modelId, 'write')
  if (!info) {
    throw new ModelshipError(
      'AUTH',
      `${modelId} exists on ${ctx.endpoint} but HF_TOKEN cannot see it: use a token of a member of ${ctx.org}, or ` +
        `push another version`,
    )
  }
  if (!info.model.private) {
    throw new ModelshipError(
      'BAD_INPUT',
      `${modelId} already exists on ${ctx.endpoint} and is public; modelship only pushes to private repos, so ` +
        `nothing was uploaded`,
      { hint: `make ${modelId} private in its settings on the Hub, or push another version` },
    )
  }

  // 2. Already there (a resumed push): nothing to commit. Another model there: refused, versions are immutable.
  const before = (await remoteTree(ctx, modelId, 'write')) ?? new Map<string, ListFileEntry>()
  if (before.size > 0) {
    if (sameShape(local, before)) {
      for (const f of local) await hashLocal(f, { gitOid: !before.get(f.path)?.lfs, report, signal })
      if (mismatches(local, before).length === 0 && info.sha) {
        ctx.log(`${modelId} already holds these ${local.length} files at ${info.sha.slice(0, 12)}: nothing to upload`)
        return { modelId, commit: info.sha, manifest: redactManifestPaths(manifestOf(local), ctx.redact) }
      }
    }
    const head = await headCommit(ctx, modelId)
    assertMayReplace(req, head ?? { commit: info.sha ?? 'unknown', title: '' }, ctx.endpoint)
  }

  // 3. One commit. LFS objects the Hub already holds (an interrupted push) are skipped by the batch API.
  const stale = [...before.keys()].filter((p) => !local.some((f) => f.path === p))
  if (stale.length > 0)
    ctx.log(
      `removing ${stale.length} file(s) from ${modelId} that are not in ${req.dir}: ${stale.slice(0, 5).join(', ')}`,
    )
  const operations: CommitOperation[] = [
    ...local.map(
      (f): CommitOperation => ({
        operation: 'addOrUpdate',
        path: f.path,
        content: f.content ? new Blob([f.content]) : new DiskBlob(f.abs, 0, f.size),
      }),
    ),
    ...stale.map((path): CommitOperation => ({ operation: 'delete', path })),
  ]
  // The library hashes every LFS file to upload it; read the sha256 it commits instead of hashing twice.
  const committedOids = new Map<string, string>()
  const sizes = new Map(local.map((f) => [f.path, f.size]))
  const uploadFetch = createUploadFetch({
    base: ctx.baseFetch,
    retrier: ctx.retrier,
    onFileBytes: (path, bytes) => report(path, 'uploading', bytes, sizes.get(path) ?? bytes),
    inspect: (url, body) => collectLfsOids(url, body, committedOids),
  })
  let commitOid: string
  try {
    // commitIter is the generator uploadFilesWithProgress wraps, with the same progress events; the
    // wrapper replaces `fetch` by the global one in Node, which would drop the streaming upload.
    const it = commitIter({
      repo: { type: 'model', name: modelId },
      operations,
      title: req.commitMessage,
      hubUrl: ctx.endpoint,
      accessToken: ctx.token('write'),
      fetch: uploadFetch,
      useXet: false,
      // Retrying a commit is safe: the Hub refuses (412) a second one on top of the first.
      ...(info.sha ? { parentCommit: info.sha } : {}),
      ...(signal ? { abortSignal: signal } : {}),
    })
    let step = await it.next()
    while (!step.done) {
      const ev = step.value
      if (ev.event === 'fileProgress' && ev.state !== 'error' && (ev.state === 'hashing' || ev.progress >= 1)) {
        const total = sizes.get(ev.path) ?? 0
        report(ev.path, ev.state, ev.progress >= 1 ? total : Math.floor(ev.progress * total), total)
      }
      step = await it.next()
    }
    if (!step.value) throw new ModelshipError('STEP_FAILED', `the Hub returned no commit for ${modelId}`)
    commitOid = step.value.commit.oid
  } catch (e) {
    if (statusOf(e) !== 412) throw fail(e, 'uploading')
    commitOid = await landedAnyway(ctx, modelId, local, committedOids, () => fail(e, 'committing to'))
  }
  for (const f of local) {
    f.sha256 ??= committedOids.get(f.path)
    report(f.path, 'uploading', f.size, f.size)
  }

  // 4. Verify what the Hub now holds against the local files.
  const after = await remoteTree(ctx, modelId, 'write')
  const problems = after ? await verifyAgainst(local, after) : ['the repo has disappeared']
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (+${problems.length - 3} more)` : ''
    throw new ModelshipError(
      'STEP_FAILED',
      ctx.redact(
        `${modelId} on the Hub does not match ${req.dir} after commit ${commitOid.slice(0, 12)}: ` +
          `${problems.slice(0, 3).join('; ')}${more}`,
      ),
    )
  }
  return { modelId, commit: commitOid, manifest: redactManifestPaths(manifestOf(local), ctx.redact) }
}

// 412: the branch moved. If it moved to exactly our files (a retried commit whose first attempt landed), we are done.
async function landedAnyway(
  ctx: HubContext,
  modelId: string,
  local: LocalFile[],
  committedOids: ReadonlyMap<string, string>,
  failure: () => ModelshipError,
): Promise<string> {
  for (const f of local) f.sha256 ??= committedOids.get(f.path)
  const now = await remoteTree(ctx, modelId, 'write')
  const head = now && sameShape(local, now) ? await repoInfo(ctx, modelId, 'write') : undefined
  if (!now || !head?.sha || (await verifyAgainst(local, now)).length > 0) throw failure()
  return head.sha
}
