import { readFile } from 'node:fs/promises'
import { parse as parseDotenv } from 'dotenv'
import { isAbsolute, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../pipeline/config/load.js'
import { ciAdvice } from '../pipeline/doctor/workflows.js'
import { findingLine } from '../pipeline/doctor/finding.js'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { pathExists, readTextIfAny, writeFileAtomic } from '../pipeline/fs-atomic.js'
import { type AppTree, DEFAULT_TRAINER, inspectAppTree } from '../pipeline/init/inspect.js'
import { checkRenderedConfig, imageModeReason, renderConfig } from '../pipeline/init/render.js'
import { resolveHfToken } from '../pipeline/registry/hf/token.js'
import { createPrompter, type Prompter } from './prompt.js'
import { resolveWorkspace } from './workspace.js'

export interface InitFlags {
  workspace?: string
  yes?: boolean
}

const STATE_DIR_LINE = '.modelship/'

/** modelship's own trainer (shipped in the package), named relative to the workspace when it is inside it. */
export function bundledTrainerFor(workspace: string): string {
  const script = fileURLToPath(new URL(`../../${DEFAULT_TRAINER}`, import.meta.url))
  const rel = relative(workspace, script)
  return rel.startsWith('..') || isAbsolute(rel) ? script : rel
}

const IGNORE_MESSAGES = {
  added: (file: string) => `added .modelship/ to ${file} (run state stays out of it)`,
  created: (file: string) => `created ${file} with .modelship/`,
  present: (file: string) => `${file} already ignores .modelship/`,
} as const

/** Appends `.modelship/` to an ignore file unless a line already ignores it; the existing bytes are kept. */
export async function addIgnoreLine(path: string): Promise<'added' | 'present' | 'created'> {
  const before = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    throw e
  })
  if (before?.split(/\r?\n/).some((l) => /^\/?\.modelship\/?(\*\*?)?\s*$/.test(l.trim()))) return 'present'
  const eol = before?.includes('\r\n') ? '\r\n' : '\n'
  const sep = before === undefined || before === '' || before.endsWith('\n') ? '' : eol
  await writeFileAtomic(path, `${before ?? ''}${sep}${STATE_DIR_LINE}${eol}`)
  return before === undefined ? 'created' : 'added'
}

/** One thing the app's CI workflows do with the model, as `doctor` reports it, and the setting it leads to. */
export interface InitIo {
  prompter?: Prompter
  out?: (line: string) => void
}

/** The env files only a `.example` of exists: copied when someone at a terminal says yes, else the command printed. */
async function offerEnvFileCopies(
  workspace: string,
  tree: AppTree,
  prompter: Prompter,
  print: (line: string) => void,
): Promise<void> {
  for (const env of tree.environments) {
    if (!env.envFileExample || !env.envFile) continue
    const [from, to] = [env.envFileExample, env.envFile]
    const command = `cp ${from} ${to}`
    if (prompter.interactive && (await prompter.confirm([], `Copy ${from} to ${to} (then fill in its values)?`))) {
      const dest = join(workspace, to)
      // Never over a file that appeared meanwhile: it may hold the real secrets.
      if (await pathExists(dest)) print(`${to} exists now: not copied over`)
      else {
        await writeFileAtomic(dest, await readFile(join(workspace, from)))
        print(`copied ${from} to ${to}: fill in its values (environments.${env.name}.env_file names it)`)
      }
      continue
    }
    print(`${env.name}: ${to} is not in the tree; copy it from the example and fill in its values: ${command}`)
  }
}

/**
 * When no Hugging Face token is found (the environment, the workspace .env, the token files), how to
 * give one: without it `release --dry-run` shows the plan and stops with the token error.
 */
