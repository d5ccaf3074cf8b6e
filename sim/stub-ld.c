/* NixOS's stub-ld, re-created for the simulation: installed at /lib64/ld-linux-x86-64.so.2 in the
 * simulated root, it refuses every generic-Linux dynamically linked program with NixOS's message.
 * Freestanding (no libc): a static glibc program run as a PIE's interpreter segfaults.
 * Build: gcc -static-pie -nostdlib -ffreestanding -fno-stack-protector -O2 -o stub-ld stub-ld.c */
typedef unsigned long size_t;

static long sys3(long n, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static size_t len(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static void put(const char *s) { sys3(1, 2, (long)s, (long)len(s)); }

__attribute__((noreturn)) void stub_main(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    const char *name = argc > 0 && argv[0] ? argv[0] : "(unknown)";
    /* As NixOS's stub-ld: prefer the path the kernel executed (AT_EXECFN), else argv[0]. */
    char **envp = argv + argc + 1;
    while (*envp) envp++;
    for (long *aux = (long *)(envp + 1); aux[0] != 0; aux += 2) {
        if (aux[0] == 31 /* AT_EXECFN */ && aux[1]) name = (const char *)aux[1];
    }
    put("Could not start dynamically linked executable: ");
    put(name);
    put("\nNixOS cannot run dynamically linked executables intended for generic\n"
        "linux environments out of the box. For more information, see:\n"
        "https://nix.dev/permalink/stub-ld\n");
    sys3(60, 127, 0, 0);
    for (;;) {}
}

__asm__(".globl _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call stub_main\n");
