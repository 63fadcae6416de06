import { composeVersionCommand } from '../deploy/commands.js'
import { type Host, hostLabel } from '../deploy/host.js'
import { messageOf } from '../engine/errors.js'
import type { Shell } from '../ports/types.js'
import type { Finding } from './finding.js'

// Without the compose plugin `docker compose -f …` fails with "unknown shorthand flag: 'f'" — at the
// build, after training and pushing. `docker compose version` needs no engine, so it is cheap to ask early.

/** Asks every host at once; the findings come in the hosts' order. */
export function checkComposePlugin(hosts: readonly Host[], sh: Shell): Promise<Finding[]> {
  return Promise.all(
    hosts.map(async (host): Promise<Finding> => {
      const cmd = composeVersionCommand(host)
      const where = host.kind === 'default' ? '' : ` on ${hostLabel(host)}`
      try {
        const version = (await sh.read(cmd.argv, { env: cmd.env })).trim()
        return { check: 'compose.plugin', level: 'ok', message: `docker compose ${version}${where}` }
      } catch (e) {
        return {
          check: 'compose.plugin',
          level: 'error',
          message: `no docker compose plugin${where}: \`${cmd.argv.join(' ')}\` failed (${firstLine(messageOf(e))})`,
          fix: 'install the Docker Compose v2 plugin (e.g. apt-get install docker-compose-plugin) on that host',
        }
      }
    }),
  )
}

const firstLine = (s: string): string =>
  s
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim() ?? s
