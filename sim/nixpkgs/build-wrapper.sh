# Builder of the look-alike's stdenv.cc and pkg-config (busybox sh, empty PATH): the wrapper
# scripts with their store paths filled in, and links to the tools they delegate to.
PATH=$busybox/bin
mkdir -p $out/bin $out/nix-support
fill() {
  sed -e "s|@bash@|$bash/bin/bash|g" -e "s|@out@|$out|g" -e "s|@gcc@|${gcc:-}|g" \
    -e "s|@glibc@|${glibc:-}|g" -e "s|@libcdev@|${libcdev:-}|g" -e "s|@gcclib@|${gcclib:-}|g" -e "s|@pkgconf@|${pkgconf:-}|g" \
    -e "s|@suffixSalt@|$suffixSalt|g" -e "s|@prog@|$2|g" "$wrapper" > "$out/bin/$1"
  chmod 555 "$out/bin/$1"
}
if [ -n "${gcc:-}" ]; then
  fill gcc gcc; fill cc gcc; fill g++ g++; fill c++ g++; fill cpp cpp
  for t in $binutils/bin/*; do ln -s "$t" $out/bin/; done
  echo "$glibc/lib/ld-linux-x86-64.so.2" > $out/nix-support/dynamic-linker
  echo "-B$libcdev/lib/ -idirafter $libcdev/include" > $out/nix-support/libc-cflags
else
  fill pkg-config pkg-config
fi
