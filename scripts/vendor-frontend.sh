#!/usr/bin/env bash
# Vendors the pages' third-party front-end code from the npm registry into
# assessments/web/static/vendor/ (committed, so that `pip install` alone serves working pages):
#   editor.js      CodeMirror 6 with YAML and completion, bundled with esbuild from static/src/editor-entry.js
#   swagger-ui/    swagger-ui-dist's bundle and stylesheet, for /docs
#   redoc/         redoc's standalone bundle, for /redoc
# Versions are pinned here; run this script again after changing one, and commit what it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
CODEMIRROR=(codemirror@6.0.2 @codemirror/state@6.7.6 @codemirror/view@6.44.2 @codemirror/commands@6.11.2
            @codemirror/language@6.13.1 @codemirror/lang-yaml@6.1.3 @codemirror/autocomplete@6.20.4)
ESBUILD=esbuild@0.28.2
SWAGGER=swagger-ui-dist@5.36.0
REDOC=redoc@2.5.4  # 3.x sends telemetry to its vendor and loads its logo from a CDN

out=assessments/web/static/vendor
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "${CODEMIRROR[@]}" "$ESBUILD")
# The two documentation viewers ship ready-made bundles: their packages are unpacked, not installed.
(cd "$tmp" && npm pack --silent "$SWAGGER" "$REDOC" >/dev/null && mkdir swagger redoc \
    && tar -xzf swagger-ui-dist-*.tgz -C swagger && tar -xzf redoc-*.tgz -C redoc)
mkdir -p "$out/swagger-ui" "$out/redoc"
NODE_PATH="$tmp/node_modules" "$tmp/node_modules/.bin/esbuild" assessments/web/static/src/editor-entry.js \
    --bundle --minify --format=iife --target=es2020 --legal-comments=eof \
    --banner:js="/* Assay's item editor: ${CODEMIRROR[*]} (MIT), bundled by scripts/vendor-frontend.sh */" \
    --outfile="$out/editor.js" --log-level=warning
cp "$tmp/swagger/package/swagger-ui-bundle.js" "$tmp/swagger/package/swagger-ui.css" \
   "$tmp/swagger/package/LICENSE" "$out/swagger-ui/"
cp "$tmp/redoc/package/bundles/redoc.standalone.js" "$tmp/redoc/package/LICENSE" "$out/redoc/"
echo "vendored ${CODEMIRROR[*]}, $SWAGGER and $REDOC into $out"
