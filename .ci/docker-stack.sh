#!/usr/bin/env bash
# Installs the real Docker stack the deploy tests run on, from Debian packages only:
#   - docker.io (this machine's Debian: engine 20.10) and debootstrap, openssh-server, iproute2 from the system's apt;
#   - the Compose v2 plugin, docker-buildx and the distribution registry from Debian 13 (trixie), fetched with
#     `apt-get download` through a private sources list built from this machine's own apt mirror URI (no host name
#     is written anywhere, and no apt source is added to the system), extracted with dpkg-deb -x;
#   - an offline base image (debootstrap minbase + python3), saved as a tarball that each test engine imports.
# Idempotent: each part is skipped when already there. Starts nothing: the tests start their own engines.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
STACK_DIR="${MODELSHIP_DOCKER_STACK_DIR:-$HOME/.cache/modelship/docker-stack}"
PLUGINS="$HOME/.docker/cli-plugins"
mkdir -p "$STACK_DIR" "$PLUGINS"

mirror_uri() {
  # The first URI of the machine's main Debian source (deb822 or one-line format).
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1 | awk '{print $2}')
  [ -n "$uri" ] || { echo "no Debian mirror URI in the apt sources" >&2; exit 1; }
  echo "$uri"
}

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server openssh-client)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
command -v rsvg-convert >/dev/null 2>&1 || need_apt+=(librsvg2-bin)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "== apt: ${need_apt[*]}"
  # No service may start from a package's postinst (there is no init here; the tests start their own daemons).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

if [ ! -x "$PLUGINS/docker-compose" ] || [ ! -x "$PLUGINS/docker-buildx" ] || [ ! -x "$STACK_DIR/bin/registry" ]; then
  echo "== Debian 13 packages: docker-compose (v2 plugin), docker-buildx, docker-registry"
  uri=$(mirror_uri)
  work="$STACK_DIR/trixie"
  mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/debs" "$work/x"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" > "$work/sources.list"
  opts=(-o "APT::Sandbox::User=root" -o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$work/lists"
        -o "Dir::Cache::archives=$work/archives" -o "APT::Get::List-Cleanup=0" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  apt-get "${opts[@]}" update -qq
  (cd "$work/debs" && apt-get "${opts[@]}" download docker-compose docker-buildx docker-registry)
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
  install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGINS/docker-compose"
  install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGINS/docker-buildx"
  mkdir -p "$STACK_DIR/bin"
  install -m 0755 "$work/x/usr/bin/docker-registry" "$STACK_DIR/bin/registry"
  rm -rf "$work/x" "$work/archives"
fi

BASE_TAR="$STACK_DIR/python-base.tar"
if [ ! -s "$BASE_TAR" ]; then
  echo "== offline base image: debootstrap minbase + python3 (bookworm)"
  uri=$(mirror_uri)
  root="$STACK_DIR/rootfs"
  rm -rf "$root"
  debootstrap --variant=minbase --include=python3 bookworm "$root" "$uri" >/dev/null
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf "$root"
fi
# The tests' copy: without documentation, locales, perl, apt and python's own test suite (~100 MB instead of ~170):
# with vfs storage every container and build step copies the whole root file system.
SLIM_TAR="$STACK_DIR/python-base-slim.tar"
if [ ! -s "$SLIM_TAR" ] || [ "$BASE_TAR" -nt "$SLIM_TAR" ]; then
  cp "$BASE_TAR" "$SLIM_TAR.tmp"
  tar --delete --wildcards -f "$SLIM_TAR.tmp" './usr/share/locale/*' './usr/share/doc/*' './usr/share/man/*' \
    './usr/share/info/*' './var/cache/debconf/*' './usr/lib/x86_64-linux-gnu/gconv/*' './usr/lib/python3.11/test/*' \
    './usr/lib/python3.11/pydoc_data/*' './usr/lib/x86_64-linux-gnu/perl-base/*' './usr/share/perl5/*' \
    './usr/bin/perl*' './var/lib/apt/*' './usr/lib/apt/*'
  mv "$SLIM_TAR.tmp" "$SLIM_TAR"
fi
echo "== docker stack: $(dockerd --version), compose $("$PLUGINS/docker-compose" version --short), buildx $("$PLUGINS/docker-buildx" version | awk '{print $2}'), registry $("$STACK_DIR/bin/registry" --version | awk '{print $3}')"
echo "== base image tarballs: $BASE_TAR ($(du -h "$BASE_TAR" | cut -f1)), $SLIM_TAR ($(du -h "$SLIM_TAR" | cut -f1))"
