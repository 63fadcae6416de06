import { ModelshipError } from '../../engine/errors.js'

/** The parts of the Hub's whoami-v2 answer the access checks read (every field may be missing). */
export interface WhoAmI {
  type?: string
  name?: string
  orgs?: Array<{ name?: string; roleInOrg?: string; roleInRepo?: string; role?: string }>
  auth?: {
    accessToken?: {
      role?: string
      fineGrained?: {
        global?: string[]
        scoped?: Array<{ entity?: { name?: string; type?: string }; permissions?: string[] }>
      }
    }
  }
}

const WRITE_ROLES = new Set(['admin', 'write', 'contributor'])
const READ_PERMISSIONS = new Set(['repo.content.read', 'repo.write'])
const sameName = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase()

function scopedPermissions(who: WhoAmI, org: string): string[] {
  const fg = who.auth?.accessToken?.fineGrained
  const scoped = fg?.scoped?.filter((s) => sameName(s.entity?.name, org)).flatMap((s) => s.permissions ?? []) ?? []
  return [...scoped, ...(fg?.global ?? [])]
}

/** Listing and reading the org's private models: the token's user is the org or one of its members. */
export function assertMayRead(who: WhoAmI, org: string): void {
  const user = who.name ?? 'unknown user'
  const tokenRole = who.auth?.accessToken?.role ?? 'unknown'
  if (!sameName(who.name, org) && !who.orgs?.some((o) => sameName(o.name, org))) {
    throw new ModelshipError(
      'AUTH',
      `${user} (token role: ${tokenRole}) is not a member of ${org}, so it cannot see its private models`,
      {
        hint: `ask an admin of ${org} to add ${user}, or set HF_ORG`,
      },
    )
  }
  if (tokenRole === 'fineGrained' && !scopedPermissions(who, org).some((p) => READ_PERMISSIONS.has(p))) {
    throw new ModelshipError(
      'AUTH',
      `the fine-grained HF_TOKEN of ${user} cannot read the repos of ${org} (token role: fineGrained)`,
      {
        hint: `give the token "Read access to contents of all repos" for ${org}`,
      },
    )
  }
}

/** Creating repos and committing in the org: a write token of a member with a write role. */
export function assertMayWrite(who: WhoAmI, org: string): void {
  const user = who.name ?? 'unknown user'
  const tokenRole = who.auth?.accessToken?.role ?? 'unknown'
  const hint =
    `create a token with write access to ${org} (classic "write", or fine-grained with ` +
    `"Write access to contents/settings of all repos" for ${org})`
  if (tokenRole === 'read') {
    throw new ModelshipError(
      'AUTH',
      `HF_TOKEN of ${user} is read-only (token role: read); pushing models to ${org} needs write access`,
      { hint },
    )
  }
  if (!sameName(who.name, org)) {
    const membership = who.orgs?.find((o) => sameName(o.name, org))
    if (!membership) {
      throw new ModelshipError(
        'AUTH',
        `${user} (token role: ${tokenRole}) is not a member of ${org}, so it cannot create repos there`,
        {
          hint: `ask an admin of ${org} to add ${user} with the write role, or set HF_ORG`,
        },
      )
    }
    const orgRole = membership.roleInOrg ?? membership.roleInRepo ?? membership.role
    if (orgRole !== undefined && !WRITE_ROLES.has(orgRole)) {
      throw new ModelshipError(
        'AUTH',
        `${user} has the ${orgRole} role in ${org} (token role: ${tokenRole}); pushing models needs write, ` +
          `contributor or admin`,
        { hint: `ask an admin of ${org} for the write role` },
      )
    }
  }
  if (tokenRole === 'fineGrained' && !scopedPermissions(who, org).includes('repo.write')) {
    throw new ModelshipError(
      'AUTH',
      `the fine-grained HF_TOKEN of ${user} has no repo.write permission on ${org} (token role: fineGrained)`,
      { hint },
    )
  }
}
