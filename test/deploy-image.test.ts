import { afterEach, describe, expect, it } from 'vitest'
import { brief, deployWorkspace, historyOf, IMAGE_REPO, writes } from './support/deploy-workspace.js'
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
    qa: { compose: ['docker-compose.yml', 'docker-compose.qa.yml', 'docker-compose.image.yml'], edit: ['docker-compose.qa.yml'], env_file: ['.env.qa'] },
  },
})

function setup(hosts: string[], shimOpts: Parameters<typeof deployWorkspace>[1] = {}) {
  const d = deployWorkspace({ ...IMAGE_MODE, ...hostsOf(hosts) }, { contexts: hosts.filter((h) => !h.includes('://')), ...shimOpts })
  done.push(d.done)
  return d
}

describe('deploy.mode image on two hosts', () => {
  it('one build with the tag, one push, then pull + up on each host in order; history records tag and hosts', async () => {
    const { ws, shim, env } = setup(['prod-a', 'prod-b'])
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env })
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
      expect(shim.container('app', host)).toMatchObject({ image: `${IMAGE_REPO}:model-v1.0`, model: V1, tag: 'model-v1.0' })
    }
    expect(Object.keys(shim.registry())).toEqual([`${IMAGE_REPO}:model-v1.0`])
    expect(historyOf(ws).at(-1)).toMatchObject({ action: 'release', to: V1, outcome: 'success', tag: 'model-v1.0', hosts: ['prod-a', 'prod-b'] })
    console.log(`image mode, two hosts:\n${shim.calls().map(brief).join('\n')}`)
  }, 120_000)
})
