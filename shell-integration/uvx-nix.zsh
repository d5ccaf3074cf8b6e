# uvx-nix for zsh: `uv` and `uvx` run through uvx-nix (a nixpkgs Python on
# NixOS), and uv's own completions work for both names.
#
#   eval "$(uvx-nix nix shell-init zsh)"    # in ~/.zshrc
#
# `uvx-nix nix shell-init` sets _uvx_nix_bin (uvx-nix's absolute path) and
# _uvx_nix_completions (uv's completion script, cached per uv binary) before
# this text; sourced on its own, this file finds uvx-nix on PATH and asks uv
# for the completions.  Loading it twice changes nothing (_uvx_nix_loaded).
# uv's completions call `compdef`, which exists only after `compinit`: when
# this runs before compinit, they load at the first prompt instead.

if [[ -z "${_uvx_nix_loaded-}" ]]; then
    typeset -g _uvx_nix_bin=${_uvx_nix_bin:-${commands[uvx-nix]-}}
    if [[ "$_uvx_nix_bin" == /* ]]; then
        typeset -g _uvx_nix_loaded=1
        eval "uv() { ${(q)_uvx_nix_bin} \"\$@\"; }"
        eval "uvx() { ${(q)_uvx_nix_bin} tool run \"\$@\"; }"

        _uvx_nix_load_completions() {
            (( $+functions[compdef] )) || return 1
            if [[ -n "${_uvx_nix_completions-}" && -r "$_uvx_nix_completions" ]]; then
                source "$_uvx_nix_completions"
            else
                eval "$(UVX_NIX=0 "$_uvx_nix_bin" generate-shell-completion zsh 2>/dev/null)"
                eval "$(UVX_NIX=0 "$_uvx_nix_bin" tool uvx --generate-shell-completion zsh 2>/dev/null)"
            fi
        }
        _uvx_nix_precmd() {
            _uvx_nix_load_completions || return 0
            add-zsh-hook -d precmd _uvx_nix_precmd
        }
        if ! _uvx_nix_load_completions; then
            autoload -Uz add-zsh-hook
            add-zsh-hook precmd _uvx_nix_precmd
        fi
    else
        print -u2 -r -- "error: uvx-nix: uvx-nix is not on PATH; install it, then reload the shell integration"
    fi
fi
