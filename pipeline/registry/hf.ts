import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import {
  commitIter,
  createRepo,
  downloadFile,
  HubApiError,
  listFiles,
  listModels as hubListModels,
  modelInfo,
  whoAmI,
  type CommitOperation,
  type ListFileEntry,
} from '@huggingface/hub'
import { ModelshipError, type ErrorCode } from '../engine/errors.js'
import { listModelFiles } from './model-folder.js'
import type { Manifest, ModelRegistry, PushProgress, PushRecord, PushRequest, RegistryModel } from './types.js'
import { compareVersions, isValidModelRef, versionOfRepo, type Version } from './version.js'

export interface HfRegistryOptions {
  /** Hub base URL (HF_ENDPOINT); the library ignores HF_ENDPOINT, so it is passed on every call. */
  endpoint: string
  token: string | undefined
  org: string
  prefix: string
  fetch?: typeof fetch
  /** Retries of one request on network errors, 429 and 5xx (default 3), with exponential backoff. */
  retries?: number
  /** First backoff delay; doubles on each retry (default 500 ms). */
  backoffMs?: number
  log?: (line: string) => void
}

// The Hub adds this file to every new repo; it is not part of a model's manifest.
const HUB_GITATTRIBUTES = '.gitattributes'
const WRITE_ROLES = new Set(['admin', 'write', 'contributor'])
const HASH_CHUNK = 1024 * 1024

