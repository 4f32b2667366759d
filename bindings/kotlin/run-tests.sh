#!/usr/bin/env bash
# Runs the Kotlin (JVM) tests of the generated uniffi bindings of cairn-ffi.
#
#   bindings/kotlin/run-tests.sh            (from any directory)
#
# What it does, idempotently (everything downloaded or generated lives under the
# cargo target dir, `target/` or $CARGO_TARGET_DIR, which git ignores):
#   1. provisions the tools: kotlinc from the npm package `kotlin-compiler` (pinned, checksum
#      verified, unpacked once into target/tools/), JNA from Debian's `libjna-java`
#      (apt-get, only if /usr/share/java/jna.jar is missing), and java/npm if absent;
#   2. builds the host library with `cargo build -p cairn-ffi`;
#   3. generates the Kotlin bindings in library mode from target/debug/libcairn_ffi.so
#      with the workspace's own uniffi-bindgen (package name from bindings/uniffi.toml);
#   4. compiles the bindings plus bindings/kotlin/src/*.kt and runs the tests on the JVM.
# The test runner prints one PASS/FAIL line per test and a final `N passed, M failed` line;
# this script exits non-zero if anything fails to build or any test fails.
#
# Only npm, crates.io, PyPI and Debian apt are assumed to be reachable (no Maven Central).
set -euo pipefail

KOTLIN_VERSION="2.4.20"
# sha512 of kotlin-compiler-2.4.20.tgz (npm `dist.integrity`:
# sha512-IF5IVM7LpPhA/ntHQQpaVt1yxpaaQovtEVYLyqWMuaLr0XelLPPm7/sM6HLhtcRjjjoSsK7I7lP2kzYJkMy73w==)
KOTLIN_SHA512="205e4854cecba4f840fe7b47410a5a56dd72c6969a428bed11560bcaa58cb9a2ebd177a52cf3e6effb0ce872e1b5c4638e3a12b0aec8ee53f693360990ccbbdf"
JNA_JAR="/usr/share/java/jna.jar"
TEST_MAIN="app.cairn.core.test.MainKt"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$HERE/../.." && pwd -P)"
[[ -f "$ROOT/Cargo.toml" && -f "$ROOT/bindings/Cargo.toml" ]] || die "workspace not found at $ROOT"

# Honour CARGO_TARGET_DIR (a relative value is taken relative to the caller's directory, then
# exported as an absolute path so cargo, run from the workspace root, agrees with us).
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    mkdir -p -- "$CARGO_TARGET_DIR"
    TARGET="$(cd -- "$CARGO_TARGET_DIR" && pwd -P)"
    export CARGO_TARGET_DIR="$TARGET"
else
    TARGET="$ROOT/target"
fi
TOOLS="$TARGET/tools"
WORK="$TARGET/kotlin-tests"
GEN_DIR="$TARGET/bindings/kotlin"
LIB_DIR="$TARGET/debug"
LIB="$LIB_DIR/libcairn_ffi.so"

export DEBIAN_FRONTEND=noninteractive

# --- provisioning -------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "need $* but apt-get is not available"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
        sudo=(sudo -n)
    fi
    if [[ "$APT_UPDATED" == 0 ]]; then
        log "apt-get update"
        "${sudo[@]}" apt-get update -q </dev/null
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" </dev/null
}

# Java 17 is expected to be installed; install the Debian JDK if there is no java/javac at all.
if ! command -v java >/dev/null 2>&1; then
    apt_install openjdk-17-jdk-headless
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH"

# JNA (the generated bindings load the library through it). Debian's jar loads its native
# dispatch library from libjna-jni, which the package pulls in.
if [[ ! -f "$JNA_JAR" ]]; then
    apt_install libjna-java
fi
[[ -f "$JNA_JAR" ]] || die "$JNA_JAR still missing after installing libjna-java"

