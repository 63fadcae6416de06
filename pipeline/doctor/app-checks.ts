import { join, posix, relative, sep } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import type { Config } from '../config/config.js'
import { checkServiceImage } from '../deploy/image-check.js'
import { parseHosts } from '../deploy/host.js'
import { environmentOf, modelsInEffect, readEnvironmentModels } from '../environment.js'
import type { Shell, UserFiles } from '../ports/types.js'
import { checkComposePlugin } from './compose-plugin.js'
import { type ComposeText, serviceBuildOf } from './compose-service.js'
import { checkDockerfile, checkModelFiles } from './dockerfile.js'
import { checkDockerignore } from './dockerignore.js'
import { checkEditFiles } from './edit-files.js'
import type { Finding } from './finding.js'
import { checkRequiredVariables } from './required-variables.js'

/** What the app-level checks read: the config, the user's files, and the environment compose would see. */
export interface AppCheckInput {
  config: Config
  envName: string
  files: UserFiles
  sh: Shell
  /** The environment docker compose runs with (workspace .env under the real environment). */
  env: Readonly<Record<string, string | undefined>>
  /**
   * The run builds and redeploys: only then does the compose plugin matter. A promise (the answer of
   * `docker info`) lets the plugin check run beside it; its findings count once it says yes.
   */
  willDeploy: boolean | Promise<boolean>
}

/**
 * The checks that tell whether the app will really run the released model: the edit files hold the
 * variable, required compose variables are set, the Dockerfile downloads with the token and fails
 * loudly, the build arg reaches the process, .modelship stays out of the image, image mode tags, and
 * (when deploying) the compose plugin on every host. Files that do not exist are skipped here (the
 * workspace checks report them).
 */
