"""Sybil runs every Python block of README.md and docs/*.md as a test: see tests/_docs.py."""

from tests._docs import docs_servers as docs_servers
from tests._docs import sybil

pytest_collect_file = sybil().pytest()
