import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BASE_TARBALL, type DockerEngine, STACK_DIR, startEngine, startRegistry } from './docker-engine.js'
import { type Sshd, startSshd } from './sshd.js'

/**
 * Several real Docker engines as a team deploying to servers has them: a build machine (the current engine,
 * DOCKER_HOST) that builds and pushes, a registry on 127.0.0.1, two servers as Docker contexts and a third
 * reached as `ssh://` through a real sshd. One fleet is shared by the cases of a file: starting it costs an
 * import of the base image (on the build machine only; the servers get everything by pulling).
 */
export interface FleetHost {
  /** How modelship names it in `environments.<env>.hosts`: a context name or the ssh:// URL. */
  readonly label: string
  readonly engine: DockerEngine
}

export interface Fleet {
  readonly builder: DockerEngine
  readonly hosts: readonly FleetHost[]
  readonly registry: string
  readonly sshd: Sshd
  /** For the CLI: the build machine's DOCKER_HOST and DOCKER_CONFIG (holding the contexts) and the ssh wrapper. */
  readonly env: Record<string, string>
  stop(): Promise<void>
}

export async function startFleet(o: { contexts?: readonly string[] } = {}): Promise<Fleet> {
  const contexts = o.contexts ?? ['prod-a', 'prod-b']
  const started: DockerEngine[] = []
  let registry: Awaited<ReturnType<typeof startRegistry>> | undefined
  let sshd: Sshd | undefined
  const stop = async () => {
    await sshd?.stop()
    await Promise.all(started.map((e) => e.stop()))
    await registry?.stop()
  }
  try {
    const engines = await Promise.all(
      ['build', ...contexts, 'ssh'].map(async (name) => {
        const e = await startEngine({ name })
        started.push(e)
        return e
      }),
    )
    registry = await startRegistry()
    const builder = engines[0]!
    const sshEngine = engines.at(-1)!
    sshd = await startSshd({ dockerHost: sshEngine.host })
    await importSlimPythonBase(builder)
    for (const [i, name] of contexts.entries()) {
      await builder.docker(['context', 'create', name, '--docker', `host=${engines[i + 1]!.host}`])
    }
    const hosts: FleetHost[] = [
      ...contexts.map((label, i) => ({ label, engine: engines[i + 1]! })),
      { label: sshd.url, engine: sshEngine },
    ]
    const env = { ...builder.env, PATH: sshd.env.PATH }
    return { builder, hosts, registry: registry.address, sshd, env, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** What one engine runs for a compose service: the container, the image reference and the model it serves. */
export interface Running {
  id: string
  image: string
  /** GET /model inside the container. */
  model: string
}

/** The running container of `service` in compose project `project` on the engine, or undefined. */
export async function runningOn(engine: DockerEngine, project: string, service = 'app'): Promise<Running | undefined> {
  const ids = (
    await engine.docker([
      'ps',
      '-q',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ])
  )
    .split('\n')
    .filter(Boolean)
  if (ids.length === 0) return undefined
  if (ids.length > 1) throw new Error(`${engine.name} runs ${ids.length} containers of ${service}`)
  const id = ids[0]!
  const image = (await engine.docker(['inspect', '--format', '{{.Config.Image}}', id])).trim()
  const get =
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/model', timeout=5).read().decode())"
  const answer = JSON.parse(await engine.docker(['exec', id, 'python3', '-c', get])) as { model: string }
  return { id, image, model: answer.model }
}

/** Every `repository:tag` the engine holds. */
export async function imagesOn(engine: DockerEngine): Promise<string[]> {
  const out = await engine.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
  return out.split('\n').filter(Boolean).sort()
}

/**
 * Makes `models` fail their health check on this engine (the multihost-app fixture reads /flags/unhealthy from
 * its `host-flags` volume), or heals it with an empty list: a server-side fault, per engine, on a real engine.
 */
export async function failModelsOn(engine: DockerEngine, project: string, models: readonly string[]): Promise<void> {
  const volume = `${project}_host-flags`
  await engine.docker(['volume', 'create', volume])
  const dir = join(engine.dir, 'flags-input')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'unhealthy'), `${models.join('\n')}\n`)
  // The base image is on the build machine only: write through any image the engine has (the app's own).
  const image = (await imagesOn(engine)).find((i) => !i.endsWith(':<none>'))
  if (!image) throw new Error(`${engine.name} holds no image to write the flags volume with`)
  const copy = "import shutil; shutil.copy('/in/unhealthy', '/flags/unhealthy')"
  const mounts = ['-v', `${volume}:/flags`, '-v', `${dir}:/in:ro`]
  await engine.docker(['run', '--rm', '--network', 'none', ...mounts, '--entrypoint', 'python3', image, '-c', copy])
}

/** The slim base image's tag: python3 and its standard library, nothing else (no shell). */
export const SLIM_BASE_IMAGE_TAG = 'modelship-test/python-slim:3'
const SLIM_SCRIPT = fileURLToPath(new URL('./slim-python-base.sh', import.meta.url))

/**
 * Imports a python-only image (~35 MB, made by slim-python-base.sh from the offline base tarball) as
 * {@link SLIM_BASE_IMAGE_TAG}. The tar is made once per base tarball and kept beside it in the stack directory.
 */
export async function importSlimPythonBase(engine: DockerEngine): Promise<void> {
  const base = statSync(BASE_TARBALL)
  const slim = join(STACK_DIR, `python-slim-${base.size}-${Math.floor(base.mtimeMs)}.tar`)
  if (!existsSync(slim)) {
    const work = mkdtempSync('/tmp/msb-')
    try {
      // Written aside, then renamed: a test file running at the same time never imports half a tar.
      const aside = `${slim}.${process.pid}`
      execFileSync('bash', ['-c', 'bash "$1" "$2" "$3" > "$4"', '_', SLIM_SCRIPT, BASE_TARBALL, work, aside])
      renameSync(aside, slim)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }
  await engine.docker([
    'import',
    '--change',
    'ENV LANG=C.UTF-8',
    '--change',
    'CMD ["python3"]',
    slim,
    SLIM_BASE_IMAGE_TAG,
  ])
}
