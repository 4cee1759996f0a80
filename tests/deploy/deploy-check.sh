#!/usr/bin/env bash
# Runs docs/deploying.md with the files of deploy/ as they are, the way a new user would:
# fills in the NGINX placeholders with sed and runs `nginx -t` on them (TLS lines and all,
# with a self-signed certificate), starts the Flask app under gunicorn with its config and
# reads it, builds the site (tools/build-site.mjs) and runs deploy/site/upload.sh with the
# real aws CLI against a local S3 API (moto's server), then checks each stored object's
# Content-Type, Content-Encoding, Cache-Control and bytes; the same for
# deploy/angular/upload.sh on the example app's
# build (tests/angular/dist/hub/browser, from tools/angular-build.sh, or the
# directory given as $1). Loopback only: ports 18591 (AWS), 18592 (gunicorn), 18593-18594 (NGINX). Needs
# pkg/ built.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=$root/target/venv
nginx=${NGINX:-/usr/sbin/nginx}
angular_dist=$(realpath "${1:-tests/angular/dist/hub/browser}")
dir=$(mktemp -d /tmp/hp-deploy-check.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
say() { printf '[deploy-check] %s\n' "$*"; }
fail() { printf '[deploy-check] FAILED: %s\n' "$*" >&2; exit 1; }
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nothing listens on port $1"
}

r=$root/deploy
for f in leader/acme-hub.conf leader/acme-files.conf leader/acme-default.conf leader/app.py leader/gunicorn.conf.py leader/requirements.txt \
  leader/pages.py leader/reports.py leader/operator/index.html leader/operator/operator.js leader/operator/operator.css \
  leader/replicator.py leader/replicator.json leader/acme-hub-replicator.service leader/acme-hub.service \
  aws/create.sh aws/table.json aws/replicator-policy.json aws/lambda-policy.json \
  follower/lambda.mjs follower/setup.sh follower/openapi.json follower/waf-web-acl.json follower/budget.json follower/files-bucket-policy.json \
  site/upload.sh site/cloudfront-headers.json site/customHttp.yml site/private-bucket.sh site/page-bucket-policy.json angular/upload.sh; do
  [ -s "$r/$f" ] || fail "deploy/$f is missing"
