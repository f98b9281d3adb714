# Sourced by the bench scripts: sets PY to a python3 that has pyHanko —
# $PYTHON if given and able, else .venv (created and filled if needed).
PY=${PYTHON:-python3}
if ! "$PY" -c 'import pyhanko' 2>/dev/null; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -c 'import pyhanko' 2>/dev/null || .venv/bin/pip install -q pyhanko pyhanko-certvalidator
    PY=.venv/bin/python
fi
