# A minimal stand-in for nixpkgs' lib.evalModules: options are declared with mkOption,
# definitions may use mkIf / mkMerge / mkOverride (mkDefault, mkForce) at any level, and
# conditions are pushed down to the option they define, so `config = mkIf cfg.enable {...}`
# works as it does in nixpkgs. Enough for the uvx-nix modules; not the real thing
# (no submodules, no _module.args, no assertions, no option type coercions).
{ lib }:

let
  inherit (builtins)
    attrNames
    concatLists
    filter
    foldl'
    isAttrs
    isFunction
    isPath
    length
    head
    tail
    ;

  typeOf = x: if isAttrs x then x._type or null else null;

  # Each module as { file, options, config } with its function applied to the arguments.
  collect =
    args: m:
    let
      file = if isPath m then toString m else "<inline>";
      loaded = if isPath m then import m else m;
      value = if isFunction loaded then loaded args else loaded;
      isStructured = value ? options || value ? config || value ? imports;
      self = {
        file = value._file or file;
        options = value.options or { };
        config =
          if isStructured then
            value.config or { }
          else
            removeAttrs value [
              "_file"
              "imports"
            ];
      };
    in
    [ self ] ++ concatLists (map (collect args) (value.imports or [ ]));

  # The definitions a module's config makes for `path`: a list of { conds, priority, value }.
  # mkIf conditions are collected, not evaluated, until the option is read.
  defsAt =
    path: conds: priority: def:
    let
      t = typeOf def;
    in
    if t == "merge" then
      concatLists (map (defsAt path conds priority) def.contents)
    else if t == "if" then
      defsAt path (conds ++ [ def.condition ]) priority def.content
    else if t == "override" then
      defsAt path conds def.priority def.content
    else if path == [ ] then
      [ { inherit conds priority; value = def; } ]
    else if isAttrs def && def ? ${head path} then
      defsAt (tail path) conds priority def.${head path}
    else
      [ ];

  # Merge definitions ({ file, value } with value possibly still wrapped) of one option.
  mergeDefinitions =
    loc: type: defs:
    let
      unwrapped = concatLists (
        map (d: map (x: x // { inherit (d) file; }) (defsAt [ ] [ ] 100 d.value)) defs
      );
      active = filter (d: builtins.all (c: c) d.conds) unwrapped;
      best = foldl' (p: d: if d.priority < p then d.priority else p) 9999 active;
      chosen = filter (d: d.priority == best) active;
    in
    if chosen == [ ] then
      throw "The option `${lib.concatStringsSep "." loc}' is used but not defined."
    else
      type.merge loc (map (d: { inherit (d) file; value = lib.checked type loc d.value; }) chosen);

  # options: nested attrsets with mkOption leaves -> the same shape of merged values.
  evalOptions =
    path: decls: modulesList:
    if lib.isOption decls then
      let
        defs = concatLists (
          map (
            m:
            map (d: {
              inherit (m) file;
              value = d.value;
              inherit (d) conds priority;
            }) (defsAt path [ ] 100 m.config)
          ) modulesList
        );
        wrapped = map (d: {
          inherit (d) file;
          value = foldl' (v: c: lib.mkIf c v) (lib.mkOverride d.priority d.value) d.conds;
        }) defs;
        withDefault =
          wrapped
          ++ lib.optional decls.hasDefault {
            file = "<default>";
            value = lib.mkOverride 1500 decls.default;
          };
      in
      mergeDefinitions path decls.type withDefault
    else
      lib.genAttrs (attrNames decls) (n: evalOptions (path ++ [ n ]) decls.${n} modulesList);

  # Declarations merge like nested attrsets; an option declared twice keeps the last one.
  mergeDecls = foldl' mergeTwo { };
  mergeTwo =
    a: b:
    a
    // lib.genAttrs (attrNames b) (
      n:
      if a ? ${n} && isAttrs a.${n} && !(lib.isOption a.${n}) && !(lib.isOption b.${n}) then
        mergeTwo a.${n} b.${n}
      else
        b.${n}
    );

  evalModules =
    {
      modules,
      specialArgs ? { },
      ...
    }:
    let
      args = specialArgs // {
        inherit lib config options;
      };
      collected = concatLists (map (collect args) modules);
      options = mergeDecls (map (m: m.options) collected);
      config = evalOptions [ ] options collected;
      # Definitions of options nobody declared are an error in nixpkgs too.
      undeclared = filter (
        m: builtins.any (n: !(options ? ${n})) (attrNames (topNames m.config))
      ) collected;
      topNames = c: if typeOf c == "merge" then foldl' (a: x: a // topNames x) { } c.contents
        else if typeOf c == "if" || typeOf c == "override" then topNames c.content
        else if isAttrs c then lib.genAttrs (attrNames c) (_: null) else { };
    in
    {
      inherit options;
      config =
        if undeclared == [ ] then
          config
        else
          throw "The option `${head (attrNames (topNames (head undeclared).config))}' defined in ${(head undeclared).file} does not exist.";
      _type = "configuration";
    };
in
{
  inherit evalModules mergeDefinitions;
}
