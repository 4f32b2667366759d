#!/usr/bin/env bash
# Builds libcairn_ffi.so for the app's ABIs with cargo-ndk into src/main/jniLibs, and generates the
# Kotlin bindings (packages app.cairn.core and app.cairn.core.model) into src/main/kotlin.
#
#   android/cairn/build-rust.sh         (from any directory; Gradle runs it before every build)
#
# Needs: cargo and rustup (https://rustup.rs), the Android Rust targets, cargo-ndk
# (cargo install cargo-ndk), and the Android NDK (ANDROID_NDK_HOME, or an NDK installed by
# Android Studio's SDK Manager under ANDROID_HOME/ndk). Perl and make are needed too: SQLCipher's
# OpenSSL is built from source for Android (docs/adr/0001-sqlcipher-per-target.md).
# Outputs are build products, ignored by git.
set -euo pipefail

ABIS=(arm64-v8a armeabi-v7a x86_64)
RUST_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
# The app's minSdk (app/build.gradle.kts): the libraries link against this API level.
MIN_SDK=26
# The library the app ships is built with the workspace's `mobile` profile (fat LTO, stripped).
# CAIRN_RUST_PROFILE=debug builds unoptimised (faster to build, much slower key derivation).
PROFILE="${CAIRN_RUST_PROFILE:-mobile}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$HERE/../.." && pwd -P)"
[[ -f "$ROOT/Cargo.toml" && -f "$ROOT/bindings/Cargo.toml" ]] || die "workspace not found at $ROOT"
JNI_LIBS="$HERE/src/main/jniLibs"
KOTLIN_OUT="$HERE/src/main/kotlin"

# --- tools --------------------------------------------------------------------------------

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust from https://rustup.rs"
command -v rustup >/dev/null 2>&1 || die "rustup not found: the Android targets are installed with rustup (https://rustup.rs)"
installed="$(rustup target list --installed)"
missing=()
for t in "${RUST_TARGETS[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("$t")
done
[[ ${#missing[@]} -eq 0 ]] || die "missing Rust targets; install them with: rustup target add ${missing[*]}"
cargo ndk --version >/dev/null 2>&1 || die "cargo-ndk not found: cargo install cargo-ndk"
command -v perl >/dev/null 2>&1 || die "perl not found: OpenSSL's build (for SQLCipher) needs it"
command -v make >/dev/null 2>&1 || die "make not found: OpenSSL's build (for SQLCipher) needs it"

if [[ -z "${ANDROID_NDK_HOME:-}" ]]; then
    if [[ -n "${ANDROID_NDK_ROOT:-}" ]]; then
        ANDROID_NDK_HOME="$ANDROID_NDK_ROOT"
    else
        sdk="${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}"
        if [[ -z "$sdk" ]]; then
            for guess in "$HOME/Library/Android/sdk" "$HOME/Android/Sdk"; do
                [[ -d "$guess" ]] && sdk="$guess" && break
            done
        fi
        if [[ -n "$sdk" && -d "$sdk/ndk" ]]; then
            # The newest NDK the SDK Manager installed.
            latest="$(find "$sdk/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)"
            [[ -n "$latest" ]] && ANDROID_NDK_HOME="$latest"
        fi
    fi
fi
[[ -n "${ANDROID_NDK_HOME:-}" ]] \
    || die "Android NDK not found: install it in Android Studio (SDK Manager > SDK Tools > NDK) or set ANDROID_NDK_HOME"
[[ -f "$ANDROID_NDK_HOME/source.properties" ]] \
    || die "ANDROID_NDK_HOME=$ANDROID_NDK_HOME does not look like an NDK (no source.properties)"
export ANDROID_NDK_HOME

if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    mkdir -p -- "$CARGO_TARGET_DIR"
    TARGET_DIR="$(cd -- "$CARGO_TARGET_DIR" && pwd -P)"
    export CARGO_TARGET_DIR="$TARGET_DIR"
else
    TARGET_DIR="$ROOT/target"
fi

cd -- "$ROOT"

# --- the core for each ABI ----------------------------------------------------------------

profile_flag=()
[[ "$PROFILE" == debug ]] || profile_flag=(--profile "$PROFILE")
ndk_targets=()
for abi in "${ABIS[@]}"; do ndk_targets+=(-t "$abi"); done
log "cargo ndk ${ndk_targets[*]} -P $MIN_SDK build ${profile_flag[*]} -p cairn-ffi (NDK: $ANDROID_NDK_HOME)"
mkdir -p -- "$JNI_LIBS"
cargo ndk "${ndk_targets[@]}" -P "$MIN_SDK" -o "$JNI_LIBS" build "${profile_flag[@]}" -p cairn-ffi
for abi in "${ABIS[@]}"; do
    [[ -f "$JNI_LIBS/$abi/libcairn_ffi.so" ]] || die "cargo-ndk did not produce $JNI_LIBS/$abi/libcairn_ffi.so"
done

# --- Kotlin bindings from the unstripped host library -------------------------------------

log "cargo build -p cairn-ffi (host library for binding generation)"
cargo build -p cairn-ffi
case "$(uname -s)" in
    Darwin) HOST_LIB="$TARGET_DIR/debug/libcairn_ffi.dylib" ;;
    *) HOST_LIB="$TARGET_DIR/debug/libcairn_ffi.so" ;;
esac
[[ -f "$HOST_LIB" ]] || die "cargo did not produce $HOST_LIB"

log "generating Kotlin bindings into $KOTLIN_OUT"
rm -rf -- "$KOTLIN_OUT/app/cairn/core"
mkdir -p -- "$KOTLIN_OUT"
cargo run -q -p cairn-uniffi-bindgen -- generate --library "$HOST_LIB" --language kotlin --no-format \
    --out-dir "$KOTLIN_OUT"
[[ -f "$KOTLIN_OUT/app/cairn/core/cairn_ffi.kt" ]] \
    || die "uniffi-bindgen did not generate app/cairn/core/cairn_ffi.kt (see bindings/uniffi.toml)"
log "done: ${ABIS[*]} in $JNI_LIBS, bindings in $KOTLIN_OUT"
