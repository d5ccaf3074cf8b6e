# uvx-nix for fish: `uv` and `uvx` run through uvx-nix (a nixpkgs Python on
# NixOS), and uv's own completions work for both names.
#
#   uvx-nix nix shell-init fish | source    # in ~/.config/fish/config.fish
#
# `uvx-nix nix shell-init` sets _uvx_nix_bin (uvx-nix's absolute path) and
# _uvx_nix_completions (uv's completion script, cached per uv binary) before
# this text; sourced on its own, this file finds uvx-nix on PATH and asks uv
# for the completions.  Loading it twice changes nothing (_uvx_nix_loaded).

if not set -q _uvx_nix_loaded
    if not set -q _uvx_nix_bin
        set -g _uvx_nix_bin (command -s uvx-nix)
    end
    if string match -q -- '/*' "$_uvx_nix_bin"
        set -g _uvx_nix_loaded 1
        eval "function uv --description 'uv through uvx-nix'; "(string escape -- $_uvx_nix_bin)" \$argv; end"
        eval "function uvx --description 'uvx through uvx-nix'; "(string escape -- $_uvx_nix_bin)" tool run \$argv; end"
        if set -q _uvx_nix_completions; and test -r "$_uvx_nix_completions"
            source $_uvx_nix_completions
        else
            UVX_NIX=0 $_uvx_nix_bin generate-shell-completion fish 2>/dev/null | source
            UVX_NIX=0 $_uvx_nix_bin tool uvx --generate-shell-completion fish 2>/dev/null | source
        end
    else
        echo "error: uvx-nix: uvx-nix is not on PATH; install it, then reload the shell integration" >&2
    end
end
