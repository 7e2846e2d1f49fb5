#!/usr/bin/env bash
# Install what the tests need and run them: ruff, mypy --strict (package), pytest.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
apt_install
venv_install "[test,bench]"
.venv/bin/ruff check assistantd tests bench
.venv/bin/ruff format --check assistantd tests bench
.venv/bin/mypy
# Two workers (one per core here): the suite spends most of its time waiting on real daemons, devices
# and servers, so it runs in about half the wall time; every test also passes alone and under load.
.venv/bin/python -m pytest -n auto "$@"
