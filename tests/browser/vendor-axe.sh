#!/usr/bin/env bash
# Vendors axe-core (the accessibility checker the browser tests inject) from the npm registry.
# The file is a test tool, not part of Assay's pages; it is kept out of git (see .gitignore).
set -euo pipefail
cd "$(dirname "$0")"
VERSION="4.14.1"
[ -f .vendor/axe.min.js ] && grep -q "axe v$VERSION" .vendor/axe.min.js && exit 0
mkdir -p .vendor
tmp="$(mktemp -d)"
(cd "$tmp" && npm pack --silent "axe-core@$VERSION" >/dev/null)
tar -xzf "$tmp"/axe-core-*.tgz -C "$tmp"
cp "$tmp/package/axe.min.js" .vendor/axe.min.js
rm -rf "$tmp"
echo "vendored axe-core $VERSION"
