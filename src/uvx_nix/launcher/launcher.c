/* uvx-nix's launcher: a cache hit without starting Python.
 *
 * It does exactly what the Python implementation does on a hit (uvx_nix/cli.py `_run`):
 * read argv as argv.py does, compute the hot state's key, read the state file Python wrote,
 * check its stat signatures and store paths, build uv's environment as environment.py does,
 * and exec the real uv.  Anything it is not sure of (an own command, `uv run -`, a `python`
 * command, a miss, a damaged state, a changed venv, a command Python runs uv as a child for,
 * an environment `uv run` may still have to prepare, an odd byte in a value it must judge) it
 * hands to the Python implementation by exec, with the arguments untouched and the
 * environment unchanged except for two variables that Python removes at once:
 * UVX_NIX_LAUNCHER (this program's path: Python treats it as itself) and
 * UVX_NIX_LAUNCHER_NAME (the name it was called by: `uvx` means `uv tool run`).
 *
 * The state format is written only by Python (uvx_nix/state.py).  tests/test_launcher.py
 * runs this program and the Python implementation on generated inputs and requires the same
 * exec (argv and environment, byte for byte) or a hand-over.
 *
 * Build (C99 + POSIX, standard library only):
 *   cc -O2 -o uvx-nix launcher.c -DUVX_NIX_ENTRY='"/path/to/python/uvx-nix"' \
 *      -DUVX_NIX_VERSION='"0.1.0"' [-DUVX_NIX_DEFAULT_UV='"/nix/store/...-uv/bin/uv"'] \
 *      [-DUVX_NIX_TRACE]
 * UVX_NIX_DEFAULT_UV: the uv to use when UVX_NIX_UV is unset (the flake's package);
 * UVX_NIX_TRACE: say on stderr where it hands over (for development, never shipped).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if !defined(UVX_NIX_ENTRY) || !defined(UVX_NIX_VERSION)
#error "define UVX_NIX_ENTRY and UVX_NIX_VERSION (see the header comment)"
#endif

extern char **environ;

/* ---- constants mirrored from the Python implementation (checked by tests) ---------------- */

#define STATE_FORMAT "uvx-nix-state-2" /* state.FORMAT */
#define TOUCH_AFTER_SECONDS 86400      /* state.TOUCH_AFTER_SECONDS */
#define MAX_STATE (1 << 24)

static const char *const KEY_VARIABLES[] = { /* state.KEY_VARIABLES, in order */
    "UV_PYTHON", "UV_PROJECT", "UV_WORKING_DIR", "UV_PROJECT_ENVIRONMENT", "UV_NO_CONFIG",
    "UV_CONFIG_FILE", "UV_PYTHON_PREFERENCE", "UV_MANAGED_PYTHON", "UV_NO_MANAGED_PYTHON",
    "XDG_CONFIG_DIRS", "HOME", "UVX_NIX_NIXPKGS", "UVX_NIX_TRUST", "UVX_NIX_LIBRARIES",
    "UVX_NIX_DEFAULT_LIBRARIES", "UVX_NIX_STRATEGY", "UVX_NIX_AUTO_LIBRARIES",
    "UVX_NIX_ALLOW_UNFREE", "UVX_NIX_BUILD_LIBRARIES", "UVX_NIX_AUTO_BUILD_LIBRARIES",
    "UVX_NIX_CONFIG", "XDG_CONFIG_HOME", "NIX_PATH", NULL};

static const char *const VALUE_OPTIONS[] = { /* argv.VALUE_OPTIONS */
    "--allow-insecure-host", "--annotation-style", "--author-from", "--bounds", "--branch",
    "--build-backend", "--build-constraints", "--bump", "--cache-dir", "--cert", "--color",
    "--config-file", "--config-setting", "--config-settings-package", "--constraints",
    "--custom-compile-command", "--default-index", "--depth", "--description", "--directory",
    "--editable", "--env-file", "--exclude-newer", "--exclude-newer-package", "--excludes",
    "--extra", "--extra-index-url", "--find-links", "--fork-strategy", "--format", "--from",
    "--graalpy-mirror", "--group", "--index", "--index-strategy", "--index-url",
    "--install-dir", "--keyring-provider", "--link-mode", "--marker", "--mirror", "--name",
    "--no-binary", "--no-binary-package", "--no-build-isolation-package", "--no-build-package",
    "--no-editable-package", "--no-emit-package", "--no-extra", "--no-group",
    "--no-install-package", "--no-sources-package", "--only-binary", "--only-group",
    "--optional", "--out-dir", "--output-file", "--output-format", "--overrides", "--package",
    "--prefix", "--prerelease", "--prerelease-package", "--project", "--prompt", "--prune",
    "--pypy-mirror", "--pyodide-mirror", "--python", "--python-downloads-json-url",
    "--python-preference", "--python-platform", "--python-version", "--refresh-package",
    "--reinstall-package", "--requirements", "--resolution", "--rev", "--tag", "--target",
    "--torch-backend", "--upgrade-group", "--upgrade-package", "--vcs", "--with",
    "--with-editable", "--with-executables-from", "--with-requirements", NULL};
static const char SHORT_VALUE_OPTIONS[] = "pwifPCrcmebtod"; /* argv.SHORT_VALUE_OPTIONS */
static const char *const GROUPS[] = {"pip", "tool", "python", "cache", "self", "auth",
                                     "workspace", "help", NULL};