done
# The leader's pins are the ones this check runs under (target/venv, tools/requirements.txt).
# (Read once: `pip freeze | grep -q` fails under pipefail whenever grep stops pip early.)
frozen=$("$venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null)
while read -r pin; do
  [ -n "$pin" ] || continue
  grep -qix "$pin" <<<"$frozen" || fail "deploy/leader/requirements.txt: $pin is not what target/venv runs"
done <"$r/leader/requirements.txt"

# 1. NGINX: the placeholders filled in with sed, as docs/deploying.md says, production values.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/privkey.pem" \
  -out "$dir/fullchain.pem" -days 2 -subj /CN=hub.example.com -addext "subjectAltName=DNS:hub.example.com,DNS:files.hub.example.com" >/dev/null 2>&1
mkdir -p "$dir/conf.d" "$dir/tmp" "$dir/files"
# The three site files with the placeholders filled: render LISTEN LISTEN_HTTP GUNICORN_ADDR INTO_DIR.
render_sites() {
  for f in acme-hub.conf acme-files.conf acme-default.conf; do
    sed -e 's#{{PAGE_ORIGIN}}#https://www.example.com#g' -e 's#{{API_HOST}}#hub.example.com#g' \
      -e 's#{{FILES_HOST}}#files.hub.example.com#g' -e "s#{{LISTEN}}#$1#g" -e "s#{{LISTEN_HTTP}}#$2#g" \
      -e "s#{{TLS_CERT}}#$dir/fullchain.pem#g" -e "s#{{TLS_KEY}}#$dir/privkey.pem#g" \
      -e "s#{{GUNICORN_ADDR}}#$3#g" -e "s#{{FILES_DIR}}#$dir/files#g" -e "s#{{OPERATOR_DIR}}#$dir/operator#g" \
      "$r/leader/$f" >"$4/$f"
  done
}
render_sites "443 ssl" 80 127.0.0.1:8000 "$dir/conf.d"
for f in acme-hub.conf acme-files.conf acme-default.conf; do
  if grep -nE '\{\{[A-Z_]+\}\}' "$dir/conf.d/$f"; then fail "$f: a placeholder docs/deploying.md's table does not list"; fi
done
# Debian's nginx.conf in miniature: the site files are included inside http { }.
cat >"$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/error.log;
events {}
http {
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  include $dir/conf.d/*.conf;
}
EOF
"$nginx" -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || fail "nginx -t"
grep -q 'proxy_connect_timeout' "$dir/conf.d/acme-hub.conf" || fail "acme-hub.conf: no proxy_connect_timeout"
say "nginx -t: acme-hub.conf, acme-files.conf and acme-default.conf (listen 443 ssl and 80, certificate lines) are valid"

# 2. Flask under gunicorn with deploy/leader's config, run as docs/deploying.md says.
(cd "$r/leader" && PYTHONDONTWRITEBYTECODE=1 GUNICORN_BIND=127.0.0.1:18592 DATA_DB="$dir/hub.sqlite3" FILES_DIR="$dir/files" OPERATOR_TOKEN=deploy-check-token \
  GUNICORN_ACCESS_LOG="$dir/gunicorn.log" exec "$venv/bin/gunicorn" -c gunicorn.conf.py app:app >"$dir/gunicorn.out" 2>&1) &
pids+=($!)
wait_port 18592
echo "handbook" >"$dir/files/handbook.pdf"
"$venv/bin/python" - "$dir" <<'EOF' || fail "the Flask app"
import json, sys, urllib.request, uuid
from concurrent.futures import ThreadPoolExecutor
base = "http://127.0.0.1:18592"
def get(path, headers={}):
    with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers)) as r:
        return r.status, dict(r.headers), json.loads(r.read())
status, headers, body = get("/health")
assert (status, body, headers.get("Cache-Control")) == (200, {"status": "ok"}, "no-store"), (status, body, headers)
assert "Access-Control-Allow-Origin" not in headers, "Flask must not send CORS (NGINX does)"
pages = get("/api/pages")[2]["pages"]
assert pages and all(set(p) >= {"id", "title", "body"} for p in pages), pages
assert get("/api/files")[2]["files"] == [{"name": "handbook.pdf", "size": 9}]
# As NGINX forwards it: Host with the port, the scheme in X-Forwarded-Proto (ProxyFix).
links = get("/api/hub/links", {"Host": "hub.example.com:443", "X-Forwarded-Proto": "https"})[2]["links"]
assert all(l["href"].startswith("https://hub.example.com/hub/") for l in links), links  # no "//hub": host_url ends with "/"
def post(i):
    req = urllib.request.Request(base + "/api/notes", data=json.dumps({"text": f"note {i}", "clientId": str(uuid.uuid4())}).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as r:
        assert r.status == 201, r.status
        return json.loads(r.read())["id"]
with ThreadPoolExecutor(16) as pool:
    ids = list(pool.map(post, range(40)))
assert sorted(ids) == list(range(1, 41)), f"note ids from 2 workers: {sorted(ids)}"
print("[deploy-check] Flask under gunicorn (2 workers): /health, the three reads, 40 notes posted at once got 40 distinct ids")
EOF

# 2b. The same three NGINX files running, TLS and all, on loopback (HTTPS 18593, HTTP 18594) in
# front of that gunicorn: what a client of each host name, and of any other, gets.
mkdir -p "$dir/live/conf.d" "$dir/live/tmp"
ln -s /etc/passwd "$dir/files/passwd"
ln -s /nonexistent "$dir/files/broken"
echo "SECRET=1" >"$dir/files/.env"
cp -r "$r/leader/operator" "$dir/operator"  # where docs/deploying.md puts it: {{OPERATOR_DIR}}
render_sites "127.0.0.1:18593 ssl" 127.0.0.1:18594 127.0.0.1:18592 "$dir/live/conf.d"
sed -e "s#$dir/conf.d#$dir/live/conf.d#" -e "s#$dir/tmp#$dir/live/tmp#g" -e "s#^pid .*#pid $dir/live/nginx.pid;#" "$dir/nginx.conf" >"$dir/live/nginx.conf"
chmod 755 "$dir" "$dir/files" "$dir/operator"; chmod 644 "$dir/files/handbook.pdf" "$dir/files/.env" "$dir/operator"/*
"$nginx" -p "$dir/live" -c "$dir/live/nginx.conf" -e "$dir/live/error.log" -g 'daemon off;' &
pids+=($!)
wait_port 18593
curl_() { curl -sS -o "$dir/body" -D "$dir/headers" --max-time 5 --cacert "$dir/fullchain.pem" "$@"; }
status() { awk 'NR == 1 { print $2 }' "$dir/headers"; }
header() { grep -i "^$1:" "$dir/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
api=(--resolve hub.example.com:18593:127.0.0.1 --resolve hub.example.com:18594:127.0.0.1)
files=(--resolve files.hub.example.com:18593:127.0.0.1 --resolve files.hub.example.com:18594:127.0.0.1)
curl_ "${api[@]}" -H 'Origin: https://www.example.com' https://hub.example.com:18593/health || fail "https://hub.example.com/health"
[ "$(status)" = 200 ] || fail "/health over TLS: $(status)"
[ "$(header Strict-Transport-Security)" = "max-age=63072000; includeSubDomains" ] || fail "no HSTS"
[ "$(header X-Content-Type-Options)" = nosniff ] || fail "no nosniff"
[ "$(header Server)" = nginx ] || fail "Server: $(header Server) (server_tokens)"
[ "$(header Access-Control-Allow-Methods)" = "GET, HEAD, POST" ] || fail "CORS methods: $(header Access-Control-Allow-Methods)"
# Another Host over the same TLS connection never reaches Flask (the default server closes it).
rc=0; curl_ "${api[@]}" -H 'Host: evil.example.net' https://hub.example.com:18593/api/hub/links 2>/dev/null || rc=$?
[ "$rc" = 52 ] || fail "Host: evil.example.net on hub.example.com's TLS got an answer (curl exit $rc)"
curl_ "${api[@]}" https://hub.example.com:18593/api/hub/links
grep -q '"https://hub.example.com:18593/hub/game"' "$dir/body" || fail "hub links (NGINX's name and port): $(cat "$dir/body")"
# TLS 1.2 and 1.3 with the "intermediate" suites; a CBC/SHA-1 suite NGINX's defaults would take is refused.
curl_ "${api[@]}" --tlsv1.2 --tls-max 1.2 https://hub.example.com:18593/health || fail "TLS 1.2 refused"
curl_ "${api[@]}" --tlsv1.3 https://hub.example.com:18593/health || fail "TLS 1.3 refused"
if curl_ "${api[@]}" --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA https://hub.example.com:18593/health 2>/dev/null; then fail "ECDHE-ECDSA-AES128-SHA was accepted"; fi
# A note too large for the notes location: 413 from NGINX, as JSON.
head -c 12000 /dev/zero | tr '\0' a | sed 's/.*/{"text":"&","clientId":"0b5e8ae8-3a61-4c27-9f3f-1e1f5a7f9c1d"}/' >"$dir/big.json"
curl_ "${api[@]}" -H 'Content-Type: application/json' --data-binary @"$dir/big.json" https://hub.example.com:18593/api/notes
[ "$(status)" = 413 ] && grep -q '"error"' "$dir/body" || fail "a 12 KB note: $(status) $(head -c 200 "$dir/body")"
# Plain HTTP: the two names are redirected to HTTPS, any other host gets no answer at all.
curl_ "${api[@]}" http://hub.example.com:18594/api/pages || fail "http://hub.example.com"
[ "$(status)" = 301 ] && [ "$(header Location)" = "https://hub.example.com/api/pages" ] || fail "port-80 redirect: $(status) $(header Location)"
rc=0; curl_ --resolve unknown.example.net:18594:127.0.0.1 http://unknown.example.net:18594/ 2>/dev/null || rc=$?
[ "$rc" = 52 ] || fail "an unknown host over HTTP got an answer (curl exit $rc, 52 = empty reply)"
# TLS: no handshake for a name not ours (ssl_reject_handshake), nor without a name.
rc=0; curl_ -k --resolve unknown.example.net:18593:127.0.0.1 https://unknown.example.net:18593/ 2>/dev/null || rc=$?
[ "$rc" = 35 ] || fail "an unknown host over TLS was not refused in the handshake (curl exit $rc, 35 = handshake failed)"
rc=0; curl_ -k https://127.0.0.1:18593/ 2>/dev/null || rc=$?
[ "$rc" = 35 ] || fail "a request by address over TLS was not refused in the handshake (curl exit $rc)"
# The file store: /files/ only; no dotfiles, no symbolic links.
curl_ "${files[@]}" https://files.hub.example.com:18593/files/handbook.pdf
[ "$(status)" = 200 ] && [ "$(header Content-Disposition)" = attachment ] || fail "a download: $(status) $(header Content-Disposition)"
for path in / /index.html /files/.env /files/passwd /files/broken /files/; do
  curl_ "${files[@]}" "https://files.hub.example.com:18593$path"
  case "$(status)" in 403|404) ;; *) fail "files store $path: $(status)" ;; esac
