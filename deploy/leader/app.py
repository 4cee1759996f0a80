"""The leader's API for health-proxy, served by gunicorn behind NGINX.

Run: gunicorn -c gunicorn.conf.py app:app (from this directory).
CORS is NGINX's job (acme-hub.conf), never Flask's: a header added by both is
"multiple values" and the browser rejects every response.
"""
import fcntl
import functools
import hashlib
import hmac
import json
import os
import sqlite3
import time

from flask import Flask, Response, jsonify, make_response, request
from werkzeug.middleware.proxy_fix import ProxyFix

import pages

app = Flask(__name__)
# Behind NGINX: the scheme and client address come from its X-Forwarded-* headers.
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

# Append-only JSON lines, shared by all gunicorn workers (memory is per worker).
NOTES_LOG = os.environ.get("NOTES_LOG", "notes.jsonl")
# The directory NGINX serves as /files/ (acme-files.conf).
FILES_DIR = os.environ.get("FILES_DIR", "files")

# Idempotency keys (the IETF httpapi draft "The Idempotency-Key HTTP Header Field"): the
# first response per key, in SQLite, shared by all gunicorn workers and threads.
IDEMPOTENCY_DB = os.environ.get("IDEMPOTENCY_DB", os.path.join(os.path.dirname(NOTES_LOG) or ".", "idempotency.sqlite3"))
KEEP_SECONDS = 24 * 3600
# A key still pending after gunicorn's worker timeout (30 s) belongs to a killed worker:
# a repeat may run it again rather than get 409 for a day.
ABANDONED_SECONDS = 60

# The leader's one SQLite file (the handbook and its outbox, pages.py).
DATA_DB = os.environ.get("DATA_DB", os.path.join(os.path.dirname(NOTES_LOG) or ".", "data.sqlite3"))


def _db():
    """A connection to DATA_DB in autocommit mode: WAL (readers never wait for the writer),
    and a writer waits up to 10 s for another across gunicorn's workers."""
    db = sqlite3.connect(DATA_DB, timeout=10, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=10000")
    return db


def operator_only(view):
    """The operator's writes: Authorization: Bearer $OPERATOR_TOKEN, else 401 (and always
    401 while OPERATOR_TOKEN is unset)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = os.environ.get("OPERATOR_TOKEN", "")
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            resp = jsonify(error="this write needs the operator's token (Authorization: Bearer)", code="UNAUTHORIZED")
            resp.headers["WWW-Authenticate"] = "Bearer"
            return resp, 401
        return view(*args, **kwargs)

    return wrapper


def _keys():
    db = sqlite3.connect(IDEMPOTENCY_DB, timeout=10, isolation_level=None)
    db.execute(
        "CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, request TEXT NOT NULL,"
        " created REAL NOT NULL, status INTEGER, body BLOB, content_type TEXT)"
    )
    return db


def idempotent(view):
    """Honours the Idempotency-Key header on a write: the first request with a key runs,
    and its answer (status and body) is kept for 24 h; a repeat gets that answer again
    (with Idempotent-Replayed: true), a repeat while the first still runs gets 409, and
    the same key on another request gets 422. 5xx answers are not kept: the repeat runs."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 0 < len(key) <= 255:
            return jsonify(error="Idempotency-Key must have 1 to 255 characters"), 400
        # What the key stands for: the same key on another request is the client's bug.
        fingerprint = hashlib.sha256(f"{request.method} {request.path}\n".encode() + request.get_data()).hexdigest()
        now = time.time()
        db = _keys()
        try:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time, across workers
            db.execute("DELETE FROM idempotency WHERE created < ?", (now - KEEP_SECONDS,))
            db.execute("DELETE FROM idempotency WHERE status IS NULL AND created < ?", (now - ABANDONED_SECONDS,))
            row = db.execute("SELECT request, status, body, content_type FROM idempotency WHERE key = ?", (key,)).fetchone()
            if row is None:
                db.execute("INSERT INTO idempotency (key, request, created) VALUES (?, ?, ?)", (key, fingerprint, now))
            db.execute("COMMIT")
        finally:
            db.close()
        if row is not None:
            first, status, body, content_type = row
            if first != fingerprint:
                return jsonify(error="this Idempotency-Key was used for another request"), 422
            if status is None:
                return jsonify(error="a request with this Idempotency-Key is still running; try again shortly"), 409
            replay = Response(body, status=status, content_type=content_type)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        resp = None
        try:
            resp = make_response(view(*args, **kwargs))
        finally:
            db = _keys()
            try:
                if resp is None or resp.status_code >= 500:
                    db.execute("DELETE FROM idempotency WHERE key = ?", (key,))
                else:
                    db.execute(
                        "UPDATE idempotency SET status = ?, body = ?, content_type = ? WHERE key = ?",
                        (resp.status_code, resp.get_data(), resp.content_type, key),
                    )
            finally:
                db.close()
        return resp

    return wrapper


@app.get("/health")
def health():
    # health.expect in the page's config is matched against this body; no-store so
    # that no cache between here and the browser can vouch for a dead server.
    resp = jsonify(status="ok")
    resp.headers["Cache-Control"] = "no-store"
    return resp


# The handbook: GET /api/pages, the operator's PUT/DELETE /api/pages/<id>, and the outbox.
app.register_blueprint(pages.blueprint(_db, operator_only))


@app.get("/api/files")
def files():
    names = sorted(os.listdir(FILES_DIR)) if os.path.isdir(FILES_DIR) else []
    listed = [{"name": n, "size": os.path.getsize(os.path.join(FILES_DIR, n))} for n in names]
    return jsonify(servedBy="leader", files=listed)


@app.get("/api/hub/links")
def hub_links():
    # Absolute URLs: the page lives on another origin, where "/hub/game" would point at
    # the static site. host_url ends with "/" (hence rstrip), and is right only because
    # NGINX passes Host with its port and ProxyFix the scheme.
    base = request.host_url.rstrip("/")
    return jsonify(servedBy="leader", links=[
        {"title": "Game server", "href": f"{base}/hub/game"},
        {"title": "Experiments", "href": f"{base}/hub/lab"},
    ])


@app.post("/api/notes")
@idempotent            # the first answer per Idempotency-Key, replayed to a repeat
def add_note():
    note = request.get_json(silent=True) or {}
    text = str(note.get("text", "")).strip()
    if not text:
        return jsonify(error="a note needs text"), 400
    # One writer at a time across workers: the id is the line number under the lock.
    with open(NOTES_LOG, "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.seek(0)
        note_id = sum(1 for _ in log) + 1
        log.write(json.dumps({"id": note_id, "text": text, "clientId": note.get("clientId"), "at": time.time()}) + "\n")
    # 201 Created; the page treats any 2xx as saved, but say what happened.
    return jsonify(servedBy="leader", id=note_id), 201


@app.get("/api/notes")
def list_notes():
    try:
        with open(NOTES_LOG, encoding="utf-8") as log:
            notes = [json.loads(line) for line in log if line.strip()]
    except FileNotFoundError:
        notes = []
    return jsonify(servedBy="leader", notes=notes)
