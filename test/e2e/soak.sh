#!/usr/bin/env bash
# End-to-end: the short soak of `make test` (test/soak.sh for 20 s); `make soak` runs it longer.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../soak.sh" "${SOAK_SECONDS:-20}"
