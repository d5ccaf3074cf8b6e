#!/run/current-system/sw/bin/bash
# Prototype, for the benchmark only: uvx-nix's hot path without Python.
# Reads the hot state file the Python wrapper wrote ($UVX_NIX_STATE; a real version would derive
# its name from the working directory), checks it (required store paths exist; watched files
# absent/present as recorded and not newer than the state file; bash has no stat builtin, so
# mtime order stands in for state.py's full signature), builds the environment
# environment.build gives uv, and execs $UVX_NIX_REAL_UV. Anything unexpected: the Python
# wrapper decides.
state=${UVX_NIX_STATE:?}
fallback() { exec uvx-nix "$@"; }
words=()
while IFS= read -r -d '' w; do words+=("$w"); done <"$state" || true
words+=("$w")
[[ ${words[0]} == uvx-nix-state-2 ]] || fallback "$@"
declare -A f=()
i=3
n=${#words[@]}
while ((i < n)); do
  case ${words[i]} in
    field) f[${words[i + 1]}]=${words[i + 2]}; ((i += 3)) ;;
    watch)
      p=${words[i + 1]}
      if [[ ${words[i + 2]} == - ]]; then [[ -e $p ]] && fallback "$@"
      else [[ -e $p && ! $p -nt $state ]] || fallback "$@"; fi
      ((i += 3)) ;;
    need) [[ -e ${words[i + 1]} ]] || fallback "$@"; ((i += 2)) ;;
    *) fallback "$@" ;;
  esac
done
[[ ${f[strategy]} == nix-ld ]] && fallback "$@"
export UV_PYTHON_DOWNLOADS=${UV_PYTHON_DOWNLOADS:-never}
export UV_PYTHON_PREFERENCE=${UV_PYTHON_PREFERENCE:-only-system}
export UV_PYTHON_SEARCH_PATH=${f[python_bin]}${UV_PYTHON_SEARCH_PATH:+:$UV_PYTHON_SEARCH_PATH}
if [[ -n ${f[libs]} ]]; then
  export LD_LIBRARY_PATH=${f[libs]}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export UVX_NIX_INJECTED_LD_LIBRARY_PATH=${f[libs]} UVX_NIX_LIBRARY_PATH=${f[libs]}
fi
exec "${UVX_NIX_REAL_UV:?}" "$@"
