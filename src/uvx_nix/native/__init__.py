"""Native code in environments: reading ELF files, the soname table, finding what cannot load
or start, suggesting the nixpkgs attribute that provides it, and patching programs.

This layer knows nothing of resolution or of the commands: it never imports them."""
