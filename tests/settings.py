"""Test settings: the real settings, with what a test run needs on top.

Postgres and Redis are real (DATABASE_URL / REDIS_URL, set by `make test`). Test runs get their
own cache key prefix and Celery queue, so they never meet a running instance's data.
"""

import os
import tempfile
from pathlib import Path

TEST_ENVIRONMENT = {
    "SECRET_KEY": "tests-only-secret-key-not-used-anywhere-else",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    # Tests speak plain HTTP to the test client and to the live server.
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
    "STATIC_MANIFEST": "0",
    # Connections opened by the Celery worker thread and the live server close after use.
    "DATABASE_CONN_MAX_AGE": "0",
}
_added = {name: value for name, value in TEST_ENVIRONMENT.items() if name not in os.environ}
os.environ.update(_added)

from truststream.settings import *  # noqa: E402, F403
from truststream.settings import CACHES, CELERY_BROKER_TRANSPORT_OPTIONS  # noqa: E402

# Subprocesses started by tests (manage.py check --deploy) see the environment as it was.
for _name in _added:
    del os.environ[_name]

RUN_ID = f"test-{os.getpid()}"
CACHES["default"]["KEY_PREFIX"] = RUN_ID
# Every broker key (the queues packets, mail and default among them) under this run's prefix.
# Worker processes that a test starts inherit it through the environment.
os.environ.setdefault("CELERY_KEY_PREFIX", f"{RUN_ID}:")
CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = os.environ["CELERY_KEY_PREFIX"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files come from the app and project folders through the finders; tests never depend on
# collectstatic having run.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Packets and evidence written by tests, and the packet signing key, stay out of ./var/.
# A worker process that a test starts is given the same folders.
_scratch = Path(tempfile.gettempdir()) / "truststream-tests"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or _scratch / RUN_ID / "media")
PACKET_SIGNING_DIR = Path(os.environ.get("PACKET_SIGNING_DIR") or _scratch / "signing")