/* argv.NO_INTERPRETER: one word, or "group sub" */
static const char *const NO_INTERPRETER[] = {
    "help", "cache", "self", "auth", "publish", "format", "workspace",
    "generate-shell-completion", "python dir", "python uninstall", "python update-shell",
    "tool dir", "tool list", "tool uninstall", "tool update-shell", NULL};
static const char *const ENVIRONMENT_COMMANDS[] = {"run", "sync", "add", "remove", "version",
                                                   NULL};
static const char *const NO_ENVIRONMENT_FLAGS[] = {"--frozen", "--no-sync", "--isolated", NULL};
/* cli.PREPARING: Python runs uv as a child, then prepares what it made (unless nix-ld) */
static const char *const PREPARING[] = {"sync", "add", "remove", "pip install", "pip sync",
                                        "version", "venv", "tool install", "tool upgrade",
                                        NULL};
static const char *const RUNNING[] = {"run", "tool run", NULL}; /* cli.RUNNING */

/* environment.py */
#define PREFERENCE_MARKER "UVX_NIX_PYTHON_PREFERENCE"
#define STORE_PREFIX "/nix/store/"
#define DEPTH "UVX_NIX_DEPTH" /* execute.DEPTH */
#define LAUNCHER "UVX_NIX_LAUNCHER"           /* cli.LAUNCHER */
#define LAUNCHER_NAME "UVX_NIX_LAUNCHER_NAME" /* cli.LAUNCHER_NAME */

/* ---- small helpers ------------------------------------------------------------------------ */

static int in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return 1;
    return 0;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* A growing byte string. */
typedef struct { char *p; size_t len, cap; } buf;

static void buf_add(buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static char *concat3(const char *a, const char *b, const char *c) {
    buf out = {0};
    buf_str(&out, a), buf_str(&out, b), buf_str(&out, c);
    return out.p;
}

/* os.path.join(a, b) */
static char *path_join(const char *a, const char *b) {
    if (b[0] == '/' || a[0] == '\0') return xstrdup(b);
    return concat3(a, a[strlen(a) - 1] == '/' ? "" : "/", b);
}

/* Python's str.strip() for ASCII text (callers refuse other bytes). */
static int py_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int ascii_only(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

/* s.strip().lower() of an ASCII value into out (size n); 0 when it does not fit. */
static int strip_lower(const char *s, char *out, size_t n) {
    const char *end = s + strlen(s);
    while (s < end && py_space((unsigned char)*s)) s++;
    while (end > s && py_space((unsigned char)end[-1])) end--;
    if ((size_t)(end - s) >= n) return 0;
    size_t i = 0;
    for (; s < end; s++) out[i++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s + 32) : *s;
    out[i] = '\0';
    return 1;
}

/* ---- the environment: an ordered map with Python dict semantics --------------------------- */
/* Setting an existing name keeps its place; a new (or deleted, then set) name goes last. */

typedef struct { char *entry; size_t nlen; int live; } var;
static var *vars;
static size_t nvars, capvars;

static var *env_find(const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < nvars; i++)
        if (vars[i].live && vars[i].nlen == n && memcmp(vars[i].entry, name, n) == 0)
            return &vars[i];
    return NULL;
}

static const char *env_get(const char *name) {
    var *v = env_find(name);
    return v ? v->entry + v->nlen + 1 : NULL;
}

static void env_set(const char *name, const char *value) {
    char *entry = concat3(name, "=", value);
    var *v = env_find(name);
    if (v) {
        v->entry = entry;
        return;
    }
    if (nvars == capvars) {
        capvars = capvars ? capvars * 2 : 64;
        vars = realloc(vars, capvars * sizeof *vars);
        if (!vars) abort();
    }
    vars[nvars++] = (var){entry, strlen(name), 1};
}

static void env_del(const char *name) {
    var *v = env_find(name);
    if (v) v->live = 0;
}

/* os.environ as Python builds it: the first of duplicate names wins, entries without `=` are
 * dropped.  An empty name makes Python's exec fail: 0 (hand over). */
static int env_load(void) {
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        if (eq == *e) return 0;
        char *name = xmalloc((size_t)(eq - *e) + 1);
        memcpy(name, *e, (size_t)(eq - *e));
        name[eq - *e] = '\0';
        if (!env_find(name)) env_set(name, eq + 1);
        free(name);
    }
    return 1;
}

static char **env_array(void) {
    char **out = xmalloc((nvars + 1) * sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < nvars; i++)
        if (vars[i].live) out[n++] = vars[i].entry;
    out[n] = NULL;
    return out;
}

#define hand_over() hand_over_at(__LINE__)

/* ---- hand-over ---------------------------------------------------------------------------- */

static int g_argc;
static char **g_argv;

