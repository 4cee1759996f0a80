#!/bin/sh
# Uploads the landing page (target/site/, from tools/build-site.mjs) to S3.
#   BUCKET=s3://acme-hub-www sh upload.sh [target/site]
set -eu
: "${BUCKET:?set BUCKET, e.g. s3://acme-hub-www}"
SITE=${1:-target/site}
YEAR="public, max-age=31536000, immutable"

# The package first: a page that names a file never arrives before the file. Its names
# change with its content, so it is cached for a year; stored brotli-encoded.
for f in "$SITE"/pkg/*.wasm; do
  aws s3 cp "$f.br" "$BUCKET/pkg/${f##*/}" --content-type application/wasm --content-encoding br --cache-control "$YEAR"
done
for f in "$SITE"/pkg/*.js; do
  aws s3 cp "$f.br" "$BUCKET/pkg/${f##*/}" --content-type "text/javascript; charset=utf-8" --content-encoding br --cache-control "$YEAR"
done

# Then the page and config.json: revalidated on every visit; CloudFront compresses them.
aws s3 cp "$SITE/index.html" "$BUCKET/index.html" --content-type "text/html; charset=utf-8" --cache-control no-cache
aws s3 cp "$SITE/app.js" "$BUCKET/app.js" --content-type "text/javascript; charset=utf-8" --cache-control no-cache
aws s3 cp "$SITE/style.css" "$BUCKET/style.css" --content-type "text/css; charset=utf-8" --cache-control no-cache
aws s3 cp "$SITE/config.json" "$BUCKET/config.json" --content-type application/json --cache-control no-cache
