#!/usr/bin/env bash
# Creates or updates the Python interop venv (.cache/venv-interop): Debian's python3-torch 1.13 and numpy
# through --system-site-packages, plus the pinned reference packages (transformers, sentence-transformers,
# peft, trl, safetensors, pytrec_eval) from tests/reference/requirements-interop*.txt.
# Idempotent: does nothing when the venv already holds exactly these pins (a stamp of the requirement files).
# Never fails the caller for want of a network: when apt or PyPI cannot be reached it says what it skipped
# and exits 0 (the tests that need the venv then skip themselves with a message).
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${EXPANDR_INTEROP_VENV:-.cache/venv-interop}  # overridable for a trial run
REQ=tests/reference/requirements-interop.txt
REQ_NODEPS=tests/reference/requirements-interop-nodeps.txt
STAMP="$VENV/.requirements.sha256"
skip() { echo "[python] skipped: $*"; exit 0; }

# 1. Debian's torch and venv module (the venv sees them; PyPI's torch is a 2 GB CUDA build).
if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1; then
  echo "[python] installing Debian python3-torch python3-venv"
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  { $SUDO apt-get install -y --no-install-recommends python3-torch python3-venv >/dev/null 2>&1 ||
    { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends python3-torch python3-venv >/dev/null 2>&1; }; } ||
    skip "apt-get could not install python3-torch python3-venv (no Debian mirror reachable?); $VENV not made"
fi

# 2. The venv itself.
if [ ! -x "$VENV/bin/python" ]; then
  echo "[python] creating $VENV (--system-site-packages)"
  /usr/bin/python3 -m venv --system-site-packages "$VENV" || skip "python3 -m venv failed; $VENV not made"
fi

# 3. The pinned packages, unless the stamp says they are in already.
want=$(cat "$REQ" "$REQ_NODEPS" tests/reference/requirements-llm.txt | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "[python] $VENV is up to date"
  exit 0
fi
echo "[python] installing pinned packages into $VENV (log: $VENV-install.log)"
LOG="$VENV-install.log"
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --timeout 20 --retries 1 -r "$REQ" >"$LOG" 2>&1; then
  tail -3 "$LOG"
  skip "pip could not install $REQ (PyPI unreachable?); the reference tests that need $VENV will skip"
fi
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --timeout 20 --retries 1 --no-deps -r "$REQ_NODEPS" >>"$LOG" 2>&1; then
  tail -3 "$LOG"
  skip "pip could not install $REQ_NODEPS (PyPI unreachable?); the reference tests that need $VENV will skip"
fi
# The venv must still use Debian's torch and numpy (a pulled CUDA torch or numpy 2 would break torch 1.13).
"$VENV/bin/python" - <<'PY' || skip "the import check failed (see above); $VENV left as is"
import torch, numpy, transformers, sentence_transformers, peft, safetensors, pytrec_eval, gguf
assert torch.__file__.startswith('/usr/'), f'torch comes from {torch.__file__}, not Debian'
assert numpy.__version__.startswith('1.'), f'numpy {numpy.__version__}: torch 1.13 needs numpy 1.x'
print(f'[python] torch {torch.__version__}, numpy {numpy.__version__}, transformers {transformers.__version__}, '
      f'sentence-transformers {sentence_transformers.__version__}, peft {peft.__version__}')
PY
echo "$want" >"$STAMP"
echo "[python] $VENV ready"