static void hand_over_at(int line) {
#ifdef UVX_NIX_TRACE
    fprintf(stderr, "uvx-nix launcher: hand-over at launcher.c:%d\n", line);
#else
    (void)line;
#endif
    char exe[PATH_MAX];
    char *self = realpath("/proc/self/exe", exe);
    if (self) setenv(LAUNCHER, self, 1);
    const char *name = g_argc >= 1 ? g_argv[0] : "";
    const char *slash = strrchr(name, '/');
    setenv(LAUNCHER_NAME, slash ? slash + 1 : name, 1);
    char **args = xmalloc(((size_t)g_argc + 2) * sizeof *args);
    args[0] = (char *)UVX_NIX_ENTRY;
    for (int i = 1; i < g_argc; i++) args[i] = g_argv[i];
    args[g_argc >= 1 ? g_argc : 1] = NULL;
    execv(UVX_NIX_ENTRY, args);
    fprintf(stderr, "error: uvx-nix: cannot run uvx-nix's Python implementation %s (%s); "
                    "reinstall uvx-nix\n", UVX_NIX_ENTRY, strerror(errno));
    exit(77);
}

/* ---- argv (argv.py parse) ----------------------------------------------------------------- */

typedef struct {
    int argc;            /* number of uv arguments */
    char **args;         /* uv's arguments */
    const char *cmd[3];  /* the subcommand words */
    int ncmd;
    const char *directory, *project, *python, *script, *config_file;
    int no_config, help, version, preference, run_script_flag;
    int first_pos, npos; /* index in args of the first positional, and how many */
    int tail_start;      /* args[tail_start:] is the tail */
} inv_t;