done
curl_ "${files[@]}" -X POST -d x https://files.hub.example.com:18593/files/handbook.pdf
[ "$(status)" = 403 ] || fail "POST to the files store: $(status)"
# Outage reports (spec §11) through NGINX: the page's origin gets CORS, a body over 4 KB is 413
# as JSON, a burst of 50 from one address passes and the rest is 429 as JSON with CORS; the
# operator's read needs the token and has a limit of its own.
"$venv/bin/python" - "$dir" <<'EOF' || fail "/api/reports through NGINX"
import json, subprocess, sys, time, uuid
d = sys.argv[1]
def curl(*args, body=None):
    cmd = ["curl", "-sS", "-o", f"{d}/body", "-D", f"{d}/headers", "--max-time", "5", "--cacert", f"{d}/fullchain.pem",
           "--resolve", "hub.example.com:18593:127.0.0.1", *args]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", body]
    subprocess.run(cmd, check=True)
    lines = open(f"{d}/headers").read().splitlines()
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:] if line)}
    return int(lines[0].split()[1]), headers, open(f"{d}/body", "rb").read()
def report():
    now = int(time.time() * 1000)
    return json.dumps({"id": str(uuid.uuid4()), "startedAt": now - 90_000, "durationMs": 60_000,
                       "probes": {"timeout": 2, "network": 0, "status": [[502, 3]], "body": 0}, "followerReads": 5,
                       "leaderUnavailable": 1, "outcomeUnknown": 0, "followerRequests": 12, "rttMs": 20, "version": "0.1.0", "sampleRate": 1})
url = "https://hub.example.com:18593/api/reports"
origin = ["-H", "Origin: https://www.example.com"]
status, headers, body = curl(*origin, "-H", "Idempotency-Key: 0b5e8ae8-3a61-4c27-9f3f-1e1f5a7f9c1d", url, body=report())
assert status == 201 and headers.get("access-control-allow-origin") == "https://www.example.com", (status, headers, body)
assert "content-security-policy" not in headers, "a CSP on an API answer"
status, headers, body = curl(*origin, url, body=json.dumps({"id": str(uuid.uuid4()), "version": "x" * 5000}))
assert status == 413 and json.loads(body)["code"] == "REQUEST_ENTITY_TOO_LARGE" and headers.get("access-control-allow-origin"), (status, headers, body)
statuses = []
t0 = time.monotonic()
for _ in range(60):
    status, headers, body = curl(*origin, url, body=report())
    statuses.append(status)
    if status == 429:
        assert json.loads(body)["code"] == "TOO_MANY_REQUESTS" and headers.get("access-control-allow-origin") == "https://www.example.com", (headers, body)
