import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DockerEngine } from './docker-engine.js'
import type { TestSwarm } from './swarm.js'
import { cliEnv, FIXTURES, INSTANT_TRAINER_CONFIG, makeWorkspace, runCli } from './workspace.js'

// The swarm test app (test/fixtures/swarm-app) in a workspace, the CLI against a test swarm, and what Swarm and
// the replicas say about it.

export const SWARM_APP = join(FIXTURES, 'swarm-app')
export const STACK = 'msw'
export const SERVICE = `${STACK}_app`

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

/**
 * What each running replica serves (tasks meant to run that do not run yet are left out): `/model` asked inside its
 * container, on the engine that holds it.
 */
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
