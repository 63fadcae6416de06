import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { buildOverrideYaml, healthOf, parsePsJson, serviceImageOf } from '../pipeline/compose/docker.js'
import {
  type ComposeTarget,
  composeBuildCommand,
  composeGlobalArgs,
  composeConfigCommand,
  composePullCommand,
  composePsCommand,
  composePushCommand,
  composeUpCommand,
  composeVersionCommand as composeVersionOn,
  containerImageCommand as containerImageOn,
  engineInfoCommand,
  formatHostCommand,
  imageIdCommand as imageIdOn,
} from '../pipeline/deploy/commands.js'
import { parseEnvFileSetting } from '../pipeline/deploy/env-file.js'
import { DEFAULT_HOST, type Host, hostLabel, parseHost, parseHosts } from '../pipeline/deploy/host.js'
import { ModelshipError } from '../pipeline/engine/errors.js'

const files = ['docker-compose.yml', 'docker-compose.production.yml']

describe('command builders on the current engine (the default host)', () => {
  const local: ComposeTarget = { host: DEFAULT_HOST, files }
  const buildCommand = (o: { buildArg: string; modelId: string; service: string; buildOverride?: string }) =>
    composeBuildCommand({ target: local, ...o }).argv

  it('composeGlobalArgs passes every file with -f, in order', () => {
    expect(composeGlobalArgs({ files })).toEqual([
      'compose',
      '-f',
      'docker-compose.yml',
      '-f',
      'docker-compose.production.yml',
    ])
    expect(() => composeGlobalArgs({ files: [] })).toThrow(ModelshipError)
  })

  it('buildCommand passes the model as one build-arg element', () => {
    expect(
      buildCommand({ buildArg: 'HF_INTENT_MODEL', modelId: 'pratikoai/intent-classifier-v1.2', service: 'app' }),
    ).toEqual([
      'docker',
      'compose',
      '-f',
      'docker-compose.yml',
      '-f',
      'docker-compose.production.yml',
      'build',
      '--build-arg',
      'HF_INTENT_MODEL=pratikoai/intent-classifier-v1.2',
      'app',
    ])
  })

  it('buildCommand adds the extra build args before the model', () => {
    const argv = composeBuildCommand({
      target: local,
      buildArg: 'HF_INTENT_MODEL',
      modelId: 'o/m-v1.0',
      service: 'app',
      buildArgs: { HF_ENDPOINT: 'http://127.0.0.1:9/', MODELSHIP_MODEL_FILES: 'modelship-model-files:o-m-v1.0' },
    }).argv
    expect(argv.slice(-7)).toEqual([
      '--build-arg',
      'HF_ENDPOINT=http://127.0.0.1:9/',
      '--build-arg',
      'MODELSHIP_MODEL_FILES=modelship-model-files:o-m-v1.0',
      '--build-arg',
      'HF_INTENT_MODEL=o/m-v1.0',
      'app',
    ])
  })

  it('buildCommand puts the secret override after the user files', () => {
    expect(
      buildCommand({
        buildArg: 'HF_INTENT_MODEL',
        modelId: 'mdeberta',
        service: 'app',
        buildOverride: '/tmp/ms-secret.yml',
      }),
    ).toEqual([
      'docker',
      'compose',
      '-f',
      'docker-compose.yml',
      '-f',
      'docker-compose.production.yml',
      '-f',
      '/tmp/ms-secret.yml',
      'build',
      '--build-arg',
      'HF_INTENT_MODEL=mdeberta',
      'app',
    ])
  })

  it('up, ps and config --images', () => {
    const pre = ['docker', 'compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.production.yml']
    expect(composeUpCommand({ target: local, service: 'app', forceRecreate: true }).argv).toEqual([
      ...pre,
      'up',
      '-d',
      '--no-deps',
      '--force-recreate',
      'app',
    ])
    expect(composePsCommand({ target: local, service: 'app' }).argv).toEqual([...pre, 'ps', '--format', 'json', 'app'])
    expect(composeConfigCommand({ target: local, show: 'images', service: 'app' }).argv).toEqual([
      ...pre,
      'config',
      '--images',
      'app',
    ])
  })

  it('inspect and engine probes', () => {
    expect(imageIdOn({ host: DEFAULT_HOST, image: 'proj-app' }).argv).toEqual([
      'docker',
      'image',
      'inspect',
      '--format',
      '{{.Id}}',
      'proj-app',
    ])
    expect(containerImageOn({ host: DEFAULT_HOST, containerId: 'abc123', show: 'id' }).argv).toEqual([
      'docker',
      'inspect',
      '--format',
      '{{.Image}}',
      'abc123',
    ])
    expect(engineInfoCommand(DEFAULT_HOST).argv).toEqual(['docker', 'info', '--format', '{{.ServerVersion}}'])
    expect(composeVersionOn(DEFAULT_HOST).argv).toEqual(['docker', 'compose', 'version', '--short'])
  })

  it('rejects service and build-arg names the docker CLI would read as options', () => {
    expect(() => composeUpCommand({ target: local, service: '--rm', forceRecreate: true })).toThrow(
      /not a compose service name/,
    )
    expect(() => composePsCommand({ target: local, service: 'app x' })).toThrow(ModelshipError)
    expect(() => buildCommand({ buildArg: 'A=B', modelId: 'a/b', service: 'app' })).toThrow(/not a build argument name/)
  })
})

