import { readComposeModel } from '../compose/edit.js'
import { readEnvFileModel } from '../compose/env-file.js'
import { sectionOf } from '../compose/locate.js'
import { parseComposeForReading } from '../compose/yaml-source.js'
import { messageOf } from '../engine/errors.js'
import type { ComposeText } from './compose-service.js'
import type { Finding } from './finding.js'

// The compose step edits these files after training and pushing; a file it cannot edit must show up
// before that long work, not after it.

export function checkEditFiles(o: {
  envName: string
  edit: readonly ComposeText[]
  envFiles: readonly ComposeText[]
  service: string
  buildArg: string
}): Finding[] {
  const findings: Finding[] = []
  const counts: Array<{ file: string; count: number; hasService: boolean }> = []
  for (const f of o.edit) {
    try {
      const hasService = sectionOf(parseComposeForReading(f.text, f.path), o.service, []) !== undefined
      const count = readComposeModel(f.text, { file: f.path, service: o.service, buildArg: o.buildArg }).length
      counts.push({ file: f.path, count, hasService })
    } catch (e) {
      // The parser's message already names the file, line and column.
      findings.push({ check: 'edit.files', level: 'error', message: messageOf(e) })
    }
  }
  const none = counts.every((c) => c.count === 0)
  for (const c of counts) {
    if (c.count > 0) {
      findings.push({
        check: 'edit.files',
        level: 'ok',
        file: c.file,
        message: `sets ${o.buildArg} of services.${o.service} in ${c.count} place${c.count > 1 ? 's' : ''}`,
      })
      continue
    }
    findings.push({
      check: 'edit.files',
      level: none ? 'error' : 'warn',
      file: c.file,
      message: c.hasService
        ? `services.${o.service} sets ${o.buildArg} neither in build.args nor in environment` +
          (none ? ': the compose step would fail after training and pushing' : '')
        : `has no services.${o.service}`,
      fix: `add "${o.buildArg}: \${${o.buildArg}:-mdeberta}" under services.${o.service}.build.args (and environment)`,
    })
  }
  for (const f of o.envFiles) {
    const hits = readEnvFileModel(f.text, o.buildArg, f.path)
    findings.push(
      hits.length > 0
        ? { check: 'edit.env_files', level: 'ok', file: f.path, message: `sets ${o.buildArg}` }
        : {
            check: 'edit.env_files',
            level: 'error',
            file: f.path,
            message: `no ${o.buildArg}=… line to update (environments.${o.envName}.env_files)`,
            fix: `add ${o.buildArg}=mdeberta to ${f.path}`,
          },
    )
  }
  return findings
}
