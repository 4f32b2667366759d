#!/usr/bin/env bash
# Runs the Swift test suite (bindings/swift/Tests) against freshly generated uniffi bindings.
#
#   bindings/swift/run-tests.sh [TEST_NAME...]     (from any directory; root on Linux)
#
# 1. Linux without swiftc: provision-swift.sh builds (once, cached) a Debian trixie rootfs with
#    swiftlang 6.0 under the Cargo target dir, and every Swift step runs inside it (chroot in a
#    private mount namespace; the staging dir is bind-mounted at /cairn). With swiftc on PATH
#    (a Mac) the host's compiler is used directly.
# 2. cargo build -p cairn-ffi (host debug library, unstripped: library mode reads its metadata).
# 3. uniffi-bindgen (cairn-uniffi-bindgen) generates Swift in library mode into
#    <target>/bindings/swift: CairnCore.swift, CairnCoreFFI.h, CairnCoreFFI.modulemap.
# 4. swiftc compiles the generated Swift and Tests/*.swift into one executable linked against
#    libcairn_ffi, and runs it. It prints PASS/FAIL per test and ends with "N passed, M failed";
#    the exit code is non-zero when any test fails (or none ran).
#
# Optional TEST_NAME arguments run only those tests. Environment: CARGO_TARGET_DIR is honoured;
# CAIRN_SWIFT_TEST_TIMEOUT (seconds, default 600) bounds the test run.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$WORKSPACE_DIR"

MODULE=CairnCore
FFI_MODULE=${MODULE}FFI
TIMEOUT=${CAIRN_SWIFT_TEST_TIMEOUT:-600}

case "$(uname -s)" in
    Darwin) LIB_FILE=libcairn_ffi.dylib ;;
    *) LIB_FILE=libcairn_ffi.so ;;
esac

if host_has_swiftc; then
    USE_ROOTFS=0
    log "using the host's swiftc: $(command -v swiftc)"
else
    [[ "$(uname -s)" == Linux ]] || die "no swiftc on PATH: install Xcode or a Swift toolchain."
    USE_ROOTFS=1
    "$SWIFT_DIR/provision-swift.sh" || die "could not provision a Swift compiler (see above)."
fi

log "cargo build -p cairn-ffi"
cargo build -p cairn-ffi || die "cargo build -p cairn-ffi failed."
LIB=$TARGET_DIR/debug/$LIB_FILE
[[ -f "$LIB" ]] || die "$LIB was not built (is cairn-ffi's crate-type missing cdylib?)."

GEN=$TARGET_DIR/bindings/swift
rm -rf "$GEN"
mkdir -p "$GEN"
log "generating Swift bindings from $LIB into $GEN"
cargo run -q -p cairn-uniffi-bindgen -- generate --library "$LIB" --language swift --no-format \
    --out-dir "$GEN" || die "uniffi-bindgen generate failed."

# The generated files must be what the contract names (module CairnCore from bindings/uniffi.toml).
missing=()
for f in "$MODULE.swift" "$FFI_MODULE.h" "$FFI_MODULE.modulemap"; do
    [[ -f "$GEN/$f" ]] || missing+=("$f")
done
if ((${#missing[@]})); then
    log "generated files: $(find "$GEN" -type f -printf '%f ')"
    die "uniffi-bindgen did not generate ${missing[*]} (is module_name = \"$MODULE\" set in bindings/uniffi.toml?)."
fi
# Library mode writes one <module_name>.swift per crate with uniffi metadata in the library: two
# crates configured with the same Swift module_name overwrite each other's files, and the last
# one wins. Catch that here rather than as a pile of swiftc errors.
for decl in 'class CairnStore' 'protocol KeyStore' 'enum KeyStoreError'; do
    # Without formatting, uniffi may put `public` on the line before the declaration.
    if ! grep -qE "^(public |open )*$decl\b" "$GEN/$MODULE.swift"; then
        holds=$(grep -oE '^(public |open )+(struct|class|enum|protocol) [A-Za-z]+' "$GEN/$MODULE.swift" \
            | awk '{print $NF}' | head -n 6 | tr '\n' ' ')
        die "$GEN/$MODULE.swift does not declare '$decl' (it declares ${holds}...). In library mode each crate with uniffi metadata in $LIB_FILE gets its own <module_name>.swift and <ffi_module_name>.h/.modulemap: two crates with the same [bindings.swift] module_name = \"$MODULE\" (see bindings/uniffi.toml and core/uniffi.toml) overwrite each other's files and only the last survives. Give every other crate its own Swift module_name (e.g. \"${MODULE}Model\"); all generated .swift files are compiled together."
    fi
done

# Staging dir: generated bindings, the library and the tests, bind-mounted at /cairn in the rootfs.
STAGE=$TARGET_DIR/swift-tests
rm -rf "$STAGE"
mkdir -p "$STAGE/gen" "$STAGE/lib" "$STAGE/tests" "$STAGE/bin"
cp "$GEN"/* "$STAGE/gen/"
cp "$LIB" "$STAGE/lib/"
cp "$SWIFT_DIR"/Tests/*.swift "$STAGE/tests/"

if ((USE_ROOTFS)); then
    W=/cairn
    CHROOT_BINDS=("$STAGE:$W")
    run() { in_rootfs "$@"; }
else
    W=$STAGE
    run() { "$@" </dev/null; }
fi

# Every generated Swift file (one per crate with uniffi metadata) and module map goes in.
swift_sources=()
modulemap_flags=()
for f in "$STAGE"/gen/*.swift; do swift_sources+=("$W/gen/$(basename "$f")"); done
for f in "$STAGE"/gen/*.modulemap; do modulemap_flags+=(-Xcc "-fmodule-map-file=$W/gen/$(basename "$f")"); done
for f in "$STAGE"/tests/*.swift; do swift_sources+=("$W/tests/$(basename "$f")"); done

log "swiftc: compiling ${#swift_sources[@]} Swift files"
run swiftc -swift-version 5 -module-name CairnSwiftTests -g -Onone \
    "${modulemap_flags[@]}" -I "$W/gen" \
    -L "$W/lib" -lcairn_ffi -Xlinker -rpath -Xlinker "$W/lib" \
    "${swift_sources[@]}" -o "$W/bin/cairn-swift-tests" \
    || die "swiftc failed to compile the Swift tests against the generated bindings."

# The sync tests reach a real relay on the host's loopback (the rootfs shares its network),
# started here and stopped when the script exits.
# shellcheck source=../../scripts/test-relay.sh
source "$WORKSPACE_DIR/scripts/test-relay.sh"
trap stop_test_relay EXIT
start_test_relay "$TARGET_DIR" || die "could not start the test relay"

log "running the Swift tests"
set +e
if ((USE_ROOTFS)); then
    run timeout --kill-after=10 "$TIMEOUT" "$W/bin/cairn-swift-tests" "$@"
else
    run "$W/bin/cairn-swift-tests" "$@"
fi
status=$?
set -e
((status == 0)) || log "Swift tests failed (exit $status)."
exit "$status"
