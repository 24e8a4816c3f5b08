/*
 * peerctl_cred.c -- keygen, issue and show: the organisation's signing key
 * and the credentials it signs (see proto/credential.h).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "credential.h"
#include "peerctl.h"

#define PEERCTL_CRED_DAYS	365	/* days, default --days */
#define PEERCTL_CRED_PREFIX	"signing" /* default keygen --out */

static int	peerctl_cred_keygen(const struct peerctl_cmd *, int, char **);
static int	peerctl_cred_issue(const struct peerctl_cmd *, int, char **);
static int	peerctl_cred_show(const struct peerctl_cmd *, int, char **);

const struct peerctl_cmd peerctl_cred_keygen_cmd = {
	"keygen", "[--out PREFIX]",
	"Make the organisation's Ed25519 signing key pair",
	"Writes PREFIX.key (the private key, mode 0600) and PREFIX.pub (the\n"
	"public key).  Existing files are never overwritten.\n"
	"\n"
	"  --out PREFIX   file name prefix (default: signing)\n"
	"\n"
	"Keep PREFIX.key off the peerd host, ideally offline: whoever holds it\n"
	"can vouch for anyone's identity.  peerd's configuration names only\n"
	"PREFIX.pub.\n",
	peerctl_cred_keygen
};

const struct peerctl_cmd peerctl_cred_issue_cmd = {
	"issue",
	"--key FILE --id ID --name NAME --role supporter|operator\n"
	"       [--tags TAG,TAG] [--lang en,fr] [--capacity N] [--days N] "
	"--out FILE",
	"Sign a credential for a vetted supporter or an operator",
	"  --key FILE        the organisation's private key (from keygen)\n"
	"  --id ID           opaque person id, 1-64 of A-Z a-z 0-9 . _ -\n"
	"  --name NAME       display name shown to peers, 1-64 bytes UTF-8\n"
	"  --role ROLE       supporter or operator\n"
	"  --tags LIST       vetted identity tags, comma-separated, at most 32,\n"
	"                    each 1-32 of a-z 0-9 -\n"
	"  --lang LIST       ISO 639-1 language codes, comma-separated, at most 8\n"
	"  --capacity N      conversations at once, 1-16 (default 1; operators 0)\n"
	"  --days N          valid for N days from now, 1-1096 (default 365)\n"
	"  --out FILE        where to write the credential (mode 0600, never\n"
	"                    overwritten); - for standard output\n"
	"\n"
	"The credential is a bearer token: whoever holds the file can log in as\n"
	"this person.  Hand it over like a password.\n",
	peerctl_cred_issue
};

const struct peerctl_cmd peerctl_cred_show_cmd = {
	"show", "FILE [--pub FILE]",
	"Print a credential's fields; with --pub, check it",
	"  --pub FILE   the organisation's public key: verify the signature,\n"
	"               the fields and the expiry against this host's clock\n"
	"\n"
	"Exit status 1 if the file is not a well-formed credential, or with --pub\n"
	"if it is not valid now (bad signature, expired, not yet valid).\n"
	"Revocation is not checked: that lives in Redis.\n",
	peerctl_cred_show
};

static int
peerctl_cred_keygen(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char			*prefix = PEERCTL_CRED_PREFIX;
	char				 priv[PATH_MAX], pub[PATH_MAX];
	char				 err[CRED_ERR_MAX];
	EVP_PKEY			*key;
	int				 ch, rc;

	while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			prefix = optarg;
			break;
		case 'h':
			return (peerctl_help(cmd));
		default:
			return (peerctl_getopt_error(cmd, argc, argv));
		}
	}
	if (optind != argc) {
		peerctl_warnx(cmd, "unexpected argument: %s", argv[optind]);
		return (peerctl_usage(cmd));
	}
	if (*prefix == '\0') {
		peerctl_warnx(cmd, "--out: empty prefix");
		return (peerctl_usage(cmd));
	}
	if ((size_t)snprintf(priv, sizeof priv, "%s.key", prefix) >=
	    sizeof priv ||
	    (size_t)snprintf(pub, sizeof pub, "%s.pub", prefix) >= sizeof pub) {
		peerctl_warnx(cmd, "--out: prefix too long");
		return (peerctl_usage(cmd));
	}

	if ((key = cred_key_generate()) == NULL) {
		peerctl_warnx(cmd, "Ed25519 key generation failed");
		return (PEERCTL_EXIT_ERROR);
	}
	rc = cred_key_write(key, priv, pub, err, sizeof err);
	EVP_PKEY_free(key);
	if (rc == -1) {
		peerctl_warnx(cmd, "%s", err);
		return (PEERCTL_EXIT_ERROR);
	}
	printf("wrote %s (private signing key, mode 0600: keep it off the "
	    "peerd host)\n", priv);
	printf("wrote %s (public key: name it in peerd's configuration)\n",
	    pub);
	return (PEERCTL_EXIT_OK);
}

