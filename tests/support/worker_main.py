"""A dispatcher process for tests: ``python -m tests.support.worker_main`` with DATABASE_URL, RECEIVER_URL,
DELIVERY_DELAY and BATON_CONFIG in the environment. It is the real ``app.py worker`` wiring plus a test
destination."""

from __future__ import annotations

import asyncio
import os
import sys


def main() -> int:
    from app import build, run_worker
    from settings import load_settings
    from tests.support.http_recorder import HttpRecorderDestination

    dest = HttpRecorderDestination(os.environ["RECEIVER_URL"], float(os.environ.get("DELIVERY_DELAY", "0")))
    rt = build(load_settings(), extra_destinations=[dest], with_log=False, integrations=[])
    return asyncio.run(run_worker(rt))


if __name__ == "__main__":
    sys.exit(main())
