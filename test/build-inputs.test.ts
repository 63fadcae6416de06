import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../pipeline/config/load.js'
import { buildInputsOf, isLoopbackUrl, modelFilesImageOf } from '../pipeline/deploy/build-inputs.js'
import { deploySettingsOf } from '../pipeline/deploy/settings.js'
import { receivesModelFiles } from '../pipeline/doctor/dockerfile.js'
import { cleanup, makeWorkspace, REPO } from './support/workspace.js'

// What a build gets besides the model's build arg, per registry: pure, from the config and the app's Dockerfile.

const CLEAN = join(REPO, 'test', 'fixtures', 'doctor', 'clean') // its Dockerfile takes MODELSHIP_MODEL_FILES
const APP = join(REPO, 'test', 'fixtures', 'app') // its Dockerfile does not
const V1 = 'pratikoai/intent-classifier-v1.0'
const cleanups: string[] = []
afterEach(() => {
  while (cleanups.length) cleanup(cleanups.pop()!)
})

async function inputs(app: string, env: Record<string, string>, modelId = V1) {
  const ws = makeWorkspace({ app, config: app === CLEAN ? { environments: { production: { env_file: [] } } } : {} })
  cleanups.push(ws)
  const config = await loadConfig({ workspace: ws, env })
  return buildInputsOf(config, deploySettingsOf(config, 'production'), { modelId, secret: false, runDir: '/run/r1' })
}

describe('build inputs', () => {
  it('registry local: the version files as an image, when the Dockerfile can take them', async () => {
    expect(await inputs(CLEAN, {})).toEqual({
      buildArgs: { MODELSHIP_MODEL_FILES: 'modelship-model-files:pratikoai-intent-classifier-v1.0' },
      secret: false,
      hostNetwork: false,
      modelFiles: {
        image: 'modelship-model-files:pratikoai-intent-classifier-v1.0',
        dir: '/run/r1/model-files/pratikoai-intent-classifier-v1.0',
        dockerfile: '/run/r1/model-files/pratikoai-intent-classifier-v1.0.Dockerfile',
      },
    })
    // A base alias has no files; a Dockerfile that cannot take them gets none (doctor warns).
    expect((await inputs(CLEAN, {}, 'mdeberta')).modelFiles).toBeUndefined()
    expect(await inputs(APP, {})).toEqual({ buildArgs: {}, secret: false, hostNetwork: false })
  })

  it(
    'registry hf: HF_ENDPOINT as a build arg when not the public Hub, the host network when it is ' + 'loopback',
    async () => {
      expect(await inputs(CLEAN, { MODELSHIP_REGISTRY: 'hf' })).toEqual({
        buildArgs: {},
        secret: false,
        hostNetwork: false,
      })
      const local = await inputs(CLEAN, { MODELSHIP_REGISTRY: 'hf', HF_ENDPOINT: 'http://127.0.0.1:4567' })
      expect(local).toEqual({ buildArgs: { HF_ENDPOINT: 'http://127.0.0.1:4567' }, secret: false, hostNetwork: true })
      const remote = await inputs(CLEAN, { MODELSHIP_REGISTRY: 'hf', HF_ENDPOINT: 'https://hub.example.org' })
      expect(remote.hostNetwork).toBe(false)
    },
  )

  it('helpers', () => {
    expect(isLoopbackUrl('http://localhost:8080')).toBe(true)
    expect(isLoopbackUrl('http://[::1]:8080')).toBe(true)
    expect(isLoopbackUrl('http://127.1.2.3')).toBe(true)
    expect(isLoopbackUrl('https://127.example.org')).toBe(false)
    expect(modelFilesImageOf('Org/Some Model_v1.0')).toBe('modelship-model-files:org-some-model_v1.0')
    expect(receivesModelFiles('ARG MODELSHIP_MODEL_FILES=scratch\nFROM ${MODELSHIP_MODEL_FILES} AS m\nFROM x\n')).toBe(
      true,
    )
    // Declared inside a stage, or never used in a FROM: the build cannot use it.
    expect(receivesModelFiles('FROM x\nARG MODELSHIP_MODEL_FILES\n')).toBe(false)
    expect(receivesModelFiles('ARG MODELSHIP_MODEL_FILES=scratch\nFROM x\n')).toBe(false)
  })
})
