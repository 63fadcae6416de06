import { ModelshipError } from '../engine/errors.js'
import type { Command } from '../ports/types.js'
import type { Host } from './host.js'
import { assertTagVar, assertTagValue } from './image-tag.js'

// Commands are data: every docker invocation of a deploy is built here, for any host, so dry-run output,
// the real run, history and the tests all show the same argv and the same per-command environment.

/**
 * One docker invocation: the argv and the variables to add to that one command's environment
 * (`DOCKER_HOST` for an ssh host, `<tag_var>` in image mode). Never holds a secret: HF_TOKEN is added
 * by the caller when it runs the build, so these can be printed and recorded as they are.
 */
export interface HostCommand {
  readonly argv: Command
  readonly env: Readonly<Record<string, string>>
}

/** Where a compose command runs and what it reads: the host, the `--env-file` paths and the `-f` files, in order. */
export interface ComposeTarget {
  readonly host: Host
  /** `environments.<name>.env_file`, passed as `--env-file`, in order, before the `-f` files. */
  readonly envFile?: readonly string[]
  readonly files: readonly string[]
}

/** The image tag in a command's environment (image mode): `<variable>=<value>`, e.g. `IMAGE_TAG=model-v1.3`. */
export interface ImageTag {
  readonly variable: string
  readonly value: string
}

// Compose service names: letters, digits, '_', '.', '-', not starting with a separator. Anything
// starting with '-' would be read as an option by the docker CLI.
const SERVICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const BUILD_ARG_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/

export function assertService(service: string): void {
  if (!SERVICE_PATTERN.test(service)) {
    throw new ModelshipError('CONFIG', `deploy.service: ${JSON.stringify(service)} is not a compose service name`)
  }
}

export function assertBuildArg(name: string): void {
  if (!BUILD_ARG_PATTERN.test(name)) {
    throw new ModelshipError('CONFIG', `deploy.build_arg: ${JSON.stringify(name)} is not a build argument name`)
  }
}

/** `docker` or `docker --context NAME`: the program and the global options that pick the engine. */
export function dockerArgv(host: Host): ['docker', ...string[]] {
  return host.kind === 'context' ? ['docker', '--context', host.name] : ['docker']
}

/** The environment that picks the engine: `DOCKER_HOST=<url>` for an ssh host, nothing otherwise. */
export function hostEnv(host: Host): Record<string, string> {
  return host.kind === 'ssh' ? { DOCKER_HOST: host.url } : {}
}

/** `compose --env-file e… -f a -f b`: env files first, then the compose files (later files override earlier ones). */
export function composeGlobalArgs(target: Pick<ComposeTarget, 'envFile' | 'files'>): string[] {
  if (target.files.length === 0) throw new ModelshipError('CONFIG', 'an environment needs at least one compose file')
  for (const f of [...(target.envFile ?? []), ...target.files]) {
    if (f === '') throw new ModelshipError('CONFIG', 'a compose or env file path is empty')
  }
  const envFiles = (target.envFile ?? []).flatMap((f) => ['--env-file', f])
  return ['compose', ...envFiles, ...target.files.flatMap((f) => ['-f', f])]
}

function tagEnv(tag: ImageTag | undefined): Record<string, string> {
  if (tag === undefined) return {}
  assertTagVar(tag.variable, 'deploy.tag_var')
  assertTagValue(tag.value, 'deploy.image_tag')
  return { [tag.variable]: tag.value }
}

function compose(target: ComposeTarget, args: readonly string[], tag?: ImageTag): HostCommand {
  return {
    argv: [...dockerArgv(target.host), ...composeGlobalArgs(target), ...args],
    env: { ...hostEnv(target.host), ...tagEnv(tag) },
  }
}

function onHost(host: Host, args: readonly string[]): HostCommand {
  return { argv: [...dockerArgv(host), ...args], env: hostEnv(host) }
}

/**
 * `docker compose … build [--build-arg K=V…] --build-arg KEY=<id> <service>`. The build override (the compose
 * file that hands HF_TOKEN to the build as a secret, or sets its network) comes after the user's files; the
 * extra build args are what the model needs to reach the build (build-inputs.ts). In image mode the tag is in
 * the environment, so the image is built under the tag it will be pushed as.
 */
export function composeBuildCommand(o: {
  target: ComposeTarget
  service: string
  buildArg: string
  modelId: string
  buildOverride?: string
  buildArgs?: Readonly<Record<string, string>>
  tag?: ImageTag
}): HostCommand {
  assertService(o.service)
  assertBuildArg(o.buildArg)
  const files = o.buildOverride === undefined ? o.target.files : [...o.target.files, o.buildOverride]
  const extra = Object.entries(o.buildArgs ?? {}).flatMap(([k, v]) => {
    assertBuildArg(k)
    return ['--build-arg', `${k}=${v}`]
  })
  // The model's own build arg last, right before the service: the one a reader looks for.
  const args = ['build', ...extra, '--build-arg', `${o.buildArg}=${o.modelId}`, o.service]
  return compose({ ...o.target, files }, args, o.tag)
}

