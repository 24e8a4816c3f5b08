/*
 * priv.c -- drop root once the ports are bound and the keys are read.
 *
 * Called by server_start() after the client and admin listeners are bound
 * and the certificate, signing key and requester secret are loaded.  With
 * `user` set, peerd started as root takes that user's supplementary
 * groups, gid and uid (real, effective and saved), then checks it cannot
 * take uid 0 back.  Started as root without `user`, it refuses to run
 * unless `allow_root yes` says so.  Anything read later (the certificate,
 * the signing key and the requester secret on SIGHUP) must be readable by
 * that user.
 *
 * peerd -t looks the user up with the same function (priv_user), so a
 * user that -t accepts is one start-up accepts; whether peerd is started
 * as root or as that user is up to the service manager, so -t does not
 * judge its own uid.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "peerd.h"

/* Return 1 if allow_root is yes. */
static int
priv_root_allowed(void)
{
	return (conf.allow_root != NULL && strcmp(conf.allow_root, "yes") == 0);
}

/*
 * Look up conf.user.  Returns its passwd entry, or NULL with *why a new
 * reason: no such user, or the user is root and allow_root is not yes.
 */
static struct passwd *
priv_user(char **why)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(conf.user)) == NULL) {
		xasprintf(why, "no such user%s%s", errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
		return (NULL);
	}
	if (pw->pw_uid == 0 && !priv_root_allowed()) {
		xasprintf(why, "user is root: name an unprivileged user, or "
		    "allow_root yes");
		return (NULL);
	}
	return (pw);
}

/*
 * For peerd -t: check that the user option, if set, names a user peerd
 * may switch to.  Returns 0, or -1 with *why a new "user NAME: reason".
 */
int
priv_check(char **why)
{
	char	*reason;

	*why = NULL;
	if (conf.user == NULL)
		return (0);
	if (priv_user(&reason) == NULL) {
		xasprintf(why, "user %s: %s", conf.user, reason);
		free(reason);
		return (-1);
	}
	return (0);
}

/* Become conf.user, or check that staying as we are is allowed; 0 or -1. */
int
priv_drop(void)
{
	struct passwd	*pw;
	uid_t		 ruid, euid, suid;
	gid_t		 rgid, egid, sgid;
	char		*why;

	if (conf.user == NULL) {
		if (geteuid() != 0)
			return (0);
		if (!priv_root_allowed()) {
			log_error("event=start_failed reason=\"running as root "
			    "with no user option: set user NAME to drop to "
			    "after binding, or allow_root yes to stay root\"");
			return (-1);
		}
		log_warnx("event=running_as_root reason=allow_root");
		return (0);
	}

	if ((pw = priv_user(&why)) == NULL) {
		log_error("event=start_failed user=%s reason=\"%s\"",
		    conf.user, why);
		free(why);
		return (-1);
	}
	if (geteuid() != 0) {
		if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
			return (0);	/* started as that user already */
		log_error("event=start_failed user=%s reason=\"not root, so "
		    "cannot switch user\"", conf.user);
		return (-1);
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_error("event=start_failed user=%s reason=\"cannot switch "
		    "user: %s\"", conf.user, strerror(errno));
		return (-1);
	}
	if (getresuid(&ruid, &euid, &suid) != 0 ||
	    getresgid(&rgid, &egid, &sgid) != 0 ||
	    ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid ||
	    rgid != pw->pw_gid || egid != pw->pw_gid || sgid != pw->pw_gid)
		fatalx("event=priv_failed user=%s reason=ids_not_changed",
		    conf.user);
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("event=priv_failed user=%s reason=root_regained",
		    conf.user);
	log_info("event=privileges_dropped user=%s uid=%lu gid=%lu",
	    conf.user, (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid);
	return (0);
}
