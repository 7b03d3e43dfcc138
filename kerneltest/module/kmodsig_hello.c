// SPDX-License-Identifier: GPL-2.0
/*
 * kmodsig_hello: the test module the kerneltest harness signs with kmodsig and loads into a
 * real Linux 6.1 kernel. It only announces itself. The description string gives the harness a
 * known payload byte to corrupt.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init kmodsig_hello_init(void)
{
	pr_info("kmodsig-kernel-hello: loaded\n");
	return 0;
}

static void __exit kmodsig_hello_exit(void)
{
	pr_info("kmodsig-kernel-hello: unloaded\n");
}

module_init(kmodsig_hello_init);
module_exit(kmodsig_hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodsig kernel test module");
