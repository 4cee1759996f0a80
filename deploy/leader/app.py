"""The leader's API for health-proxy, served by gunicorn behind NGINX.

Run: gunicorn -c gunicorn.conf.py app:app (from this directory). Never in debug mode: the
app refuses it, whatever FLASK_DEBUG says.
CORS is NGINX's job (acme-hub.conf), never Flask's: a header added by both is
"multiple values" and the browser rejects every response.
"""
import functools
import hashlib
import hmac
import logging
import os
import re
import sqlite3
import threading
import time
import uuid

from flask import Flask, Response, g, jsonify, make_response, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import pages
import reports

app = Flask(__name__)
# Debug mode pretty-prints, shows tracebacks and lets exceptions through: never here.
app.config["DEBUG"] = False
# A note is at most 2,000 characters (8 KB of UTF-8); NGINX refuses larger bodies first.
app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
# Behind NGINX: the scheme and client address come from its X-Forwarded-* headers.
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
log = logging.getLogger("acme-hub")

# The app's data, in one SQLite file shared by all gunicorn workers and threads.
DATA_DB = os.environ.get("DATA_DB", os.path.join(os.path.dirname(os.path.abspath(__file__)), "hub.sqlite3"))
# The directory NGINX serves as /files/ (acme-files.conf).
FILES_DIR = os.environ.get("FILES_DIR", "files")

OPERATOR_TOKEN = os.environ.get("OPERATOR_TOKEN", "")

# Idempotency keys (the IETF httpapi draft "The Idempotency-Key HTTP Header Field"): the
# first response per key is kept for a day.
KEEP_SECONDS = 24 * 3600
# A key still pending after gunicorn's worker timeout (30 s) belongs to a killed worker:
# a repeat may run it again rather than get 409 for a day.
ABANDONED_SECONDS = 60
PURGE_EVERY_SECONDS = 600
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NOTE_MAX_CHARS = 2000


def _db():
    """A connection to DATA_DB: WAL (readers never wait for the writer), a 5 s busy timeout,
    autocommit (transactions are explicit: BEGIN IMMEDIATE for writes)."""
    db = sqlite3.connect(DATA_DB, timeout=5, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _init():
    db = _db()
    try:
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL,
                client_id TEXT NOT NULL, at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, request TEXT NOT NULL,
                created REAL NOT NULL, status INTEGER, body BLOB, content_type TEXT);
            CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created);
            """
        )
    finally:
        db.close()


_init()


def operator_only(view):
    """Operator endpoints: `Authorization: Bearer $OPERATOR_TOKEN`; 401 without it (and always when unset)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        sent = request.headers.get("Authorization", "").encode()
        if not OPERATOR_TOKEN or not hmac.compare_digest(sent, f"Bearer {OPERATOR_TOKEN}".encode()):
            resp = jsonify(error="operator token required: Authorization: Bearer <token>", code="UNAUTHORIZED", field="Authorization")
            resp.headers["WWW-Authenticate"] = "Bearer"
            return resp, 401
        return view(*args, **kwargs)

    return wrapper


def bad_request(field, message):
    return jsonify(error=message, code="INVALID_FIELD", field=field), 400


class write:
    """The request's write transaction (`with write() as db:`): the one the idempotent
    decorator opened, so that the write and its key's answer commit together; else its own."""

    def __enter__(self):
        self.own = g.get("tx") is None
        if not self.own:
            return g.tx
        self.db = _db()
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, *_):
        if self.own:
            try:
                self.db.execute("ROLLBACK" if kind else "COMMIT")
            finally:
                self.db.close()


def purge_keys():
    """Drops answers older than a day and keys abandoned by a killed worker (by the index on created)."""
    now = time.time()
    db = _db()
    try:
        db.execute("DELETE FROM idempotency WHERE created < ?", (now - KEEP_SECONDS,))
        db.execute("DELETE FROM idempotency WHERE status IS NULL AND created < ?", (now - ABANDONED_SECONDS,))
    finally:
        db.close()


def purge_reports():
    """Drops the outage reports older than reports.KEEP_DAYS (by the index on their arrival)."""
    db = _db()
    try:
        reports.purge(db)
    finally:
        db.close()


def _purger():
    while True:
        for purge in (purge_keys, purge_reports):
            try:
                purge()
            except sqlite3.Error as e:  # busy past the timeout: the next round does it
                log.warning("%s failed: %s", purge.__name__, e)
        time.sleep(PURGE_EVERY_SECONDS)


threading.Thread(target=_purger, name="purge", daemon=True).start()


