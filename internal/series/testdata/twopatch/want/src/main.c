#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the lines of its input. */

static int verbose; /* -v given */

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
	if (argc == 2 && strcmp(argv[1], "-v") == 0)
		verbose = 1;
	else if (argc == 2)
		usage();
	if (verbose)
		fprintf(stderr, "counting stdin\n");
	printf("%ld\n", count(stdin));
	return 0;
}
