import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DockerEngine } from './support/docker-engine.js'
import { requireSwarmOrSkip, startSwarm, type TestSwarm } from './support/swarm.js'
import {
  cleanup,
  cliEnv,
  FIXTURES,
  INSTANT_TRAINER_CONFIG,
  makeWorkspace,
  readJsonLines,
  runCli,
} from './support/workspace.js'

// deploy.mode swarm on a real swarm (dockerd 20.10 in a network namespace of its own, Swarm's own rolling
// update). Every assertion reads what Swarm and the containers say: the service's spec, each running
// replica's /model answer through `docker exec`, the files — never the argv modelship ran.

export const SWARM_APP = join(FIXTURES, 'swarm-app')
const STACK = 'msw'
const SERVICE = `${STACK}_app`
const ORG = 'pratikoai/intent-classifier'

/** A workspace with the swarm test app; `hosts` are Docker context names (two-node tests). */
export function swarmWorkspace(swarm: TestSwarm, o: { hosts?: string[]; healthTimeoutS?: number } = {}): string {
  const ws = makeWorkspace({
    app: SWARM_APP,
    config: {
      ...INSTANT_TRAINER_CONFIG,
      deploy: {
        mode: 'swarm',
        stack: STACK,
        health_timeout_s: o.healthTimeoutS ?? 90,
        model_check: ['python3', '/app/get.py', '/model'],
      },
      environments: {
        production: {
          compose: ['docker-compose.yml', 'docker-compose.production.yml'],
          env_file: ['.env.swarm'],
          ...(o.hosts ? { hosts: o.hosts } : {}),
        },
      },
    },
  })
  writeFileSync(join(ws, '.env.swarm'), `REGISTRY=${swarm.registry}\nBASE_IMAGE=${swarm.baseImage}\n`)
  return ws
}

/** The CLI against the swarm's manager (DOCKER_HOST; the contexts of a two-node swarm live in its DOCKER_CONFIG). */
export const swarmCli = (swarm: TestSwarm, ws: string, args: string[], timeoutMs = 240_000) =>
  runCli([...args, '--workspace', ws], { env: cliEnv(swarm.manager.env), timeoutMs })

/** What each running replica serves (tasks meant to run that do not run yet are left out): `/model` asked inside its container, on the engine that holds it. */
export async function modelsServed(swarm: TestSwarm, service = SERVICE): Promise<string[]> {
  const engines = [swarm.manager, ...swarm.workers]
  const byNode = new Map<string, DockerEngine>()
  for (const e of engines) byNode.set((await e.docker(['info', '--format', '{{.Swarm.NodeID}}'])).trim(), e)
  const ids = (
    await swarm.manager.docker(['service', 'ps', '-q', '--no-trunc', '--filter', 'desired-state=running', service])
  )
    .split(/\s+/)
    .filter(Boolean)
  const tasks = JSON.parse(await swarm.manager.docker(['inspect', '--type', 'task', ...ids])) as Array<{
    NodeID: string
    Status: { State: string; ContainerStatus?: { ContainerID: string } }
  }>
  const served: string[] = []
  for (const t of tasks) {
    // A task meant to run that waits for a node (a stalled update) serves nothing.
    if (t.Status.State !== 'running') continue
    const engine = byNode.get(t.NodeID)!
    const out = await engine.docker(['exec', t.Status.ContainerStatus!.ContainerID, 'python3', '/app/get.py', '/model'])
    served.push((JSON.parse(out) as { model: string }).model)
  }
  return served.sort()
}

/** The image of the service's spec, as Swarm pinned it (`ref:tag@sha256:…`). */
export async function specImage(swarm: TestSwarm, service = SERVICE): Promise<string> {
  return (
    await swarm.manager.docker([
      'service',
      'inspect',
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
      service,
    ])
  ).trim()
}

/** The tag in the service's spec, as Swarm holds it. */
export async function specTag(swarm: TestSwarm, service = SERVICE): Promise<string> {
  const image = (
    await swarm.manager.docker([
      'service',
      'inspect',
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
      service,
    ])
  ).trim()
  return image.split('@')[0]!.split(':').pop()!
}

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
  })

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

  it("a broken image is rolled back by Swarm itself: exit 5 with the failed task's error, files byte-identical", async () => {
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

  it('an update Swarm cannot finish (start-first with max_replicas_per_node: 1) is exit 6 with the commands', async () => {
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
    `import urllib.request; print(urllib.request.urlopen("http://${swarm.registry}/v2/swarm-app/tags/list").read().decode())`,
  ])
  return (JSON.parse(out) as { tags: string[] }).tags
}
