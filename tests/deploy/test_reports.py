"""The outage reports' store (deploy/leader/reports.py, through app.py's test client): what
POST /api/reports accepts and refuses, field by field, the deduplication by episode id, the
operator's GET behind the token, the retention purge and the row cap. NGINX's part (the
4 KB body limit, the per-address rate) is the deploy check's (tests/deploy/deploy-check.sh).

Run: target/venv/bin/python -m unittest discover -s tests/deploy (tools/test.sh does).
"""
import importlib
import json
import random
import sqlite3
import time
import unittest
import uuid

from leader_app import TOKEN, Refusals, leader

reports = importlib.import_module("reports")
DAY_MS = 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def report(**fields):
    """A valid report (an episode that ended a minute ago), with `fields` replaced."""
    r = {"id": str(uuid.uuid4()), "startedAt": now_ms() - 150_000, "durationMs": 90_000,
         "probes": {"timeout": 3, "network": 1, "status": [[502, 2], [504, 1]], "body": 0},
         "followerReads": 7, "leaderUnavailable": 2, "outcomeUnknown": 1, "followerRequests": 19,
         "rttMs": 23, "version": "0.1.0", "sampleRate": 1}
    r.update(fields)
    return r


def rows(where="1", args=()):
    db = sqlite3.connect(leader.DATA_DB)
    try:
        return db.execute(f"SELECT * FROM reports WHERE {where}", args).fetchall()
    finally:
        db.close()


