/*
 * Call sites for the callsites tests: compiled and linked twice by the
 * tests, with -fsanitize-coverage=trace-pc,trace-cmp and with
 * -fsanitize-coverage=trace-pc-guard,trace-cmp -DSITES_GUARD, freestanding
 * (-nostdlib -static -e main), so the hooks below are the only ones and
 * every call resolves to them.
 *
 * The PC hook sites, per function, that clang -O2 emits (one per basic
 * block it keeps instrumented, critical edges split):
 *
 *	left       1  entry
 *	straight   1  entry
 *	if_else    3  entry, then, else                 (+1 trace_cmp4)
 *	if_only    3  entry, then, the split empty edge (+1 trace_const_cmp4)
 *	pick       5  entry, three cases, default       (+1 trace_switch)
 *	main       1  entry
 *	asm_tail   1  a tail call: jmp to the hook
 *	hidden     1  a call in code no function symbol covers
 *	          --
 *	          16  and, with SITES_GUARD, 16 guards
 *
 * asm_junk holds two bytes no x86-64 instruction starts with (0x06, push
 * es, is invalid in 64-bit mode), after its ret.
 */
typedef unsigned int u32;
typedef unsigned long u64;

#define nocov __attribute__((no_sanitize("coverage"), noinline, used))
#define site __attribute__((noinline, used))

volatile int sink;

nocov void __sanitizer_cov_trace_pc(void) { sink++; }
nocov void __sanitizer_cov_trace_pc_guard(u32 *guard) { sink += *guard; }
nocov void __sanitizer_cov_trace_pc_guard_init(u32 *start, u32 *stop) { sink += stop - start; }
nocov void __sanitizer_cov_trace_cmp4(u32 a, u32 b) { sink += a ^ b; }
nocov void __sanitizer_cov_trace_const_cmp4(u32 a, u32 b) { sink += a ^ b; }
nocov void __sanitizer_cov_trace_switch(u64 v, u64 *cases) { sink += v + cases[0]; }

site void left(void) { sink = 1; }

site int straight(int x) { return x * 3 + 1; }

site int if_else(int x, int y)
{
	if (x < y)
		left();
	else
		sink = 3;
	return 0;
}

site void if_only(int x)
{
	if (x == 7)
		sink = 1;
}

site int pick(int x)
{
	switch (x) {
	case 1:
		sink = 10;
		break;
	case 5:
		sink = 20;
		break;
	case 9:
		sink = 30;
		break;
	}
	return 0;
}

#ifdef SITES_GUARD
#define HOOK "__sanitizer_cov_trace_pc_guard"
/* A guard of its own for each assembly site, as the compiler would. */
#define ARG(g) ".pushsection __sancov_guards,\"aw\"\n" g ": .long 0\n.popsection\n" \
	"leaq " g "(%rip), %rdi\n"
#else
#define HOOK "__sanitizer_cov_trace_pc"
#define ARG(g) ""
#endif

__asm__(".text\n"
	".globl asm_tail\n"
	".type asm_tail, @function\n"
	"asm_tail:\n"
	ARG("tail_guard")
	"jmp " HOOK "\n"
	".size asm_tail, .-asm_tail\n"
	/* No .type, no .size: the bytes between asm_tail and asm_junk. */
	"hidden:\n"
	ARG("hidden_guard")
	"call " HOOK "\n"
	"ret\n"
	".globl asm_junk\n"
	".type asm_junk, @function\n"
	"asm_junk:\n"
	"ret\n"
	".byte 0x06, 0x06\n"
	".size asm_junk, .-asm_junk\n");

void asm_tail(void);
void asm_junk(void);

int main(void)
{
	left();
	if_only(1);
	if_else(1, 2);
	pick(3);
	asm_tail();
	asm_junk();
	return straight(1);
}
