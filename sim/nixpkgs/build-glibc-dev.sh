# Builder of glibc's `dev` output (busybox sh, empty PATH): headers and link-time files; the
# linker scripts and links staged with @glibc@/@out@ placeholders name the store glibc.
PATH=$busybox/bin
mkdir -p $out
cp -R $src/. $out/
chmod -R u+w $out
rm -f $out/nix-support/sim-elf
for f in $out/lib/*.so; do
  if [ -L "$f" ]; then
    target=$(readlink "$f" | sed -e "s|@glibc@|$glibc|")
    ln -sfn "$target" "$f"
  else
    sed -i -e "s|@glibc@|$glibc|g" -e "s|@out@|$out|g" "$f"
  fi
done