# The burst lets 51 through at once; the first report took one (the 413 is refused before
# limit_req counts it): 50 pass, and one more for each 6 s (10 a minute) the loop took.
leaked = int((time.monotonic() - t0) / 6) + 1
assert statuses[:50] == [201] * 50 and statuses.count(201) <= 50 + leaked and set(statuses) == {201, 429}, statuses
status, headers, body = curl(url)
assert status == 401 and json.loads(body)["field"] == "Authorization", (status, body)
status, headers, body = curl("-H", "Authorization: Bearer deploy-check-token", url)
listed = json.loads(body)["reports"]
assert status == 200 and headers.get("cache-control") == "no-store" and len(listed) == statuses.count(201) + 1, (status, headers, len(listed))
# Reads: 21 at once (the two GETs above took two), then 2 a second.
t0 = time.monotonic()
reads = [curl("-H", "Authorization: Bearer deploy-check-token", url + "?limit=1")[0] for _ in range(30)]
leaked = int((time.monotonic() - t0) * 2) + 2
assert reads[:19] == [200] * 19 and reads.count(200) <= 19 + leaked and reads.count(429) >= 1, reads
print(f"[deploy-check] /api/reports through NGINX: 201 with CORS for the page, 413 JSON over 4 KB; 60 more at once from one address:"
      f" {statuses.count(201)} stored, {statuses.count(429)} refused 429 (JSON, CORS); the operator's GET: 401 without the token,"
      f" {len(listed)} reports with it; 30 reads at once: {reads.count(429)} refused 429")
EOF
# The operator's page: static, under /operator/ only, with its strict CSP (no inline script),
# never framed, revalidated on each visit; GET and HEAD only.
curl_ "${api[@]}" https://hub.example.com:18593/operator/
[ "$(status)" = 200 ] && grep -q '<script type="module" src="operator.js"></script>' "$dir/body" || fail "/operator/: $(status)"
csp="default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
[ "$(header Content-Security-Policy)" = "$csp" ] || fail "/operator/ CSP: $(header Content-Security-Policy)"
[ "$(header X-Frame-Options)" = DENY ] && [ "$(header Cache-Control)" = no-cache ] || fail "/operator/: X-Frame-Options $(header X-Frame-Options), Cache-Control $(header Cache-Control)"
[ "$(header Strict-Transport-Security)" = "max-age=63072000; includeSubDomains" ] && [ "$(header X-Content-Type-Options)" = nosniff ] || fail "/operator/: no HSTS or nosniff"
if grep -qiE '<script>|<script [^>]*>[^<]|javascript:| on[a-z]+=|style=' "$dir/body"; then fail "/operator/ has inline script or style"; fi
curl_ "${api[@]}" https://hub.example.com:18593/operator/operator.js
case "$(status) $(header Content-Type)" in "200 application/javascript"*|"200 text/javascript"*) ;; *) fail "operator.js: $(status) $(header Content-Type)" ;; esac
curl_ "${api[@]}" https://hub.example.com:18593/operator
[ "$(status)" = 301 ] && [ "$(header Location)" = "https://hub.example.com:18593/operator/" ] || fail "/operator: $(status) $(header Location)"
curl_ "${api[@]}" -X POST -d x https://hub.example.com:18593/operator/
[ "$(status)" = 403 ] || fail "POST /operator/: $(status)"
curl_ "${api[@]}" https://hub.example.com:18593/health
[ -z "$(header Content-Security-Policy)" ] && [ -z "$(header X-Frame-Options)" ] || fail "/health got the operator page's headers"
say "the operator's page at /operator/: its files, a strict CSP (no inline script or style), DENY framing, no-cache; GET only; /health without them"

say "NGINX running the three files: TLS 1.2/1.3 with the intermediate suites, HSTS, nosniff, no version, port 80 redirected, unknown hosts refused (no answer over HTTP, no handshake over TLS), 413 as JSON; the store serves /files/ only, no dotfiles, no links"

# 3. The site, uploaded with deploy/site/upload.sh: the real aws CLI, a local S3 API.
node tools/build-site.mjs --out "$dir/site" >/dev/null
"$venv/bin/moto_server" -H 127.0.0.1 -p 18591 >"$dir/moto.log" 2>&1 &
pids+=($!)
wait_port 18591
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:18591
export PATH="$venv/bin:$PATH"
aws s3 mb s3://acme-hub-www >/dev/null
BUCKET=s3://acme-hub-www sh "$r/site/upload.sh" "$dir/site" >"$dir/upload.log" || { cat "$dir/upload.log"; fail "upload.sh"; }
node - "$dir" <<'EOF' || fail "the uploaded objects"
// Each object's stored headers, as S3 (and CloudFront from it) will serve them, and its bytes.
const { execFileSync } = require("node:child_process");
const { readFileSync, readdirSync } = require("node:fs");
const { brotliDecompressSync } = require("node:zlib");
const dir = process.argv[2];
const site = `${dir}/site`;
const aws = (...args) => execFileSync("aws", args, { encoding: "utf8" });
const keys = JSON.parse(aws("s3api", "list-objects-v2", "--bucket", "acme-hub-www")).Contents.map((o) => o.Key).sort();
const hashed = readdirSync(`${site}/pkg`).filter((n) => /\.[0-9a-f]{12}\.(js|wasm)$/.test(n)).map((n) => `pkg/${n}`);
const plain = readdirSync(site).filter((n) => n !== "pkg");
const want = [...hashed, ...plain].sort();
if (JSON.stringify(keys) !== JSON.stringify(want)) throw new Error(`objects ${keys.join(", ")}; expected ${want.join(", ")}`);
const TYPES = { wasm: "application/wasm", js: "text/javascript; charset=utf-8", html: "text/html; charset=utf-8", css: "text/css; charset=utf-8", json: "application/json" };
for (const key of keys) {
  const head = JSON.parse(aws("s3api", "head-object", "--bucket", "acme-hub-www", "--key", key));
  const immutable = hashed.includes(key);
  const expect = {
    ContentType: TYPES[key.split(".").pop()],
    ContentEncoding: immutable ? "br" : undefined,
    CacheControl: immutable ? "public, max-age=31536000, immutable" : "no-cache",
  };
  for (const [k, v] of Object.entries(expect)) {
    if (head[k] !== v) throw new Error(`${key}: ${k} ${JSON.stringify(head[k])}, expected ${JSON.stringify(v)}`);
  }
  aws("s3api", "get-object", "--bucket", "acme-hub-www", "--key", key, `${dir}/object`);
  const stored = readFileSync(`${dir}/object`);
  const bytes = immutable ? brotliDecompressSync(stored) : stored;
  if (!bytes.equals(readFileSync(`${site}/${key}`))) throw new Error(`${key}: the stored bytes are not the site's file`);
  console.log(`[deploy-check] s3://acme-hub-www/${key}: ${head.ContentType}${head.ContentEncoding ? `, ${head.ContentEncoding}` : ""}, ${head.CacheControl}, ${stored.length} B`);
}
EOF