/* command[:2] (or command[:1]) as "a" or "a b", for the tables above. */
static void cmd_words(const inv_t *v, int n, char *out, size_t size) {
    out[0] = '\0';
    for (int i = 0; i < n && i < v->ncmd; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", v->cmd[i]);
}

static int in_options(const inv_t *v, const char *word) {
    for (int i = 0; i < v->tail_start; i++)
        if (!strcmp(v->args[i], word)) return 1;
    return 0;
}

static void parse(inv_t *v, int argc, char **args) {
    memset(v, 0, sizeof *v);
    v->argc = argc, v->args = args, v->tail_start = argc, v->first_pos = -1;
    int expecting_subcommand = 1, i = 0;
    while (i < argc) {
        const char *token = args[i++];
        if (!strcmp(token, "--")) {
            v->tail_start = i;
            break;
        }
        size_t tlen = strlen(token);
        if (tlen > 2 && token[0] == '-' && token[1] == '-') {
            const char *eq = strchr(token, '=');
            size_t nlen = eq ? (size_t)(eq - token) : tlen;
            char *name = xmalloc(nlen + 1);
            memcpy(name, token, nlen), name[nlen] = '\0';
            int is_run = v->ncmd == 1 && !strcmp(v->cmd[0], "run");
            if (in_list(name, VALUE_OPTIONS) || (!strcmp(name, "--script") && !is_run)) {
                const char *value = eq ? eq + 1 : NULL;
                if (!eq) {
                    if (i >= argc) { free(name); break; }
                    value = args[i++];
                }
                if (!strcmp(name, "--directory")) v->directory = value;
                else if (!strcmp(name, "--project")) v->project = value;
                else if (!strcmp(name, "--python")) v->python = value;
                else if (!strcmp(name, "--script")) v->script = value;
                else if (!strcmp(name, "--config-file")) v->config_file = value;
                if (!strcmp(name, "--python-preference")) v->preference = 1;
            } else if (!strcmp(name, "--script")) v->run_script_flag = 1;
            else if (!strcmp(name, "--managed-python") || !strcmp(name, "--no-managed-python"))
                v->preference = 1;
            else if (!strcmp(name, "--no-config")) v->no_config = 1;
            else if (!strcmp(name, "--help")) v->help = 1;
            else if (!strcmp(name, "--version") && v->ncmd == 0) v->version = 1;
            free(name);
            continue;
        }
        if (tlen > 1 && token[0] == '-') {
            /* a cluster of short flags; the first value option takes the rest */
            const char *body = token + 1, *value = NULL;
            char last = 0;
            int has_value = 0, is_run = v->ncmd == 1 && !strcmp(v->cmd[0], "run");
            for (const char *c = body; *c; c++) {
                last = *c;
                if (*c == 'h') v->help = 1;
                if (*c == 'V' && v->ncmd == 0) v->version = 1;
                if (*c == 's' && is_run) v->run_script_flag = 1;
                if (strchr(SHORT_VALUE_OPTIONS, *c)) {
                    has_value = 1;
                    if (c[1]) value = c[1] == '=' ? c + 2 : c + 1;
                    break;
                }
            }
            if (has_value) {
                if (!value) {
                    if (i >= argc) break;
                    value = args[i++];
                }
                if (last == 'p') v->python = value;
            }
            continue;
        }
        /* a positional word */
        if (expecting_subcommand) {
            v->cmd[v->ncmd++] = token;
            if (v->ncmd == 1 && !strcmp(token, "nix")) {
                v->tail_start = i;
                break;
            }
            if (!(v->ncmd == 1 && in_list(token, GROUPS))) expecting_subcommand = 0;
            continue;
        }
        if (v->first_pos < 0) v->first_pos = i - 1;
        v->npos++;
        if ((v->ncmd == 1 && !strcmp(v->cmd[0], "run")) ||
            (v->ncmd == 2 && !strcmp(v->cmd[0], "tool") && !strcmp(v->cmd[1], "run"))) {
            v->tail_start = i;
            break;
        }
    }
    if (v->ncmd == 1 && !strcmp(v->cmd[0], "run") && v->npos && !v->script) {
        const char *target = args[v->first_pos];
        size_t n = strlen(target);
        if (v->run_script_flag || (n >= 3 && !strcmp(target + n - 3, ".py")) ||
            (n >= 4 && !strcmp(target + n - 4, ".pyw")) || !strcmp(target, "-"))
            v->script = target;
    }
    if (v->ncmd == 0 || !strcmp(v->cmd[0], "help")) v->help = 1;
}

static int needs_interpreter(const inv_t *v) {
    if (v->help || v->version || v->ncmd == 0 || !strcmp(v->cmd[0], "nix")) return 0;
    if (in_options(v, "--generate-shell-completion")) return 0;
    char words[512];
    cmd_words(v, 1, words, sizeof words);
    if (in_list(words, NO_INTERPRETER)) return 0;
    cmd_words(v, 2, words, sizeof words);
    if (in_list(words, NO_INTERPRETER)) return 0;
    if (v->ncmd == 1 && !strcmp(v->cmd[0], "version")) {
        if (v->npos) return 1;
        for (int i = 0; i < v->argc; i++)
            if (!strcmp(v->args[i], "--bump")) return 1;
        return 0;
    }
    return !in_list(v->cmd[0], GROUPS) || v->ncmd > 1;
}

static int syncs_environment(const inv_t *v) {
    if (!in_list(v->cmd[0], ENVIRONMENT_COMMANDS)) return 0;
    for (const char *const *f = NO_ENVIRONMENT_FLAGS; *f; f++)
        if (in_options(v, *f)) return 0;
    return 1;
}

/* ---- files -------------------------------------------------------------------------------- */

/* state.signature(path) */
static void signature(const char *path, char *out, size_t n) {
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(out, n, "-");
        return;
    }
    snprintf(out, n, "%lld:%lld:%lld:%llu",
             (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
             (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec,
             (long long)st.st_size, (unsigned long long)st.st_ino);
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Up to n bytes from the start of a file; -1 when it cannot be read. */
static ssize_t head(const char *path, char *out, size_t n) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, out + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { close(fd); return -1; }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    return (ssize_t)got;
}

static int is_elf(const char *path) {
    char magic[4];
    return head(path, magic, 4) == 4 && memcmp(magic, "\x7f" "ELF", 4) == 0;
}

/* execute.is_wrapper: this program under another name, or a script that calls uvx_nix */
static int is_wrapper(const char *path, const char *own) {
    char real[PATH_MAX], data[4096];
    if (realpath(path, real) && own && !strcmp(real, own)) return 1;
    ssize_t n = head(path, data, sizeof data);
    if (n < 0) return 1;
    if (n >= 4 && !memcmp(data, "\x7f" "ELF", 4)) return 0;
    return memmem(data, (size_t)n, "uvx_nix", 7) != NULL;
}

/* execute.find_uv; NULL when Python would fail (it says why). */
static char *find_uv(const char *own) {
    const char *explicit = env_get("UVX_NIX_UV");
    if (explicit && *explicit) { /* itself: a loop, which Python reports */
        char real[PATH_MAX];
        if (!is_file(explicit) || access(explicit, X_OK) != 0 ||
            (realpath(explicit, real) && !strcmp(real, own)))
            return NULL;
        return xstrdup(explicit);
    }
    const char *path = env_get("PATH");
    char *copy = xstrdup(path ? path : "");
    for (char *dir = copy, *next; dir; dir = next) {
        next = strchr(dir, ':');
        if (next) *next++ = '\0';
        char *candidate = path_join(*dir ? dir : ".", "uv");
        if (is_file(candidate) && access(candidate, X_OK) == 0 && !is_wrapper(candidate, own))
            return candidate;
        free(candidate);
    }
    return NULL;
}

/* activation.detect: 1 active, 0 not, -1 unsure (hand over) */
static int active(void) {
    const char *forced = env_get("UVX_NIX");
    char value[16];
    if (forced && !ascii_only(forced)) return -1;
    if (forced && strip_lower(forced, value, sizeof value)) {
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes") ||
            !strcmp(value, "on")) return 1;
        if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no") ||
            !strcmp(value, "off")) return 0;
    }
    if (exists("/etc/NIXOS")) return 1;
    static const char *const files[] = {"/etc/os-release", "/usr/lib/os-release", NULL};
    for (const char *const *f = files; *f; f++) {
        char data[8192];
        ssize_t n = head(*f, data, sizeof data - 1);
        if (n < 0) continue;
        if (n == (ssize_t)sizeof data - 1) return -1;
        data[n] = '\0';
        if ((size_t)n != strlen(data) || !ascii_only(data) || strchr(data, '\r')) return -1;
        for (char *line = data, *next; line; line = next) {
            next = strchr(line, '\n');
            if (next) *next++ = '\0';
            char *end = line + strlen(line);
            while (*line && py_space((unsigned char)*line)) line++;
            while (end > line && py_space((unsigned char)end[-1])) *--end = '\0';
            char *eq = strchr(line, '=');
            if (!eq || eq - line != 2 || strncmp(line, "ID", 2)) {
                if (!eq && !strcmp(line, "ID")) return 0; /* "ID" alone: value "" */
                continue;
            }
            char *val = eq + 1;
            end = val + strlen(val);
            while (*val && py_space((unsigned char)*val)) val++;
            while (end > val && py_space((unsigned char)end[-1])) *--end = '\0';
            while (*val == '"' || *val == '\'') val++;
            while (end > val && (end[-1] == '"' || end[-1] == '\'')) *--end = '\0';
            return !strcmp(val, "nixos");
        }
    }
    return 0;
}

