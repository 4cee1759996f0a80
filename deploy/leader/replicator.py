"""The replicator (spec §10): copies the leader's critical answers to the follower's
DynamoDB table and its file store to the follower's bucket, on the leader's own host.

Run: python3 replicator.py replicator.json   (systemd: acme-hub-replicator.service)

What is copied: the listed paths of replicator.json, each of which must be under a
critical route of the page's config.json (refused at start otherwise), and the tree of the
files route (the route with its own bases). When: at once after the app's outbox names a
path (a row written in the same SQLite transaction as the write), and every sweep. What it
remembers, in its own SQLite file: the hash and version of each last copy (an unchanged
sweep sends nothing to AWS), the outbox cursor, the paths still to copy and when it last
swept. A restart is not a sweep: what the app changed while the replicator was down is in
the outbox past the cursor, and the sweep keeps its schedule.
Where AWS is comes from AWS's own settings only (AWS_REGION, credentials, AWS_ENDPOINT_URL).
"""
import hashlib
import json
import logging
import mimetypes
import os
import random
import re
import signal
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger("replicator")

# DynamoDB's item limit is 400 KB (names and attributes included): a larger body is an S3
# object the item points to.
INLINE_LIMIT = 350_000
# Where such bodies live in the bucket: content-addressed (replica/SHA256), so every write
# of a key carries the same bytes and needs no condition: a late or repeated one changes
# nothing. The item that points to it is the conditional write.
BODIES_PREFIX = "replica/"
# A body no item points to any more is deleted this long after (blobGraceSeconds): a
# follower that read the old item just before may still fetch it.
BLOB_GRACE_SECONDS = 3600
# S3's answers to a conditional write or delete whose object is not the one named: changed
# since (412), a concurrent conditional write (409), or gone (If-Match on no object: 404).
CHANGED_SINCE = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey", "404"}
# A conditional file copy that keeps meeting a newer object gives up (the next sweep tries again).
CONDITIONAL_TRIES = 3
# The outbox is polled this often: the app commits a row, the replicator sees it next poll.
POLL_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 10.0
# After a sweep AWS cut short, the next one comes this soon (at most a sweep).
RETRY_SWEEP_SECONDS = 5.0
# The hash recorded when the replica holds something newer than our copy.
UNKNOWN = "?"


class ConfigError(Exception):
    """A replicator.json or config.json the replicator refuses to start with."""


def normalise_prefix(prefix):
    trimmed = prefix.rstrip("/")
    return trimmed or "/"


def segment_prefix(prefix, path):
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")


def find_route(routes, default_critical, path):
    """The spec's route table: the longest prefix matching on whole segments wins."""
    path = path.split("?", 1)[0]
    for route in sorted(routes, key=lambda r: len(normalise_prefix(r["prefix"])), reverse=True):
        if segment_prefix(normalise_prefix(route["prefix"]), path):
            return route
    return {"prefix": None, "critical": default_critical}


def bucket_of(base):
    """The bucket a follower base names: virtual-hosted (BUCKET.s3[.REGION].amazonaws.com)
    or path-style (https://ENDPOINT/BUCKET)."""
    url = urllib.parse.urlsplit(base)
    m = re.match(r"^(.+?)\.s3[.-]", url.hostname or "")
    if m:
        return m.group(1)
    first = url.path.strip("/").split("/", 1)[0]
    if not first:
        raise ConfigError(f"the files route's follower base {base!r} names no bucket: set \"filesBucket\"")
    return first


def item_key(path):
    """A listed path as its item's key: the query's pairs sorted and form-encoded, as
    deploy/follower/lambda.mjs's itemKey() makes it from a request."""
    base, _, query = path.partition("?")
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    return f"{base}?{urllib.parse.urlencode(pairs)}" if pairs else base


