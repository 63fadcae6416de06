import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type DockerEngine,
  importBaseImage,
  requireEngineOrSkip,
  startEngine,
  startRegistry,
} from './support/docker-engine.js'

/** Processes whose command line names a path under `dir` (dockerd, containerd, the shims). */
function processesUnder(dir: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (cmd.includes(`${dir}/`)) found.push(`${pid} ${cmd}`)
    } catch {}
  }
  return found
}

describe.skipIf(!requireEngineOrSkip())('the real-engine test harness', () => {
  let a: DockerEngine
  let b: DockerEngine
  beforeAll(async () => {
    ;[a, b] = await Promise.all([startEngine({ name: 'a' }), startEngine({ name: 'b' })])
    await importBaseImage(a)
  })
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
  })

  it('runs a container from the imported base image; two engines share no image, socket or bridge', async () => {
    const out = await a.docker(['run', '--rm', 'modelship-test/python:3', 'python3', '-c', 'print(6 * 7)'])
    expect(out.trim()).toBe('42')
    expect((await a.docker(['images', '-q', 'modelship-test/python:3'])).trim()).not.toBe('')
    expect((await b.docker(['images', '-q'])).trim()).toBe('')
    expect(a.socket).not.toBe(b.socket)
    expect(a.bridge).not.toBe(b.bridge)
    // The default bridge (what build RUN steps use) is the engine's own, on its own subnet.
    const subnet = await a.docker(['network', 'inspect', 'bridge', '--format', '{{(index .IPAM.Config 0).Gateway}}'])
    expect(subnet.trim()).toBe(a.gateway)
    expect(a.gateway).not.toBe(b.gateway)
  })

  it('rejects with the stderr of a failing docker command', async () => {
    await expect(a.docker(['inspect', 'no-such-container'])).rejects.toThrow(/no-such-container/i)
  })

  it('pushes to the registry on 127.0.0.1', async () => {
    const registry = await startRegistry()
    try {
      const ref = `${registry.address}/harness/python:3`
      await a.docker(['tag', 'modelship-test/python:3', ref])
      await a.docker(['push', ref])
      const res = await fetch(`http://${registry.address}/v2/harness/python/tags/list`)
      expect(await res.json()).toEqual({ name: 'harness/python', tags: ['3'] })
    } finally {
      await registry.stop()
    }
  })

  it('stop() leaves no process, container process, mount or directory behind, and is idempotent', async () => {
    await a.docker(['run', '-d', '--name', 'sleeper', 'modelship-test/python:3', 'sleep', '600'])
    const pid = Number((await a.docker(['inspect', '-f', '{{.State.Pid}}', 'sleeper'])).trim())
    expect(existsSync(`/proc/${pid}`)).toBe(true)
    expect(processesUnder(a.dir).length).toBeGreaterThan(1)
    await a.stop()
    await a.stop()
    expect(existsSync(`/proc/${pid}`)).toBe(false)
    expect(processesUnder(a.dir)).toEqual([])
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(a.dir)
    expect(existsSync(a.dir)).toBe(false)
  })
})
