"""Gunicorn's settings: `gunicorn truststream.wsgi -c truststream/gunicorn.conf.py --bind ...`.

Workers and threads come from WEB_CONCURRENCY (gunicorn reads it itself) and GUNICORN_THREADS.
On SIGTERM gunicorn stops accepting connections and gives the requests in flight
`graceful_timeout` seconds to finish before it stops their workers; keep an orchestrator's own
grace period (Kubernetes' terminationGracePeriodSeconds) above it.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request that takes longer than this is stopped (its worker is replaced).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
accesslog = "-"
