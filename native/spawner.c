/*
 * mlbuild-spawner: the native spawner process (built to dist/mlbuild-spawner by scripts/build.mjs).
 * A small, long-lived process that starts stage commands for the main mlbuild process, so that
 * process never forks itself (src/execute/launcher.ts). It is the C twin of the Node spawner
 * (src/execute/spawner-process.ts) and speaks the same protocol; where both exist, this one is
 * used: posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), no page-table copy) from a process of a
 * few hundred KiB costs a fraction of a fork of a 40 MB Node process.
 *
 * Each command runs as `/bin/sh -c CMD` in the job's cwd with exactly the job's environment, in a
 * process group of its own (the main process kills groups and samples /proc by the pid it is
 * sent), stdin from /dev/null, stdout and stderr through two pipes whose bytes are forwarded as
 * they come. Signal dispositions and the signal mask are reset to the defaults in the child (but
 * glibc's posix_spawn leaves its two internal signals, 32 and 33, ignored in any child it starts;
 * a glibc program installs its own handlers for them). Forwarding costs this process about
 * 0.05 ms of CPU per command in all (bench/spawn.mjs), so output is not diverted into files.
 *
 * Protocol (all integers unsigned 32-bit little-endian; src/execute/spawner-frames.ts is the
 * main side):
 *
 *   request  (stdin, one per job):  u32 len | u32 id | cwd \0 | cmd \0 | (NAME=VALUE \0)*
 *            len counts the bytes after itself. The environment is the job's whole environment.
 *   answers  (stdout):              u32 len | u8 type | u32 id | payload
 *            'R' (id 0)     ready, once, first
 *            'P'            u32 pid: the shell runs (its pid is its process group)
 *            'O' / 'E'      bytes the command wrote to stdout / stderr, in order
 *            'X'            u32 code | u32 signal: the shell ended (code 0xffffffff when killed by
 *                           a signal, signal 0 when it exited) and both pipes reached end of file
 *            'F'            u32 errno | UTF-8 message: the command could not be started (E2BIG,
 *                           ENOENT for a missing cwd, EMFILE, ...); no 'P' or 'X' follows
 *
 * It exits when its stdin closes (the main process ended, however it ended) or its stdout breaks.
 * It ignores SIGINT and SIGTERM: Ctrl-C reaches the whole foreground group, and the main process
 * decides what to kill. Exit status 2 means a malformed request (a bug in the main process).
 * It decides nothing else: no timeouts, no logs, no retries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* A request larger than this is refused as malformed (the OS refuses far less: E2BIG). */
#define MAX_FRAME (256u << 20)
#define READ_CHUNK 65536

struct job {
  uint32_t id;
  pid_t pid;
  int fd[2]; /* read ends of the stdout and stderr pipes, -1 once at end of file */
  int reaped;
  int status;
};

struct buf {
  unsigned char *p;
  size_t len, cap;
};

static struct job **jobs;
static size_t njobs, capjobs;
static struct buf in, out;
static int devnull = -1;