class Reports(Refusals, unittest.TestCase):
    def setUp(self):
        self.c = leader.app.test_client()

    def post(self, body, raw=False, headers=None, content_type="application/json"):
        return self.c.post("/api/reports", data=body if raw else json.dumps(body), content_type=content_type, headers=headers or {})

    def assertRefused(self, resp, status, field=None, code=None):
        # A field named: the code is INVALID_FIELD unless the test names another.
        super().assertRefused(resp, status, field, code or ("INVALID_FIELD" if field else None))

    def assertInvalid(self, field, bodies):
        for body in bodies:
            with self.subTest(field=field, body=json.dumps(body)[:120]):
                self.assertRefused(self.post(body), 400, field)
                if isinstance(body, dict) and isinstance(body.get("id"), str):
                    self.assertEqual(rows("id = ?", (body["id"].lower(),)), [], "a refused report was stored")

    def stored(self, rid):
        got = self.c.get(f"/api/reports?from=0&to={now_ms() + 2 * DAY_MS}&limit=1000", headers=TOKEN).get_json()["reports"]
        while True:
            found = [r for r in got if r["id"] == rid]
            if found or len(got) < 1000:
                return found
            raise AssertionError("more than 1000 reports in the test store")

    # ---- POST: what is stored ----

    def test_a_valid_report_is_stored_as_sent(self):
        r = report()
        resp = self.post(r)
        self.assertEqual(resp.status_code, 201, resp.get_data(as_text=True))
        self.assertEqual(resp.get_json()["id"], r["id"])
        [got] = self.stored(r["id"])
        received = got.pop("receivedAt")
        self.assertLessEqual(abs(received - now_ms()), 5000)
        self.assertEqual(got, {**r, "probes": {**r["probes"], "status": [[502, 2], [504, 1]]}, "sampleRate": 1.0})

    def test_edge_values_are_taken(self):
        for r in (report(rttMs=None), report(sampleRate=0.01), report(sampleRate=1.0), report(durationMs=0),
                  report(probes={"timeout": 0, "network": 0, "status": [], "body": 4}), report(version="1.2.3-rc.1+build_7"),
                  report(id=str(uuid.uuid4()).upper()), report(startedAt=now_ms() - 89 * DAY_MS, durationMs=DAY_MS)):
            with self.subTest(r=json.dumps(r)[:160]):
                self.assertEqual(self.post(r).status_code, 201)
                self.assertEqual(len(rows("id = ?", (r["id"].lower(),))), 1)

    def test_a_repeat_is_answered_without_a_second_row(self):
        r = report()
        first = self.post(r)
        again = self.post(r)
        other = self.post({**r, "durationMs": 5})  # the same id with another body: the first is kept
        self.assertEqual([first.status_code, again.status_code, other.status_code], [201, 200, 200])
        self.assertEqual(again.get_json(), {**first.get_json(), "duplicate": True})
        [row] = rows("id = ?", (r["id"],))
        self.assertEqual(self.stored(r["id"])[0]["durationMs"], 90_000, row)

    def test_the_episode_id_as_idempotency_key(self):
        r = report()
        key = {"Idempotency-Key": r["id"]}
        first = self.post(r, headers=key)
        again = self.post(r, headers=key)
        self.assertEqual((first.status_code, again.status_code), (201, 201))
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(first.get_data(), again.get_data())
        self.assertEqual(len(rows("id = ?", (r["id"],))), 1)
        # Sent once without a key, then with one (a reload between): still one row.
        r2 = report()
        self.assertEqual(self.post(r2).status_code, 201)
        self.assertEqual(self.post(r2, headers={"Idempotency-Key": r2["id"]}).status_code, 200)
        self.assertEqual(len(rows("id = ?", (r2["id"],))), 1)

    def test_no_client_address_is_stored(self):
        r = report()
        resp = self.c.post("/api/reports", data=json.dumps(r), content_type="application/json",
                           headers={"X-Forwarded-For": "203.0.113.77"}, environ_base={"REMOTE_ADDR": "198.51.100.9"})
        self.assertEqual(resp.status_code, 201)
        [row] = rows("id = ?", (r["id"],))
        self.assertFalse([v for v in row if isinstance(v, str) and ("203.0.113" in v or "198.51.100" in v)], row)
        db = sqlite3.connect(leader.DATA_DB)
        try:
            columns = [c[1] for c in db.execute("PRAGMA table_info(reports)")]
        finally:
            db.close()
        self.assertFalse([c for c in columns if "addr" in c or "ip" == c or "client" in c], columns)

    # ---- POST: what is refused ----

    def test_the_body_must_be_a_json_object(self):
        for body in ("[1, 2]", '"a string"', "42", "null", "not json", "", '{"id": NaN}', '{"sampleRate": Infinity}', "[" * 3000):
            with self.subTest(body=body[:30]):
                self.assertRefused(self.post(body, raw=True), 400, "body")
        self.assertRefused(self.post(json.dumps(report()), raw=True, content_type="text/plain"), 400, "body")

    def test_a_field_given_twice_is_refused(self):
        text = json.dumps(report())[:-1] + ', "followerReads": 0}'
        self.assertRefused(self.post(text, raw=True), 400, "followerReads")

    def test_unknown_and_missing_fields_are_refused_by_name(self):
        self.assertInvalid("url", [report(url="https://example.com/secret")])
        self.assertInvalid("userAgent", [report(userAgent="Mozilla/5.0")])
        self.assertInvalid("probes.cookie", [report(probes={"timeout": 0, "network": 0, "status": [], "body": 0, "cookie": 1})])
        for field in reports.FIELDS:
            r = report()
            del r[field]
            self.assertInvalid(field, [r])
        for cause in reports.PROBES:
            probes = report()["probes"]
            del probes[cause]
            self.assertInvalid(f"probes.{cause}", [report(probes=probes)])

    def test_id_is_a_random_uuid(self):
        v1 = str(uuid.uuid1())
        self.assertInvalid("id", [report(id=x) for x in ("", "abc", 7, None, v1, "{%s}" % uuid.uuid4(), str(uuid.uuid4())[:-1],
                                                         uuid.uuid4().hex, "00000000-0000-0000-0000-000000000000")])

    def test_start_and_duration_are_integer_ms_in_range(self):
        now = now_ms()
        self.assertInvalid("startedAt", [report(startedAt=x) for x in (
            None, "1733600000000", 1733600000000.5, True, -1, 0, now - 91 * DAY_MS, now + 2 * DAY_MS)])
        self.assertInvalid("durationMs", [report(durationMs=x) for x in (None, -1, 1.5, "60000", False, 91 * DAY_MS)])
        self.assertInvalid("durationMs", [report(startedAt=now, durationMs=2 * DAY_MS)])  # ends in the future

    def test_probes_are_counts_by_cause(self):
        self.assertInvalid("probes", [report(probes=x) for x in (None, [], "timeout", 3)])
        for cause in ("timeout", "network", "body"):
            for bad in (-1, 1.0, "3", True, None, reports.MAX_COUNT + 1):
                probes = {**report()["probes"], cause: bad}
                self.assertInvalid(f"probes.{cause}", [report(probes=probes)])
        base = report()["probes"]
        self.assertInvalid("probes.status", [report(probes={**base, "status": x}) for x in (
            None, {}, "502", [502], [[502]], [[502, 1, 2]], [["502", 1]], [[99, 1]], [[600, 1]], [[502, -1]], [[502, 1.5]],
            [[502, True]], [[502, 1], [502, 2]], [[500 + (i % 99), 1] for i in range(reports.MAX_STATUSES + 1)], [{"502": 1}])])

    def test_the_counts_are_non_negative_integers(self):
        for field in reports.COUNTS:
            self.assertInvalid(field, [report(**{field: x}) for x in (None, -1, 2.5, "7", True, reports.MAX_COUNT + 1, [1])])

    def test_rtt_version_and_sample_rate(self):
        self.assertInvalid("rttMs", [report(rttMs=x) for x in (-1, 12.5, "23", True, reports.MAX_RTT_MS + 1)])
        self.assertInvalid("version", [report(version=x) for x in (
            "", "x" * 33, "<script>", "1.0 beta", "../../etc", 1, None, ["0.1.0"], "é1.0")])
        self.assertInvalid("sampleRate", [report(sampleRate=x) for x in (0, 0.0, -0.5, 1.01, 2, "1", True, None)])

    def test_a_large_body_is_413_json_and_not_read(self):
        big = report(version="1")
        text = json.dumps(big)
        text = text[:-1] + " " * (reports.MAX_REPORT_BYTES - len(text) + 1) + "}"  # one byte over
        self.assertRefused(self.post(text, raw=True), 413, code="REQUEST_ENTITY_TOO_LARGE")
        self.assertRefused(self.post(text, raw=True, headers={"Idempotency-Key": big["id"]}), 413)
        self.assertEqual(rows("id = ?", (big["id"],)), [])
        # At the limit exactly: taken.
        ok = text[:-2] + "}"
        self.assertEqual(len(ok.encode()), reports.MAX_REPORT_BYTES)
        self.assertEqual(self.post(ok, raw=True).status_code, 201)

    def test_a_full_store_refuses_and_frees_the_key(self):
        saved = reports.MAX_ROWS
        reports.MAX_ROWS = len(rows())
        try:
            r = report()
            resp = self.post(r, headers={"Idempotency-Key": r["id"]})
            self.assertRefused(resp, 507, code="REPORTS_FULL")
            self.assertEqual(rows("id = ?", (r["id"],)), [])
            self.assertRefused(self.post(report()), 507, code="REPORTS_FULL")
            self.assertEqual(len(rows()), reports.MAX_ROWS)
        finally:
            reports.MAX_ROWS = saved
        self.assertEqual(self.post(r, headers={"Idempotency-Key": r["id"]}).status_code, 201)

    def test_errors_are_json(self):
        resp = self.c.put("/api/reports", json=report())
        self.assertRefused(resp, 405)
        self.assertIn("POST", resp.headers["Allow"])

    # ---- GET: the operator's reads ----

    def window(self):
        """A quiet hour of the last 80 days, for this test's reports alone."""
        start = now_ms() - random.randrange(2, 80 * 24) * 3600_000 - random.randrange(3600_000)
        return start, start + 3600_000

    def test_listing_needs_the_operator_token(self):
        self.assertRefused(self.c.get("/api/reports"), 401)
        resp = self.c.get("/api/reports", headers={"Authorization": "Bearer wrong"})
        self.assertRefused(resp, 401, code="UNAUTHORIZED")
        self.assertEqual(resp.headers.get("WWW-Authenticate"), "Bearer")
        self.assertRefused(self.c.get("/api/reports", headers={"Authorization": leader.OPERATOR_TOKEN}), 401)
        saved, leader.OPERATOR_TOKEN = leader.OPERATOR_TOKEN, ""
        try:
            self.assertRefused(self.c.get("/api/reports", headers={"Authorization": "Bearer "}), 401)
        finally:
            leader.OPERATOR_TOKEN = saved
        resp = self.c.get("/api/reports", headers=TOKEN)
        self.assertEqual(resp.status_code, 200)
        self.assertEqual(resp.headers["Cache-Control"], "no-store")

    def test_the_period_takes_every_episode_that_overlaps_it(self):
        start, end = self.window()
        posted = {
            "before": report(startedAt=start - 120_000, durationMs=60_000),  # ended before the period
            "into": report(startedAt=start - 60_000, durationMs=90_000),  # began before, ran into it
            "inside": report(startedAt=start + 600_000, durationMs=1000),
            "zero": report(startedAt=start, durationMs=0),
            "last": report(startedAt=end - 1, durationMs=5000),
            "after": report(startedAt=end, durationMs=5000),  # [from, to): to is outside
        }
        for r in posted.values():
            self.assertEqual(self.post(r).status_code, 201)
        got = self.c.get(f"/api/reports?from={start}&to={end}", headers=TOKEN).get_json()
        names = {r["id"]: k for k, r in posted.items()}
        self.assertEqual([names.get(r["id"], r["id"]) for r in got["reports"]], ["into", "zero", "inside", "last"])
        self.assertEqual((got["from"], got["to"], got["next"]), (start, end, None))

    def test_pages_by_cursor_until_next_is_null(self):
        start, end = self.window()
        posted = [report(startedAt=start + i * 1000 + (i % 3), durationMs=500) for i in range(23)]
        posted.append(report(startedAt=posted[5]["startedAt"], durationMs=100))  # the same start: the cursor keeps both
        for r in posted:
            self.assertEqual(self.post(r).status_code, 201)
        seen, after, pages = [], None, 0
        while True:
            q = f"/api/reports?from={start}&to={end}&limit=5" + (f"&after={after}" if after else "")
            page = self.c.get(q, headers=TOKEN).get_json()
            self.assertLessEqual(len(page["reports"]), 5)
            seen += page["reports"]
            pages += 1
            after = page["next"]
            if after is None:
                break
        self.assertEqual(sorted(r["id"] for r in seen), sorted(r["id"] for r in posted))
        self.assertEqual(len(seen), len({r["id"] for r in seen}), "a report on two pages")
        self.assertEqual([r["startedAt"] for r in seen], sorted(r["startedAt"] for r in seen))
        self.assertEqual(pages, 5)

    def test_bad_queries_are_refused_by_name(self):
        for query, field in (("from=10&to=5", "from"), ("from=5&to=5", "from"), ("from=x", "from"), ("to=-1", "to"),
                             ("to=1e12", "to"), ("limit=0", "limit"), (f"limit={reports.MAX_PAGE + 1}", "limit"),
                             ("limit=ten", "limit"), ("after=12", "after"), ("after=1:x", "after"), ("from=" + "9" * 16, "from")):
            with self.subTest(query=query):
                self.assertRefused(self.c.get(f"/api/reports?{query}", headers=TOKEN), 400, field)

    def test_the_default_period_is_the_last_day(self):
        r = report()
        old = report(startedAt=now_ms() - 3 * DAY_MS)
        for x in (r, old):
            self.post(x)
        ids = {x["id"] for x in self.c.get("/api/reports?limit=1000", headers=TOKEN).get_json()["reports"]}
        self.assertIn(r["id"], ids)
        self.assertNotIn(old["id"], ids)

    # ---- Retention ----

    def test_reports_are_purged_after_the_retention_period(self):
        fresh, old = report(), report()
        for r in (fresh, old):
            self.assertEqual(self.post(r).status_code, 201)
        db = sqlite3.connect(leader.DATA_DB)
        try:
            db.execute("UPDATE reports SET received_at = ? WHERE id = ?", (now_ms() - reports.keep_ms() - 1000, old["id"]))
            db.commit()
            plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN DELETE FROM reports WHERE received_at < 0"))
            self.assertIn("reports_received", plan)
        finally:
            db.close()
        leader.purge_reports()
        self.assertEqual(len(rows("id = ?", (old["id"],))), 0)
        self.assertEqual(len(rows("id = ?", (fresh["id"],))), 1)


if __name__ == "__main__":
    unittest.main()
