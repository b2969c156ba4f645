#!/usr/bin/env bash
# The processes `make run` starts, one a line: every one the Procfile names (the one list,
# names read as honcho reads them), but the local SMTP sink only when SMTP_HOST/SMTP_PORT
# do not point elsewhere. A script of its own so a test can ask it without starting anything.
set -euo pipefail
cd "$(dirname "$0")/.."

names=$(sed -n 's/^\([A-Za-z0-9_-]\{1,\}\):.*/\1/p' Procfile)
if [ -z "${SMTP_HOST:-}" ] || { [ "${SMTP_HOST}" = "127.0.0.1" ] && [ "${SMTP_PORT:-8025}" = "8025" ]; }; then
  echo "$names"
else
  echo "$names" | grep -vx mailsink
fi