describe('serviceImageOf', () => {
  // The shape compose 2.26 prints for `config app` of the example: app builds (no image key) and depends on db and
  // redis, whose images `config --images app` would list too, in no fixed order.
  const config = [
    'name: app',
    'services:',
    '  app:',
    '    build:',
    '      context: /w',
    '    depends_on:',
    '      db: { condition: service_healthy, required: true }',
    '  db:',
    '    image: pgvector/pgvector:pg16',
    '  redis:',
    '    image: redis:7-alpine',
    '  worker:',
    '    image: ghcr.io/o/app:model-v1.3',
    '',
  ].join('\n')
  it("is the service's image, else compose's default <project>-<service> for a built one", () => {
    expect(serviceImageOf(config, 'app')).toBe('app-app')
    expect(serviceImageOf(config, 'worker')).toBe('ghcr.io/o/app:model-v1.3')
    expect(serviceImageOf(config, 'nope')).toBeUndefined()
  })
})

describe('buildOverrideYaml', () => {
  it('declares the hf_token secret for the service build, sourced from HF_TOKEN', () => {
    expect(parse(buildOverrideYaml('app', { secret: true, hostNetwork: false }))).toEqual({
      services: { app: { build: { secrets: ['hf_token'] } } },
      secrets: { hf_token: { environment: 'HF_TOKEN' } },
    })
  })
})

