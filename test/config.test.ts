import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultConfig } from '../pipeline/config/config.js'
import { envLayer } from '../pipeline/config/layers.js'
import { loadConfig } from '../pipeline/config/load.js'
import { validateConfig } from '../pipeline/config/validate.js'
import { deploySettingsOf } from '../pipeline/deploy/settings.js'
import { ModelshipError } from '../pipeline/engine/errors.js'

const WS = '/ws'
const defaults = { origin: 'defaults', values: defaultConfig() }

describe('validateConfig', () => {
  it('accepts the defaults and fills derived values', () => {
    const { config, errors } = validateConfig([defaults], WS)
    expect(errors).toEqual([])
    expect(config.model.org).toBe('pratikoai')
    expect(config.registry).toBe('hf')
    expect(config.registry_dir).toBe('/ws/.modelship/registry')
    expect(config.environments.qa).toMatchObject({
      compose: ['docker-compose.yml', 'docker-compose.qa.yml'],
      edit: ['docker-compose.qa.yml'],
      env_files: [],
      env_file: [],
      hosts: [],
    })
    expect(config.hf_endpoint).toBe('https://huggingface.co')
  })

  it('layers: file < env < flags, each error naming key and origin', () => {
    const file = {
      origin: 'modelship.yaml',
      values: { model: { org: 'fromfile' }, registry: 'local', gates: { min_accuracy: 2 } },
    }
    const env = envLayer({ HF_ORG: 'fromenv', HF_ENDPOINT: 'http://127.0.0.1:9/', MODELSHIP_REGISTRY: 'bogus' })
    const { config, errors } = validateConfig([defaults, file, env], WS)
    expect(config.model.org).toBe('fromenv')
    expect(config.hf_endpoint).toBe('http://127.0.0.1:9')
    expect(errors).toContain('gates.min_accuracy (modelship.yaml): expected a number from 0 to 1, got number 2')
    expect(errors).toContain('registry (environment): expected hf or local, got string "bogus"')
  })

  it('rejects shell strings where argv is expected and paths leaving the workspace', () => {
    const file = {
      origin: 'modelship.yaml',
      values: {
        deploy: { verify: 'curl http://x | sh' },
        environments: { production: { compose: ['../other/docker-compose.yml'] } },
      },
    }
    const { errors } = validateConfig([defaults, file], WS)
    expect(errors.some((e) => e.startsWith('deploy.verify (modelship.yaml): expected an argv list'))).toBe(true)
    expect(errors.some((e) => e.includes('"../other/docker-compose.yml" must be a path inside the workspace'))).toBe(
      true,
    )
  })

  it(
    "an environment's verify/model_check: absent or null keeps deploy.*, false turns it off, an argv replaces " + 'it',
    () => {
      const file = {
        origin: 'modelship.yaml',
        values: {
          deploy: {
            verify: ['curl', '-fsS', 'http://localhost/health'],
            model_check: ['curl', 'http://localhost/model'],
          },
          environments: {
            production: { compose: ['docker-compose.yml'], verify: null },
            qa: { compose: ['docker-compose.yml'], verify: false, model_check: ['true'] },
            dev: { compose: ['docker-compose.yml'], model_check: false },
          },
        },
      }
      const { config, errors } = validateConfig([defaults, file], WS)
      expect(errors).toEqual([])
      const of = (env: string) => {
        const s = deploySettingsOf(config, env)
        return [s.verify, s.modelCheck]
      }
      expect(of('production')).toEqual([
        ['curl', '-fsS', 'http://localhost/health'],
        ['curl', 'http://localhost/model'],
      ])
      expect(of('qa')).toEqual([null, ['true']])
      expect(of('dev')).toEqual([['curl', '-fsS', 'http://localhost/health'], null])
      const bad = validateConfig(
        [
          defaults,
          { origin: 'modelship.yaml', values: { environments: { qa: { compose: ['a.yml'], verify: true } } } },
        ],
        WS,
      )
      expect(bad.errors.some((e) => e.startsWith('environments.qa.verify (modelship.yaml)'))).toBe(true)
    },
  )

  it('an empty env value does not override the file', () => {
    const file = { origin: 'modelship.yaml', values: { model: { org: 'acme' } } }
    const { config } = validateConfig([defaults, file, envLayer({ HF_ORG: '' })], WS)
    expect(config.model.org).toBe('acme')
  })
})

