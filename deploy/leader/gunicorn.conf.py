"""gunicorn for the leader's Flask app: gunicorn -c gunicorn.conf.py app:app

The default (one sync worker) lets one slow request hold /health past the page's
health.timeoutMs, and then every visitor is sent to the follower: use threads.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # NGINX proxies here: {{GUNICORN_ADDR}} of acme-hub.conf
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = 8  # with threads > 1 gunicorn uses the gthread worker
worker_class = "gthread"
timeout = 30
graceful_timeout = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