describe('parsePsJson', () => {
  const a = {
    ID: 'c1',
    Name: 'proj-app-1',
    Service: 'app',
    State: 'running',
    Health: 'healthy',
    Image: 'proj-app',
    ExitCode: 0,
    Publishers: [],
  }
  const b = { ID: 'c2', Name: 'proj-db-1', Service: 'db', State: 'running', Health: '', Image: 'postgres:16' }
  const pick = ({ ID, Name, Service, State, Health, Image }: Record<string, unknown>) => ({
    ID,
    Name,
    Service,
    State,
    Health,
    Image,
  })

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
  const e = (Service: string, State: string, Health?: string) =>
    Health === undefined ? { Service, State } : { Service, State, Health }
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

describe('hosts', () => {
  it('parses context names and ssh URLs; nothing means the current context', () => {
    expect(
      parseHosts(['prod-a', 'ssh://deploy@10.0.0.7:2222', 'ssh://edge.example.com'], 'environments.production.hosts'),
    ).toEqual([
      { kind: 'context', name: 'prod-a' },
      { kind: 'ssh', url: 'ssh://deploy@10.0.0.7:2222' },
      { kind: 'ssh', url: 'ssh://edge.example.com' },
    ])
    expect(parseHosts(undefined, 'h')).toEqual([DEFAULT_HOST])
    expect(parseHosts(null, 'h')).toEqual([DEFAULT_HOST])
    expect(parseHosts([], 'h')).toEqual([DEFAULT_HOST])
    expect(parseHost('ssh://deploy@[::1]:22/', 'h')).toEqual({ kind: 'ssh', url: 'ssh://deploy@[::1]:22' })
  })

  it.each([
    [
      'tcp://10.0.0.7:2376',
      /environments.qa.hosts\[0\]: "tcp:\/\/10.0.0.7:2376" is not an ssh:\/\/user@host\[:port\] URL/,
    ],
    ['ssh://user:pw@host', /is not an ssh:\/\/user@host/],
    ['ssh://deploy@host:99999', /is not an ssh:\/\/user@host/],
    ['ssh://deploy@host/path', /is not an ssh:\/\/user@host/],
    ['--context', /"--context" is not a Docker context name/],
    ['prod a', /is not a Docker context name/],
    ['', /expected a Docker context name or ssh:\/\/user@host\[:port\], got ""/],
    [7, /got number/],
  ])('rejects %j with a CONFIG error naming the entry', (entry, message) => {
    const parse = () => parseHosts([entry], 'environments.qa.hosts')
    expect(parse).toThrow(message)
    expect(parse).toThrow(expect.objectContaining({ code: 'CONFIG' }))
  })

  it('rejects a non-list and a host listed twice', () => {
    expect(() => parseHosts('prod-a', 'environments.production.hosts')).toThrow(
      /environments.production.hosts: expected a list of hosts/,
    )
    expect(() => parseHosts(['prod-a', 'prod-b', 'prod-a'], 'hs')).toThrow(/hs\[2\]: prod-a is listed twice/)
  })

  it('labels hosts as output names them', () => {
    expect([DEFAULT_HOST, parseHost('prod-a', 'h'), parseHost('ssh://d@h', 'h')].map(hostLabel)).toEqual([
      'default',
      'prod-a',
      'ssh://d@h',
    ])
  })
})

describe('env_file setting', () => {
  it('takes one path or a list, in order; absent means none', () => {
    expect(parseEnvFileSetting('.env.production', 'e')).toEqual(['.env.production'])
    expect(parseEnvFileSetting(['.env', '.env.production'], 'e')).toEqual(['.env', '.env.production'])
    expect(parseEnvFileSetting(undefined, 'e')).toEqual([])
    expect(parseEnvFileSetting(null, 'e')).toEqual([])
    expect(() => parseEnvFileSetting([1], 'environments.qa.env_file')).toThrow(
      /^environments.qa.env_file: expected a path or a list of paths$/,
    )
    expect(() => parseEnvFileSetting(['', 'x'], 'e')).toThrow(ModelshipError)
  })
})

describe('host-aware command builders', () => {
  const context: Host = { kind: 'context', name: 'prod-a' }
  const ssh: Host = { kind: 'ssh', url: 'ssh://deploy@10.0.0.7:2222' }
  const target = (host: Host, envFile: string[] = []): ComposeTarget => ({ host, envFile, files })
  const fileArgs = ['-f', 'docker-compose.yml', '-f', 'docker-compose.production.yml']
  const tag = { variable: 'IMAGE_TAG', value: 'model-v1.3' }

  it('the default host without env files gives exactly the single-engine commands, with no env', () => {
    const t = target(DEFAULT_HOST)
    const pre = ['docker', 'compose', ...fileArgs]
    expect(
      composeBuildCommand({
        target: t,
        service: 'app',
        buildArg: 'HF_INTENT_MODEL',
        modelId: 'o/m-v1.3',
        buildOverride: '/r/s.yml',
      }),
    ).toEqual({ argv: [...pre, '-f', '/r/s.yml', 'build', '--build-arg', 'HF_INTENT_MODEL=o/m-v1.3', 'app'], env: {} })
    expect(composeUpCommand({ target: t, service: 'app', forceRecreate: true })).toEqual({
      argv: [...pre, 'up', '-d', '--no-deps', '--force-recreate', 'app'],
      env: {},
    })
    expect(composePsCommand({ target: t, service: 'app' })).toEqual({
      argv: [...pre, 'ps', '--format', 'json', 'app'],
      env: {},
    })
    expect(composeConfigCommand({ target: t, show: 'images', service: 'app' })).toEqual({
      argv: [...pre, 'config', '--images', 'app'],
      env: {},
    })
    expect(engineInfoCommand(DEFAULT_HOST)).toEqual({
      argv: ['docker', 'info', '--format', '{{.ServerVersion}}'],
      env: {},
    })
    expect(composeVersionOn(DEFAULT_HOST)).toEqual({ argv: ['docker', 'compose', 'version', '--short'], env: {} })
    expect(imageIdOn({ host: DEFAULT_HOST, image: 'proj-app' })).toEqual({
      argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', 'proj-app'],
      env: {},
    })
    expect(containerImageOn({ host: DEFAULT_HOST, containerId: 'c1', show: 'id' })).toEqual({
      argv: ['docker', 'inspect', '--format', '{{.Image}}', 'c1'],
      env: {},
    })
  })

  it('a context host puts --context NAME before compose; env files come before the -f files, in order', () => {
    expect(composePullCommand({ target: target(context, ['.env', '.env.production']), service: 'app', tag })).toEqual({
      argv: [
        'docker',
        '--context',
        'prod-a',
        'compose',
        '--env-file',
        '.env',
        '--env-file',
        '.env.production',
        ...fileArgs,
        'pull',
        'app',
      ],
      env: { IMAGE_TAG: 'model-v1.3' },
    })
    expect(engineInfoCommand(context).argv).toEqual([
      'docker',
      '--context',
      'prod-a',
      'info',
      '--format',
      '{{.ServerVersion}}',
    ])
    expect(composeVersionOn(context)).toEqual({
      argv: ['docker', '--context', 'prod-a', 'compose', 'version', '--short'],
      env: {},
    })
  })

  it('an ssh host gets DOCKER_HOST in that command env only, and the argv of the default host', () => {
    const up = composeUpCommand({ target: target(ssh, ['.env.production']), service: 'app', forceRecreate: false, tag })
    expect(up).toEqual({
      argv: ['docker', 'compose', '--env-file', '.env.production', ...fileArgs, 'up', '-d', '--no-deps', 'app'],
      env: { DOCKER_HOST: 'ssh://deploy@10.0.0.7:2222', IMAGE_TAG: 'model-v1.3' },
    })
    expect(containerImageOn({ host: ssh, containerId: 'c1', show: 'reference' })).toEqual({
      argv: ['docker', 'inspect', '--format', '{{.Config.Image}}', 'c1'],
      env: { DOCKER_HOST: 'ssh://deploy@10.0.0.7:2222' },
    })
  })

  it('image mode: build with the tag in env, push, pull, up without --force-recreate, ps', () => {
    const t = target(DEFAULT_HOST, ['.env.production'])
    const pre = ['docker', 'compose', '--env-file', '.env.production', ...fileArgs]
    expect(
      composeBuildCommand({ target: t, service: 'app', buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.3', tag }),
    ).toEqual({
      argv: [...pre, 'build', '--build-arg', 'HF_INTENT_MODEL=o/m-v1.3', 'app'],
      env: { IMAGE_TAG: 'model-v1.3' },
    })
    expect(composePushCommand({ target: t, service: 'app', tag })).toEqual({
      argv: [...pre, 'push', 'app'],
      env: { IMAGE_TAG: 'model-v1.3' },
    })
    expect(composeUpCommand({ target: t, service: 'app', forceRecreate: false, tag }).argv).toEqual([
      ...pre,
      'up',
      '-d',
      '--no-deps',
      'app',
    ])
    expect(composePsCommand({ target: t, service: 'app', tag }).argv).toEqual([...pre, 'ps', '--format', 'json', 'app'])
    expect(composeConfigCommand({ target: t }).argv).toEqual([...pre, 'config'])
    expect(composeConfigCommand({ target: t, show: 'services' }).argv).toEqual([...pre, 'config', '--services'])
  })

  it('the secret override comes after the user files and after the env files', () => {
    const cmd = composeBuildCommand({
      target: target(context, ['.env']),
      service: 'app',
      buildArg: 'B',
      modelId: 'm',
      buildOverride: '/run/s.yml',
    })
    expect(cmd.argv.slice(4, 12)).toEqual(['--env-file', '.env', ...fileArgs, '-f', '/run/s.yml'])
  })

  it('rejects bad tag variables, tags, services and object references', () => {
    const t = target(DEFAULT_HOST)
    expect(() => composePushCommand({ target: t, service: 'app', tag: { variable: 'IMAGE-TAG', value: 'x' } })).toThrow(
      /deploy.tag_var: "IMAGE-TAG" is not a variable name/,
    )
    expect(() =>
      composePullCommand({ target: t, service: 'app', tag: { variable: 'IMAGE_TAG', value: 'a:b' } }),
    ).toThrow(/"a:b" is not a valid image tag/)
    expect(() => composePullCommand({ target: t, service: '-app', tag })).toThrow(/not a compose service name/)
    expect(() => composeConfigCommand({ target: { host: DEFAULT_HOST, files: [] } })).toThrow(
      /at least one compose file/,
    )
    expect(() => containerImageOn({ host: ssh, containerId: '--all', show: 'id' })).toThrow(ModelshipError)
    expect(() => imageIdOn({ host: ssh, image: '' })).toThrow(ModelshipError)
  })

  it('formats a command for plans: env assignments, then the argv, quoted where the shell needs it', () => {
    expect(formatHostCommand(composePullCommand({ target: target(ssh), service: 'app', tag }))).toBe(
      'DOCKER_HOST=ssh://deploy@10.0.0.7:2222 IMAGE_TAG=model-v1.3 docker compose -f docker-compose.yml -f ' +
        'docker-compose.production.yml pull app',
    )
    expect(
      formatHostCommand(
        composePsCommand({ target: { host: context, envFile: ['my env'], files: ['a.yml'] }, service: 'app' }),
      ),
    ).toBe("docker --context prod-a compose --env-file 'my env' -f a.yml ps --format json app")
  })
})
