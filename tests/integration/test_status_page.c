/*
 * test_status_page.c -- the status page at / rendered end to end by
 * headless Chromium (Debian package chromium) against a real peerd and
 * Redis with real activity: requesters queued for identities nobody
 * free shares, a match and a message.
 *
 * Chromium must be installed: without /usr/bin/chromium the test fails
 * (make test installs it), it does not skip.  Each Chromium run is bounded
 * (T_CHROMIUM_MS), started in its own process group and killed by that id;
 * its profile lives in the harness dir.  The screenshot stays in the
 * harness dir (HARNESS_KEEP=1 keeps it) and is copied to T_SHOT_COPY.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"
#include "people.h"

#define T_CHROMIUM	"/usr/bin/chromium"
#define T_CHROMIUM_MS	90000		/* ms, one Chromium run */
#define T_WIDTH		1200		/* px, the window */
#define T_HEIGHT	900
#define T_SHOT_MIN	20000		/* bytes; a blank page is less */
#define T_SHOT_COPY	"/tmp/peerd-status.png"
#define T_OUT_MAX	(512 * 1024)	/* bytes of the DOM kept */
#define T_TEXT		"damson-lantern-9907"	/* message text */
#define T_SUP_NAME	"Ottoline Brackenridge"	/* a display name */

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_##x

static char	dom[T_OUT_MAX];

/* Write dir/name into out. */
static void
tpath(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		fail_msg("path too long: %s/%s", dir, name);
}

/* Read up to len-1 bytes of a file into buf; return the bytes read. */
static size_t
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	size_t	got = 0;
	int	fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return (got);
}

/*
 * Run headless Chromium on the status page with one more argument (the
 * mode: --dump-dom or --screenshot=FILE), stdout to dir/out.  Returns its
 * exit code, or -1 if it was killed or too slow.
 */
