# Sourced by scripts/serve, scripts/test and scripts/bench: make .venv and keep it installed.
# Needs only python3 (3.11+). Reinstalls when pyproject.toml changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CASEFEEDBACK_VENV:-$ROOT/.venv}"

ensure_venv() {
  local extras="${1:-}"
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "casefeedback needs Python 3.11 or newer as '$python' (found: $("$python" --version 2>&1))." >&2
    exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment in $VENV ..." >&2
    "$python" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)${extras:+-$extras}"
  if [ ! -f "$stamp" ]; then
    echo "Installing casefeedback${extras:+ with [$extras]} into $VENV ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT${extras:+[$extras]}" >&2
    touch "$stamp"
  fi
}
