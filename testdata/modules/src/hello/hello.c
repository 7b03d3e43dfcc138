// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * hello: the kmodsig test module. It does nothing useful; it exists so that the tests have a
 * real out-of-tree module built by kbuild, with code, initialised data, read-only data and
 * zeroed data, to sign, verify and strip.
 *
 * Written for kmodsig; not derived from kernel sources.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/kernel.h>

/* .data: a small initialised array (written at load time, so it stays in .data). */
static int kmodsig_hello_counts[8] = { 2, 3, 5, 7, 11, 13, 17, 19 };

/* .rodata: a constant table (indexed by a value known only at run time). */
static const char kmodsig_hello_words[4][8] = {
	"alpha", "beta", "gamma", "delta",
};

/* .bss: a zeroed buffer. */
static char kmodsig_hello_buf[256];

static int __init kmodsig_hello_init(void)
{
	int i, sum = 0;

	for (i = 0; i < ARRAY_SIZE(kmodsig_hello_counts); i++) {
		sum += kmodsig_hello_counts[i];
		kmodsig_hello_counts[i] = sum;
	}
	snprintf(kmodsig_hello_buf, sizeof(kmodsig_hello_buf), "%s %d",
		 kmodsig_hello_words[sum % ARRAY_SIZE(kmodsig_hello_words)], sum);
	pr_info("kmodsig-hello: loaded\n");
	return 0;
}

static void __exit kmodsig_hello_exit(void)
{
	pr_info("kmodsig-hello: unloaded (%s, %d)\n", kmodsig_hello_buf,
		kmodsig_hello_counts[7]);
}

module_init(kmodsig_hello_init);
module_exit(kmodsig_hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodsig test module");
MODULE_AUTHOR("kmodsig");
