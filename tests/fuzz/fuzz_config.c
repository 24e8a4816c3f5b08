/*
 * fuzz_config.c -- libFuzzer harness for the config parser
 * (daemon/config.c).
 *
 * Input: the text of a config file, loaded with config_load_buffer as
 * DIR/peerd.conf, where DIR is a directory made at start-up holding a few
 * files to include: a good one, one that includes itself (the depth
 * limit), one with an error, a subdirectory and a file in it that climbs
 * back out.  Includes of anything else point nowhere.  After each input
 * config_clear frees everything, so a leak shows.
 *
 * Checked after a load that succeeds: every number is inside its table
 * range, the rules config_finish enforces hold, tags are valid and
 * unique, and each address splits.  After a failure: an error message
 * that names a place.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peerd.h"
#include "fixture.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fz_dir[PATH_MAX];
static char	fz_name[PATH_MAX + 16];

/* The files in fz_dir an input may include. */
static const struct {
	const char	*name;
	const char	*text;
} fz_files[] = {
	{ "inc.conf", "# included\ntag extra An included tag\n"
	    "max_text 100\nlisten 127.0.0.1:9000\n" },
	{ "self.conf", "include self.conf\n" },
	{ "bad.conf", "max_frame 12\n" },
	{ "sub/up.conf", "include ../inc.conf\nkeepalive 40\n" },
	{ "empty.conf", "" },
};
#define FZ_NFILES	(sizeof fz_files / sizeof fz_files[0])

static void	fz_fail(const char *, const char *)
	    __attribute__((__noreturn__));

/* Die with a message: libFuzzer keeps the input. */
static void
fz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_config: %s%s%s\n", what, detail ? ": " : "",
	    detail ? detail : "");
	abort();
}

/* Remove the fixture files at exit. */
static void
fz_cleanup(void)
{
	char	path[PATH_MAX + 64];
	size_t	i;

	for (i = 0; i < FZ_NFILES; i++) {
		snprintf(path, sizeof path, "%s/%s", fz_dir, fz_files[i].name);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/sub", fz_dir);
	rmdir(path);
	rmdir(fz_dir);
}

/* Log quietly; make the directory of files to include. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 path[PATH_MAX + 64];
	FILE	*f;
	size_t	 i;

	(void)argc;
	(void)argv;
	fixture_quiet();
	log_init(LOG_LVL_DEBUG);
	snprintf(fz_dir, sizeof fz_dir, "/tmp/fuzz_config.XXXXXX");
	if (mkdtemp(fz_dir) == NULL)
		fz_fail("mkdtemp", NULL);
	snprintf(path, sizeof path, "%s/sub", fz_dir);
	if (mkdir(path, 0700) != 0)
		fz_fail("mkdir", path);
	for (i = 0; i < FZ_NFILES; i++) {
		snprintf(path, sizeof path, "%s/%s", fz_dir, fz_files[i].name);
		if ((f = fopen(path, "w")) == NULL)
			fz_fail("cannot write", path);
		fputs(fz_files[i].text, f);
		fclose(f);
	}
	atexit(fz_cleanup);
	snprintf(fz_name, sizeof fz_name, "%s/peerd.conf", fz_dir);
	return (0);
}

/* Check a configuration that loaded. */
static void
fz_check_loaded(void)
{
	const struct config_option	*o, *tab;
	const struct conf_tag		*t;
	char				*host;
	u_short				 port;
	size_t				 i, n, len;
	u_int				 v, j;

	tab = config_table(&n);
	for (i = 0; i < n; i++) {
		o = &tab[i];
		switch (o->type) {
		case CONF_UINT:
			v = *(u_int *)o->var;
			/* max_text may be lowered below its minimum. */
			if ((v < o->min && strcmp(o->name, "max_text") != 0) ||
			    v > o->max)
				fz_fail("out of range", o->name);
			break;
		case CONF_STRING:
		case CONF_PATH:
		case CONF_ADDR:
			if (*(char **)o->var == NULL) {
				if (o->def != NULL)
					fz_fail("default lost", o->name);
				break;
			}
			len = strlen(*(char **)o->var);
			if (o->type == CONF_STRING &&
			    (len < (size_t)o->min || len > (size_t)o->max))
				fz_fail("length out of range", o->name);
			if (o->type == CONF_ADDR) {
				if (config_split_addr(*(char **)o->var, &host,
				    &port) != 0)
					fz_fail("address does not split",
					    o->name);
				free(host);
			}
			if (o->check != NULL &&
			    o->check(*(char **)o->var) != NULL)
				fz_fail("value breaks its check", o->name);
			break;
		case CONF_LEVEL:
			if (log_level_name(*(int *)o->var)[0] == 'u')
				fz_fail("bad level", o->name);
			break;
		default:
			break;
		}
	}
	if (conf.max_text + 64 > conf.max_frame)
		fz_fail("max_text does not fit max_frame", NULL);
	if (conf.keepalive >= conf.idle_timeout)
		fz_fail("keepalive not below idle_timeout", NULL);
	if (conf.ntags > CONF_TAGS_MAX || conf.node_id == NULL)
		fz_fail("tags or node_id", NULL);
	for (j = 0; j < conf.ntags; j++) {
		t = &conf.tags[j];
		if (t->name == NULL || t->description == NULL ||
		    t->where == NULL || t->name[0] == '\0' ||
		    strlen(t->name) > CONF_TAG_NAME_MAX ||
		    strlen(t->description) > CONF_TAG_DESC_MAX ||
		    !util_utf8_valid(t->description, strlen(t->description)))
			fz_fail("bad tag", t->name);
		if (config_tag_find(t->name) != t)
			fz_fail("duplicate tag", t->name);
	}
}

/* Load one input as a config file, check, clear. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*err = NULL;
	int	 rc;

	rc = config_load_buffer(fz_name, (const char *)data, size, &err);
	if (rc == 0) {
		if (err != NULL)
			fz_fail("success with an error message", err);
		fz_check_loaded();
	} else {
		if (rc != -1 || err == NULL || err[0] == '\0')
			fz_fail("failure without an error message", NULL);
		if (strncmp(err, fz_dir, strlen(fz_dir)) != 0 &&
		    strncmp(err, "/", 1) != 0)
			fz_fail("error names no file", err);
	}
	free(err);
	config_clear();
	return (0);
}
