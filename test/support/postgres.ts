import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A PostgreSQL database holding the app's `labeled_queries` table, for integration tests and the bench.
 * Uses TEST_DATABASE_URL when set; otherwise starts a throwaway cluster (initdb + pg_ctl, as the
 * `postgres` OS user when we are root) on a free port in a temp dir, removed by `stop()`.
 * Missing PostgreSQL binaries are an error, never a skip: CI must not pass without this tier.
 */
export interface TestPostgres {
  /** postgres://modelship:<url-encoded password>@127.0.0.1:<port>/pratikoai */
  url: string
  /** The role's password, decoded (tests assert it never leaks). */
  password: string
  stop(): Promise<void>
  /** Runs SQL with psql as the modelship role (password via PGPASSWORD, never argv); returns stdout. */
  psql(sql: string): Promise<string>
}

/** Special characters on purpose: URL-encoding and redaction must both cope. */
export const TEST_PASSWORD = 'p@ss:w/rd%S3cr3t'
export const TEST_USER = 'modelship'
export const TEST_DB = 'pratikoai'

export const LABELED_QUERIES_DDL = `CREATE TABLE IF NOT EXISTS labeled_queries (
  id bigserial PRIMARY KEY,
  query text NOT NULL,
  expert_intent text,
  is_deleted boolean NOT NULL DEFAULT false,
  created_at timestamptz DEFAULT now()
)`

export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env.TEST_DATABASE_URL
  if (external) {
    const password = decodeURIComponent(new URL(external).password)
    const db: TestPostgres = {
      url: external,
      password,
      stop: async () => undefined,
      psql: (sql) => psqlAs(external, password, sql),
    }
    await db.psql(LABELED_QUERIES_DDL)
    return db
  }
  return startCluster()
}

/** Finds a PostgreSQL server binary on PATH, then in /usr/lib/postgresql/<newest>/bin. */
export function findPgBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) {
    const p = join(root, v, 'bin', name)
    if (existsSync(p)) return p
  }
  throw new Error(
    `PostgreSQL binary "${name}" not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL (server) or ` +
      `set TEST_DATABASE_URL`,
  )
}

async function startCluster(): Promise<TestPostgres> {
  const initdb = findPgBinary('initdb')
  const pgCtl = findPgBinary('pg_ctl')
  const psql = findPgBinary('psql')
  const asRoot = process.getuid?.() === 0
  // The server refuses to run as root: run it as the postgres OS user then.
  const sudo = (argv: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', ...argv]] : [argv[0]!, argv.slice(1)]
  const owner = asRoot ? userIds('postgres') : undefined

  const base = await mkdtemp(join(tmpdir(), 'modelship-pg-'))
  const data = join(base, 'data')
  const sock = join(base, 'sock')
  const pwfile = join(base, 'pw')
  let port = 0
  let started = false
  const cleanupOnExit = (): void => {
    if (started) spawnSync(...sudo([pgCtl, '-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' })
    spawnSync('rm', ['-rf', base], { stdio: 'ignore' })
  }
  process.once('exit', cleanupOnExit)
  try {
    await mkdir(sock)
    await writeFile(pwfile, 'superuser-not-used\n')
    if (owner) {
      for (const p of [base, sock, pwfile]) await chown(p, owner.uid, owner.gid)
    }
    await chmod(base, 0o700)
    const [cmd, args] = sudo([
      initdb,
      '-D',
      data,
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '-E',
      'UTF8',
      '--locale',
      'C',
      '--auth-local',
      'trust',
      '--auth-host',
      'scram-sha-256',
      '--no-sync',
    ])
    await run(cmd, args)
    // Ports can be taken between probing and binding: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      const opts =
        `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c ` +
        `full_page_writes=off -c max_connections=20`
      const [c, a] = sudo([pgCtl, '-D', data, '-o', opts, '-l', join(base, 'log'), '-w', '-t', '60', 'start'])
      try {
        await run(c, a)
        started = true
        break
      } catch (e) {
        if (attempt >= 3) throw new Error(`pg_ctl start failed: ${(e as Error).message}\n${logTail(join(base, 'log'))}`)
      }
    }
    const superuser = async (sql: string, db = 'postgres'): Promise<void> => {
      const [c, a] = sudo([
        psql,
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        sock,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        db,
        '-c',
        sql,
      ])
      await run(c, a, { cwd: base })
    }
    await superuser(`CREATE ROLE ${TEST_USER} LOGIN PASSWORD '${TEST_PASSWORD.replace(/'/g, "''")}'`)
    await superuser(`CREATE DATABASE ${TEST_DB} OWNER ${TEST_USER}`)
  } catch (e) {
    cleanupOnExit()
    process.removeListener('exit', cleanupOnExit)
    throw e
  }

  const url = `postgres://${TEST_USER}:${encodeURIComponent(TEST_PASSWORD)}@127.0.0.1:${port}/${TEST_DB}`
  const db: TestPostgres = {
    url,
    password: TEST_PASSWORD,
    psql: (sql) => psqlAs(url, TEST_PASSWORD, sql),
    stop: async () => {
      process.removeListener('exit', cleanupOnExit)
      const [c, a] = sudo([pgCtl, '-D', data, '-m', 'fast', 'stop'])
      await run(c, a).catch(() => undefined)
      await rm(base, { recursive: true, force: true })
    },
  }
  await db.psql(LABELED_QUERIES_DDL)
  return db
}

/** psql against `url` with the password in the environment only; unaligned, tuples-only output. */
export async function psqlAs(url: string, password: string, sql: string): Promise<string> {
  const u = new URL(url)
  u.password = ''
  const { stdout } = await run(
    'psql',
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', u.toString(), '-c', sql],
    {
      env: { ...process.env, PGPASSWORD: password, PGAPPNAME: 'modelship-tests' },
      maxBuffer: 64 * 1024 * 1024,
    },
  )
  return stdout
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

function logTail(path: string): string {
  try {
    return execFileSync('tail', ['-n', '20', path], { encoding: 'utf8' })
  } catch {
    return ''
  }
}
