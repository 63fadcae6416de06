#!/usr/bin/env bash
# Removes everything one test Docker engine left behind: its processes (dockerd, its containerd, the shims,
# every process in its containers' cgroups), its mounts, its bridge and its directory.
#   docker-engine-reap.sh now   DIR CGROUP BRIDGE NETNS   reap at once (stop(), the test worker's exit handler)
#   docker-engine-reap.sh watch DIR CGROUP BRIDGE NETNS PID   wait until PID (the test worker) is gone, then reap:
#                                                           a SIGKILLed worker runs no exit handler
# One copy of the cleanup for both, so what stop() removes and what a killed run leaves removed are the same.
set -u
mode=$1 dir=$2 cgroup=$3 bridge=$4 netns=$5
if [ "$mode" = watch ]; then
  parent=$6
  while kill -0 "$parent" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
fi

sweep() {
  # Every process naming the engine's directory (dockerd, containerd, shims, a watcher) or living in one of its
  # containers' cgroups, except this script. SIGKILL: a graceful stop was stop()'s job, this is the guarantee.
  local p pid found=0
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF -- "$dir/" \
      || grep -qF -- ":/$cgroup/" "$p/cgroup" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null && found=1
    fi
  done
  return $((1 - found))
}
for _ in 1 2 3 4 5; do sweep || break; sleep 0.2; done

# Mounts under the directory (netns bind mounts, container shm, vfs layers), deepest first.
awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null || true
done
if [ -n "$bridge" ]; then
  if [ -n "$netns" ]; then ip -n "$netns" link del "$bridge" 2>/dev/null; else ip link del "$bridge" 2>/dev/null; fi
fi
for c in /sys/fs/cgroup/*/"$cgroup"; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done
rm -rf "$dir"
exit 0
