/**
 * The child guard: one command that changes things (the trainer, `docker compose build`/`up`) runs under
 * a small bash program that ties its life to modelship's.
 *
 * Why: a trainer or a build must never outlive the run that started it. On Ctrl-C modelship signals the
 * child's whole process group (SIGTERM, then SIGKILL after a grace period); but when modelship itself is
 * killed with SIGKILL nothing could signal anyone, so the guard watches modelship's pid and kills its own
 * group once modelship is gone, so no orphan can later write into a run.
 *
 * Why bash and not a node script: it sits on every write, and bash starts in ~3 ms where node takes ~40.
 * It is the very bash zx starts for the command (zx runs its commands with `bash -c`), not one more.
 * Bash 3.2 compatible (macOS's /bin/bash): no named file descriptors, no fractional `read -t`, no $BASHPID.
 * The watcher ignores the group's SIGTERM (a Ctrl-C stop, then modelship killed during the grace period, must
 * still end the group); the guard stops it, and its `sleep`, with SIGUSR1 once the command is done, and
 * does not wait for it: it ends a moment later on its own, and waiting for it to be scheduled again cost a
 * write ~5 ms on a virtual machine (the guard's exit is what modelship waits for).
 */
const GUARD_SCRIPT = `parent=$1; shift
if ! command -v -- "$1" >/dev/null 2>&1; then
  printf 'modelship-child-guard: %s: command not found\\n' "$1" >&2
  exit 127
fi
(
  trap '' TERM INT HUP
  trap 'kill -KILL "$nap" 2>/dev/null; exit 0' USR1
  while kill -0 "$parent" 2>/dev/null; do
    sleep 0.2 &
    nap=$!
    wait "$nap"
  done
  kill -KILL 0
) </dev/null >/dev/null 2>&1 &
watcher=$!
trap : TERM INT HUP
"$@" <&0 &
child=$!
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
rc=$?
kill -USR1 "$watcher" 2>/dev/null
if [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
  trap - TERM INT HUP
  kill -s "$((rc - 128))" "$$"
fi
exit "$rc"`

/** What the guard prints (then exits 127) when the command is not on PATH. */
export const GUARD_NOT_FOUND_PREFIX = 'modelship-child-guard:'

/**
 * The guard as the text of a `bash -c` command: `set -- <args>` (the words of {@link guardArgs}, quoted by
 * whoever runs it: zx) comes before it, then this.
 */
export const GUARD_BODY = `\n${GUARD_SCRIPT}`

/**
 * The guard's arguments: the pid it watches (`parentPid`, modelship), then `command`. The group's signals
 * reach the guard too: it lets the command act on them and then dies the way the command died.
 */
export function guardArgs(parentPid: number, command: readonly string[]): string[] {
  return [String(parentPid), ...command]
}
