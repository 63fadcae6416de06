import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildCommand,
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
import type { Command } from '../pipeline/ports/types.js'
import { createDockerShim, type DockerShim, type DockerShimOptions } from './support/docker-shim.js'

// Exercises the fake docker through real child processes, as the integration tests will.

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

interface Result {
  code: number
  stdout: string
  stderr: string
}

function setup(opts: DockerShimOptions = {}): { shim: DockerShim; ws: string; run: (cmd: Command, extraEnv?: Record<string, string>) => Promise<Result> } {
  const shim = createDockerShim(opts)
  const ws = join(mkdtempSync(join(tmpdir(), 'modelship-shim-ws-')), 'shop')
  mkdirSync(ws)
  writeFileSync(join(ws, 'docker-compose.yml'), 'services:\n  app:\n    build: .\n  db:\n    image: postgres:16\n')
  cleanups.push(() => {
    shim.cleanup()
    rmSync(join(ws, '..'), { recursive: true, force: true })
  })
  // A minimal environment: no inherited HF_* variables.
  const baseEnv = { PATH: shim.env.PATH!, HOME: process.env.HOME ?? '/tmp' }
  const run = (cmd: Command, extraEnv: Record<string, string> = {}) =>
    new Promise<Result>((resolve) => {
      const [bin, ...args] = cmd
      execFile(bin, args, { cwd: ws, env: { ...baseEnv, ...shim.env, ...extraEnv } }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      })
    })
  return { shim, ws, run }
}

const files = ['docker-compose.yml']
const service = 'app'

