import { createReadStream } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Retrier } from '../../net/index.js'
import { DiskBlob } from './disk-blob.js'

const STREAM_CHUNK = 1024 * 1024

/** What @huggingface/hub adds to the init of an LFS PUT (a whole object, or one part of a multipart upload). */
interface ProgressHint {
  path?: string
  part?: number
}

/**
 * PUTs a byte range of a file from disk with node:http: the body is a file read stream piped into the
 * request, so memory holds one chunk whatever the size. `onSent` gets the bytes sent so far.
 */
export function putFromDisk(
  url: URL,
  blob: DiskBlob,
  o: {
    headers?: RequestInit['headers'] | undefined
    signal?: AbortSignal | undefined
    onSent?: (bytes: number) => void
  },
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest
    const headers: Record<string, string> = Object.fromEntries(new Headers(o.headers ?? {}))
    headers['content-length'] = String(blob.size)
    const req = request(url, { method: 'PUT', headers, ...(o.signal ? { signal: o.signal } : {}) }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => resolve(toResponse(res, Buffer.concat(chunks))))
    })
    req.on('error', reject)
    if (blob.size === 0) {
      req.end()
      return
    }
    const source = createReadStream(blob.path, { start: blob.start, end: blob.end - 1, highWaterMark: STREAM_CHUNK })
    let sent = 0
    source.on('data', (chunk) => {
      sent += chunk.length
      o.onSent?.(sent)
    })
    source.on('error', (e) => req.destroy(e))
    req.on('close', () => source.destroy())
    source.pipe(req)
  })
}

function toResponse(res: IncomingMessage, body: Buffer): Response {
  const headers = new Headers()
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one)
  }
  const status = res.statusCode ?? 500
  const empty = status === 204 || status === 304 || body.length === 0
  return new Response(empty ? null : body, { status, statusText: res.statusMessage ?? '', headers })
}

/**
 * The fetch @huggingface/hub is given for a push. Every call goes through the one retry helper; an
 * LFS PUT whose body is a DiskBlob (a whole object, or one part of a multipart upload) is streamed
 * from disk instead of through fetch, and retried alone when it fails, so a drop re-sends one part.
 * `onFileBytes(path, bytes)` reports the bytes of a file sent so far (parts summed, retries not
 * counted twice); `inspect` sees JSON/NDJSON request bodies (the commit names each LFS file's sha256).
 */
export function createUploadFetch(o: {
  base: typeof fetch
  retrier: Retrier
  onFileBytes?: (path: string, bytes: number) => void
  inspect?: (url: string, body: string) => void
}): typeof fetch {
  const retrying = o.retrier.wrapFetch(o.base)
  const sentByFile = new Map<string, Map<number, number>>()
  const upload = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
    if (typeof init?.body === 'string') o.inspect?.(url.href, init.body)
    if (!(init?.method === 'PUT' && init.body instanceof DiskBlob)) return retrying(input, init)
    const blob = init.body
    const hint = (init as { progressHint?: ProgressHint }).progressHint
    const path = hint?.path
    const part = hint?.part ?? 0
    const onSent = (bytes: number): void => {
      if (path === undefined || !o.onFileBytes) return
      const parts = sentByFile.get(path) ?? new Map<number, number>()
      sentByFile.set(path, parts)
      parts.set(part, bytes)
      let total = 0
      for (const b of parts.values()) total += b
      o.onFileBytes(path, total)
    }
    const what = `PUT ${url.pathname}${hint?.part !== undefined ? ` (part ${hint.part + 1})` : ''}`
    return o.retrier.runHttp({ what, host: url.host, signal: init.signal ?? undefined }, () =>
      putFromDisk(url, blob, { headers: init.headers, signal: init.signal ?? undefined, onSent }),
    )
  }
  return upload as typeof fetch
}
