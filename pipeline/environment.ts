import { copyFile, mkdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { editComposeBuildArg, editEnvFile, readComposeModel, readEnvFileModel, unifiedDiff } from './compose/edit.js'
import type { Config, EnvironmentConfig } from './config/config.js'
import type { EditedFile } from './release/context.js'
import { ModelshipError } from './engine/errors.js'
import { sha256 } from './fs-atomic.js'
import type { UserFiles } from './ports/types.js'
import { assertValidModelRef } from './registry/version.js'

export function environmentOf(config: Config, envName: string): EnvironmentConfig {
  const env = config.environments[envName]
  if (!env) {
    throw new ModelshipError('CONFIG', `--env ${envName}: no such environment in modelship.yaml (known: ${Object.keys(config.environments).join(', ')})`)
  }
  return env
}

/** One configured value of the model in one file. */
export interface ConfiguredModel {
  file: string
  line: number
  value: string
  form: string
  variable?: string
}

/** What each edit file and env file of an environment configures, in file order. */
export async function readConfiguredModels(config: Config, envName: string, files: UserFiles): Promise<ConfiguredModel[]> {
  const env = environmentOf(config, envName)
  const out: ConfiguredModel[] = []
  for (const file of unique([...env.compose, ...env.edit])) {
    const path = join(config.workspace, file)
    if (!(await files.exists(path))) continue
    const text = await files.readText(path)
    for (const m of readComposeModel(text, { file, service: config.deploy.service, buildArg: config.deploy.build_arg })) {
      out.push({ file, line: m.line, value: m.value, form: m.form, ...(m.variable ? { variable: m.variable } : {}) })
    }
  }
  for (const file of env.env_files) {
    const path = join(config.workspace, file)
    if (!(await files.exists(path))) continue
    const found = readEnvFileModel(await files.readText(path), config.deploy.build_arg)
    for (const m of found) out.push({ file, line: m.line, value: m.value, form: 'env' })
  }
  return out
}

/**
 * The model an environment runs: the value in its edit files (the last compose file wins, as compose
 * merges them), else any compose file, else its env files. Undefined when none configures it.
 */
export async function currentModelOf(config: Config, envName: string, files: UserFiles): Promise<string | undefined> {
  return modelInEffect(environmentOf(config, envName), await readConfiguredModels(config, envName, files))
}

/** Pure: which of the configured values the environment runs (see {@link currentModelOf}). */
export function modelInEffect(env: EnvironmentConfig, models: readonly ConfiguredModel[]): string | undefined {
  const inCompose = models.filter((m) => env.compose.includes(m.file) || env.edit.includes(m.file))
  const ordered = [...env.compose, ...env.edit.filter((f) => !env.compose.includes(f))]
  for (const file of [...ordered].reverse()) {
    const hit = inCompose.filter((m) => m.file === file).at(-1)
    if (hit) return hit.value
  }
  return models.find((m) => m.form === 'env')?.value
}

export interface ModelEdit {
  files: EditedFile[]
  diff: string
}

/**
 * Sets `modelId` in every edit file and env file of the environment: validated first, all new texts
 * computed before any write, originals backed up to `backupDir`, each write atomic. A file that lacks
 * the build arg is an error unless another edit file of the environment holds it.
 */
export async function applyModelToEnvironment(o: {
  config: Config
  envName: string
  modelId: string
  files: UserFiles
  backupDir: string
  /** Backups already taken earlier in this run: kept, so a restore returns to the bytes from before the run. */
  earlier?: readonly EditedFile[]
}): Promise<ModelEdit> {
  const { config, modelId } = o
  assertValidModelRef(modelId, config.model.base_aliases)
  const env = environmentOf(config, o.envName)
  const planned: Array<{ file: string; path: string; before: string; after: string; occurrences: number }> = []
  for (const file of env.edit) {
    const path = join(config.workspace, file)
    if (!(await o.files.exists(path))) throw new ModelshipError('BAD_INPUT', `${file}: no such file (environments.${o.envName}.edit)`)
    const before = await o.files.readText(path)
    const edit = editComposeBuildArg(before, { file, service: config.deploy.service, buildArg: config.deploy.build_arg, modelId, baseAliases: config.model.base_aliases })
    planned.push({ file, path, before, after: edit.text, occurrences: edit.occurrences })
  }
  if (env.edit.length > 0 && planned.every((p) => p.occurrences === 0)) {
    throw new ModelshipError(
      'BAD_INPUT',
      `${env.edit.join(', ')}: no build arg ${config.deploy.build_arg} under services.${config.deploy.service}.build.args`,
      { hint: `add "${config.deploy.build_arg}: \${${config.deploy.build_arg}:-mdeberta}" under services.${config.deploy.service}.build.args` },
    )
  }
  for (const file of env.env_files) {
    const path = join(config.workspace, file)
    if (!(await o.files.exists(path))) throw new ModelshipError('BAD_INPUT', `${file}: no such file (environments.${o.envName}.env_files)`)
    const before = await o.files.readText(path)
    const edit = editEnvFile(before, { file, key: config.deploy.build_arg, modelId, baseAliases: config.model.base_aliases })
    if (edit.occurrences === 0) throw new ModelshipError('BAD_INPUT', `${file}: no ${config.deploy.build_arg}=… line to update`)
    planned.push({ file, path, before, after: edit.text, occurrences: edit.occurrences })
  }

  await mkdir(o.backupDir, { recursive: true })
  const edited: EditedFile[] = []
  const diffs: string[] = []
  for (const [i, p] of planned.entries()) {
    const earlier = o.earlier?.find((f) => f.path === p.file)
    let backup = earlier?.backup
    let beforeSha256 = earlier?.beforeSha256
    if (!backup || !beforeSha256) {
      backup = join(o.backupDir, `${i}-${basename(p.file)}`)
      await copyFile(p.path, backup)
      beforeSha256 = sha256(p.before)
    }
    const changed = p.before !== p.after
    if (changed) await o.files.writeAtomic(p.path, p.after)
    diffs.push(unifiedDiff(p.file, p.before, p.after))
    edited.push({ path: p.file, backup, beforeSha256, afterSha256: sha256(p.after), changed: earlier?.changed === true || changed })
  }
  return { files: edited, diff: diffs.filter(Boolean).join('\n') }
}

/** Puts back the bytes from before the run; returns the files that were written. Throws with the files it could not restore. */
export async function restoreEditedFiles(o: { workspace: string; edited: readonly EditedFile[]; files: UserFiles }): Promise<string[]> {
  const restored: string[] = []
  const failed: string[] = []
  for (const f of o.edited) {
    const path = join(o.workspace, f.path)
    try {
      const original = await o.files.readText(f.backup)
      if (sha256(original) !== f.beforeSha256) throw new Error(`backup ${f.backup} does not match the recorded sha256`)
      const now = (await o.files.exists(path)) ? await o.files.readText(path) : undefined
      if (now !== original) {
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

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)]
}
