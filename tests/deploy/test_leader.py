"""deploy/leader/app.py as shipped, through Flask's test client: what it accepts and refuses.

Run: target/venv/bin/python -m unittest discover -s tests/deploy (tools/test.sh does).
"""
import json
import os
import sqlite3
import time
import unittest
import uuid

from leader_app import TOKEN, Refusals, leader


def note(text="hello", client_id=None, **extra):
    return {"text": text, "clientId": client_id or str(uuid.uuid4()), **extra}


class Leader(Refusals, unittest.TestCase):
    def setUp(self):
        self.c = leader.app.test_client()

    def post(self, body, raw=False, headers=None, content_type="application/json"):
        data = body if raw else json.dumps(body)
        return self.c.post("/api/notes", data=data, content_type=content_type, headers=headers or {})

    def stored(self, client_id):
        db = sqlite3.connect(os.environ["DATA_DB"])
        try:
            return db.execute("SELECT count(*) FROM notes WHERE client_id = ?", (client_id,)).fetchone()[0]
        finally:
            db.close()

    def test_debug_mode_is_off_whatever_flask_debug_says(self):
        self.assertEqual(os.environ["FLASK_DEBUG"], "1")
        self.assertFalse(leader.app.debug)
        self.assertEqual(self.c.get("/health").get_data(as_text=True), '{"status":"ok"}\n')

    def test_a_valid_note_is_stored(self):
        n = note("a" * 2000)
        resp = self.post(n)
        self.assertEqual(resp.status_code, 201, resp.get_data(as_text=True))
        self.assertIsInstance(resp.get_json()["id"], int)
        self.assertEqual(self.stored(n["clientId"]), 1)

    def test_the_body_must_be_a_json_object(self):
        for body in ("[1, 2]", '"just a string"', "42", "null", "not json", ""):
            with self.subTest(body=body):
                self.assertRefused(self.post(body, raw=True), 400, "body")
        self.assertRefused(self.post(json.dumps(note()), raw=True, content_type="text/plain"), 400, "body")

    def test_text_is_a_string_of_at_most_2000_characters(self):
        for text in ("a" * 2001, "", "   ", 42, {"text": "x"}, ["x"], None):
            with self.subTest(text=str(text)[:20]):
                n = note(text)
                self.assertRefused(self.post(n), 400, "text")
                self.assertEqual(self.stored(n["clientId"]), 0)

    def test_client_id_is_a_uuid(self):
        for cid in ("rs-1", "", "x" * 300, 7, None, "{%s}" % uuid.uuid4(), str(uuid.uuid4())[:-1]):
            with self.subTest(cid=str(cid)[:20]):
                self.assertRefused(self.post({"text": "hi", "clientId": cid}), 400, "clientId")
        self.assertRefused(self.post({"text": "hi"}), 400, "clientId")
        self.assertRefused(self.post(note(extra="x")), 400, "extra")

    def test_a_large_body_is_413_json(self):
        self.assertRefused(self.post(note("a" * 20000)), 413)

    def test_errors_are_json(self):
        self.assertRefused(self.c.get("/no-such-path"), 404)
        resp = self.c.put("/api/notes", json=note())
        self.assertRefused(resp, 405)
        self.assertIn("POST", resp.headers["Allow"])
        self.assertRefused(self.c.delete("/health"), 405)

    def test_idempotency_keys_are_checked(self):
        for key in ("short", "x" * 65, "has space in it 123", "semi;colon-0123456789", "ünïcödé-0123456789"):
            with self.subTest(key=key):
                n = note()
                self.assertRefused(self.post(n, headers={"Idempotency-Key": key}), 400, "Idempotency-Key")
                self.assertEqual(self.stored(n["clientId"]), 0)
        n = note()
        key = str(uuid.uuid4())
        first = self.post(n, headers={"Idempotency-Key": key})
        again = self.post(n, headers={"Idempotency-Key": key})
        self.assertEqual((first.status_code, again.status_code), (201, 201))
        self.assertEqual(first.get_data(), again.get_data())
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(self.stored(n["clientId"]), 1)

    def test_the_note_and_its_keys_answer_commit_together(self):
        # The answer cannot be stored (the store refuses the UPDATE): the note must not be saved
        # either, and the key is freed, so that the repeat saves it once.
        db = sqlite3.connect(os.environ["DATA_DB"])
        db.execute("CREATE TRIGGER refuse_answers BEFORE UPDATE ON idempotency BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        db.commit()
        n = note()
        key = str(uuid.uuid4())
        try:
            with self.assertLogs("acme-hub", "ERROR"):
                resp = self.post(n, headers={"Idempotency-Key": key})
        finally:
            db.execute("DROP TRIGGER refuse_answers")
            db.commit()
            db.close()
        self.assertRefused(resp, 500)
        self.assertEqual(self.stored(n["clientId"]), 0, "a note was saved while its answer was not")
        self.assertEqual(self.post(n, headers={"Idempotency-Key": key}).status_code, 201)
        self.assertEqual(self.stored(n["clientId"]), 1)

    def test_the_store_is_wal_with_an_index_on_created_and_purges(self):
        db = sqlite3.connect(os.environ["DATA_DB"])
        try:
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
            self.assertIn("idempotency_created", [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")])
            plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN DELETE FROM idempotency WHERE created < 0"))
            self.assertIn("idempotency_created", plan)
            old = time.time() - 2 * 24 * 3600
            db.execute("INSERT INTO idempotency (key, request, created, status) VALUES ('old-key-0123456789', 'x', ?, 201)", (old,))
            db.execute("INSERT INTO idempotency (key, request, created) VALUES ('stuck-key-012345678', 'x', ?)", (time.time() - 120,))
            db.execute("INSERT INTO idempotency (key, request, created, status) VALUES ('new-key-0123456789', 'x', ?, 201)", (time.time(),))
            db.commit()
            leader.purge_keys()
            keys = {r[0] for r in db.execute("SELECT key FROM idempotency WHERE key LIKE '%-key-%'")}
            self.assertEqual(keys, {"new-key-0123456789"})
        finally:
            db.close()

    def test_notes_ids_grow_and_are_never_reused(self):
        db = sqlite3.connect(os.environ["DATA_DB"])
        try:
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'notes'").fetchone()[0]
        finally:
            db.close()
        self.assertIn("AUTOINCREMENT", sql)

    def test_listing_notes_needs_the_operator_token_and_pages(self):
        self.assertRefused(self.c.get("/api/notes"), 401)
        self.assertRefused(self.c.get("/api/notes", headers={"Authorization": "Bearer wrong"}), 401)
        self.assertRefused(self.c.get("/api/notes", headers={"Authorization": "s3cret-operator-token"}), 401)
        ids = [self.post(note(f"page {i}")).get_json()["id"] for i in range(5)]
        page = self.c.get(f"/api/notes?after={ids[0]}&limit=2", headers=TOKEN).get_json()
        self.assertEqual([n["id"] for n in page["notes"]], ids[1:3])
        self.assertEqual(page["next"], ids[2])
        self.assertEqual(set(page["notes"][0]), {"id", "text", "clientId", "at"})
        self.assertRefused(self.c.get("/api/notes?limit=0", headers=TOKEN), 400, "limit")
        self.assertRefused(self.c.get("/api/notes?limit=501", headers=TOKEN), 400, "limit")
        self.assertRefused(self.c.get("/api/notes?after=x", headers=TOKEN), 400, "after")
        saved, leader.OPERATOR_TOKEN = leader.OPERATOR_TOKEN, ""
        try:
            self.assertRefused(self.c.get("/api/notes", headers={"Authorization": "Bearer "}), 401)
        finally:
            leader.OPERATOR_TOKEN = saved

    def test_files_lists_regular_non_dot_files_only(self):
        d = os.environ["FILES_DIR"]
        os.makedirs(os.path.join(d, "subdir"), exist_ok=True)
        for name, data in (("handbook.pdf", b"1234"), (".env", b"SECRET=1"), (".hidden.pdf", b"x")):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        for name, target in (("broken-link", "/nonexistent/target"), ("passwd-link", "/etc/passwd")):
            if not os.path.lexists(os.path.join(d, name)):
                os.symlink(target, os.path.join(d, name))
        resp = self.c.get("/api/files")
        self.assertEqual(resp.status_code, 200)
        self.assertEqual(resp.get_json()["files"], [{"name": "handbook.pdf", "size": 4}])

    def test_hub_links_use_the_host_nginx_sets(self):
        links = self.c.get("/api/hub/links", headers={"Host": "hub.example.com:443", "X-Forwarded-Proto": "https"}).get_json()["links"]
        self.assertTrue(all(link["href"].startswith("https://hub.example.com/hub/") for link in links), links)


if __name__ == "__main__":
    unittest.main()
