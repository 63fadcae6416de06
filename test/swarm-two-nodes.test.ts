import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireSwarmOrSkip, startSwarm, type TestSwarm } from './support/swarm.js'
import { cleanup } from './support/workspace.js'
import { modelsServed, specTag, swarmCli, swarmWorkspace } from './support/swarm-app.js'

// deploy.mode swarm on two real nodes: two test dockerds, each in a network namespace of its own, joined by a
// veth pair with 127.42.0.1 and 127.42.0.2 (loopback-range addresses only). The environment's hosts are the two
// engines as Docker contexts (the manager first): the stack is deployed through the first, and each replica is
// checked with `docker exec` on the engine of the node that holds it. Skipped, with the reason printed, where the
// machine cannot make namespaces and veth pairs.

const ORG = 'pratikoai/intent-classifier'

describe.skipIf(!requireSwarmOrSkip(2))('deploy.mode swarm on a real two-node swarm', () => {
  let swarm: TestSwarm
  let ws: string
  beforeAll(async () => {
    swarm = await startSwarm({ nodes: 2 })
    const engines = [swarm.manager, ...swarm.workers]
    for (const [i, e] of engines.entries()) {
      await swarm.manager.docker(['context', 'create', `node-${i + 1}`, '--docker', `host=${e.host}`])
    }
    ws = swarmWorkspace(swarm, { hosts: ['node-1', 'node-2'] })
  }, 240_000)
  afterAll(async () => {
    await swarm?.stop()
    if (ws) cleanup(ws)
  }, 240_000)

  it('release: one replica on each node, each checked on its own engine and serving the new model', async () => {
    const r = await swarmCli(swarm, ws, ['release', '--yes'])
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(await specTag(swarm)).toBe('model-v1.0')
    // Swarm spreads the two replicas over the two nodes; the worker pulled the image from the registry.
    const nodes = await swarm.manager.docker([
      'service',
      'ps',
      '--filter',
      'desired-state=running',
      '--format',
      '{{.Node}} {{.CurrentState}}',
      'msw_app',
    ])
    expect(nodes.trim().split('\n')).toHaveLength(2)
    expect(
      (await swarm.workers[0]!.docker(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=msw_app'])).trim(),
    ).not.toBe('')
    expect(await modelsServed(swarm)).toEqual([`${ORG}-v1.0`, `${ORG}-v1.0`])
    // Verify ran in each replica through the engine that holds it.
    expect(r.stdout).toMatch(/msw_app\.\d on node-1: python3 \/app\/get\.py \/model ok/)
    expect(r.stdout).toMatch(/msw_app\.\d on node-2: python3 \/app\/get\.py \/model ok/)
  }, 400_000)

  it('a broken image is rolled back by Swarm on both nodes: exit 5', async () => {
    const base = join(ws, 'docker-compose.yml')
    const original = readFileSync(base, 'utf8')
    writeFileSync(
      base,
      original.replace('    healthcheck:', '    environment:\n      APP_BROKEN: "1"\n    healthcheck:'),
    )
    try {
      const r = await swarmCli(swarm, ws, ['release', '--yes', '--force'])
      // SWARM_SHOW_OUTPUT=1: the progress lines of the rolled-back release, as a person sees them.
      if (process.env.SWARM_SHOW_OUTPUT) console.log(`${r.stdout}\n${r.stderr}`)
      expect(r.code, r.stderr + r.stdout).toBe(5)
      expect(r.stderr).toMatch(/Swarm rolled back the update of msw_app: .*unhealthy container/)
      expect(await specTag(swarm)).toBe('model-v1.0')
      expect(await modelsServed(swarm)).toEqual([`${ORG}-v1.0`, `${ORG}-v1.0`])
    } finally {
      writeFileSync(base, original)
    }
  }, 300_000)
})