/*
 * Split a comma-separated list for flag into n rows of a char array (rows
 * of width bytes, at most max rows), each checked by valid.  Spaces around
 * items are dropped; an empty list is fine.  Returns 0, or -1 after
 * printing a message naming the flag and the item.
 */
static int
peerctl_cred_list(const struct peerctl_cmd *cmd, const char *flag,
    const char *arg, char *rows, size_t width, size_t max, size_t *n,
    int (*valid)(const char *), const char *rule)
{
	char	*copy, *p, *item, *end;
	size_t	 i;
	int	 rc = -1;

	*n = 0;
	if ((copy = strdup(arg)) == NULL) {
		peerctl_warnx(cmd, "out of memory");
		return (-1);
	}
	p = copy;
	while ((item = strsep(&p, ",")) != NULL) {
		while (*item == ' ')
			item++;
		end = item + strlen(item);
		while (end > item && end[-1] == ' ')
			*--end = '\0';
		if (*item == '\0') {
			if (p == NULL && *n == 0 && item == copy)
				break;		/* the whole list is empty */
			peerctl_warnx(cmd, "%s: empty item in \"%s\"", flag,
			    arg);
			goto out;
		}
		if (!valid(item)) {
			peerctl_warnx(cmd, "%s: \"%s\" is not valid: %s", flag,
			    item, rule);
			goto out;
		}
		if (*n == max) {
			peerctl_warnx(cmd, "%s: at most %zu items", flag, max);
			goto out;
		}
		for (i = 0; i < *n; i++) {
			if (strcmp(rows + i * width, item) == 0) {
				peerctl_warnx(cmd, "%s: \"%s\" given twice",
				    flag, item);
				goto out;
			}
		}
		/* valid() bounded the length below width. */
		snprintf(rows + *n * width, width, "%s", item);
		(*n)++;
	}
	rc = 0;
out:
	free(copy);
	return (rc);
}

/* The flag a cred_check_info reason is about, from its first word. */
static const char *
peerctl_cred_flag(const char *why)
{
	static const struct {
		const char	*field;
		const char	*flag;
	} map[] = {
		{ "id", "--id" }, { "name", "--name" }, { "role", "--role" },
		{ "tag", "--tags" }, { "language", "--lang" },
		{ "capacity", "--capacity" }, { "lifetime", "--days" },
		{ "not_after", "--days" }, { "issued_at", "--days" },
	};
	size_t	i, n;

	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		n = strlen(map[i].field);
		if (strncmp(why, map[i].field, n) == 0)
			return (map[i].flag);
	}
	return ("credential");
}

/* Parse issue's options into info; return 0 or a PEERCTL_EXIT_* code. */
static int
peerctl_cred_issue_args(const struct peerctl_cmd *cmd, int argc, char **argv,
    struct cred_info *info, const char **keyfile, const char **out)
{
	static const struct option	 opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ "tags", required_argument, NULL, 't' },
		{ "lang", required_argument, NULL, 'l' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "days", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char			*id = NULL, *name = NULL, *role = NULL;
	const char			*tags = NULL, *langs = NULL;
	const char			*capacity = NULL, *days = NULL;
	unsigned long long		 v, ndays = PEERCTL_CRED_DAYS;
	int				 ch;

	*keyfile = *out = NULL;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			*keyfile = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 't':
			tags = optarg;
			break;
		case 'l':
			langs = optarg;
			break;
		case 'c':
			capacity = optarg;
			break;
		case 'd':
			days = optarg;
			break;
		case 'o':
			*out = optarg;
			break;
		case 'h':
			peerctl_help(cmd);
			return (-1);
		default:
			return (peerctl_getopt_error(cmd, argc, argv));
		}
	}
	if (optind != argc) {
		peerctl_warnx(cmd, "unexpected argument: %s", argv[optind]);
		return (peerctl_usage(cmd));
	}
