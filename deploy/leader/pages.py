"""The handbook (the pages): stored in the leader's SQLite file, edited by the operator, and
each change announced to the replicator through the outbox (spec §10).

app.py registers it: app.register_blueprint(pages.blueprint(_db, operator_only)).
A write and its outbox row are one transaction: a crash between the write and the
replicator's copy loses nothing, since the replicator reads the outbox, not a signal.
"""
import contextlib
import time

from flask import Blueprint, jsonify, request

# The path the replicator copies when the pages change (deploy/leader/replicator.json).
PAGES_PATH = "/api/pages"
# Outbox rows the replicator has long read: kept a day, then dropped by the next write.
OUTBOX_KEEP_SECONDS = 24 * 3600

SEED = [
    {"id": 1, "title": "Welcome", "body": "Start here: who we are and where things live."},
    {"id": 2, "title": "Expenses", "body": "Submit receipts within 30 days through the hub."},
    {"id": 3, "title": "How to report an outage", "body": "Post in #incidents and page the on-call engineer."},
]
LIMITS = {"title": 200, "body": 100_000}
# An edit's body (app.py keeps every other request to 16 KB); NGINX's limit for this path is
# acme-hub.conf's.
MAX_EDIT_BYTES = 512 * 1024


def _schema(db):
    """Creates the tables once; the pages are seeded in the transaction that creates them,
    so an operator who deletes every page does not get them back."""
    db.execute("BEGIN IMMEDIATE")
    try:
        fresh = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pages'").fetchone() is None
        if fresh:
            db.execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, updated REAL NOT NULL)")
            db.executemany("INSERT INTO pages (id, title, body, updated) VALUES (:id, :title, :body, 0)", SEED)
        db.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, at REAL NOT NULL)")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _bad(field, message):
    return jsonify(error=message, code="INVALID_FIELD", field=field), 400


def blueprint(open_db, operator_only):
    """The pages' routes over `open_db()` (a new sqlite3 connection in autocommit mode)."""
    bp = Blueprint("pages", __name__)
    ready = []

    def db():
        conn = open_db()
        if not ready:
            _schema(conn)
            ready.append(True)
        return conn

    @contextlib.contextmanager
    def writing():
        """One write transaction (BEGIN IMMEDIATE): committed whole, or rolled back."""
        conn = db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def announce(conn, now):
        conn.execute("INSERT INTO outbox (path, at) VALUES (?, ?)", (PAGES_PATH, now))
        conn.execute("DELETE FROM outbox WHERE at < ?", (now - OUTBOX_KEEP_SECONDS,))

    @bp.get(PAGES_PATH)
    def list_pages():
        conn = db()
        try:
            # One snapshot for the pages and the outbox's mark: the mark orders the answers
            # exactly as the writes, whichever worker or replicator read them.
            conn.execute("BEGIN")
            rows = conn.execute("SELECT id, title, body FROM pages ORDER BY id").fetchall()
            mark = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
            conn.execute("COMMIT")
        finally:
            conn.close()
        resp = jsonify(servedBy="leader", pages=[{"id": i, "title": t, "body": b} for i, t, b in rows])
        # The replicator's version for this answer (replicator.py); visitors ignore it.
        resp.headers["X-Data-Version"] = str(mark[0] if mark else 0)
        return resp

    @bp.put(f"{PAGES_PATH}/<int:page_id>")
    @operator_only
    def put_page(page_id):
        request.max_content_length = MAX_EDIT_BYTES
        page = request.get_json(silent=True)
        if not isinstance(page, dict):
            return _bad("body", "the request body must be a JSON object with title and body")
        for field, limit in LIMITS.items():
            value = page.get(field)
            if not isinstance(value, str) or not value.strip():
                return _bad(field, f"{field} must be a non-empty string")
            if len(value) > limit:
                return _bad(field, f"{field} is longer than {limit} characters")
        now = time.time()
        with writing() as conn:
            existed = conn.execute("SELECT 1 FROM pages WHERE id = ?", (page_id,)).fetchone() is not None
            conn.execute(
                "INSERT INTO pages (id, title, body, updated) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE"
                " SET title = excluded.title, body = excluded.body, updated = excluded.updated",
                (page_id, page["title"], page["body"], now),
            )
            announce(conn, now)
        return jsonify(servedBy="leader", page={"id": page_id, "title": page["title"], "body": page["body"]}), 200 if existed else 201

    @bp.delete(f"{PAGES_PATH}/<int:page_id>")
    @operator_only
    def delete_page(page_id):
        now = time.time()
        with writing() as conn:
            gone = conn.execute("DELETE FROM pages WHERE id = ?", (page_id,)).rowcount
            if gone:
                announce(conn, now)
        if not gone:
            return jsonify(error=f"no page {page_id}", code="NO_SUCH_PAGE", field="id"), 404
        return "", 204

    return bp