# The Kotlin compiler, from npm: the package ships the full JVM distribution (bin/kotlinc and
# lib/*.jar, including kotlin-stdlib.jar and kotlinx-coroutines-core-jvm.jar).
KOTLIN_HOME="$TOOLS/kotlin-compiler-$KOTLIN_VERSION"
KOTLINC="$KOTLIN_HOME/bin/kotlinc"
KOTLIN_STDLIB="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
COROUTINES="$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar"
kotlin_ok() {
    [[ -f "$KOTLIN_HOME/.complete" && -x "$KOTLINC" && -f "$KOTLIN_HOME/lib/kotlin-compiler.jar" \
        && -f "$KOTLIN_STDLIB" && -f "$COROUTINES" ]]
}
if ! kotlin_ok; then
    command -v npm >/dev/null 2>&1 || apt_install npm
    log "fetching kotlin-compiler@$KOTLIN_VERSION from npm"
    mkdir -p -- "$TOOLS"
    stage="$(mktemp -d "$TOOLS/.kotlin-compiler.XXXXXX")"
    trap 'rm -rf -- "$stage"' EXIT
    (cd -- "$stage" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" </dev/null >/dev/null)
    tgz="$stage/kotlin-compiler-$KOTLIN_VERSION.tgz"
    [[ -f "$tgz" ]] || die "npm pack did not produce $tgz"
    echo "$KOTLIN_SHA512  $tgz" | sha512sum -c --quiet - || die "checksum mismatch for $tgz"
    tar -xzf "$tgz" -C "$stage"
    for f in bin/kotlinc lib/kotlin-compiler.jar lib/kotlin-stdlib.jar lib/kotlinx-coroutines-core-jvm.jar; do
        [[ -f "$stage/package/$f" ]] || die "kotlin-compiler@$KOTLIN_VERSION has no $f"
    done
    chmod +x "$stage/package/bin/"*
    touch "$stage/package/.complete"
    rm -rf -- "$KOTLIN_HOME"
    mv -- "$stage/package" "$KOTLIN_HOME"
    rm -rf -- "$stage"
    trap - EXIT
    kotlin_ok || die "kotlin-compiler unpacked incompletely into $KOTLIN_HOME"
fi
log "$("$KOTLINC" -version 2>&1 | tail -n 1)"
log "java: $(java -version 2>&1 | head -n 1)"

# --- build and generate -------------------------------------------------------------------

cd -- "$ROOT"
log "cargo build -p cairn-ffi"
cargo build -p cairn-ffi
[[ -f "$LIB" ]] || die "cargo build did not produce $LIB"

log "generating Kotlin bindings into $GEN_DIR"
rm -rf -- "$GEN_DIR"
mkdir -p -- "$GEN_DIR"
cargo run -q -p cairn-uniffi-bindgen -- generate --library "$LIB" --language kotlin --no-format --out-dir "$GEN_DIR"
mapfile -t GENERATED < <(find "$GEN_DIR" -name '*.kt' -type f | sort)
[[ ${#GENERATED[@]} -gt 0 ]] || die "uniffi-bindgen generated no Kotlin files"
[[ -f "$GEN_DIR/app/cairn/core/cairn_ffi.kt" ]] \
    || log "warning: expected $GEN_DIR/app/cairn/core/cairn_ffi.kt (package app.cairn.core); got: ${GENERATED[*]}"

# --- compile and run ----------------------------------------------------------------------

mapfile -t TESTS < <(find "$HERE/src" -name '*.kt' -type f | sort)
[[ ${#TESTS[@]} -gt 0 ]] || die "no tests in $HERE/src"

CLASSES="$WORK/classes"
rm -rf -- "$CLASSES" "$WORK/tmp"
mkdir -p -- "$CLASSES" "$WORK/tmp"
log "kotlinc: ${#GENERATED[@]} generated + ${#TESTS[@]} test files"
# -nowarn: the generated code alone produces a page of warnings.
if ! "$KOTLINC" -nowarn -jvm-target 17 -d "$CLASSES" \
    -cp "$JNA_JAR:$COROUTINES" \
    "${GENERATED[@]}" "${TESTS[@]}"; then
    # uniffi writes one file per crate, each with its own copy of the runtime helpers
    # (RustBuffer, Disposable, ...): two crates sharing a Kotlin package redeclare them.
    dup="$(grep -h -m1 '^package ' "${GENERATED[@]}" | sort | uniq -d || true)"
    [[ -z "$dup" ]] || log "note: several generated files declare '$dup'; each uniffi crate needs its own Kotlin package_name"
    # Every generated object already implements AutoCloseable.close() (uniffi-rs issue 2955).
    if grep -q 'fun `close`()' "${GENERATED[@]}"; then
        log "note: an exported Rust method named close clashes with the AutoCloseable.close() uniffi generates; give it another Kotlin name"
    fi
    die "kotlinc failed to compile the generated bindings and tests (errors above)"
fi

log "running tests"
# The sync tests reach a real relay, started here and stopped when the script exits.
# shellcheck source=../../scripts/test-relay.sh
source "$ROOT/scripts/test-relay.sh"
trap stop_test_relay EXIT
start_test_relay "$TARGET" || die "could not start the test relay"

out="$WORK/output.txt"
set +e
java -Djna.library.path="$LIB_DIR" -Djava.io.tmpdir="$WORK/tmp" \
    -cp "$CLASSES:$JNA_JAR:$COROUTINES:$KOTLIN_STDLIB" \
    "$TEST_MAIN" </dev/null 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e

summary="$(tail -n 1 "$out")"
if [[ "$status" != 0 ]]; then
    die "tests failed (java exited with $status)"
fi
[[ "$summary" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] || die "test run ended without a passing summary line"
