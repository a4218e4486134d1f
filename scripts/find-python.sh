#!/usr/bin/env bash
# Print the path of a working pythonX.Y interpreter (default 3.13, the Lambda runtime).
# Looks on PATH first, then in pyenv's versions, then in the usual system places;
# never hard-codes a machine path. Exits 1 with a clear message if none is found.
set -u
want=${1:-3.13}
try() { "$1" -c 'import sys; sys.exit(0)' >/dev/null 2>&1 && { command -v "$1" 2>/dev/null || echo "$1"; exit 0; }; }
try "python$want"
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -V -r); do
    try "$root/versions/$v/bin/python$want"
  done
fi
for d in /usr/local/bin /usr/bin; do [ -x "$d/python$want" ] && try "$d/python$want"; done
echo "find-python: no working python$want found (PATH, pyenv, /usr/local/bin, /usr/bin)." >&2
echo "find-python: install CPython $want (e.g. 'pyenv install $want') and retry." >&2
exit 1