#define REQUIRE(var, flag) do {						\
	if ((var) == NULL) {						\
		peerctl_warnx(cmd, "%s is required", flag);		\
		return (peerctl_usage(cmd));				\
	}								\
} while (0)
	REQUIRE(*keyfile, "--key");
	REQUIRE(id, "--id");
	REQUIRE(name, "--name");
	REQUIRE(role, "--role");
	REQUIRE(*out, "--out");
#undef REQUIRE

	memset(info, 0, sizeof *info);
	if (!cred_id_valid(id)) {
		peerctl_warnx(cmd, "--id: \"%s\" is not valid: use 1-64 "
		    "characters of A-Z a-z 0-9 . _ -", id);
		return (PEERCTL_EXIT_USAGE);
	}
	snprintf(info->id, sizeof info->id, "%s", id);
	if (!cred_name_valid(name)) {
		peerctl_warnx(cmd, "--name: must be 1-64 bytes of UTF-8 "
		    "without control characters (this one is %zu bytes)",
		    strlen(name));
		return (PEERCTL_EXIT_USAGE);
	}
	snprintf(info->name, sizeof info->name, "%s", name);
	if (strcmp(role, "supporter") == 0)
		info->role = PEERD__V1__ROLE__SUPPORTER;
	else if (strcmp(role, "operator") == 0)
		info->role = PEERD__V1__ROLE__OPERATOR;
	else {
		peerctl_warnx(cmd, "--role: must be supporter or operator, "
		    "not \"%s\"", role);
		return (PEERCTL_EXIT_USAGE);
	}
	if (tags != NULL && peerctl_cred_list(cmd, "--tags", tags,
	    &info->tags[0][0], sizeof info->tags[0], CRED_TAGS_MAX,
	    &info->ntags, cred_tag_valid, "use 1-32 characters of a-z 0-9 -")
	    == -1)
		return (PEERCTL_EXIT_USAGE);
	if (langs != NULL && peerctl_cred_list(cmd, "--lang", langs,
	    &info->languages[0][0], sizeof info->languages[0], CRED_LANGS_MAX,
	    &info->nlanguages, cred_lang_valid,
	    "use two-letter ISO 639-1 codes such as en, fr, ur") == -1)
		return (PEERCTL_EXIT_USAGE);

	if (info->role == PEERD__V1__ROLE__SUPPORTER) {
		info->capacity = 1;
		if (capacity != NULL && peerctl_number(cmd, "--capacity",
		    capacity, 1, CRED_CAPACITY_MAX, &v) == -1)
			return (PEERCTL_EXIT_USAGE);
	} else {
		info->capacity = 0;
		if (capacity != NULL && peerctl_number(cmd, "--capacity",
		    capacity, 0, CRED_CAPACITY_MAX, &v) == -1)
			return (PEERCTL_EXIT_USAGE);
	}
	if (capacity != NULL)
		info->capacity = (uint32_t)v;
	if (days != NULL && peerctl_number(cmd, "--days", days, 1,
	    CRED_DAYS_MAX, &ndays) == -1)
		return (PEERCTL_EXIT_USAGE);
	info->issued_at = (uint64_t)time(NULL);
	info->not_after = info->issued_at + ndays * 86400;
	return (0);
}

