import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { deployWorkspace, historyOf, noteCalls, writes } from './support/deploy-workspace.js'
import { runCli } from './support/workspace.js'

const V1 = 'pratikoai/intent-classifier-v1.0'
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

// The argv-recording docker double (test/fixtures/bin/docker) stays here only for what a real engine cannot give
// cheaply; a release on two contexts and an ssh:// host, canary failure, failure on the second host and rollback
// by tag run on real engines in deploy-engines.test.ts.
describe('deploy.mode image on two hosts (docker double: faults at a given call)', () => {
  // Double: the previous tag's pull must fail on host 1 at exactly the rollback's call, after it succeeded before.
  it('the rollback fails too (the previous tag cannot be pulled on host 1): exit 6 naming each host and the ' +
    'commands', async () => {
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
      `  IMAGE_TAG=model-v1.0 docker --context prod-a compose --env-file .env.production ${compose} up -d --no-deps ` +
        `app`,
    )
    expect(historyOf(ws).at(-1)).toMatchObject({ outcome: 'rollback_failed' })
  }, 120_000)

  // Double: an unhealthy container on the canary for one tag only, on a first release (a fresh fleet of its own).
  it('a first image-mode release (no tag recorded, nothing running) rolls back to the compose default; missing: exit ' +
    '6', async () => {
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

  // Double: the registry answers 503 to the first push only.
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

  // Double: proves that nothing but read-only commands ran (every call is recorded); no engine is needed.
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
      `! DOCKER_HOST=… IMAGE_TAG=… docker compose ${compose} up -d --no-deps app  # ` +
        `DOCKER_HOST=ssh://deploy@10.0.0.7; IMAGE_TAG=model-v1.0`,
    )
    expect(writes(shim)).toEqual([])
  }, 120_000)
})
