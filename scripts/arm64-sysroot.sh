#!/usr/bin/env bash
# An aarch64 Debian root with CPython $PY_VERSION, for `make build`'s arm64 proof: qemu-aarch64-static -L ROOT
# runs ROOT/usr/bin/pythonX.Y on this x86_64 machine, and the layer build takes the headers and _sysconfigdata
# it cross-compiles PDQ against from it.
#
#   scripts/arm64-sysroot.sh DIR      -> DIR/sysroot (DIR/apt keeps apt's lists and the .debs: a rerun is fast)
#
# Debian trixie's arm64 archive, through apt with a private state and source list (apt checks the Release
# signature with the Debian keyring and every .deb's SHA-256): this machine's apt configuration is not touched.
set -euo pipefail
dir=$(realpath -m "${1:?usage: arm64-sysroot.sh DIR}")
py=${PY_VERSION:-3.13}
suite=${SUITE:-trixie}
apt_dir=$dir/apt
root=$dir/sysroot
mkdir -p "$apt_dir"/lists/partial "$apt_dir"/cache "$apt_dir"/archives/partial
: >"$apt_dir"/status # nothing installed: apt resolves every dependency of what is asked for
echo "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
  >"$apt_dir"/sources.list
apt=(apt-get -qq -o Dir::Etc::sourcelist="$apt_dir"/sources.list -o Dir::Etc::sourceparts=- -o Dir::State="$apt_dir"
  -o Dir::State::status="$apt_dir"/status -o Dir::Cache="$apt_dir"/cache -o Dir::Cache::archives="$apt_dir"/archives
  -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
"${apt[@]}" update
# The interpreter and its standard library (with what they link: libc, libssl, zlib, libffi, expat, ...), and
# libstdc++/libgcc, which the OpenCV, numpy and PDQ extension modules link.
"${apt[@]}" install --download-only --no-install-recommends -y \
  "python$py-minimal" "libpython$py-stdlib" libstdc++6 libgcc-s1 >/dev/null
# Only the headers (pyconfig.h for aarch64): its dependencies (libc6-dev...) would shadow the cross compiler's.
(cd "$apt_dir"/archives && "${apt[@]}" download "libpython$py-dev")
"${apt[@]}" autoclean # .debs of versions no longer in the archive (a point release replaced them)

rm -rf "$root.tmp"
mkdir -p "$root.tmp"
for deb in "$apt_dir"/archives/*.deb; do dpkg-deb -x "$deb" "$root.tmp"; done
# trixie is merged-/usr (the symlinks are made by base-files' maintainer scripts, which are not run here): the
# dynamic loader is looked up as /lib/ld-linux-aarch64.so.1
for d in bin sbin lib; do ln -sfn "usr/$d" "$root.tmp/$d"; done
rm -rf "$root"
mv "$root.tmp" "$root"
echo "arm64 sysroot: $root ($(ls "$apt_dir"/archives/*.deb | wc -l) packages from Debian $suite)"