static int
peerctl_cred_issue(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	struct cred_info	 info;
	EVP_PKEY		*key;
	uint8_t			 buf[CRED_MAX];
	char			 text[CRED_FILE_MAX], err[CRED_ERR_MAX];
	char			 until[64];
	const char		*keyfile, *out, *why = "";
	enum cred_status	 st;
	size_t			 len, n;
	int			 rc;

	rc = peerctl_cred_issue_args(cmd, argc, argv, &info, &keyfile, &out);
	if (rc == -1)
		return (PEERCTL_EXIT_OK);	/* --help */
	if (rc != 0)
		return (rc);
	/* Every rule cred_verify applies, before the key is even loaded. */
	if (cred_check_info(&info, &why) != CRED_OK) {
		peerctl_warnx(cmd, "%s: %s", peerctl_cred_flag(why), why);
		return (PEERCTL_EXIT_USAGE);
	}

	if ((key = cred_key_load_private(keyfile, err, sizeof err)) == NULL) {
		peerctl_warnx(cmd, "--key: %s", err);
		return (PEERCTL_EXIT_ERROR);
	}
	st = cred_sign(&info, key, buf, sizeof buf, &len, &why);
	EVP_PKEY_free(key);
	if (st != CRED_OK) {
		peerctl_warnx(cmd, "signing failed: %s", st == CRED_BAD_FIELD ?
		    why : cred_strerror(st));
		return (PEERCTL_EXIT_ERROR);
	}

	if (strcmp(out, "-") == 0) {
		if ((n = cred_armor(buf, len, text, sizeof text)) == 0 ||
		    fwrite(text, 1, n, stdout) != n || fflush(stdout) != 0) {
			peerctl_warnx(cmd, "writing to standard output failed");
			return (PEERCTL_EXIT_ERROR);
		}
	} else if (cred_write_file(out, buf, len, err, sizeof err) == -1) {
		peerctl_warnx(cmd, "--out: %s", err);
		return (PEERCTL_EXIT_ERROR);
	}
	peerctl_time(info.not_after, until, sizeof until);
	fprintf(strcmp(out, "-") == 0 ? stderr : stdout,
	    "issued %s credential for %s: %zu tags, %zu languages, capacity "
	    "%u, valid until %s%s%s\n", cred_role_name(info.role), info.id,
	    info.ntags, info.nlanguages, info.capacity, until,
	    strcmp(out, "-") == 0 ? "" : ", written to ",
	    strcmp(out, "-") == 0 ? "" : out);
	return (PEERCTL_EXIT_OK);
}

/*
 * Print s for a terminal.  Fields of a credential that broke a rule may
 * hold anything: escape all but printable ASCII then.
 */
static void
peerctl_cred_print(const char *label, const char *s, int trusted)
{
	const unsigned char	*p;

	printf("%-11s", label);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (trusted || (*p >= 0x20 && *p < 0x7f && *p != '\\'))
			putchar(*p);
		else
			printf("\\x%02x", *p);
	}
	putchar('\n');
}

/* Print rows of a list joined by commas. */
static void
peerctl_cred_print_list(const char *label, const char *rows, size_t width,
    size_t n, int trusted)
{
	char	line[CRED_TAGS_MAX * (CRED_TAG_MAX + 1) + 1];
	size_t	i, off = 0;

	line[0] = '\0';
	for (i = 0; i < n; i++) {
		off += (size_t)snprintf(line + off, sizeof line - off, "%s%s",
		    i > 0 ? "," : "", rows + i * width);
	}
	peerctl_cred_print(label, n > 0 ? line : "(none)", trusted);
}

/* Format how far t is from now: "in 3 days", "2 hours ago". */
static void
peerctl_cred_ago(uint64_t t, uint64_t now, char *buf, size_t len)
{
	uint64_t	d = t > now ? t - now : now - t;
	const char	*unit = "seconds";

	if (d >= 2 * 86400) {
		d /= 86400;
		unit = "days";
	} else if (d >= 2 * 3600) {
		d /= 3600;
		unit = "hours";
	} else if (d >= 120) {
		d /= 60;
		unit = "minutes";
	}
	if (t > now)
		snprintf(buf, len, "in %llu %s", (unsigned long long)d, unit);
	else
		snprintf(buf, len, "%llu %s ago", (unsigned long long)d, unit);
}

