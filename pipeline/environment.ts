import { copyFile, mkdir, readFile, rename } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { unifiedDiff } from './compose/diff.js'
import { editComposeModel, readComposeModel } from './compose/edit.js'
import { editEnvFile, readEnvFileModel } from './compose/env-file.js'
import type { EditedFile, ModelPlaceKind } from './compose/types.js'
import type { Config, EnvironmentConfig } from './config/config.js'
import { ModelshipError } from './engine/errors.js'
import { checkWriteTarget, sha256 } from './fs-atomic.js'
import type { UserFiles } from './ports/types.js'
import { assertValidModelRef } from './registry/version.js'

export function environmentOf(config: Config, envName: string): EnvironmentConfig {
  const env = config.environments[envName]
  if (!env) {
    const known = Object.keys(config.environments).join(', ')
    throw new ModelshipError('CONFIG', `--env ${envName}: no such environment in modelship.yaml (known: ${known})`)
  }
  return env
}

/** One place that sets the model: a build arg or runtime environment entry of a compose file, or a .env line. */
export interface ConfiguredModel {
  kind: ModelPlaceKind
  file: string
  line: number
  /** The model: the value, or for `${VAR:-default}` the default. */
  value: string
  /** compose: `map`, `list` or `default` (`${VAR:-default}`); env files: `env` or `default`. */
  form: string
  variable?: string
}

/** Every place each compose file and env file of an environment sets the model, in file order. */
export async function readConfiguredModels(
  config: Config,
  envName: string,
  files: UserFiles,
): Promise<ConfiguredModel[]> {
  const env = environmentOf(config, envName)
  const out: ConfiguredModel[] = []
  for (const file of unique([...env.compose, ...env.edit])) {
    const path = join(config.workspace, file)
    if (!(await files.exists(path))) continue
    const text = await files.readText(path)
    const target = { file, service: config.deploy.service, buildArg: config.deploy.build_arg }
    for (const m of readComposeModel(text, target)) {
      const { kind, line, value, form, variable } = m
      out.push({ kind, file, line, value, form, ...(variable ? { variable } : {}) })
    }
  }
  for (const file of env.env_files) {
    const path = join(config.workspace, file)
    if (!(await files.exists(path))) continue
    for (const m of readEnvFileModel(await files.readText(path), config.deploy.build_arg, file)) {
      const { line, value, form, variable } = m
      out.push({ kind: 'env_file', file, line, value, form, ...(variable ? { variable } : {}) })
    }
  }
  return out
}

/**
 * The place in effect for each kind, as docker compose merges the files: for build args and the
 * runtime environment, the last occurrence in the last compose file (in `-f` order) that sets it;
 * for env files, the last line of the last env file.
 */
export function modelsInEffect(
  env: EnvironmentConfig,
  models: readonly ConfiguredModel[],
): Partial<Record<ModelPlaceKind, ConfiguredModel>> {
  const order = [...env.compose, ...env.edit.filter((f) => !env.compose.includes(f))]
  const out: Partial<Record<ModelPlaceKind, ConfiguredModel>> = {}
  for (const kind of ['build_arg', 'environment'] as const) {
    for (const file of [...order].reverse()) {
      const hit = models.filter((m) => m.kind === kind && m.file === file).at(-1)
      if (hit) {
        out[kind] = hit
        break
      }
    }
  }
  for (const file of [...env.env_files].reverse()) {
    const hit = models.filter((m) => m.kind === 'env_file' && m.file === file).at(-1)
    if (hit) {
      out.env_file = hit
      break
    }
  }
  return out
}

/**
 * The model an environment runs: the build arg in effect (the last compose file wins, as compose
 * merges them), else the runtime environment entry, else its env files. Undefined when none sets it.
 */
export async function currentModelOf(config: Config, envName: string, files: UserFiles): Promise<string | undefined> {
  return modelInEffect(environmentOf(config, envName), await readConfiguredModels(config, envName, files))
}

