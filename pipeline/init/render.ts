import { parse } from 'yaml'
import { defaultConfig } from '../config/config.js'
import { validateConfig } from '../config/validate.js'
import { ModelshipError } from '../engine/errors.js'
import { versionOfRepo } from '../registry/version.js'
import { type AppTree, DEFAULT_TRAINER } from './inspect.js'

// Renders the modelship.yaml that `modelship init` writes: every value found in the tree, with a
// comment saying where it came from, then checked with the config validator before anyone sees it.

const PLAIN = /^[A-Za-z0-9_./@][\w./@:+-]*$/

/** A YAML scalar: plain when it cannot be misread, else a JSON string (valid YAML). */
function scalar(value: string | number | boolean | null): string {
  if (typeof value !== 'string') return String(value)
  const reserved = /^(true|false|null|yes|no|on|off|~)$/i.test(value) || /^[-+]?\.?\d/.test(value)
  return PLAIN.test(value) && !reserved ? value : JSON.stringify(value)
}

const list = (values: readonly string[]): string => `[${values.map(scalar).join(', ')}]`

/** `org/prefix-v1.2` → { org, prefix }; undefined for a base alias or anything else. */
export function namingOf(modelId: string | undefined): { org: string; prefix: string } | undefined {
  const m = modelId ? /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*?)-v\d+\.\d+$/.exec(modelId) : null
  if (!m || !versionOfRepo(modelId!, m[2]!)) return undefined
  return { org: m[1]!, prefix: m[2]! }
}

export interface RenderOptions {
  /** The trainer argv (default: python3 + the found script, else `bundledTrainer`). */
  trainerCommand?: readonly string[]
  /** modelship's own trainer script, as the workspace should name it (relative when inside it). */
  bundledTrainer?: string
}