static int
chromium_run(struct harness *h, const char *mode, const char *out)
{
	char	 url[64], size[64], prof[HARNESS_PATH];
	char	 dir[HARNESS_PATH + 20];
	char	 po[HARNESS_PATH], pe[HARNESS_PATH];
	char	*argv[24];
	int64_t	 end;
	pid_t	 pid, r;
	int	 n = 0, fd, status, code = -1;

	tpath(prof, sizeof prof, h->dir, "chromium.XXXXXX");
	if (mkdtemp(prof) == NULL)
		fail_msg("mkdtemp %s: %s", prof, strerror(errno));
	snprintf(dir, sizeof dir, "--user-data-dir=%s", prof);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", h->admin_port);
	snprintf(size, sizeof size, "--window-size=%d,%d", T_WIDTH, T_HEIGHT);
	tpath(po, sizeof po, h->dir, out);
	tpath(pe, sizeof pe, h->dir, "chromium.log");
	argv[n++] = (char *)T_CHROMIUM;
	argv[n++] = (char *)"--headless";
	argv[n++] = (char *)"--no-sandbox";
	argv[n++] = (char *)"--disable-gpu";
	argv[n++] = (char *)"--disable-quic";
	argv[n++] = (char *)"--no-first-run";
	argv[n++] = (char *)"--disable-background-networking";
	argv[n++] = (char *)"--disable-component-update";
	argv[n++] = (char *)"--disable-sync";
	argv[n++] = (char *)"--hide-scrollbars";
	argv[n++] = dir;
	argv[n++] = size;
	argv[n++] = (char *)"--virtual-time-budget=5000";
	argv[n++] = (char *)mode;
	argv[n++] = url;
	argv[n] = NULL;

	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);		/* its helpers join this group */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		if ((fd = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1)
			dup2(fd, STDOUT_FILENO);
		if ((fd = open(pe, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1)
			dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	for (end = harness_now_ms() + T_CHROMIUM_MS;;) {
		if ((r = waitpid(pid, &status, WNOHANG)) == pid) {
			if (WIFEXITED(status))
				code = WEXITSTATUS(status);
			break;
		}
		if (r == -1 || harness_now_ms() > end) {
			fprintf(stderr, "chromium: no exit in %d ms, killing "
			    "pid %ld\n", T_CHROMIUM_MS, (long)pid);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		harness_msleep(50);
	}
	kill(-pid, SIGKILL);	/* helpers left in its group, if any */
	if (code != 0) {
		slurp(pe, dom, sizeof dom);
		fprintf(stderr, "chromium %s exited %d; its log:\n%s\n", mode,
		    code, dom);
	}
	return (code);
}

/* Read a PNG's width and height from its IHDR; -1 if it is not a PNG. */
static int
png_size(const char *buf, size_t len, uint32_t *w, uint32_t *h)
{
	const unsigned char	*p = (const unsigned char *)buf;

	if (len < 24 || memcmp(p, "\x89PNG\r\n\x1a\n", 8) != 0 ||
	    memcmp(p + 12, "IHDR", 4) != 0)
		return (-1);
	*w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 |
	    (uint32_t)p[18] << 8 | p[19];
	*h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 |
	    (uint32_t)p[22] << 8 | p[23];
	return (0);
}

/* Copy a file (the screenshot) to path; 0 or -1. */
static int
copy_file(const char *from, const char *to)
{
	static char	buf[4 * 1024 * 1024];
	size_t		len;
	int		fd, ok;

	len = slurp(from, buf, sizeof buf);
	if (len == 0 || (fd = open(to, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) == -1)
		return (-1);
	ok = write(fd, buf, len) == (ssize_t)len;
	return (close(fd) == 0 && ok ? 0 : -1);
}

/* A requester queued for need (a tag nobody free has). */
static struct tclient *
queue_for(struct world *w, const char *need)
{
	struct tclient	*r;
	Envelope	*env;

	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, need, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	return (r);
}

static int
setup(void **state)
{
	return (world_setup(state));
}

/*
 * Two people wait (lgbtq, prison: nobody free shares either), a third is
 * matched on bme and says something.  Chromium renders the page: its DOM
 * holds the figures the script took from /stats.json, and the screenshot
 * is a real 1200x900 picture.
 */
static void
test_status_page(void **state)
{
	struct world	*w = *state;
	struct tclient	*r1, *r2, *r3, *s;
	struct pcred	 c;
	struct pconv	 cv;
	struct stat	 st;
	Envelope	*m;
	char		 shot[HARNESS_PATH], arg[HARNESS_PATH + 16];
	char		 path[HARNESS_PATH];
	uint32_t	 pw, ph;
	size_t		 len;

	if (stat(T_CHROMIUM, &st) != 0 || !(st.st_mode & S_IXUSR))
		fail_msg("%s is missing: install the Debian package chromium "
		    "(make test installs it); this test does not skip",
		    T_CHROMIUM);

	assert_int_equal(world_cred_full(w, &c, "sup-ob1", T_SUP_NAME,
	    PEOPLE_TAG_BME "," PEOPLE_TAG_PSYCHOSIS, "en", 3, 0), 0);
	assert_non_null(s = people_supporter_available(w, &c));
	r1 = queue_for(w, PEOPLE_TAG_LGBTQ);
	r2 = queue_for(w, PEOPLE_TAG_PRISON);
	assert_non_null(r3 = people_requester(w, NULL));
	assert_int_equal(people_match(r3, s, PEOPLE_TAG_BME, NULL, &cv), 0);
	assert_int_equal(people_chat(r3, cv.id, 1, T_TEXT, NULL), 0);
	assert_non_null(m = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	frame_free(m);

	/* The DOM after the script ran: figures from /stats.json. */
	assert_int_equal(chromium_run(w->h, "--dump-dom", "dom.html"), 0);
	tpath(path, sizeof path, w->h->dir, "dom.html");
	slurp(path, dom, sizeof dom);
	if (strstr(dom, "data-updated=\"") == NULL)
		fail_msg("the page never rendered /stats.json: %.400s", dom);
	assert_non_null(strstr(dom, "id=\"waiting\">2</span>"));
	assert_non_null(strstr(dom, "id=\"convs\">1</span>"));
	assert_non_null(strstr(dom, "id=\"sup-available\">1</span>"));
	assert_non_null(strstr(dom, "id=\"free\">2</span>"));
	assert_non_null(strstr(dom, "id=\"t-messages\">1</td>"));
	assert_non_null(strstr(dom, "Presence store: connected"));
	/* The gap, named in words and drawn. */
	assert_non_null(strstr(dom, "Not enough supporters free now for: "));
	assert_non_null(strstr(dom, PEOPLE_TAG_LGBTQ " (1)"));
	assert_non_null(strstr(dom, PEOPLE_TAG_PRISON " (1)"));
	assert_non_null(strstr(dom, "<rect"));
	assert_non_null(strstr(dom, "<path"));
	/* Counts only. */
	assert_null(strstr(dom, T_TEXT));
	assert_null(strstr(dom, T_SUP_NAME));
	assert_null(strstr(dom, "sup-ob1"));

	tpath(shot, sizeof shot, w->h->dir, "status.png");
	snprintf(arg, sizeof arg, "--screenshot=%s", shot);
	assert_int_equal(chromium_run(w->h, arg, "shot.out"), 0);
	len = slurp(shot, dom, sizeof dom);
	if (png_size(dom, len, &pw, &ph) != 0)
		fail_msg("%s is not a PNG (%zu bytes)", shot, len);
	assert_int_equal(pw, T_WIDTH);
	assert_int_equal(ph, T_HEIGHT);
	if (len < T_SHOT_MIN)
		fail_msg("%s: %zu bytes, the page looks blank", shot, len);
	if (copy_file(shot, T_SHOT_COPY) != 0)
		fprintf(stderr, "could not copy %s to %s\n", shot,
		    T_SHOT_COPY);

	tclient_free(r3);
	tclient_free(r2);
	tclient_free(r1);
	tclient_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_page, setup,
		    world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
