import type { Config } from '../config/config.js'
import { createHfRegistry } from './hf/index.js'
import { createLocalRegistry } from './local.js'
import type { Redactor } from '../secrets/redact.js'
import type { ModelRegistry } from './types.js'

/** The registry backend the config names (`registry: hf | local`). */
export function createRegistry(
  config: Config,
  opts: { hfToken: string | undefined; now: () => Date; log?: (line: string) => void; redact?: Redactor },
): ModelRegistry {
  const redact = opts.redact ? { redact: opts.redact } : {}
  if (config.registry === 'local') {
    return createLocalRegistry({ root: config.registry_dir, org: config.model.org, prefix: config.model.prefix, now: opts.now, ...redact })
  }
  return createHfRegistry({
    endpoint: config.hf_endpoint,
    token: opts.hfToken,
    org: config.model.org,
    prefix: config.model.prefix,
    ...(opts.log ? { log: opts.log } : {}),
    ...redact,
  })
}
