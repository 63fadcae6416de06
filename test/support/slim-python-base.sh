#!/usr/bin/env bash
# Makes a python-only root file system out of the offline base image's tarball and writes it as a tar on stdout:
# python3, its standard library without tests, docs, Tk or IDLE, and the shared libraries the interpreter and its
# extension modules load (found with ldd inside the tree). ~40 MB instead of ~170: on vfs every layer and container
# is a full copy, so the images the multi-engine tests push, pull and start on four engines stay small.
#   slim-python-base.sh TARBALL WORKDIR > slim.tar
set -euo pipefail
tarball=$1 work=$2
full="$work/full"
mkdir -p "$full"
tar -xf "$tarball" -C "$full"
cd "$full"
py=$(chroot . readlink -f /usr/bin/python3); py=${py#/}
stdlib="usr/lib/$(basename "$py")"
{
  printf '%s\n' usr/bin/python3 "$py" bin lib lib64 sbin tmp etc/passwd etc/group
  find "$stdlib" \( -name test -o -name tests -o -name idlelib -o -name tkinter -o -name turtledemo -o -name ensurepip \
    -o -name pydoc_data -o -name lib2to3 -o -name __pycache__ -o -name 'config-*' -o -name distutils \) -prune \
    -o \( -type f -o -type l \) -print
  for f in "$py" "$stdlib"/lib-dynload/*.so; do chroot . /usr/bin/ldd "/$f"; done \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u \
    | while read -r lib; do
      dir=$(chroot . readlink -f "$(dirname "$lib")")
      echo "${dir#/}/$(basename "$lib")"
      target=$(chroot . readlink -f "$lib")
      echo "${target#/}"
    done
} | sort -u > "$work/files"
tar -c --no-recursion -T "$work/files"
