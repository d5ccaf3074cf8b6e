# Builder of the look-alike's rustc and cargo (busybox sh, empty PATH): nixpkgs' wrappers
# around the unwrapped programs (see toolchain.nix).
PATH=$busybox/bin
mkdir -p $out/bin
if [ -n "${wrapper:-}" ]; then
  # rustc: bin/rustc filled in as rustc-wrapper's `substitute` does.
  sed -e "s|@bash@|$bash/bin/bash|g" -e "s|@prog@|$unwrapped/bin/rustc|g" "$wrapper" > $out/bin/rustc
  chmod 555 $out/bin/rustc
else
  # cargo: makeWrapper's `--suffix PATH : $rustc/bin` around bin/.cargo-wrapped.
  ln -s $unwrapped/bin/cargo $out/bin/.cargo-wrapped
  cat > $out/bin/cargo <<WRAP
#! $bash/bin/bash -e
PATH=\${PATH:+\$PATH:}$rustc/bin
export PATH
exec -a "\$0" "$out/bin/.cargo-wrapped" "\$@"
WRAP
  chmod 555 $out/bin/cargo
fi
