#!/usr/bin/env bash
# npm run example:base-image — a Python base image for the example app where Docker Hub is out of reach:
# Debian bookworm (minbase + python3, from this machine's own apt mirror, with debootstrap) imported into the
# engine the docker CLI talks to now (DOCKER_HOST or the current context). Prints the variable to set.
# The root file system is cached as a tarball (the one .ci/docker-stack.sh makes), so a second run only imports.
set -euo pipefail
TAG="${1:-modelship-example/python:3.11-bookworm}"
STACK_DIR="${MODELSHIP_DOCKER_STACK_DIR:-$HOME/.cache/modelship/docker-stack}"
BASE_TAR="$STACK_DIR/python-base.tar"

docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 || {
  echo "example:base-image: no Docker engine answers (set DOCKER_HOST or start one)" >&2
  exit 1
}
if [ ! -s "$BASE_TAR" ]; then
  command -v debootstrap >/dev/null 2>&1 || {
    echo "example:base-image: needs debootstrap (Debian: apt-get install debootstrap) and root" >&2
    exit 1
  }
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1 | awk '{print $2}')
  [ -n "$uri" ] || { echo "example:base-image: no Debian mirror URI in the apt sources" >&2; exit 1; }
  mkdir -p "$STACK_DIR"
  root=$(mktemp -d "$STACK_DIR/rootfs.XXXXXX")
  trap 'rm -rf "$root" "$BASE_TAR.tmp"' EXIT
  echo "== debootstrap bookworm (minbase + python3) from $uri" >&2
  debootstrap --variant=minbase --include=python3 bookworm "$root" "$uri" >/dev/null
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
fi
echo "== docker import $BASE_TAR as $TAG" >&2
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$BASE_TAR" "$TAG" >/dev/null
docker run --rm "$TAG" python3 -c 'import sys; assert sys.version_info >= (3, 10), sys.version' >/dev/null
echo "export MODELSHIP_EXAMPLE_BASE_IMAGE=$TAG"