function tokenNotes(workspace: string): string[] {
  const dotenv = parseDotenv(readTextIfAny(join(workspace, '.env')) ?? '')
  if (resolveHfToken({ ...dotenv, ...process.env }, readTextIfAny)) return []
  return [
    'note: no Hugging Face token found (registry: hf pushes to private repos on the Hub); give one by either',
    '  HF_TOKEN=hf_… in the environment or in .env (modelship reads it; keep .env out of git),',
    '  or a token file: ~/.cache/huggingface/token (what `hf auth login` writes), $HF_HOME/token, or the file ' +
      'HF_TOKEN_PATH names',
    '  without one, `release --dry-run` shows the whole plan, marks the steps the token is needed for, and exits 2',
  ]
}

/** `modelship init`: writes a working, commented modelship.yaml for the app tree; never overwrites one. */
export async function initCommand(flags: InitFlags, io: InitIo = {}): Promise<number> {
  const workspace = resolveWorkspace(flags.workspace, process.env, process.cwd())
  const print = io.out ?? ((line: string) => void process.stdout.write(`${line}\n`))
  const configPath = join(workspace, 'modelship.yaml')
  if (await pathExists(configPath)) {
    throw new ModelshipError('USAGE', `${configPath} already exists: init never overwrites it`, {
      hint: 'edit it, or move it away and run `modelship init` again',
    })
  }
  const prompter =
    io.prompter ?? createPrompter({ yes: flags.yes === true, write: (t) => void process.stdout.write(t) })
  let tree = await inspectAppTree(workspace)
  let trainerCommand: string[] | undefined
  if (!tree.trainer && prompter.interactive) {
    const answer = await prompter.text(
      `No ${DEFAULT_TRAINER} found. Trainer script (run with python3) or command`,
      DEFAULT_TRAINER,
    )
    const words = answer.split(/\s+/).filter(Boolean)
    trainerCommand = words.length > 1 ? words : ['python3', words[0] ?? DEFAULT_TRAINER]
    tree = { ...tree, trainer: trainerCommand.at(-1)! }
  }
  const text = renderConfig(
    tree,
    trainerCommand ? { trainerCommand } : { bundledTrainer: bundledTrainerFor(workspace) },
  )
  checkRenderedConfig(text, tree, workspace)

  print(`modelship.yaml for ${workspace}:`)
  print('')
  for (const l of text.trimEnd().split('\n')) print(`  ${l}`)
  print('')
  if (!(await prompter.confirm([], 'Write modelship.yaml?'))) {
    print('nothing written')
    return 0
  }
  // A config appearing meanwhile is not replaced either.
  if (await pathExists(configPath))
    throw new ModelshipError('USAGE', `${configPath} appeared while asking: not overwritten`)
  await writeFileAtomic(configPath, text)
  print(`wrote ${configPath}`)
  print(IGNORE_MESSAGES[await addIgnoreLine(join(workspace, '.gitignore'))]('.gitignore'))
  if (
    await prompter.confirm([], 'Add .modelship/ to .dockerignore too (keeps run artefacts out of the build context)?')
  ) {
    print(IGNORE_MESSAGES[await addIgnoreLine(join(workspace, '.dockerignore'))]('.dockerignore'))
  }
  if (tree.image) print(`deploy.mode: image: ${imageModeReason(tree)}`)
  await offerEnvFileCopies(workspace, tree, prompter, print)
  for (const note of tree.notes) print(`note: ${note}`)
  if (!tree.trainer) print(`note: no ${DEFAULT_TRAINER} in the app: trainer.command runs modelship's bundled trainer`)
  // The app's CI builds with the model from a variable: say so, and what makes releases reach that build.
  const ci = ciAdvice(await loadConfig({ workspace, env: {} }))
  for (const f of ci.findings) print(`note: ${findingLine(f)}`)
  if (ci.setting.length) {
    print('note: to release through the CI workflows (the app builds its images there), set in modelship.yaml:')
    for (const l of ci.setting) print(`  ${l}`)
  }
  for (const line of tokenNotes(workspace)) print(line)
  const env = tree.environments.some((e) => e.name === 'production') ? '' : ` --env ${tree.environments[0]?.name}`
  print('')
  print(`next: npx modelship release --dry-run${env}`)
  return 0
}
