// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * hello2: the second kmodsig test module, so that batch operations have more than one module.
 * It computes a small checksum over a table when loaded and exports a read-only parameter.
 *
 * Written for kmodsig; not derived from kernel sources.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>

/* .data: an initialised array the init function mixes (and writes back). */
static u32 kmodsig_hello2_state[4] = { 0x6b6d6f64, 0x73696721, 0x68656c6c, 0x6f320000 };

/* .rodata: a constant table. */
static const u8 kmodsig_hello2_table[16] = {
	1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 121, 98, 219,
};

/* .bss: a zeroed buffer. */
static u32 kmodsig_hello2_scratch[32];

static int rounds = 3;
module_param(rounds, int, 0444);
MODULE_PARM_DESC(rounds, "mixing rounds at load time");

static int __init kmodsig_hello2_init(void)
{
	int r, i;
	u32 acc = 0;

	for (r = 0; r < rounds && r < 64; r++) {
		for (i = 0; i < ARRAY_SIZE(kmodsig_hello2_table); i++) {
			acc = (acc << 5 | acc >> 27) ^ kmodsig_hello2_table[i];
			acc += kmodsig_hello2_state[i & 3];
			kmodsig_hello2_state[i & 3] ^= acc;
		}
		kmodsig_hello2_scratch[r & 31] = acc;
	}
	pr_info("kmodsig-hello2: loaded, checksum %08x\n", acc);
	return 0;
}

static void __exit kmodsig_hello2_exit(void)
{
	pr_info("kmodsig-hello2: unloaded (%08x)\n", kmodsig_hello2_scratch[0]);
}

module_init(kmodsig_hello2_init);
module_exit(kmodsig_hello2_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodsig second test module");
MODULE_AUTHOR("kmodsig");
