/**
 * A Hugging Face Hub–compatible HTTP server for tests and benchmarks (node:http, no framework).
 *
 * It implements exactly the endpoints @huggingface/hub 2.17.5 calls for what modelship does
 * (whoami, create repo, list/info, preupload, LFS batch with the basic transfer and the Hub's
 * multipart one — `header.chunk_size`, one signed URL per part, then a completion POST — NDJSON
 * commit, commit list, tree, resolve), with the Hub's status codes and headers, plus knobs to inject failures (dropped
 * connections, 5xx, 429) and counters to assert on what was sent.
 *
 * LFS objects are stored per repo in a temp dir (the bench pushes 512 MiB) and survive a commit that
 * never happens, as on the real Hub: that is what lets an interrupted push resume without re-sending
 * complete objects.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, unlink } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export type OrgRole = 'admin' | 'write' | 'contributor' | 'read'
export type TokenRole = 'read' | 'write' | 'fineGrained'

export interface TokenSpec {
  user: string
  orgs?: ReadonlyArray<string | { name: string; role: OrgRole }>
  /** Classic `read`/`write` tokens, or `fineGrained` with `scoped` permissions. Default `write`. */
  role?: TokenRole
  /** Fine-grained tokens only: per user/org entity, e.g. `{ entity: 'acme', permissions: ['repo.write'] }`. */
  scoped?: ReadonlyArray<{ entity: string; permissions: readonly string[] }>
}

/** Endpoint names used by the counters and the failure knobs. */
export type Endpoint =
  | 'whoami'
  | 'create'
  | 'list'
  | 'info'
  | 'preupload'
  | 'batch'
  | 'upload'
  | 'part'
  | 'complete'
  | 'commit'
  | 'commits'
  | 'tree'
  | 'resolve'
  | 'other'

export interface HubFailures {
  /** The next N commits answer 500 without applying anything. */
  commits500?: number
  /** Answer 429 once on this endpoint (any endpoint when `true`). */
  once429?: Endpoint | true
  /** The next `count` requests to `endpoint` (whose path ends with `pathEndsWith`, when given) answer `status`. */
  status?: { endpoint: Endpoint; status: number; count: number; pathEndsWith?: string }
  /** Destroy the socket of the LFS upload during which the total LFS bytes received (since this call) reach N. Once. */
  dropAfterLfsBytes?: number
  /** After the next commit, corrupt what the tree says about `path` (its size, or its LFS sha256). Once. */
  corruptAfterCommit?: { path: string; field: 'size' | 'sha256' }
}

export interface HubServerOptions {
  /** Page size of GET /api/models (the client asks for 500); small values exercise Link pagination. */
  pageSize?: number
  /** Page size of the tree endpoint. */
  treePageSize?: number
  /**
   * Objects bigger than this are answered with the multipart transfer (when the client offers it),
   * in parts of this size; default 16 MiB. Infinity: basic transfer only.
   */
  multipartChunkSize?: number
  /**
   * Files at least this big are LFS (besides binary samples and the default .gitattributes patterns). Default 10 MiB.
   */
  lfsThreshold?: number
  tokens?: Record<string, TokenSpec>
  /** Parent of the temp dir holding LFS objects (default the OS temp dir; the bench uses tmpfs). */
  storeDir?: string
}

export interface TreeFile {
  size: number
  /** git blob oid (sha1) of the content, or of the LFS pointer for LFS files. */
  gitOid: string
  lfs?: { oid: string; size: number; pointerSize: number }
  /** Content of regular (non-LFS) files. */
  content?: Buffer
}

export interface ServerCommit {
  oid: string
  title: string
  parent: string | undefined
  files: Map<string, TreeFile>
  date: string
}

export interface ServerRepo {
  id: string
  private: boolean
  createdAt: string
  lastModified: string
  commits: ServerCommit[]
  /** LFS objects this repo holds (committed or not): sha256 → size. */
  lfs: Map<string, number>
}

export interface HubStats {
  requests: Record<Endpoint, number>
  /** Bytes received on LFS PUTs, all objects and attempts. */
  lfsBytesReceived: number
  /** Per LFS oid: PUT attempts (whole object, or any part) and bytes received over all attempts. */
  objectPuts: Record<string, number>
  /** Per `<oid>:<part number>`: PUT attempts of that part (multipart uploads). */
  partPuts: Record<string, number>
  /** Per `<oid>:<part number>`: bytes received for that part over all attempts. */
  partBytes: Record<string, number>
  objectBytes: Record<string, number>
  /** LFS oids in the order they were completely received and stored. */
  completedObjects: string[]
  /** Commits applied (not counting the initial commit of a new repo) and commits refused with an injected 500. */
  commits: number
  failedCommits: number
  /** When a connection was dropped: the byte count and the objects complete at that moment. */
  dropped?: { atBytes: number; completeObjects: string[] }
}

export interface HubServer {
  url: string
  stats: HubStats
  repos: Map<string, ServerRepo>
  close(): Promise<void>
  setFailures(f: HubFailures): void
  addToken(token: string, spec: TokenSpec): void
  resetStats(): void
  /** Creates a repo directly (e.g. an existing public one), with regular files. */
  seedRepo(id: string, opts?: { private?: boolean; files?: Record<string, string | Buffer> }): ServerRepo
  /** Forgets a repo and deletes its LFS objects (the bench frees disk between runs). */
  deleteRepo(id: string): Promise<void>
  /** Where the LFS object `oid` of `repoId` is stored, for tests that inspect or damage it. */
  objectPath(repoId: string, oid: string): string
  /**
   * Resolves once no LFS upload is in progress: after a client gives up, bytes it already sent can
   * still be arriving, and byte counters read before that would blame them on the next push.
   */
  whenIdle(): Promise<void>
}

