import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  buildCommand,
  composeArgs,
  composeVersionCommand,
  configImagesCommand,
  containerImageCommand,
  engineCommand,
  healthOf,
  imageIdCommand,
  parsePsJson,
  psCommand,
  secretOverrideYaml,
  upCommand,
} from '../pipeline/compose/docker.js'
import { ModelshipError } from '../pipeline/engine/errors.js'

const files = ['docker-compose.yml', 'docker-compose.production.yml']

describe('command builders', () => {
  it('composeArgs passes every file with -f, in order', () => {
    expect(composeArgs(files)).toEqual(['compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.production.yml'])
    expect(() => composeArgs([])).toThrow(ModelshipError)
  })

  it('buildCommand passes the model as one build-arg element', () => {
    expect(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'pratikoai/intent-classifier-v1.2', service: 'app' })).toEqual([
      'docker', 'compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.production.yml',
      'build', '--build-arg', 'HF_INTENT_MODEL=pratikoai/intent-classifier-v1.2', 'app',
    ])
  })

  it('buildCommand puts the secret override after the user files', () => {
    expect(
      buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'mdeberta', service: 'app', secretOverride: '/tmp/ms-secret.yml' }),
    ).toEqual([
      'docker', 'compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.production.yml', '-f', '/tmp/ms-secret.yml',
      'build', '--build-arg', 'HF_INTENT_MODEL=mdeberta', 'app',
    ])
  })

  it('up, ps and config --images', () => {
    const pre = ['docker', 'compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.production.yml']
    expect(upCommand({ files, service: 'app' })).toEqual([...pre, 'up', '-d', '--no-deps', '--force-recreate', 'app'])
    expect(psCommand({ files, service: 'app' })).toEqual([...pre, 'ps', '--format', 'json', 'app'])
    expect(configImagesCommand({ files, service: 'app' })).toEqual([...pre, 'config', '--images', 'app'])
  })

  it('inspect and engine probes', () => {
    expect(imageIdCommand('proj-app')).toEqual(['docker', 'image', 'inspect', '--format', '{{.Id}}', 'proj-app'])
    expect(containerImageCommand('abc123')).toEqual(['docker', 'inspect', '--format', '{{.Image}}', 'abc123'])
    expect(engineCommand()).toEqual(['docker', 'info', '--format', '{{.ServerVersion}}'])
    expect(composeVersionCommand()).toEqual(['docker', 'compose', 'version', '--short'])
  })

  it('rejects service and build-arg names the docker CLI would read as options', () => {
    expect(() => upCommand({ files, service: '--rm' })).toThrow(/not a compose service name/)
    expect(() => psCommand({ files, service: 'app x' })).toThrow(ModelshipError)
    expect(() => buildCommand({ files, buildArg: 'A=B', modelId: 'a/b', service: 'app' })).toThrow(/not a build argument name/)
  })
})

describe('secretOverrideYaml', () => {
  it('declares the hf_token secret for the service build, sourced from HF_TOKEN', () => {
    expect(parse(secretOverrideYaml('app'))).toEqual({
      services: { app: { build: { secrets: ['hf_token'] } } },
      secrets: { hf_token: { environment: 'HF_TOKEN' } },
    })
  })
})

describe('parsePsJson', () => {
  const a = { ID: 'c1', Name: 'proj-app-1', Service: 'app', State: 'running', Health: 'healthy', Image: 'proj-app', ExitCode: 0, Publishers: [] }
  const b = { ID: 'c2', Name: 'proj-db-1', Service: 'db', State: 'running', Health: '', Image: 'postgres:16' }
  const pick = ({ ID, Name, Service, State, Health, Image }: Record<string, unknown>) => ({ ID, Name, Service, State, Health, Image })

  it('reads one object per line (compose >= 2.21)', () => {
    expect(parsePsJson(`${JSON.stringify(a)}\n${JSON.stringify(b)}\n`)).toEqual([pick(a), pick(b)])
  })

  it('reads one JSON array (older compose)', () => {
    expect(parsePsJson(JSON.stringify([a, b]))).toEqual([pick(a), pick(b)])
    expect(parsePsJson(JSON.stringify([a], null, 2))).toEqual([pick(a)])
  })

  it('empty output and an empty array mean no containers', () => {
    expect(parsePsJson('')).toEqual([])
    expect(parsePsJson('  \n')).toEqual([])
    expect(parsePsJson('[]\n')).toEqual([])
  })

  it('handles CRLF and skips non-JSON lines, keeps only string fields', () => {
    expect(parsePsJson(`WARN[0000] something\r\n${JSON.stringify({ ...a, Health: 7 })}\r\n`)).toEqual([
      { ID: 'c1', Name: 'proj-app-1', Service: 'app', State: 'running', Image: 'proj-app' },
    ])
  })

  it('throws STEP_FAILED on a broken JSON line', () => {
    expect(() => parsePsJson('{"ID": "x"\n{"ID": "y"}')).toThrow(expect.objectContaining({ code: 'STEP_FAILED' }))
    expect(() => parsePsJson('"just a string"')).toThrow(ModelshipError)
  })
})

describe('healthOf', () => {
  const e = (Service: string, State: string, Health?: string) => (Health === undefined ? { Service, State } : { Service, State, Health })
  it.each([
    [[e('app', 'running', 'healthy')], 'healthy'],
    [[e('app', 'running', 'unhealthy')], 'unhealthy'],
    [[e('app', 'running', 'starting')], 'starting'],
    [[e('app', 'running')], 'running'],
    [[e('app', 'running', '')], 'running'],
    [[e('app', 'exited')], 'exited'],
    [[e('app', 'dead')], 'exited'],
    [[e('app', 'restarting')], 'starting'],
    [[e('app', 'created')], 'starting'],
    [[e('db', 'running', 'healthy')], 'missing'],
    [[], 'missing'],
    [[e('app', 'running', 'healthy'), e('app', 'running', 'starting')], 'starting'],
    [[e('app', 'running', 'healthy'), e('app', 'exited')], 'exited'],
    [[e('app', 'Running', 'Healthy')], 'healthy'],
  ] as const)('%j → %s', (entries, expected) => {
    expect(healthOf(entries, 'app')).toBe(expected)
  })
})
