import { describeOutcome } from '../pipeline/history/audit-log.js'
import { alignColumns } from './list.js'
import { openWorkspace } from './workspace.js'

export async function historyCommand(flags: { workspace?: string; env?: string; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const entries = (await ws.deps.history.read()).filter((e) => !flags.env || e.env === flags.env)
  if (flags.json) {
    ws.printJson(entries)
    return 0
  }
  if (entries.length === 0) {
    ws.print('no history yet')
    return 0
  }
  const rows = [['WHEN', 'ACTION', 'ENV', 'FROM', 'TO', 'OUTCOME', 'WHO', 'RUN']].concat(
    entries.map((e) => [
      e.at.slice(0, 19).replace('T', ' '),
      e.action,
      e.env,
      e.from ?? '-',
      e.to ?? '-',
      describeOutcome(e),
      `${e.user}@${e.host}`,
      e.runId ?? '-',
    ]),
  )
  for (const line of alignColumns(rows)) ws.print(line)
  return 0
}
