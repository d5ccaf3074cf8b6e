# Generic builder (busybox sh, empty PATH): copy the source, then give every dynamic ELF the
# store loader as interpreter and $out/lib + glibc as RUNPATH, as nixpkgs' fixup does.
PATH=$busybox/bin
mkdir -p $out
cp -R $src/. $out/
chmod -R u+w $out
interp=$glibc/lib/ld-linux-x86-64.so.2
pe() { $interp --library-path $patchelf/lib:$glibc/lib $patchelf/bin/patchelf "$@"; }
rpath="$out/lib:$glibc/lib"
while read kind rel; do
  case $kind in
    # Two calls, RUNPATH first: patchelf 0.18 (Debian 13) setting both at once, or the
    # interpreter first, breaks a non-PIE executable (Debian's own python3.13 segfaults).
    exe) pe --set-rpath "$rpath" "$out/$rel" && pe --set-interpreter $interp "$out/$rel" ;;
    lib) pe --set-rpath "$rpath" "$out/$rel" ;;
  esac
done < $src/nix-support/sim-elf
rm -f $out/nix-support/sim-elf
# A second output `dev` (nixpkgs' multiple outputs, pkgs/build-support/setup-hooks/multiple-outputs.sh):
# headers, pkg-config files and *-config programs move there; the .pc files name the store.
if [ -n "${dev:-}" ]; then
  mkdir -p $dev/lib
  if [ -d $out/include ]; then mv $out/include $dev/; fi
  if [ -d $out/lib/pkgconfig ]; then
    mv $out/lib/pkgconfig $dev/lib/
    for pc in $dev/lib/pkgconfig/*.pc; do
      sed -i -e "s|^prefix=.*|prefix=$dev|" -e "s|^exec_prefix=.*|exec_prefix=$out|" \
        -e "s|^libdir=.*|libdir=$out/lib|" -e "s|^sharedlibdir=.*|sharedlibdir=$out/lib|" \
        -e "s|^includedir=.*|includedir=$dev/include|" "$pc"
    done
  fi
  for f in $out/bin/*-config; do
    if [ -e "$f" ]; then mkdir -p $dev/bin; mv "$f" $dev/bin/; fi
  done
fi