/* ---- the cache directory and file names (paths.py) ---------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static uint32_t adler32_of(const unsigned char *p, size_t n) {
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) a = (a + p[i]) % 65521u, b = (b + a) % 65521u;
    return (b << 16) | a;
}

/* paths.hashed_name */
static char *hashed_name(const char *text, size_t n, const char *suffix) {
    char name[64];
    snprintf(name, sizeof name, "%08x%08x%s", crc32_of((const unsigned char *)text, n),
             adler32_of((const unsigned char *)text, n), suffix);
    return xstrdup(name);
}

/* paths.cache_dir_str; NULL when HOME is unset or empty (Python asks pwd: hand over) */
static char *cache_dir(void) {
    const char *override = env_get("UVX_NIX_CACHE_DIR");
    if (override && *override) return xstrdup(override);
    const char *xdg = env_get("XDG_CACHE_HOME");
    char *base;
    if (xdg && xdg[0] == '/') base = xstrdup(xdg);
    else {
        const char *home = env_get("HOME");
        if (!home || !*home) return NULL;
        base = path_join(home, ".cache");
    }
    char *dir = path_join(base, "uvx-nix");
    free(base);
    return dir;
}

/* os.path.normpath of an absolute path */
static char *normpath(const char *path) {
    buf out = {0};
    const char *p = path;
    size_t slashes = 0;
    while (p[slashes] == '/') slashes++;
    buf_str(&out, slashes == 2 ? "//" : "/");
    size_t root = out.len;
    p += slashes;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (out.len > root) { /* drop the last component */
                while (out.len > root && out.p[out.len - 1] != '/') out.len--;
                if (out.len > root) out.len--;
                out.p[out.len] = '\0';
            }
        } else {
            if (out.len > root) buf_str(&out, "/");
            buf_add(&out, p, n);
        }
        p += n;
        while (*p == '/') p++;
    }
    return out.p;
}

/* os.path.dirname */
static char *dirname_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup("");
    const char *end = slash;
    while (end > path && end[-1] == '/') end--;
    if (end == path) end = slash + 1; /* all slashes: keep them */
    char *dir = xmalloc((size_t)(end - path) + 1);
    memcpy(dir, path, (size_t)(end - path)), dir[end - path] = '\0';
    return dir;
}

/* ---- the state file (state.py load) ------------------------------------------------------- */

typedef struct { char **w; size_t n; } words_t;

static const char *field(const words_t *s, const char *name) {
    for (size_t i = 3; i < s->n; i += strcmp(s->w[i], "need") ? 3 : 2)
        if (!strcmp(s->w[i], "field") && !strcmp(s->w[i + 1], name)) return s->w[i + 2];
    return NULL;
}

/* A whole file (NUL-terminated, its length in *len); NULL when it cannot be read, is larger
 * than MAX_STATE or grows while read (a writer). */
static char *read_all(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size > MAX_STATE) { close(fd); return NULL; }
    char *data = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size + 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { close(fd); free(data); return NULL; }
        if (r == 0) break;
        got += (size_t)r;
        if (got > (size_t)st.st_size) { close(fd); free(data); return NULL; }
    }
    close(fd);
    data[got] = '\0';
    *len = got;
    return data;
}

/* Read and check the state: 1 valid (fields in *s), 0 miss or damaged. */
static int load_state(const char *path, const char *key, size_t keylen, words_t *s) {
    size_t got;
    char *data = read_all(path, &got);
    if (!data) return 0;
    size_t n = 1;
    for (size_t i = 0; i < got; i++) n += data[i] == '\0';
    s->w = xmalloc(n * sizeof *s->w);
    s->n = 0;
    for (char *p = data; s->n < n; p += strlen(p) + 1) s->w[s->n++] = p;
    if (s->n < 3 || strcmp(s->w[0], STATE_FORMAT) || strcmp(s->w[1], "key") ||
        strlen(s->w[2]) != keylen || memcmp(s->w[2], key, keylen))
        return 0;
    for (size_t i = 3; i < s->n;) { /* state.decode: tags and their words, no field twice */
        const char *tag = s->w[i];
        if (!strcmp(tag, "field")) {
            if (i + 2 >= s->n) return 0;
            for (size_t j = 3; j < i; j += strcmp(s->w[j], "need") ? 3 : 2)
                if (!strcmp(s->w[j], "field") && !strcmp(s->w[j + 1], s->w[i + 1])) return 0;
            i += 3;
        } else if (!strcmp(tag, "watch")) {
            if (i + 2 >= s->n) return 0;
            i += 3;
        } else if (!strcmp(tag, "need")) {
            if (i + 1 >= s->n) return 0;
            i += 2;
        } else return 0;
    }
    for (size_t i = 3; i < s->n;) {
        if (!strcmp(s->w[i], "watch")) {
            char sig[128];
            signature(s->w[i + 1], sig, sizeof sig);
            if (strcmp(sig, s->w[i + 2])) return 0;
            i += 3;
        } else if (!strcmp(s->w[i], "need")) {
            if (!exists(s->w[i + 1])) return 0;
            i += 2;
        } else i += 3;
    }
    const char *root = field(s, "gcroot");
    struct stat lst;
    if (root && *root && lstat(root, &lst) == 0 &&
        (double)time(NULL) - ((double)lst.st_mtim.tv_sec + lst.st_mtim.tv_nsec / 1e9) >
            TOUCH_AFTER_SECONDS) /* keep the GC root fresh (state._touch) */
        utimensat(AT_FDCWD, root, NULL, AT_SYMLINK_NOFOLLOW);
    return 1;
}