describe('fake docker', () => {
  it('is found first on PATH and answers engine probes', async () => {
    const { run, shim } = setup()
    expect(await run(engineCommand())).toEqual({ code: 0, stdout: '28.2.2\n', stderr: '' })
    expect((await run(['docker', 'compose', 'version', '--short'])).stdout).toBe('2.39.1\n')
    expect((await run(['docker', 'version'])).code).toBe(0)
    expect(shim.calls().map((c) => c.argv)).toEqual([
      ['info', '--format', '{{.ServerVersion}}'],
      ['compose', 'version', '--short'],
      ['version'],
    ])
  })

  it('build → up → ps → inspect: the container runs the image just built', async () => {
    const { run, shim, ws } = setup()
    const build = await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'pratikoai/intent-classifier-v1.0', service }))
    expect(build.code).toBe(0)
    expect((await run(upCommand({ files, service }))).code).toBe(0)

    const ps = await run(psCommand({ files, service }))
    const entries = parsePsJson(ps.stdout)
    expect(entries).toEqual([
      { ID: expect.stringMatching(/^[0-9a-f]{64}$/), Name: 'shop-app-1', Service: 'app', State: 'running', Health: 'healthy', Image: 'shop-app' },
    ])
    expect(ps.stdout.trim().split('\n')).toHaveLength(1) // one object per line by default
    expect(healthOf(entries, service)).toBe('healthy')

    const image = (await run(configImagesCommand({ files, service }))).stdout.trim()
    expect(image).toBe('shop-app')
    const built = (await run(imageIdCommand(image))).stdout.trim()
    const running = (await run(containerImageCommand(entries[0]!.ID!))).stdout.trim()
    expect(built).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(running).toBe(built)

    expect(shim.container('app')).toMatchObject({ model: 'pratikoai/intent-classifier-v1.0', imageId: built, project: 'shop' })
    expect(shim.state().builds).toEqual([
      expect.objectContaining({ model: 'pratikoai/intent-classifier-v1.0', buildArgs: { HF_INTENT_MODEL: 'pratikoai/intent-classifier-v1.0' } }),
    ])
    const [first] = shim.calls()
    expect(first).toMatchObject({
      argv: ['compose', '-f', 'docker-compose.yml', 'build', '--build-arg', 'HF_INTENT_MODEL=pratikoai/intent-classifier-v1.0', 'app'],
      cwd: ws,
      name: 'build',
      exitCode: 0,
      secretSeen: false,
      secretOverride: false,
      hfTokenInEnv: false,
      files: [join(ws, 'docker-compose.yml')],
      project: 'shop',
    })
  })

  it('each build makes a new image id, and the next up runs it', async () => {
    const { run, shim } = setup()
    await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }))
    const id1 = shim.state().images['shop-app']!.id
    await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }))
    const id2 = shim.state().images['shop-app']!.id
    expect(id2).not.toBe(id1)
    await run(upCommand({ files, service }))
    expect(shim.container('app')!.imageId).toBe(id2)
  })

  it('prints one JSON array with DOCKER_SHIM_PS_SHAPE=array, and nothing before any up', async () => {
    const { run } = setup({ psShape: 'array' })
    expect((await run(psCommand({ files, service }))).stdout.trim()).toBe('[]')
    await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }))
    await run(upCommand({ files, service }))
    const out = (await run(psCommand({ files, service }))).stdout
    expect(JSON.parse(out)).toHaveLength(1)
    expect(healthOf(parsePsJson(out), service)).toBe('healthy')
  })

  it('empty ps output in lines mode when no container runs', async () => {
    const { run } = setup()
    const ps = await run(psCommand({ files, service }))
    expect(ps).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it.each([
    ['unhealthy', 'unhealthy'],
    ['starting', 'starting'],
    ['none', 'running'],
    ['exited', 'exited'],
  ] as const)('DOCKER_SHIM_HEALTH=%s → %s', async (health, expected) => {
    const { run } = setup({ health })
    await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }))
    await run(upCommand({ files, service }))
    const entries = parsePsJson((await run(psCommand({ files, service }))).stdout)
    expect(healthOf(entries, service)).toBe(expected)
    if (health === 'none') expect(entries[0]).not.toHaveProperty('Health')
  })

  it('DOCKER_SHIM_HEALTH_AFTER reports starting for the first N ps calls after each up', async () => {
    const { run } = setup({ healthAfter: 2 })
    const health = async () => healthOf(parsePsJson((await run(psCommand({ files, service }))).stdout), service)
    await run(upCommand({ files, service }))
    expect([await health(), await health(), await health()]).toEqual(['starting', 'starting', 'healthy'])
    await run(upCommand({ files, service }))
    expect([await health(), await health(), await health()]).toEqual(['starting', 'starting', 'healthy'])
  })

  it('DOCKER_SHIM_HEALTH_MODEL makes only that model unhealthy, so a rollback can succeed', async () => {
    const { run } = setup({ health: 'unhealthy', healthModel: 'o/m-v2.0' })
    const deploy = async (modelId: string) => {
      await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId, service }))
      await run(upCommand({ files, service }))
      return healthOf(parsePsJson((await run(psCommand({ files, service }))).stdout), service)
    }
    expect(await deploy('o/m-v2.0')).toBe('unhealthy')
    expect(await deploy('o/m-v1.0')).toBe('healthy')
  })

  it('DOCKER_SHIM_FAIL fails chosen subcommands, and build@2 only the second build', async () => {
    const { run, shim } = setup({ fail: ['build@2', 'up'] })
    const build = () => run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }))
    expect((await build()).code).toBe(0)
    const second = await build()
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/^failed to solve: /)
    expect((await build()).code).toBe(0)
    const up = await run(upCommand({ files, service }))
    expect(up.code).toBe(1)
    expect(up.stderr).not.toBe('')
    expect(shim.state().builds).toHaveLength(2) // the failed build recorded nothing
    expect(shim.state().containers).toEqual({})
    expect(shim.calls().map((c) => [c.name, c.exitCode])).toEqual([['build', 0], ['build', 1], ['build', 0], ['up', 1]])
  })

  it('build@N also counts without a state dir (from the log)', async () => {
    const { run } = setup({ fail: 'build@2', state: false })
    const build = () => run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }))
    expect([(await build()).code, (await build()).code, (await build()).code]).toEqual([0, 1, 0])
  })

  it('DOCKER_SHIM_NO_ENGINE fails engine commands like a missing daemon, but not config or compose version', async () => {
    const { run } = setup({ noEngine: true })
    const daemon = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'
    for (const cmd of [
      engineCommand(),
      buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }),
      upCommand({ files, service }),
      psCommand({ files, service }),
      containerImageCommand('abc'),
      imageIdCommand('shop-app'),
    ]) {
      expect(await run(cmd)).toEqual({ code: 1, stdout: '', stderr: daemon })
    }
    expect((await run(configImagesCommand({ files, service }))).code).toBe(0)
    expect((await run(['docker', 'compose', 'version'])).code).toBe(0)
  })

  it('DOCKER_SHIM_IMAGE_MISMATCH: the container reports another image than the last build', async () => {
    const { run } = setup({ imageMismatch: true })
    await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }))
    await run(upCommand({ files, service }))
    const [entry] = parsePsJson((await run(psCommand({ files, service }))).stdout)
    const built = (await run(imageIdCommand('shop-app'))).stdout.trim()
    const running = (await run(containerImageCommand(entry!.ID!))).stdout.trim()
    expect(running).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(running).not.toBe(built)
  })

  it('inspect of unknown objects fails like docker', async () => {
    const { run } = setup()
    expect(await run(imageIdCommand('nope'))).toMatchObject({ code: 1, stderr: 'Error response from daemon: No such image: nope\n' })
    expect(await run(containerImageCommand('nope'))).toMatchObject({ code: 1, stderr: 'Error: No such object: nope\n' })
  })

  it('unknown subcommands succeed silently', async () => {
    const { run } = setup()
    expect(await run(['docker', 'frobnicate', '--x'])).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(await run(['docker', 'compose', '-f', 'docker-compose.yml', 'down'])).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it('records secret-related env names (never values), the secret override and HF_TOKEN presence', async () => {
    const { run, shim, ws } = setup()
    const override = join(ws, '..', 'secret.yml')
    writeFileSync(override, secretOverrideYaml(service))
    const token = 'hf_abcdefghijklmnop'
    await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service, secretOverride: override }), {
      HF_TOKEN: token,
      MY_PASSWORD: 'pw-123456',
      HF_ORG: 'pratikoai',
    })
    const [call] = shim.calls()
    expect(call).toMatchObject({ env: ['HF_ORG', 'HF_TOKEN', 'MY_PASSWORD'], secretOverride: true, hfTokenInEnv: true, secretSeen: false })
    expect(JSON.stringify(shim.calls())).not.toContain(token)
    expect(JSON.stringify(shim.calls())).not.toContain('pw-123456')
  })

  it('flags (and redacts) a secret value passed in argv', async () => {
    const { run, shim } = setup()
    const token = 'hf_abcdefghijklmnop'
    await run(['docker', 'compose', '-f', 'docker-compose.yml', 'build', '--build-arg', `HF_TOKEN=${token}`, 'app'], { HF_TOKEN: token })
    const [call] = shim.calls()
    expect(call!.secretSeen).toBe(true)
    expect(call!.argv).toContain('HF_TOKEN=[REDACTED]')
    expect(JSON.stringify(call)).not.toContain(token)
  })

  it('DOCKER_SHIM_ECHO_ENV makes the build print the token, as a careless Dockerfile would', async () => {
    const { run } = setup({ echoEnv: 'HF_TOKEN' })
    const out = await run(buildCommand({ files, buildArg: 'HF_INTENT_MODEL', modelId: 'o/m-v1.0', service }), { HF_TOKEN: 'hf_leakyleaky' })
    expect(out.stdout).toContain('HF_TOKEN=hf_leakyleaky')
  })

  it('takes the project name from -p or the first file folder', async () => {
    const { run } = setup()
    expect((await run(['docker', 'compose', '-p', 'Other.Name', '-f', 'docker-compose.yml', 'config', '--images', 'app'])).stdout).toBe(
      'othername-app\n',
    )
    expect((await run(['docker', 'compose', '-f', 'docker-compose.yml', 'config', '--services'])).stdout).toBe('app\ndb\n')
  })
})