def load_settings(path):
    """replicator.json, checked against the page's config.json."""
    try:
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: {e}") from e
    for field in ("config", "leader", "paths", "table", "state"):
        if field not in s:
            raise ConfigError(f"{path}: \"{field}\" is required")
    try:
        with open(s["config"], encoding="utf-8") as f:
            page = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"config {s['config']}: {e}") from e
    routes = page.get("routes", [])
    default_critical = bool(page.get("defaultCritical", False))
    for p in s["paths"]:
        if not isinstance(p, str) or not p.startswith("/"):
            raise ConfigError(f"paths: {p!r} is not a path starting with /")
        route = find_route(routes, default_critical, p)
        if not route["critical"]:
            where = f"route {route['prefix']!r}" if route["prefix"] else "no route (defaultCritical is false)"
            raise ConfigError(f"paths: {p} is not under a critical route ({where}): the follower would not serve it")
    files = s.get("files")
    if files:
        route = next((r for r in routes if normalise_prefix(r["prefix"]) == normalise_prefix(files.get("route", ""))), None)
        if route is None or not route.get("critical"):
            raise ConfigError(f"files.route: {files.get('route')!r} is not a critical route of {s['config']}")
        if not route.get("follower") and not files.get("bucket"):
            raise ConfigError(f"files.route: {files['route']!r} has no follower base of its own")
        files["bucket"] = files.get("bucket") or bucket_of(route["follower"])
        files["prefix"] = normalise_prefix(route["prefix"]).lstrip("/") + "/"
        if "dir" not in files:
            raise ConfigError(f"{path}: files.dir is required")
    # The item key as the Lambda builds it from a request: the query's pairs sorted, form-encoded.
    s["paths"] = [item_key(p) for p in s["paths"]]
    s.setdefault("sweepSeconds", 60)
    s.setdefault("bucket", files["bucket"] if files else None)
    s["leader"] = s["leader"].rstrip("/")
    return s


def error_code(e):
    """AWS's error code (ThrottlingException, SlowDown, …) or botocore's exception name."""
    if isinstance(e, ClientError):
        return e.response.get("Error", {}).get("Code", "ClientError")
    return type(e).__name__


class State:
    """The replicator's memory on disk: one SQLite file, each change one transaction."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS copies (key TEXT PRIMARY KEY, hash TEXT NOT NULL, version INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS pending (path TEXT PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS filehash (name TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, hash TEXT);"
            "CREATE TABLE IF NOT EXISTS sweep (id INTEGER PRIMARY KEY CHECK (id = 1), ended REAL NOT NULL, ok INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS unused (key TEXT PRIMARY KEY, since REAL NOT NULL);"
        )
        # Added later: the ETag of a file's last copy (its next copy is conditional on it).
        if "etag" not in [c[1] for c in self.db.execute("PRAGMA table_info(copies)")]:
            self.db.execute("ALTER TABLE copies ADD COLUMN etag TEXT")

    def copy(self, key):
        row = self.db.execute("SELECT hash, version FROM copies WHERE key = ?", (key,)).fetchone()
        return row if row else (None, 0)

    def copied(self, key, digest, version, etag=None):
        self.db.execute(
            "INSERT INTO copies (key, hash, version, etag) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET hash = excluded.hash, version = MAX(version, excluded.version), etag = excluded.etag",
            (key, digest, version, etag),
        )

    def etag(self, key):
        row = self.db.execute("SELECT etag FROM copies WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def unused(self, key, used):
        """A body under replica/ no item points to (since now), or one in use again."""
        if used:
            self.db.execute("DELETE FROM unused WHERE key = ?", (key,))
        else:
            self.db.execute("INSERT OR IGNORE INTO unused (key, since) VALUES (?, ?)", (key, time.time()))

    def unused_before(self, when):
        return [k for (k,) in self.db.execute("SELECT key FROM unused WHERE since < ? ORDER BY key", (when,))]

    def keys(self, like):
        return [k for (k,) in self.db.execute("SELECT key FROM copies WHERE key LIKE ? AND hash != 'deleted'", (like,))]

    def cursor(self):
        row = self.db.execute("SELECT seq FROM cursor WHERE id = 1").fetchone()
        return row[0] if row else 0

    def take(self, paths, seq):
        """The outbox rows up to `seq` become pending paths, in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT OR IGNORE INTO pending (path) VALUES (?)", [(p,) for p in paths])
        self.db.execute("INSERT INTO cursor (id, seq) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq", (seq,))
        self.db.execute("COMMIT")

    def pending(self):
        return [p for (p,) in self.db.execute("SELECT path FROM pending ORDER BY path")]

    def done(self, path):
        self.db.execute("DELETE FROM pending WHERE path = ?", (path,))

    def swept(self, ok):
        self.db.execute("INSERT INTO sweep (id, ended, ok) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE"
                        " SET ended = excluded.ended, ok = excluded.ok", (time.time(), int(ok)))

    def last_sweep(self):
        """(when the last sweep ended, wall clock; whether AWS took every change), or None."""
        row = self.db.execute("SELECT ended, ok FROM sweep WHERE id = 1").fetchone()
        return (row[0], bool(row[1])) if row else None


