#!/usr/bin/env bash
# Provides a Swift compiler for the Swift binding tests on a Linux host that has none.
#
# Debian 12 packages no Swift; Debian 13 (trixie) packages `swiftlang` 6.0. This script builds,
# once, a trixie root filesystem from Debian packages alone under the Cargo target dir
# (target/swift-rootfs, or $CARGO_TARGET_DIR/swift-rootfs), in which run-tests.sh runs swiftc
# through chroot. apt runs with its own configuration, sources, state and cache under
# target/swift-provision: the host's apt state and sources are never read or written. The
# packages are unpacked with dpkg-deb (no maintainer scripts run), then ldconfig runs inside.
#
# Idempotent: a finished rootfs carries a stamp, and a second run returns at once. A failed run
# leaves only target/swift-rootfs.partial, which the next run discards. On a host that already
# has swiftc on PATH (a Mac, or a Linux with a Swift toolchain) it does nothing.
#
# Needs root (chroot, mknod, mount namespaces) and Debian's apt, dpkg-deb, unshare; reaches only
# the Debian mirror (override with CAIRN_DEBIAN_MIRROR / CAIRN_DEBIAN_SECURITY_MIRROR).
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if host_has_swiftc; then
    log "swiftc found on PATH ($(command -v swiftc)): nothing to provision."
    exit 0
fi
[[ "$(uname -s)" == Linux ]] || die "no swiftc on PATH and this is not Linux: install Xcode or a Swift toolchain."

if [[ -f "$SWIFT_ROOTFS_STAMP" && "$(cat "$SWIFT_ROOTFS_STAMP")" == "$SWIFT_ROOTFS_RECIPE" ]]; then
    log "Swift rootfs ready: $SWIFT_ROOTFS"
    exit 0
fi

[[ "$(id -u)" == 0 ]] || die "building the Swift rootfs needs root (chroot, mknod, mount namespaces)."
for tool in apt-get apt-cache dpkg-deb tar chroot unshare mknod realpath flock; do
    command -v "$tool" >/dev/null 2>&1 || die "missing host tool '$tool' (needs a Debian-like host)."
done
[[ "$(dpkg --print-architecture 2>/dev/null || uname -m)" =~ ^(amd64|x86_64)$ ]] \
    || die "only amd64 hosts are supported (the rootfs is amd64)."

