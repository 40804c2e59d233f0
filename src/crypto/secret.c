/*
 * secret.c: passwords from a file, a string or the terminal.  Every buffer
 * that holds one is mlock'ed (failure to lock is not an error) and zeroed
 * before it is freed.  dsb_secret_free(p, len) must get the ${len} that
 * came with ${p}: the allocation is always ${len} + 1 bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

#define SECRET_FILE_MAX (64 * 1024)
#define SECRET_LINE_MAX 4096
#define NO_TTY_MSG "no terminal to ask for a password; use --password-file or DSBACKUP_PASSWORD_FILE"

/* secret_alloc(n): ${n} + 1 locked bytes, or NULL with DSB_ERR_NOMEM recorded. */
static char *secret_alloc(size_t n)
{
	char *p;

	if ((p = malloc(n + 1)) == NULL) {
		dsb_error(DSB_ERR_NOMEM, "cannot allocate %zu bytes for a secret", n + 1);
		return NULL;
	}
	memset(p, 0, n + 1);
	if (mlock(p, n + 1) != 0)
		dsb_debug("mlock of a secret failed: %s", strerror(errno));
	return p;
}

void dsb_secret_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len + 1);
	munlock(p, len + 1);
	free(p);
}

/* secret_copy(p, n, out, len): a new NUL-terminated secret holding ${p}[0..n). */
static int secret_copy(const char *p, size_t n, char **out, size_t *len)
{
	char *s;

	if ((s = secret_alloc(n)) == NULL)
		return DSB_ERR_NOMEM;
	memcpy(s, p, n);
	s[n] = '\0';
	*out = s;
	*len = n;
	return 0;
}

int dsb_secret_from_string(const char *s, char **out, size_t *len)
{
	return secret_copy(s, strlen(s), out, len);
}

/* read_up_to(fd, buf, max, path, got): read until EOF or ${max} bytes. */
static int read_up_to(int fd, char *buf, size_t max, const char *path, size_t *got)
{
	size_t n = 0;
	ssize_t r;

	while (n < max) {
		if ((r = read(fd, buf + n, max - n)) < 0) {
			if (errno == EINTR)
				continue;
			return dsb_error_errno(DSB_ERR_IO, errno, "reading password file %s", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

int dsb_secret_from_file(const char *path, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	int fd = -1, r = DSB_ERR_INTERNAL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = dsb_error_errno(errno == ENOENT ? DSB_ERR_NOT_FOUND : DSB_ERR_IO, errno,
		    "opening password file %s", path);
		goto out;
	}
	/* The file may be a pipe (--password-file <(...)): no fstat size. */
	if ((buf = secret_alloc(SECRET_FILE_MAX + 1)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = read_up_to(fd, buf, SECRET_FILE_MAX + 1, path, &n)) != 0)
		goto out;
	if (n > SECRET_FILE_MAX) {
		r = dsb_error(DSB_ERR_LIMIT, "password file %s is larger than %d bytes",
		    path, SECRET_FILE_MAX);
		goto out;
	}
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	r = secret_copy(buf, n, out, len);
out:
	dsb_secret_free(buf, SECRET_FILE_MAX + 1);
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * The prompt catches the signals that end a process so that it can put the
 * terminal back before they take effect; read(2) then fails with EINTR.
 */
static const int prompt_signals[] = { SIGINT, SIGHUP, SIGQUIT, SIGTERM };
#define NSIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))
static volatile sig_atomic_t prompt_caught;

static void prompt_handler(int sig)
{
	prompt_caught = sig;
}

static void prompt_catch(struct sigaction old[NSIGNALS])
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prompt_handler;  /* no SA_RESTART: read() must return */
	sigemptyset(&sa.sa_mask);
	prompt_caught = 0;
	for (i = 0; i < NSIGNALS; i++)
		sigaction(prompt_signals[i], &sa, &old[i]);
}

static void prompt_release(const struct sigaction old[NSIGNALS])
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		sigaction(prompt_signals[i], &old[i], NULL);
}

/* read_line(fd, buf, max, got): one line without its "\n"; DSB_ERR_INTERRUPTED on a signal. */
static int read_line(int fd, char *buf, size_t max, size_t *got)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		if (prompt_caught)
			return dsb_error(DSB_ERR_INTERRUPTED, "interrupted while reading a password");
		if ((r = read(fd, &c, 1)) < 0) {
			if (errno == EINTR)
				continue;
			return dsb_error_errno(DSB_ERR_IO, errno, "reading a password from /dev/tty");
		}
		if (r == 0 || c == '\n')
			break;
		if (n == max)
			return dsb_error(DSB_ERR_LIMIT, "password longer than %zu bytes", max);
		buf[n++] = c;
	}
	*got = n;
	return 0;
}

/* prompt_read(fd, prompt, buf, got): with echo off, show ${prompt} and read a line. */
static int prompt_read(int fd, const char *prompt, char *buf, size_t *got)
{
	struct sigaction old[NSIGNALS];
	struct termios saved, noecho;
	int r = DSB_ERR_INTERNAL, sig;

	if (tcgetattr(fd, &saved) != 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "reading terminal settings of /dev/tty");
	prompt_catch(old);
	noecho = saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	if (tcsetattr(fd, TCSAFLUSH, &noecho) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "turning off echo on /dev/tty");
		goto out;
	}
	if ((r = dsb_write_all(fd, prompt, strlen(prompt), "/dev/tty")) != 0)
		goto out;
	r = read_line(fd, buf, SECRET_LINE_MAX, got);
	(void)dsb_write_all(fd, "\n", 1, "/dev/tty");
out:
	tcsetattr(fd, TCSAFLUSH, &saved);
	prompt_release(old);
	if ((sig = prompt_caught) != 0)
		raise(sig);  /* now that the terminal is back, let it act */
	return r;
}

int dsb_secret_prompt(const char *prompt, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	int fd, r = DSB_ERR_INTERNAL;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return dsb_error(DSB_ERR_USAGE, NO_TTY_MSG);
	if ((buf = secret_alloc(SECRET_LINE_MAX)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = prompt_read(fd, prompt, buf, &n)) != 0)
		goto out;
	r = secret_copy(buf, n, out, len);
out:
	dsb_secret_free(buf, SECRET_LINE_MAX);
	close(fd);
	return r;
}
