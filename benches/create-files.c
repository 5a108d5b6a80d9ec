/*
 * The "minimal C loop" baseline of issue 3: how fast this machine can create
 * whisper-sized files when nothing but the system calls is paid for.
 *
 *   create-files DIR COUNT PER_DIR JOBS SECONDS:POINTS [SECONDS:POINTS ...]
 *
 * Creates COUNT files DIR/<i / PER_DIR>/m<i>.wsp (one directory per PER_DIR
 * files, made on the way, as a carbon server makes them; PER_DIR 0: all in
 * DIR), with JOBS processes in parallel (process k makes the directories
 * d with d % JOBS == k; JOBS 1: the plain loop). Each file:
 * open(O_CREAT|O_EXCL), write the whisper header (16 bytes of metadata + 12
 * per archive), fallocate the data (12 bytes per point, as
 * WHISPER_FALLOCATE_CREATE does), close. No fsync, like the servers.
 * Prints one JSON line with files/s. Built and run by benches/write-path.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void be32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s DIR COUNT PER_DIR JOBS SECONDS:POINTS...\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    long count = atol(argv[2]), per_dir = atol(argv[3]), jobs = atol(argv[4]);
    if (jobs < 1) jobs = 1;
    int archives = argc - 5;
    size_t header_len = 16 + 12 * (size_t)archives;
    unsigned char *header = calloc(1, header_len);
    uint64_t offset = header_len, max_retention = 0;
    for (int a = 0; a < archives; a++) {
        unsigned spp, points;
        if (sscanf(argv[5 + a], "%u:%u", &spp, &points) != 2 || !spp || !points) {
            fprintf(stderr, "bad archive %s\n", argv[5 + a]);
            return 2;
        }
        be32(header + 16 + 12 * a, (uint32_t)offset);
        be32(header + 20 + 12 * a, spp);
        be32(header + 24 + 12 * a, points);
        offset += 12 * (uint64_t)points;
        if ((uint64_t)spp * points > max_retention) max_retention = (uint64_t)spp * points;
    }
    be32(header, 1);                         /* average */
    be32(header + 4, (uint32_t)max_retention);
    float xff = 0.5f;
    uint32_t xff_bits;
    memcpy(&xff_bits, &xff, 4);
    be32(header + 8, xff_bits);
    be32(header + 12, (uint32_t)archives);
    off_t data_len = (off_t)(offset - header_len);

    double start = now();
    for (long k = 0; k < jobs; k++) {
        pid_t child = jobs == 1 ? 0 : fork();
        if (child < 0) { perror("fork"); return 1; }
        if (child > 0) continue;
        char path[4096];
        for (long i = 0; i < count; i++) {
            long d = per_dir > 0 ? i / per_dir : i;
            if (d % jobs != k) continue;
            if (per_dir > 0) {
                if (i % per_dir == 0) {
                    snprintf(path, sizeof path, "%s/%ld", dir, d);
                    if (mkdir(path, 0755) != 0 && errno != EEXIST) { perror(path); _exit(1); }
                }
                snprintf(path, sizeof path, "%s/%ld/m%ld.wsp", dir, d, i);
            } else {
                snprintf(path, sizeof path, "%s/m%ld.wsp", dir, i);
            }
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0) { perror(path); _exit(1); }
            if (write(fd, header, header_len) != (ssize_t)header_len) { perror("write"); _exit(1); }
            if (fallocate(fd, 0, (off_t)header_len, data_len) != 0) { perror("fallocate"); _exit(1); }
            if (close(fd) != 0) { perror("close"); _exit(1); }
        }
        if (jobs > 1) _exit(0);
    }
    int failed = 0, status;
    while (jobs > 1 && wait(&status) > 0)
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (failed) return 1;
    double seconds = now() - start;
    printf("{\"files\":%ld,\"per_dir\":%ld,\"jobs\":%ld,\"archives\":%d,\"file_bytes\":%llu,"
           "\"seconds\":%.6f,\"files_per_second\":%.1f}\n",
           count, per_dir, jobs, archives, (unsigned long long)offset, seconds, count / seconds);
    return 0;
}
