/** "1.4 GiB" style sizes (bytes, KiB, MiB, GiB, TiB): the one byte formatter of every message and plan. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = bytes
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${bytes} bytes` : `${v.toFixed(1)} ${units[i]}`
}
