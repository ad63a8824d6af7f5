/*
 * The limit of P1 (docs/performance.md): raw argon2id hashes per second, through the very
 * call the service makes (cargon2_argon2id of Sources/CArgon2/shim.h, libargon2), on THREADS
 * threads at once, for SECONDS seconds after one warm-up hash per thread.
 *
 *   argon2_raw M_KIB T P THREADS SECONDS
 *
 * Inputs are shaped like a code check: a 6-digit code, a 16-byte salt, a 32-byte pepper as
 * argon2 `secret`, a 32-byte output. Prints one JSON object:
 *   {"hashes": N, "seconds": S, "per_second": R, "threads": THREADS, "cpu_seconds_per_hash": C}
 * where N counts the hashes finished within SECONDS and C is the process's CPU time (user +
 * system, warm-up excluded) per hash, over every hash started, so that a machine shared with
 * other work can still be compared by CPU time.
 * Build: gcc -O2 -pthread -I Sources/CArgon2 bench/argon2_raw.c -largon2
 */
#include "shim.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static uint32_t m_kib, t_cost, lanes;
static atomic_int running = 1;
static atomic_long hashes = 0;    /* finished before the stop */
static atomic_long completed = 0; /* finished at all, for the CPU time per hash */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int hash_once(unsigned seed) {
    uint8_t out[32], salt[16], pepper[32];
    char code[7];
    for (int i = 0; i < 16; i++) salt[i] = (uint8_t)(seed * 31 + i);
    for (int i = 0; i < 32; i++) pepper[i] = (uint8_t)(i * 7);
    snprintf(code, sizeof code, "%06u", seed % 1000000);
    return cargon2_argon2id(out, sizeof out, (const uint8_t *)code, 6, salt, sizeof salt, pepper, sizeof pepper,
                            NULL, 0, t_cost, m_kib, lanes);
}

static void *worker(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg * 100003u;
    while (atomic_load(&running)) {
        if (hash_once(seed++) != ARGON2_OK) {
            fprintf(stderr, "argon2_raw: argon2id failed\n");
            exit(1);
        }
        if (atomic_load(&running)) atomic_fetch_add(&hashes, 1);
        atomic_fetch_add(&completed, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: argon2_raw M_KIB T P THREADS SECONDS\n");
        return 2;
    }
    m_kib = (uint32_t)strtoul(argv[1], NULL, 10);
    t_cost = (uint32_t)strtoul(argv[2], NULL, 10);
    lanes = (uint32_t)strtoul(argv[3], NULL, 10);
    int threads = atoi(argv[4]);
    double seconds = atof(argv[5]);
    if (threads < 1 || threads > 256 || seconds <= 0) {
        fprintf(stderr, "argon2_raw: THREADS must be 1-256 and SECONDS positive\n");
        return 2;
    }
    if (hash_once(1) != ARGON2_OK) { /* warm-up, and a check of the parameters */
        fprintf(stderr, "argon2_raw: argon2id failed with m=%u t=%u p=%u\n", m_kib, t_cost, lanes);
        return 1;
    }
    pthread_t ids[256];
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    double start = now();
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    struct timespec pause = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&pause, NULL);
    atomic_store(&running, 0);
    double elapsed = now() - start;
    long counted = atomic_load(&hashes);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    getrusage(RUSAGE_SELF, &after);
    double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                 (after.ru_stime.tv_sec - before.ru_stime.tv_sec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    long all = atomic_load(&completed);
    printf("{\"hashes\": %ld, \"seconds\": %.3f, \"per_second\": %.2f, \"threads\": %d, \"cpu_seconds_per_hash\": %.5f}\n",
           counted, elapsed, counted / elapsed, threads, all ? cpu / all : 0.0);
    return 0;
}