MIRROR=${CAIRN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${CAIRN_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Checks that the host's Debian archive keyring knows trixie's keys (debian-archive-keyring
# 2023.3+deb12u1 or newer on Debian 12), so apt can verify trixie's Release files.
check_keyring() {
    [[ -r "$KEYRING" ]] || die "$KEYRING is missing: apt-get install debian-archive-keyring"
    if command -v gpg >/dev/null 2>&1; then
        local gpghome
        gpghome=$(mktemp -d)
        if ! gpg --homedir "$gpghome" --batch --show-keys --with-colons "$KEYRING" 2>/dev/null \
            | grep -q '^uid:.*trixie'; then
            rm -rf "$gpghome"
            die "$KEYRING has no Debian 13 (trixie) key: upgrade the host's debian-archive-keyring (2023.3+deb12u1 or newer)."
        fi
        rm -rf "$gpghome"
    elif [[ ! -e /usr/share/keyrings/debian-archive-trixie-automatic.gpg ]]; then
        die "the host's debian-archive-keyring has no trixie key: upgrade debian-archive-keyring (2023.3+deb12u1 or newer)."
    fi
}

# Writes apt's private configuration. apt reads $APT_CONFIG first, and it points Dir::Etc (and
# so apt.conf.d, sources.list.d, preferences.d, trusted.gpg.d) at empty private directories, so
# none of the host's configuration, hooks or sources apply.
setup_apt() {
    local a=$SWIFT_PROVISION_DIR/apt
    mkdir -p "$a/etc/apt.conf.d" "$a/etc/sources.list.d" "$a/etc/preferences.d" \
        "$a/etc/trusted.gpg.d" "$a/state/lists/partial" "$a/cache/archives/partial" "$a/log"
    touch "$a/state/status"
    cat >"$a/etc/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR trixie main
deb [signed-by=$KEYRING] $MIRROR trixie-updates main
deb [signed-by=$KEYRING] $SECURITY_MIRROR trixie-security main
EOF
    cat >"$a/etc/apt.conf" <<EOF
Dir::Etc "$a/etc";
Dir::Etc::Main "apt.conf";
Dir::Etc::Parts "apt.conf.d";
Dir::Etc::SourceList "sources.list";
Dir::Etc::SourceParts "sources.list.d";
Dir::Etc::Preferences "preferences";
Dir::Etc::PreferencesParts "preferences.d";
Dir::Etc::Trusted "trusted.gpg";
Dir::Etc::TrustedParts "trusted.gpg.d";
Dir::State "$a/state";
Dir::State::Lists "$a/state/lists";
Dir::State::status "$a/state/status";
Dir::Cache "$a/cache";
Dir::Cache::Archives "$a/cache/archives";
Dir::Log "$a/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Get::Assume-Yes "true";
Acquire::Languages "none";
Acquire::Retries "3";
Binary::apt::APT::Keep-Downloaded-Packages "true";
DPkg::Lock::Timeout "0";
EOF
    export APT_CONFIG=$a/etc/apt.conf
    # Sanity check: the host's configuration must not leak in.
    local etc
    etc=$(apt-config shell X Dir::Etc/d | sed -n "s/^X='\(.*\)'$/\1/p")
    [[ "$etc" == "$a/etc/" || "$etc" == "$a/etc" ]] || die "apt did not take the private configuration (Dir::Etc=$etc)."
}

# Downloads trixie's required-priority packages, swiftlang and libc6-dev with all dependencies
# (apt solves against an empty dpkg status, so it fetches the whole closure).
download_debs() {
    log "apt-get update (trixie, private state in $SWIFT_PROVISION_DIR/apt)"
    if ! apt-get -q update >"$SWIFT_PROVISION_DIR/apt-update.log" 2>&1 \
        || grep -qE '^(W|E): .*(NO_PUBKEY|not signed|Failed to fetch|no longer signed|EXPKEYSIG)' "$SWIFT_PROVISION_DIR/apt-update.log"; then
        cat "$SWIFT_PROVISION_DIR/apt-update.log" >&2
        die "apt-get update for trixie failed (mirror $MIRROR unreachable, or the keyring lacks trixie's keys)."
    fi
    local -a required
    mapfile -t required < <(apt-cache dumpavail \
        | awk '/^Package: /{p=$2} /^Priority: required$/{print p}' | sort -u)
    ((${#required[@]} > 10)) || die "found no required-priority packages in trixie's index."
    log "downloading ${#required[@]} required-priority packages + swiftlang + libc6-dev and their dependencies"
    if ! apt-get -q --download-only install "${required[@]}" swiftlang libc6-dev \
        >"$SWIFT_PROVISION_DIR/apt-download.log" 2>&1; then
        tail -n 40 "$SWIFT_PROVISION_DIR/apt-download.log" >&2
        die "apt-get --download-only install failed (see $SWIFT_PROVISION_DIR/apt-download.log)."
    fi
}

# Unpacks every downloaded .deb into the rootfs. Merged-/usr symlinks (bin -> usr/bin, ...) are
# created first and kept (tar --keep-directory-symlink), as dpkg itself would.
unpack_debs() {
    local root=$1 deb n=0
    mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
    ln -s usr/bin "$root/bin"
    ln -s usr/sbin "$root/sbin"
    ln -s usr/lib "$root/lib"
    ln -s usr/lib64 "$root/lib64"
    shopt -s nullglob
    local -a debs=("$SWIFT_PROVISION_DIR"/apt/cache/archives/*.deb)
    shopt -u nullglob
    ((${#debs[@]} > 0)) || die "no .deb files were downloaded."
    log "unpacking ${#debs[@]} packages into $root"
    for deb in "${debs[@]}"; do
        if ! dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -p -C "$root" 2>"$SWIFT_PROVISION_DIR/unpack.err"; then
            cat "$SWIFT_PROVISION_DIR/unpack.err" >&2
            die "unpacking $(basename "$deb") failed."
        fi
        n=$((n + 1))
    done
    log "unpacked $n packages"
}

# What maintainer scripts would have done, as far as compiling and running Swift needs it.
configure_rootfs() {
    local root=$1
    mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/var/tmp" "$root/etc"
    chmod 1777 "$root/tmp" "$root/var/tmp"
    mknod -m 666 "$root/dev/null" c 1 3
    mknod -m 666 "$root/dev/zero" c 1 5
    mknod -m 666 "$root/dev/full" c 1 7
    mknod -m 666 "$root/dev/random" c 1 8
    mknod -m 666 "$root/dev/urandom" c 1 9
    ln -s /proc/self/fd "$root/dev/fd"
    mkdir -p "$root/dev/shm" && chmod 1777 "$root/dev/shm"
    [[ -e "$root/etc/passwd" ]] || cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
    [[ -e "$root/etc/group" ]] || cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
    # update-alternatives did not run: link the few alternatives a build may call.
    [[ -e "$root/usr/bin/awk" ]] || ln -s mawk "$root/usr/bin/awk"
    log "running ldconfig inside the rootfs"
    chroot "$root" /usr/sbin/ldconfig || die "ldconfig inside the rootfs failed."
}

# Compiles and runs a Swift program that imports a C module and links a C shared library:
# proves the compiler, the linker and the runtime work inside the chroot.
smoke_test() {
    local root=$1 dir=$1/tmp/cairn-swift-smoke
    rm -rf "$dir"
    mkdir -p "$dir/include"
    cat >"$dir/include/smoke.h" <<'EOF'
int smoke_add(int a, int b);
EOF
    cat >"$dir/include/module.modulemap" <<'EOF'
module SmokeC {
    header "smoke.h"
    export *
}
EOF
    cat >"$dir/smoke.c" <<'EOF'
int smoke_add(int a, int b) { return a + b; }
EOF
    cat >"$dir/main.swift" <<'EOF'
import SmokeC
import Foundation

func twice() async -> Int32 { smoke_add(20, 1) * 2 }
let v = await twice()
print("swift smoke: \(v) \(ProcessInfo.processInfo.operatingSystemVersionString)")
if v != 42 { exit(1) }
EOF
    local swift_version
    swift_version=$(SWIFT_ROOTFS=$root in_rootfs swiftc --version 2>&1) \
        || { echo "$swift_version" >&2; die "swiftc --version failed inside the rootfs."; }
    log "$(head -n 1 <<<"$swift_version")"
    local out
    if ! out=$(SWIFT_ROOTFS=$root in_rootfs /bin/sh -ec '
        cd /tmp/cairn-swift-smoke
        clang -shared -fPIC -o libsmoke.so smoke.c
        swiftc -Xcc -fmodule-map-file=/tmp/cairn-swift-smoke/include/module.modulemap \
            -I /tmp/cairn-swift-smoke/include -L /tmp/cairn-swift-smoke -lsmoke \
            -Xlinker -rpath -Xlinker /tmp/cairn-swift-smoke -o smoke main.swift
        ./smoke' 2>&1); then
        echo "$out" >&2
        die "the Swift smoke test failed inside the rootfs."
    fi
    log "$out"
    rm -rf "$dir"
}

main() {
    local start=$SECONDS partial=$SWIFT_ROOTFS.partial
    mkdir -p "$SWIFT_PROVISION_DIR"
    exec 9>"$SWIFT_PROVISION_DIR/lock"
    flock 9
    # Another run may have finished while this one waited for the lock.
    if [[ -f "$SWIFT_ROOTFS_STAMP" && "$(cat "$SWIFT_ROOTFS_STAMP")" == "$SWIFT_ROOTFS_RECIPE" ]]; then
        log "Swift rootfs ready: $SWIFT_ROOTFS"
        return 0
    fi
    log "building a Debian trixie rootfs with swiftlang in $SWIFT_ROOTFS (once; ~600 MB download)"
    check_keyring
    local dir
    for dir in "$partial" "$SWIFT_ROOTFS"; do
        if [[ -e "$dir" ]]; then
            if findmnt -rn -o TARGET 2>/dev/null | grep -qF "$dir"; then
                die "something is mounted under $dir: unmount it first."
            fi
            rm -rf --one-file-system "$dir"
        fi
    done
    setup_apt
    download_debs
    mkdir -p "$partial"
    unpack_debs "$partial"
    configure_rootfs "$partial"
    smoke_test "$partial"
    printf '%s' "$SWIFT_ROOTFS_RECIPE" >"$partial/.cairn-swift-rootfs"
    mv "$partial" "$SWIFT_ROOTFS"
    log "Swift rootfs ready: $SWIFT_ROOTFS ($((SECONDS - start)) s)"
}

main "$@"
