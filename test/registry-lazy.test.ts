import { describe, expect, it, onTestFinished } from 'vitest'
import type { Config } from '../pipeline/config/config.js'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { createHfRegistry } from '../pipeline/registry/hf/index.js'
import { createRegistry } from '../pipeline/registry/index.js'
import { startHubServer } from './hub-server/index.js'

// Only the keys createRegistry reads.
const hfConfig = (endpoint: string) =>
  ({ registry: 'hf', hf_endpoint: endpoint, model: { org: 'pratikoai', prefix: 'intent-classifier' } }) as Config
const opts = { hfToken: undefined, now: () => new Date() }

describe('the Hub registry, loaded on first use', () => {
  it('describes itself as the Hub backend does, without loading it', () => {
    const endpoint = ' https://hub.example.com/// '
    const direct = createHfRegistry({ endpoint, token: undefined, org: 'pratikoai', prefix: 'intent-classifier' })
    expect(createRegistry(hfConfig(endpoint), opts).describe()).toBe(direct.describe())
  })

  it('refuses a bad HF_ENDPOINT when created (CONFIG), before any call', () => {
    for (const endpoint of ['not a url', 'ftp://hub.example.com', 'https://user:pw@hub.example.com']) {
      let error: unknown
      try {
        createRegistry(hfConfig(endpoint), opts)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ModelshipError)
      expect((error as ModelshipError).code).toBe('CONFIG')
      expect((error as ModelshipError).message).toMatch(/^HF_ENDPOINT/)
      expect((error as ModelshipError).message).not.toContain('pw@')
    }
  })

  it('works through to the Hub on first use: access check, listing, a missing repo', async () => {
    const server = await startHubServer()
    onTestFinished(() => server.close())
    const token = 'hf_lazyregistrytoken0123456789'
    server.addToken(token, { user: 'alice', orgs: [{ name: 'pratikoai', role: 'write' }] })
    server.seedRepo('pratikoai/intent-classifier-v1.0', { files: { 'config.json': '{}' } })
    const registry = createRegistry(hfConfig(server.url), { ...opts, hfToken: token })
    await registry.checkAccess()
    expect((await registry.listModels()).map((m) => m.id)).toEqual(['pratikoai/intent-classifier-v1.0'])
    expect(await registry.getModel('pratikoai/intent-classifier-v9.9')).toBeUndefined()
    const denied = createRegistry(hfConfig(server.url), { ...opts, hfToken: 'hf_notaknowntoken0123456789' })
    await expect(denied.checkAccess()).rejects.toMatchObject({ code: 'AUTH' })
  })
})
