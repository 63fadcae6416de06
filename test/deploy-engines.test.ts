import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireEngineOrSkip } from './support/docker-engine.js'
import { FAST_TRAINER, historyOf } from './support/deploy-workspace.js'
import {
  type Fleet,
  type FleetHost,
  failModelsOn,
  imagesOn,
  type Running,
  runningOn,
  SLIM_BASE_IMAGE_TAG,
  startFleet,
} from './support/engine-fleet.js'
import { sshdSupport } from './support/sshd.js'
import { cleanup, cliEnv, FIXTURES, makeWorkspace, runCli } from './support/workspace.js'

// Image mode on real engines: the build machine builds once and pushes to a real registry on 127.0.0.1; two
// servers reached as Docker contexts and a third as ssh:// (through a real sshd) pull and run it. Every
// assertion reads what each engine runs (`docker inspect`, GET /model inside the container), never argv.
// The cases run in order on one fleet and one workspace: each starts from what the previous one left.

const V1 = 'pratikoai/intent-classifier-v1.0'
const PROJECT = 'mhapp'
const APP = join(FIXTURES, 'multihost-app')

const withEngine = requireEngineOrSkip() && !sshdUnavailable()

function sshdUnavailable(): boolean {
  const problem = sshdSupport()
  if (problem && process.env.CI) throw new Error(`CI: sshd is required for the ssh:// host: ${problem}`)
  if (problem) console.warn(`skipping the multi-engine tests: ${problem}`)
  return problem !== undefined
}

