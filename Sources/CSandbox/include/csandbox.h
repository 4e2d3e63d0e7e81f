#ifndef CSANDBOX_H
#define CSANDBOX_H
#include <sys/types.h>

/// What one sandboxed program may use. Every limit is enforced in the child between fork and
/// exec (setrlimit, namespaces, uid), which Foundation's Process cannot do.
typedef struct {
    const char *executable;        /* absolute path */
    char *const *argv;             /* NULL-terminated */
    char *const *envp;             /* NULL-terminated: the whole environment (scrubbed by the caller) */
    const char *workdir;           /* the program's empty working directory */
    const char *stdout_path;       /* files for the program's output (created by the caller) */
    const char *stderr_path;
    long cpu_seconds;              /* RLIMIT_CPU */
    long memory_bytes;             /* RLIMIT_AS */
    long max_processes;            /* RLIMIT_NPROC (per uid: meaningful with run_as_uid) */
    long max_file_bytes;           /* RLIMIT_FSIZE: caps stdout/stderr and every file written */
    int run_as_uid;                /* >= 0: drop to this uid/gid (when started as root); -1: keep */
    int isolate;                   /* 1: new pid, mount, network (and, unprivileged, user) namespaces */
} csandbox_spec;

/// Forks the sandbox. Returns the pid to wait for (kill it to kill everything the program
/// started: with isolation it is the parent of the program's pid namespace, whose init dies
/// with it), or -1 with errno set. Its exit code is the program's, or 128 + the signal that
/// ended the program inside a namespace.
pid_t csandbox_spawn(const csandbox_spec *spec);

/// csandbox_probe_isolation() tells, in a throwaway child, whether namespaces are
/// available here: 2 privileged (root), 1 via an unprivileged user namespace, 0 none.
int csandbox_probe_isolation(void);

#endif