/** Hugging Face Hub registry: private repos `<org>/<prefix>-v<major>.<minor>` pushed with @huggingface/hub. */
export function createHfRegistry(opts: HfRegistryOptions): ModelRegistry {
  const endpoint = normalizeEndpoint(opts.endpoint)
  const { org, prefix } = opts
  const retries = opts.retries ?? 3
  const backoffMs = opts.backoffMs ?? 500
  const log = opts.log ?? (() => {})
  const baseFetch = opts.fetch ?? globalThis.fetch
  const secret = opts.token

  const hubFetch = createHubFetch(baseFetch, { retries, backoffMs, log })
  const fail = (e: unknown, action: string, subject?: string): ModelshipError =>
    toModelshipError(e, { action, subject, endpoint, org, retries, secret })

  function token(): string {
    if (!secret) {
      throw new ModelshipError('AUTH', `HF_TOKEN is not set: the Hugging Face Hub registry (${endpoint}) needs a token with write access to ${org}`, {
        hint: `create a write token at ${endpoint}/settings/tokens and set HF_TOKEN in the environment or .env`,
      })
    }
    if (!secret.startsWith('hf_')) {
      throw new ModelshipError('AUTH', 'HF_TOKEN does not look like a Hugging Face token (it must start with hf_)', {
        hint: `copy the token again from ${endpoint}/settings/tokens`,
      })
    }
    return secret
  }
  const common = () => ({ hubUrl: endpoint, accessToken: token(), fetch: hubFetch })

  async function repoInfo(modelId: string): Promise<{ model: RegistryModel; sha: string | undefined } | undefined> {
    try {
      const info = await modelInfo({ ...common(), name: modelId, additionalFields: ['sha'] })
      return { model: toRegistryModel(info.name || modelId, info.private, info.updatedAt, prefix), sha: info.sha }
    } catch (e) {
      if (statusOf(e) === 404) return undefined
      throw fail(e, 'reading', modelId)
    }
  }

  // Files of the repo's main branch (without the Hub's .gitattributes), or undefined when the repo does not exist.
  async function remoteTree(modelId: string): Promise<Map<string, ListFileEntry> | undefined> {
    const files = new Map<string, ListFileEntry>()
    try {
      for await (const entry of listFiles({ ...common(), repo: { type: 'model', name: modelId }, recursive: true })) {
        if (entry.type === 'file' && entry.path !== HUB_GITATTRIBUTES) files.set(entry.path, entry)
      }
    } catch (e) {
      if (statusOf(e) === 404) return undefined
      throw fail(e, 'listing the files of', modelId)
    }
    return files
  }

  async function download(modelId: string, path: string): Promise<Blob | undefined> {
    try {
      return (await downloadFile({ ...common(), repo: { type: 'model', name: modelId }, path })) ?? undefined
    } catch (e) {
      if (statusOf(e) === 404) return undefined
      throw fail(e, `downloading ${path} from`, modelId)
    }
  }

  const registry: ModelRegistry = {
    kind: 'hf',

    describe: () => `Hugging Face Hub ${endpoint} (org ${org})`,

    async checkAccess() {
      let who: WhoAmILoose
      try {
        who = (await whoAmI({ ...common() })) as unknown as WhoAmILoose
      } catch (e) {
        throw fail(e, 'checking HF_TOKEN with')
      }
      assertMayWrite(who, org)
    },

    async listModels() {
      const byId = new Map<string, RegistryModel>()
      try {
        for await (const m of hubListModels({ ...common(), search: { owner: org, query: prefix }, additionalFields: ['createdAt'] })) {
          const version = versionOfRepo(m.name, prefix, org)
          if (!version) continue
          const model = toRegistryModel(m.name, m.private, m.updatedAt, prefix, version)
          const created = (m as { createdAt?: unknown }).createdAt
          if (typeof created === 'string' || created instanceof Date) model.createdAt = new Date(created).toISOString()
          byId.set(m.name, model)
        }
      } catch (e) {
        throw fail(e, `listing the models of ${org} on`)
      }
      return [...byId.values()].sort((a, b) => compareVersions(a.version, b.version))
    },

    async getModel(modelId) {
      return (await repoInfo(modelId))?.model
    },

    async readFile(modelId, path) {
      const blob = await download(modelId, path)
      return blob === undefined ? undefined : blob.text()
    },

    async readManifest(modelId) {
      const tree = await remoteTree(modelId)
      if (!tree) return undefined
      const manifest: Manifest = {}
      for (const [path, entry] of [...tree].sort(([a], [b]) => a.localeCompare(b))) {
        if (entry.lfs) {
          manifest[path] = { size: entry.lfs.size, sha256: entry.lfs.oid }
          continue
        }
        // Regular files: the tree gives only the git blob oid (sha1), so hash the (small) content.
        const blob = await download(modelId, path)
        if (!blob) continue
        const bytes = Buffer.from(await blob.arrayBuffer())
        manifest[path] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
      }
      return manifest
    },

    async push(req) {
      const accessToken = token()
      const modelId = req.modelId
      if (!isValidModelRef(modelId, [])) throw new ModelshipError('BAD_INPUT', `push: ${JSON.stringify(modelId)} is not a model id like ${org}/${prefix}-v1.0`)
      const report = progressReporter(req.onProgress)
      const local = await scanLocal(req.dir, req.extraFiles)

      // 1. The repo exists and is private; a public one is refused before anything is uploaded.
      try {
        await createRepo({ ...common(), repo: { type: 'model', name: modelId }, private: true })
        log(`created private repo ${modelId}`)
      } catch (e) {
        if (statusOf(e) !== 409) throw fail(e, 'creating', modelId)
      }
      const info = await repoInfo(modelId)
      if (!info) {
        throw new ModelshipError('AUTH', `${modelId} exists on ${endpoint} but HF_TOKEN cannot see it: use a token of a member of ${org}, or push another version`)
      }
      if (!info.model.private) {
        throw new ModelshipError(
          'BAD_INPUT',
          `${modelId} already exists on ${endpoint} and is public; modelship only pushes to private repos, so nothing was uploaded`,
          { hint: `make ${modelId} private in its settings on the Hub, or push another version` },
        )
      }

      // 2. Resume: when the repo already holds exactly these files, there is nothing to commit.
      const before = (await remoteTree(modelId)) ?? new Map<string, ListFileEntry>()
      if (sameShape(local, before)) {
        for (const f of local) await hashLocal(f, { gitOid: !before.get(f.path)?.lfs, report })
        if (mismatches(local, before).length === 0 && info.sha) {
          log(`${modelId} already holds these ${local.length} files at ${info.sha.slice(0, 12)}: nothing to upload`)
          return { modelId, commit: info.sha, manifest: manifestOf(local) }
        }
      }

      // 3. One commit. LFS objects the Hub already holds (an interrupted push) are skipped by the batch API.
      const stale = [...before.keys()].filter((p) => !local.some((f) => f.path === p))
      if (stale.length > 0) log(`removing ${stale.length} file(s) from ${modelId} that are not in ${req.dir}: ${stale.slice(0, 5).join(', ')}`)
      const operations: CommitOperation[] = [
        ...local.map((f): CommitOperation => ({
          operation: 'addOrUpdate',
          path: f.path,
          // file:// URLs become the library's lazy FileBlob: big files are streamed, never buffered.
          content: f.content ? new Blob([f.content]) : pathToFileURL(f.abs),
        })),
        ...stale.map((path): CommitOperation => ({ operation: 'delete', path })),
      ]
      // The library already hashes every LFS file to upload it; read the sha256 it commits instead of
      // hashing 500 MB a second time (see push-bench.ts). Regular files are small and hashed below.
      const committedOids = new Map<string, string>()
      const pushFetch = createHubFetch(baseFetch, { retries, backoffMs, log, inspect: (url, body) => collectLfsOids(url, body, committedOids) })
      const sizes = new Map(local.map((f) => [f.path, f.size]))
      let commitOid: string
      try {
        // commitIter is the generator uploadFilesWithProgress wraps, with the same progress events; the
        // wrapper replaces `fetch` by the global one in Node, which would drop retries and opts.fetch.
        const it = commitIter({
          repo: { type: 'model', name: modelId },
          operations,
          title: req.commitMessage,
          hubUrl: endpoint,
          accessToken,
          fetch: pushFetch,
          useXet: false,
          // Retrying a commit is safe: the Hub refuses (412) a second one on top of the first.
          ...(info.sha ? { parentCommit: info.sha } : {}),
          ...(req.signal ? { abortSignal: req.signal } : {}),
        })
        let step = await it.next()
        while (!step.done) {
          const ev = step.value
          if (ev.event === 'fileProgress' && ev.state !== 'error') {
            const total = sizes.get(ev.path) ?? 0
            report(ev.path, ev.state, ev.progress >= 1 ? total : Math.floor(ev.progress * total), total)
          }
          step = await it.next()
        }
        if (!step.value) throw new ModelshipError('STEP_FAILED', `the Hub returned no commit for ${modelId}`)
        commitOid = step.value.commit.oid
      } catch (e) {
        if (statusOf(e) !== 412) throw fail(e, 'uploading', modelId)
        // 412: the branch moved. If it moved to exactly our files (a retried commit whose first attempt landed), we are done.
        for (const f of local) f.sha256 ??= committedOids.get(f.path)
        const now = await remoteTree(modelId)
        const head = now && sameShape(local, now) ? await repoInfo(modelId) : undefined
        if (!now || !head?.sha || (await verifyAgainst(local, now)).length > 0) throw fail(e, 'committing to', modelId)
        commitOid = head.sha
      }
      for (const f of local) {
        f.sha256 ??= committedOids.get(f.path)
        report(f.path, 'uploading', f.size, f.size)
      }

      // 4. Verify what the Hub now holds against the local files.
      const after = await remoteTree(modelId)
      const problems = after ? await verifyAgainst(local, after) : ['the repo has disappeared']
      if (problems.length > 0) {
        throw new ModelshipError(
          'STEP_FAILED',
          `${modelId} on the Hub does not match ${req.dir} after commit ${commitOid.slice(0, 12)}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`,
        )
      }
      return { modelId, commit: commitOid, manifest: manifestOf(local) } satisfies PushRecord
    },
  }
  return registry
}

