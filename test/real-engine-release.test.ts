import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { type HubServer, startHubServer } from './hub-server/index.js'
import { type DockerEngine, importBaseImage, requireEngineOrSkip, startEngine } from './support/docker-engine.js'
import { imageRecord, makeRealAppWorkspace, type Served, servedBy } from './support/real-app.js'
import { cleanup, cliEnv, FIXTURES, runCli, snapshotTree, TRAINER } from './support/workspace.js'

// Releases of the example-shaped app on a real Docker engine (one for the file, started here): what the engine
// runs afterwards is asserted from the engine itself (docker ps/inspect/history, GET /model inside the container).

const V1_0 = 'pratikoai/intent-classifier-v1.0'
const V1_1 = 'pratikoai/intent-classifier-v1.1'
const TOKEN = `hf_${randomBytes(16).toString('hex')}`
const PROD = 'examples/app/docker-compose.production.yml'
const UNLOADABLE = join(FIXTURES, 'trainers', 'unloadable_model_trainer.py')

describe.skipIf(!requireEngineOrSkip())('releases on a real Docker engine', () => {
  let engine: DockerEngine
  let hub: HubServer
  const workspaces: string[] = []
  let env: Record<string, string>

  beforeAll(async () => {
    ;[engine, hub] = await Promise.all([startEngine({ name: 'release' }), startHubServer()])
    hub.addToken(TOKEN, { user: 'alice', orgs: [{ name: 'pratikoai', role: 'write' }] })
    await importBaseImage(engine)
    env = cliEnv({ ...engine.env, MODELSHIP_EXAMPLE_BASE_IMAGE: 'modelship-test/python:3', HF_TOKEN: TOKEN })
  })
  afterAll(async () => {
    for (const ws of workspaces) cleanup(ws)
    await Promise.all([engine?.stop(), hub?.close()])
  })

  const workspace = (project: string, config: Record<string, unknown> = {}) => {
    const ws = makeRealAppWorkspace(project, config)
    workspaces.push(ws)
    return ws
  }
  const run = (ws: string, args: string[], extra: Record<string, string> = {}) =>
    runCli([...args, '--workspace', ws, '--yes'], { env: { ...env, ...extra }, timeoutMs: 400_000 })
  const noToken = (text: string) => expect(text.includes(TOKEN), 'the token leaked').toBe(false)
  /** The workspace's trainer for the next runs (modelship.yaml, as a user would edit it). */
  const useTrainer = (ws: string, script: string) => {
    const path = join(ws, 'modelship.yaml')
    const doc = parseDocument(readFileSync(path, 'utf8'))
    doc.setIn(['trainer', 'command'], doc.createNode(['python3', script]))
    writeFileSync(path, doc.toString())
  }

  describe('registry local: the version files reach the build as an image, no network', () => {
    const project = 'local'
    let ws: string
    let v1: Served
    beforeAll(() => {
      ws = workspace(project)
    }, 400_000)

    it('a release builds, deploys and verifies: the container serves v1.0, its env says so, no token in the ' +
      'image', async () => {
      const r = await run(ws, ['release'])
      expect(r.code, r.stderr).toBe(0)
      v1 = (await servedBy(engine, project))!
      expect(v1.model).toMatchObject({ model: V1_0, backend: 'baseline' })
      expect(v1.envModel).toBe(V1_0)
      // The files image modelship built for the build; the app image holds no token in its history or config.
      const files = await engine.docker(['images', '-q', 'modelship-model-files:pratikoai-intent-classifier-v1.0'])
      expect(files.trim()).not.toBe('')
      const record = await imageRecord(engine, v1.imageId)
      expect(record).toContain('fetch_model.py')
      noToken(record)
      noToken(r.stdout + r.stderr)
      for (const [, text] of snapshotTree(ws)) noToken(text)
    }, 400_000)

    it('an unhealthy new container (its model does not load): exit 5, files as before, v1.0 serving ' +
      'again', async () => {
      const before = readFileSync(join(ws, PROD), 'utf8')
      useTrainer(ws, UNLOADABLE)
      const r = await run(ws, ['release', '--force'])
      useTrainer(ws, TRAINER)
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toContain(`rolled back to ${V1_0}`)
      expect(readFileSync(join(ws, PROD), 'utf8')).toBe(before)
      const now = (await servedBy(engine, project))!
      expect(now.model.model).toBe(V1_0)
      expect(now.envModel).toBe(V1_0)
      expect(now.containerId).not.toBe(v1.containerId) // rebuilt and recreated, not left alone
    }, 400_000)

    it('rollback goes back to the model before v1.0; promote --deploy brings v1.0 back', async () => {
      const back = await run(ws, ['rollback'])
      expect(back.code, back.stderr).toBe(0)
      const base = (await servedBy(engine, project))!
      expect(base.model).toMatchObject({ model: 'mdeberta', backend: 'builtin-stand-in' })
      expect(base.envModel).toBe('mdeberta')

      const promote = await run(ws, ['promote', 'v1.0', '--deploy'])
      expect(promote.code, promote.stderr).toBe(0)
      const again = (await servedBy(engine, project))!
      expect(again.model.model).toBe(V1_0)
      expect(again.envModel).toBe(V1_0)
      expect(readFileSync(join(ws, PROD), 'utf8')).toContain(`\${HF_INTENT_MODEL:-${V1_0}}`)
    }, 400_000)
  })

  describe('registry hf: the build downloads from HF_ENDPOINT with the token as a build secret', () => {
    const project = 'hub'
    let ws: string
    let v1: Served
    beforeAll(() => {
      ws = workspace(project, { registry: 'hf' })
    }, 400_000)

    it('the container serves the version the build downloaded; the token is in no image record', async () => {
      const r = await run(ws, ['release'], { HF_ENDPOINT: hub.url })
      expect(r.code, r.stderr).toBe(0)
      expect(hub.repos.get(V1_0)?.private).toBe(true)
      v1 = (await servedBy(engine, project))!
      expect(v1.model).toMatchObject({ model: V1_0, backend: 'baseline' })
      expect(v1.envModel).toBe(V1_0)
      const record = await imageRecord(engine, v1.imageId)
      expect(record).toContain(`HF_ENDPOINT=${hub.url}`) // a build arg: not a secret
      noToken(record)
      noToken(r.stdout + r.stderr)
    }, 400_000)

    it('a build that cannot fetch the model fails: exit 1, files byte-identical, the running container ' +
      'unchanged', async () => {
      const before = snapshotTree(join(ws, 'examples', 'app'))
      // Only model.json, which only the image build downloads (modelship reads metrics.json and the card).
      hub.setFailures({ status: { endpoint: 'resolve', status: 500, count: 1000, pathEndsWith: '/model.json' } })
      const r = await run(ws, ['release', '--force'], { HF_ENDPOINT: hub.url })
      hub.setFailures({})
      expect(r.code, r.stderr).toBe(1)
      expect(r.stdout + r.stderr).toMatch(/fetch_model: cannot fetch .*resolve\/main/)
      expect(snapshotTree(join(ws, 'examples', 'app'))).toEqual(before)
      const now = (await servedBy(engine, project))!
      expect(now).toEqual(v1)
      expect(hub.repos.get(V1_1)?.private).toBe(true) // pushed before the build: a resumed run reuses it
    }, 400_000)
  })
})
