#!/bin/sh
# The follower's guard rails on AWS, so that nobody can run up its bill: only GET and HEAD of
# the replica's paths and /health reach the Lambda (openapi.json), the stage is throttled, the
# Lambda's concurrency reserved (and so capped), a WAF rate rule per address, a budget alarm,
# log retention, and the files bucket readable under files/ only.
#
#   REGION=eu-west-1 ACCOUNT_ID=123456789012 LAMBDA_NAME=acme-hub-follower \
#   PAGE_ORIGIN=https://www.example.com FILES_BUCKET=acme-hub-files \
#   ALERT_EMAIL=ops@example.com BUDGET_USD=20 sh setup.sh
#
# The Lambda (lambda.mjs) must exist. Optional: STAGE (prod), RATE (20 requests/s on the
# stage) and BURST (40), CONCURRENCY (10), WAF_LIMIT (1000 requests per address per 5
# minutes), LOG_DAYS (14), API_ID (update that API instead of creating one), CACHE_TTL
# (seconds: turns on the stage's cache, 0.5 GB, billed by the hour; /health is never cached).
set -eu
: "${REGION:?}" "${ACCOUNT_ID:?}" "${LAMBDA_NAME:?}" "${PAGE_ORIGIN:?}" "${FILES_BUCKET:?}" "${ALERT_EMAIL:?}" "${BUDGET_USD:?}"
STAGE=${STAGE:-prod} RATE=${RATE:-20} BURST=${BURST:-40} CONCURRENCY=${CONCURRENCY:-10}
WAF_LIMIT=${WAF_LIMIT:-1000} LOG_DAYS=${LOG_DAYS:-14}
export AWS_DEFAULT_REGION="$REGION"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in openapi.json waf-web-acl.json budget.json files-bucket-policy.json; do
  sed -e "s#{{REGION}}#$REGION#g" -e "s#{{ACCOUNT_ID}}#$ACCOUNT_ID#g" -e "s#{{LAMBDA_NAME}}#$LAMBDA_NAME#g" \
    -e "s#{{PAGE_ORIGIN}}#$PAGE_ORIGIN#g" -e "s#{{FILES_BUCKET}}#$FILES_BUCKET#g" -e "s#{{ALERT_EMAIL}}#$ALERT_EMAIL#g" \
    -e "s#{{BUDGET_USD}}#$BUDGET_USD#g" -e "s#\"Limit\": 1000#\"Limit\": $WAF_LIMIT#" "$here/$f" >"$tmp/$f"
done
say() { printf '[follower] %s\n' "$*"; }

# 1. The API: only what openapi.json defines exists; API Gateway answers the rest (403) itself.
if [ -n "${API_ID:-}" ]; then
  aws apigateway put-rest-api --rest-api-id "$API_ID" --mode overwrite --body "fileb://$tmp/openapi.json" >/dev/null
else
  API_ID=$(aws apigateway import-rest-api --parameters endpointConfigurationTypes=REGIONAL \
    --body "fileb://$tmp/openapi.json" --query id --output text)
fi
say "REST API $API_ID: GET and HEAD of $(grep -o '"/[^"]*": {' "$tmp/openapi.json" | cut -d'"' -f2 | tr '\n' ' ')"
# API Gateway may invoke the Lambda for this API's stage only.
aws lambda remove-permission --function-name "$LAMBDA_NAME" --statement-id "apigateway-$API_ID" >/dev/null 2>&1 || true
aws lambda add-permission --function-name "$LAMBDA_NAME" --statement-id "apigateway-$API_ID" \
  --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
  --source-arn "arn:aws:execute-api:$REGION:$ACCOUNT_ID:$API_ID/$STAGE/*" >/dev/null
aws apigateway create-deployment --rest-api-id "$API_ID" --stage-name "$STAGE" >/dev/null

# 2. Stage throttling: every method, all clients together.
aws apigateway update-stage --rest-api-id "$API_ID" --stage-name "$STAGE" --patch-operations \
  "op=replace,path=/*/*/throttling/rateLimit,value=$RATE" "op=replace,path=/*/*/throttling/burstLimit,value=$BURST" >/dev/null
say "stage $STAGE: throttled to $RATE requests/s, bursts of $BURST"
if [ -n "${CACHE_TTL:-}" ]; then
  aws apigateway update-stage --rest-api-id "$API_ID" --stage-name "$STAGE" --patch-operations \
    op=replace,path=/cacheClusterEnabled,value=true op=replace,path=/cacheClusterSize,value=0.5 \
    op=replace,path=/*/*/caching/enabled,value=true "op=replace,path=/*/*/caching/ttlInSeconds,value=$CACHE_TTL" \
    op=replace,path=/~1health/GET/caching/enabled,value=false op=replace,path=/~1health/HEAD/caching/enabled,value=false >/dev/null
  say "stage $STAGE: cached for $CACHE_TTL s (/health never)"
fi

# 3. The Lambda: at most CONCURRENCY at once (and never starved by other functions).
aws lambda put-function-concurrency --function-name "$LAMBDA_NAME" --reserved-concurrent-executions "$CONCURRENCY" >/dev/null
say "Lambda $LAMBDA_NAME: reserved concurrency $CONCURRENCY"

# 4. Its logs kept LOG_DAYS days, not forever.
aws logs create-log-group --log-group-name "/aws/lambda/$LAMBDA_NAME" >/dev/null 2>&1 || true
aws logs put-retention-policy --log-group-name "/aws/lambda/$LAMBDA_NAME" --retention-in-days "$LOG_DAYS"
say "logs /aws/lambda/$LAMBDA_NAME: kept $LOG_DAYS days"

# 5. WAF: an address over WAF_LIMIT requests in 5 minutes is blocked (429) until it slows down.
acl=$(aws wafv2 create-web-acl --cli-input-json "file://$tmp/waf-web-acl.json" --query Summary.ARN --output text)
aws wafv2 associate-web-acl --web-acl-arn "$acl" --resource-arn "arn:aws:apigateway:$REGION::/restapis/$API_ID/stages/$STAGE"
say "WAF web ACL $acl on the stage: $WAF_LIMIT requests per address per 5 minutes"

# 6. A budget alarm: mail at 80 % of BUDGET_USD spent, and when the month's forecast passes it.
aws budgets create-budget --cli-input-json "file://$tmp/budget.json"
say "budget acme-hub-follower: $BUDGET_USD USD a month, alerts to $ALERT_EMAIL"

# 7. The files bucket: anyone may GET an object under files/ (the page links there), nothing else.
aws s3api put-public-access-block --bucket "$FILES_BUCKET" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false
aws s3api put-bucket-policy --bucket "$FILES_BUCKET" --policy "file://$tmp/files-bucket-policy.json"
say "s3://$FILES_BUCKET: GetObject on files/* only"
echo "follower base: https://$API_ID.execute-api.$REGION.amazonaws.com/$STAGE"
