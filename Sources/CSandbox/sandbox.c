// The fork/exec half of forgetlens's code sandbox (Sources/Evaluation/CodeExecution/Sandbox.swift
// is the rest). Only async-signal-safe calls happen between fork and exec: the parent is a
// multithreaded Swift process.
#define _GNU_SOURCE
#include "csandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void limit(int resource, long value, long hard_extra) {
    if (value <= 0) return;
    struct rlimit r = { (rlim_t)value, (rlim_t)(value + hard_extra) };
    setrlimit(resource, &r);
}

/// New namespaces: as root pid+mount+net; otherwise through a user namespace. 2/1/0 as the probe.
static int enter_namespaces(void) {
    if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET) == 0) return 2;
    if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET) == 0) return 1;
    return 0;
}

/// Fresh small tmpfs over the world-writable directories: what the program writes there
/// disappears with its mount namespace instead of landing in the host's /tmp.
static void private_tmp(void) {
    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    const char *dirs[] = { "/tmp", "/var/tmp", "/dev/shm" };
    for (int i = 0; i < 3; i++) mount("tmpfs", dirs[i], "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777");
}

/// Waits for pid; its exit code, or 128 + the signal that ended it (as a shell reports it).
static int wait_exit_code(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) { if (errno != EINTR) return 126; }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void child(const csandbox_spec *s) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(s->stdout_path, O_WRONLY | O_TRUNC);
    int err = open(s->stderr_path, O_WRONLY | O_TRUNC);
    if (in < 0 || out < 0 || err < 0 || chdir(s->workdir) != 0) _exit(126);
    dup2(in, 0); dup2(out, 1); dup2(err, 2);
    for (int fd = 3; fd < 1024; fd++) close(fd);

    int level = s->isolate ? enter_namespaces() : 0;
    if (level > 0) {
        private_tmp();  /* cwd keeps pointing at the work directory under the old /tmp */
        /* The first process forked in the new pid namespace is its init: when it ends, the
           kernel kills every process left in the namespace (fork bombs, daemons that setsid).
           init stays this C code (a pid 1 ignores signals it has no handler for, which would
           blunt RLIMIT_CPU); the program is init's child. */
        pid_t init = fork();
        if (init < 0) _exit(126);
        if (init > 0) _exit(wait_exit_code(init));
        prctl(PR_SET_PDEATHSIG, SIGKILL);  /* killing the sandbox pid kills the namespace */
        pid_t program = fork();
        if (program < 0) _exit(126);
        if (program > 0) _exit(wait_exit_code(program));
    }
    limit(RLIMIT_CPU, s->cpu_seconds, 1);
    limit(RLIMIT_AS, s->memory_bytes, 0);
    limit(RLIMIT_FSIZE, s->max_file_bytes, 0);
    limit(RLIMIT_NPROC, s->max_processes, 0);
    struct rlimit core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &core);
    if (s->run_as_uid >= 0 && geteuid() == 0) {
        gid_t g = (gid_t)s->run_as_uid;
        if (setgroups(0, NULL) != 0 || setgid(g) != 0 || setuid((uid_t)s->run_as_uid) != 0) _exit(126);
    }
    execve(s->executable, s->argv, s->envp);
    _exit(127);
}

pid_t csandbox_spawn(const csandbox_spec *spec) {
    pid_t pid = fork();
    if (pid == 0) child(spec);
    return pid;
}

int csandbox_probe_isolation(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(enter_namespaces());
    if (pid < 0) return 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}