/* ---- uv's environment (environment.py build) ---------------------------------------------- */

static int boolish(const char *value, int *out) {
    char v[16];
    *out = 0;
    if (!value) return 1;
    if (!ascii_only(value)) return 0;
    if (strip_lower(value, v, sizeof v))
        *out = !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "y") ||
               !strcmp(v, "on") || !strcmp(v, "t");
    return 1;
}

static void prepend(const char *name, const char *value) {
    const char *old = env_get(name);
    if (old && *old) {
        char *joined = concat3(value, ":", old);
        env_set(name, joined);
        free(joined);
    } else env_set(name, value);
}

static int split_has(const char *list, const char *item) {
    size_t n = strlen(item);
    for (const char *p = list;; ) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !memcmp(p, item, n)) return 1;
        if (!end) return 0;
        p = end + 1;
    }
}

/* 1 built, 0 hand over */
static int build_environment(const words_t *s, int preference_flag) {
    env_del("NIX_PYTHONPATH"); /* what outer Nix shells leak */
    const char *pythonpath = env_get("PYTHONPATH");
    if (pythonpath) { /* keep the entries outside the store */
        buf kept = {0};
        char *copy = xstrdup(pythonpath);
        for (char *p = copy, *next; p; p = next) {
            next = strchr(p, ':');
            if (next) *next++ = '\0';
            if (*p && strncmp(p, STORE_PREFIX, strlen(STORE_PREFIX))) {
                if (kept.len) buf_str(&kept, ":");
                buf_str(&kept, p);
            }
        }
        if (kept.len) env_set("PYTHONPATH", kept.p);
        else env_del("PYTHONPATH");
    }
    const char *ours = env_get(PREFERENCE_MARKER);
    char *ours_copy = ours ? xstrdup(ours) : NULL;
    env_del(PREFERENCE_MARKER);
    const char *current_pref = env_get("UV_PYTHON_PREFERENCE");
    if (ours_copy && current_pref && !strcmp(current_pref, ours_copy))
        env_del("UV_PYTHON_PREFERENCE"); /* an outer uvx-nix set it: decide again here */
    const char *libs = field(s, "libs");
    const char *strategy = field(s, "strategy");
    if (!libs) libs = "";
    if (strategy && !strcmp(strategy, "nix-ld")) {
        if (*libs) prepend("NIX_LD_LIBRARY_PATH", libs);
        return 1;
    }
    if (!env_get("UV_PYTHON_DOWNLOADS")) env_set("UV_PYTHON_DOWNLOADS", "never");
    int managed, no_managed;
    if (!boolish(env_get("UV_MANAGED_PYTHON"), &managed) ||
        !boolish(env_get("UV_NO_MANAGED_PYTHON"), &no_managed))
        return 0;
    const char *pref = field(s, "preference");
    int given = preference_flag || (pref && !strcmp(pref, "config")) ||
                env_get("UV_PYTHON_PREFERENCE") || managed || no_managed;
    if (!given) {
        env_set("UV_PYTHON_PREFERENCE", "only-system");
        env_set(PREFERENCE_MARKER, "only-system");
    }
    const char *python_bin = field(s, "python_bin");
    if (python_bin && *python_bin) prepend("UV_PYTHON_SEARCH_PATH", python_bin);
    return 1;
}

/* cli._with_build_hook: the build toolchain's hook in front of PYTHONPATH */
static void add_build_hook(const char *hook) {
    const char *pythonpath = env_get("PYTHONPATH");
    if (hook && *hook && !split_has(pythonpath ? pythonpath : "", hook))
        prepend("PYTHONPATH", hook);
}

/* ---- Python's own start-up: C locale coercion (PEP 538) ----------------------------------- */
/* Python sets LC_CTYPE=C.UTF-8 in its own environment when the locale is C or POSIX, and
 * passes it on to uv; so does this program.  0: PYTHONCOERCECLOCALE is set (hand over). */
static int coerce_locale(void) {
    if (getenv("PYTHONCOERCECLOCALE")) return 0;
    const char *all = getenv("LC_ALL");
    if (all && *all) return 1;
    setlocale(LC_CTYPE, "");
    const char *loc = setlocale(LC_CTYPE, NULL);
    if (!loc || (strcmp(loc, "C") && strcmp(loc, "POSIX"))) return 1;
    static const char *const targets[] = {"C.UTF-8", "C.utf8", "UTF-8", NULL};
    for (const char *const *t = targets; *t; t++) {
        if (setlocale(LC_CTYPE, *t)) {
            const char *codeset = nl_langinfo(CODESET);
            if (!codeset || !*codeset) {
                setlocale(LC_CTYPE, "");
                continue;
            }
            env_set("LC_CTYPE", *t);
            return 1;
        }
    }
    return 1;
}