# 3b. The Angular app's build, uploaded with deploy/angular/upload.sh: the bundles
# and the wasm under content-hashed names for a year, the wasm stored gzipped, the rest
# revalidated; and the app names the very wasm object that was stored.
ls "$angular_dist"/media/*.wasm >/dev/null 2>&1 || fail "$angular_dist: no media/*.wasm (run tools/angular-build.sh first)"
cp -a "$angular_dist" "$dir/angular"
aws s3 mb s3://acme-hub-app >/dev/null
BUCKET=s3://acme-hub-app sh "$r/angular/upload.sh" "$dir/angular" >"$dir/upload-angular.log" || { cat "$dir/upload-angular.log"; fail "angular/upload.sh"; }
node - "$dir" <<'EOF' || fail "the uploaded Angular objects"
const { execFileSync } = require("node:child_process");
const { readFileSync, readdirSync } = require("node:fs");
const { gunzipSync } = require("node:zlib");
const dir = process.argv[2];
const dist = `${dir}/angular`;
const aws = (...args) => execFileSync("aws", args, { encoding: "utf8" });
const keys = JSON.parse(aws("s3api", "list-objects-v2", "--bucket", "acme-hub-app")).Contents.map((o) => o.Key).sort();
const files = readdirSync(dist, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
  .map((e) => `${e.parentPath ?? e.path}/${e.name}`.slice(dist.length + 1)).sort();
if (JSON.stringify(keys) !== JSON.stringify(files)) throw new Error(`objects ${keys.join(", ")}; the build has ${files.join(", ")}`);
// What the browser runs each as, and a type CloudFront compresses (all but the wasm).
const TYPES = { js: /^(text|application)\/javascript\b/, css: /^text\/css\b/, html: /^text\/html\b/, json: /^application\/json\b/, wasm: /^application\/wasm$/, ico: /^image\/(x-icon|vnd\.microsoft\.icon)$/, txt: /^text\/plain\b/ };
const wasms = keys.filter((k) => k.endsWith(".wasm"));
if (wasms.length !== 1 || !/^media\/health_proxy_bg-[A-Z0-9]{8}\.wasm$/.test(wasms[0])) throw new Error(`the wasm objects: ${wasms.join(", ")}`);
const main = keys.filter((k) => /^main-[A-Z0-9]{8}\.js$/.test(k));
if (main.length !== 1 || !readFileSync(`${dist}/${main[0]}`, "utf8").includes(`"./${wasms[0]}"`)) throw new Error(`${main.join(", ")} does not name ${wasms[0]}`);
if (!readFileSync(`${dist}/index.html`, "utf8").includes(`src="${main[0]}"`)) throw new Error(`index.html does not load ${main[0]}`);
for (const key of keys) {
  const head = JSON.parse(aws("s3api", "head-object", "--bucket", "acme-hub-app", "--key", key));
  const hashed = /-[A-Z0-9]{8}\.(js|css|wasm)$/.test(key);
  const type = TYPES[key.split(".").pop()];
  if (!type || !type.test(head.ContentType ?? "")) throw new Error(`${key}: Content-Type ${JSON.stringify(head.ContentType)}`);
  const expect = {
    ContentEncoding: key.endsWith(".wasm") ? "gzip" : undefined,
    CacheControl: hashed ? "public, max-age=31536000, immutable" : "no-cache",
  };
  for (const [k, v] of Object.entries(expect)) {
    if (head[k] !== v) throw new Error(`${key}: ${k} ${JSON.stringify(head[k])}, expected ${JSON.stringify(v)}`);
  }
  aws("s3api", "get-object", "--bucket", "acme-hub-app", "--key", key, `${dir}/object`);
  const stored = readFileSync(`${dir}/object`);
  const bytes = head.ContentEncoding === "gzip" ? gunzipSync(stored) : stored;
  if (!bytes.equals(readFileSync(`${dist}/${key}`))) throw new Error(`${key}: the stored bytes are not the build's file`);
  console.log(`[deploy-check] s3://acme-hub-app/${key}: ${head.ContentType}${head.ContentEncoding ? `, ${head.ContentEncoding}` : ""}, ${head.CacheControl}, ${stored.length} B`);
}
EOF

# 4. The page host's headers: the CloudFront policy and customHttp.yml send one CSP (the one
# the real-stack suites serve the page under, with their own origins in connect-src).
"$venv/bin/python" - "$r" <<'EOF' || fail "the page host's headers"
import json, sys, yaml
r = sys.argv[1]
policy = json.load(open(f"{r}/site/cloudfront-headers.json"))
csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
assert "'wasm-unsafe-eval'" in directives["script-src"], csp
assert not any("unsafe-inline" in v for v in directives.values()), csp
# connect-src: bare origins, no path (a path is an exact match and blocks /prod/health).
assert all(s == "'self'" or s.count("/") == 2 for s in directives["connect-src"]), directives["connect-src"]
amplify = yaml.safe_load(open(f"{r}/site/customHttp.yml"))
sent = {h["key"]: h["value"] for rule in amplify["customHeaders"] if rule["pattern"] == "**/*" for h in rule["headers"]}
assert sent["Content-Security-Policy"] == csp, "customHttp.yml: another CSP than cloudfront-headers.json"
# Never framed, no <base>, no plugins, forms to the page's origin only; HSTS and frame options from both hosts.
for d, v in (("frame-ancestors", ["'none'"]), ("base-uri", ["'none'"]), ("object-src", ["'none'"]), ("form-action", ["'self'"])):
    assert directives.get(d) == v, f"CSP {d}: {directives.get(d)}"
