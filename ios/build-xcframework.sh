#!/usr/bin/env bash
# Builds CairnFFI.xcframework (the Rust core as a static library for iOS devices and simulators)
# and generates the Swift bindings the CairnCore package compiles.
#
#   ios/build-xcframework.sh            (from any directory, on a Mac with Xcode)
#
# 1. checks the tools: macOS, xcodebuild, lipo, cargo, rustup and the three iOS Rust targets;
# 2. cargo build --profile mobile -p cairn-ffi for aarch64-apple-ios, aarch64-apple-ios-sim and
#    x86_64-apple-ios (the staticlib, libcairn_ffi.a);
# 3. builds the host library (debug, unstripped) and generates the Swift from it in library
#    mode: uniffi reads its metadata from symbols, so generation never uses a stripped build;
# 4. lipo joins the two simulator architectures, then xcodebuild -create-xcframework packs the
#    device and simulator libraries with the C headers and one module map.
# Outputs (ignored by git): ios/CairnFFI.xcframework and ios/Sources/CairnCore/*.swift.
set -euo pipefail

TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$HERE/.." && pwd -P)"
[[ -f "$ROOT/Cargo.toml" && -f "$ROOT/bindings/Cargo.toml" ]] || die "workspace not found at $ROOT"

# --- tools --------------------------------------------------------------------------------

[[ "$(uname -s)" == Darwin ]] \
    || die "iOS libraries are built on macOS with Xcode (this is $(uname -s)). The bindings' Swift tests run anywhere: bindings/swift/run-tests.sh"
command -v xcodebuild >/dev/null 2>&1 \
    || die "xcodebuild not found: install Xcode from the App Store, then run: sudo xcode-select -s /Applications/Xcode.app"
xcodebuild -version >/dev/null 2>&1 \
    || die "xcodebuild does not run (only the Command Line Tools are selected?): sudo xcode-select -s /Applications/Xcode.app"
command -v lipo >/dev/null 2>&1 || die "lipo not found: install Xcode's command line tools (xcode-select --install)"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust from https://rustup.rs"
command -v rustup >/dev/null 2>&1 \
    || die "rustup not found: the iOS targets are installed with rustup (https://rustup.rs)"

installed="$(rustup target list --installed)"
missing=()
for t in "${TARGETS[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("$t")
done
[[ ${#missing[@]} -eq 0 ]] || die "missing Rust targets; install them with: rustup target add ${missing[*]}"

if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    mkdir -p -- "$CARGO_TARGET_DIR"
    TARGET_DIR="$(cd -- "$CARGO_TARGET_DIR" && pwd -P)"
    export CARGO_TARGET_DIR="$TARGET_DIR"
else
    TARGET_DIR="$ROOT/target"
fi

STAGE="$TARGET_DIR/ios"
HEADERS="$STAGE/headers"
GEN="$STAGE/swift"
SOURCES="$HERE/Sources/CairnCore"
XCFRAMEWORK="$HERE/CairnFFI.xcframework"

cd -- "$ROOT"

# --- Rust, per target ---------------------------------------------------------------------

# The oldest iOS the app supports (ios/App/project.yml); the C code (SQLCipher) is built for it.
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-17.0}"
for t in "${TARGETS[@]}"; do
    log "cargo build --profile mobile -p cairn-ffi --target $t"
    cargo build --profile mobile -p cairn-ffi --target "$t"
    [[ -f "$TARGET_DIR/$t/mobile/libcairn_ffi.a" ]] || die "cargo did not produce $TARGET_DIR/$t/mobile/libcairn_ffi.a"
done

# --- Swift bindings from the unstripped host library --------------------------------------

log "cargo build -p cairn-ffi (host library for binding generation)"
cargo build -p cairn-ffi
HOST_LIB="$TARGET_DIR/debug/libcairn_ffi.dylib"
[[ -f "$HOST_LIB" ]] || die "cargo did not produce $HOST_LIB"

log "generating Swift bindings"
rm -rf -- "$GEN"
mkdir -p -- "$GEN"
cargo run -q -p cairn-uniffi-bindgen -- generate --library "$HOST_LIB" --language swift --out-dir "$GEN"
for f in CairnCore.swift CairnCoreFFI.h CairnCoreFFI.modulemap; do
    [[ -f "$GEN/$f" ]] || die "uniffi-bindgen did not generate $f (see bindings/uniffi.toml)"
done

# The package's CairnCore target compiles every generated .swift file together (CairnCore and
# CairnCoreModel become one Swift module; each file keeps its helpers fileprivate).
mkdir -p -- "$SOURCES"
find "$SOURCES" -name '*.swift' -type f -delete
cp -- "$GEN"/*.swift "$SOURCES/"

# The headers directory of the XCFramework: every generated C header and one module.modulemap
# declaring each FFI module (CairnCoreFFI, CairnCoreModelFFI, …) the Swift files import.
rm -rf -- "$HEADERS"
mkdir -p -- "$HEADERS"
cp -- "$GEN"/*.h "$HEADERS/"
: >"$HEADERS/module.modulemap"
for m in "$GEN"/*.modulemap; do
    cat -- "$m" >>"$HEADERS/module.modulemap"
    printf '\n' >>"$HEADERS/module.modulemap"
done

# --- XCFramework --------------------------------------------------------------------------

SIM_LIB="$STAGE/simulator/libcairn_ffi.a"
mkdir -p -- "$(dirname -- "$SIM_LIB")"
log "lipo: one simulator library for arm64 and x86_64"
lipo -create \
    "$TARGET_DIR/aarch64-apple-ios-sim/mobile/libcairn_ffi.a" \
    "$TARGET_DIR/x86_64-apple-ios/mobile/libcairn_ffi.a" \
    -output "$SIM_LIB"

log "xcodebuild -create-xcframework -> $XCFRAMEWORK"
rm -rf -- "$XCFRAMEWORK"
xcodebuild -create-xcframework \
    -library "$TARGET_DIR/aarch64-apple-ios/mobile/libcairn_ffi.a" -headers "$HEADERS" \
    -library "$SIM_LIB" -headers "$HEADERS" \
    -output "$XCFRAMEWORK"

log "done: $XCFRAMEWORK and $(find "$SOURCES" -name '*.swift' | wc -l | tr -d ' ') Swift files in $SOURCES"