export function renderConfig(tree: AppTree, o: RenderOptions = {}): string {
  const defaults = defaultConfig() as {
    model: { org: string; prefix: string; labels: string[]; base_aliases: string[] }
  }
  const named = tree.places.find((p) => namingOf(p.value))?.value
  const naming = namingOf(named)
  const aliases = [...defaults.model.base_aliases]
  if (tree.currentModel && !tree.currentModel.includes('/') && !aliases.includes(tree.currentModel))
    aliases.push(tree.currentModel)
  const labels = tree.feedback?.labels.length ? tree.feedback.labels : defaults.model.labels
  const trainer = o.trainerCommand ?? ['python3', tree.trainer ?? o.bundledTrainer ?? DEFAULT_TRAINER]
  const out: string[] = []
  const line = (text = ''): void => void out.push(text)

  line('# modelship configuration, written by `modelship init` from this tree. Edit freely.')
  line('# Precedence: defaults < this file < environment (.env) < command-line flags.')
  line('model:')
  line(
    `  org: ${scalar(naming?.org ?? defaults.model.org)} ` +
      `${naming ? `  # from ${named}` : '  # CHANGE ME: your Hugging Face org'} (env HF_ORG overrides)`,
  )
  line(
    `  prefix: ${scalar(naming?.prefix ?? defaults.model.prefix)}  # repos are <org>/<prefix>-v<major>.<minor> (env ` +
      `HF_REPO_PREFIX)`,
  )
  line(
    `  labels: ${list(labels)}` +
      (tree.feedback?.labels.length ? `  # the labels in ${tree.feedback.path}` : '  # the default label set'),
  )
  line(`  base_aliases: ${list(aliases)}  # values that name no registry repo`)
  line('registry: hf                     # hf | local (env MODELSHIP_REGISTRY overrides); hf needs HF_TOKEN')
  line('feedback:')
  const source = tree.feedback ? `./${tree.feedback.path}` : './data/feedback.jsonl'
  line(
    `  source: ${scalar(source)}${tree.feedback ? '' : '  # CHANGE ME: no feedback file found'}  # or an http(s) ` +
      `export URL, or a postgres:// URL`,
  )
  line('trainer:')
  const trainerNote =
    tree.trainer || o.trainerCommand
      ? ''
      : o.bundledTrainer
        ? "  # modelship's bundled trainer"
        : `  # CHANGE ME: ${DEFAULT_TRAINER} not found`
  line(`  command: ${list(trainer)}${trainerNote}`)
  line('  args: { epochs: 5 }           # passed as --epochs 5; modelship adds --data and --output')
  line('gates:')
  line('  min_accuracy: 0.90')
  line('  min_class_f1: 0.85')
  line("  no_regression: true           # the new accuracy must reach the current model's")
  line('  min_per_label: 1              # fewest examples a label may have')
  line('deploy:')
  if (tree.image) {
    line(`  mode: image                    # ${imageModeReason(tree)}`)
    line(
      `  tag_var: ${scalar(tree.image.tagVar)}  # the variable in the tag of services.${tree.service ?? 'app'}.image`,
    )
    line('  image_tag: model-{version}     # the tag a release pushes and the hosts pull ({version} = v1.3)')
  } else {
    line(
      '  mode: auto                     # compose when a Docker engine answers, else build/deploy/verify are skipped',
    )
  }
  line(`  service: ${scalar(tree.service ?? 'app')}${tree.service ? '' : '  # CHANGE ME: no service sets the model'}`)
  const where = [...new Set(tree.places.map((p) => (p.kind === 'build_arg' ? 'build args' : 'runtime environment')))]
  line(`  build_arg: ${scalar(tree.buildArg)}${where.length ? `  # set in its ${where.join(' and ')}` : ''}`)
  line('  health_timeout_s: 120')
  line('  verify: null                   # e.g. [curl, -fsS, http://localhost:8000/health]')
  line('environments:')
  for (const env of tree.environments) {
    line(`  ${scalar(env.name)}:`)
    line(`    compose: ${list(env.compose)}  # passed as -f, in order`)
    line(`    edit: ${list(env.edit)}  # where a release sets ${tree.buildArg}`)
    if (env.envFile) {
      const copy = env.envFileExample ? `; not in the tree: cp ${env.envFileExample} ${env.envFile}` : ''
      line(`    env_file: ${scalar(env.envFile)}  # passed as --env-file${copy}`)
      if (env.envFileSetsModel) line(`    env_files: ${list([env.envFile])}  # its ${tree.buildArg}= line is set too`)
    }
  }
  if (tree.notes.length) {
    line()
    line('# Found while writing this file:')
    for (const n of tree.notes) line(`#   - ${n}`)
  }
  return `${out.join('\n')}\n`
}

/** Why init chose image mode, in one line (the config's comment and what init prints). */
export function imageModeReason(tree: AppTree): string {
  const i = tree.image
  if (!i) return ''
  return (
    `services.${tree.service ?? 'app'}.image ${i.image} (${i.file}:${i.line}) is on the registry ${i.registry} ` +
    `with its tag from \${${i.tagVar}}: a release builds once, pushes the image tagged model-<version> and the hosts ` +
    `pull it`
  )
}

/**
 * Checks a rendered config the way `loadConfig` will read it, and that every environment has a file
 * in which a release can set the model. Throws CONFIG with every problem.
 */
export function checkRenderedConfig(text: string, tree: AppTree, workspace: string): void {
  const values = parse(text) as Record<string, unknown>
  const { errors } = validateConfig(
    [
      { origin: 'defaults', values: defaultConfig() },
      { origin: 'modelship.yaml', values },
    ],
    workspace,
  )
  const problems = [...errors]
  if (!tree.service) {
    problems.push(
      `no compose service sets ${tree.buildArg} (in build.args or environment); add "${tree.buildArg}: ` +
        `\${${tree.buildArg}:-mdeberta}" under the app service's build.args`,
    )
  }
  for (const env of tree.environments) {
    const settable = env.edit.some((f) => tree.places.some((p) => p.file === f)) || env.envFileSetsModel
    if (tree.service && !settable)
      problems.push(`${env.name}: none of ${env.edit.join(', ')} sets ${tree.buildArg} for ${tree.service}`)
  }
  if (problems.length) {
    const [first, ...rest] = problems
    throw new ModelshipError(
      'BAD_INPUT',
      `init: cannot write a working modelship.yaml: ${first}`,
      rest.length ? { details: rest.join('\n') } : {},
    )
  }
}
