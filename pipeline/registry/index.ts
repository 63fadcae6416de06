import type { Config } from '../config/config.js'
import { createLocalRegistry } from './local.js'
import type { Redactor } from '../secrets/redact.js'
import { hubFileUrl, normalizeEndpoint } from './hf/endpoint.js'
import type { HfRegistryOptions } from './hf/index.js'
import type { ModelRegistry } from './types.js'

/** The registry backend the config names (`registry: hf | local`). */
export function createRegistry(
  config: Config,
  opts: { hfToken: string | undefined; now: () => Date; log?: (line: string) => void; redact?: Redactor },
): ModelRegistry {
  const redact = opts.redact ? { redact: opts.redact } : {}
  if (config.registry === 'local') {
    return createLocalRegistry({
      root: config.registry_dir,
      org: config.model.org,
      prefix: config.model.prefix,
      now: opts.now,
      ...redact,
    })
  }
  return lazyHfRegistry({
    endpoint: config.hf_endpoint,
    token: opts.hfToken,
    org: config.model.org,
    prefix: config.model.prefix,
    ...(opts.log ? { log: opts.log } : {}),
    ...redact,
  })
}

/**
 * The Hub backend, imported on its first call: @huggingface/hub costs ~20 ms to import, which commands that
 * never talk to the Hub (`current`, `history`) need not pay. HF_ENDPOINT is still checked here, before any
 * step runs (CONFIG), and describe() needs no import.
 */
function lazyHfRegistry(o: HfRegistryOptions): ModelRegistry {
  const endpoint = normalizeEndpoint(o.endpoint)
  let loaded: Promise<ModelRegistry> | undefined
  const hub = (): Promise<ModelRegistry> =>
    (loaded ??= import('./hf/index.js').then(({ createHfRegistry }) => createHfRegistry(o)))
  return {
    kind: 'hf',
    // The same words as the Hub backend's own describe(), without loading it.
    describe: () => `Hugging Face Hub ${endpoint} (org ${o.org})`,
    locate: (modelId, path) => hubFileUrl(endpoint, modelId, path),
    checkAccess: async (access) => (await hub()).checkAccess(access),
    listModels: async () => (await hub()).listModels(),
    getModel: async (modelId) => (await hub()).getModel(modelId),
    readFile: async (modelId, path) => (await hub()).readFile(modelId, path),
    readManifest: async (modelId) => (await hub()).readManifest(modelId),
    download: async (modelId, destDir) => (await hub()).download(modelId, destDir),
    push: async (req) => (await hub()).push(req),
  }
}
