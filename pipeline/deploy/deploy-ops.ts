import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { buildOverrideYaml, healthOf, parsePsJson, serviceImageOf } from '../compose/docker.js'
import { ModelshipError } from '../engine/errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import type { Deps } from '../ports/deps.js'
import { formatCommand } from '../ports/shell.js'
import type { Command } from '../ports/types.js'
import {
  composeBuildCommand,
  composeConfigCommand,
  composePsCommand,
  composePullCommand,
  composePushCommand,
  composeUpCommand,
  containerImageCommand,
  type HostCommand,
  imageIdCommand,
  modelFilesBuildCommand,
} from './commands.js'
import {
  BUILD_OVERRIDE_FILE,
  type BuildInputs,
  buildInputsOf,
  MODEL_FILES_DOCKERFILE,
  needsBuildOverride,
} from './build-inputs.js'
import { DEFAULT_HOST, type Host, hostLabel } from './host.js'
import { type DeploySettings, tagOf, targetOn } from './settings.js'

// The deploy operations, one host at a time: build, publish (image mode), pull + up, wait healthy, check
// the running image, verify. Which hosts, in which order, and what a failure undoes is rollout.ts's job.

/** Runs a write command: argv plus its own environment (DOCKER_HOST, the tag; HF_TOKEN for builds). */
async function write(
  deps: Deps,
  cmd: HostCommand,
  o: { env?: Record<string, string>; onLine?: (l: string) => void } = {},
) {
  const env = { ...cmd.env, ...o.env }
  return deps.sh.write(cmd.argv, {
    ...(Object.keys(env).length ? { env } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  })
}

async function read(deps: Deps, cmd: HostCommand): Promise<string> {
  return deps.sh.read(cmd.argv, Object.keys(cmd.env).length ? { env: cmd.env } : {})
}

/** The build command on a host: the override (in the run directory) after the user's files, the inputs' build args. */
export function buildCommandOn(
  s: DeploySettings,
  o: { host: Host; modelId: string; inputs?: BuildInputs; runDir?: string; tag?: string },
): HostCommand {
  const tag = tagOf(s, o.tag)
  const override =
    o.inputs && o.runDir !== undefined && needsBuildOverride(o.inputs) ? buildOverridePath(o.runDir) : undefined
  return composeBuildCommand({
    target: targetOn(s, o.host),
    service: s.service,
    buildArg: s.buildArg,
    modelId: o.modelId,
    ...(override ? { buildOverride: override } : {}),
    ...(o.inputs ? { buildArgs: o.inputs.buildArgs } : {}),
    ...(tag ? { tag } : {}),
  })
}

/** The commands that run before the service's build on a host: the model files image (registry local). */
export function preBuildCommandsOn(inputs: BuildInputs, host: Host): HostCommand[] {
  const m = inputs.modelFiles
  return m ? [modelFilesBuildCommand({ host, image: m.image, dockerfile: m.dockerfile, dir: m.dir })] : []
}

/** Where the build override of a run is written (`<run-dir>` in plans). */
export const buildOverridePath = (runDir: string): string => join(runDir, BUILD_OVERRIDE_FILE)

export interface BuiltImage {
  /** The image reference compose uses for the service (with the tag in image mode). */
  ref?: string
  imageId?: string
}

/**
 * Builds the service image with the model as build arg on one host (image mode: where modelship runs,
 * with `<tag_var>=<tag>` in the command's environment). HF_TOKEN reaches the build only as a Compose
 * build secret (never a build arg, which would persist in the image history), and only in this command's env.
 * With the local registry the model's files come first, as an image the Dockerfile builds a stage from.
 */
export async function buildImage(
  deps: Deps,
  s: DeploySettings,
  o: { host: Host; modelId: string; runDir: string; tag?: string; onLine?: (line: string) => void },
): Promise<BuiltImage> {
  const inputs = buildInputsOf(deps.config, s, {
    modelId: o.modelId,
    secret: deps.secrets.hfToken !== undefined,
    runDir: o.runDir,
  })
  if (needsBuildOverride(inputs)) {
    await writeFileAtomic(buildOverridePath(o.runDir), buildOverrideYaml(s.service, inputs))
  }
  if (inputs.modelFiles) await buildModelFiles(deps, inputs.modelFiles, o)
  const cmd = buildCommandOn(s, {
    host: o.host,
    modelId: o.modelId,
    inputs,
    runDir: o.runDir,
    ...(o.tag ? { tag: o.tag } : {}),
  })
  // The image's reference does not depend on the build: compose answers it while the build runs (one
  // docker command less to wait for), and the id is read once the build is done.
  const ref = imageRefOf(deps, s, o.host, o.tag)
  ref.catch(() => {}) // a build that fails first is the error reported; this one is then moot
  await write(deps, cmd, {
    ...(deps.secrets.hfToken ? { env: { HF_TOKEN: deps.secrets.hfToken } } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  })
  return imageOf(deps, o.host, await ref)
}

/**
 * The local registry's copy of the model, as an image on the host: downloaded into the run directory (a fresh
 * copy each time, so a half-written earlier one never counts), built, then the copy is removed.
 */
async function buildModelFiles(
  deps: Deps,
  m: NonNullable<BuildInputs['modelFiles']>,
  o: { host: Host; modelId: string; onLine?: (line: string) => void },
): Promise<void> {
  rmSync(m.dir, { recursive: true, force: true })
  mkdirSync(m.dir, { recursive: true })
  if (!(await deps.registry.download(o.modelId, m.dir))) {
    throw new ModelshipError('STEP_FAILED', `${o.modelId} is not in the ${deps.registry.describe()}: nothing to build`)
  }
  await writeFileAtomic(m.dockerfile, MODEL_FILES_DOCKERFILE)
  try {
    await write(deps, modelFilesBuildCommand({ host: o.host, image: m.image, dockerfile: m.dockerfile, dir: m.dir }), {
      ...(o.onLine ? { onLine: o.onLine } : {}),
    })
  } finally {
    rmSync(m.dir, { recursive: true, force: true })
  }
}

/** The service's image on a host: its reference (from `config`) and, when the host has it, its id. */
export async function localImageOf(deps: Deps, s: DeploySettings, host: Host, tag?: string): Promise<BuiltImage> {
  return imageOf(deps, host, await imageRefOf(deps, s, host, tag))
}

/**
 * The image reference compose gives the service, read from the merged `config`: not `config --images <service>`,
 * which also lists the images of the services it depends on, in no fixed order (compose 2.26).
 */
async function imageRefOf(deps: Deps, s: DeploySettings, host: Host, tag?: string): Promise<string | undefined> {
  const t = tagOf(s, tag)
  const config = await read(
    deps,
    composeConfigCommand({ target: targetOn(s, host), service: s.service, ...(t ? { tag: t } : {}) }),
  )
  return serviceImageOf(config, s.service)
}

/** `ref` and, when the host has that image, its id. */
async function imageOf(deps: Deps, host: Host, ref: string | undefined): Promise<BuiltImage> {
  if (!ref) return {}
  const imageId = (await read(deps, imageIdCommand({ host, image: ref }))).trim()
  return { ref, ...(imageId ? { imageId } : {}) }
}

/** `docker compose … push <service>` where modelship runs, with the tag: the image reaches the registry. */
export function publishCommandOf(s: DeploySettings, tag: string): HostCommand {
  return composePushCommand({
    target: targetOn(s, DEFAULT_HOST),
    service: s.service,
    tag: { variable: s.tagVar, value: tag },
  })
}

export async function publishImage(
  deps: Deps,
  s: DeploySettings,
  o: { tag: string; onLine?: (l: string) => void },
): Promise<void> {
  await write(deps, publishCommandOf(s, o.tag), o.onLine ? { onLine: o.onLine } : {})
}

/** What runs on one host after a deploy (or a rollback) there. */
export interface HostDeployment {
  /** The host's label: context name, ssh URL or `default`. */
  host: string
  health: string
  containerId?: string
  imageId?: string
  /** The image reference the container was created from (image mode). */
  image?: string
  tag?: string
}

/**
 * The commands that start the service on a host: image mode pulls the tagged image and ups it (no
 * rebuild; the changed tag recreates the container); compose mode recreates it from the image just built.
 * With `tag` undefined in image mode, compose's own default in `image:` applies (e.g. `:-latest`).
 */
export function startCommandsOn(s: DeploySettings, host: Host, tag: string | undefined): HostCommand[] {
  const target = targetOn(s, host)
  const t = tagOf(s, tag)
  if (s.mode === 'image') {
    // composePullCommand always sets the tag; without one, compose's default in `image:` must apply.
    const pull = composePullCommand({ target, service: s.service, tag: t ?? { variable: s.tagVar, value: 'latest' } })
    const up = composeUpCommand({ target, service: s.service, forceRecreate: false, ...(t ? { tag: t } : {}) })
    return [t ? pull : { argv: pull.argv, env: withoutTag(pull.env, s.tagVar) }, up]
  }
  return [composeUpCommand({ target, service: s.service, forceRecreate: true })]
}

function withoutTag(env: Readonly<Record<string, string>>, tagVar: string): Record<string, string> {
  const out = { ...env }
  delete out[tagVar]
  return out
}

/**
 * Starts the service on one host (pull + up in image mode, up in compose mode), waits until it is
 * healthy and checks the container runs the intended image: the id just built, and in image mode the tag.
 */
export async function deployOnHost(
  deps: Deps,
  s: DeploySettings,
  o: { host: Host; tag?: string; expectedImageId?: string; onState?: (state: string) => void },
): Promise<HostDeployment> {
  for (const cmd of startCommandsOn(s, o.host, o.tag)) await write(deps, cmd)
  const health = await waitHealthy(deps, s, {
    host: o.host,
    ...(o.tag ? { tag: o.tag } : {}),
    ...(o.onState ? { onState: o.onState } : {}),
  })
  if (!health.containerId) return health
  const where = o.host.kind === 'default' ? '' : ` on ${hostLabel(o.host)}`
  let out: HostDeployment = health
  if (o.expectedImageId) {
    const running = (
      await read(deps, containerImageCommand({ host: o.host, containerId: health.containerId, show: 'id' }))
    ).trim()
    if (running !== o.expectedImageId) {
      throw new ModelshipError(
        'STEP_FAILED',
        `container ${health.containerId}${where} runs image ${running}, not the one just built (${o.expectedImageId})`,
      )
    }
    out = { ...out, imageId: running }
  }
  if (s.mode === 'image' && o.tag) {
    const image = (
      await read(deps, containerImageCommand({ host: o.host, containerId: health.containerId, show: 'reference' }))
    ).trim()
    if (tagOfReference(image) !== o.tag) {
      throw new ModelshipError(
        'STEP_FAILED',
        `container ${health.containerId}${where} runs ${image}, not the tag ${o.tag}`,
      )
    }
    out = { ...out, image, tag: o.tag }
  }
  return out
}

/** The tag of an image reference (`ghcr.io/o/app:model-v1.3` → `model-v1.3`), or undefined when it has none. */
export function tagOfReference(ref: string): string | undefined {
  const name = ref.split('@')[0] ?? ''
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  return colon > slash ? name.slice(colon + 1) : undefined
}

/** The `ps` of the service on a host, with the env files, for waiting and for the "state" lines of exit 6. */
export function psCommandOn(s: DeploySettings, host: Host, tag?: string): HostCommand {
  const t = tagOf(s, tag)
  return composePsCommand({ target: targetOn(s, host), service: s.service, ...(t ? { tag: t } : {}) })
}

/**
 * Polls `ps --format json` on the host with backoff until healthy (or running without a health check),
 * unhealthy, or the environment's health timeout (the deps clock: tests wait no real time).
 */
export async function waitHealthy(
  deps: Deps,
  s: DeploySettings,
  o: { host: Host; tag?: string; onState?: (state: string) => void },
): Promise<HostDeployment> {
  const { clock } = deps
  const deadline = clock.now().getTime() + s.healthTimeoutS * 1000
  const where = o.host.kind === 'default' ? '' : ` on ${hostLabel(o.host)}`
  let delay = 250
  let last = ''
  for (;;) {
    const entries = parsePsJson(await read(deps, psCommandOn(s, o.host, o.tag)))
    const state = healthOf(entries, s.service)
    if (state !== last) {
      o.onState?.(state)
      last = state
    }
    const entry = entries.find((e) => e.Service === s.service) ?? entries[0]
    const containerId = entry?.ID
    if (state === 'healthy' || state === 'running') {
      return { host: hostLabel(o.host), health: state, ...(containerId ? { containerId } : {}) }
    }
    if (state === 'unhealthy' || state === 'exited') {
      throw new ModelshipError('STEP_FAILED', `service ${s.service} is ${state} after redeploy${where}`)
    }
    const left = deadline - clock.now().getTime()
    if (left <= 0) {
      throw new ModelshipError(
        'STEP_FAILED',
        `service ${s.service} did not become healthy within ${s.healthTimeoutS}s${where} (last state: ${state})`,
      )
    }
    await clock.sleep(Math.min(delay, left))
    delay = Math.min(delay * 2, 5000)
  }
}

/** The verify commands of an environment: its `verify`, then its `model_check` (each else `deploy.*`). */
export function verifyCommands(s: DeploySettings): Command[] {
  return [s.verify, s.modelCheck].filter((c): c is Command => c !== null)
}

/** Runs the environment's verify, then its model check, whose output must contain the model id. */
export async function verifyService(
  deps: Deps,
  s: DeploySettings,
  o: { modelId: string; onLine?: (line: string) => void },
): Promise<string[]> {
  const ran: string[] = []
  if (s.verify) {
    await deps.sh.read(s.verify, o.onLine ? { onLine: o.onLine } : {})
    ran.push(formatCommand(s.verify))
  }
  if (s.modelCheck) {
    const out = await deps.sh.read(s.modelCheck)
    ran.push(formatCommand(s.modelCheck))
    if (!out.includes(o.modelId)) {
      const got = out.slice(0, 200).replace(/\s+/g, ' ')
      throw new ModelshipError(
        'STEP_FAILED',
        `model check ${formatCommand(s.modelCheck)} did not report ${o.modelId} (got: ${got})`,
      )
    }
  }
  return ran
}

/** A one-line summary of the service's containers on a host, for the state lines of exit 6. */
export async function describeContainers(deps: Deps, s: DeploySettings, host: Host): Promise<string> {
  try {
    const entries = parsePsJson(await read(deps, psCommandOn(s, host)))
    if (entries.length === 0) return 'no container'
    return entries
      .map((c) => {
        const health = c.Health ? ` (${c.Health})` : ''
        return `${c.Name ?? c.ID ?? s.service}: ${c.State ?? '?'}${health} image ${c.Image ?? '?'}`
      })
      .join('; ')
  } catch {
    return 'unknown (the engine did not answer)'
  }
}