describe.skipIf(!withEngine)('image mode on real engines: two contexts and an ssh:// host', () => {
  let fleet: Fleet
  let ws: string
  let env: Record<string, string>
  let image: string

  beforeAll(async () => {
    fleet = await startFleet()
    image = `${fleet.registry}/mh/app`
    ws = makeWorkspace({
      app: APP,
      config: {
        trainer: { command: [process.execPath, FAST_TRAINER], args: {} },
        deploy: { mode: 'image', health_timeout_s: 60, verify: null, model_check: null },
        environments: {
          production: {
            compose: ['docker-compose.yml'],
            env_file: ['.env.production'],
            hosts: fleet.hosts.map((h) => h.label),
          },
          qa: { compose: ['docker-compose.yml'], env_file: ['.env.production'] },
        },
      },
    })
    writeFileSync(
      join(ws, '.env.production'),
      `APP_IMAGE=${image}\nMODELSHIP_EXAMPLE_BASE_IMAGE=${SLIM_BASE_IMAGE_TAG}\n`,
    )
    env = cliEnv(fleet.env)
  }, 240_000)

  afterAll(async () => {
    if (ws) cleanup(ws)
    await fleet?.stop()
  }, 300_000)

  const release = () => runCli(['release', '--workspace', ws, '--yes', '--force'], { env, timeoutMs: 240_000 })
  const running = async (h: FleetHost) => runningOn(h.engine, PROJECT)
  const runningEverywhere = async () => {
    const out: Record<string, Running | undefined> = {}
    for (const h of fleet.hosts) out[h.label] = await running(h)
    return out
  }
  const tagged = (tag: string) => `${image}:${tag}`
  const idOfVersion = (v: string) => `pratikoai/intent-classifier-v${v}`
  /** The model id and tag the last run tried, from its history line. */
  const lastTried = () => {
    const last = historyOf(ws).at(-1)!
    return { model: last.to!, tag: last.tag! }
  }

  it('a release builds once on the build machine, pushes, and every server pulls and serves it', async () => {
    const r = await release()
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    for (const h of fleet.hosts) {
      expect(await running(h), h.label).toMatchObject({ image: tagged('model-v1.0'), model: V1 })
    }
    // The build machine built and pushed but runs nothing.
    expect(await runningOn(fleet.builder, PROJECT)).toBeUndefined()
    expect(await imagesOn(fleet.builder)).toContain(tagged('model-v1.0'))
    // The ssh:// server was reached through sshd.
    expect(fleet.sshd.sessions()).toBeGreaterThan(0)
    expect(historyOf(ws).at(-1)).toMatchObject({ outcome: 'success', tag: 'model-v1.0' })
  }, 300_000)

  it('canary unhealthy: the canary runs v1.0 again, the other servers are untouched and never pulled; exit ' +
    '5', async () => {
    const [canary, second, third] = fleet.hosts as [FleetHost, FleetHost, FleetHost]
    const before = await runningEverywhere()
    await failModelsOn(canary.engine, PROJECT, [idOfVersion('1.1')])
    try {
      const r = await release()
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toContain(`service app is unhealthy after redeploy on ${canary.label}`)
      const tried = lastTried()
      expect(tried).toEqual({ model: idOfVersion('1.1'), tag: 'model-v1.1' })
      expect(await running(canary)).toMatchObject({ image: tagged('model-v1.0'), model: V1 })
      for (const h of [second, third]) {
        expect(await running(h), h.label).toEqual(before[h.label])
        expect(await imagesOn(h.engine), h.label).not.toContain(tagged(tried.tag))
      }
      expect(await imagesOn(canary.engine)).toContain(tagged(tried.tag))
      expect(historyOf(ws).at(-1)).toMatchObject({ outcome: 'rolled_back', step: 'deploy', previousTag: 'model-v1.0' })
    } finally {
      await failModelsOn(canary.engine, PROJECT, [])
    }
  }, 300_000)

  it('failure on the second server: the first two run v1.0 again, the ssh:// server is untouched; exit 5', async () => {
    const [first, second, third] = fleet.hosts as [FleetHost, FleetHost, FleetHost]
    const before = await runningEverywhere()
    // The version this run takes is the next free one (v1.1 went to the registry in the previous case).
    await failModelsOn(second.engine, PROJECT, [idOfVersion('1.1'), idOfVersion('1.2')])
    try {
      const r = await release()
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toContain(`service app is unhealthy after redeploy on ${second.label}`)
      expect(r.stderr).toContain(`rolled back to ${V1} (tag model-v1.0) on ${first.label}, ${second.label}`)
      const tried = lastTried()
      for (const h of [first, second]) {
        expect(await running(h), h.label).toMatchObject({ image: tagged('model-v1.0'), model: V1 })
        // A new container: it ran the new tag in between.
        expect((await running(h))?.id, h.label).not.toBe(before[h.label]?.id)
        expect(await imagesOn(h.engine), h.label).toContain(tagged(tried.tag))
      }
      expect(await running(third)).toEqual(before[third.label])
      expect(await imagesOn(third.engine)).not.toContain(tagged(tried.tag))
    } finally {
      await failModelsOn(second.engine, PROJECT, [])
    }
  }, 300_000)

  it('rollback by tag: every server pulls the previous tag back; nothing is built', async () => {
    const r = await release()
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const released = lastTried()
    for (const h of fleet.hosts) {
      expect(await running(h), h.label).toMatchObject({ image: tagged(released.tag), model: released.model })
    }
    const imageIds = async () => (await fleet.builder.docker(['image', 'ls', '-q', '--no-trunc'])).split('\n').sort()
    const builtBefore = await imageIds()
    const back = await runCli(['rollback', '--workspace', ws, '--yes'], { env, timeoutMs: 240_000 })
    expect(back.stderr).toBe('')
    expect(back.code).toBe(0)
    expect(back.stdout).toContain(`rolled back production: ${released.model} → ${V1}, redeployed`)
    for (const h of fleet.hosts) {
      expect(await running(h), h.label).toMatchObject({ image: tagged('model-v1.0'), model: V1 })
    }
    expect(await imageIds()).toEqual(builtBefore)
    expect(historyOf(ws).at(-1)).toMatchObject({
      action: 'rollback',
      to: V1,
      tag: 'model-v1.0',
      previousTag: released.tag,
    })
  }, 300_000)
})
