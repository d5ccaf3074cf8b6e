# uvx-nix's build toolchain: what a build backend started by uv sees, from the project's
# locked nixpkgs. Realised only when uv runs a build backend (see toolchain.py), built and
# GC-rooted in one `nix build --json --out-link`, described in a manifest like resolve.nix's.
#
# Everything comes in as JSON data in `spec` (`--argstr spec ...`): the system, the nixpkgs
# source, whether Rust is needed, and each library as a list of attribute names. Nothing is
# spliced into Nix source text.
{ spec }:
let
  inherit (builtins)
    all attrNames concatLists elemAt filter foldl' fromJSON genList getFlake head isAttrs
    isList length map toFile toJSON tryEval;

  s = fromJSON spec;
  system = s.system;

  # The locked nixpkgs, loaded exactly as resolve.nix loads it.
  inherit (import ../resolve/nixpkgs.nix s) pkgs;
  unsafe = builtins.unsafeDiscardStringContext;
  isDrv = p: isAttrs p && (p.type or "") == "derivation";
  byPath = path: foldl' (acc: k: if acc != null && isAttrs acc && acc ? ${k} then acc.${k} else null) pkgs path;
  exists = path:
    let parent = byPath (genList (i: elemAt path i) (length path - 1)); in
    parent != null && isAttrs parent && parent ? ${elemAt path (length path - 1)};
  # lib.getOutput as nixpkgs has it: the named output, else `out`, else the package.
  getOutput = o: p: if (p.outputSpecified or false) then p else p.${o} or p.out or p;

  # A library by the first of its names this nixpkgs has (see resolve.nix); glibc is never a
  # build library (stdenv.cc brings its own).
  lookup = entry:
    let
      found = filter exists entry.paths;
      v = byPath (if found != [ ] then head found else head entry.paths);
      items = if isList v then v else [ v ];
      ok = v != null && all isDrv items;
    in { inherit (entry) name; missing = !ok; drvs = if ok then items else [ ]; };
  looked = map lookup s.libraries;

  describe = l: map (p:
    let dev = getOutput "dev" p; lib = getOutput "lib" p; bin = getOutput "bin" p; in {
      attribute = l.name;
      name = p.name or "";
      dev = unsafe "${dev}";
      lib = unsafe "${lib}";
      bin = unsafe "${bin}";
      paths = [ dev lib bin ];
    }) l.drvs;
  libraries = concatLists (map describe (filter (l: !l.missing) looked));

  # A tool by attribute name; null (reported missing) when this nixpkgs lacks it.
  tool = name: let r = tryEval (pkgs.${name} or null); in
    if r.success && isDrv r.value then r.value else null;
  cc = let r = tryEval (pkgs.stdenv.cc or null); in if r.success && isDrv r.value then r.value else null;
  bintools = if cc != null && cc ? bintools && isDrv cc.bintools then cc.bintools else null;
  wanted = [ "pkg-config" "gnumake" ] ++ (if s.rust or false then [ "cargo" "rustc" ] else [ ]);
  tools = map (n: { name = n; drv = tool n; }) wanted;
  present = filter (t: t.drv != null) tools;

  manifest = toFile "uvx-nix-build-manifest.json" (toJSON {
    format = 1;
    inherit system;
    key = s.key or "";
    missing = map (l: l.name) (filter (l: l.missing) looked)
      ++ (if cc == null then [ "stdenv.cc" ] else [ ])
      ++ map (t: t.name) (filter (t: t.drv == null) tools);
    cc = if cc == null then null else {
      out = unsafe "${cc}";
      suffixSalt = cc.suffixSalt or null;
      isClang = cc.isClang or false;
      bintools = if bintools == null then null else unsafe "${bintools}";
    };
    tools = map (t: { inherit (t) name; out = unsafe "${getOutput "bin" t.drv}"; }) present;
    libraries = map (l: { inherit (l) attribute name dev lib bin; }) libraries;
  });

  paths = (if cc == null then [ ] else [ cc ])
    ++ (if bintools == null then [ ] else [ bintools ])
    ++ map (t: getOutput "bin" t.drv) present
    ++ concatLists (map (l: l.paths) libraries);
  unique = foldl' (acc: p: if builtins.elem "${p}" (map (q: "${q}") acc) then acc else acc ++ [ p ]) [ ] paths;
in
derivation {
  name = "uvx-nix-build-env";
  system = "builtin";
  builder = "builtin:buildenv";
  inherit manifest;
  # Linked into the output so the GC root keeps every one alive (uvx-nix reads the paths from
  # the manifest, not from the merged tree).
  derivations = concatLists (genList (i: [ "true" (i + 1) 1 "${elemAt unique i}" ]) (length unique));
  preferLocalBuild = true;
  allowSubstitutes = false;
}
