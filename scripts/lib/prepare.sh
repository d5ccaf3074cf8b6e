# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: everything a fresh Debian or Ubuntu machine needs
# before the NixOS simulation can be set up. Installs Debian packages with apt (as root), makes
# the project's own virtual environment (.venv, never the machine's Python: a Debian Python is
# externally managed, PEP 668), installs into it, and puts its scripts first on PATH.
# In: REPO; prepare_all's arguments are pip's (e.g. -e '.[test]'). Out: PY, PATH.

prepare_say() { echo "${PREPARE_TAG:-prepare}: $*" >&2; }
prepare_die() { echo "${PREPARE_TAG:-prepare}: error: $*" >&2; exit 1; }

# The Python that runs the suite and the wrapper's own tests: $PYTHON, else python3 on PATH
# (a pyenv CPython on the CI kind of machine, Debian's own elsewhere).
prepare_python() {
  local base="${PYTHON:-python3}"
  command -v "$base" >/dev/null 2>&1 \
    || prepare_die "no python3 on PATH; install it (apt-get install python3) or set PYTHON"
  "$base" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || prepare_die "$base is $("$base" -V 2>&1); uvx-nix needs Python >= 3.10 (set PYTHON)"
  PREPARE_BASE_PY="$(command -v "$base")"
}

prepare_apt() {
  local need=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
  [ "${#need[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 \
    || prepare_die "missing ${need[*]} and no apt-get here; install them with your package manager"
  [ "$(id -u)" = 0 ] || prepare_die "missing ${need[*]}; run: sudo apt-get install ${need[*]}"
  prepare_say "installing ${need[*]} with apt-get"
  mkdir -p "$REPO/sim/.build"
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } \
    >"$REPO/sim/.build/apt.log" 2>&1 \
    || prepare_die "apt-get install ${need[*]} failed (see sim/.build/apt.log)"
}

# Debian splits venv support out of its Python (python3-venv / python3.X-venv).
prepare_venv_support() {
  "$PREPARE_BASE_PY" -c 'import ensurepip, venv' 2>/dev/null && return 0
  local mm
  mm="$("$PREPARE_BASE_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  case "$PREPARE_BASE_PY" in
    /usr/bin/*) prepare_apt "python$mm-venv" ;;
    *) prepare_die "$PREPARE_BASE_PY cannot make virtual environments (no ensurepip)";;
  esac
}

prepare_pyenv() {
  local venv="$REPO/.venv"
  # Remake the venv when its base Python changed or vanished.
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.base-python" 2>/dev/null)" != "$PREPARE_BASE_PY" ] \
     || ! "$venv/bin/python" -c pass 2>/dev/null; then
    prepare_venv_support
    prepare_say "making the project's virtual environment .venv with $PREPARE_BASE_PY"
    rm -rf "$venv"
    "$PREPARE_BASE_PY" -m venv "$venv" || prepare_die "$PREPARE_BASE_PY -m venv .venv failed"
    echo "$PREPARE_BASE_PY" >"$venv/.base-python"
  fi
  PY="$venv/bin/python"
  prepare_say "installing $* into .venv with pip"
  "$PY" -m pip install -q --disable-pip-version-check "$@" >"$REPO/sim/.build/pip-venv.log" 2>&1 \
    || { tail -5 "$REPO/sim/.build/pip-venv.log" >&2
         prepare_die "pip install $* failed (see sim/.build/pip-venv.log)"; }
  PATH="$venv/bin:$PATH"
  export PATH PY
  hash -r
}

# The Debian packages the simulation is built from, and the programs the tests drive.
PREPARE_DEBS=(nix-bin bubblewrap patchelf busybox-static gcc g++ libc6-dev git direnv zsh fish tmux
              ncurses-term shellcheck ca-certificates
              # the look-alike's build toolchain: pkg-config, make, headers and .pc files
              pkgconf make zlib1g-dev libffi-dev
              # and its Rust toolchain (rustc, cargo: Debian's, not rustup's)
              rustc cargo)

prepare_all() {
  mkdir -p "$REPO/sim/.build"
  prepare_python
  prepare_apt "${PREPARE_DEBS[@]}"
  prepare_pyenv "$@"
}