const DEFAULT_GITATTRIBUTES = [
  '*.7z',
  '*.arrow',
  '*.bin',
  '*.bz2',
  '*.ckpt',
  '*.ftz',
  '*.gz',
  '*.h5',
  '*.joblib',
  '*.lfs.*',
  '*.mlmodel',
  '*.model',
  '*.msgpack',
  '*.npy',
  '*.npz',
  '*.onnx',
  '*.ot',
  '*.parquet',
  '*.pb',
  '*.pickle',
  '*.pkl',
  '*.pt',
  '*.pth',
  '*.rar',
  '*.safetensors',
  '*.tar.*',
  '*.tar',
  '*.tflite',
  '*.tgz',
  '*.wasm',
  '*.xz',
  '*.zip',
  '*.zst',
]
const GITATTRIBUTES_TEXT = `${DEFAULT_GITATTRIBUTES.map((p) => `${p} filter=lfs diff=lfs merge=lfs -text\n`).join('')}`
const LFS_PATTERNS = DEFAULT_GITATTRIBUTES.map(
  (glob) => new RegExp(`(^|/)${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`),
)

const REPO_NAME = /^[A-Za-z0-9][\w.-]{0,95}$/
const OID = /^[0-9a-f]{64}$/

function sha1(data: Buffer | string): string {
  return createHash('sha1').update(data).digest('hex')
}
function gitBlobOid(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
}
function lfsPointer(oid: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`)
}
function regularFile(content: Buffer): TreeFile {
  return { size: content.length, gitOid: gitBlobOid(content), content }
}
function lfsFile(oid: string, size: number): TreeFile {
  const pointer = lfsPointer(oid, size)
  return { size, gitOid: gitBlobOid(pointer), lfs: { oid, size, pointerSize: pointer.length } }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: string,
  ) {
    super(message)
  }
}

function emptyStats(): HubStats {
  const requests = Object.fromEntries(
    (
      [
        'whoami',
        'create',
        'list',
        'info',
        'preupload',
        'batch',
        'upload',
        'part',
        'complete',
        'commit',
        'commits',
        'tree',
        'resolve',
        'other',
      ] as const
    ).map((e) => [e, 0]),
  ) as Record<Endpoint, number>
  return {
    requests,
    lfsBytesReceived: 0,
    objectPuts: {},
    objectBytes: {},
    partPuts: {},
    partBytes: {},
    completedObjects: [],
    commits: 0,
    failedCommits: 0,
  }
}

async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length
    if (n > limit) throw new HttpError(413, 'Request body too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req)
  try {
    const v: unknown = JSON.parse(body.toString('utf8'))
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new HttpError(400, 'Invalid JSON body')
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  errorCode?: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(
    res,
    status,
    { error: message },
    { ...(errorCode ? { 'X-Error-Code': errorCode } : {}), 'X-Error-Message': message, ...headers },
  )
}

type Auth = { kind: 'anonymous' } | { kind: 'token'; token: string; spec: TokenSpec }

export async function startHubServer(opts: HubServerOptions = {}): Promise<HubServer> {
  const pageSize = opts.pageSize ?? 1000
  const treePageSize = opts.treePageSize ?? 1000
  const lfsThreshold = opts.lfsThreshold ?? 10 * 1024 * 1024
  const chunkSize = opts.multipartChunkSize ?? 16 * 1024 * 1024
  const tokens = new Map<string, TokenSpec>(Object.entries(opts.tokens ?? {}))
  const repos = new Map<string, ServerRepo>()
  const root = await mkdtemp(join(opts.storeDir ?? tmpdir(), 'hub-server-'))
  await mkdir(join(root, 'tmp'))
  await mkdir(join(root, 'parts'))
  // Signs the LFS upload URLs: the client sends no Authorization header there, like with S3 presigned URLs.
  const signingKey = randomBytes(32)
  let failures: HubFailures = {}
  let dropBaseline = 0
  let stats = emptyStats()
  let url = ''
  let activeUploads = 0
  let idleWaiters: Array<() => void> = []
  const handle: HubServer = {
    get url() {
      return url
    },
    get stats() {
      return stats
    },
    repos,
    close,
    setFailures(f) {
      failures = { ...f }
      dropBaseline = stats.lfsBytesReceived
    },
    addToken(token, spec) {
      tokens.set(token, spec)
    },
    resetStats() {
      stats = emptyStats()
      dropBaseline = 0
    },
    seedRepo(id, o = {}) {
      const repo = newRepo(id, o.private ?? false)
      if (o.files && Object.keys(o.files).length > 0) {
        const files = new Map(repo.commits.at(-1)?.files)
        for (const [p, c] of Object.entries(o.files)) files.set(p, regularFile(Buffer.isBuffer(c) ? c : Buffer.from(c)))
        addCommit(repo, 'Seed files', files)
      }
      return repo
    },
    async deleteRepo(id) {
      repos.delete(id)
      await rm(repoDir(id), { recursive: true, force: true })
    },
    objectPath,
    async whenIdle() {
      // Quiet for 50 ms too: an upload the client already abandoned may still be in the socket buffer.
      do {
        if (activeUploads > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve))
        await new Promise((resolve) => setTimeout(resolve, 50))
      } while (activeUploads > 0)
    },
  }

  function uploadEnded(): void {
    activeUploads--
    if (activeUploads === 0) {
      const waiters = idleWaiters
      idleWaiters = []
      for (const w of waiters) w()
    }
  }

  function repoDir(id: string): string {
    return join(root, 'objects', id.replace('/', '__'))
  }
  function objectPath(repoId: string, oid: string): string {
    return join(repoDir(repoId), oid)
  }

  function newRepo(id: string, isPrivate: boolean): ServerRepo {
    const now = new Date().toISOString()
    const repo: ServerRepo = { id, private: isPrivate, createdAt: now, lastModified: now, commits: [], lfs: new Map() }
    repos.set(id, repo)
    addCommit(repo, 'initial commit', new Map([['.gitattributes', regularFile(Buffer.from(GITATTRIBUTES_TEXT))]]))
    return repo
  }

  function addCommit(repo: ServerRepo, title: string, files: Map<string, TreeFile>): ServerCommit {
    const parent = repo.commits.at(-1)?.oid
    const oid = sha1(`${repo.id}\n${parent ?? ''}\n${title}\n${randomBytes(16).toString('hex')}`)
    const commit: ServerCommit = { oid, title, parent, files, date: new Date().toISOString() }
    repo.commits.push(commit)
    repo.lastModified = commit.date
    return commit
  }

  function authOf(req: IncomingMessage): Auth {
    const header = req.headers.authorization
    if (!header) return { kind: 'anonymous' }
    const m = /^Bearer\s+(\S+)$/i.exec(header)
    const spec = m?.[1] ? tokens.get(m[1]) : undefined
    if (!m?.[1] || !spec) throw new HttpError(401, 'Invalid credentials in Authorization header')
    return { kind: 'token', token: m[1], spec }
  }

  function orgRole(spec: TokenSpec, ns: string): OrgRole | undefined {
    for (const o of spec.orgs ?? []) {
      const name = typeof o === 'string' ? o : o.name
      if (name.toLowerCase() === ns.toLowerCase()) return typeof o === 'string' ? 'write' : o.role
    }
    return undefined
  }
  function scopedPermissions(spec: TokenSpec, ns: string): readonly string[] {
    return spec.scoped?.find((s) => s.entity.toLowerCase() === ns.toLowerCase())?.permissions ?? []
  }
  function isMember(spec: TokenSpec, ns: string): boolean {
    return spec.user.toLowerCase() === ns.toLowerCase() || orgRole(spec, ns) !== undefined
  }
  function canRead(auth: Auth, repo: ServerRepo): boolean {
    if (!repo.private) return true
    if (auth.kind !== 'token') return false
    const ns = repo.id.split('/')[0] ?? ''
    if (!isMember(auth.spec, ns)) return false
    if (auth.spec.role === 'fineGrained')
      return scopedPermissions(auth.spec, ns).some((p) => p === 'repo.content.read' || p === 'repo.write')
    return true
  }
  function canWrite(auth: Auth, ns: string): boolean {
    if (auth.kind !== 'token' || auth.spec.role === 'read') return false
    if (!isMember(auth.spec, ns)) return false
    if (auth.spec.role === 'fineGrained' && !scopedPermissions(auth.spec, ns).includes('repo.write')) return false
    const role = auth.spec.user.toLowerCase() === ns.toLowerCase() ? 'admin' : orgRole(auth.spec, ns)
    return role === 'admin' || role === 'write' || role === 'contributor'
  }

  /** The repo, or 404 — also for private repos this token may not see (the Hub does not reveal them). */
  function visibleRepo(auth: Auth, id: string): ServerRepo {
    const repo = repos.get(id)
    if (!repo || !canRead(auth, repo)) throw new HttpError(404, 'Repository not found', 'RepoNotFound')
    return repo
  }
  function writableRepo(auth: Auth, id: string): ServerRepo {
    const repo = visibleRepo(auth, id)
    if (auth.kind !== 'token') throw new HttpError(401, 'You must be authenticated to write to this repo')
    if (!canWrite(auth, id.split('/')[0] ?? '')) throw new HttpError(403, `You don't have the rights to write to ${id}`)
    return repo
  }
  function commitAt(repo: ServerRepo, rev: string): ServerCommit {
    const head = repo.commits.at(-1)
    if (!head) throw new HttpError(404, 'Revision not found', 'RevisionNotFound')
    if (rev === 'main' || rev === 'HEAD') return head
    const c = repo.commits.find((x) => x.oid === rev)
    if (!c) throw new HttpError(404, `Invalid rev id: ${rev}`, 'RevisionNotFound')
    return c
  }

  function injectedFailure(endpoint: Endpoint, path: string): { status: number; message: string } | undefined {
    if (failures.once429 === true || failures.once429 === endpoint) {
      failures.once429 = undefined
      return { status: 429, message: 'You have been rate-limited; you can retry this action later.' }
    }
    const s = failures.status
    if (
      s &&
      s.endpoint === endpoint &&
      s.count > 0 &&
      (s.pathEndsWith === undefined || path.endsWith(s.pathEndsWith))
    ) {
      s.count--
      return { status: s.status, message: `Injected failure (${s.status})` }
    }
    return undefined
  }

  function modelJson(repo: ServerRepo, commit = repo.commits.at(-1)): Record<string, unknown> {
    return {
      _id: sha1(repo.id).slice(0, 24),
      id: repo.id,
      modelId: repo.id,
      author: repo.id.split('/')[0],
      sha: commit?.oid,
      private: repo.private,
      gated: false,
      disabled: false,
      downloads: 0,
      likes: 0,
      tags: [],
      createdAt: repo.createdAt,
      lastModified: repo.lastModified,
      siblings: [...(commit?.files.keys() ?? [])].sort().map((rfilename) => ({ rfilename })),
    }
  }

  // ---- handlers ---------------------------------------------------------------------------------

  function whoami(auth: Auth, res: ServerResponse): void {
    if (auth.kind !== 'token') throw new HttpError(401, 'Invalid credentials in Authorization header')
    const { spec } = auth
    const role = spec.role ?? 'write'
    sendJson(res, 200, {
      type: 'user',
      id: sha1(spec.user).slice(0, 24),
      name: spec.user,
      fullname: spec.user,
      email: `${spec.user}@example.com`,
      emailVerified: true,
      isPro: false,
      canPay: false,
      periodEnd: null,
      avatarUrl: '',
      orgs: (spec.orgs ?? []).map((o) => {
        const name = typeof o === 'string' ? o : o.name
        return {
          type: 'org',
          id: sha1(name).slice(0, 24),
          name,
          fullname: name,
          email: null,
          canPay: false,
          avatarUrl: '',
          periodEnd: null,
          roleInOrg: typeof o === 'string' ? 'write' : o.role,
        }
      }),
      auth: {
        type: 'access_token',
        accessToken: {
          displayName: 'test token',
          role,
          createdAt: new Date(0).toISOString(),
          ...(role === 'fineGrained'
            ? {
                fineGrained: {
                  canReadGatedRepos: false,
                  global: [],
                  scoped: (spec.scoped ?? []).map((s) => ({
                    entity: {
                      _id: sha1(s.entity).slice(0, 24),
                      type: s.entity === spec.user ? 'user' : 'org',
                      name: s.entity,
                    },
                    permissions: s.permissions,
                  })),
                },
              }
            : {}),
        },
      },
    })
  }

  async function createRepoHandler(auth: Auth, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (auth.kind !== 'token') throw new HttpError(401, 'Invalid credentials in Authorization header')
    const body = await readJson(req)
    const type = body.type ?? 'model'
    if (type !== 'model') throw new HttpError(400, 'Only model repos are supported by this test server')
    const name = body.name
    if (typeof name !== 'string' || !REPO_NAME.test(name) || name.includes('..'))
      throw new HttpError(400, 'Invalid repo name')
    const ns = typeof body.organization === 'string' && body.organization ? body.organization : auth.spec.user
    if (!canWrite(auth, ns))
      throw new HttpError(403, `You don't have the rights to create a model under the namespace "${ns}"`)
    const id = `${ns}/${name}`
    if (repos.has(id)) {
      sendJson(
        res,
        409,
        { error: 'You already created this model repo', url: `${url}/${id}` },
        { 'X-Error-Message': 'You already created this model repo' },
      )
      return
    }
    const isPrivate = body.visibility !== undefined ? body.visibility !== 'public' : body.private === true
    newRepo(id, isPrivate)
    sendJson(res, 200, { url: `${url}/${id}`, name: id, id: sha1(id).slice(0, 24) })
  }

  function listModels(auth: Auth, query: URLSearchParams, res: ServerResponse): void {
    const author = query.get('author')?.toLowerCase()
    const search = query.get('search')?.toLowerCase()
    const limit = Math.max(1, Math.min(Number(query.get('limit') ?? pageSize) || pageSize, pageSize))
    const offset = Number(Buffer.from(query.get('cursor') ?? '', 'base64url').toString() || '0') || 0
    const all = [...repos.values()].filter(
      (r) =>
        canRead(auth, r) &&
        (author === undefined || r.id.split('/')[0]?.toLowerCase() === author) &&
        (search === undefined || r.id.toLowerCase().includes(search)),
    )
    const page = all.slice(offset, offset + limit)
    const headers: Record<string, string> = {}
    if (offset + limit < all.length) {
      const next = new URLSearchParams(query)
      next.set('cursor', Buffer.from(String(offset + limit)).toString('base64url'))
      headers.Link = `<${url}/api/models?${next.toString()}>; rel="next"`
    }
    sendJson(
      res,
      200,
      page.map((r) => modelJson(r)),
      headers,
    )
  }

  async function preupload(
    auth: Auth,
    id: string,
    rev: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const repo = writableRepo(auth, id)
    const head = commitAt(repo, rev)
    const body = await readJson(req)
    const files = Array.isArray(body.files) ? (body.files as Array<Record<string, unknown>>) : []
    sendJson(res, 200, {
      commitOid: head.oid,
      files: files.map((f) => {
        const path = String(f.path)
        const size = Number(f.size)
        const sample = Buffer.from(typeof f.sample === 'string' ? f.sample : '', 'base64')
        const lfs = size >= lfsThreshold || sample.includes(0) || LFS_PATTERNS.some((re) => re.test(path))
        return { path, uploadMode: lfs ? 'lfs' : 'regular', shouldIgnore: false, oid: head.files.get(path)?.gitOid }
      }),
    })
  }

  function sign(repoId: string, oid: string, size: number, exp: number, what: string): string {
    return createHmac('sha256', signingKey).update(`${repoId}\n${oid}\n${size}\n${exp}\n${what}`).digest('hex')
  }

  function checkSignature(id: string, oid: string, query: URLSearchParams, what: string): number {
    const size = Number(query.get('size'))
    const exp = Number(query.get('exp'))
    const sig = Buffer.from(query.get('sig') ?? '', 'hex')
    const expected = Buffer.from(sign(id, oid, size, exp, what), 'hex')
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected) || exp * 1000 < Date.now()) {
      throw new HttpError(403, 'Request signature does not match or has expired')
    }
    return size
  }

  async function lfsBatch(auth: Auth, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const repo = writableRepo(auth, id)
    const body = await readJson(req)
    if (body.operation !== 'upload') throw new HttpError(422, 'Only the upload operation is supported')
    const transfers = Array.isArray(body.transfers) ? body.transfers : ['basic']
    if (!transfers.includes('basic')) throw new HttpError(422, 'Only the basic transfer is supported')
    const objects = Array.isArray(body.objects) ? (body.objects as Array<Record<string, unknown>>) : []
    const multipart = transfers.includes('multipart')
    const exp = Math.floor(Date.now() / 1000) + 3600
    const signed = (path: string, oid: string, size: number, what: string) =>
      `${url}${path}?` +
      new URLSearchParams({ size: String(size), exp: String(exp), sig: sign(id, oid, size, exp, what) }).toString()
    const out = objects.map((o) => {
      const oid = String(o.oid)
      const size = Number(o.size)
      if (!OID.test(oid) || !Number.isSafeInteger(size) || size < 0)
        return { oid, size, error: { code: 422, message: 'Invalid object' } }
      if (repo.lfs.get(oid) === size) return { oid, size }
      if (multipart && size > chunkSize) {
        // As the Hub does for big files: one presigned URL per part, keyed 00001…, and the completion URL as href.
        const header: Record<string, string> = { chunk_size: String(chunkSize) }
        for (let n = 1; n <= Math.ceil(size / chunkSize); n++) {
          header[String(n).padStart(5, '0')] = signed(`/_lfs/part/${id}/${oid}/${n}`, oid, size, `part ${n}`)
        }
        const href = signed(`/_lfs/complete/${id}/${oid}`, oid, size, 'complete')
        return { oid, size, authenticated: true, actions: { upload: { href, header, expires_in: 3600 } } }
      }
      return {
        oid,
        size,
        authenticated: true,
        actions: { upload: { href: signed(`/_lfs/upload/${id}/${oid}`, oid, size, 'upload'), expires_in: 3600 } },
      }
    })
    const text = JSON.stringify({ transfer: 'basic', objects: out, hash_algo: 'sha256' })
    res.writeHead(200, { 'Content-Type': 'application/vnd.git-lfs+json', 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  async function lfsUpload(
    id: string,
    oid: string,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const size = checkSignature(id, oid, query, 'upload')
    const repo = repos.get(id)
    if (!repo) throw new HttpError(404, 'Repository not found', 'RepoNotFound')
    stats.objectPuts[oid] = (stats.objectPuts[oid] ?? 0) + 1
    activeUploads++
    try {
      await receiveObject(id, oid, size, repo, req, res)
    } finally {
      uploadEnded()
    }
  }

  async function receiveObject(
    id: string,
    oid: string,
    size: number,
    repo: ServerRepo,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const tmp = join(root, 'tmp', `${oid}.${randomBytes(6).toString('hex')}`)
    const { received, sha } = await receiveBody(req, tmp, oid)
    if (received !== size || sha !== oid) {
      await unlink(tmp).catch(() => {})
      throw new HttpError(
        400,
        received !== size
          ? `Size mismatch: expected ${size}, got ${received}`
          : 'sha256 of the uploaded content does not match the oid',
      )
    }
    await storeObject(id, oid, size, repo, tmp)
    res.writeHead(200, { ETag: `"${oid}"`, 'Content-Length': 0 })
    res.end()
  }

  async function storeObject(id: string, oid: string, size: number, repo: ServerRepo, tmp: string): Promise<void> {
    await mkdir(repoDir(id), { recursive: true })
    await rename(tmp, objectPath(id, oid))
    if (repos.get(id) === repo && repo.lfs.get(oid) !== size) {
      repo.lfs.set(oid, size)
      stats.completedObjects.push(oid)
    }
  }

  // Streams a request body into `tmp`, counting it for the stats and the drop knob; sha256 and md5 of it.
  async function receiveBody(
    req: IncomingMessage,
    tmp: string,
    oid: string,
    part?: number,
  ): Promise<{ received: number; sha: string; md5: string }> {
    const out = createWriteStream(tmp)
    const hash = createHash('sha256')
    const md5 = createHash('md5')
    let received = 0
    let dropped = false
    const written = new Promise<void>((resolve, reject) => {
      out.on('finish', resolve)
      out.on('error', reject)
    })
    written.catch(() => {})
    await new Promise<void>((resolve, reject) => {
      req.on('data', (chunk: Buffer) => {
        if (dropped) return
        received += chunk.length
        stats.lfsBytesReceived += chunk.length
        stats.objectBytes[oid] = (stats.objectBytes[oid] ?? 0) + chunk.length
        if (part !== undefined)
          stats.partBytes[`${oid}:${part}`] = (stats.partBytes[`${oid}:${part}`] ?? 0) + chunk.length
        hash.update(chunk)
        md5.update(chunk)
        if (!out.write(chunk)) {
          req.pause()
          out.once('drain', () => req.resume())
        }
        const dropAt = failures.dropAfterLfsBytes
        if (dropAt !== undefined && stats.lfsBytesReceived - dropBaseline >= dropAt) {
          failures.dropAfterLfsBytes = undefined
          dropped = true
          stats.dropped = { atBytes: stats.lfsBytesReceived, completeObjects: [...stats.completedObjects] }
          req.socket.destroy()
          reject(new Error('dropped'))
        }
      })
      req.on('end', resolve)
      req.on('close', () => {
        if (!req.complete) reject(new Error('client went away'))
      })
      req.on('error', reject)
    }).catch(async (e: unknown) => {
      out.destroy()
      await unlink(tmp).catch(() => {})
      throw e
    })
    out.end()
    await written
    return { received, sha: hash.digest('hex'), md5: md5.digest('hex') }
  }

  function partsDir(id: string, oid: string): string {
    return join(root, 'parts', id.replace('/', '__'), oid)
  }

  // One part of a multipart upload: kept until the completion call; its ETag is its md5, as on S3.
  async function lfsPart(
    id: string,
    oid: string,
    n: number,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const size = checkSignature(id, oid, query, `part ${n}`)
    const count = Math.ceil(size / chunkSize)
    if (!Number.isInteger(n) || n < 1 || n > count)
      throw new HttpError(400, `No part ${n} in an upload of ${count} parts`)
    const expected = Math.min(chunkSize, size - (n - 1) * chunkSize)
    if (!repos.get(id)) throw new HttpError(404, 'Repository not found', 'RepoNotFound')
    stats.objectPuts[oid] = (stats.objectPuts[oid] ?? 0) + 1
    stats.partPuts[`${oid}:${n}`] = (stats.partPuts[`${oid}:${n}`] ?? 0) + 1
    activeUploads++
    try {
      const tmp = join(root, 'tmp', `${oid}.${n}.${randomBytes(6).toString('hex')}`)
      const { received, md5 } = await receiveBody(req, tmp, oid, n)
      if (received !== expected) {
        await unlink(tmp).catch(() => {})
        throw new HttpError(400, `Part ${n}: expected ${expected} bytes, got ${received}`)
      }
      await mkdir(partsDir(id, oid), { recursive: true })
      await rename(tmp, join(partsDir(id, oid), String(n)))
      res.writeHead(200, { ETag: `"${md5}"`, 'Content-Length': 0 })
      res.end()
    } finally {
      uploadEnded()
    }
  }

  // The completion call: every part is there with the ETag the client got; the object's sha256 is its oid.
  async function lfsComplete(
    id: string,
    oid: string,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const size = checkSignature(id, oid, query, 'complete')
    const repo = repos.get(id)
    if (!repo) throw new HttpError(404, 'Repository not found', 'RepoNotFound')
    const body = await readJson(req)
    const parts = Array.isArray(body.parts) ? (body.parts as Array<{ partNumber?: unknown; etag?: unknown }>) : []
    const count = Math.ceil(size / chunkSize)
    if (body.oid !== oid || parts.length !== count) throw new HttpError(400, `Expected ${count} parts for ${oid}`)
    const tmp = join(root, 'tmp', `${oid}.complete.${randomBytes(6).toString('hex')}`)
    const out = createWriteStream(tmp)
    const hash = createHash('sha256')
    let total = 0
    try {
      for (let n = 1; n <= count; n++) {
        const given = parts.find((p) => Number(p.partNumber) === n)
        const file = join(partsDir(id, oid), String(n))
        const md5 = createHash('md5')
        for await (const chunk of createReadStream(file).on('error', () => {}) as AsyncIterable<Buffer>) {
          md5.update(chunk)
          hash.update(chunk)
          total += chunk.length
          if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', () => resolve(undefined)))
        }
        if (!given || String(given.etag).replace(/"/g, '') !== md5.digest('hex'))
          throw new HttpError(400, `Part ${n} is missing or its ETag does not match`)
      }
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())))
    } catch (e) {
      out.destroy()
      await unlink(tmp).catch(() => {})
      throw e instanceof HttpError ? e : new HttpError(400, `Parts of ${oid} are missing`)
    }
    if (total !== size || hash.digest('hex') !== oid) {
      await unlink(tmp).catch(() => {})
      throw new HttpError(400, 'The assembled object does not match its oid and size')
    }
    await storeObject(id, oid, size, repo, tmp)
    await rm(partsDir(id, oid), { recursive: true, force: true })
    sendJson(res, 200, { oid, size })
  }

  function commitList(auth: Auth, id: string, rev: string, query: URLSearchParams, res: ServerResponse): void {
    const repo = visibleRepo(auth, id)
    const head = commitAt(repo, rev)
    const chain: ServerCommit[] = []
    for (let c: ServerCommit | undefined = head; c; c = repo.commits.find((x) => x.oid === c?.parent)) chain.push(c)
    const limit = Math.max(1, Number(query.get('limit') ?? 100) || 100)
    const offset = Number(query.get('p') ?? 0) || 0
    const page = chain.slice(offset * limit, offset * limit + limit)
    const headers: Record<string, string> = {}
    if ((offset + 1) * limit < chain.length) {
      const next = new URLSearchParams(query)
      next.set('p', String(offset + 1))
      headers.Link = `<${url}/api/models/${id}/commits/${encodeURIComponent(rev)}?${next.toString()}>; rel="next"`
    }
    const user = { user: 'hub', avatar: '' }
    sendJson(
      res,
      200,
      page.map((c) => ({ id: c.oid, title: c.title, message: c.title, authors: [user], date: c.date })),
      headers,
    )
  }

  async function commitHandler(
    auth: Auth,
    id: string,
    rev: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const repo = writableRepo(auth, id)
    const body = (await readBody(req)).toString('utf8')
    if ((failures.commits500 ?? 0) > 0) {
      failures.commits500 = (failures.commits500 ?? 1) - 1
      stats.failedCommits++
      throw new HttpError(500, "Internal Error - We're working hard to fix this as soon as possible!")
    }
    if (rev !== 'main') throw new HttpError(400, 'Only the main branch is supported by this test server')
    const head = commitAt(repo, 'main')
    const files = new Map(head.files)
    let title = 'Commit'
    for (const [i, line] of body.split('\n').entries()) {
      if (!line.trim()) continue
      let entry: { key?: unknown; value?: Record<string, unknown> }
      try {
        entry = JSON.parse(line) as typeof entry
      } catch {
        throw new HttpError(400, `Invalid NDJSON on line ${i + 1}`)
      }
      const v = entry.value ?? {}
      const path = typeof v.path === 'string' ? v.path : ''
      if (entry.key !== 'header' && (!path || path.startsWith('/') || path.split('/').includes('..')))
        throw new HttpError(400, `Invalid path on line ${i + 1}`)
      switch (entry.key) {
        case 'header':
          if (i !== 0) throw new HttpError(400, 'The header must come first')
          title = typeof v.summary === 'string' ? v.summary : title
          if (typeof v.parentCommit === 'string' && v.parentCommit && v.parentCommit !== head.oid) {
            throw new HttpError(412, 'A commit has happened since. Please refresh and try again.')
          }
          break
        case 'file':
          if (v.encoding !== 'base64' || typeof v.content !== 'string')
            throw new HttpError(400, `Unsupported file encoding for ${path}`)
          files.set(path, regularFile(Buffer.from(v.content, 'base64')))
          break
        case 'lfsFile': {
          const oid = String(v.oid)
          const size = Number(v.size)
          if (v.algo !== 'sha256' || repo.lfs.get(oid) !== size) {
            throw new HttpError(
              422,
              `Your push was rejected because an LFS pointer pointed to a file that does not exist (${path})`,
            )
          }
          files.set(path, lfsFile(oid, size))
          break
        }
        case 'deletedFile':
          if (!files.delete(path)) throw new HttpError(404, `File not found: ${path}`, 'EntryNotFound')
          break
        case 'deletedFolder':
          for (const p of [...files.keys()]) if (p.startsWith(path.replace(/\/?$/, '/'))) files.delete(p)
          break
        default:
          throw new HttpError(400, `Unknown NDJSON key on line ${i + 1}`)
      }
    }
    const corrupt = failures.corruptAfterCommit
    if (corrupt) {
      failures.corruptAfterCommit = undefined
      const f = files.get(corrupt.path)
      if (f) {
        const bad = corrupt.field === 'size' ? { ...f, size: f.size + 1 } : f
        if (corrupt.field === 'size' && bad.lfs) bad.lfs = { ...bad.lfs, size: bad.lfs.size + 1 }
        if (corrupt.field === 'sha256' && bad.lfs)
          bad.lfs = { ...bad.lfs, oid: createHash('sha256').update('corrupt').digest('hex') }
        if (corrupt.field === 'sha256' && !bad.lfs) bad.gitOid = sha1('corrupt')
        files.set(corrupt.path, bad)
      }
    }
    const commit = addCommit(repo, title, files)
    stats.commits++
    sendJson(res, 200, {
      success: true,
      commitOid: commit.oid,
      commitUrl: `${url}/${id}/commit/${commit.oid}`,
      hookOutput: '',
    })
  }

  function tree(auth: Auth, id: string, rev: string, path: string, query: URLSearchParams, res: ServerResponse): void {
    const repo = visibleRepo(auth, id)
    const commit = commitAt(repo, rev)
    const recursive = query.get('recursive') === 'true'
    const prefix = path ? `${path.replace(/\/$/, '')}/` : ''
    if (path && commit.files.has(path.replace(/\/$/, ''))) throw new HttpError(400, `${path} is a file, not a folder`)
    const dirs = new Set<string>()
    const entries: Array<Record<string, unknown>> = []
    for (const [p, f] of commit.files) {
      if (!p.startsWith(prefix)) continue
      const rest = p.slice(prefix.length).split('/')
      // Directories between the listed folder and the file.
      for (let d = 1; d < rest.length; d++) {
        if (!recursive && d > 1) break
        dirs.add(prefix + rest.slice(0, d).join('/'))
      }
      if (!recursive && rest.length > 1) continue
      entries.push({ type: 'file', oid: f.gitOid, size: f.size, path: p, ...(f.lfs ? { lfs: f.lfs } : {}) })
    }
    if (path && entries.length === 0 && dirs.size === 0)
      throw new HttpError(404, `Entry not found: ${path}`, 'EntryNotFound')
    for (const d of dirs) entries.push({ type: 'directory', oid: sha1(`${commit.oid}:${d}`), size: 0, path: d })
    entries.sort((a, b) =>
      a.type === b.type ? String(a.path).localeCompare(String(b.path)) : a.type === 'directory' ? -1 : 1,
    )
    const offset = Number(Buffer.from(query.get('cursor') ?? '', 'base64url').toString() || '0') || 0
    const page = entries.slice(offset, offset + treePageSize)
    const headers: Record<string, string> = {}
    if (offset + treePageSize < entries.length) {
      const next = new URLSearchParams(query)
      next.set('cursor', Buffer.from(String(offset + treePageSize)).toString('base64url'))
      headers.Link =
        `<${url}/api/models/${id}/tree/${encodeURIComponent(rev)}${path ? `/${path}` : ''}` +
        `?${next.toString()}>; rel="next"`
    }
    sendJson(res, 200, page, headers)
  }

  function resolve(auth: Auth, id: string, rev: string, path: string, req: IncomingMessage, res: ServerResponse): void {
    const repo = visibleRepo(auth, id)
    const commit = commitAt(repo, rev)
    const file = commit.files.get(path)
    if (!file) throw new HttpError(404, 'Entry not found', 'EntryNotFound')
    const total = file.lfs ? file.lfs.size : file.size
    const headers: Record<string, string | number> = {
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      'X-Repo-Commit': commit.oid,
      ETag: `"${file.lfs ? file.lfs.oid : file.gitOid}"`,
    }
    if (file.lfs) {
      headers['X-Linked-ETag'] = `"${file.lfs.oid}"`
      headers['X-Linked-Size'] = file.lfs.size
    }
    let start = 0
    let end = total - 1
    let status = 200
    const range = req.headers.range
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim())
      if (!m || (m[1] === '' && m[2] === '')) throw new HttpError(416, 'Invalid range')
      if (total === 0) {
        headers['Content-Range'] = 'bytes */0'
      } else {
        if (m[1] === '') {
          start = Math.max(0, total - Number(m[2]))
        } else {
          start = Number(m[1])
          end = m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1)
        }
        if (start >= total || start > end) {
          res.writeHead(416, { 'Content-Range': `bytes */${total}` })
          res.end()
          return
        }
        status = 206
        headers['Content-Range'] = `bytes ${start}-${end}/${total}`
      }
    }
    const length = total === 0 ? 0 : end - start + 1
    headers['Content-Length'] = length
    res.writeHead(status, headers)
    if (req.method === 'HEAD' || length === 0) {
      res.end()
      return
    }
    if (file.content) {
      res.end(file.content.subarray(start, end + 1))
      return
    }
    const lfsOid = file.lfs?.oid ?? ''
    createReadStream(objectPath(id, lfsOid), { start, end })
      .on('error', () => res.destroy())
      .pipe(res)
  }

  // ---- routing ----------------------------------------------------------------------------------

  const REPO = '([^/]+/[^/]+?)'
  const routes: Array<{
    method: string[]
    re: RegExp
    endpoint: Endpoint
    run: (m: RegExpExecArray, ctx: Ctx) => Promise<void> | void
  }> = []
  interface Ctx {
    req: IncomingMessage
    res: ServerResponse
    query: URLSearchParams
    auth: () => Auth
  }
  const route = (
    method: string[],
    re: string,
    endpoint: Endpoint,
    run: (m: RegExpExecArray, ctx: Ctx) => Promise<void> | void,
  ) => routes.push({ method, re: new RegExp(`^${re}$`), endpoint, run })
  const g = (m: RegExpExecArray, i: number) => decodeURIComponent(m[i] ?? '')

  route(['GET'], '/api/whoami-v2', 'whoami', (_m, c) => whoami(c.auth(), c.res))
  route(['POST'], '/api/repos/create', 'create', (_m, c) => createRepoHandler(c.auth(), c.req, c.res))
  route(['GET'], '/api/models', 'list', (_m, c) => listModels(c.auth(), c.query, c.res))
  route(['POST'], `/api/models/${REPO}/preupload/([^/]+)`, 'preupload', (m, c) =>
    preupload(c.auth(), g(m, 1), g(m, 2), c.req, c.res),
  )
  route(['POST'], `/api/models/${REPO}/commit/([^/]+)`, 'commit', (m, c) =>
    commitHandler(c.auth(), g(m, 1), g(m, 2), c.req, c.res),
  )
  route(['GET'], `/api/models/${REPO}/tree/([^/]+)(?:/(.*))?`, 'tree', (m, c) =>
    tree(c.auth(), g(m, 1), g(m, 2), g(m, 3), c.query, c.res),
  )
  route(['GET'], `/api/models/${REPO}/revision/([^/]+)`, 'info', (m, c) => {
    const repo = visibleRepo(c.auth(), g(m, 1))
    sendJson(c.res, 200, modelJson(repo, commitAt(repo, g(m, 2))))
  })
  route(['GET'], `/api/models/${REPO}`, 'info', (m, c) =>
    sendJson(c.res, 200, modelJson(visibleRepo(c.auth(), g(m, 1)))),
  )
  route(['POST'], `/${REPO}\\.git/info/lfs/objects/batch`, 'batch', (m, c) => lfsBatch(c.auth(), g(m, 1), c.req, c.res))
  route(['PUT'], `/_lfs/upload/${REPO}/([0-9a-f]{64})`, 'upload', (m, c) =>
    lfsUpload(g(m, 1), g(m, 2), c.query, c.req, c.res),
  )
  route(['PUT'], `/_lfs/part/${REPO}/([0-9a-f]{64})/(\\d+)`, 'part', (m, c) =>
    lfsPart(g(m, 1), g(m, 2), Number(g(m, 3)), c.query, c.req, c.res),
  )
  route(['POST'], `/_lfs/complete/${REPO}/([0-9a-f]{64})`, 'complete', (m, c) =>
    lfsComplete(g(m, 1), g(m, 2), c.query, c.req, c.res),
  )
  route(['GET'], `/api/models/${REPO}/commits/([^/]+)`, 'commits', (m, c) =>
    commitList(c.auth(), g(m, 1), g(m, 2), c.query, c.res),
  )
  route(['GET', 'HEAD'], `/${REPO}/resolve/([^/]+)/(.+)`, 'resolve', (m, c) =>
    resolve(c.auth(), g(m, 1), g(m, 2), g(m, 3), c.req, c.res),
  )

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost')
    const r = routes.find((x) => x.method.includes(req.method ?? 'GET') && x.re.test(u.pathname))
    const endpoint: Endpoint = r?.endpoint ?? 'other'
    stats.requests[endpoint]++
    const fail = injectedFailure(endpoint, u.pathname)
    const m = r?.re.exec(u.pathname)
    const run = async (): Promise<void> => {
      if (fail) {
        req.resume()
        sendError(res, fail.status, fail.message, undefined, fail.status === 429 ? { 'Retry-After': '0' } : {})
        return
      }
      if (!r || !m) throw new HttpError(404, 'Not Found')
      let auth: Auth | undefined
      await r.run(m, { req, res, query: u.searchParams, auth: () => (auth ??= authOf(req)) })
    }
    run().catch((e: unknown) => {
      if (e instanceof HttpError) {
        req.resume()
        sendError(res, e.status, e.message, e.errorCode)
      } else if (!res.headersSent && !req.socket.destroyed) {
        sendError(res, 500, 'Internal Error')
      } else {
        res.destroy()
      }
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  async function close(): Promise<void> {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rm(root, { recursive: true, force: true })
  }

  return handle
}
