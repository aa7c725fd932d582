#!/usr/bin/env bash
# Build the one-file executable dist/fortytwo with PyInstaller.
#
#   packaging/build.sh
#
# Uses the virtual environment in $FORTYTWO_BUILD_VENV (default build/venv; created when
# missing) with fortytwo and its `build` extra installed, then runs PyInstaller on
# packaging/fortytwo.spec. PYTHON chooses the interpreter for a new venv (default python3;
# it must be 3.11+ and built with a shared libpython). The executable runs on Linux systems
# with the same or a newer glibc than the build machine, so build on the oldest one you
# support.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${FORTYTWO_BUILD_VENV:-build/venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
fi
"$VENV/bin/pip" install --quiet -e '.[build]'

started=$(date +%s)
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/fortytwo.spec
elapsed=$(( $(date +%s) - started ))

size=$(du -h dist/fortytwo | cut -f1)
echo "built dist/fortytwo ($size) in ${elapsed}s"
dist/fortytwo version
