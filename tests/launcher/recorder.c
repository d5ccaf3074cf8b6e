/* Stands in for uv (and for uvx-nix's Python entry point) in tests/unit/test_launcher.py: prints
 * what it was exec'd with, NUL-separated: argc, each argument, then each environment entry,
 * in order.  An ELF program, as the real uv is. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void put(const char *s) { fwrite(s, 1, strlen(s) + 1, stdout); }

int main(int argc, char **argv) {
    char count[16];
    snprintf(count, sizeof count, "%d", argc);
    put(count);
    for (int i = 0; i < argc; i++) put(argv[i]);
    for (char **e = environ; *e; e++) put(*e);
    return fflush(stdout) == 0 ? 0 : 1;
}
