"""Installs the Debian packages the tests, the demo and the benchmarks need, in one apt-get
run, when any is missing: the servers of hack/ (Prometheus, RabbitMQ, PostgreSQL; their
system services stay off) and headless Chromium with its WebDriver for the agent UI.

    python hack/packages.py
"""

from __future__ import annotations

import shutil
import sys

import services
from postgres import Postgres
from prometheus import Prometheus
from rabbitmq import RabbitMQ

# Debian package -> a command it provides.
BROWSER = {"chromium": "chromium", "chromium-driver": "chromedriver"}


def missing() -> list[str]:
    servers = [kind.package for kind in (Prometheus, RabbitMQ, Postgres) if not kind.installed()]
    browser = [package for package, command in BROWSER.items() if shutil.which(command) is None]
    return servers + browser


def main() -> int:
    packages = missing()
    if packages:
        services.install_packages(packages, "packages")
        still = missing()
        if still:
            raise SystemExit(f"[packages] installed, yet still missing: {' '.join(still)}")
    else:
        services.log("packages", "every Debian package needed is installed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
