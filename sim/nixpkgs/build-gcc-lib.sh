# stdenv.cc.cc: `lib` output holds the C++ runtime (libstdc++.so.6, libgcc_s.so.1) like nixpkgs.
PATH=$busybox/bin
interp=$glibc/lib/ld-linux-x86-64.so.2
pe() { $interp --library-path $patchelf/lib:$glibc/lib $patchelf/bin/patchelf "$@"; }
mkdir -p $lib/lib $out/nix-support
cp $src/lib/libstdc++.so.6 $src/lib/libgcc_s.so.1 $lib/lib/
chmod u+w $lib/lib/*
for f in $lib/lib/*; do pe --set-rpath "$lib/lib:$glibc/lib" "$f"; done
echo "$lib" > $out/nix-support/lib-output