// ---- access check -------------------------------------------------------------------------------

interface WhoAmILoose {
  type?: string
  name?: string
  orgs?: Array<{ name?: string; roleInOrg?: string; roleInRepo?: string; role?: string }>
  auth?: {
    accessToken?: {
      role?: string
      fineGrained?: {
        global?: string[]
        scoped?: Array<{ entity?: { name?: string; type?: string }; permissions?: string[] }>
      }
    }
  }
}

const sameName = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase()

function assertMayWrite(who: WhoAmILoose, org: string): void {
  const user = who.name ?? 'unknown user'
  const tokenRole = who.auth?.accessToken?.role ?? 'unknown'
  const hint = `create a token with write access to ${org} (classic "write", or fine-grained with "Write access to contents/settings of all repos" for ${org})`
  if (tokenRole === 'read') {
    throw new ModelshipError('AUTH', `HF_TOKEN of ${user} is read-only (token role: read); pushing models to ${org} needs write access`, { hint })
  }
  if (!sameName(who.name, org)) {
    const membership = who.orgs?.find((o) => sameName(o.name, org))
    if (!membership) {
      throw new ModelshipError('AUTH', `${user} (token role: ${tokenRole}) is not a member of ${org}, so it cannot create repos there`, {
        hint: `ask an admin of ${org} to add ${user} with the write role, or set HF_ORG`,
      })
    }
    const orgRole = membership.roleInOrg ?? membership.roleInRepo ?? membership.role
    if (orgRole !== undefined && !WRITE_ROLES.has(orgRole)) {
      throw new ModelshipError('AUTH', `${user} has the ${orgRole} role in ${org} (token role: ${tokenRole}); pushing models needs write, contributor or admin`, {
        hint: `ask an admin of ${org} for the write role`,
      })
    }
  }
  if (tokenRole === 'fineGrained') {
    const fg = who.auth?.accessToken?.fineGrained
    const scoped = fg?.scoped?.filter((s) => sameName(s.entity?.name, org)).flatMap((s) => s.permissions ?? []) ?? []
    if (!scoped.includes('repo.write') && !(fg?.global ?? []).includes('repo.write')) {
      throw new ModelshipError('AUTH', `the fine-grained HF_TOKEN of ${user} has no repo.write permission on ${org} (token role: fineGrained)`, { hint })
    }
  }
}

