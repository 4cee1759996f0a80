"""The handbook's store (deploy/leader/pages.py, through app.py's test client) and the
replicator's start-up rules (deploy/leader/replicator.py): what each accepts and refuses.

Run: target/venv/bin/python -m unittest discover -s tests/deploy (tools/test.sh does).
"""
import importlib
import json
import os
import sqlite3
import tempfile
import unittest

from leader_app import TOKEN, leader

replicator = importlib.import_module("replicator")


def outbox():
    db = sqlite3.connect(leader.DATA_DB)
    try:
        return db.execute("SELECT seq, path FROM outbox ORDER BY seq").fetchall()
    finally:
        db.close()


class Pages(unittest.TestCase):
    def setUp(self):
        self.c = leader.app.test_client()
        self.c.get("/api/pages")  # the tables are made on first use

    def put(self, page_id, body, headers=TOKEN):
        return self.c.put(f"/api/pages/{page_id}", data=json.dumps(body), content_type="application/json", headers=headers)

    def test_seeded_then_edited_with_one_outbox_row_per_write(self):
        pages = self.c.get("/api/pages").get_json()["pages"]
        self.assertGreaterEqual(len(pages), 3)
        before = len(outbox())
        self.assertEqual(self.put(2, {"title": "Expenses", "body": "45 days"}).status_code, 200)
        self.assertEqual(self.put(40, {"title": "New", "body": "page"}).status_code, 201)
        self.assertEqual(self.c.delete("/api/pages/40", headers=TOKEN).status_code, 204)
        rows = outbox()
        self.assertEqual(len(rows), before + 3)
        self.assertEqual({p for _, p in rows[before:]}, {"/api/pages"})
        got = {p["id"]: p for p in self.c.get("/api/pages").get_json()["pages"]}
        self.assertEqual(got[2]["body"], "45 days")
        self.assertNotIn(40, got)

    def test_data_version_grows_with_each_write_only(self):
        mark = lambda: int(self.c.get("/api/pages").headers["X-Data-Version"])  # noqa: E731
        first = mark()
        self.assertEqual(mark(), first)
        self.put(3, {"title": "Outages", "body": "Page on-call."})
        second = mark()
        self.assertGreater(second, first)
        self.put(3, {"title": "x", "body": "y"}, headers={})  # refused: no new mark
        self.assertEqual(mark(), second)

    def test_refused_writes_leave_no_outbox_row(self):
        before = len(outbox())
        self.assertEqual(self.put(2, {"title": "x", "body": "y"}, headers={}).status_code, 401)
        self.assertEqual(self.put(2, {"title": "x", "body": "y"}, headers={"Authorization": "Bearer wrong"}).status_code, 401)
        r = self.put(2, {"title": "", "body": "y"})
        self.assertEqual((r.status_code, r.get_json()["field"]), (400, "title"))
        r = self.put(2, {"title": "x", "body": "y" * 100_001})
        self.assertEqual((r.status_code, r.get_json()["field"]), (400, "body"))
        self.assertEqual(self.c.delete("/api/pages/999", headers=TOKEN).status_code, 404)
        self.assertEqual(len(outbox()), before)


class Routes(unittest.TestCase):
    ROUTES = [{"prefix": "/api", "critical": False}, {"prefix": "/api/pages/", "critical": True}, {"prefix": "/files", "critical": True}]

    def test_longest_whole_segment_prefix(self):
        find = lambda p: replicator.find_route(self.ROUTES, False, p)["critical"]  # noqa: E731
        self.assertTrue(find("/api/pages"))
        self.assertTrue(find("/api/pages/2?x=1"))
        self.assertFalse(find("/api/pagesX"))
        self.assertFalse(find("/api/notes"))
        self.assertFalse(find("/other"))
        self.assertTrue(replicator.find_route(self.ROUTES, True, "/other")["critical"])

    def test_item_key_is_the_lambdas(self):
        # deploy/follower/lambda.mjs itemKey("/api/pages", {b: "2", a: "x y"}) is "/api/pages?a=x+y&b=2"
        self.assertEqual(replicator.item_key("/api/pages?b=2&a=x y"), "/api/pages?a=x+y&b=2")
        self.assertEqual(replicator.item_key("/api/pages"), "/api/pages")

    def test_bucket_of_a_follower_base(self):
        self.assertEqual(replicator.bucket_of("https://acme-hub-files.s3.eu-central-1.amazonaws.com"), "acme-hub-files")
        self.assertEqual(replicator.bucket_of("https://acme-hub-files.s3.amazonaws.com"), "acme-hub-files")
        self.assertEqual(replicator.bucket_of("http://127.0.0.1:9000/acme-hub-files"), "acme-hub-files")
        with self.assertRaises(replicator.ConfigError):
            replicator.bucket_of("https://files.example.com")

    def settings(self, **over):
        d = tempfile.mkdtemp(prefix="hp-replicator-test-")
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"leader": "https://a.example", "follower": "https://b.example", "routes": self.ROUTES
                       + [{"prefix": "/f", "critical": True, "follower": "https://acme-files.s3.amazonaws.com"}]}, f)
        s = {"config": os.path.join(d, "config.json"), "leader": "http://127.0.0.1:8000", "paths": ["/api/pages"],
             "table": "t", "state": os.path.join(d, "state.sqlite3"), **over}
        path = os.path.join(d, "replicator.json")
        with open(path, "w") as f:
            json.dump(s, f)
        return path

    def test_refuses_a_path_outside_the_critical_routes_by_name(self):
        for bad in ("/api/notes", "/api/pagesX", "/elsewhere"):
            with self.assertRaisesRegex(replicator.ConfigError, f"{bad} is not under a critical route"):
                replicator.load_settings(self.settings(paths=["/api/pages", bad]))
        with self.assertRaisesRegex(replicator.ConfigError, '"table" is required'):
            replicator.load_settings(self._without("table"))

    def _without(self, field):
        path = self.settings()
        with open(path) as f:
            s = json.load(f)
        del s[field]
        with open(path, "w") as f:
            json.dump(s, f)
        return path

    def test_files_route_bucket_and_prefix(self):
        s = replicator.load_settings(self.settings(files={"route": "/f", "dir": "/srv/files"}))
        self.assertEqual((s["files"]["bucket"], s["files"]["prefix"]), ("acme-files", "f/"))
        with self.assertRaisesRegex(replicator.ConfigError, "not a critical route"):
            replicator.load_settings(self.settings(files={"route": "/api", "dir": "/srv/files"}))


if __name__ == "__main__":
    unittest.main()
