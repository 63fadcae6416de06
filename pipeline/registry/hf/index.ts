import { whoAmI } from '@huggingface/hub'
import { createRetrier } from '../../net/index.js'
import { createRedactor, type Redactor } from '../../secrets/redact.js'
import type { ModelRegistry } from '../types.js'
import { assertMayRead, assertMayWrite, type WhoAmI } from './access.js'
import { hubFileUrl, normalizeEndpoint } from './endpoint.js'
import { createHubContext } from './context.js'
import { pushModel } from './push.js'
import { download, downloadModel, listVersions, readManifest, repoInfo } from './reads.js'

export { resolveHfToken, type HfToken } from './token.js'

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
  /** Masks secrets in messages, log lines and progress (default: the token and secret-looking patterns). */
  redact?: Redactor
}

/** Hugging Face Hub registry: private repos `<org>/<prefix>-v<major>.<minor>` pushed with @huggingface/hub. */
export function createHfRegistry(opts: HfRegistryOptions): ModelRegistry {
  const endpoint = normalizeEndpoint(opts.endpoint)
  const redact = opts.redact ?? createRedactor()
  redact.add(opts.token)
  const log = opts.log ?? (() => {})
  const retrier = createRetrier({
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
    log: (line) => log(redact(`Hub request ${line}`)),
  })
  const ctx = createHubContext({
    endpoint,
    org: opts.org,
    prefix: opts.prefix,
    token: opts.token,
    log,
    redact,
    retrier,
    baseFetch: opts.fetch ?? globalThis.fetch,
  })

  return {
    kind: 'hf',
    describe: () => `Hugging Face Hub ${endpoint} (org ${opts.org})`,
    async checkAccess(access = 'write') {
      let who: WhoAmI
      try {
        who = (await whoAmI({ ...ctx.common(access) })) as unknown as WhoAmI
      } catch (e) {
        throw ctx.fail(e, 'checking HF_TOKEN with')
      }
      if (access === 'write') assertMayWrite(who, opts.org)
      else assertMayRead(who, opts.org)
    },
    locate: (modelId, path) => hubFileUrl(endpoint, modelId, path),
    listModels: () => listVersions(ctx),
    async getModel(modelId) {
      return (await repoInfo(ctx, modelId))?.model
    },
    async readFile(modelId, path) {
      const blob = await download(ctx, modelId, path)
      return blob === undefined ? undefined : blob.text()
    },
    readManifest: (modelId) => readManifest(ctx, modelId),
    download: (modelId, destDir) => downloadModel(ctx, modelId, destDir),
    push: (req) => pushModel(ctx, req),
  }
}