// ---- listing ------------------------------------------------------------------------------------

function toRegistryModel(id: string, isPrivate: boolean, updatedAt: Date | undefined, prefix: string, version?: Version): RegistryModel {
  const model: RegistryModel = { id, version: version ?? versionOfRepo(id, prefix) ?? looseVersion(id), private: isPrivate === true }
  if (updatedAt && !Number.isNaN(updatedAt.getTime())) model.lastModified = updatedAt.toISOString()
  return model
}

// getModel accepts any repo id; a name without `-v<major>.<minor>` gets version 0.0.
function looseVersion(id: string): Version {
  const m = /-v(\d+)\.(\d+)$/.exec(id)
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : { major: 0, minor: 0 }
}

// ---- local files --------------------------------------------------------------------------------

interface LocalFile {
  path: string
  size: number
  /** Absolute path of a file of the folder; absent for extra files. */
  abs: string
  /** Content of an extra file (generated by modelship). */
  content?: Buffer
  sha256?: string
  /** git blob oid (sha1), computed only for files the Hub stores as regular (non-LFS) files. */
  gitOid?: string
}

type Report = (file: string, phase: PushProgress['phase'], bytes: number, total: number) => void

async function scanLocal(dir: string, extraFiles: PushRequest['extraFiles']): Promise<LocalFile[]> {
  const files = new Map<string, LocalFile>()
  for (const path of await listModelFiles(dir)) {
    const abs = join(dir, ...path.split('/'))
    files.set(path, { path, abs, size: (await stat(abs)).size })
  }
  for (const extra of extraFiles) {
    const content = Buffer.from(extra.content, 'utf8')
    files.set(extra.path, {
      path: extra.path,
      abs: '',
      content,
      size: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      gitOid: gitBlobOid(content),
    })
  }
  if (files.size === 0) throw new ModelshipError('BAD_INPUT', `model folder ${dir} holds no files to push`)
  return [...files.values()].sort((a, b) => a.path.localeCompare(b.path))
}

function gitBlobOid(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
}

