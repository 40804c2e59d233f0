/* testutil.h: helpers shared by the Check suites. */
#ifndef DSB_TESTUTIL_H
#define DSB_TESTUTIL_H

/* dsb_test_tmpdir(): a fresh directory under $TMPDIR (or /tmp); malloc'd path. */
char *dsb_test_tmpdir(void);

/* dsb_test_rmrf(path): remove ${path} and everything below it. */
void dsb_test_rmrf(const char *path);

#endif
