import { ModelshipError } from '../../engine/errors.js'

/**
 * HF_ENDPOINT without trailing slashes, checked: an http(s) URL without credentials, else CONFIG.
 * Apart from the backend so that the registry can be checked (and described) before @huggingface/hub loads.
 */
export function normalizeEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim().replace(/\/+$/, '')
  let u: URL
  try {
    u = new URL(trimmed)
  } catch {
    throw new ModelshipError('CONFIG', `HF_ENDPOINT ${JSON.stringify(endpoint)} is not a URL`)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new ModelshipError('CONFIG', `HF_ENDPOINT ${JSON.stringify(endpoint)} must be an http(s) URL`)
  if (u.username || u.password)
    throw new ModelshipError('CONFIG', 'HF_ENDPOINT must not contain credentials; use HF_TOKEN')
  return trimmed
}

/** The page of a repo file on the Hub (where a person opens it; the Hub renders SVGs and the card there). */
export function hubFileUrl(endpoint: string, modelId: string, path: string): string {
  return `${endpoint}/${modelId}/blob/main/${path.split('/').map(encodeURIComponent).join('/')}`
}