// Fills in sha256 (and the git blob oid when asked) of a local file, reading it once.
async function hashLocal(f: LocalFile, o: { gitOid: boolean; report: Report }): Promise<void> {
  if (f.sha256 && (f.gitOid || !o.gitOid)) return
  if (f.content) {
    f.sha256 = createHash('sha256').update(f.content).digest('hex')
    f.gitOid = gitBlobOid(f.content)
    return
  }
  const sha = createHash('sha256')
  const git = o.gitOid ? createHash('sha1').update(`blob ${f.size}\0`) : undefined
  let done = 0
  o.report(f.path, 'hashing', 0, f.size)
  for await (const chunk of createReadStream(f.abs, { highWaterMark: HASH_CHUNK }) as AsyncIterable<Buffer>) {
    sha.update(chunk)
    git?.update(chunk)
    done += chunk.length
    o.report(f.path, 'hashing', done, f.size)
  }
  if (done !== f.size) throw new ModelshipError('STEP_FAILED', `${f.abs} changed while it was being pushed (size ${f.size} → ${done})`)
  f.sha256 = sha.digest('hex')
  if (git) f.gitOid = git.digest('hex')
}

function manifestOf(local: readonly LocalFile[]): Manifest {
  const manifest: Manifest = {}
  for (const f of local) {
    if (!f.sha256) throw new ModelshipError('STEP_FAILED', `internal: no sha256 for ${f.path}`)
    manifest[f.path] = { size: f.size, sha256: f.sha256 }
  }
  return manifest
}

function sameShape(local: readonly LocalFile[], remote: ReadonlyMap<string, ListFileEntry>): boolean {
  return local.length === remote.size && local.every((f) => remoteSize(remote.get(f.path)) === f.size)
}

function remoteSize(e: ListFileEntry | undefined): number | undefined {
  return e === undefined ? undefined : (e.lfs?.size ?? e.size)
}

// Differences between local files (hashed) and a remote tree: missing, extra, size or content.
function mismatches(local: readonly LocalFile[], remote: ReadonlyMap<string, ListFileEntry>): string[] {
  const problems: string[] = []
  const paths = new Set(local.map((f) => f.path))
  for (const f of local) {
    const e = remote.get(f.path)
    if (!e) {
      problems.push(`${f.path} is missing`)
    } else if (e.size !== f.size || (e.lfs && e.lfs.size !== f.size)) {
      problems.push(`${f.path} has ${remoteSize(e)} bytes, not ${f.size}`)
    } else if (e.lfs ? e.lfs.oid !== f.sha256 : e.oid !== f.gitOid) {
      problems.push(`${f.path} has other content (${e.lfs ? 'sha256' : 'git oid'} differs)`)
    }
  }
  for (const p of remote.keys()) if (!paths.has(p)) problems.push(`${p} is not part of the push`)
  return problems
}

async function verifyAgainst(local: LocalFile[], remote: ReadonlyMap<string, ListFileEntry>): Promise<string[]> {
  // Hash what is still unknown: the regular (small) files, and any LFS file whose oid was not seen in
  // the commit. No progress events: the upload is over, a progress bar must not go back to "hashing".
  for (const f of local) await hashLocal(f, { gitOid: !remote.get(f.path)?.lfs, report: () => {} })
  return mismatches(local, remote)
}

// Reads the sha256 of each LFS file from the NDJSON commit body the library sends.
function collectLfsOids(url: string, body: string, into: Map<string, string>): void {
  if (!/\/commit\/[^/?]+(\?|$)/.test(new URL(url).pathname + '?')) return
  for (const line of body.split('\n')) {
    if (!line.startsWith('{"key":"lfsFile"')) continue
    try {
      const { value } = JSON.parse(line) as { value?: { path?: unknown; oid?: unknown; algo?: unknown } }
      if (typeof value?.path === 'string' && typeof value.oid === 'string' && value.algo === 'sha256') into.set(value.path, value.oid)
    } catch {
      // Not our concern: the Hub validates the body; anything unparsed is hashed locally instead.
    }
  }
}

// ---- progress -----------------------------------------------------------------------------------

// Calls onProgress at most ~100 times per file and phase, so a 500 MB upload costs nothing noticeable.
function progressReporter(onProgress: PushRequest['onProgress']): Report {
  if (!onProgress) return () => {}
  const last = new Map<string, number>()
  return (file, phase, bytes, total) => {
    const key = `${phase}\0${file}`
    const prev = last.get(key)
    if (prev === bytes || (prev !== undefined && bytes < total && bytes - prev < total / 100)) return
    last.set(key, bytes)
    onProgress({ file, phase, bytes, total })
  }
}

