# shellcheck shell=bash
# use_uvnix: direnv support for uvx-nix.
#
# Install:   uvx-nix nix direnv-lib > "${XDG_CONFIG_HOME:-$HOME/.config}/direnv/lib/uvnix.sh"
# .envrc:    use uvnix            # export the variables that steer uv to a nixpkgs Python
#            use uvnix --sync     # ... and run `uvx-nix sync`, then activate the venv
#
# The output of `uvx-nix nix env --format sh` is cached in the user cache
# (${XDG_CACHE_HOME:-~/.cache}/uvx-nix/direnv/<hash of the project path>.sh),
# keyed by a hash of the watched files and the UVX_NIX_*/UV_PYTHON* variables:
# a reload with nothing changed starts no uvx-nix and no Nix.  When uvx-nix
# fails (Nix cannot evaluate, no network), the last good environment is used
# with an error message, and the cache is kept.  The cache is never in the
# project (a repository could commit one) and is never sourced or eval'd: each
# line must be `export NAME=VALUE` / `unset NAME` for a known NAME with a plain
# value, and is applied with `export`.  No library variable is exported into the
# shell: the native libraries are recorded inside the venv (its .pth hook), so
# they do not leak into every program started from the shell.

# Variables taken from `uvx-nix nix env`; everything else (PYTHONPATH scrubbing)
# is left out.
_uvnix_keep=(UV_PYTHON_SEARCH_PATH UV_PYTHON_PREFERENCE UV_PYTHON_DOWNLOADS
    NIX_LD_LIBRARY_PATH)

_uvnix_knobs() {
    # The uvx-nix and uv settings in the environment, before use_uvnix exports any.
    local name
    for name in ${!UVX_NIX_@} ${!UV_PYTHON@} UV_PROJECT_ENVIRONMENT; do
        printf '%s=%s\n' "$name" "${!name-}"
    done
}

_uvnix_hash() {
    # $1: _uvnix_knobs output; then files: each one's name and content (not mtime).
    local f knobs=$1
    shift
    {
        printf '%s\0' "$knobs"
        for f in "$@"; do
            if [[ -f "$f" ]]; then
                printf '%s\0' "$f"
                cat -- "$f"
                printf '\0'
            else
                printf '%s\0-\0' "$f"
            fi
        done
    } | sha256sum | {
        local sum _
        read -r sum _
        printf '%s\n' "$sum"
    }
}

_uvnix_filter() {
    # stdin: `export K=V` / `unset K` lines; stdout: those for _uvnix_keep.
    local line key
    while IFS= read -r line; do
        case $line in
            "export "*=*) key=${line#export }; key=${key%%=*} ;;
            "unset "*) key=${line#unset } ;;
            *) continue ;;
        esac
        local k
        for k in "${_uvnix_keep[@]}"; do
            if [[ "$key" == "$k" ]]; then
                printf '%s\n' "$line"
                break
            fi
        done
    done
}

_uvnix_read_key() {
    local line=
    _uvnix_owned "$1" && IFS= read -r line < "$1"
    printf '%s\n' "${line#\# uvnix-key: }"
}

_uvnix_owned() {
    # A regular file of this user's, not a symlink: the only kind of cache file used.
    [[ -f "$1" && ! -L "$1" && -O "$1" ]]
}

