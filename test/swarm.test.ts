import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireSwarmOrSkip, startSwarm, type TestSwarm } from './support/swarm.js'
import { modelsServed, SERVICE, specImage, specTag, swarmCli, swarmWorkspace } from './support/swarm-app.js'
import { cleanup, readJsonLines } from './support/workspace.js'

// deploy.mode swarm on a real swarm (dockerd 20.10 in a network namespace of its own, Swarm's own rolling
// update). Every assertion reads what Swarm and the containers say: the service's spec, each running
// replica's /model answer through `docker exec`, the files — never the argv modelship ran.

const ORG = 'pratikoai/intent-classifier'

interface HistoryLine {
  action: string
  outcome: string
  to: string
  tag?: string
  previousTag?: string
}

describe.skipIf(!requireSwarmOrSkip(1))('deploy.mode swarm on a real single-node swarm', () => {
  let swarm: TestSwarm
  let ws: string
  /** The spec's image after the first release, with the digest Swarm pinned: a rebuild would push another. */
  let firstImage = ''
  beforeAll(async () => {
    swarm = await startSwarm({ nodes: 1 })
    ws = swarmWorkspace(swarm)
  }, 180_000)
  afterAll(async () => {
    await swarm?.stop()
    if (ws) cleanup(ws)
  }, 240_000)

  it('doctor: the manager and the service settings Swarm needs, on the real engine', async () => {
    const r = await swarmCli(swarm, ws, ['doctor', '--json'])
    expect(r.code, r.stderr + r.stdout).toBe(0)
    const checks = JSON.parse(r.stdout) as Array<{ check: string; level: string; message: string }>
    const swarmChecks = checks.filter((f) => f.check.startsWith('swarm.'))
    expect(swarmChecks.map((f) => `${f.check} ${f.level}`)).toEqual([
      'swarm.manager ok',
      'swarm.healthcheck ok',
      'swarm.failure_action ok',
      'swarm.monitor ok',
      'swarm.order ok',
    ])
    expect(swarmChecks[0]?.message).toMatch(/is a manager of a swarm of 1 node$/)
  })

  it('release: builds and publishes one image, deploys the stack, and every replica serves the new model', async () => {
    const r = await swarmCli(swarm, ws, ['release', '--yes'])
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(await specTag(swarm)).toBe('model-v1.0')
    firstImage = await specImage(swarm)
    expect(await modelsServed(swarm)).toEqual([`${ORG}-v1.0`, `${ORG}-v1.0`])
    // The image is in the registry under the release's tag (every node pulls it from there).
    const tags = await fetchTags(swarm)
    expect(tags).toContain('model-v1.0')

    const second = await swarmCli(swarm, ws, ['release', '--yes', '--force'])
    expect(second.code, second.stderr + second.stdout).toBe(0)
    // Swarm's rolling update, as progress lines: the update's state, then each task's.
    expect(second.stdout).toMatch(new RegExp(`${SERVICE}: updating`))
    expect(second.stdout).toMatch(new RegExp(`${SERVICE}\\.\\d on \\S+: running \\(model-v1\\.1\\)`))
    expect(second.stdout).toMatch(new RegExp(`${SERVICE}: completed`))
    expect(await specTag(swarm)).toBe('model-v1.1')
    expect(await modelsServed(swarm)).toEqual([`${ORG}-v1.1`, `${ORG}-v1.1`])
    const history = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
    expect(history.at(-1)).toMatchObject({ outcome: 'success', tag: 'model-v1.1', previousTag: 'model-v1.0' })
  }, 480_000)

  it("a broken image is rolled back by Swarm itself: exit 5 with the failed task's error, files " +
    'byte-identical', async () => {
    const base = join(ws, 'docker-compose.yml')
    const edit = join(ws, 'docker-compose.production.yml')
    const original = readFileSync(base, 'utf8')
    // The new spec's health check fails in every replica: Swarm's update_config.failure_action rolls it back.
    writeFileSync(
      base,
      original.replace('    healthcheck:', '    environment:\n      APP_BROKEN: "1"\n    healthcheck:'),
    )
    const before = readFileSync(edit)
    try {
      const r = await swarmCli(swarm, ws, ['release', '--yes', '--force'])
      // SWARM_SHOW_OUTPUT=1: the progress lines of the rolled-back release, as a person sees them.
      if (process.env.SWARM_SHOW_OUTPUT) console.log(`${r.stdout}\n${r.stderr}`)
      expect(r.code, r.stderr + r.stdout).toBe(5)
      expect(r.stderr).toMatch(
        /Swarm rolled back the update of msw_app: msw_app\.\d on \S+: \w+ \(model-v1\.2\): .*unhealthy container/,
      )
      expect(r.stdout).toMatch(/msw_app: rollback_started/)
      expect(readFileSync(edit)).toEqual(before)
      expect(await specTag(swarm)).toBe('model-v1.1')
      expect(await modelsServed(swarm)).toEqual([`${ORG}-v1.1`, `${ORG}-v1.1`])
      const history = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
      expect(history.at(-1)).toMatchObject({ to: `${ORG}-v1.2`, outcome: 'rolled_back' })
    } finally {
      writeFileSync(base, original)
    }
  }, 300_000)

  it("rollback deploys the previous model's tag from history, without building", async () => {
    const r = await swarmCli(swarm, ws, ['rollback', '--yes'])
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toMatch(
      /rolled back production: pratikoai\/intent-classifier-v1\.1 → pratikoai\/intent-classifier-v1\.0, redeployed/,
    )
    // The very image of the first release, by digest: pulled from the registry by its tag, not rebuilt.
    expect(await specImage(swarm)).toBe(firstImage)
    const history = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
    expect(history.at(-1)).toMatchObject({ action: 'rollback', outcome: 'success', tag: 'model-v1.0' })
    expect(await modelsServed(swarm)).toEqual([`${ORG}-v1.0`, `${ORG}-v1.0`])
  }, 300_000)

  it('an update Swarm cannot finish (start-first with max_replicas_per_node: 1) is exit 6 with the ' +
    'commands', async () => {
    const base = join(ws, 'docker-compose.yml')
    const original = readFileSync(base, 'utf8')
    writeFileSync(
      base,
      original.replace(
        '      replicas: 2\n',
        '      replicas: 1\n      placement:\n        max_replicas_per_node: 1\n',
      ),
    )
    const config = join(ws, 'modelship.yaml')
    const configText = readFileSync(config, 'utf8')
    writeFileSync(config, configText.replace('health_timeout_s: 90', 'health_timeout_s: 8'))
    try {
      const r = await swarmCli(swarm, ws, ['promote', 'v1.1', '--deploy', '--yes'])
      expect(r.code, r.stderr + r.stdout).toBe(6)
      expect(r.stderr).toMatch(/no progress within 8s \(msw_app\.1: pending \(model-v1\.1\): no suitable node/)
      expect(r.stderr).toMatch(/to finish by hand/)
      expect(r.stderr).toMatch(
        /docker stack deploy --detach=false --with-registry-auth -c \S+stack\.model-v1\.0\.yml msw/,
      )
      // Still updating: the old task serves, the new one waits for a node that has room.
      expect(new Set(await modelsServed(swarm))).toEqual(new Set([`${ORG}-v1.0`]))
    } finally {
      writeFileSync(base, original)
      writeFileSync(config, configText)
    }
  }, 300_000)
})

async function fetchTags(swarm: TestSwarm): Promise<string[]> {
  // The registry listens inside the manager's namespace: ask through the manager's engine.
  const out = await swarm.manager.docker([
    'run',
    '--rm',
    '--network',
    'host',
    swarm.baseImage,
    'python3',
    '-c',
    `import urllib.request; ` +
      `print(urllib.request.urlopen("http://${swarm.registry}/v2/swarm-app/tags/list").read().decode())`,
  ])
  return (JSON.parse(out) as { tags: string[] }).tags
}
