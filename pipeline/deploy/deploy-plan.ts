import type { PlanEntry } from '../engine/plan.js'
import type { HostCommand } from './commands.js'
import type { BuildInputs } from './build-inputs.js'
import { buildCommandOn, preBuildCommandsOn, psCommandOn, publishCommandOf, startCommandsOn } from './deploy-ops.js'
import { DEFAULT_HOST } from './host.js'
import type { DeploySettings } from './settings.js'

// The dry-run plans of build, publish and deploy, from the same builders the real run uses.

/** A command as a plan entry: the env names in the line, their values (a host URL, a tag: never secrets) as a note. */
export function planEntryOf(cmd: HostCommand, o: { read?: boolean; note?: string } = {}): PlanEntry {
  const names = Object.keys(cmd.env)
  const values = Object.entries(cmd.env).map(([k, v]) => `${k}=${v}`)
  const note = [...values, ...(o.note ? [o.note] : [])].join('; ')
  return {
    kind: 'exec',
    argv: cmd.argv,
    ...(o.read ? { read: true } : {}),
    ...(names.length ? { env: names } : {}),
    ...(note ? { note } : {}),
  }
}

/**
 * Image mode: one build where modelship runs, under the tag. Compose mode: the build on the first host. With the
 * local registry, the model files image first (from the version's files, downloaded into the run directory).
 */
export function buildPlan(s: DeploySettings, o: { modelId: string; tag?: string; inputs: BuildInputs }): PlanEntry[] {
  const host = s.mode === 'image' ? DEFAULT_HOST : s.hosts[0]!
  const tag = s.mode === 'image' && o.tag ? { tag: o.tag } : {}
  return [
    ...(o.inputs.modelFiles
      ? [
          {
            kind: 'note' as const,
            text: `build: ${o.modelId}'s files from the local registry into ${o.inputs.modelFiles.dir}`,
          },
        ]
      : []),
    ...preBuildCommandsOn(o.inputs, host).map((c) => planEntryOf(c)),
    planEntryOf(buildCommandOn(s, { host, modelId: o.modelId, inputs: o.inputs, runDir: '<run-dir>', ...tag })),
  ]
}

export function publishPlan(s: DeploySettings, tag: string): PlanEntry[] {
  return [planEntryOf(publishCommandOf(s, tag))]
}

/** Per host in order: (compose mode, after the first: build), pull + up or up, then ps until healthy. */
export function deployPlan(s: DeploySettings, o: { modelId: string; tag?: string; inputs?: BuildInputs }): PlanEntry[] {
  const tag = s.mode === 'image' ? o.tag : undefined
  const build = (host: (typeof s.hosts)[number]) => [
    ...(o.inputs ? preBuildCommandsOn(o.inputs, host) : []),
    buildCommandOn(s, { host, modelId: o.modelId, ...(o.inputs ? { inputs: o.inputs, runDir: '<run-dir>' } : {}) }),
  ]
  return s.hosts.flatMap((host, i) => [
    ...(s.mode === 'compose' && i > 0 ? build(host).map((c) => planEntryOf(c)) : []),
    ...startCommandsOn(s, host, tag).map((c) => planEntryOf(c)),
    planEntryOf(psCommandOn(s, host, tag), { read: true, note: `until healthy, up to ${s.healthTimeoutS}s` }),
  ])
}
