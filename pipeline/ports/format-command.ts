/** Renders argv for display; quoting only where a reader would otherwise misread it. Never executed. */
export function formatCommand(cmd: readonly string[]): string {
  return cmd.map((a) => (/^[\w@%+=:,./{}-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}
