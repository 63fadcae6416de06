import type { RegistryModel } from '../types.js'
import { versionOfRepo, type Version } from '../version.js'

/** A Hub model entry as modelship lists it; `version` parsed from the name unless given. */
export function toRegistryModel(
  id: string,
  isPrivate: boolean,
  updatedAt: Date | undefined,
  prefix: string,
  version?: Version,
): RegistryModel {
  const model: RegistryModel = {
    id,
    version: version ?? versionOfRepo(id, prefix) ?? looseVersion(id),
    private: isPrivate === true,
  }
  if (updatedAt && !Number.isNaN(updatedAt.getTime())) model.lastModified = updatedAt.toISOString()
  return model
}

// getModel accepts any repo id; a name without `-v<major>.<minor>` gets version 0.0.
function looseVersion(id: string): Version {
  const m = /-v(\d+)\.(\d+)$/.exec(id)
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : { major: 0, minor: 0 }
}
