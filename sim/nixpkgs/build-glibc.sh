# Builder of the store glibc (busybox sh, empty PATH): Debian's loader and libraries. The
# source's loader already has its system search path redirected (tests/sim/collect.py) to
# /nix/var/simglibc/lib/, which setup-sim links to this output's lib/: like NixOS's glibc, its
# own libs (libpthread, libgcc_s, ...) always resolve, nothing else does unless on RUNPATH or
# LD_LIBRARY_PATH.
PATH=$busybox/bin
mkdir -p $out
cp -R $src/. $out/
chmod -R u+w $out
rm -f $out/nix-support/sim-elf
