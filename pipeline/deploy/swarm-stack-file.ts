import { isMap, isScalar, parseDocument } from 'yaml'
import { ModelshipError } from '../engine/errors.js'
import { assertTagValue, assertTagVar } from './image-tag.js'
import { type ComposeTarget, composeGlobalArgs, dockerArgv, type HostCommand, type ImageTag } from './commands.js'

// `docker stack deploy` reads no --env-file and knows only the compose file format 3.x, not the compose
// specification. So the stack file is what `docker compose … config` prints for the environment (env files
// read, variables and `!override`/`!reset` resolved, the release's tag in `image:`), with the few things
// 3.x refuses taken out or rewritten. Measured with compose 2.26.1 and the docker 28 CLI:
// - the top-level `name:` ("Additional property name is not allowed");
// - `networks.<n>.name: <project>_<n>`, which compose adds: stack deploy would create that literal name
//   (shared by every stack of the project) instead of `<stack>_<n>`; the same for volumes;
// - `ports[].published: "8000"` ("must be a integer");
// - `depends_on` as a mapping of conditions (3.x takes a list; Swarm ignores the order anyway);
// - `build:` (ignored by stack deploy with a warning; the image is built and pushed by modelship).

/** `docker compose --env-file … -f … config` with the tag in its environment: the YAML the stack file is made of. */
export function stackConfigCommand(target: ComposeTarget, tag: ImageTag): HostCommand {
  assertTagVar(tag.variable, 'deploy.tag_var')
  assertTagValue(tag.value, 'deploy.image_tag')
  // Where modelship runs (no --context): compose reads files only, the engine is not asked.
  return {
    argv: [...dockerArgv({ kind: 'default' }), ...composeGlobalArgs(target), 'config'],
    env: { [tag.variable]: tag.value },
  }
}

export interface StackFile {
  /** The compose project name (`name:` of the merged config): the default stack name. */
  project: string
  /** The stack file's text. */
  text: string
  /** The image reference of the service in it. */
  image: string | undefined
}

const PUBLISHED_PORT = /^\d{1,5}$/

/** Turns `docker compose config` output into a file `docker stack deploy` accepts (pure). */
export function stackFileOf(composeConfig: string, service: string): StackFile {
  const doc = parseDocument(composeConfig, { uniqueKeys: false })
  if (doc.errors.length > 0 || !isMap(doc.contents)) {
    throw new ModelshipError('STEP_FAILED', `docker compose config printed no compose file: ${doc.errors[0]?.message}`)
  }
  const root = doc.contents
  const project = String(root.get('name') ?? '')
  root.delete('name')
  for (const section of ['networks', 'volumes']) {
    const items = root.get(section, true)
    if (!isMap(items)) continue
    for (const pair of items.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : ''
      const value = pair.value
      if (isMap(value) && value.get('external') !== true && value.get('name') === `${project}_${key}`) {
        value.delete('name')
      }
    }
  }
  const services = root.get('services', true)
  if (!isMap(services) || !services.has(service)) {
    throw new ModelshipError('CONFIG', `the environment's compose files define no service ${JSON.stringify(service)}`)
  }
  let image: string | undefined
  for (const pair of services.items) {
    const svc = pair.value
    if (!isMap(svc)) continue
    svc.delete('build')
    const ports = svc.get('ports', true)
    if (ports && 'items' in ports && Array.isArray(ports.items)) {
      for (const p of ports.items) {
        if (!isMap(p)) continue
        const published = p.get('published')
        if (typeof published === 'string' && PUBLISHED_PORT.test(published)) p.set('published', Number(published))
      }
    }
    const dependsOn = svc.get('depends_on', true)
    if (isMap(dependsOn)) {
      svc.set(
        'depends_on',
        dependsOn.items.map((i) => (isScalar(i.key) ? String(i.key.value) : '')),
      )
    }
    if (isScalar(pair.key) && pair.key.value === service) {
      const ref = svc.get('image')
      image = typeof ref === 'string' ? ref : undefined
    }
  }
  return { project, text: doc.toString({ lineWidth: 0 }), image }
}