/** Pure: which of the configured values the environment runs (see {@link currentModelOf}). */
export function modelInEffect(env: EnvironmentConfig, models: readonly ConfiguredModel[]): string | undefined {
  const byKind = modelsInEffect(env, models)
  return (byKind.build_arg ?? byKind.environment ?? byKind.env_file)?.value
}

const KIND_NAMES: Record<ModelPlaceKind, string> = {
  build_arg: 'the build arg',
  environment: 'the runtime environment',
  env_file: 'the env file',
}

/**
 * One line for `current` to warn with when the places in effect name different models (the image
 * would be built with one model while the process is told to load another); undefined when they agree.
 */
export function disagreementOf(
  envName: string,
  env: EnvironmentConfig,
  models: readonly ConfiguredModel[],
): string | undefined {
  const inEffect = Object.values(modelsInEffect(env, models))
  if (new Set(inEffect.map((m) => m.value)).size <= 1) return undefined
  const places = inEffect.map((m) => `${KIND_NAMES[m.kind]} ${m.file}:${m.line} says ${m.value}`).join(', ')
  const fix = `\`modelship promote <model-id> --env ${envName}\` sets them all`
  return `${envName}: the model differs between places: ${places}; ${fix}`
}

/** What `current` shows for one environment. */
export interface EnvironmentModels {
  /** The model the environment runs (see {@link currentModelOf}). */
  model: string | undefined
  /** Every place that sets it, with its kind, file, line and value. */
  places: ConfiguredModel[]
  /** Set when the places in effect disagree (see {@link disagreementOf}). */
  disagreement?: string
}

export async function readEnvironmentModels(
  config: Config,
  envName: string,
  files: UserFiles,
): Promise<EnvironmentModels> {
  const env = environmentOf(config, envName)
  const places = await readConfiguredModels(config, envName, files)
  const disagreement = disagreementOf(envName, env, places)
  return { model: modelInEffect(env, places), places, ...(disagreement ? { disagreement } : {}) }
}

export interface ModelEdit {
  files: EditedFile[]
  diff: string
}

/**
 * Sets `modelId` in every edit file and env file of the environment — in each compose file every
 * build arg and runtime `environment` entry of the service, in each env file every `KEY=` line —
 * validated first, all new texts computed and every target checked before any write, originals
 * backed up to `backupDir`, each write atomic and through symlinks (the link is kept). A file that
 * sets the variable nowhere is an error unless another edit file of the environment sets it.
 */