def idempotent(view):
    """Honours the Idempotency-Key header on a write: the first request with a key runs,
    and its answer (status and body) is kept for 24 h, committed in the same transaction
    as the view's write; a repeat gets that answer again (with Idempotent-Replayed: true),
    a repeat while the first still runs gets 409, and the same key on another request gets
    422. 5xx answers are not kept: the repeat runs."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not KEY_RE.match(key):
            return bad_request("Idempotency-Key", "Idempotency-Key must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -")
        # What the key stands for: the same key on another request is the client's bug.
        fingerprint = hashlib.sha256(f"{request.method} {request.path}\n".encode() + request.get_data()).hexdigest()
        now = time.time()
        db = _db()
        try:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time, across workers
            row = db.execute("SELECT request, status, body, content_type, created FROM idempotency WHERE key = ?", (key,)).fetchone()
            if row is not None and row[1] is None and row[4] < now - ABANDONED_SECONDS:
                db.execute("DELETE FROM idempotency WHERE key = ?", (key,))
                row = None
            if row is None:
                db.execute("INSERT INTO idempotency (key, request, created) VALUES (?, ?, ?)", (key, fingerprint, now))
            db.execute("COMMIT")
        finally:
            db.close()
        if row is not None:
            first, status, body, content_type, _ = row
            if first != fingerprint:
                return jsonify(error="this Idempotency-Key was used for another request"), 422
            if status is None:
                return jsonify(error="a request with this Idempotency-Key is still running; try again shortly"), 409
            replay = Response(body, status=status, content_type=content_type)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        db = _db()
        try:
            db.execute("BEGIN IMMEDIATE")
            g.tx = db
            resp = None
            try:
                resp = make_response(view(*args, **kwargs))
                if resp.status_code < 500:
                    db.execute(
                        "UPDATE idempotency SET status = ?, body = ?, content_type = ? WHERE key = ?",
                        (resp.status_code, resp.get_data(), resp.content_type, key),
                    )
                    db.execute("COMMIT")
                    return resp
            finally:
                g.tx = None
                if db.in_transaction:
                    db.execute("ROLLBACK")
            # A 5xx or an exception: nothing was written; the key is freed so that a repeat runs.
            db.execute("DELETE FROM idempotency WHERE key = ?", (key,))
            return resp
        except BaseException:
            try:
                db.execute("DELETE FROM idempotency WHERE key = ?", (key,))
            except sqlite3.Error:  # left running: given up after ABANDONED_SECONDS
                pass
            raise
        finally:
            db.close()

    return wrapper


@app.errorhandler(HTTPException)
def http_error(e):
    """Every error as JSON (400, 404, 405, 413, 429, …), never an HTML page."""
    resp = jsonify(error=e.description, code=e.name.upper().replace(" ", "_"))
    resp.status_code = e.code
    if e.code == 405 and e.valid_methods:
        resp.headers["Allow"] = ", ".join(e.valid_methods)
    return resp


@app.errorhandler(Exception)
def internal_error(e):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return jsonify(error="internal error", code="INTERNAL_SERVER_ERROR"), 500


@app.get("/health")
def health():
    # health.expect in the page's config is matched against this body; no-store so
    # that no cache between here and the browser can vouch for a dead server.
    resp = jsonify(status="ok")
    resp.headers["Cache-Control"] = "no-store"
    return resp


# The handbook: GET /api/pages, the operator's PUT/DELETE /api/pages/<id>, and the outbox.
app.register_blueprint(pages.blueprint(_db, operator_only))
# What visitors saw: POST /api/reports from the browsers, the operator's GET (reports.py).
app.register_blueprint(reports.blueprint(_db, operator_only, idempotent, write))


@app.get("/api/files")
def files():
    # Regular files only, no dotfiles and no links (NGINX serves neither: acme-files.conf).
    listed = []
    try:
        with os.scandir(FILES_DIR) as entries:
            for e in entries:
                if e.name.startswith(".") or not e.is_file(follow_symlinks=False):
                    continue
                listed.append({"name": e.name, "size": e.stat(follow_symlinks=False).st_size})
    except FileNotFoundError:
        pass
    return jsonify(servedBy="leader", files=sorted(listed, key=lambda f: f["name"]))


@app.get("/api/hub/links")
def hub_links():
    # Absolute URLs: the page lives on another origin, where "/hub/game" would point at
    # the static site. host_url ends with "/" (hence rstrip); NGINX sets Host to its own
    # server name and port (never the client's Host) and ProxyFix the scheme.
    base = request.host_url.rstrip("/")
    return jsonify(servedBy="leader", links=[
        {"title": "Game server", "href": f"{base}/hub/game"},
        {"title": "Experiments", "href": f"{base}/hub/lab"},
    ])


def _uuid(value):
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@app.post("/api/notes")
@idempotent            # the first answer per Idempotency-Key, replayed to a repeat
def add_note():
    note = request.get_json(silent=True)
    if not isinstance(note, dict):
        return bad_request("body", "the body must be a JSON object: {\"text\": \"…\", \"clientId\": \"<uuid>\"}")
    unknown = sorted(set(note) - {"text", "clientId"})
    if unknown:
        return bad_request(unknown[0], f"unknown field {unknown[0]!r}: a note has text and clientId")
    text = note.get("text")
    if not isinstance(text, str) or not text.strip():
        return bad_request("text", "text must be a non-empty string")
    text = text.strip()
    if len(text) > NOTE_MAX_CHARS:
        return bad_request("text", f"text must be at most {NOTE_MAX_CHARS} characters")
    client_id = note.get("clientId")
    if not _uuid(client_id):
        return bad_request("clientId", "clientId must be a UUID")
    with write() as db:
        note_id = db.execute("INSERT INTO notes (text, client_id, at) VALUES (?, ?, ?)", (text, client_id, time.time())).lastrowid
    # 201 Created; the page treats any 2xx as saved, but say what happened.
    return jsonify(servedBy="leader", id=note_id), 201


@app.get("/api/notes")
@operator_only
def list_notes():
    """The operator's view of the notes, oldest first: ?after=ID (exclusive) and ?limit=N (1–500, default 100)."""
    try:
        after = int(request.args.get("after", "0"))
    except ValueError:
        return bad_request("after", "after must be a note id (an integer)")
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 500:
        return bad_request("limit", "limit must be an integer from 1 to 500")
    db = _db()
    try:
        rows = db.execute("SELECT id, text, client_id, at FROM notes WHERE id > ? ORDER BY id LIMIT ?", (after, limit)).fetchall()
    finally:
        db.close()
    notes = [{"id": i, "text": t, "clientId": c, "at": a} for i, t, c, a in rows]
    return jsonify(servedBy="leader", notes=notes, next=notes[-1]["id"] if len(notes) == limit else None)
