import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { brief, deployWorkspace, historyOf, IMAGE_REPO, noteCalls, writes } from './support/deploy-workspace.js'
import { runCli } from './support/workspace.js'

const V1 = 'pratikoai/intent-classifier-v1.0'
const V2 = 'pratikoai/intent-classifier-v1.1'
const done: Array<() => void> = []
afterEach(() => {
  while (done.length) done.pop()!()
})

const IMAGE_MODE = { deploy: { mode: 'image', health_timeout_s: 5 } }
const hostsOf = (hosts: string[]) => ({
  environments: {
    production: {
      compose: ['docker-compose.yml', 'docker-compose.production.yml', 'docker-compose.image.yml'],
      edit: ['docker-compose.production.yml'],
      env_file: ['.env.production'],
      hosts,
    },
    qa: {
      compose: ['docker-compose.yml', 'docker-compose.qa.yml', 'docker-compose.image.yml'],
      edit: ['docker-compose.qa.yml'],
      env_file: ['.env.qa'],
    },
  },
})

function setup(hosts: string[], shimOpts: Parameters<typeof deployWorkspace>[1] = {}) {
  const d = deployWorkspace(
    { ...IMAGE_MODE, ...hostsOf(hosts) },
    { contexts: hosts.filter((h) => !h.includes('://')), ...shimOpts },
  )
  done.push(d.done)
  return d
}

