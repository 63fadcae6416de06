import type { Plan, PlanEntry } from '../engine/plan.js'
import { type ApiRequest, type GitHubApi, pathOf } from '../github/api.js'
import type { History } from '../history/audit-log.js'
import type { ModelRegistry } from '../registry/types.js'
import type { Shell, UserFiles } from './types.js'

/** The ports whose write methods a dry run replaces. */
export interface WritePorts {
  sh: Shell
  files: UserFiles
  registry: ModelRegistry
  history: History
  github: GitHubApi
}

/** A GitHub call as a plan line: method, path and body (the redactor masks what it knows; bodies hold no token). */
export function apiPlanEntry(req: ApiRequest, o: { read?: boolean; note?: string } = {}): PlanEntry {
  return {
    kind: 'api',
    method: req.method,
    path: pathOf(req),
    ...(o.read ? { read: true } : {}),
    ...(req.body ? { body: req.body } : {}),
    ...(req.starts ? { starts: req.starts } : {}),
    ...(o.note ? { note: o.note } : {}),
  }
}

/**
 * Dry-run, in one place: every write method of every port adds an entry to the plan instead of
 * acting; every read method runs as usual. Steps never look at the dry-run flag for their writes.
 */
export function withDryRun<P extends WritePorts>(ports: P, plan: Plan): P {
  return {
    ...ports,
    sh: {
      ...ports.sh,
      read: ports.sh.read.bind(ports.sh),
      killAll: ports.sh.killAll.bind(ports.sh),
      async write(cmd, opts) {
        plan.add({
          kind: 'exec',
          argv: cmd,
          ...(opts?.env && Object.keys(opts.env).length ? { env: Object.keys(opts.env) } : {}),
        })
        return undefined
      },
    },
    files: {
      ...ports.files,
      async writeAtomic(path) {
        plan.add({ kind: 'write', path })
      },
    },
    registry: Object.assign(Object.create(ports.registry) as ModelRegistry, {
      async push(req: Parameters<ModelRegistry['push']>[0]) {
        plan.add({
          kind: 'push',
          target: `${req.modelId} (private) on ${ports.registry.describe()}`,
          detail: `from ${req.dir}`,
        })
        return { modelId: req.modelId, commit: '<dry-run>', manifest: {} }
      },
    }),
    github: {
      read: ports.github.read.bind(ports.github),
      describe: ports.github.describe.bind(ports.github),
      async write(req) {
        plan.add(apiPlanEntry(req))
        return undefined
      },
    },
    history: {
      ...ports.history,
      read: ports.history.read.bind(ports.history),
      async append(entry) {
        plan.add({
          kind: 'append',
          path: '.modelship/history.jsonl',
          summary: `${entry.action} ${entry.env}: ${entry.from ?? '?'} → ${entry.to ?? '?'}`,
        })
      },
    },
  }
}
