"""Settings for the gunicorn that bench/pages_bench.py starts: the project's settings, with
the project's URLs plus one bare page (bench/bench_urls.py) to compare the plan pages with."""

from truststream.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