/* Python's start-up runs code that may change its own environment before uvx-nix reads it:
 * a sitecustomize on PYTHONPATH (the build toolchain's hook, in a call nested in a build),
 * nixpkgs' sitecustomize (it removes these NIX_ variables).  Then only Python knows. */
static int python_startup_is_plain(void) {
    static const char *const names[] = {"PYTHONHOME", "NIX_PYTHONPATH", "NIX_PYTHONEXECUTABLE",
                                        "NIX_PYTHONPREFIX", NULL};
    const char *pythonpath = getenv("PYTHONPATH");
    if (pythonpath && *pythonpath) return 0;
    for (const char *const *n = names; *n; n++)
        if (getenv(*n)) return 0;
    return 1;
}

/* ---- `uv run` / `uv tool run`: is its environment prepared? (cli._unprepared) ----------- */

static int same(const char *a, const char *b) { return a && b ? !strcmp(a, b) : a == b; }

/* state.synced(root) == the state's "synced": uv.lock and pyproject.toml as last synced */
static int synced(const words_t *s) {
    const char *root = field(s, "root"), *was = field(s, "synced");
    char lock_sig[128], pyproject_sig[128];
    signature(path_join(root ? root : "", "uv.lock"), lock_sig, sizeof lock_sig);
    signature(path_join(root ? root : "", "pyproject.toml"), pyproject_sig, sizeof pyproject_sig);
    char *now = concat3(lock_sig, "|", pyproject_sig);
    return was && !strcmp(was, now);
}

/* 1 when Python would exec at once: a project run without --with* in a venv on the locked
 * interpreter and synced from the files last seen, or the memo of this command line (a .env
 * file in <cache>/hot: the libraries, then path and signature pairs) still true.  0: Python
 * prepares first (or the memo has a byte Python would decode differently): hand over. */
/* cli._asks_with: --with*, or -w alone or in a cluster of short flags (-qw), before the
 * first short option that takes the rest of the token as its value. */
static int asks_with(const char *a) {
    if (!strncmp(a, "--with", 6)) return 1;
    if (a[0] != '-' || !a[1] || a[1] == '-') return 0;
    for (const char *c = a + 1; *c; c++) {
        if (*c == 'w') return 1;
        if (strchr(SHORT_VALUE_OPTIONS, *c)) return 0;
    }
    return 0;
}

static int prepared(const inv_t *v, const words_t *s, const char *cwd, const char *cache) {
    const char *site = field(s, "site");
    int with = 0;
    for (int i = 0; i < v->tail_start; i++) with |= asks_with(v->args[i]);
    if (v->ncmd == 1 && !strcmp(v->cmd[0], "run") && site && *site && !with) {
        char cfg[4096];
        ssize_t n = head(path_join(dirname_of(dirname_of(dirname_of(site))), "pyvenv.cfg"),
                         cfg, sizeof cfg);
        if (n < 0) return 0; /* no venv yet: uv makes it in this call */
        const char *bin = field(s, "python_bin");
        char *home = concat3("home = ", bin ? bin : "", "\n");
        size_t hn = strlen(home);
        if (memmem(cfg, (size_t)n, home, hn) ||
            ((size_t)n >= hn - 1 && !memcmp(cfg + (size_t)n - (hn - 1), home, hn - 1)))
            return synced(s);
    }
    buf text = {0}; /* "\0".join((cwd, *options)) */
    buf_str(&text, cwd);
    for (int i = 0; i < v->tail_start; i++) buf_add(&text, "\0", 1), buf_str(&text, v->args[i]);
    size_t len;
    char *memo = read_all(path_join(path_join(cache, "hot"), hashed_name(text.p, text.len,
                                                                          ".env")), &len);
    if (!memo) return 0;
    for (size_t i = 0; i < len; i++)
        if (!memo[i] || (unsigned char)memo[i] >= 0x80 || memo[i] == '\r') return 0;
    size_t nlines = 1;
    for (size_t i = 0; i < len; i++) nlines += memo[i] == '\n';
    if (nlines < 2 || nlines % 2) return 0; /* the libraries, pairs, and what follows the last \n */
    char *line = memo, *next = strchr(line, '\n');
    *next++ = '\0';
    const char *libs = field(s, "libs");
    if (strcmp(line, libs ? libs : "")) return 0;
    for (size_t k = 0; k < (nlines - 2) / 2; k++) {
        char *path = next, *sig_text = strchr(path, '\n');
        *sig_text++ = '\0';
        next = strchr(sig_text, '\n');
        *next++ = '\0';
        char sig[128];
        signature(path, sig, sizeof sig);
        if (strcmp(sig, sig_text)) return 0;
    }
    return 1;
}

/* ---- exec uv (execute.exec_uv) ------------------------------------------------------------ */

static void exec_uv(const char *uv, char **args, int nargs) {
    if (!is_elf(uv)) hand_over(); /* a script called uv: Python counts the hops */
    env_del(DEPTH);
    char **argv = xmalloc(((size_t)nargs + 2) * sizeof *argv);
    argv[0] = (char *)uv;
    for (int i = 0; i < nargs; i++) argv[i + 1] = args[i];
    argv[nargs + 1] = NULL;
    execve(uv, argv, env_array());
    hand_over(); /* Python reports the failure */
}

