/*
 * replay.c: main() for a fuzz target built without libFuzzer: run every
 * file named on the command line (or found in a named directory) through
 * LLVMFuzzerTestOneInput once.  Used by ctest to keep the targets building
 * and their seed corpora passing in every build.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsbackup/buf.h"
#include "dsbackup/util.h"
#include "fuzz.h"

static int run_file(const char *path)
{
	struct dsb_buf b;

	dsb_buf_init(&b, 0);
	if (dsb_read_file(path, (size_t)64 << 20, &b) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput(b.data != NULL ? b.data : (const uint8_t *)"", b.len);
	dsb_buf_release(&b);
	return 1;
}

static int run_path(const char *path)
{
	struct dirent *ent;
	struct stat st;
	char child[4096];
	int n = 0, r;
	DIR *d;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "cannot stat %s\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, ent->d_name);
		if ((r = run_path(child)) < 0) {
			closedir(d);
			return r;
		}
		n += r;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int i, n = 0, r;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	/* an empty input is always worth one run */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (i = 1; i < argc; i++) {
		if ((r = run_path(argv[i])) < 0)
			return 1;
		n += r;
	}
	printf("%s: %d inputs ran\n", argv[0], n + 1);
	return 0;
}
