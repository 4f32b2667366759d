# Shared paths and helpers for provision-swift.sh and run-tests.sh (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

SWIFT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORKSPACE_DIR=$(cd "$SWIFT_DIR/../.." && pwd)

# The workspace's Cargo target dir: what cargo itself reports (CARGO_TARGET_DIR, build.target-dir),
# else CARGO_TARGET_DIR resolved against the current directory as cargo does, else target/.
TARGET_DIR=
if command -v cargo >/dev/null 2>&1; then
    TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --offline \
        --manifest-path "$WORKSPACE_DIR/Cargo.toml" 2>/dev/null \
        | grep -o '"target_directory":"[^"]*"' | head -n 1 | cut -d'"' -f4) || TARGET_DIR=
fi
if [[ -z "$TARGET_DIR" ]]; then
    if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
        TARGET_DIR=$(realpath -m -- "$CARGO_TARGET_DIR")
    else
        TARGET_DIR=$WORKSPACE_DIR/target
    fi
fi
# Every later cargo call (run from the workspace root) must use the same dir.
export CARGO_TARGET_DIR=$TARGET_DIR

# The Debian 13 (trixie) root filesystem that provides swiftc on Linux hosts without one.
SWIFT_ROOTFS=$TARGET_DIR/swift-rootfs
# apt's own state, cache, sources and downloaded .debs for building it (never the host's).
SWIFT_PROVISION_DIR=$TARGET_DIR/swift-provision
SWIFT_ROOTFS_STAMP=$SWIFT_ROOTFS/.cairn-swift-rootfs
# Bump when the recipe changes: an existing rootfs with another stamp is rebuilt.
SWIFT_ROOTFS_RECIPE="trixie swiftlang libc6-dev required-priority v1"

log() { printf '[swift] %s\n' "$*" >&2; }
die() { printf '[swift] ERROR: %s\n' "$*" >&2; exit 1; }

# True when a Swift compiler is available on the host itself (a Mac, or Linux with a toolchain).
host_has_swiftc() { command -v swiftc >/dev/null 2>&1; }

# Runs a command inside the rootfs: chroot in a private mount and PID namespace with /proc
# mounted, a clean environment, and the given extra bind mounts (HOST_DIR:CHROOT_DIR pairs in
# the CHROOT_BINDS array). Mounts vanish with the namespace: nothing is left behind.
#   in_rootfs CMD [ARGS...]
in_rootfs() {
    local -a binds=("${CHROOT_BINDS[@]+"${CHROOT_BINDS[@]}"}")
    # shellcheck disable=SC2016  # expanded by the inner shell
    local script='set -e
root=$1; shift
nbinds=$1; shift
i=0
while [ "$i" -lt "$nbinds" ]; do
    src=$1; dst=$2; shift 2
    mkdir -p "$root$dst"
    mount --bind "$src" "$root$dst"
    i=$((i + 1))
done
exec chroot "$root" /usr/bin/env -i \
    PATH=/usr/local/bin:/usr/libexec/swift/bin:/usr/bin:/usr/sbin \
    HOME=/root TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
    CAIRN_TEST_RELAY="${CAIRN_TEST_RELAY:-}" "$@"'
    local -a args=("$SWIFT_ROOTFS" "${#binds[@]}")
    local pair
    for pair in "${binds[@]+"${binds[@]}"}"; do
        args+=("${pair%%:*}" "${pair#*:}")
    done
    unshare --mount --pid --fork --propagation private --mount-proc="$SWIFT_ROOTFS/proc" \
        /bin/sh -c "$script" in_rootfs "${args[@]}" "$@" </dev/null
}