// ---- HTTP: retries, upload progress -------------------------------------------------------------

interface ProgressHint {
  part?: number
  progressCallback?: (progress: number) => void
}

// A fetch for the library: retries network errors, 429 and 5xx with exponential backoff, reports
// upload progress of LFS PUTs through the library's `progressHint` (uploadFilesWithProgress only does
// it with XMLHttpRequest, which Node lacks), and lets push() see request bodies.
function createHubFetch(
  base: typeof fetch,
  o: { retries: number; backoffMs: number; log: (line: string) => void; inspect?: (url: string, body: string) => void },
): typeof fetch {
  const hubFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET')
    const hint = (init as { progressHint?: ProgressHint } | undefined)?.progressHint
    if (o.inspect && typeof init?.body === 'string') o.inspect(url, init.body)
    let sendInit = init
    if (init?.body instanceof Blob && hint?.progressCallback && hint.part === undefined) {
      sendInit = { ...init, body: countingBlob(init.body, hint.progressCallback) }
    }
    for (let attempt = 0; ; attempt++) {
      const delay = o.backoffMs * 2 ** attempt
      let res: Response
      try {
        res = await base(input, sendInit)
      } catch (e) {
        if (init?.signal?.aborted || attempt >= o.retries || isAbort(e)) throw e
        o.log(`Hub request ${method} ${pathOf(url)} failed (${reasonOf(e)}); retry ${attempt + 1}/${o.retries} in ${delay} ms`)
        await sleep(delay, undefined, init?.signal ? { signal: init.signal } : undefined)
        continue
      }
      if ((res.status === 429 || res.status >= 500) && attempt < o.retries) {
        const retryAfter = Number(res.headers.get('Retry-After'))
        const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 60_000) : delay
        await res.body?.cancel().catch(() => {})
        o.log(`Hub answered ${res.status} to ${method} ${pathOf(url)}; retry ${attempt + 1}/${o.retries} in ${wait} ms`)
        await sleep(wait, undefined, init?.signal ? { signal: init.signal } : undefined)
        continue
      }
      return res
    }
  }
  return hubFetch as typeof fetch
}

// A Blob that streams `inner` and reports the fraction sent, every 1% (the request body of a PUT).
function countingBlob(inner: Blob, progress: (fraction: number) => void): Blob {
  const size = inner.size
  const step = Math.max(size / 100, 1)
  class CountingBlob extends Blob {
    override stream(): ReadableStream<Uint8Array> {
      const reader = inner.stream().getReader()
      let sent = 0
      let reported = 0
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read()
          if (done) {
            controller.close()
            return
          }
          sent += value.byteLength
          if (sent - reported >= step && sent < size) {
            reported = sent
            progress(sent / size)
          }
          controller.enqueue(value)
        },
        cancel: (reason) => reader.cancel(reason),
      })
    }
  }
  const blob = new CountingBlob([])
  // fetch reads `size` for Content-Length; Blob's own getter would say 0.
  Object.defineProperty(blob, 'size', { value: size })
  return blob
}

// ---- errors -------------------------------------------------------------------------------------

function statusOf(e: unknown): number | undefined {
  return e instanceof HubApiError ? e.statusCode : undefined
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORT_ERR')
}

function codeOf(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: unknown; cause?: { code?: unknown } } } | undefined)?.cause
  const code = (e as { code?: unknown } | undefined)?.code ?? cause?.code ?? cause?.cause?.code
  return typeof code === 'string' ? code : undefined
}

// Why a request failed below HTTP: the system error code, else undici's reason ("fetch failed" says nothing).
function reasonOf(e: unknown): string {
  const cause = (e as { cause?: unknown } | undefined)?.cause
  return codeOf(e) ?? (cause instanceof Error ? messageLine(cause) : messageLine(e))
}

function messageLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e)
  return (text.split('\n')[0] ?? '').slice(0, 200)
}

function pathOf(url: string): string {
  try {
    // Never the query: signed upload URLs carry their signature there.
    return new URL(url).pathname
  } catch {
    return '(url)'
  }
}

