#!/usr/bin/env bash
# Print the path of a working Python 3.10 (Rasa 3.6.21 needs 3.8-3.10; we pin 3.10).
# pyenv's shims answer to `python3.10` even when that version is not selected, so each
# candidate is actually run before it is chosen.
for candidate in "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 \
                 /usr/bin/python3.10 "$(command -v python3.10 2>/dev/null)"; do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    echo "$candidate"
    exit 0
  fi
done
exit 1
