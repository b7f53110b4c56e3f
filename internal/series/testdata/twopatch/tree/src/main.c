#include <stdio.h>
#include <stdlib.h>

/* Counts the lines of its input. */

static int verbose;

static long count(FILE *f)
{
	long n = 0;
	int c;

	while ((c = getc(f)) != EOF)
		if (c == '\n')
			n++;
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: count [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc > 2)
		usage();
	if (argc == 2)
		verbose = 1;
	printf("%ld\n", count(stdin));
	return 0;
}
