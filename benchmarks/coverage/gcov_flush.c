/*
 * Linked into every executable of the coverage build of DCMTK (not preloaded: libgcov's
 * __gcov_dump is a hidden symbol of the static libgcov, reachable only from inside the
 * executable).  It makes the gcov counters reach the .gcda files when the benchmark says so:
 *
 *   SIGUSR1  write the counters so far and zero them (a snapshot; the process goes on),
 *   SIGTERM  write the counters and end (exit status 143, as an unhandled SIGTERM would),
 *   SIGINT   the same, for a server stopped with Ctrl-C by hand,
 *   SIGSEGV, SIGBUS, SIGFPE, SIGABRT  write the counters, then die of the same signal, so a
 *            crash found by a fuzzer still looks like a crash and its coverage is kept.
 *
 * A forked per-association child (dcmqrscp without --single-process, storescp --fork)
 * inherits the handlers, so a child killed in the middle of an association keeps its counts.
 * Writing merges (adds) into the .gcda files under libgcov's file locks, so counts from the
 * parent and every child accumulate; zeroing after a snapshot keeps them from being added twice.
 * Not async-signal-safe in the strict sense (libgcov uses stdio); acceptable for a benchmark
 * that only reads which lines and branches were reached.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

extern void __gcov_dump(void);
extern void __gcov_reset(void);

static void dimse_codec_gcov_snapshot(int signo)
{
    (void)signo;
    __gcov_dump();
    __gcov_reset();
}

static void dimse_codec_gcov_stop(int signo)
{
    __gcov_dump();
    _exit(128 + signo);
}

static void dimse_codec_gcov_crash(int signo)
{
    __gcov_dump();
    signal(signo, SIG_DFL);
    raise(signo);
}

__attribute__((constructor)) static void dimse_codec_gcov_install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    action.sa_handler = dimse_codec_gcov_snapshot;
    sigaction(SIGUSR1, &action, NULL);
    action.sa_handler = dimse_codec_gcov_stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = dimse_codec_gcov_crash;
    sigaction(SIGSEGV, &action, NULL);
    sigaction(SIGBUS, &action, NULL);
    sigaction(SIGFPE, &action, NULL);
    sigaction(SIGABRT, &action, NULL);
}
