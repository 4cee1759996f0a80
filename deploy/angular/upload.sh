#!/bin/sh
# Uploads the Angular app's build to S3.
#   BUCKET=s3://acme-hub-www sh upload.sh [dist/hub/browser]
set -eu
: "${BUCKET:?set BUCKET, e.g. s3://acme-hub-www}"
cd "${1:-dist/hub/browser}"
YEAR="public, max-age=31536000, immutable"

# Named by their content: cached for a year. First, so that no page names a missing file.
aws s3 sync . "$BUCKET" --exclude '*' --include '*.js' --include '*.css' --include 'media/*' --exclude 'media/*.wasm' --cache-control "$YEAR"
for f in media/*.wasm; do
  gzip -9 -n -c "$f" >"$f.gz"
  aws s3 cp "$f.gz" "$BUCKET/$f" --content-type application/wasm --content-encoding gzip --cache-control "$YEAR"
  rm "$f.gz"
done

# The pages and config.json: revalidated on each visit.
aws s3 sync . "$BUCKET" --exclude '*.js' --exclude '*.css' --exclude 'media/*' --cache-control no-cache
