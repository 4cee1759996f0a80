// The follower's Lambda (Node.js 20+, API Gateway REST API, proxy integration): serves the
// critical reads from the replica the leader's replicator (deploy/leader/replicator.py) keeps
// in DynamoDB, one item per path, a large body in S3 (spec §10). It never writes.
// Where AWS is comes from the SDK's own settings: AWS_REGION, the credentials chain, and
// AWS_ENDPOINT_URL (an AWS-compatible endpoint). REPLICA_TABLE names the table.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { S3Client, GetObjectCommand } from "@aws-sdk/client-s3";

// The landing page's origin. CORS must be in every response the Lambda returns: API
// Gateway's "Enable CORS" only answers OPTIONS.
const allowOrigin = () => process.env.ALLOW_ORIGIN ?? "https://www.example.com";
const table = () => process.env.REPLICA_TABLE ?? "acme-hub-replica";
// The replica's reads may be kept 30 s by the browser (and the stage's cache): a flood of
// repeats costs nothing. /health and errors stay no-store.
const REPLICA_CACHE = "public, max-age=30";

let dynamo;
let s3;
// Path-style S3 addressing when an endpoint is given: an AWS-compatible server on one host.
const clients = () => {
  dynamo ??= new DynamoDBClient({});
  s3 ??= new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
  return { dynamo, s3 };
};

function reply(statusCode, body, extra = {}) {
  return {
    statusCode,
    headers: {
      "Content-Type": "application/json",
      "Access-Control-Allow-Origin": allowOrigin(),
      Vary: "Origin",
      "Cache-Control": "no-store",
      ...extra,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** The item's key: the path with its query, as the replicator stored it (sorted, URL-encoded). */
export function itemKey(path, query) {
  const q = new URLSearchParams(Object.entries(query ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** An item's body: inline bytes, or the S3 object it points to ({ bucket, key }). */
async function bodyOf(item) {
  if (item.body?.B) return Buffer.from(item.body.B);
  const bucket = item.s3Bucket?.S;
  const key = item.s3Key?.S;
  if (!bucket || !key) throw new Error(`item ${item.path?.S}: neither body nor s3Key`);
  const obj = await clients().s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await obj.Body.transformToByteArray());
}

/** API Gateway proxy event in, proxy result out. `event.path` is without the stage. */
export async function handler(event) {
  if (event.httpMethod !== "GET" && event.httpMethod !== "HEAD") {
    return reply(405, { message: "read-only replica" }, { Allow: "GET, HEAD" });
  }
  // Probed by the page only while the leader is failing (health.followerPath).
  if (event.path === "/health") return reply(200, { status: "ok", role: "follower" });
  try {
    const key = itemKey(event.path, event.queryStringParameters);
    const { Item: item } = await clients().dynamo.send(new GetItemCommand({ TableName: table(), Key: { path: { S: key } }, ConsistentRead: true }));
    // A tombstone is a path the leader deleted (kept with its version, so that no late copy revives it).
    if (!item || item.deleted?.BOOL) return reply(404, { message: "not in the replica" });
    const body = await bodyOf(item);
    return {
      ...reply(200, "", {
        "Content-Type": item.contentType?.S ?? "application/octet-stream",
        // CORS-safelisted: the page reads it for its "as of".
        "Last-Modified": new Date(Number(item.answeredAt.N)).toUTCString(),
        "X-Replica-Version": item.version.N,
        "Cache-Control": REPLICA_CACHE,
      }),
      body: body.toString("base64"),
      isBase64Encoded: true,
    };
  } catch (err) {
    console.error(`replica read ${event.path}: ${err.name}: ${err.message}`);
    return reply(502, { message: "the replica could not be read" });
  }
}