export async function applyModelToEnvironment(o: {
  config: Config
  envName: string
  modelId: string
  files: UserFiles
  backupDir: string
  /** Backups already taken earlier in this run: kept, so a restore returns to the bytes from before the run. */
  earlier?: readonly EditedFile[]
  /** Lets an edit or env file be a symlink to a file outside the workspace (config `allow_outside_workspace`). */
  allowOutsideWorkspace?: boolean
}): Promise<ModelEdit> {
  const { config, modelId } = o
  assertValidModelRef(modelId, config.model.base_aliases)
  const env = environmentOf(config, o.envName)
  const { service, build_arg: buildArg } = config.deploy
  const baseAliases = config.model.base_aliases
  const planned: Array<{ file: string; path: string; before: string; after: string; occurrences: number }> = []
  const read = async (file: string, setting: string) => {
    const path = join(config.workspace, file)
    if (!(await o.files.exists(path))) {
      throw new ModelshipError('BAD_INPUT', `${file}: no such file (environments.${o.envName}.${setting})`)
    }
    await checkWriteTarget(path, writeOptions(config.workspace, o.allowOutsideWorkspace))
    return { path, before: await o.files.readText(path) }
  }
  for (const file of env.edit) {
    const { path, before } = await read(file, 'edit')
    const edit = editComposeModel(before, { file, service, buildArg, modelId, baseAliases })
    planned.push({ file, path, before, after: edit.text, occurrences: edit.occurrences })
  }
  if (env.edit.length > 0 && planned.every((p) => p.occurrences === 0)) {
    throw new ModelshipError(
      'BAD_INPUT',
      `${env.edit.join(', ')}: no ${buildArg} under services.${service}.build.args or services.${service}.environment`,
      { hint: `add "${buildArg}: \${${buildArg}:-mdeberta}" under services.${service}.build.args` },
    )
  }
  for (const file of env.env_files) {
    const { path, before } = await read(file, 'env_files')
    const edit = editEnvFile(before, { file, key: buildArg, modelId, baseAliases })
    if (edit.occurrences === 0) throw new ModelshipError('BAD_INPUT', `${file}: no ${buildArg}=… line to update`)
    planned.push({ file, path, before, after: edit.text, occurrences: edit.occurrences })
  }

  await mkdir(o.backupDir, { recursive: true })
  const edited: EditedFile[] = []
  const diffs: string[] = []
  for (const [i, p] of planned.entries()) {
    const earlier = o.earlier?.find((f) => f.path === p.file)
    // A file that already holds this run's model was edited by an earlier attempt of this run: its
    // backup (recorded, or left by an attempt killed before its state was saved) holds the real
    // "before"; never back up the edited bytes. Any other file is "before" again (restored after a
    // failure, or edited by hand since): back it up afresh.
    const holdsThisRun = p.before === p.after
    let backup = earlier?.backup ?? join(o.backupDir, `${i}-${basename(p.file)}`)
    const kept = holdsThisRun ? await readFile(backup, 'utf8').catch(() => undefined) : undefined
    let original = p.before
    if (kept !== undefined) original = kept
    else {
      backup = join(o.backupDir, `${i}-${basename(p.file)}`)
      // Copied to a temp name and renamed: a kill mid-copy never leaves a partial backup that looks whole.
      await copyFile(p.path, `${backup}.tmp`) // follows a symlink: the backup holds the target's bytes
      await rename(`${backup}.tmp`, backup)
    }
    if (p.before !== p.after) await o.files.writeAtomic(p.path, p.after)
    diffs.push(unifiedDiff(p.file, original, p.after))
    edited.push({
      path: p.file,
      backup,
      beforeSha256: sha256(original),
      afterSha256: sha256(p.after),
      changed: original !== p.after,
    })
  }
  return { files: edited, diff: diffs.filter(Boolean).join('\n') }
}

/**
 * Puts back the bytes from before the run (through symlinks, which stay links); returns the files
 * that were written. Throws with the files it could not restore.
 */
export async function restoreEditedFiles(o: {
  workspace: string
  edited: readonly EditedFile[]
  files: UserFiles
  allowOutsideWorkspace?: boolean
}): Promise<string[]> {
  const restored: string[] = []
  const failed: string[] = []
  for (const f of o.edited) {
    const path = join(o.workspace, f.path)
    try {
      const original = await o.files.readText(f.backup)
      if (sha256(original) !== f.beforeSha256) throw new Error(`backup ${f.backup} does not match the recorded sha256`)
      const now = (await o.files.exists(path)) ? await o.files.readText(path) : undefined
      if (now !== original) {
        await checkWriteTarget(path, writeOptions(o.workspace, o.allowOutsideWorkspace))
        await o.files.writeAtomic(path, original)
        restored.push(f.path)
      }
    } catch (e) {
      failed.push(`${f.path} (${(e as Error).message})`)
    }
  }
  if (failed.length > 0) throw new ModelshipError('STEP_FAILED', `could not restore ${failed.join(', ')}`)
  return restored
}

function writeOptions(workspace: string, allowOutsideWorkspace: boolean | undefined) {
  return { workspace, ...(allowOutsideWorkspace === undefined ? {} : { allowOutsideWorkspace }) }
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)]
}
