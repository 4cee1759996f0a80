"""The leader's API as Flask serves it behind NGINX: the recipe the README quotes.

CORS is NGINX's job (nginx.conf.template), never Flask's: a header added by both is
"multiple values" and the browser rejects every response.
"""
import fcntl
import json
import os
import time

from flask import Flask, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

app = Flask(__name__)
# Behind NGINX: the scheme and client address come from its X-Forwarded-* headers.
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

# Append-only JSON lines, shared by all gunicorn workers (memory is per worker).
NOTES_LOG = os.environ.get("NOTES_LOG", "notes.jsonl")
FILES_DIR = os.environ.get("FILES_DIR", "files")

PAGES = [
    {"id": 1, "title": "Welcome", "body": "Start here: who we are and where things live."},
    {"id": 2, "title": "Expenses", "body": "Submit receipts within 30 days through the hub."},
    {"id": 3, "title": "How to report an outage", "body": "Post in #incidents and page the on-call engineer."},
]


@app.get("/health")
def health():
    # health.expect in the page's config is matched against this body; no-store so
    # that no cache between here and the browser can vouch for a dead server.
    resp = jsonify(status="ok")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@app.get("/api/pages")
def pages():
    return jsonify(servedBy="leader", pages=PAGES)


@app.get("/api/files")
def files():
    names = sorted(os.listdir(FILES_DIR)) if os.path.isdir(FILES_DIR) else []
    listed = [{"name": n, "size": os.path.getsize(os.path.join(FILES_DIR, n))} for n in names]
    return jsonify(servedBy="leader", files=listed)


@app.get("/api/hub/links")
def hub_links():
    # Absolute URLs: the page lives on another origin, where "/hub/game" would point at
    # the static site. host_url is right only if NGINX passes Host with its port.
    base = request.host_url.rstrip("/")
    return jsonify(servedBy="leader", links=[
        {"title": "Game server", "href": f"{base}/hub/game"},
        {"title": "Experiments", "href": f"{base}/hub/lab"},
    ])


@app.post("/api/notes")
def add_note():
    note = request.get_json(silent=True) or {}
    text = str(note.get("text", "")).strip()
    if not text:
        return jsonify(error="a note needs text"), 400
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
