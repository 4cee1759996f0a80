"""What visitors saw (spec §11): the browsers' outage reports, stored in the leader's SQLite
file, deduplicated by episode id, and read back by the operator's page (operator/).

app.py registers it: app.register_blueprint(reports.blueprint(_db, operator_only, idempotent, write)).
No user data is kept: a report holds counts, times and the package version; the client's
address is NGINX's business (its per-address limit, in memory), never stored here.
"""
import json
import math
import os
import re
import time
import uuid

from flask import Blueprint, jsonify, request

# The recipe's reports.path (www/config.json, the page's config).
REPORTS_PATH = "/api/reports"
# A report is a few hundred bytes; NGINX's limit for this path (acme-hub.conf) is the same.
MAX_REPORT_BYTES = 4096
# Kept this many days after arrival, then purged (app.py's purge thread calls purge()).
KEEP_DAYS = float(os.environ.get("REPORTS_KEEP_DAYS", "90"))
# At most this many rows: past it a report is refused (507) rather than filling the disk
# or pushing out what was stored; NGINX's per-address limit keeps one address far below.
MAX_ROWS = int(os.environ.get("REPORTS_MAX_ROWS", "100000"))
DAY_MS = 24 * 3600 * 1000
# A browser's clock may be ahead of ours; a day is the most we believe.
SKEW_MS = DAY_MS
MAX_COUNT = 10_000_000
MAX_RTT_MS = 600_000
MAX_STATUSES = 32
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$")
# The operator's reads: a page of at most 1,000 reports, the next one by cursor.
MAX_PAGE = 1000
DEFAULT_PAGE = 500
CURSOR_RE = re.compile(r"^([0-9]{1,15}):([0-9]{1,15})$")

FIELDS = ("id", "startedAt", "durationMs", "probes", "followerReads", "leaderUnavailable", "outcomeUnknown",
          "followerRequests", "rttMs", "version", "sampleRate")
PROBES = ("timeout", "network", "status", "body")
COUNTS = ("followerReads", "leaderUnavailable", "outcomeUnknown", "followerRequests")
COLUMNS = ("id", "started_at", "duration_ms", "probe_timeout", "probe_network", "probe_status", "probe_body", "follower_reads",
           "leader_unavailable", "outcome_unknown", "follower_requests", "rtt_ms", "version", "sample_rate", "received_at")


def keep_ms():
    return int(KEEP_DAYS * DAY_MS)


class Invalid(Exception):
    """A report field that breaks its rule: `field` names it (probes.status, not just probes)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def _bad(field, message):
    return jsonify(error=message, code="INVALID_FIELD", field=field), 400


def _int(value, field, low, high, range_=None):
    # bool is an int in Python; true is not a count.
    if type(value) is not int:
        raise Invalid(field, f"{field} must be an integer")
    if not low <= value <= high:
        raise Invalid(field, f"{field} must be {range_ or f'from {low} to {high}'}")
    return value


def _object(pairs):
    """json.loads' object hook: a key given twice is ambiguous, not "the last one wins"."""
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Invalid(key, f"field {key!r} is given twice")
        seen[key] = value
    return seen


def _constant(name):
    raise Invalid("body", f"{name} is not JSON")