headers = policy["SecurityHeadersConfig"]
assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}, headers.get("FrameOptions")
assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000 and headers["StrictTransportSecurity"]["Override"], headers.get("StrictTransportSecurity")
assert sent.get("X-Frame-Options") == "DENY" and sent.get("Strict-Transport-Security", "").startswith("max-age=63072000"), sent
pkg = [h["value"] for rule in amplify["customHeaders"] if rule["pattern"].startswith("pkg/") for h in rule["headers"] if h["key"] == "Cache-Control"]
assert pkg == ["public, max-age=31536000, immutable"], pkg
print("[deploy-check] cloudfront-headers.json and customHttp.yml send the same CSP (frame-ancestors, base-uri, object-src 'none'; form-action 'self'), HSTS and X-Frame-Options DENY; customHttp.yml caches pkg/ for a year")
EOF
# 5. The follower's guard rails and the page bucket's privacy: deploy/follower/setup.sh and
# deploy/site/private-bucket.sh with the real aws CLI against moto (API Gateway, Lambda,
# CloudWatch Logs, WAFv2, Budgets, S3, CloudFront), then what each service holds; and every
# JSON file of deploy/ against the aws CLI's own input skeleton for the call that takes it.
aws iam create-role --role-name acme-hub-follower --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
"$venv/bin/python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").write(sys.argv[2], "lambda.mjs")' "$dir/lambda.zip" "$r/follower/lambda.mjs"
aws lambda create-function --function-name acme-hub-follower --runtime nodejs20.x --handler lambda.handler \
  --role arn:aws:iam::123456789012:role/acme-hub-follower --zip-file "fileb://$dir/lambda.zip" >/dev/null
aws s3 mb s3://acme-hub-files >/dev/null
REGION=us-east-1 ACCOUNT_ID=123456789012 LAMBDA_NAME=acme-hub-follower PAGE_ORIGIN=https://www.example.com \
  FILES_BUCKET=acme-hub-files ALERT_EMAIL=ops@example.com BUDGET_USD=20 sh "$r/follower/setup.sh" >"$dir/follower.log" 2>&1 \
  || { cat "$dir/follower.log"; fail "deploy/follower/setup.sh"; }
sed 's/^/  /' "$dir/follower.log"
PAGE_BUCKET=acme-hub-www sh "$r/site/private-bucket.sh" >"$dir/oac.log" 2>&1 || { cat "$dir/oac.log"; fail "deploy/site/private-bucket.sh (creating the OAC)"; }
PAGE_BUCKET=acme-hub-www ACCOUNT_ID=123456789012 DISTRIBUTION_ID=E2EXAMPLE0DIST sh "$r/site/private-bucket.sh" >>"$dir/oac.log" 2>&1 \
  || { cat "$dir/oac.log"; fail "deploy/site/private-bucket.sh"; }
sed 's/^/  /' "$dir/oac.log"
"$venv/bin/python" - "$r" "$(grep -o 'follower base: .*' "$dir/follower.log")" <<'EOF' || fail "what setup.sh and private-bucket.sh left in AWS, or a JSON file the aws CLI would not take"
import json, subprocess, sys
r, base = sys.argv[1], sys.argv[2]
def aws(*args):
    return json.loads(subprocess.run(["aws", *args, "--output", "json"], check=True, capture_output=True, text=True).stdout or "null")
api_id = base.split("https://")[1].split(".")[0]
resources = aws("apigateway", "get-resources", "--rest-api-id", api_id)["items"]
methods = {x["path"]: sorted(x.get("resourceMethods") or {}) for x in resources}
assert {p: m for p, m in methods.items() if m} == {p: ["GET", "HEAD"] for p in ("/health", "/api/pages", "/api/files")}, methods
assert not any("{" in p for p in methods), f"a greedy or templated resource: {methods}"
for x in resources:
    for m in x.get("resourceMethods") or {}:
        integ = aws("apigateway", "get-integration", "--rest-api-id", api_id, "--resource-id", x["id"], "--http-method", m)
        assert integ["type"].upper() == "AWS_PROXY" and ":function:acme-hub-follower/invocations" in integ["uri"], (x["path"], m, integ)
