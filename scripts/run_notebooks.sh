#!/usr/bin/env bash
# Executes every notebook in notebooks/ headless on Deno's Jupyter kernel and fails if any cell errors.
#
#   scripts/run_notebooks.sh [--keep DIR] [--skip-without-jupyter] [NOTEBOOK.ipynb ...]
#
# - Installs Debian's jupyter-nbconvert, jupyter-client, python3-nbclient and python3-ipykernel when they are
#   missing and this runs as root with apt-get; without them it stops with the command to run (with
#   --skip-without-jupyter it says so and exits 0).
# - Installs the Deno kernelspec (`deno jupyter --install --force`) from a stable path, since the kernelspec records
#   where deno is: the deno on PATH resolved with readlink -f (or $DENO when set; or the binary of
#   `npx deno@2.9.6` when there is no deno on PATH).
# - Executes each notebook with nbconvert into a temporary folder (or --keep DIR): the committed notebooks, which
#   carry no outputs, are never written. Their runs go to a temporary folder too (LCM_NOTEBOOK_OUT).
# - Prints one line per notebook with its time; on an error, the end of nbconvert's log.
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
PACKAGES=(jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel)
KEEP=""
SKIP_WITHOUT_JUPYTER=0
NOTEBOOKS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP="${2:?--keep needs a folder}"; shift 2 ;;
    --skip-without-jupyter) SKIP_WITHOUT_JUPYTER=1; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_notebooks: unknown option $1" >&2; exit 2 ;;
    *) NOTEBOOKS+=("$1"); shift ;;
  esac
done
if [ ${#NOTEBOOKS[@]} -eq 0 ]; then
  NOTEBOOKS=(notebooks/*.ipynb)
fi
# committed notebooks carry no outputs (Jupyter: "Clear All Outputs" before committing)
for nb in "${NOTEBOOKS[@]}"; do
  [ -f "$nb" ] || { echo "run_notebooks: no notebook $nb" >&2; exit 2; }
  if grep -q -e '"output_type"' -e '"execution_count": *[0-9]' "$nb"; then
    echo "run_notebooks: $nb has outputs or execution counts; clear them before committing" >&2
    exit 1
  fi
done

# --- Jupyter (Debian packages) ---------------------------------------------------------------------------------
missing_packages() {
  local p
  command -v dpkg-query >/dev/null 2>&1 || return 0 # not Debian: rely on the jupyter on PATH
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}"
    install=(apt-get install -y -qq --no-install-recommends "${missing[@]}")
    DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null 2>&1; } ||
      true
    mapfile -t missing < <(missing_packages)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    why="missing ${missing[*]} (install as root: apt-get install -y --no-install-recommends ${missing[*]})"
    if [ "$SKIP_WITHOUT_JUPYTER" = 1 ]; then
      echo "run_notebooks: skipped: $why"
      exit 0
    fi
    echo "run_notebooks: $why" >&2
    exit 1
  fi
fi
JUPYTER=/usr/bin/jupyter
[ -x "$JUPYTER" ] || JUPYTER=jupyter
if ! "$JUPYTER" nbconvert --version >/dev/null 2>&1; then
  [ "$SKIP_WITHOUT_JUPYTER" = 1 ] && { echo "run_notebooks: skipped: no jupyter nbconvert"; exit 0; }
  echo "run_notebooks: no jupyter nbconvert" >&2
  exit 1
fi

# --- the Deno kernel, installed from a stable path -------------------------------------------------------------
if [ -n "${DENO:-}" ]; then
  DENO_BIN="$(readlink -f "$DENO")"
elif command -v deno >/dev/null 2>&1; then
  DENO_BIN="$(readlink -f "$(command -v deno)")"
else
  DENO_BIN="$(npx -y "deno@${DENO_VERSION}" eval --quiet 'console.log(Deno.execPath())')"
fi
[ -x "$DENO_BIN" ] || { echo "run_notebooks: no deno binary at $DENO_BIN" >&2; exit 1; }
echo "deno: $DENO_BIN ($("$DENO_BIN" --version | head -n1))"
"$DENO_BIN" jupyter --install --force >/dev/null 2>&1 ||
  { echo "run_notebooks: deno jupyter --install failed:" >&2; "$DENO_BIN" jupyter --install --force; exit 1; }

# --- execute ---------------------------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lcm-notebooks.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUT_DIR="${KEEP:-$WORK/executed}"
mkdir -p "$OUT_DIR" "$WORK/runs"
if [ "$(cd "$OUT_DIR" && pwd -P)" = "$(cd notebooks && pwd -P)" ]; then
  echo "run_notebooks: --keep must not be notebooks/ (the committed notebooks keep no outputs)" >&2
  exit 2
fi
# the notebooks' runs (and token cache) go to the temporary folder, not ../runs
export LCM_NOTEBOOK_OUT="$WORK/runs"
export PYDEVD_DISABLE_FILE_VALIDATION=1 # quiets a debugger warning of Debian's ipykernel

failed=0
for nb in "${NOTEBOOKS[@]}"; do
  name="$(basename "$nb")"
  log="$WORK/${name%.ipynb}.log"
  start=$(date +%s.%N)
  # nbconvert starts the kernel in the notebook's folder, so `../mod.ts` and the repository's deno.json resolve
  status=ok
  if ! "$JUPYTER" nbconvert --to notebook --execute \
    --ExecutePreprocessor.kernel_name=deno \
    --ExecutePreprocessor.timeout=600 \
    --ExecutePreprocessor.startup_timeout=120 \
    --output-dir "$OUT_DIR" "$nb" >"$log" 2>&1; then
    status=FAILED
  elif grep -q '"output_type": "error"' "$OUT_DIR/$name"; then
    status=FAILED # an error output that did not stop the run
  fi
  seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf '%-28s %-6s %6s s\n' "$name" "$status" "$seconds"
  if [ "$status" != ok ]; then
    failed=1
    # the failing cell and its error (nbclient's message), else the end of the log
    if grep -q 'CellExecutionError:' "$log"; then
      sed -n '/CellExecutionError:/,$p' "$log" | head -n 60 | sed 's/^/    /' >&2
    else
      grep -v -e 'frozen modules' -e 'PYDEVD' -e '^0\.00s - ' "$log" | tail -n 40 | sed 's/^/    /' >&2
    fi
  fi
done
if [ -n "$KEEP" ]; then echo "executed notebooks in $KEEP"; fi
exit "$failed"