// The server's own explanation, one line, without URLs (which may be signed).
function serverMessage(e: HubApiError): string {
  const data = e.data as { error?: unknown; message?: unknown } | undefined
  const raw = typeof data?.error === 'string' ? data.error : typeof data?.message === 'string' ? data.message : ''
  return raw.replace(/\s+/g, ' ').replace(/https?:\/\/\S+/g, '<url>').trim().slice(0, 200)
}

function toModelshipError(
  e: unknown,
  c: { action: string; subject: string | undefined; endpoint: string; org: string; retries: number; secret: string | undefined },
): ModelshipError {
  if (e instanceof ModelshipError) return e
  const scrub = (s: string) => (c.secret && c.secret.length >= 4 ? s.split(c.secret).join('***') : s)
  const what = c.subject ? `${c.action} ${c.subject}` : `${c.action} ${c.endpoint}`
  const make = (code: ErrorCode, message: string, hint?: string) =>
    new ModelshipError(code, scrub(message), { ...(hint ? { hint: scrub(hint) } : {}), cause: e })
  if (isAbort(e)) return make('INTERRUPTED', `interrupted while ${what}`)
  const afterRetries = c.retries > 0 ? `, after ${c.retries} retries` : ''
  if (!(e instanceof HubApiError)) {
    if (e instanceof TypeError && /fetch failed|network|socket/i.test(e.message)) {
      const code = codeOf(e)
      const unreachable = code !== undefined && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT)$/.test(code)
      return make(
        'STEP_FAILED',
        unreachable
          ? `cannot reach the Hugging Face Hub at ${c.endpoint} while ${what} (${code}${afterRetries})`
          : `lost the connection to the Hugging Face Hub at ${c.endpoint} while ${what} (${reasonOf(e)}${afterRetries})`,
        'check HF_ENDPOINT and the network, then run again with --resume; files already uploaded are not sent again',
      )
    }
    return make('STEP_FAILED', `${what} failed: ${messageLine(e)}`)
  }
  const status = e.statusCode
  const said = serverMessage(e)
  const detail = said ? `${status}: ${said}` : `${status}`
  const repo = c.subject ?? c.org
  switch (true) {
    case status === 401:
      return make('AUTH', `the Hub at ${c.endpoint} rejected HF_TOKEN (${detail}) while ${what}`, `create a new token with write access to ${c.org} at ${c.endpoint}/settings/tokens and set HF_TOKEN`)
    case status === 403:
      return make('AUTH', `HF_TOKEN is not allowed to do this (${detail}) while ${what}`, `use a token with write access to ${c.org}`)
    case status === 404 && c.subject !== undefined:
      return make('CONFIG', `${repo} was not found on ${c.endpoint} (${detail}) while ${what}`, `check HF_ORG, HF_REPO_PREFIX and HF_ENDPOINT, and that HF_TOKEN can see ${repo}`)
    case status === 404:
      return make('CONFIG', `${c.endpoint} answered 404 while ${what}: it does not look like a Hugging Face Hub`, 'check HF_ENDPOINT (the Hub base URL, e.g. https://huggingface.co)')
    case status === 409 || status === 412:
      return make('STEP_FAILED', `${repo} changed on the Hub while ${what} (${detail})`, 'check nobody else is pushing to it, then run again with --resume')
    case status === 429:
      return make('STEP_FAILED', `the Hub is rate-limiting us (${detail}) while ${what}${afterRetries}`, 'wait a few minutes, then run again with --resume')
    case status >= 500:
      return make('STEP_FAILED', `the Hub failed (${detail}) while ${what}${afterRetries}`, 'run again with --resume; uploaded files are kept and not sent twice')
    default:
      return make('STEP_FAILED', `the Hub refused ${what} (${detail})`)
  }
}

function normalizeEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim().replace(/\/+$/, '')
  let u: URL
  try {
    u = new URL(trimmed)
  } catch {
    throw new ModelshipError('CONFIG', `HF_ENDPOINT ${JSON.stringify(endpoint)} is not a URL`)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ModelshipError('CONFIG', `HF_ENDPOINT ${JSON.stringify(endpoint)} must be an http(s) URL`)
  if (u.username || u.password) throw new ModelshipError('CONFIG', 'HF_ENDPOINT must not contain credentials; use HF_TOKEN')
  return trimmed
}
