/**
 * The Hub-compatible server in a worker thread, for the benchmark: a real Hub runs elsewhere, so its
 * hashing, disk writes and garbage collection must not share the client's thread (they would add the
 * same time to both sides of a comparison and flatten the ratio).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { startHubServer, type HubFailures, type HubServerOptions, type HubStats, type TokenSpec } from './index.js'

/** What the benchmark needs from a server in another thread; every call is a message round trip. */
export interface WorkerHubServer {
  url: string
  addToken(token: string, spec: TokenSpec): Promise<void>
  setFailures(f: HubFailures): Promise<void>
  /** Counters, and the LFS objects (oid → size) `repoId` holds. */
  snapshot(repoId?: string): Promise<{ stats: HubStats; lfs: Record<string, number> }>
  whenIdle(): Promise<void>
  deleteRepo(id: string): Promise<void>
  close(): Promise<void>
}

const MARK = '__modelshipHubServerWorker'

type Call = {
  id: number
  method: 'addToken' | 'setFailures' | 'snapshot' | 'whenIdle' | 'deleteRepo' | 'close'
  args: unknown[]
}

export async function startHubServerInWorker(opts: HubServerOptions = {}): Promise<WorkerHubServer> {
  const self = import.meta.url
  const workerData = { [MARK]: true, opts }
  // Run from TypeScript (tsx), the worker needs tsx's loader too: it is not inherited by workers.
  const worker = self.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return ` +
          `import(${JSON.stringify(self)}) })`,
        { eval: true, workerData },
      )
    : new Worker(new URL(self), { workerData })
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let next = 0
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject)
    worker.once('message', (m: { url: string }) => resolve(m.url))
  })
  worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(m.id)
    pending.delete(m.id)
    if (m.error !== undefined) p?.reject(new Error(m.error))
    else p?.resolve(m.result)
  })
  worker.on('error', (e) => {
    for (const p of pending.values()) p.reject(e)
    pending.clear()
  })
  const call = <T>(method: Call['method'], ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      worker.postMessage({ id, method, args } satisfies Call)
    })
  return {
    url,
    addToken: (token, spec) => call('addToken', token, spec),
    setFailures: (f) => call('setFailures', f),
    snapshot: (repoId) => call('snapshot', repoId),
    whenIdle: () => call('whenIdle'),
    deleteRepo: (id) => call('deleteRepo', id),
    close: async () => {
      await call('close')
      await worker.terminate()
    },
  }
}

const data = workerData as { [MARK]?: boolean; opts?: HubServerOptions } | null
if (!isMainThread && parentPort && data?.[MARK]) {
  const port = parentPort
  const server = await startHubServer(data.opts ?? {})
  port.on('message', (m: Call) => {
    const run = async (): Promise<unknown> => {
      switch (m.method) {
        case 'addToken':
          return server.addToken(m.args[0] as string, m.args[1] as TokenSpec)
        case 'setFailures':
          return server.setFailures(m.args[0] as HubFailures)
        case 'snapshot': {
          const repo = typeof m.args[0] === 'string' ? server.repos.get(m.args[0]) : undefined
          return { stats: server.stats, lfs: Object.fromEntries(repo?.lfs ?? []) }
        }
        case 'whenIdle':
          return server.whenIdle()
        case 'deleteRepo':
          return server.deleteRepo(m.args[0] as string)
        case 'close':
          return server.close()
      }
    }
    run().then(
      (result) => port.postMessage({ id: m.id, result }),
      (e: unknown) => port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) }),
    )
  })
  port.postMessage({ url: server.url })
}
