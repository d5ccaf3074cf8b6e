# shellcheck shell=bash
# uvx-nix for bash: `uv` and `uvx` run through uvx-nix (a nixpkgs Python on
# NixOS), and uv's own completions work for both names.
#
#   eval "$(uvx-nix nix shell-init bash)"    # in ~/.bashrc
#
# `uvx-nix nix shell-init` sets _uvx_nix_bin (uvx-nix's absolute path) and
# _uvx_nix_completions (uv's completion script, cached per uv binary) before
# this text; sourced on its own, this file finds uvx-nix on PATH and asks uv
# for the completions.  Loading it twice changes nothing (_uvx_nix_loaded).
# No `return` or `exit` at top level: this text is eval'd inside ~/.bashrc.

if [[ -z "${_uvx_nix_loaded-}" ]]; then
    _uvx_nix_bin=${_uvx_nix_bin:-$(command -v uvx-nix)}
    if [[ "$_uvx_nix_bin" == /* ]]; then
        _uvx_nix_loaded=1
        # The path is fixed now, so PATH order later does not matter; uvx-nix
        # finds the real uv itself (the first `uv` on PATH that is not uvx-nix).
        eval "uv() { $(printf '%q' "$_uvx_nix_bin") \"\$@\"; }"
        eval "uvx() { $(printf '%q' "$_uvx_nix_bin") tool run \"\$@\"; }"
        if [[ -n "${_uvx_nix_completions-}" && -r "$_uvx_nix_completions" ]]; then
            # shellcheck source=/dev/null
            source "$_uvx_nix_completions"
        else
            # UVX_NIX=0: plain pass-through to the real uv, no Nix.
            eval "$(UVX_NIX=0 "$_uvx_nix_bin" generate-shell-completion bash 2>/dev/null)"
            eval "$(UVX_NIX=0 "$_uvx_nix_bin" tool uvx --generate-shell-completion bash 2>/dev/null)"
        fi
    else
        printf '%s\n' "error: uvx-nix: uvx-nix is not on PATH; install it, then reload the shell integration" >&2
    fi
fi