def parse(raw, now_ms):
    """The report in `raw` (bytes) as stored: a dict of COLUMNS' values, or Invalid."""
    try:
        body = json.loads(raw, object_pairs_hook=_object, parse_constant=_constant)
    except (ValueError, RecursionError):
        raise Invalid("body", "the body must be a JSON object (a report)") from None
    if not isinstance(body, dict):
        raise Invalid("body", "the body must be a JSON object (a report)")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise Invalid(unknown[0], f"unknown field {unknown[0]!r}: a report has {', '.join(FIELDS)}")
    missing = [f for f in FIELDS if f not in body]
    if missing:
        raise Invalid(missing[0], f"{missing[0]} is missing")

    rid = body["id"]
    try:
        parsed = uuid.UUID(rid) if isinstance(rid, str) and len(rid) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != rid.lower() or parsed.version != 4:
        raise Invalid("id", "id must be a random UUID (version 4), e.g. 0b5e8ae8-3a61-4c27-9f3f-1e1f5a7f9c1d")
    started = _int(body["startedAt"], "startedAt", now_ms - keep_ms(), now_ms + SKEW_MS,
                   f"a time in epoch ms within the last {KEEP_DAYS:g} days (reports are kept that long)")
    duration = _int(body["durationMs"], "durationMs", 0, keep_ms(), f"from 0 to {KEEP_DAYS:g} days in ms")
    if started + duration > now_ms + SKEW_MS:
        raise Invalid("durationMs", "the episode ends in the future (startedAt + durationMs)")

    probes = body["probes"]
    if not isinstance(probes, dict):
        raise Invalid("probes", "probes must be an object: {timeout, network, status, body}")
    unknown = sorted(set(probes) - set(PROBES))
    if unknown:
        raise Invalid(f"probes.{unknown[0]}", f"unknown cause {unknown[0]!r}: probes has {', '.join(PROBES)}")
    missing = [p for p in PROBES if p not in probes]
    if missing:
        raise Invalid(f"probes.{missing[0]}", f"probes.{missing[0]} is missing")
    for cause in ("timeout", "network", "body"):
        _int(probes[cause], f"probes.{cause}", 0, MAX_COUNT)
    statuses = probes["status"]
    if not isinstance(statuses, list) or len(statuses) > MAX_STATUSES:
        raise Invalid("probes.status", f"probes.status must be a list of at most {MAX_STATUSES} [status, count] pairs")
    seen = set()
    for pair in statuses:
        if not isinstance(pair, list) or len(pair) != 2:
            raise Invalid("probes.status", "each entry of probes.status must be a [status, count] pair")
        code = _int(pair[0], "probes.status", 100, 599)
        _int(pair[1], "probes.status", 0, MAX_COUNT)
        if code in seen:
            raise Invalid("probes.status", f"status {code} is listed twice in probes.status")
        seen.add(code)

    counts = [_int(body[f], f, 0, MAX_COUNT) for f in COUNTS]
    rtt = body["rttMs"]
    if rtt is not None:
        _int(rtt, "rttMs", 0, MAX_RTT_MS)
    version = body["version"]
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise Invalid("version", "version must be a package version of 1 to 32 characters (A-Z a-z 0-9 . + _ -)")
    rate = body["sampleRate"]
    if type(rate) not in (int, float) or not math.isfinite(rate) or not 0 < rate <= 1:
        raise Invalid("sampleRate", "sampleRate must be a number above 0 and at most 1")

    return dict(zip(COLUMNS, (
        rid.lower(), started, duration, probes["timeout"], probes["network"],
        json.dumps(sorted(statuses), separators=(",", ":")), probes["body"], *counts, rtt, version, float(rate), now_ms,
    )))


