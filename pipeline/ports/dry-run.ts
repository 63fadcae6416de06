import type { Plan } from '../engine/plan.js'
import type { History } from '../history/audit-log.js'
import type { ModelRegistry } from '../registry/types.js'
import type { Shell, UserFiles } from './types.js'

/** The ports whose write methods a dry run replaces. */
export interface WritePorts {
  sh: Shell
  files: UserFiles
  registry: ModelRegistry
  history: History
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