describe('deploy.mode image on two hosts', () => {
  it('one build with the tag, one push, then pull + up on each host in order; history records tag and hosts', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'])
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(writes(shim)).toEqual([
      'default build model-v1.0',
      'default push model-v1.0',
      'prod-a pull model-v1.0',
      'prod-a up model-v1.0',
      'prod-b pull model-v1.0',
      'prod-b up model-v1.0',
    ])
    const build = shim.calls().find((c) => c.name === 'build')!
    expect(build.argv).toContain(`HF_INTENT_MODEL=${V1}`)
    for (const host of ['prod-a', 'prod-b']) {
      expect(shim.container('app', host)).toMatchObject({
        image: `${IMAGE_REPO}:model-v1.0`,
        model: V1,
        tag: 'model-v1.0',
      })
    }
    expect(Object.keys(shim.registry())).toEqual([`${IMAGE_REPO}:model-v1.0`])
    expect(historyOf(ws).at(-1)).toMatchObject({
      action: 'release',
      to: V1,
      outcome: 'success',
      tag: 'model-v1.0',
      hosts: ['prod-a', 'prod-b'],
    })
    // Every compose command had the environment's env file (the shim fails one without it: strictVars).
    for (const c of shim.calls().filter((c) => c.files && c.name !== 'version'))
      expect(c.envFiles?.map((f) => f.split('/').pop())).toEqual(['.env.production'])
    noteCalls('image mode end to end on two hosts (release v1.0)', shim)
  }, 120_000)

  it('canary unhealthy on host 1: only host 1 goes back to the previous tag, no rebuild, host 2 never pulls, exit 5', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'])
    expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })).code).toBe(0)
    const mark = shim.calls().length
    shim.setCues({ ...shim.cues(), health: [{ state: 'unhealthy', host: 'prod-a', tag: 'model-v1.1' }] })
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(
      /^error: service app is unhealthy after redeploy on prod-a; production was rolled back to pratikoai\/intent-classifier-v1\.0 \(tag model-v1\.0\) on prod-a$/m,
    )
    expect(writes(shim, mark)).toEqual([
      'default build model-v1.1',
      'default push model-v1.1',
      'prod-a pull model-v1.1',
      'prod-a up model-v1.1',
      'prod-a pull model-v1.0',
      'prod-a up model-v1.0',
    ])
    expect(shim.calls('prod-b').filter((c) => c.tag === 'model-v1.1')).toEqual([])
    expect(shim.container('app', 'prod-a')).toMatchObject({ tag: 'model-v1.0', model: V1 })
    expect(shim.container('app', 'prod-b')).toMatchObject({ tag: 'model-v1.0', model: V1 })
    expect(historyOf(ws).at(-1)).toMatchObject({
      to: V2,
      outcome: 'rolled_back',
      step: 'deploy',
      tag: 'model-v1.1',
      previousTag: 'model-v1.0',
      hosts: ['prod-a'],
    })
    noteCalls('canary (prod-a) unhealthy on release v1.1', { ...shim, calls: () => shim.calls().slice(mark) })
  }, 120_000)

  it('failure on host 2: both hosts back on the previous tag, exit 5', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'])
    expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })).code).toBe(0)
    const mark = shim.calls().length
    shim.setCues({ ...shim.cues(), health: [{ state: 'unhealthy', host: 'prod-b', tag: 'model-v1.1' }] })
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.code).toBe(5)
    expect(r.stderr).toContain(`production was rolled back to ${V1} (tag model-v1.0) on prod-a, prod-b`)
    expect(writes(shim, mark)).toEqual([
      'default build model-v1.1',
      'default push model-v1.1',
      'prod-a pull model-v1.1',
      'prod-a up model-v1.1',
      'prod-b pull model-v1.1',
      'prod-b up model-v1.1',
      'prod-a pull model-v1.0',
      'prod-a up model-v1.0',
      'prod-b pull model-v1.0',
      'prod-b up model-v1.0',
    ])
    for (const host of ['prod-a', 'prod-b'])
      expect(shim.container('app', host)).toMatchObject({ tag: 'model-v1.0', model: V1 })
    noteCalls('host 2 (prod-b) unhealthy on release v1.1', { ...shim, calls: () => shim.calls().slice(mark) })
  }, 120_000)

  it('the rollback fails too (the previous tag cannot be pulled on host 1): exit 6 naming each host and the commands', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'])
    expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })).code).toBe(0)
    shim.setCues({
      ...shim.cues(),
      health: [{ state: 'unhealthy', host: 'prod-a', tag: 'model-v1.1' }],
      fail: [{ command: 'pull', host: 'prod-a', call: 3 }],
    })
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/^error: restoring pratikoai\/intent-classifier-v1\.0 failed too: /m)
    expect(r.stderr).toContain('prod-a: rollback to model-v1.0 failed: ')
    expect(r.stderr).toMatch(/prod-a: containers of app: .*unhealthy/)
    expect(r.stderr).toContain('prod-b: untouched (never got this release)')
    const compose = '-f docker-compose.yml -f docker-compose.production.yml -f docker-compose.image.yml'
    expect(r.stderr).toContain(
      `  IMAGE_TAG=model-v1.0 docker --context prod-a compose --env-file .env.production ${compose} pull app`,
    )
    expect(r.stderr).toContain(
      `  IMAGE_TAG=model-v1.0 docker --context prod-a compose --env-file .env.production ${compose} up -d --no-deps app`,
    )
    expect(historyOf(ws).at(-1)).toMatchObject({ outcome: 'rollback_failed' })
  }, 120_000)

  it('a first image-mode release (no tag recorded, nothing running) rolls back to the compose default; missing: exit 6', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'], {
      health: [{ state: 'unhealthy', host: 'prod-a', tag: 'model-v1.0' }],
    })
    const before = readFileSync(join(ws, 'docker-compose.production.yml'))
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env })
    expect(r.code).toBe(6)
    // Nothing said which tag ran before: the rollback pulls what `docker compose up` would, ${IMAGE_TAG:-latest}.
    expect(r.stderr).toMatch(
      /^error: restoring mdeberta failed too: .* pull app exited with 1: .*app:latest not found/m,
    )
    expect(writes(shim)).toEqual([
      'default build model-v1.0',
      'default push model-v1.0',
      'prod-a pull model-v1.0',
      'prod-a up model-v1.0',
      'prod-a pull FAILED',
    ])
    expect(readFileSync(join(ws, 'docker-compose.production.yml')).equals(before)).toBe(true)
    expect(historyOf(ws).at(-1)).toMatchObject({ outcome: 'rollback_failed' })
  }, 120_000)

  it('rollback pulls the previous tag on every host and builds nothing', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'])
    expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })).code).toBe(0)
    expect((await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })).code).toBe(0)
    const mark = shim.calls().length
    const r = await runCli(['rollback', '--workspace', ws], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`rolled back production: ${V2} → ${V1}, redeployed`)
    expect(writes(shim, mark)).toEqual([
      'prod-a pull model-v1.0',
      'prod-a up model-v1.0',
      'prod-b pull model-v1.0',
      'prod-b up model-v1.0',
    ])
    for (const host of ['prod-a', 'prod-b'])
      expect(shim.container('app', host)).toMatchObject({ tag: 'model-v1.0', model: V1 })
    expect(historyOf(ws).at(-1)).toMatchObject({
      action: 'rollback',
      to: V1,
      tag: 'model-v1.0',
      previousTag: 'model-v1.1',
    })
    noteCalls('rollback in image mode (after v1.0 and v1.1)', { ...shim, calls: () => shim.calls().slice(mark) })
  }, 120_000)

  it('an ssh:// host gets DOCKER_HOST on exactly its commands, and never --context', async () => {
    const ssh = 'ssh://deploy@10.0.0.7:2222'
    const { ws, shim, env } = setup(['prod-a', ssh])
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(r.code).toBe(0)
    const calls = shim.calls()
    expect(calls.filter((c) => c.dockerHost !== undefined).map(brief)).toEqual(
      calls.filter((c) => c.host === ssh).map(brief),
    )
    // preflight's compose-plugin probe, then the rollout
    expect(calls.filter((c) => c.host === ssh).map((c) => c.name)).toEqual([
      'version',
      'ps',
      'pull',
      'up',
      'ps',
      'inspect',
    ])
    for (const c of calls) {
      if (c.host === ssh) {
        expect(c.dockerHost).toBe(ssh)
        expect(c.argv).not.toContain('--context')
      } else expect(c.env).not.toContain('DOCKER_HOST')
    }
    expect(shim.container('app', ssh)).toMatchObject({ tag: 'model-v1.0', model: V1 })
    noteCalls('a context host and an ssh:// host (release v1.0)', shim)
  }, 120_000)

  it('--resume --from publish after a failed push: pushes and deploys without building again', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'], { fail: 'push@1' })
    const failed = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env })
    expect(failed.code).not.toBe(0)
    expect(failed.stderr).toContain('503 Service Unavailable')
    expect(shim.calls('prod-a').filter((c) => c.name !== 'version')).toEqual([])
    const mark = shim.calls().length
    const r = await runCli(['release', '--workspace', ws, '--yes', '--force', '--resume', '--from', 'publish'], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(writes(shim, mark)).toEqual([
      'default push model-v1.0',
      'prod-a pull model-v1.0',
      'prod-a up model-v1.0',
      'prod-b pull model-v1.0',
      'prod-b up model-v1.0',
    ])
    expect(shim.calls().filter((c) => c.name === 'build')).toHaveLength(1)
    for (const host of ['prod-a', 'prod-b'])
      expect(shim.container('app', host)).toMatchObject({ tag: 'model-v1.0', model: V1 })
    noteCalls('push fails, then --resume --from publish', shim)
  }, 120_000)

  it("dry-run prints the build with the tag, the push and each host's pull + up, and runs none of them", async () => {
    const { ws, shim, env } = setup(['prod-a', 'ssh://deploy@10.0.0.7'])
    const r = await runCli(['release', '--workspace', ws, '--dry-run'], { env })
    expect(r.code).toBe(0)
    const compose =
      '--env-file .env.production -f docker-compose.yml -f docker-compose.production.yml -f docker-compose.image.yml'
    expect(r.stdout).toContain(
      `! IMAGE_TAG=… docker compose ${compose} build --build-arg HF_INTENT_MODEL=${V1} app  # IMAGE_TAG=model-v1.0`,
    )
    expect(r.stdout).toContain(`! IMAGE_TAG=… docker compose ${compose} push app  # IMAGE_TAG=model-v1.0`)
    expect(r.stdout).toContain(
      `! IMAGE_TAG=… docker --context prod-a compose ${compose} pull app  # IMAGE_TAG=model-v1.0`,
    )
    expect(r.stdout).toContain(
      `! DOCKER_HOST=… IMAGE_TAG=… docker compose ${compose} up -d --no-deps app  # DOCKER_HOST=ssh://deploy@10.0.0.7; IMAGE_TAG=model-v1.0`,
    )
    expect(writes(shim)).toEqual([])
  }, 120_000)
})