_uvnix_apply() {
    # stdin: `export NAME=VALUE` / `unset NAME` lines. Applied with export/unset, never
    # eval'd: NAME must be one of _uvnix_keep and VALUE a plain or single-quoted string.
    local line name value k known
    while IFS= read -r line; do
        case $line in
            "" | "# uvnix-key: "*) continue ;;
            "unset "*) name=${line#unset }; value= ;;
            "export "*=*) name=${line#export }; name=${name%%=*}; value=${line#*=} ;;
            *) log_error "use uvnix: ignoring an unexpected line in the cached environment"; continue ;;
        esac
        known=0
        for k in "${_uvnix_keep[@]}"; do [[ "$name" == "$k" ]] && known=1; done
        if ((known == 0)); then
            log_error "use uvnix: ignoring unknown variable '$name' in the cached environment"
            continue
        fi
        if [[ "$line" == "unset "* ]]; then
            unset "$name"
        elif [[ "$value" =~ ^[A-Za-z0-9_./:+,=@%-]*$ ]]; then
            export "$name=$value"
        elif [[ "$value" =~ ^\'[^\']*\'$ ]]; then
            value=${value#\'}
            export "$name=${value%\'}"
        else
            log_error "use uvnix: ignoring an unsafe value for $name in the cached environment"
        fi
    done
}

_uvnix_cache_file() {
    # The per-project cache file, in the user cache (created private).
    local base=${XDG_CACHE_HOME:-} sum _
    [[ "$base" == /* ]] || base=$HOME/.cache # a relative XDG_CACHE_HOME is ignored (XDG spec)
    local dir=$base/uvx-nix/direnv
    (umask 077 && mkdir -p "$dir") || return 1
    read -r sum _ < <(printf '%s' "$1" | sha256sum)
    printf '%s/%s.sh\n' "$dir" "$sum"
}

_uvnix_venv() {
    local venv=${UV_PROJECT_ENVIRONMENT:-.venv}
    [[ "$venv" == /* ]] || venv=$1/$venv
    printf '%s\n' "$venv"
}

use_uvnix() {
    local sync=0 arg
    for arg in "$@"; do
        case $arg in
            --sync) sync=1 ;;
            *)
                log_error "use uvnix: unknown option '$arg' (known: --sync)"
                return 1
                ;;
        esac
    done

    local bin
    bin=$(command -v uvx-nix) || {
        log_error "use uvnix: uvx-nix is not on PATH; install it (nix profile install, pipx, uv tool)"
        return 1
    }

    local root=$PWD
    local config=${UVX_NIX_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/uvx-nix/config.toml}
    local watched=("$root/pyproject.toml" "$root/.python-version" "$root/uv.lock"
        "$root/uvx-nix.lock" "$root/flake.lock" "$config"
        "${XDG_CONFIG_HOME:-$HOME/.config}/uv/.python-version")
    # Watch first: direnv reloads on any change, whatever this run decides.
    watch_file "${watched[@]}"

    local cache venv
    cache=$(_uvnix_cache_file "$root") || {
        log_error "use uvnix: cannot create the cache directory under ${XDG_CACHE_HOME:-$HOME/.cache}"
        return 1
    }
    venv=$(_uvnix_venv "$root")

    local key knobs
    knobs=$(_uvnix_knobs)
    key=$(_uvnix_hash "$knobs" "${watched[@]}")
    if [[ "$(_uvnix_read_key "$cache")" == "$key" ]] && { ((sync == 0)) || [[ -d "$venv" ]]; }; then
        _uvnix_apply < "$cache"
        if [[ -d "${UV_PYTHON_SEARCH_PATH%%:*}" ]]; then
            _uvnix_activate "$sync" "$venv" 0
            return 0
        fi
        # The interpreter left the store (garbage collected): resolve again.
    fi

    local tmp env_out rc=0
    tmp=$(mktemp "$cache.XXXXXX") || return 1
    env_out=$("$bin" nix env --format sh) || rc=$?
    if ((rc != 0)); then
        rm -f "$tmp"
        if _uvnix_owned "$cache"; then
            log_error "use uvnix: uvx-nix failed (exit $rc); using the last good environment from $cache"
            _uvnix_apply < "$cache"
            _uvnix_activate "$sync" "$venv" 0
            return 0
        fi
        log_error "use uvnix: uvx-nix failed (exit $rc) and there is no last good environment"
        return 1
    fi
    local filtered
    filtered=$(_uvnix_filter <<<"$env_out")
    _uvnix_apply <<<"$filtered"

    local synced=1
    if ((sync)); then
        log_status "uvnix: uvx-nix sync"
        "$bin" sync --quiet >&2 || {
            synced=0
            log_error "use uvnix: uvx-nix sync failed; the venv is not activated"
        }
    fi

    # The key after the run: resolving writes uvx-nix.lock, syncing uv.lock.
    # A failed sync records no key, so the next load tries again.
    key=$(_uvnix_hash "$knobs" "${watched[@]}")
    ((synced)) || key=retry
    if printf '# uvnix-key: %s\n%s\n' "$key" "$filtered" >"$tmp" && mv -f "$tmp" "$cache"; then
        :
    else
        rm -f "$tmp"
        log_error "use uvnix: could not write $cache"
    fi
    _uvnix_activate "$sync" "$venv" "$synced"
}

_uvnix_inside() {
    # $1: a venv; true when it and its bin/ are real directories (not links) inside the
    # project $2, or anywhere when you chose an absolute UV_PROJECT_ENVIRONMENT yourself.
    [[ -d "$1" && ! -L "$1" && -d "$1/bin" && ! -L "$1/bin" ]] || return 1
    [[ "${UV_PROJECT_ENVIRONMENT:-}" == /* ]] && return 0
    local venv root
    venv=$(cd -- "$1" 2>/dev/null && pwd -P) || return 1
    root=$(cd -- "$2" 2>/dev/null && pwd -P) || return 1
    [[ "$venv" == "$root"/* ]]
}

_uvnix_locked_venv() {
    # $1: a venv; true when its pyvenv.cfg (a regular file, read at most 64 KiB of it)
    # names the locked interpreter's directory (UV_PYTHON_SEARCH_PATH) as its home.
    local cfg=$1/pyvenv.cfg want=${UV_PYTHON_SEARCH_PATH%%:*} line key value
    [[ -n "$want" && -f "$cfg" && ! -L "$cfg" ]] || return 1
    while IFS= read -r line; do
        key=${line%%=*}
        key=${key//[[:space:]]/}
        [[ "$key" == home ]] || continue
        value=${line#*=}
        value=${value#"${value%%[![:space:]]*}"}
        value=${value%"${value##*[![:space:]]}"}
        [[ "$value" == "$want" ]]
        return
    done < <(head -c 65536 -- "$cfg")
    return 1
}

_uvnix_activate() {
    # $1: 1 to activate the venv; $2: its directory; $3: 1 when this run synced it.
    # Only a venv uv accepted in this run, or (from the cache, or the last good environment)
    # one whose Python is the locked interpreter, and only a real directory inside the
    # project: a repository's own `.venv/bin` must never come first on PATH.
    (($1)) || return 0
    [[ -e "$2" || -L "$2" ]] || return 0
    if ! _uvnix_inside "$2" "$PWD"; then
        log_error "use uvnix: not activating $2: it is a link or leads outside the project"
        return 0
    fi
    if [[ "${3:-0}" != 1 ]] && ! _uvnix_locked_venv "$2"; then
        log_error "use uvnix: not activating $2: its Python is not the locked interpreter (run uvx-nix sync)"
        return 0
    fi
    export VIRTUAL_ENV=$2
    PATH_add "$2/bin"
}