/* cli._exec: called as uvx, the real uvx beside uv */
static void do_exec(const char *uv, char **args, int nargs, char **uvx_args, int nuvx) {
    if (uvx_args) {
        char *sibling = path_join(dirname_of(uv), "uvx");
        if (is_file(sibling) && access(sibling, X_OK) == 0) exec_uv(sibling, uvx_args, nuvx);
    }
    exec_uv(uv, args, nargs);
}

/* ---- main: cli._run ----------------------------------------------------------------------- */

int main(int argc, char **argv) {
    g_argc = argc, g_argv = argv;
#ifdef UVX_NIX_DEFAULT_UV
    setenv("UVX_NIX_UV", UVX_NIX_DEFAULT_UV, 0); /* as the package's wrapper did */
#endif
    if (argc < 1) hand_over();
    const char *slash = strrchr(argv[0], '/');
    const char *prog = slash ? slash + 1 : argv[0];
    char **uvx_args = NULL;
    int nuvx = 0, nargs = argc - 1;
    char **args = argv + 1;
    if (!strcmp(prog, "uvx")) {
        uvx_args = argv + 1, nuvx = argc - 1;
        nargs = argc + 1;
        args = xmalloc(((size_t)nargs + 1) * sizeof *args);
        args[0] = "tool", args[1] = "run";
        for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
        args[nargs] = NULL;
    }
    if (!env_load()) hand_over();
    env_del(LAUNCHER), env_del(LAUNCHER_NAME); /* Python drops them too, whoever set them */
    if (!python_startup_is_plain() || !coerce_locale()) hand_over();
    inv_t inv;
    parse(&inv, nargs, args);
    if (inv.ncmd && (!strcmp(inv.cmd[0], "nix") || !strcmp(inv.cmd[0], "python")))
        hand_over(); /* own commands; `python` commands read more than the state */
    char own_buf[PATH_MAX];
    const char *own = realpath("/proc/self/exe", own_buf);
    if (!own) hand_over(); /* without its own path it could take itself for uv */
    char *uv = find_uv(own);
    if (!uv) hand_over();
    int version = uvx_args && nuvx >= 1 &&
                  (!strcmp(uvx_args[0], "--version") || !strcmp(uvx_args[0], "-V"));
    int on = 0;
    if (!version && needs_interpreter(&inv)) {
        on = active();
        if (on < 0) hand_over();
    }
    if (!on) do_exec(uv, args, nargs, uvx_args, nuvx); /* pass-through */

    /* the cache hit */
    if (inv.script && !strcmp(inv.script, "-")) hand_over(); /* the script is on stdin */
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) hand_over();
    buf key = {0};
    char *script = NULL;
    if (inv.script) {
        char *base = path_join(cwd, inv.directory ? inv.directory : "");
        char *joined = path_join(base, inv.script);
        script = normpath(joined);
    }
    const char *scope = !strcmp(inv.cmd[0], "tool") ? "tool"
                        : syncs_environment(&inv) ? "environment" : "";
    char sig[128];
    signature(uv, sig, sizeof sig);
    const char *parts[] = {UVX_NIX_VERSION, cwd, inv.directory, inv.project, inv.python, script,
                           scope, inv.no_config ? "no-config" : "", inv.config_file};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        buf_str(&key, parts[i] ? parts[i] : "");
        buf_add(&key, "\x1f", 1);
    }
    buf_str(&key, uv), buf_str(&key, ":"), buf_str(&key, sig);
    for (const char *const *v = KEY_VARIABLES; *v; v++) {
        const char *value = env_get(*v);
        if (!value) continue;
        buf_add(&key, "\x1f", 1);
        buf_str(&key, *v), buf_str(&key, "="), buf_str(&key, value);
    }
    char *cache = cache_dir();
    if (!cache) hand_over();
    char *name = hashed_name(key.p, key.len, ".state");
    char *hot = path_join(cache, "hot");
    char *state_path = path_join(hot, name);
    words_t state;
    if (!load_state(state_path, key.p, key.len, &state)) hand_over();
    const char *site = field(&state, "site");
    if (site && *site) { /* the venv changed or lacks the libraries: Python looks at it */
        const char *site_sig = field(&state, "site_sig");
        signature(site, sig, sizeof sig);
        if (!site_sig || strcmp(sig, site_sig) ||
            !same(field(&state, "hook_libs"), field(&state, "libs")))
            hand_over();
    }
    char words[512];
    cmd_words(&inv, 2, words, sizeof words);
    if ((!strcmp(words, "pip install") || !strcmp(words, "pip sync") ||
         !strcmp(words, "pip uninstall")) &&
        (in_options(&inv, "--system") || env_get("UV_SYSTEM_PYTHON")))
        hand_over(); /* Python judges writes into the store interpreter */
    if (!build_environment(&state, inv.preference)) hand_over();
    const char *strategy = field(&state, "strategy");
    int running = in_list(words, RUNNING);
    if (!strategy || strcmp(strategy, "nix-ld")) {
        if (in_list(words, PREPARING)) hand_over(); /* uv runs as a child, then Python prepares */
        if (running && !prepared(&inv, &state, cwd, cache)) hand_over();
    }
    if (!running) add_build_hook(field(&state, "build_hook")); /* never where your program runs */
    do_exec(uv, args, nargs, uvx_args, nuvx);
    return 77;
}
