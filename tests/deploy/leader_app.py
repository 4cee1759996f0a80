"""The leader's Flask app (deploy/leader/app.py), loaded once for the unit tests on a
temporary data directory and a known operator token, and the check of a JSON refusal
they share. Not a test module itself (unittest discovers test_*.py only)."""
import importlib
import os
import sys
import tempfile

LEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "leader")
if "app" not in sys.modules:
    TMP = tempfile.mkdtemp(prefix="hp-leader-test-")
    # FLASK_DEBUG=1: the app must not go into debug mode for it (test_leader.py checks).
    os.environ.update(DATA_DB=os.path.join(TMP, "hub.sqlite3"), FILES_DIR=os.path.join(TMP, "files"),
                      OPERATOR_TOKEN="s3cret-operator-token", FLASK_DEBUG="1")
sys.path.insert(0, LEADER)
leader = importlib.import_module("app")
TOKEN = {"Authorization": f"Bearer {leader.OPERATOR_TOKEN}"}


class Refusals:
    """Mixin for a unittest.TestCase: a refusal is JSON with an error message, and names
    the field (and carries the code) when the test says which."""

    def assertRefused(self, resp, status, field=None, code=None):
        self.assertEqual(resp.status_code, status, resp.get_data(as_text=True))
        self.assertTrue(resp.is_json, resp.content_type)
        body = resp.get_json()
        self.assertIsInstance(body.get("error"), str)
        if field:
            self.assertEqual(body.get("field"), field, body)
        if code:
            self.assertEqual(body.get("code"), code, body)
