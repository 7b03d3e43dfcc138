// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mod.c: one source for the ELF fixtures of testdata/elf. Compiled with -c (never linked), each
 * object has the section layout of a kernel module without needing kernel headers: code in
 * .text and .init.text, initialised data in .data, a pointer table in .data.rel.local, strings
 * in .rodata, a zeroed buffer in .bss, a .modinfo section, a .gnu.linkonce.this_module
 * section, and calls to an undefined external function so that relocation sections exist.
 * It is not loadable (no kernel headers, no vermagic, a made-up struct module).
 *
 * Written for kmodsig; not derived from kernel sources.
 */

#define FIXTURE_SECTION(s) __attribute__((section(s), used))

/* Undefined external symbol: every call needs a relocation. */
extern int printk(const char *fmt, ...);

/* .modinfo: NUL-terminated key=value strings, byte aligned, as MODULE_LICENSE() makes them. */
static const char fixture_license[] FIXTURE_SECTION(".modinfo") __attribute__((aligned(1))) =
	"license=GPL";
static const char fixture_description[] FIXTURE_SECTION(".modinfo") __attribute__((aligned(1))) =
	"description=kmodsig elf fixture";

/* .rodata: strings and a constant table. */
static const char *const fixture_fmt = "kmodsig-elf: %s %d\n";
static const unsigned char fixture_primes[16] = {
	2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53,
};

/* .data: initialised, written at run time. */
int fixture_counts[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* .bss: zeroed. */
char fixture_buf[128];

/* .text */
int fixture_sum(int n)
{
	int i, s = 0;

	for (i = 0; i < n && i < 8; i++) {
		s += fixture_counts[i] * fixture_primes[(i + n) & 15];
		fixture_counts[i] = s;
	}
	fixture_buf[n & 127] = (char)s;
	return s;
}

static int fixture_hello(int x)
{
	return printk(fixture_fmt, "hello", fixture_sum(x));
}

static int fixture_bye(int x)
{
	return printk(fixture_fmt, "bye", x + fixture_buf[0]);
}

/* .data.rel.local: a writable pointer table (named explicitly: -fno-pic would put it in .data). */
int (*fixture_ops[2])(int) FIXTURE_SECTION(".data.rel.local") = { fixture_hello, fixture_bye };

/* .init.text */
__attribute__((section(".init.text"), used, noinline)) int init_module(void)
{
	printk("kmodsig-elf: init\n");
	return fixture_ops[0](3);
}

/* .gnu.linkonce.this_module: a stand-in for struct module (name, then the init pointer). */
struct fixture_module {
	char name[56];
	int (*init)(void);
};

struct fixture_module __this_module FIXTURE_SECTION(".gnu.linkonce.this_module") = {
	.name = "mod",
	.init = init_module,
};