stage = aws("apigateway", "get-stage", "--rest-api-id", api_id, "--stage-name", "prod")
throttle = stage["methodSettings"]["*/*"]
assert (throttle["throttlingRateLimit"], throttle["throttlingBurstLimit"]) == (20, 40), throttle
assert aws("lambda", "get-function-concurrency", "--function-name", "acme-hub-follower")["ReservedConcurrentExecutions"] == 10
groups = aws("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/acme-hub-follower")["logGroups"]
assert [g.get("retentionInDays") for g in groups] == [14], groups
acl = aws("wafv2", "get-web-acl-for-resource", "--resource-arn", f"arn:aws:apigateway:us-east-1::/restapis/{api_id}/stages/prod")["WebACL"]
rule = acl["Rules"][0]["Statement"]["RateBasedStatement"]
assert (rule["Limit"], rule["AggregateKeyType"]) == (1000, "IP") and "Block" in acl["Rules"][0]["Action"], acl
budget = aws("budgets", "describe-budget", "--account-id", "123456789012", "--budget-name", "acme-hub-follower")["Budget"]
assert (float(budget["BudgetLimit"]["Amount"]), budget["TimeUnit"]) == (20.0, "MONTHLY"), budget
notes = aws("budgets", "describe-notifications-for-budget", "--account-id", "123456789012", "--budget-name", "acme-hub-follower")["Notifications"]
assert sorted(n["NotificationType"] for n in notes) == ["ACTUAL", "FORECASTED"], notes
files = json.loads(aws("s3api", "get-bucket-policy", "--bucket", "acme-hub-files")["Policy"])
allow = [s for s in files["Statement"] if s["Effect"] == "Allow"]
assert [(s["Action"], s["Resource"]) for s in allow] == [("s3:GetObject", "arn:aws:s3:::acme-hub-files/files/*")], allow
page = json.loads(aws("s3api", "get-bucket-policy", "--bucket", "acme-hub-www")["Policy"])
[stmt] = page["Statement"]
assert stmt["Principal"] == {"Service": "cloudfront.amazonaws.com"} and stmt["Action"] == "s3:GetObject", stmt
assert stmt["Condition"]["StringEquals"]["AWS:SourceArn"] == "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE0DIST", stmt
block = aws("s3api", "get-public-access-block", "--bucket", "acme-hub-www")["PublicAccessBlockConfiguration"]
assert all(block.values()) and len(block) == 4, block
print(f"[deploy-check] follower API {api_id}: GET/HEAD of /health, /api/pages, /api/files only, Lambda proxy; stage throttled 20/s burst 40;"
      " reserved concurrency 10; logs 14 days; WAF 1000/5 min per address on the stage; budget 20 USD with 2 alerts;"
      " files bucket GetObject on files/* only; page bucket private (all public access blocked), CloudFront distribution only")

# The JSON files as the calls that take them expect: every key is one the aws CLI's input skeleton has.
def skeleton(*call):
    return json.loads(subprocess.run(["aws", *call, "--generate-cli-skeleton", "input"], check=True, capture_output=True, text=True).stdout)
