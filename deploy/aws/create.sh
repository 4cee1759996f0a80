#!/bin/sh
# Creates the replica's AWS side with the aws CLI: the DynamoDB table (on-demand, key
# `path`), the files bucket, and the two least-privilege IAM policies of this folder.
# Where AWS is comes from the CLI's own settings only: AWS_REGION / AWS_DEFAULT_REGION,
# the credentials chain, and AWS_ENDPOINT_URL for an AWS-compatible endpoint.
# Names other than the defaults: edit table.json and the two policies' Resource lines too.
set -eu
here=$(dirname "$0")
TABLE=${TABLE:-acme-hub-replica}
BUCKET=${BUCKET:-acme-hub-files}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}

aws dynamodb create-table --cli-input-json "file://$here/table.json" --table-name "$TABLE" >/dev/null
aws dynamodb wait table-exists --table-name "$TABLE"
echo "table $TABLE: created (on-demand, key path)"

# us-east-1 takes no LocationConstraint; every other region needs one. The follower's
# setup.sh may have made the bucket already.
if aws s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1; then
  echo "bucket $BUCKET: exists"
else
  if [ "$region" = us-east-1 ] || [ -z "$region" ]; then
    aws s3api create-bucket --bucket "$BUCKET" >/dev/null
  else
    aws s3api create-bucket --bucket "$BUCKET" --create-bucket-configuration "LocationConstraint=$region" >/dev/null
  fi
  echo "bucket $BUCKET: created"
fi

for who in replicator lambda; do
  arn=$(aws iam create-policy --policy-name "acme-hub-$who" --policy-document "file://$here/$who-policy.json" \
    --query Policy.Arn --output text)
  echo "policy acme-hub-$who: $arn"
done