static void die(const char *what) {
  fprintf(stderr, "mlbuild-spawner: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void reserve(struct buf *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  unsigned char *p = realloc(b->p, cap);
  if (!p) die("out of memory");
  b->p = p;
  b->cap = cap;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Appends one answer; everything appended in one turn of the loop goes out in one write. */
static void answer(char type, uint32_t id, const void *a, size_t alen, const void *b, size_t blen) {
  reserve(&out, 9 + alen + blen);
  unsigned char *p = out.p + out.len;
  put_u32(p, (uint32_t)(5 + alen + blen));
  p[4] = (unsigned char)type;
  put_u32(p + 5, id);
  if (alen) memcpy(p + 9, a, alen);
  if (blen) memcpy(p + 9 + alen, b, blen);
  out.len += 9 + alen + blen;
}

static void flush(void) {
  size_t off = 0;
  while (off < out.len) {
    ssize_t n = write(STDOUT_FILENO, out.p + off, out.len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(0); /* EPIPE: the main process is gone */
    }
    off += (size_t)n;
  }
  out.len = 0;
}

static void add_job(struct job *j) {
  if (njobs == capjobs) {
    capjobs = capjobs ? capjobs * 2 : 16;
    struct job **p = realloc(jobs, capjobs * sizeof *jobs);
    if (!p) die("out of memory");
    jobs = p;
  }
  jobs[njobs++] = j;
}

static void spawn_failed(uint32_t id, int err, const char *cwd) {
  unsigned char e[4];
  put_u32(e, (uint32_t)err);
  char msg[512];
  int n = snprintf(msg, sizeof msg, "spawn /bin/sh in %s: %s", cwd, strerror(err));
  answer('F', id, e, 4, msg, n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

/* Starts one job from a request payload (id, cwd, cmd, environment); answers 'P' or 'F'. */
static void start(unsigned char *p, size_t len) {
  if (len < 4) {
    fprintf(stderr, "mlbuild-spawner: malformed request (%zu bytes)\n", len);
    exit(2);
  }
  uint32_t id = get_u32(p);
  char *cur = (char *)p + 4, *end = (char *)p + len;
  /* The strings are NUL-terminated in place: the environment becomes pointers into the request. */
  if (len == 4 || end[-1] != '\0') {
    fprintf(stderr, "mlbuild-spawner: malformed request %u: not NUL-terminated\n", id);
    exit(2);
  }
  char *cwd = cur;
  cur += strlen(cur) + 1;
  if (cur >= end) {
    fprintf(stderr, "mlbuild-spawner: malformed request %u: no command\n", id);
    exit(2);
  }
  char *cmd = cur;
  cur += strlen(cur) + 1;
  size_t nenv = 0;
  for (char *q = cur; q < end; q += strlen(q) + 1) nenv++;
  char **envp = malloc((nenv + 1) * sizeof *envp);
  if (!envp) die("out of memory");
  nenv = 0;
  for (char *q = cur; q < end; q += strlen(q) + 1) envp[nenv++] = q;
  envp[nenv] = NULL;

  int po[2] = {-1, -1}, pe[2] = {-1, -1};
  if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
    int err = errno;
    if (po[0] >= 0) {
      close(po[0]);
      close(po[1]);
    }
    free(envp);
    spawn_failed(id, err, cwd);
    return;
  }

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, cwd);
  posix_spawn_file_actions_adddup2(&fa, devnull, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
  posix_spawnattr_init(&at);
  /* Own process group; default dispositions (this process ignores SIGINT/SIGTERM/SIGPIPE) and an
   * empty mask (SIGCHLD is blocked here for the signalfd): what Node's spawn gives a child. */
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setsigmask(&at, &none);

  char *argv[] = {"/bin/sh", "-c", cmd, NULL};
  pid_t pid;
  int err = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  free(envp);
  close(po[1]);
  close(pe[1]);
  if (err != 0) {
    close(po[0]);
    close(pe[0]);
    spawn_failed(id, err, cwd);
    return;
  }
  struct job *j = malloc(sizeof *j);
  if (!j) die("out of memory");
  *j = (struct job){.id = id, .pid = pid, .fd = {po[0], pe[0]}, .reaped = 0, .status = 0};
  add_job(j);
  unsigned char b[4];
  put_u32(b, (uint32_t)pid);
  answer('P', id, b, 4, NULL, 0);
}

/* Reads what stdin holds and starts every complete request; returns 0 at end of file. */
static int read_requests(void) {
  reserve(&in, READ_CHUNK);
  ssize_t n = read(STDIN_FILENO, in.p + in.len, in.cap - in.len);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
  if (n == 0) return 0;
  in.len += (size_t)n;
  size_t off = 0;
  while (in.len - off >= 4) {
    uint32_t len = get_u32(in.p + off);
    if (len > MAX_FRAME) {
      fprintf(stderr, "mlbuild-spawner: malformed request: %u bytes\n", len);
      exit(2);
    }
    if (in.len - off - 4 < len) {
      reserve(&in, len + 4 - (in.len - off)); /* the rest of a large request fits in one go */
      break;
    }
    start(in.p + off + 4, len);
    off += 4 + (size_t)len;
  }
  if (off > 0) {
    memmove(in.p, in.p + off, in.len - off);
    in.len -= off;
  }
  return 1;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (size_t i = 0; i < njobs; i++) {
      if (jobs[i]->pid == pid) {
        jobs[i]->reaped = 1;
        jobs[i]->status = status;
        break;
      }
    }
  }
}

/* Forwards what one pipe holds; closes it at end of file. */
static void drain(struct job *j, int s) {
  static unsigned char chunk[READ_CHUNK];
  ssize_t n = read(j->fd[s], chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n > 0) {
    answer(s == 0 ? 'O' : 'E', j->id, chunk, (size_t)n, NULL, 0);
    return;
  }
  close(j->fd[s]);
  j->fd[s] = -1;
}

/* Answers 'X' for every job whose shell was reaped and whose pipes are both closed. */
static void finish(void) {
  size_t k = 0;
  for (size_t i = 0; i < njobs; i++) {
    struct job *j = jobs[i];
    if (j->reaped && j->fd[0] < 0 && j->fd[1] < 0) {
      unsigned char b[8];
      if (WIFSIGNALED(j->status)) {
        put_u32(b, 0xffffffffu);
        put_u32(b + 4, (uint32_t)WTERMSIG(j->status));
      } else {
        put_u32(b, (uint32_t)WEXITSTATUS(j->status));
        put_u32(b + 4, 0);
      }
      answer('X', j->id, b, 8, NULL, 0);
      free(j);
    } else {
      jobs[k++] = j;
    }
  }
  njobs = k;
}

int main(void) {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) != 0) die("sigprocmask");
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) die("/dev/null");

  answer('R', 0, NULL, 0, NULL, 0);
  flush();

  struct pollfd *pfd = NULL;
  struct job **owner = NULL;
  int *stream = NULL;
  size_t cap = 0;
  for (;;) {
    size_t need = 2 + 2 * njobs;
    if (need > cap) {
      cap = need * 2;
      pfd = realloc(pfd, cap * sizeof *pfd);
      owner = realloc(owner, cap * sizeof *owner);
      stream = realloc(stream, cap * sizeof *stream);
      if (!pfd || !owner || !stream) die("out of memory");
    }
    size_t n = 0;
    pfd[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (size_t i = 0; i < njobs; i++) {
      for (int s = 0; s < 2; s++) {
        if (jobs[i]->fd[s] < 0) continue;
        owner[n] = jobs[i];
        stream[n] = s;
        pfd[n++] = (struct pollfd){.fd = jobs[i]->fd[s], .events = POLLIN};
      }
    }
    if (poll(pfd, n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    /* Output before exits: every byte a job wrote is answered before its 'X'. */
    for (size_t i = 2; i < n; i++) {
      if (pfd[i].revents) drain(owner[i], stream[i]);
    }
    if (pfd[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
      reap();
    }
    finish();
    if (pfd[0].revents && !read_requests()) {
      flush();
      return 0;
    }
    flush();
  }
}
