import { ModelshipError } from '../engine/errors.js'

/** `deploy.image_tag` default: the model version, so a tag names what it serves (`model-v1.3`). */
export const DEFAULT_IMAGE_TAG = 'model-{version}'
/** `deploy.tag_var` default: the compose variable in the service's `image:` tag. */
export const DEFAULT_TAG_VAR = 'IMAGE_TAG'

/** What the placeholders of `deploy.image_tag` stand for. */
export interface TagValues {
  /** The model version, `1.3` or `v1.3`; `{version}` renders as `v1.3`. */
  readonly version: string
  /** The run id; `{run}`. */
  readonly run?: string
  /** `git rev-parse --short HEAD` of the workspace; `{sha}`. Undefined when the workspace is not a git repository. */
  readonly sha?: string
}

const PLACEHOLDERS = ['version', 'run', 'sha'] as const
type Placeholder = (typeof PLACEHOLDERS)[number]
// Docker's tag grammar (distribution/reference): up to 128 word characters, dots and dashes, not starting with either.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const VERSION = /^v?(\d+)\.(\d+)$/
const SAMPLE: Required<TagValues> = { version: 'v1.0', run: '20250101-000000-0000', sha: '0123abc' }

/** The placeholders a template uses, in order; throws CONFIG on an unknown one. */
function placeholdersOf(template: string, where: string): Placeholder[] {
  const used: Placeholder[] = []
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    const name = m[1] ?? ''
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new ModelshipError('CONFIG', `${where}: unknown placeholder {${name}} in ${JSON.stringify(template)}`, {
        hint: 'the image tag template knows {version}, {run} and {sha}',
      })
    }
    used.push(name as Placeholder)
  }
  return used
}

/**
 * Checks a `deploy.image_tag` value without rendering it for a release: a string whose placeholders are
 * known and that renders a valid Docker tag. Pure, for the config validator.
 */
export function validateImageTagTemplate(raw: unknown, where = 'deploy.image_tag'): string {
  if (typeof raw !== 'string' || raw === '') {
    throw new ModelshipError('CONFIG', `${where}: expected a tag template such as ${JSON.stringify(DEFAULT_IMAGE_TAG)}`)
  }
  placeholdersOf(raw, where)
  assertTagValue(
    raw.replace(/\{(version|run|sha)\}/g, (_, p: Placeholder) => SAMPLE[p]),
    where,
  )
  return raw
}

/** Renders `deploy.image_tag` for one release: `model-{version}` with version 1.3 → `model-v1.3`. */
export function renderImageTag(template: string, values: TagValues, where = 'deploy.image_tag'): string {
  const version = VERSION.exec(values.version)
  if (!version) {
    const got = JSON.stringify(values.version)
    throw new ModelshipError('BAD_INPUT', `not a model version: ${got} (expected 1.3 or v1.3)`)
  }
  const rendered: Record<Placeholder, string | undefined> = {
    version: `v${version[1]}.${version[2]}`,
    run: values.run,
    sha: values.sha,
  }
  for (const p of placeholdersOf(template, where)) {
    if (rendered[p] === undefined) {
      const why = p === 'sha' ? 'but the workspace is not a git repository' : 'which has no value here'
      throw new ModelshipError('CONFIG', `${where}: ${JSON.stringify(template)} uses {${p}}, ${why}`)
    }
  }
  const tag = template.replace(/\{(version|run|sha)\}/g, (_, p: Placeholder) => rendered[p] ?? '')
  assertTagValue(tag, where)
  return tag
}

/** A Docker image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]*`, at most 128 characters. */
export function assertTagValue(tag: string, where: string): void {
  if (!TAG.test(tag)) {
    throw new ModelshipError('CONFIG', `${where}: ${JSON.stringify(tag)} is not a valid image tag`, {
      hint: 'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"',
    })
  }
}

/** `deploy.tag_var` must be a variable name compose can interpolate. */
export function assertTagVar(name: string, where = 'deploy.tag_var'): void {
  if (!VAR_NAME.test(name)) {
    throw new ModelshipError('CONFIG', `${where}: ${JSON.stringify(name)} is not a variable name`)
  }
}