describe('loadConfig', () => {
  it('names file, line and column of a YAML error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-config-'))
    await writeFile(join(dir, 'modelship.yaml'), 'model:\n  org: [unclosed\nregistry: local\n')
    const err = await loadConfig({ workspace: dir, env: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModelshipError)
    expect((err as ModelshipError).code).toBe('CONFIG')
    expect((err as ModelshipError).message).toMatch(new RegExp(`^${join(dir, 'modelship.yaml')}:\\d+:\\d+: YAML error`))
  })

  it('reports every invalid key, first in the message, the rest in details', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-config-'))
    await writeFile(join(dir, 'modelship.yaml'), 'deploy:\n  mode: kubernetes\ngates:\n  min_per_label: 0\n')
    const err = (await loadConfig({ workspace: dir, env: {} }).catch((e: unknown) => e)) as ModelshipError
    expect(err.message).toBe(
      'invalid configuration: deploy.mode (modelship.yaml:2): expected compose, image, github, swarm, none or auto, ' +
        'got string "kubernetes"',
    )
    expect(err.details).toContain(
      'gates.min_per_label (modelship.yaml:4): expected a whole number from 1 to 1000000000, got number 0',
    )
    expect(err.exitCode).toBe(2)
  })
})

describe('workspace and .env', () => {
  it('--workspace beats MODELSHIP_WORKSPACE beats the working directory; a missing one is a usage error', async () => {
    const { resolveWorkspace } = await import('../scripts/workspace.js')
    const a = await mkdtemp(join(tmpdir(), 'ms-ws-a-'))
    const b = await mkdtemp(join(tmpdir(), 'ms-ws-b-'))
    expect(resolveWorkspace(a, { MODELSHIP_WORKSPACE: b }, '/')).toBe(a)
    expect(resolveWorkspace(undefined, { MODELSHIP_WORKSPACE: b }, '/')).toBe(b)
    expect(resolveWorkspace(undefined, {}, a)).toBe(a)
    expect(() => resolveWorkspace(undefined, { MODELSHIP_WORKSPACE: join(a, 'nope') }, '/')).toThrow(
      `workspace ${join(a, 'nope')}: no such directory (MODELSHIP_WORKSPACE)`,
    )
  })

  it('.env fills what the real environment does not set, and never overrides it', async () => {
    const { loadEnv } = await import('../scripts/workspace.js')
    const dir = await mkdtemp(join(tmpdir(), 'ms-env-'))
    await writeFile(join(dir, '.env'), 'HF_ORG=from-dotenv\nHF_REPO_PREFIX=from-dotenv\n')
    const env = loadEnv(dir, { HF_ORG: 'from-shell' })
    expect(env.HF_ORG).toBe('from-shell')
    expect(env.HF_REPO_PREFIX).toBe('from-dotenv')
    const config = await loadConfig({ workspace: dir, env })
    expect(config.model.org).toBe('from-shell')
    expect(config.model.prefix).toBe('from-dotenv')
  })
})

describe('feedback source', () => {
  it(
    '`database` and `$DATABASE_URL` read DATABASE_URL; URLs pass through; paths resolve in the ' + 'workspace',
    async () => {
      const { resolveFeedbackSource } = await import('../pipeline/config/feedback-source.js')
      const { config } = validateConfig([defaults], WS)
      const withSource = (source: string) => ({ ...config, feedback: { source, query: null } })
      const db = 'postgres://u:pw@db:5432/app'
      expect(resolveFeedbackSource(withSource('database'), db)).toBe(db)
      expect(resolveFeedbackSource(withSource('$DATABASE_URL'), db)).toBe(db)
      expect(resolveFeedbackSource(withSource('https://app/api/v1/labeling/export?format=csv'), db)).toBe(
        'https://app/api/v1/labeling/export?format=csv',
      )
      expect(resolveFeedbackSource(withSource('./data/f.jsonl'), db)).toBe('/ws/data/f.jsonl')
      expect(() => resolveFeedbackSource(withSource('database'), undefined)).toThrow(
        'feedback.source is database but DATABASE_URL is not set',
      )
    },
  )
})

describe('numeric settings (issue 25 item 4)', () => {
  it('refuses each out-of-range trainer argument naming the key, the value and the range', () => {
    const file = {
      origin: 'modelship.yaml',
      values: {
        trainer: { args: { 'test-size': 1, learning_rate: 0, batch_size: 2.5, seed: -3, dropout: Number.NaN } },
      },
    }
    const { errors } = validateConfig([defaults, file], WS)
    expect(errors).toEqual([
      'trainer.args.test-size (modelship.yaml): expected a number above 0 and below 1, got number 1',
      'trainer.args.learning_rate (modelship.yaml): expected a number above 0 and up to 1000, got number 0',
      'trainer.args.batch_size (modelship.yaml): expected a whole number from 1 to 1000000, got number 2.5',
      'trainer.args.seed (modelship.yaml): expected a whole number from 0 to 4294967295, got number -3',
      'trainer.args.dropout (modelship.yaml): expected a finite number, got number .nan',
    ])
  })

  it('accepts numbers in range, and strings and booleans as before', () => {
    const file = {
      origin: 'modelship.yaml',
      values: { trainer: { args: { epochs: 3, 'test-size': 0.2, backend: 'baseline', fast: true } } },
    }
    expect(validateConfig([defaults, file], WS).errors).toEqual([])
  })
})