/* Print every field of info; trusted when it passed the field rules. */
static void
peerctl_cred_print_info(const struct cred_info *info, uint64_t now,
    int trusted)
{
	char	t[64], rel[64], line[160];

	peerctl_cred_print("id:", info->id, trusted);
	peerctl_cred_print("name:", info->name, trusted);
	printf("%-11s%s\n", "role:", cred_role_name(info->role));
	peerctl_cred_print_list("tags:", &info->tags[0][0],
	    sizeof info->tags[0], info->ntags, trusted);
	peerctl_cred_print_list("languages:", &info->languages[0][0],
	    sizeof info->languages[0], info->nlanguages, trusted);
	printf("%-11s%u\n", "capacity:", info->capacity);
	peerctl_time(info->issued_at, t, sizeof t);
	peerctl_cred_ago(info->issued_at, now, rel, sizeof rel);
	snprintf(line, sizeof line, "%s (%s)", t, rel);
	printf("%-11s%s\n", "issued:", line);
	peerctl_time(info->not_after, t, sizeof t);
	peerctl_cred_ago(info->not_after, now, rel, sizeof rel);
	printf("%-11s%s (%s%s)\n", "expires:", t,
	    info->not_after <= now ? "expired " : "", rel);
}

static int
peerctl_cred_show(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "pub", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cred_info		 info, checked;
	EVP_PKEY			*pub = NULL;
	uint8_t				 buf[CRED_MAX];
	char				 err[CRED_ERR_MAX];
	const char			*pubfile = NULL, *file, *why = "";
	enum cred_status		 st, ist;
	uint64_t			 now = (uint64_t)time(NULL);
	size_t				 len;
	int				 ch;

	while ((ch = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			pubfile = optarg;
			break;
		case 'h':
			return (peerctl_help(cmd));
		default:
			return (peerctl_getopt_error(cmd, argc, argv));
		}
	}
	if (argc - optind != 1) {
		peerctl_warnx(cmd, argc == optind ? "FILE is required" :
		    "only one FILE, please");
		return (peerctl_usage(cmd));
	}
	file = argv[optind];
	/* Load the key first: a typo in --pub should not look like a verdict. */
	if (pubfile != NULL &&
	    (pub = cred_key_load_public(pubfile, err, sizeof err)) == NULL) {
		peerctl_warnx(cmd, "--pub: %s", err);
		return (PEERCTL_EXIT_ERROR);
	}
	if (cred_read_file(file, buf, sizeof buf, &len, err, sizeof err) ==
	    -1) {
		peerctl_warnx(cmd, "%s", err);
		EVP_PKEY_free(pub);
		return (PEERCTL_EXIT_ERROR);
	}

	/* Fields for display; the verdict below comes from cred_verify. */
	ist = cred_inspect(buf, len, &info, &why);
	if (ist != CRED_MALFORMED)
		peerctl_cred_print_info(&info, now, ist == CRED_OK);
	if (pub == NULL) {
		if (ist != CRED_OK) {
			printf("invalid: %s: %s\n", cred_strerror(ist), why);
			return (PEERCTL_EXIT_ERROR);
		}
		printf("signature not checked (give --pub FILE)\n");
		return (PEERCTL_EXIT_OK);
	}

	st = cred_verify(buf, len, pub, now, &checked);
	EVP_PKEY_free(pub);
	switch (st) {
	case CRED_OK:
		printf("signature ok\n");
		return (PEERCTL_EXIT_OK);
	case CRED_EXPIRED:
	case CRED_NOT_YET_VALID:
		printf("signature ok\ninvalid: %s\n", cred_strerror(st));
		break;
	case CRED_BAD_FIELD:
	case CRED_UNSUPPORTED_VERSION:
		/* The signature held, so inspect saw the same payload. */
		printf("signature ok\ninvalid: %s: %s\n", cred_strerror(st),
		    why);
		break;
	case CRED_MALFORMED:
		printf("invalid: %s: %s\n", cred_strerror(st), why);
		break;
	default:
		printf("invalid: %s\n", cred_strerror(st));
		break;
	}
	return (PEERCTL_EXIT_ERROR);
}
