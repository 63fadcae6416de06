import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

/**
 * A real OpenSSH server (Debian's openssh-server) of the test's own on 127.0.0.1, so a Docker engine can be
 * reached as `ssh://root@127.0.0.1:<port>` the way a server is: the docker CLI's ssh connection helper runs
 * `ssh … docker system dial-stdio` and the remote `docker` talks to the engine named by `DOCKER_HOST`, which
 * sshd sets for every session (`SetEnv`). Its own host key, config, authorized key and pid file; nothing of the
 * machine's ssh setup is read or written.
 *
 * The client side: OpenSSH reads `~/.ssh/config` from the passwd home, not `$HOME`, so `env.PATH` puts a
 * `ssh` wrapper first that adds `-F <own config>` (the key, a known_hosts holding the host key, BatchMode).
 */
export interface Sshd {
  /** `ssh://root@127.0.0.1:<port>`: a host entry for modelship or a DOCKER_HOST. */
  readonly url: string
  readonly port: number
  readonly dir: string
  /** PATH with the ssh wrapper first: merge into the environment of whatever runs `docker` against `url`. */
  readonly env: { PATH: string }
  /** How many sessions sshd accepted so far (from its log): proof a command went through ssh. */
  sessions(): number
  stop(): Promise<void>
}

const SSHD = '/usr/sbin/sshd'
const SSH = '/usr/bin/ssh'

/** Why no sshd can be started here, or undefined when it can. */
export function sshdSupport(): string | undefined {
  if (!existsSync(SSHD)) return `no ${SSHD}: install openssh-server (bash .ci/docker-stack.sh)`
  if (!existsSync(SSH)) return `no ${SSH}: install openssh-client`
  if (process.getuid?.() !== 0) return 'sshd for tests runs as root'
  return undefined
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Starts sshd on 127.0.0.1; every session gets `DOCKER_HOST=<dockerHost>` (an engine's unix:// socket). */
export async function startSshd(o: { dockerHost: string }): Promise<Sshd> {
  const problem = sshdSupport()
  if (problem) throw new Error(problem)
  const dir = mkdtempSync('/tmp/mss-')
  const port = await freePort()
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file])
  keygen(join(dir, 'host_key'))
  keygen(join(dir, 'client_key'))
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')))
  const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`)
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'AuthenticationMethods publickey',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowUsers root',
      // The temp dir is not the user's home: its modes are not what StrictModes checks.
      'StrictModes no',
      'UsePAM no',
      'PrintMotd no',
      `SetEnv DOCKER_HOST=${o.dockerHost}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  )
  writeFileSync(
    join(dir, 'ssh_config'),
    [
      'Host *',
      `  IdentityFile ${join(dir, 'client_key')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  )
  mkdirSync(join(dir, 'bin'))
  const wrapper = join(dir, 'bin', 'ssh')
  writeFileSync(wrapper, `#!/bin/sh\nexec ${SSH} -F ${join(dir, 'ssh_config')} "$@"\n`)
  chmodSync(wrapper, 0o755)

  const log = join(dir, 'sshd.log')
  const sshd: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config'), '-E', log], {
    detached: true,
    stdio: 'ignore',
  })
  sshd.unref()
  let exited: string | undefined
  sshd.on('exit', (code, signal) => {
    exited = `sshd exited ${code ?? signal}`
  })
  const kill = () => {
    if (sshd.pid !== undefined && exited === undefined) {
      try {
        process.kill(-sshd.pid, 'SIGKILL')
      } catch {}
    }
  }
  process.on('exit', kill)
  // The worker may be SIGKILLed (no exit handler): this watcher ends sshd's process group then.
  if (sshd.pid !== undefined) {
    const watch =
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${sshd.pid} 2>/dev/null; do sleep 1; done; ` +
      `kill -9 -${sshd.pid} 2>/dev/null; rm -rf ${dir}`
    spawn('sh', ['-c', watch], { detached: true, stdio: 'ignore' }).unref()
  }
  const url = `ssh://root@127.0.0.1:${port}`
  const env = { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}` }
  const stop = async () => {
    process.off('exit', kill)
    kill()
    for (let i = 0; i < 50 && exited === undefined; i++) await sleep(20)
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; ; i++) {
    if (exited !== undefined) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''
      await stop()
      throw new Error(`${exited} before accepting connections: ${tail}`)
    }
    try {
      execFileSync(wrapper, ['-p', String(port), 'root@127.0.0.1', 'true'], { stdio: 'pipe', timeout: 10_000 })
      break
    } catch (error) {
      if (i >= 100) {
        await stop()
        throw new Error(`sshd on 127.0.0.1:${port} did not accept the test key: ${(error as Error).message}`)
      }
      await sleep(100)
    }
  }
  const sessions = () => {
    try {
      return (readFileSync(log, 'utf8').match(/Accepted publickey for root/g) ?? []).length
    } catch {
      return 0
    }
  }
  return { url, port, dir, env, sessions, stop }
}
