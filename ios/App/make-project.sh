#!/usr/bin/env bash
# Generates ios/App/Cairn.xcodeproj from project.yml with XcodeGen (the project file is not kept
# in git). Run ../build-xcframework.sh first: the project depends on the CairnCore package.
set -euo pipefail
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"

[[ "$(uname -s)" == Darwin ]] || die "the iOS app is built on macOS with Xcode (this is $(uname -s))"
command -v xcodebuild >/dev/null 2>&1 || die "xcodebuild not found: install Xcode, then: sudo xcode-select -s /Applications/Xcode.app"
command -v xcodegen >/dev/null 2>&1 || die "xcodegen not found: brew install xcodegen (https://github.com/yonaskolb/XcodeGen)"
[[ -d "$HERE/../CairnFFI.xcframework" ]] || die "ios/CairnFFI.xcframework is missing: run ios/build-xcframework.sh first"
ls "$HERE/../Sources/CairnCore/"*.swift >/dev/null 2>&1 || die "no generated Swift in ios/Sources/CairnCore: run ios/build-xcframework.sh first"

cd -- "$HERE"
xcodegen generate --spec project.yml
printf '==> open %s/Cairn.xcodeproj\n' "$HERE" >&2
