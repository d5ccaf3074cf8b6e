{ nonce ? "1", fail ? false }:
let
  mk = name: script: derivation {
    inherit name nonce;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
  };
  data = mk "data-1.0" "/bin/mkdir -p $out/lib; /usr/bin/head -c 3000000 /dev/urandom > $out/lib/blob";
in rec {
  inherit data;
  chatty = mk "chatty-1.0" ''
    for i in 1 2 3; do echo "compiling part $i of 3"; /bin/sleep 1; done
    ${if fail then "echo 'chatty: error: no such thing' >&2; exit 2" else ""}
    /bin/mkdir -p $out/lib; echo ${data} > $out/lib/ref
  '';
  broken = let empty = { }; in empty.nothere;
  thrown = mk "thrown-1.0" (throw "thrown cannot be evaluated");
}