class Replicator:
    def __init__(self, settings):
        self.s = settings
        self.state = State(settings["state"])
        # botocore's own retries (standard mode: throttling, 5xx, timeouts, with jittered
        # backoff), under our loop, which keeps a path pending until it is copied.
        cfg = Config(
            retries={"mode": "standard", "total_max_attempts": int(settings.get("awsAttempts", 4))},
            connect_timeout=float(settings.get("awsConnectTimeout", 2)),
            read_timeout=float(settings.get("awsReadTimeout", 3)),
            s3={"addressing_style": "path"} if os.environ.get("AWS_ENDPOINT_URL") else None,
        )
        self.dynamo = boto3.client("dynamodb", config=cfg)
        self.s3 = boto3.client("s3", config=cfg)
        self.outbox = settings.get("outbox")
        self.retry_at = {}  # path -> (when, attempts): backoff per failing path
        self.stopping = False
        self.last_version = 0
        self.first_poll = True

    # -- versions ---------------------------------------------------------------------

    def version(self, key, answered_ms):
        """A number that only grows: the leader's answer time in ms, above any we used."""
        _, last = self.state.copy(key)
        v = max(answered_ms, last + 1, self.last_version + 1)
        self.last_version = v
        return v

    # -- reading the leader -----------------------------------------------------------

    def read(self, path):
        """(status, content type, body, answered ms, data version or None) of the leader's
        answer to GET path. X-Data-Version, where the app sends it (pages.py), is a mark
        taken in the read's own snapshot: it orders answers exactly as the writes."""
        req = urllib.request.Request(self.s["leader"] + path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body = r.read()
                mark = r.headers.get("X-Data-Version")
                return (r.status, r.headers.get("Content-Type", "application/octet-stream"), body, int(time.time() * 1000),
                        int(mark) if mark and mark.isdigit() else None)
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read(), int(time.time() * 1000), None

    # -- copying ----------------------------------------------------------------------

    def put_item(self, item, key, version, same_ok=False):
        """("copied" or "already newer", the S3 key of the body the replaced item pointed to)."""
        # A data version names one snapshot: an equal one holds the same bytes, and may be
        # written again (a replicator that lost its state); a time is strictly ordered.
        condition = "attribute_not_exists(#p) OR #v <= :v" if same_ok else "attribute_not_exists(#p) OR #v < :v"
        try:
            r = self.dynamo.put_item(
                TableName=self.s["table"],
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#p": "path", "#v": "version"},
                ExpressionAttributeValues={":v": {"N": str(version)}},
                # The replaced item, in the same answer: its body in S3, if any, may be unused now.
                ReturnValues="ALL_OLD",
            )
            return "copied", r.get("Attributes", {}).get("s3Key", {}).get("S")
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return "already newer", None  # a later copy is there: not an error
            raise

    def copy_path(self, path):
        """Reads one listed path from the leader and copies it if it changed. True when the
        replica holds it (or something newer)."""
        status, ctype, body, answered, mark = self.read(path)
        if status == 404:
            digest = "deleted"
        elif 200 <= status < 300:
            digest = hashlib.sha256(ctype.encode() + b"\n" + body).hexdigest()
        else:
            raise RuntimeError(f"the leader answered {status} for {path}")
        old, _ = self.state.copy(path)
        if old == digest:
            return False
        version = mark if mark is not None and status != 404 else self.version(path, answered)
        item = {"path": {"S": path}, "version": {"N": str(version)}, "answeredAt": {"N": str(answered)}, "hash": {"S": digest}}
        if digest == "deleted":
            # A tombstone, not a DeleteItem: a late copy of the old answer must not revive it.
            item["deleted"] = {"BOOL": True}
            size = 0
        else:
            item["contentType"] = {"S": ctype}
            size = len(body)
            if size > INLINE_LIMIT:
                key = BODIES_PREFIX + digest
                self.state.unused(key, used=True)  # not collected while this copy needs it
                self.s3.put_object(Bucket=self.s["bucket"], Key=key, Body=body, ContentType=ctype, Metadata={"sha256": digest})
                item["s3Bucket"] = {"S": self.s["bucket"]}
                item["s3Key"] = {"S": key}
            else:
                item["body"] = {"B": body}
        outcome, replaced = self.put_item(item, path, version, same_ok=mark is not None and status != 404)
        ours = item.get("s3Key", {}).get("S")
        if replaced and replaced != ours:
            self.state.unused(replaced, used=False)
        if ours and outcome != "copied":
            self.state.unused(ours, used=False)  # written for a copy that lost: collected unless an item uses it
        # "Already newer": another copy won, whose bytes this one has not seen; the next
        # sweep compares again rather than trust a hash the replica may not hold.
        self.state.copied(path, digest if outcome == "copied" else UNKNOWN, version)
        log.info("copy %s: %s (version %d, %s, %d bytes)", path, outcome, version, "tombstone" if digest == "deleted" else ctype, size)
        return True

    def file_hash(self, name, full):
        st = os.stat(full)
        row = self.state.db.execute("SELECT size, mtime, hash FROM filehash WHERE name = ?", (name,)).fetchone()
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return row[2]
        h = hashlib.sha256()
        with open(full, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 16), b""):
                h.update(chunk)
        digest = h.hexdigest()
        self.state.db.execute(
            "INSERT OR REPLACE INTO filehash (name, size, mtime, hash) VALUES (?, ?, ?, ?)", (name, st.st_size, st.st_mtime_ns, digest)
        )
        return digest

    def sweep_files(self):
        """Copies the changed files of the store; (files copied, whether AWS took them all)."""
        files = self.s.get("files")
        if not files:
            return 0, True
        root = files["dir"]
        seen = set()
        copied = 0
        for dirpath, dirs, names in os.walk(root):
            # What the store serves and no more (acme-files.conf, /api/files): no dotfiles or
            # dot directories, no links (a link to /etc/passwd must not reach a bucket).
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for n in sorted(names):
                full = os.path.join(dirpath, n)
                if n.startswith(".") or os.path.islink(full) or not os.path.isfile(full):
                    continue
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                key = files["prefix"] + rel
                seen.add(key)
                try:
                    digest = self.file_hash(rel, full)
                except OSError:
                    continue  # gone between the walk and the read: the next sweep sees it
                old, _ = self.state.copy(key)
                if old == digest:
                    continue
                try:
                    ctype = mimetypes.guess_type(n)[0] or "application/octet-stream"
                    outcome, digest, etag, size = self.put_file(files["bucket"], key, full, ctype)
                    self.state.copied(key, digest, self.version(key, int(time.time() * 1000)), etag)
                    copied += 1
                    log.info("copy file %s: %s in s3://%s (%d bytes, sha256 %s)", key, outcome, files["bucket"], size, digest[:12])
                except OSError as e:
                    log.error("copy file %s FAILED: %s: %s (retried next sweep)", key, type(e).__name__, e)
                except (BotoCoreError, ClientError, RuntimeError) as e:
                    # AWS failed after botocore's retries: the rest waits for the next sweep
                    # rather than each file waiting out the same outage.
                    log.error("copy file %s FAILED: %s: %s (this sweep stops here)", key, error_code(e), e)
                    return copied, False
        for key in self.state.keys(files["prefix"] + "%"):
            if key in seen:
                continue
            try:
                outcome = self.delete_file(files["bucket"], key, os.path.join(root, key[len(files["prefix"]):]))
                if outcome == "back in the store":
                    continue
                self.state.copied(key, "deleted", self.version(key, int(time.time() * 1000)))
                copied += 1
                log.info("copy file %s: %s (s3://%s)", key, outcome, files["bucket"])
            except (BotoCoreError, ClientError, RuntimeError) as e:
                log.error("delete file %s FAILED: %s: %s (this sweep stops here)", key, error_code(e), e)
                return copied, False
        return copied, True

    # -- files: each write conditional on the object it replaces ------------------------

    def object_now(self, bucket, key):
        """(ETag, sha256 in its metadata) of the object as S3 holds it now, or None."""
        try:
            h = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if error_code(e) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return h["ETag"], h.get("Metadata", {}).get("sha256")

    def put_file(self, bucket, key, full, ctype):
        """Copies the store's file `full` to `key`, conditional on the object being the one
        this replicator last wrote (If-Match its ETag; If-None-Match: * when it knows none).
        A late copy of older bytes, by this replicator or another one left running, is
        refused. Refused, it reads the object's ETag and then the file again: what it then
        writes was read after the object it replaces was written, so it is never older.
        Returns (outcome, sha256, ETag, bytes)."""
        def read():
            with open(full, "rb") as f:
                data = f.read()
            return data, hashlib.sha256(data).hexdigest()

        etag = self.state.etag(key)
        data, digest = read()
        for _ in range(CONDITIONAL_TRIES):
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            try:
                r = self.s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=ctype,
                                       ContentDisposition="attachment", Metadata={"sha256": digest}, **condition)
                return "copied", digest, r["ETag"], len(data)
            except ClientError as e:
                if error_code(e) not in CHANGED_SINCE:
                    raise
            now = self.object_now(bucket, key)
            etag = now[0] if now else None
            data, digest = read()
            if now and now[1] == digest:
                return "already there", digest, etag, len(data)
        raise RuntimeError(f"s3://{bucket}/{key} changed under each of {CONDITIONAL_TRIES} conditional writes")

    def delete_file(self, bucket, key, full):
        """Deletes `key` once the store has no such file, conditional on the object being the
        one this replicator knows (If-Match): an object written since is read again first."""
        etag = self.state.etag(key)
        for _ in range(CONDITIONAL_TRIES):
            if os.path.isfile(full) and not os.path.islink(full):
                return "back in the store"  # the next sweep copies it
            if etag is None:
                now = self.object_now(bucket, key)
                if now is None:
                    return "already gone"
                etag = now[0]
            try:
                self.s3.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
                return "deleted"
            except ClientError as e:
                if error_code(e) in ("NoSuchKey", "404"):
                    return "already gone"
                if error_code(e) not in CHANGED_SINCE:
                    raise
            etag = None
        raise RuntimeError(f"s3://{bucket}/{key} changed under each of {CONDITIONAL_TRIES} conditional deletes")

    # -- bodies no item points to ----------------------------------------------------------

    def collect(self):
        """Deletes the bodies under replica/ that no item has pointed to for the grace period,
        once the items, read now, confirm it. Sends nothing when there are none (an
        unchanged sweep costs nothing); True when AWS took it all."""
        ripe = self.state.unused_before(time.time() - float(self.s.get("blobGraceSeconds", BLOB_GRACE_SECONDS)))
        if not ripe:
            return True
        try:
            pointed = set()
            for path in self.s["paths"]:
                r = self.dynamo.get_item(TableName=self.s["table"], Key={"path": {"S": path}}, ConsistentRead=True,
                                         ProjectionExpression="s3Key")
                key = r.get("Item", {}).get("s3Key", {}).get("S")
                if key:
                    pointed.add(key)
            for key in ripe:
                if key not in pointed:
                    self.s3.delete_object(Bucket=self.s["bucket"], Key=key)
                    log.info("collect s3://%s/%s: no item points to it", self.s["bucket"], key)
                self.state.unused(key, used=True)
            return True
        except (BotoCoreError, ClientError) as e:
            log.error("collect FAILED: %s: %s (tried again next sweep)", error_code(e), e)
            return False

    def try_copy(self, path):
        """One attempt; a failure is logged and the path kept pending with a backoff."""
        try:
            self.copy_path(path)
            self.state.done(path)
            self.retry_at.pop(path, None)
            return True
        except (OSError, RuntimeError, BotoCoreError, ClientError) as e:
            _, attempts = self.retry_at.get(path, (0, 0))
            # Capped exponential backoff with full jitter (AWS's "Exponential Backoff And Jitter").
            delay = random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.2 * 2 ** attempts))
            self.retry_at[path] = (time.monotonic() + delay, attempts + 1)
            log.error("copy %s FAILED (attempt %d): %s: %s; retrying in %.1f s", path, attempts + 1, error_code(e), e, delay)
            return False

    def sweep(self):
        """Reads every listed path and the file tree; True when AWS took every change."""
        t0 = time.monotonic()
        changed = 0
        for path in self.s["paths"]:
            self.state.take([path], self.state.cursor())  # pending first: a crash mid-sweep loses nothing
            before = self.state.copy(path)
            if not self.try_copy(path):
                log.error("sweep stopped after %.2f s: %s could not be copied", time.monotonic() - t0, path)
                return False
            if self.state.copy(path) != before:
                changed += 1
        copied, ok = self.sweep_files()
        if not ok:
            log.error("sweep stopped after %.2f s: %d files copied before AWS failed", time.monotonic() - t0, copied)
            return False
        if not self.collect():
            return False
        log.info("sweep: %d changed, %.2f s", changed + copied, time.monotonic() - t0)
        return True

    def sweep_interval(self, ok):
        # A sweep AWS cut short is tried again sooner: what changed meanwhile is copied
        # within one sweep of the link's return.
        every = float(self.s["sweepSeconds"])
        return every if ok else min(every, RETRY_SWEEP_SECONDS)

    def first_sweep_in(self):
        """Seconds until the first sweep of this run. The schedule is kept on disk: a
        replicator restarted (systemd's Restart=always, every 2 s if it must) does not read
        the whole store each time, and what the app changed while it was down reaches it
        through the outbox. A fresh state, or a listed path never copied, is swept at once."""
        last = self.state.last_sweep()
        if last is None or any(self.state.copy(p)[0] is None for p in self.s["paths"]):
            return 0.0
        ended, ok = last
        every = self.sweep_interval(ok)
        return max(0.0, min(every, ended + every - time.time()))

    # -- the outbox -------------------------------------------------------------------

    def poll_outbox(self):
        if not self.outbox or not os.path.exists(self.outbox):
            return  # the app has written nothing yet; the sweep covers the rest
        cursor = self.state.cursor()
        try:
            db = sqlite3.connect(f"file:{self.outbox}?mode=ro", uri=True, timeout=5)
            try:
                # AUTOINCREMENT's high-water mark: it never goes down while the file lives.
                row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
                last = row[0] if row else 0
                if last < cursor:
                    # A new data file (restored or recreated): its rows start again at 1.
                    log.info("outbox %s starts again (last row %d, cursor %d): reading it from the start", self.outbox, last, cursor)
                    cursor = 0
                rows = db.execute("SELECT seq, path FROM outbox WHERE seq > ? ORDER BY seq", (cursor,)).fetchall()
            finally:
                db.close()
        except sqlite3.Error as e:
            if "no such table" not in str(e):
                log.error("outbox %s: %s", self.outbox, e)
            return
        if rows:
            listed = set(self.s["paths"])
            if self.first_poll:
                # What the app wrote while this replicator was not running (or never read).
                log.info("outbox %s at start: %d rows past row %d", self.outbox, len(rows), cursor)
            self.state.take([p for _, p in rows if p in listed], rows[-1][0])
        self.first_poll = False

    def run(self):
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        first = self.first_sweep_in()
        log.info("replicating %s to table %s%s; sweep every %s s, the next in %.0f s",
                 ", ".join(self.s["paths"]), self.s["table"],
                 f" and {self.s['files']['dir']} to s3://{self.s['files']['bucket']}/{self.s['files']['prefix']}" if self.s.get("files") else "",
                 self.s["sweepSeconds"], first)
        next_sweep = time.monotonic() + first
        while not self.stopping:
            now = time.monotonic()
            if now >= next_sweep:
                done = self.sweep()
                self.state.swept(done)
                next_sweep = time.monotonic() + self.sweep_interval(done)
            self.poll_outbox()
            for path in self.state.pending():
                if self.stopping:
                    break
                when, _ = self.retry_at.get(path, (0, 0))
                if time.monotonic() >= when:
                    self.try_copy(path)
            time.sleep(POLL_SECONDS)
        log.info("stopped")


def main(argv):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s replicator %(levelname)s %(message)s", stream=sys.stdout)
    if len(argv) != 2:
        print("usage: replicator.py replicator.json", file=sys.stderr)
        return 2
    try:
        settings = load_settings(argv[1])
    except ConfigError as e:
        log.error("refusing to start: %s", e)
        return 2
    Replicator(settings).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
