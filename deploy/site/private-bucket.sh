#!/bin/sh
# Makes the landing page's bucket private: readable only by the CloudFront distribution that
# serves it with the response headers policy (cloudfront-headers.json). The bucket's own
# website endpoint would serve the page without its CSP, so it must not be public.
#   PAGE_BUCKET=acme-hub-www ACCOUNT_ID=123456789012 DISTRIBUTION_ID=E2ABC… sh private-bucket.sh
# Without DISTRIBUTION_ID it creates the origin access control (OAC) to attach to the
# distribution's S3 origin first, prints its id, and stops: attach it, then run again.
set -eu
: "${PAGE_BUCKET:?set PAGE_BUCKET, e.g. acme-hub-www (the name, no s3://)}"
here=$(cd "$(dirname "$0")" && pwd)

# No public access of any kind, whatever an ACL or a later policy says.
aws s3api put-public-access-block --bucket "$PAGE_BUCKET" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
# No website endpoint (it serves without CloudFront's headers, over plain HTTP).
aws s3api delete-bucket-website --bucket "$PAGE_BUCKET"

if [ -z "${DISTRIBUTION_ID:-}" ]; then
  aws cloudfront create-origin-access-control --origin-access-control-config \
    "Name=$PAGE_BUCKET,Description=health-proxy landing page,SigningProtocol=sigv4,SigningBehavior=always,OriginAccessControlOriginType=s3" \
    --query OriginAccessControl.Id --output text
  echo "Attach this origin access control to the distribution's S3 origin, then run again with DISTRIBUTION_ID=…" >&2
  exit 0
fi
: "${ACCOUNT_ID:?set ACCOUNT_ID (aws sts get-caller-identity --query Account --output text)}"
policy=$(mktemp)
trap 'rm -f "$policy"' EXIT
sed -e "s#{{PAGE_BUCKET}}#$PAGE_BUCKET#g" -e "s#{{ACCOUNT_ID}}#$ACCOUNT_ID#g" -e "s#{{DISTRIBUTION_ID}}#$DISTRIBUTION_ID#g" \
  "$here/page-bucket-policy.json" >"$policy"
# GetObject for that one distribution (AWS:SourceArn), nothing for anyone else.
aws s3api put-bucket-policy --bucket "$PAGE_BUCKET" --policy "file://$policy"
echo "s3://$PAGE_BUCKET: private, readable by CloudFront distribution $DISTRIBUTION_ID only"
