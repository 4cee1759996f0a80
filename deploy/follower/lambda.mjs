// The follower's Lambda (Node.js 20+, API Gateway REST API, proxy integration): serves the
// critical reads from the AWS replica; writes do not exist here. The replica comes from
// REPLICA_FILE here; a deployment may read DynamoDB or S3 instead.
import { readFileSync } from "node:fs";

// The landing page's origin. CORS must be in every response the Lambda returns: API
// Gateway's "Enable CORS" only answers OPTIONS.
const allowOrigin = () => process.env.ALLOW_ORIGIN ?? "https://www.example.com";

const REPLICA_CACHE = "public, max-age=30";

let replica;
const load = () => (replica ??= JSON.parse(readFileSync(process.env.REPLICA_FILE ?? "replica.json", "utf8")));

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
    body: JSON.stringify(body),
  };
}

/** API Gateway proxy event in, proxy result out. `event.path` is without the stage. */
export async function handler(event) {
  if (event.httpMethod !== "GET" && event.httpMethod !== "HEAD") {
    return reply(405, { message: "read-only replica" }, { Allow: "GET, HEAD" });
  }
  switch (event.path) {
    // Probed by the page only while the leader is failing (health.followerPath).
    case "/health":
      return reply(200, { status: "ok", role: "follower" });
    // The replica's reads may be kept 30 s by the browser (and the stage's cache): a flood of
    // repeats costs nothing. /health and errors stay no-store.
    case "/api/pages":
      return reply(200, { servedBy: "follower", pages: load().pages }, { "Cache-Control": REPLICA_CACHE });
    case "/api/files":
      return reply(200, { servedBy: "follower", files: load().files }, { "Cache-Control": REPLICA_CACHE });
    default:
      return reply(404, { message: "not in the replica" });
  }
}