/**
 * `docker [--context X] build --tag <image> --file <dockerfile> <dir>`: the image that hands a model's files
 * from the local registry to the service's build (`FROM scratch`, `COPY . /`).
 */
export function modelFilesBuildCommand(o: { host: Host; image: string; dockerfile: string; dir: string }): HostCommand {
  assertObjectRef(o.image, 'image')
  for (const p of [o.dockerfile, o.dir]) {
    if (p === '' || p.startsWith('-')) throw new ModelshipError('STEP_FAILED', `not a path: ${JSON.stringify(p)}`)
  }
  return onHost(o.host, ['build', '--tag', o.image, '--file', o.dockerfile, o.dir])
}

/** `docker compose … push <service>`: publishes the image under the tag (image mode's `publish` step). */
export function composePushCommand(o: { target: ComposeTarget; service: string; tag: ImageTag }): HostCommand {
  assertService(o.service)
  return compose(o.target, ['push', o.service], o.tag)
}

/** `docker compose … pull <service>`: fetches the tagged image onto the host (image mode's deploy and rollback). */
export function composePullCommand(o: { target: ComposeTarget; service: string; tag: ImageTag }): HostCommand {
  assertService(o.service)
  return compose(o.target, ['pull', o.service], o.tag)
}

/**
 * `docker compose … up -d --no-deps [--force-recreate] <service>`: starts only `service`, leaving its
 * dependencies alone. Compose mode forces the recreate (the image name stays the same after a build);
 * image mode does not need to (the tag, and so the image, changes).
 */
export function composeUpCommand(o: {
  target: ComposeTarget
  service: string
  forceRecreate: boolean
  tag?: ImageTag
}): HostCommand {
  assertService(o.service)
  const args = ['up', '-d', '--no-deps', ...(o.forceRecreate ? ['--force-recreate'] : []), o.service]
  return compose(o.target, args, o.tag)
}

/** `docker compose … ps --format json <service>`: the containers of `service` on the host, with their health. */
export function composePsCommand(o: { target: ComposeTarget; service: string; tag?: ImageTag }): HostCommand {
  assertService(o.service)
  return compose(o.target, ['ps', '--format', 'json', o.service], o.tag)
}

/**
 * `docker compose … config [--images|--services] [service]`: the merged, interpolated configuration
 * (read-only; no engine needed, but every `--env-file` must exist and every required variable be set).
 */
export function composeConfigCommand(o: {
  target: ComposeTarget
  show?: 'config' | 'images' | 'services'
  service?: string
  tag?: ImageTag
}): HostCommand {
  if (o.service !== undefined) assertService(o.service)
  const show = o.show ?? 'config'
  const args = ['config', ...(show === 'config' ? [] : [`--${show}`]), ...(o.service === undefined ? [] : [o.service])]
  return compose(o.target, args, o.tag)
}

/** `docker [--context X] compose version --short`: is the compose plugin installed there (no engine needed). */
export function composeVersionCommand(host: Host): HostCommand {
  return onHost(host, ['compose', 'version', '--short'])
}

/** `docker [--context X] info --format {{.ServerVersion}}`: the engine's version; fails when no engine answers. */
export function engineInfoCommand(host: Host): HostCommand {
  return onHost(host, ['info', '--format', '{{.ServerVersion}}'])
}

/**
 * `docker inspect --format … <container>` on the host: `id` prints the image id the container runs,
 * `reference` the image reference it was created from (with the tag, e.g. `ghcr.io/o/app:model-v1.3`).
 */
export function containerImageCommand(o: { host: Host; containerId: string; show: 'id' | 'reference' }): HostCommand {
  assertObjectRef(o.containerId, 'container')
  return onHost(o.host, ['inspect', '--format', o.show === 'id' ? '{{.Image}}' : '{{.Config.Image}}', o.containerId])
}

/** `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' <container>`: one `KEY=value` a line. */
export function containerEnvCommand(o: { host: Host; containerId: string }): HostCommand {
  assertObjectRef(o.containerId, 'container')
  return onHost(o.host, ['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', o.containerId])
}

/** `docker image inspect --format {{.Id}} <image>` on the host: the id of a local image. */
export function imageIdCommand(o: { host: Host; image: string }): HostCommand {
  assertObjectRef(o.image, 'image')
  return onHost(o.host, ['image', 'inspect', '--format', '{{.Id}}', o.image])
}

function assertObjectRef(ref: string, what: string): void {
  if (ref === '' || ref.startsWith('-')) {
    throw new ModelshipError('STEP_FAILED', `not a ${what} reference: ${JSON.stringify(ref)}`)
  }
}

/** A command as one line for plans, history and "commands to finish by hand": env assignments, then the argv. */
export function formatHostCommand(cmd: HostCommand): string {
  // Same quoting as shell.ts formatCommand, so plan lines and run logs read alike.
  const quote = (s: string) => (/^[\w@%+=:,./{}-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
  const env = Object.entries(cmd.env).map(([k, v]) => `${k}=${quote(v)}`)
  return [...env, ...cmd.argv.map(quote)].join(' ')
}
