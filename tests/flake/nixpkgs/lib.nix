# A small subset of nixpkgs' lib with the same names and shapes: enough to evaluate the
# uvx-nix flake and its modules. lib.evalModules is a minimal module system (modules.nix).
let
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    elem
    filter
    foldl'
    head
    isAttrs
    isBool
    isFunction
    isList
    isString
    listToAttrs
    map
    ;

  lib = rec {
    inherit concatStringsSep elem filter foldl' head;

    genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalString = cond: s: if cond then s else "";
    concatMap = f: xs: concatLists (map f xs);
    removePrefix =
      prefix: s:
      let
        n = builtins.stringLength prefix;
      in
      if builtins.substring 0 n s == prefix then builtins.substring n (-1) s else s;
    splitString = sep: s: filter isString (builtins.split (escapeRegex sep) s);
    escapeRegex = s: builtins.replaceStrings [ "." "/" "+" "*" "?" "(" ")" "[" "]" ] [ "\\." "/" "\\+" "\\*" "\\?" "\\(" "\\)" "\\[" "\\]" ] s;
    escapeShellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";
    boolToString = b: if b then "true" else "false";
    recursiveUpdate =
      a: b:
      a
      // listToAttrs (
        map (n: {
          name = n;
          value = if isAttrs (a.${n} or null) && isAttrs b.${n} && !(isDerivation b.${n}) then recursiveUpdate a.${n} b.${n} else b.${n};
        }) (attrNames b)
      );
    isDerivation = x: isAttrs x && (x.type or null) == "derivation";

    getLib = p: p.lib or p.out or p;
    getBin = p: p.bin or p.out or p;
    makeSearchPath = sub: ps: concatStringsSep ":" (map (p: "${p}/${sub}") ps);
    makeBinPath = ps: makeSearchPath "bin" (map getBin ps);
    makeLibraryPath = ps: makeSearchPath "lib" (map getLib ps);
    getExe =
      p:
      if p ? meta.mainProgram then
        "${getBin p}/bin/${p.meta.mainProgram}"
      else
        throw "lib.getExe: ${p.name or "package"} has no meta.mainProgram";
    getExe' = p: name: "${getBin p}/bin/${name}";

    cleanSource = src: builtins.path { path = src; name = "source"; };
    cleanSourceWith =
      { src, filter, name ? "source" }: builtins.path { path = src; inherit filter name; };

    licenses.mit = { spdxId = "MIT"; shortName = "mit"; };
    platforms.linux = [ "x86_64-linux" "aarch64-linux" ];

    # --- the module system ---------------------------------------------------------------
    mkOption =
      {
        type ? types.unspecified,
        default ? null,
        ...
      }@args:
      args // { _type = "option"; inherit type; hasDefault = args ? default; };
    mkEnableOption =
      name:
      mkOption {
        type = types.bool;
        default = false;
        example = true;
        description = "Whether to enable ${name}.";
      };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    isOption = x: isAttrs x && (x._type or null) == "option";

    types = rec {
      mkOptionType =
        { name, check ? (_: true), merge ? mergeEqual }@t: t // { _type = "option-type"; inherit check merge; };
      mergeEqual =
        loc: defs:
        let
          first = (head defs).value;
        in
        if builtins.all (d: d.value == first) defs then
          first
        else
          throw "The option `${concatStringsSep "." loc}' has conflicting definitions.";
      unspecified = mkOptionType { name = "unspecified"; };
      bool = mkOptionType { name = "bool"; check = isBool; };
      str = mkOptionType { name = "str"; check = isString; };
      lines = mkOptionType {
        name = "lines";
        check = isString;
        merge = _loc: defs: concatStringsSep "\n" (map (d: d.value) defs);
      };
      package = mkOptionType { name = "package"; check = isDerivation; };
      path = mkOptionType {
        name = "path";
        check = x: builtins.isPath x || (isString x && builtins.substring 0 1 (toString x) == "/");
      };
      attrs = mkOptionType {
        name = "attrs";
        check = isAttrs;
        merge = _loc: defs: foldl' recursiveUpdate { } (map (d: d.value) defs);
      };
      listOf =
        elemType:
        mkOptionType {
          name = "listOf";
          check = isList;
          merge = loc: defs: concatMap (d: map (checked elemType loc) d.value) defs;
        };
      nullOr =
        elemType:
        mkOptionType {
          name = "nullOr";
          check = x: x == null || elemType.check x;
          merge =
            loc: defs:
            let
              nonNull = filter (d: d.value != null) defs;
            in
            if nonNull == [ ] then null else elemType.merge loc nonNull;
        };
      # The values of an attrsOf may themselves be mkIf/mkMerge/mkDefault: modules.nix
      # resolves them per attribute (as nixpkgs does).
      attrsOf =
        elemType:
        mkOptionType {
          name = "attrsOf";
          check = isAttrs;
          merge =
            loc: defs:
            let
              names = attrNames (foldl' (a: d: a // d.value) { } defs);
            in
            genAttrs names (
              n:
              modules.mergeDefinitions (loc ++ [ n ]) elemType (
                concatMap (d: if d.value ? ${n} then [ { inherit (d) file; value = d.value.${n}; } ] else [ ]) defs
              )
            );
        };
    };
    checked =
      type: loc: x:
      if type.check x then x else throw "A definition for option `${concatStringsSep "." loc}' is not of type `${type.name}'.";

    modules = import ./modules.nix { inherit lib; };
    inherit (modules) evalModules;
  };
in
lib