def schema(db):
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS reports (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL, ended_at INTEGER NOT NULL,
            probe_timeout INTEGER NOT NULL, probe_network INTEGER NOT NULL, probe_status TEXT NOT NULL,
            probe_body INTEGER NOT NULL, follower_reads INTEGER NOT NULL, leader_unavailable INTEGER NOT NULL,
            outcome_unknown INTEGER NOT NULL, follower_requests INTEGER NOT NULL, rtt_ms INTEGER,
            version TEXT NOT NULL, sample_rate REAL NOT NULL, received_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS reports_started ON reports (started_at, seq);
        CREATE INDEX IF NOT EXISTS reports_received ON reports (received_at);
        """
    )


def purge(db, now_ms=None):
    """Drops the reports that arrived more than KEEP_DAYS ago (by the index on received_at)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return db.execute("DELETE FROM reports WHERE received_at < ?", (now_ms - keep_ms(),)).rowcount


def _as_json(row):
    r = dict(zip(("seq",) + COLUMNS, row))
    return {
        "id": r["id"], "startedAt": r["started_at"], "durationMs": r["duration_ms"],
        "probes": {"timeout": r["probe_timeout"], "network": r["probe_network"],
                   "status": json.loads(r["probe_status"]), "body": r["probe_body"]},
        "followerReads": r["follower_reads"], "leaderUnavailable": r["leader_unavailable"],
        "outcomeUnknown": r["outcome_unknown"], "followerRequests": r["follower_requests"],
        "rttMs": r["rtt_ms"], "version": r["version"], "sampleRate": r["sample_rate"], "receivedAt": r["received_at"],
    }


def blueprint(open_db, operator_only, idempotent, write):
    """The reports' routes over `open_db()`; `write()` is app.py's write transaction (the
    idempotent decorator's own, so that a report and its key's answer commit together)."""
    bp = Blueprint("reports", __name__)
    conn = open_db()
    try:
        schema(conn)
    finally:
        conn.close()

    @bp.before_request
    def small_bodies():
        # Before the idempotent decorator reads the body: a larger one is 413, not read.
        request.max_content_length = MAX_REPORT_BYTES

    @bp.post(REPORTS_PATH)
    @idempotent
    def add_report():
        if not request.is_json:
            return _bad("body", "the body must be JSON (Content-Type: application/json)")
        now_ms = int(time.time() * 1000)
        try:
            report = parse(request.get_data(), now_ms)
        except Invalid as e:
            return _bad(e.field, str(e))
        with write() as db:
            names = ", ".join(COLUMNS)
            marks = ", ".join(f":{c}" for c in COLUMNS)
            new = db.execute(
                f"INSERT INTO reports ({names}, ended_at) VALUES ({marks}, :started_at + :duration_ms) ON CONFLICT(id) DO NOTHING",
                report,
            ).rowcount
            if new and db.execute("SELECT count(*) FROM reports").fetchone()[0] > MAX_ROWS:
                # Taken back in the same transaction: full is refused, not stored.
                db.execute("DELETE FROM reports WHERE id = ?", (report["id"],))
                return jsonify(error=f"the leader holds {MAX_ROWS} reports, its limit: this one is not stored",
                               code="REPORTS_FULL"), 507
        if not new:
            # A repeat (a retry, or the same episode sent again): the first is kept, no second row.
            return jsonify(servedBy="leader", id=report["id"], duplicate=True), 200
        return jsonify(servedBy="leader", id=report["id"]), 201

    @bp.get(REPORTS_PATH)
    @operator_only
    def list_reports():
        """Reports whose episode overlaps [from, to) (epoch ms; the last 24 h by default), by
        start time; `limit` per page (1–1000, default 500), `after` the previous page's `next`."""
        now_ms = int(time.time() * 1000)
        args = {}
        for name, default in (("to", now_ms), ("from", None), ("limit", DEFAULT_PAGE)):
            raw = request.args.get(name)
            if raw is None:
                args[name] = default
                continue
            if not re.fullmatch(r"[0-9]{1,15}", raw):
                return _bad(name, f"{name} must be a non-negative integer" + (" (epoch ms)" if name != "limit" else ""))
            args[name] = int(raw)
        if args["from"] is None:
            args["from"] = max(0, args["to"] - DAY_MS)
        if args["from"] >= args["to"]:
            return _bad("from", "from must be before to")
        if not 1 <= args["limit"] <= MAX_PAGE:
            return _bad("limit", f"limit must be from 1 to {MAX_PAGE}")
        after = (-1, -1)
        if "after" in request.args:
            m = CURSOR_RE.match(request.args["after"])
            if not m:
                return _bad("after", "after must be the `next` of the previous page")
            after = (int(m[1]), int(m[2]))
        db = open_db()
        try:
            # started_at bounded on both sides (no episode is longer than keep_ms): the index's range.
            rows = db.execute(
                f"SELECT seq, {', '.join(COLUMNS)} FROM reports WHERE started_at < :to AND started_at >= :low"
                " AND ended_at >= :from AND (started_at, seq) > (:a, :b) ORDER BY started_at, seq LIMIT :limit",
                {"to": args["to"], "from": args["from"], "low": args["from"] - keep_ms(), "a": after[0], "b": after[1],
                 "limit": args["limit"]},
            ).fetchall()
        finally:
            db.close()
        last = rows[-1] if len(rows) == args["limit"] else None
        resp = jsonify(servedBy="leader", **{"from": args["from"]}, to=args["to"], keepDays=KEEP_DAYS,
                       reports=[_as_json(r) for r in rows], next=f"{last[2]}:{last[0]}" if last else None)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return bp
