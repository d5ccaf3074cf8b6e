#! @bash@
# The look-alike's rustc: nixpkgs' rustc-wrapper.sh (pkgs/build-support/rust/rustc-wrapper)
# without a default sysroot or default arguments: the unwrapped compiler, then $NIX_RUSTFLAGS.
read -r -a extraAfter <<< "${NIX_RUSTFLAGS:-}"
if (( "${NIX_DEBUG:-0}" >= 1 )); then
    echo "extra flags after to @prog@:" >&2
    printf "  %q\n" "${extraAfter[@]+"${extraAfter[@]}"}" >&2
fi
exec @prog@ "$@" "${extraAfter[@]+"${extraAfter[@]}"}"