export async function checkApp(o: AppCheckInput): Promise<Finding[]> {
  const { config, envName, files } = o
  const env = environmentOf(config, envName)
  // `docker compose version` needs no engine: asked at once, it waits beside the file checks and `docker info`.
  // It never rejects (each host's failure is a finding), so it may be left unawaited when no deploy follows.
  const plugin =
    o.willDeploy === false
      ? undefined
      : checkComposePlugin(parseHosts(env.hosts, `environments.${envName}.hosts`), o.sh)
  const { service, build_arg: buildArg } = config.deploy
  const read = async (paths: readonly string[]): Promise<ComposeText[]> => {
    const out: ComposeText[] = []
    for (const path of paths) {
      const full = join(config.workspace, path)
      if (await files.exists(full)) out.push({ path, text: await files.readText(full) })
    }
    return out
  }
  const compose = await read(env.compose)
  const findings: Finding[] = []

  findings.push(
    ...checkEditFiles({ envName, edit: await read(env.edit), envFiles: await read(env.env_files), service, buildArg }),
  )

  // Which places set the model, and whether the ones compose will use are ones modelship edits.
  const models = await readEnvironmentModels(config, envName, files).catch(() => undefined)
  const inEffect = models ? modelsInEffect(env, models.places) : {}
  for (const place of [inEffect.build_arg, inEffect.environment]) {
    if (!place || env.edit.includes(place.file)) continue
    findings.push({
      check: 'edit.in_effect',
      level: 'error',
      file: place.file,
      line: place.line,
      message:
        `the ${place.kind === 'build_arg' ? 'build arg' : 'runtime environment entry'} ${buildArg} in effect is set ` +
        `here, ` +
        `but modelship edits only ${env.edit.join(', ')}: it would stay ${place.value} after a release`,
      fix:
        `set ${buildArg} under services.${service}.${place.kind === 'build_arg' ? 'build.args' : 'environment'} ` +
        `in ${env.edit.at(-1)} too`,
    })
  }
  if (models?.disagreement) findings.push({ check: 'edit.agree', level: 'warn', message: models.disagreement })

  const envFileTexts = await read(env.env_file)
  const layered: Record<string, string | undefined> = {}
  const sources: string[] = []
  if (env.env_file.length > 0) sources.push(...env.env_file)
  else {
    // Without --env-file, compose reads the .env of the project directory (the first compose file's).
    const projectEnv = posix.join(posix.dirname(env.compose[0] ?? '.'), '.env')
    envFileTexts.push(...(await read([projectEnv])))
    sources.push(projectEnv)
  }
  for (const f of envFileTexts) Object.assign(layered, parseDotenv(f.text))
  Object.assign(layered, Object.fromEntries(Object.entries(o.env).filter(([, v]) => v !== undefined)))
  findings.push(
    ...checkRequiredVariables({
      envName,
      files: compose,
      values: layered,
      sources: [...sources, 'the environment'].join(', '),
      envFiles: env.env_file,
    }),
  )

  const build = serviceBuildOf(compose, service)
  if (!build) {
    if (config.deploy.mode !== 'image' && config.deploy.mode !== 'swarm') {
      findings.push({
        check: 'dockerfile',
        level: 'warn',
        message:
          `services.${service} has no build section in ${env.compose.join(', ')}: --build-arg ${buildArg} ` +
          `reaches no Dockerfile`,
        fix: `add build: { context: ., args: { ${buildArg}: \${${buildArg}:-mdeberta} } } to services.${service}`,
      })
    }
  } else {
    const composeSetsRuntimeEnv = (models?.places ?? []).some((p) => p.kind === 'environment')
    const privateModels = config.registry === 'hf'
    if (build.dockerfile === undefined) {
      findings.push({
        check: 'dockerfile',
        level: 'ok',
        file: build.file,
        line: build.line,
        message: 'dockerfile_inline: not checked',
      })
    } else if (!(await files.exists(join(config.workspace, build.dockerfile)))) {
      findings.push({
        check: 'dockerfile',
        level: 'error',
        file: build.file,
        line: build.line,
        message: `the build of services.${service} names ${build.dockerfile}, which does not exist`,
        fix: 'fix build.context / build.dockerfile',
      })
    } else {
      const text = await files.readText(join(config.workspace, build.dockerfile))
      findings.push(
        ...checkDockerfile({ path: build.dockerfile, text, buildArg, composeSetsRuntimeEnv, privateModels }),
      )
      // The local registry's files reach the build only through the Dockerfile (modelship never edits it);
      // in github mode the app's CI builds, and no local build happens.
      if (config.registry === 'local' && config.deploy.mode !== 'none' && config.deploy.mode !== 'github') {
        findings.push(checkModelFiles({ path: build.dockerfile, text, buildArg }))
      }
    }
    findings.push(await dockerignoreFinding(o, build))
  }

  if (config.deploy.mode === 'image' || config.deploy.mode === 'swarm') {
    const image = checkServiceImage({ files: compose, service, tagVar: config.deploy.tag_var })
    findings.push(
      image.ok
        ? {
            check: 'image.tag',
            level: 'ok',
            file: image.path,
            line: image.line,
            message: `image ${image.image} uses \${${config.deploy.tag_var}}`,
          }
        : {
            check: 'image.tag',
            level: 'error',
            ...(image.path ? { file: image.path } : {}),
            ...(image.line ? { line: image.line } : {}),
            message: `${image.message}: every host would pull the same image whatever was built`,
            fix: image.fix,
          },
    )
  }

  if (plugin && (await o.willDeploy)) findings.push(...(await plugin))
  return findings
}

async function dockerignoreFinding(
  o: AppCheckInput,
  build: { context: string; dockerfile: string | undefined },
): Promise<Finding> {
  const { config, files } = o
  // BuildKit prefers <Dockerfile>.dockerignore beside the Dockerfile over the context's .dockerignore.
  const candidates = [
    ...(build.dockerfile ? [`${build.dockerfile}.dockerignore`] : []),
    posix.join(build.context, '.dockerignore'),
  ]
  let file: string | undefined
  let text: string | undefined
  for (const c of candidates) {
    if (await files.exists(join(config.workspace, c))) {
      file = c
      text = await files.readText(join(config.workspace, c))
      break
    }
  }
  const fromContext = relative(join(config.workspace, build.context), join(config.workspace, '.modelship'))
    .split(sep)
    .join('/')
  const stateInContext = fromContext.startsWith('..') ? '.modelship' : fromContext
  return checkDockerignore({ file, text, context: build.context, stateInContext })
}