def within(ours, theirs, where):
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), f"{where}: an object where the call takes {type(theirs).__name__}"
        for k, v in ours.items():
            assert k in theirs, f"{where}.{k}: not a field of the call (it has {', '.join(theirs)})"
            within(v, theirs[k], f"{where}.{k}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list), f"{where}: a list where the call takes {type(theirs).__name__}"
        for i, v in enumerate(ours):
            within(v, theirs[0], f"{where}[{i}]")
checks = [
    ("follower/waf-web-acl.json", ("wafv2", "create-web-acl"), None),
    ("follower/budget.json", ("budgets", "create-budget"), None),
    ("site/cloudfront-headers.json", ("cloudfront", "create-response-headers-policy"), "ResponseHeadersPolicyConfig"),
]
for path, call, under in checks:
    theirs = skeleton(*call)
    within(json.load(open(f"{r}/{path}")), theirs[under] if under else theirs, path)
    print(f"[deploy-check] deploy/{path}: fits `aws {' '.join(call)}`'s input")
spec = json.load(open(f"{r}/follower/openapi.json"))
assert spec["openapi"].startswith("3.") and all(set(ops) <= {"get", "head"} for ops in spec["paths"].values()), spec["paths"]
EOF

# 6. The replica's AWS side and the replicator: deploy/aws/create.sh with the aws CLI against
# moto (the table, the bucket setup.sh made, the two policies as their files say), then the
# replicator as its systemd unit runs it, against the Flask app of step 2: a path outside the
# critical routes is refused at start, by name; the first sweep copies the handbook, the file
# list and the file; an operator's edit is copied from the outbox.
sh "$r/aws/create.sh" >"$dir/aws.log" 2>&1 || { cat "$dir/aws.log"; fail "deploy/aws/create.sh"; }
sed 's/^/  /' "$dir/aws.log"
grep -q '^ExecStart=.*replicator.py ' "$r/leader/acme-hub-replicator.service" || fail "acme-hub-replicator.service runs no replicator.py"
# The app's unit, the replicator's and replicator.json as shipped agree (docs/deploying.md's
# step 5): the outbox is the app's DATA_DB (another file, and no edit is copied before the
# next sweep), the store its FILES_DIR, the leader its GUNICORN_BIND, the layout one.
"$venv/bin/python" - "$r/leader" <<'PY' || fail "acme-hub.service, acme-hub-replicator.service and replicator.json disagree"
import json, os, re, sys
d = sys.argv[1]
def unit(name):
    text = open(os.path.join(d, name)).read()
    env = dict(re.findall(r"^Environment=(\w+)=(\S+)$", text, re.M))
    keys = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
    return env, keys
app_env, app = unit("acme-hub.service")
_, rep = unit("acme-hub-replicator.service")
s = json.load(open(os.path.join(d, "replicator.json")))
checks = [
    (app_env.get("DATA_DB") == s["outbox"], f"DATA_DB {app_env.get('DATA_DB')} is not the outbox {s['outbox']}"),
    (app_env.get("FILES_DIR") == s["files"]["dir"], f"FILES_DIR {app_env.get('FILES_DIR')} is not files.dir {s['files']['dir']}"),
    (s["leader"] == "http://" + app_env.get("GUNICORN_BIND", ""), f"leader {s['leader']} is not GUNICORN_BIND {app_env.get('GUNICORN_BIND')}"),
    (app["ExecStart"].endswith("gunicorn -c gunicorn.conf.py app:app"), f"acme-hub.service runs {app['ExecStart']}"),
    (app["WorkingDirectory"] == rep["WorkingDirectory"], "the two units run in different directories"),
    (app["User"] == rep["User"], "the two units run as different users"),
    ("acme-hub.service" in rep["After"], "the replicator does not start after the app"),
    (os.path.dirname(s["outbox"]) in rep["ReadWritePaths"].split(), "the replicator cannot open the outbox's directory (WAL)"),
    (os.path.dirname(s["outbox"]) in app["ReadWritePaths"].split(), "the app cannot write DATA_DB's directory"),
    (os.path.dirname(s["state"]) == "/var/lib/" + rep["StateDirectory"], f"state {s['state']} is not in the unit's StateDirectory"),
]
bad = [why for ok, why in checks if not ok]
assert not bad, bad
PY
# moto is reached over plain http here, and it enforces the files bucket's TLS-only statement
# (checked in step 5): AWS's endpoints are https, so on AWS the replicator meets no such wall.
aws s3api delete-bucket-policy --bucket acme-hub-files
cp "$root/www/config.json" "$dir/config.json"
"$venv/bin/python" - "$r/leader/replicator.json" "$dir" <<'PY' || fail "replicator.json"
import json, sys
s = json.load(open(sys.argv[1]))
d = sys.argv[2]
# The example's paths and shape with this check's files; www/config.json's files route has no bucket of its own.
s.update(config=f"{d}/config.json", leader="http://127.0.0.1:18592", outbox=f"{d}/hub.sqlite3", state=f"{d}/replicator.sqlite3", sweepSeconds=2)
s["files"].update(dir=f"{d}/files", bucket="acme-hub-files")
json.dump(s, open(f"{d}/replicator.json", "w"))
s["paths"] = s["paths"] + ["/api/hub/links"]
json.dump(s, open(f"{d}/replicator-bad.json", "w"))
PY
if "$venv/bin/python" "$r/leader/replicator.py" "$dir/replicator-bad.json" >"$dir/bad.log" 2>&1; then fail "the replicator started with /api/hub/links (not critical)"; fi
grep -q '/api/hub/links is not under a critical route' "$dir/bad.log" || { cat "$dir/bad.log"; fail "the replicator's refusal does not name the path"; }
(cd "$r/leader" && exec "$venv/bin/python" replicator.py "$dir/replicator.json" >"$dir/replicator.log" 2>&1) &
pids+=($!)
"$venv/bin/python" - "$r" <<'PY' || { cat "$dir/replicator.log"; fail "the replicator against the local AWS API"; }
import json, sys, time, urllib.parse, urllib.request
import boto3
r = sys.argv[1]
ddb, s3, iam = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("iam")
t = ddb.describe_table(TableName="acme-hub-replica")["Table"]
assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST" and t["KeySchema"] == [{"AttributeName": "path", "KeyType": "HASH"}], t
for who in ("replicator", "lambda"):
    arn = f"arn:aws:iam::123456789012:policy/acme-hub-{who}"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    doc = json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc
    assert doc == json.load(open(f"{r}/aws/{who}-policy.json")), (who, doc)
def leader(path):
    with urllib.request.urlopen("http://127.0.0.1:18592" + path) as res:
        return res.read()
def item(path):
    return ddb.get_item(TableName="acme-hub-replica", Key={"path": {"S": path}}).get("Item")
def until(check, what, seconds=15):
    end = time.time() + seconds
    while not check():
        assert time.time() < end, what
        time.sleep(0.1)
until(lambda: (i := item("/api/pages")) and i["body"]["B"] == leader("/api/pages"), "the handbook was not copied")
until(lambda: (i := item("/api/files")) and i["body"]["B"] == leader("/api/files"), "the file list was not copied")
until(lambda: s3.list_objects_v2(Bucket="acme-hub-files", Prefix="files/").get("KeyCount"), "the file was not copied")
head = s3.head_object(Bucket="acme-hub-files", Key="files/handbook.pdf")
assert head["ContentDisposition"] == "attachment" and len(head["Metadata"]["sha256"]) == 64, head
# Only what the store serves: not its dotfile, not its links (one to /etc/passwd).
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="acme-hub-files", Prefix="files/")["Contents"]]
assert keys == ["files/handbook.pdf"], keys
# An operator's edit (the token from the app's environment), copied through the outbox.
req = urllib.request.Request("http://127.0.0.1:18592/api/pages/2", method="PUT",
                             data=json.dumps({"title": "Expenses", "body": "Within 45 days now."}).encode(),
                             headers={"content-type": "application/json", "authorization": "Bearer deploy-check-token"})
assert urllib.request.urlopen(req).status == 200
until(lambda: b"Within 45 days now." in item("/api/pages")["body"]["B"], "the edit was not copied", 5)
print("[deploy-check] deploy/aws/create.sh: the table (on-demand, key path) and both policies as their files; the replicator: "
      "a non-critical path refused by name, the handbook, the file list and the file (attachment, sha256) copied, an operator's edit copied from the outbox")
PY

say "deploy/ runs as docs/deploying.md says"
