import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DockerEngine } from './docker-engine.js'
import { deepMerge, FIXTURES, makeWorkspace, REPO } from './workspace.js'

// A workspace shaped like the repository's example, for releases on a real engine: the compose and env files
// come from test/fixtures/real-app (a release edits them, so never from examples/), the image's code is the
// example's own (its Dockerfile, Dockerfile.dockerignore and service, which no release touches) and the trainer's
// model loader, laid out as in the repository: the build context is the workspace root.

export const REAL_APP_FIXTURE = join(FIXTURES, 'real-app')
const COMPOSE = ['examples/app/docker-compose.yml', 'examples/app/docker-compose.production.yml']
export const ENV_FILE = 'examples/app/.env.production'

/** The command a model check runs: GET /model inside the app container, printed. */
export function modelCheckCommand(): string[] {
  return [...composeArgv(), 'exec', '-T', 'app', 'python3', '-c', GET_MODEL]
}
const GET_MODEL =
  "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/model', timeout=5).read().decode())"

export const composeArgv = (): string[] => [
  'docker',
  'compose',
  '--env-file',
  ENV_FILE,
  ...COMPOSE.flatMap((f) => ['-f', f]),
]

/**
 * The workspace; `project` is its compose project name (set in its .env: two workspaces on one engine must not
 * share containers). `config` is merged over the test defaults (registry local, the real trainer).
 */
export function makeRealAppWorkspace(project: string, config: Record<string, unknown> = {}): string {
  const tree = mkdtempSync(join(tmpdir(), 'modelship-real-app-'))
  try {
    const app = join(tree, 'examples', 'app')
    mkdirSync(app, { recursive: true })
    cpSync(REAL_APP_FIXTURE, app, { recursive: true })
    for (const f of ['Dockerfile', 'Dockerfile.dockerignore', 'service']) {
      cpSync(join(REPO, 'examples', 'app', f), join(app, f), { recursive: true })
    }
    cpSync(join(REPO, 'scripts', 'intent_trainer'), join(tree, 'scripts', 'intent_trainer'), {
      recursive: true,
      filter: (src) => !src.includes('__pycache__'),
    })
    writeFileSync(join(tree, '.env'), `COMPOSE_PROJECT_NAME=${project}\n`)
    return makeWorkspace({
      app: tree,
      config: deepMerge(
        {
          // Long enough for a container to start on a loaded machine (vfs copies its file system); an unhealthy one
          // (restarting) waits all of it.
          deploy: { mode: 'compose', health_timeout_s: 45, model_check: modelCheckCommand() },
          environments: { production: { compose: COMPOSE, env_file: [ENV_FILE] } },
        },
        config,
      ),
    })
  } finally {
    rmSync(tree, { recursive: true, force: true })
  }
}

/** What the engine runs for the project's app service: the container, its image, its env and what /model says. */
export interface Served {
  containerId: string
  imageId: string
  image: string
  /** HF_INTENT_MODEL in the container's environment. */
  envModel: string | undefined
  /** GET /model inside the container. */
  model: { model: string; backend: string }
}

export async function servedBy(engine: DockerEngine, project: string): Promise<Served | undefined> {
  const ids = (
    await engine.docker([
      'ps',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'label=com.docker.compose.service=app',
      '--format',
      '{{.ID}}',
    ])
  )
    .split('\n')
    .filter(Boolean)
  if (ids.length === 0) return undefined
  if (ids.length > 1) throw new Error(`${ids.length} app containers run in ${project}`)
  const [inspect] = JSON.parse(await engine.docker(['inspect', ids[0]!])) as Array<{
    Id: string
    Image: string
    Config: { Env: string[]; Image: string }
  }>
  const envModel = inspect!.Config.Env.find((e) => e.startsWith('HF_INTENT_MODEL='))?.slice('HF_INTENT_MODEL='.length)
  const out = await engine.docker(['exec', inspect!.Id, 'python3', '-c', GET_MODEL])
  return {
    containerId: inspect!.Id,
    imageId: inspect!.Image,
    image: inspect!.Config.Image,
    envModel,
    model: JSON.parse(out) as Served['model'],
  }
}

/** Everything `docker history --no-trunc` and `docker image inspect` say about an image, as one text. */
export async function imageRecord(engine: DockerEngine, image: string): Promise<string> {
  const history = await engine.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}} {{.Comment}}', image])
  return `${history}\n${await engine.docker(['image', 'inspect', image])}`
}
